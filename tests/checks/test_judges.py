"""Near misses for the judges: an answer just inside a check's tolerance passes it, one just
outside fails it, and an answer that satisfies a rule for some values but not all fails an
"all of" rule.  The judges run directly on Observations (no sandbox): the references' own, and
the same perturbed by a known amount."""

import dataclasses

import numpy as np
import pytest

from autograder.checks import SPECS
from autograder.checks import clip as clip_checks
from autograder.checks.base import Partial, same
from autograder.grade.expected import load_expected
from autograder.sandbox.messages import Observation

INSIDE, OUTSIDE = 1e-12, 1e-6  # relative changes: within same()'s rtol of 1e-9, and far beyond it


@pytest.fixture(scope="module")
def expected():
    return load_expected().cases


def scaled(value, factor):
    """``value`` with every float in it multiplied by ``factor`` (ints, text and shapes kept)."""
    if isinstance(value, np.ndarray):
        return value * factor if value.dtype.kind == "f" else value
    if isinstance(value, float):
        return value * factor
    if isinstance(value, dict):
        return {k: scaled(v, factor) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scaled(v, factor) for v in value)
    return value


def perturbed(observations, change):
    factor = 1 + change
    return {
        case_id: dataclasses.replace(o, result=scaled(o.result, factor), args_after=scaled(o.args_after, factor))
        for case_id, o in observations.items()
    }


def verdicts(spec, student, expected):
    return {check.name: check.judge({c: student[c] for c in check.cases}, {c: expected[c] for c in check.cases})
            for check in spec.checks}  # fmt: skip


@pytest.mark.parametrize("name", list(SPECS))
def test_the_references_pass_every_check(name, expected):
    spec, reference = SPECS[name], expected[name]
    assert [check for check, feedback in verdicts(spec, reference, reference).items() if feedback] == []


@pytest.mark.parametrize("name", ["optimize", "model"])  # clip must leave values exactly; sample returns indices
def test_an_answer_within_the_tolerance_passes_every_check(name, expected):
    spec, reference = SPECS[name], expected[name]
    near = verdicts(spec, perturbed(reference, -INSIDE), reference)
    assert [check for check, feedback in near.items() if feedback] == []


@pytest.mark.parametrize("name", ["clip", "optimize", "model"])  # sample returns indices: no float to move
def test_an_answer_just_outside_the_tolerance_fails(name, expected):
    spec, reference = SPECS[name], expected[name]
    failed = [check for check, feedback in verdicts(spec, perturbed(reference, OUTSIDE), reference).items() if feedback]
    assert failed, f"{name}: every check passed with every float off by a relative {OUTSIDE}"


@pytest.mark.parametrize("rtol", [1e-9, 1e-10])
def test_same_tells_a_difference_of_its_tolerance_from_one_a_thousand_times_larger(rtol):
    base = np.array([1.0, -2.5, 3e5])
    assert same(base, base * (1 + rtol / 10)) and same(1.0, 1.0 + rtol / 10)
    assert not same(base, base * (1 + rtol * 1000)) and not same(1.0, 1.0 + rtol * 1000)
    assert same(0.0, 1e-13) and not same(0.0, 1e-9)  # near zero: the absolute tolerance of 1e-12


def clipped_answers(nudge=None):
    """The right answers of clip's cases (np.clip of each input: the formula), with ``nudge``
    (case, key, index, value) written into one of them."""
    answers = {}
    for case in clip_checks.cases():
        grads, bound = case.args
        answers[case.id] = Observation(case.id, True, {k: np.clip(v, -bound, bound) for k, v in grads.items()})
    if nudge:
        case_id, key, index, value = nudge
        answers[case_id].result[key][index] = value
    return answers


def test_one_value_just_beyond_the_bound_fails_clips_every_value_rule():
    bound = clip_checks.INPUTS["bound-1.5"].args[1]
    assert clip_checks.within_bounds(clipped_answers(), {}) is None
    at_the_bound = clipped_answers(("bound-1.5", "dWaa", (0, 0), bound))
    assert clip_checks.within_bounds(at_the_bound, {}) is None
    just_beyond = clipped_answers(("bound-1.5", "dWaa", (0, 0), np.nextafter(bound, np.inf)))
    four_of_five = Partial(0.8, "dWaa came back with values outside [-maxValue, maxValue].")
    assert clip_checks.within_bounds(just_beyond, {}) == four_of_five  # the other four gradients earn their share


def test_one_gradient_missing_from_one_case_fails_the_all_five_rule():
    answers = clipped_answers()
    del answers["nothing-to-clip"].result["dby"]
    right = clipped_answers()
    assert clip_checks.returns_all_gradients(right, right) is None
    assert clip_checks.returns_all_gradients(answers, right) == "clip must return all five gradients; dby missing."


def with_first_call(observation, **changes):
    """``observation`` with the first recorded call of optimize changed (X, Y, …)."""
    calls = {name: dict(record) for name, record in observation.calls.items()}
    optimize = dict(calls["optimize"])
    optimize["calls"] = {**optimize["calls"], 0: {**optimize["calls"][0], **changes}}
    calls["optimize"] = optimize
    return dataclasses.replace(observation, calls=calls)


@pytest.mark.parametrize(
    ("change", "x_says", "y_says"),
    [
        (lambda x, y: {}, None, None),
        (lambda x, y: {"X": x[1:]}, "lacks the leading None", None),
        (lambda x, y: {"X": [0] + x[1:]}, "has the right indices but does not start with None", None),
        (lambda x, y: {"X": [None] + x[2:]}, "is not [None] followed by the indices", None),
        (lambda x, y: {"Y": y[:-1]}, None, "lacks the final newline index"),
        (lambda x, y: {"Y": list(x)}, None, "is X itself, not X shifted by one"),
        (lambda x, y: {"Y": y[1:] + [0, 0]}, None, "is not X without its first element, followed by the newline"),
        # a wrong X, and the Y that is right for it: only X's check says so (derived values are
        # judged against the student's own upstream value)
        (lambda x, y: {"X": x[1:], "Y": x[2:] + [y[-1]]}, "lacks the leading None", None),
    ],
    ids=["right", "no-leading-none", "zero-for-none", "a-name-cut", "no-newline", "y-is-x", "y-wrong", "y-of-own-x"],
)
def test_do_model_s_x_and_y_judges_name_each_near_miss(expected, change, x_says, y_says):
    from autograder.checks import model

    reference = expected["model"]
    first = reference["small"].calls["optimize"]["calls"][0]
    student = dict(reference)
    student["small"] = with_first_call(reference["small"], **change(first["X"], first["Y"]))
    for judge, says in ((model.builds_x, x_says), (model.builds_y, y_says)):
        feedback = judge(student, reference)
        assert (feedback is None) if says is None else (says in feedback), (judge.__name__, feedback)
    student["small"] = dataclasses.replace(reference["small"], calls={})
    assert (
        model.builds_x(student, reference)
        == model.builds_y(student, reference)
        == ("model must call optimize once per step.")
    )


def with_draws(observation, p=None, seeds=None):
    draws = dict(observation.draws)
    if p is not None:
        draws["p"] = p
    if seeds is not None:
        draws["seeds"] = seeds
    return dataclasses.replace(observation, draws=draws)


@pytest.mark.parametrize(("change", "right"), [(5e-7, True), (2e-6, False)], ids=["just-inside", "just-outside"])
def test_a_draw_s_probabilities_are_judged_to_the_tolerance_and_no_further(expected, change, right):
    """One probability of one draw moved by 5e-7 (rounding, amplified by 50 steps, stays below
    ~1e-7) passes; by 2e-6, that call's share is lost (one call of eight) and the message says
    which draw."""
    from autograder.checks import sample

    reference = expected["sample"]
    p = np.array(reference["flat"].draws["p"], dtype=float)
    p[2, 5] += change
    student = dict(reference) | {"flat": with_draws(reference["flat"], p=p)}
    verdict = sample.right_distribution(student, reference)
    if right:
        assert verdict is None
    else:
        assert verdict == Partial(7 / 8, verdict.feedback) and "from the 3rd draw on" in verdict.feedback


@pytest.mark.parametrize("offset", [-2, 1, 5])
def test_seeds_off_by_a_constant_are_told_by_how_much(expected, offset):
    from autograder.checks import sample

    reference = expected["sample"]
    student = {c: with_draws(o, seeds=[s + offset for s in o.draws["seeds"]]) for c, o in reference.items()}
    assert sample.follows_the_seeds(student, reference).startswith(f"every seed is {offset:+d} from the expected one")
    one_off = dict(reference)  # every case right but one seed of one case: still not right
    seeds = list(reference["seeds"].draws["seeds"])
    seeds[-1] += 1
    one_off["seeds"] = with_draws(reference["seeds"], seeds=seeds)
    assert sample.follows_the_seeds(one_off, reference) is not None
    assert sample.follows_the_seeds(reference, reference) is None
