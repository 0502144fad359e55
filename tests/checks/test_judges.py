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


def clip_answers(transform):
    """Every case answered with ``transform(gradient, maxValue)`` for each gradient, inputs left alone."""
    answers = {}
    for case in clip_checks.cases():
        grads, bound = case.args
        result = {key: transform(value, bound) for key, value in grads.items()}
        answers[case.id] = Observation(case.id, True, result, args_after=[grads])
    return answers


def clipped_answers(nudge=None):
    """The right answers of clip's cases (np.clip of each input: the formula), with ``nudge``
    (case, key, index, value) written into one of them."""
    answers = clip_answers(lambda gradient, bound: np.clip(gradient, -bound, bound))
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


def with_call(observation, number, **changes):
    """``observation`` with recorded call ``number`` of optimize changed (X, Y, learning_rate, …)."""
    calls = {name: dict(record) for name, record in observation.calls.items()}
    optimize = dict(calls["optimize"])
    optimize["calls"] = {**optimize["calls"], number: {**optimize["calls"][number], **changes}}
    calls["optimize"] = optimize
    return dataclasses.replace(observation, calls=calls)


@pytest.mark.parametrize(
    ("change", "x_says", "y_says"),
    [
        (lambda x, y: {}, None, None),
        (lambda x, y: {"X": x[1:]}, "lacks the leading None (the zero input that begins every name).", None),
        (lambda x, y: {"X": [0] + x[1:]}, "has the right indices but does not start with None.", None),
        (
            lambda x, y: {"X": [None] + x[2:]},
            "is not [None] followed by the indices of a name's characters, in order.",
            None,
        ),
        (lambda x, y: {"Y": y[:-1]}, None, "lacks the final newline index."),
        (lambda x, y: {"Y": list(x)}, None, "is X itself, not X shifted by one."),
        (
            lambda x, y: {"Y": y[1:] + [0, 0]},
            None,
            "is not X without its first element, followed by the newline index.",
        ),
        # a wrong X, and the Y that is right for it: only X's check says so (derived values are
        # judged against the student's own upstream value)
        (
            lambda x, y: {"X": x[1:], "Y": x[2:] + [y[-1]]},
            "lacks the leading None (the zero input that begins every name).",
            None,
        ),
    ],
    ids=["right", "no-leading-none", "zero-for-none", "a-name-cut", "no-newline", "y-is-x", "y-wrong", "y-of-own-x"],
)
def test_do_model_s_x_and_y_judges_name_each_near_miss(expected, change, x_says, y_says):
    from autograder.checks import model

    reference = expected["model"]
    first = reference["small"].calls["optimize"]["calls"][0]
    student = dict(reference)
    student["small"] = with_call(reference["small"], 0, **change(first["X"], first["Y"]))
    for judge, says, what in ((model.builds_x, x_says, "X"), (model.builds_y, y_says, "Y")):
        feedback = judge(student, reference)
        assert feedback == (None if says is None else f"the first {what} given to optimize {says}"), judge.__name__
    student["small"] = dataclasses.replace(reference["small"], calls={})
    assert (
        model.builds_x(student, reference)
        == model.builds_y(student, reference)
        == ("model must call optimize once per step.")
    )


def with_result(observations, case_id, result=None, **draws):
    """``observations`` with the result (or the noted draws) of one case replaced."""
    changed = dict(observations)
    old = changed[case_id]
    changed[case_id] = dataclasses.replace(
        old, result=old.result if result is None else result, draws={**old.draws, **draws}
    )
    return changed


@pytest.mark.parametrize(("change", "right"), [(5e-7, True), (2e-6, False)], ids=["just-inside", "just-outside"])
def test_a_draw_s_probabilities_are_judged_to_the_tolerance_and_no_further(expected, change, right):
    """One probability of one draw moved by 5e-7 (rounding, amplified by 50 steps, stays below
    ~1e-7) passes; by 2e-6, that call's share is lost (one call of eight) and the message says
    which draw."""
    from autograder.checks import sample

    reference = expected["sample"]
    p = np.array(reference["flat"].draws["p"], dtype=float)
    p[2, 5] += change
    student = with_result(reference, "flat", p=p)
    verdict = sample.right_distribution(student, reference)
    if right:
        assert verdict is None
    else:
        assert verdict == Partial(7 / 8, verdict.feedback) and "from the 3rd draw on" in verdict.feedback


@pytest.mark.parametrize("offset", [-2, 1, 5])
def test_seeds_off_by_a_constant_are_told_by_how_much(expected, offset):
    from autograder.checks import sample

    reference = expected["sample"]
    student = reference
    for case_id, observation in reference.items():
        student = with_result(student, case_id, seeds=[s + offset for s in observation.draws["seeds"]])
    assert sample.follows_the_seeds(student, reference).startswith(f"every seed is {offset:+d} from the expected one")
    # every case right but one seed of one case: still not right
    seeds = list(reference["seeds"].draws["seeds"])
    seeds[-1] += 1
    one_off = with_result(reference, "seeds", seeds=seeds)
    assert sample.follows_the_seeds(one_off, reference) is not None
    assert sample.follows_the_seeds(reference, reference) is None


# ----------------------------------------------------------------------------
# sample: each rule on an answer that breaks it alone, and the exact words the student reads
# ----------------------------------------------------------------------------

from autograder.checks import sample as sample_checks  # noqa: E402
from autograder.checks.base import Cause  # noqa: E402


@pytest.mark.parametrize(
    ("n", "word"),
    [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (10, "10th"), (11, "11th"), (12, "12th"), (13, "13th"),
     (20, "20th"), (21, "21st"), (22, "22nd"), (23, "23rd"), (101, "101st"), (111, "111th"), (112, "112th")],
)  # fmt: skip
def test_ordinals_are_english(n, word):
    assert sample_checks.ordinal(n) == word


@pytest.mark.parametrize(
    ("drawn", "right", "position"),
    [([1, 2, 3], [1, 2, 3], 4), ([1, 2, 3], [1, 5, 3], 2), ([9, 2], [1, 2], 1), ([1, 2], [1, 2, 0], 3),
     ([1, 2, 0], [1, 2], 3), ([], [4], 1)],
)  # fmt: skip
def test_first_difference_is_the_one_based_position_where_the_lists_part(drawn, right, position):
    assert sample_checks.first_difference(drawn, right) == position


def test_sample_s_ending_rules_each_name_their_own_fault(expected):
    right = expected["sample"]
    judge = sample_checks.ends_with_newline
    assert judge(right, right) is None
    assert judge(with_result(right, "flat", []), right) == "sample must return a non-empty list of indices."
    assert judge(with_result(right, "flat", (1, 0)), right) == "sample must return a non-empty list of indices."
    outside = "sample must return indices between 0 and vocab_size - 1 (integers)."
    assert judge(with_result(right, "flat", [27, 0]), right) == outside  # one past the vocabulary
    assert judge(with_result(right, "flat", [-1, 0]), right) == outside
    assert judge(with_result(right, "flat", [1.0, 0]), right) == outside
    assert judge(with_result(right, "flat", [26, 0]), right) is None  # the last index of the vocabulary is one
    no_newline = "the list of indices must end with the index of the newline, char_to_ix['\\n']."
    assert judge(with_result(right, "flat", [3, 4]), right) == no_newline


def test_sample_stops_at_fifty_characters_exactly(expected):
    right = expected["sample"]
    judge = sample_checks.stops_at_fifty
    assert right["never-newline"].result[-1] == 0 and len(right["never-newline"].result) == 51
    assert judge(right, right) is None
    assert judge(with_result(right, "never-newline", [5] * 50 + [0]), right) is None  # any 50, then the newline
    assert judge(with_result(right, "never-newline", [5] * 49 + [0]), right) == (
        "when the newline is never drawn, sample returned 50 indices; it must return 51: the 50 characters "
        "drawn, then the newline index."
    )
    assert judge(with_result(right, "never-newline", [5] * 51 + [0]), right).startswith(
        "when the newline is never drawn, sample returned 52 indices"
    )
    last = "when the newline is never drawn, the 51st index must be the newline index, and only it."
    assert judge(with_result(right, "never-newline", [5] * 51), right) == last
    assert judge(with_result(right, "never-newline", [0] + [5] * 49 + [0]), right) == last


def test_each_seeding_mistake_is_told_apart(expected):
    right = expected["sample"]
    seeds = right["seeds"].draws["seeds"]
    assert len(seeds) >= 3
    judge = sample_checks.follows_the_seeds
    assert judge(right, right) is None
    never = judge(with_result(right, "seeds", seeds=[]), right)
    assert isinstance(never, Cause) and never.startswith("np.random.seed is never called")
    once = judge(with_result(right, "seeds", seeds=seeds[:1]), right)
    assert isinstance(once, Cause) and once.startswith("np.random.seed is called once")
    shifted = judge(with_result(right, "seeds", seeds=[s + 2 for s in seeds]), right)
    assert isinstance(shifted, Cause) and shifted.startswith("every seed is +2 from the expected one")
    step = seeds[1] - seeds[0]  # step + seed, both growing by one: 2 (the references agree with the formula)
    assert step == 2 and sample_checks.increments(seeds) == {2}
    faster = [seeds[0] + 3 * k for k in range(len(seeds))]
    assert judge(with_result(right, "seeds", seeds=faster), right) == (
        "the seeds grow by 3 from one draw to the next instead of 2: both step and seed grow by one after every "
        "draw, and the seed is their sum."
    )
    jumbled = [seeds[0], seeds[0] + 5, seeds[0] + 6, *seeds[3:]]
    assert judge(with_result(right, "seeds", seeds=jumbled), right) == (
        "the seeds set before the draws are not step + seed (step and seed both grow by one after every draw)."
    )
    draws = len(right["seeds"].draws["p"])
    assert draws == len(seeds)
    one_missing = judge(with_result(right, "seeds", seeds=seeds[:-1]), right)  # the last draw left unseeded
    assert one_missing == (
        f"np.random.seed is called {draws - 1} times for {draws} draws: call it just before every draw, with "
        "step + seed."
    )
    assert isinstance(one_missing, Cause)


def test_the_characters_rule_pays_for_each_right_call_and_says_where_the_first_wrong_one_parts(expected):
    right = expected["sample"]
    judge = sample_checks.expected_characters
    assert judge(right, right) is None
    drawn = list(right["seeds"].result)
    drawn[2] = (drawn[2] + 1) % 27
    one = judge(with_result(right, "seeds", drawn), right)
    assert one == Partial(2 / 3, "the drawn indices differ from the expected ones in 1 of 3 calls; in the first "
                                 "of them from the 3rd index on.")  # fmt: skip
    two = judge(with_result(with_result(right, "seeds", drawn), "visible", [0]), right)
    assert two == Partial(1 / 3, "the drawn indices differ from the expected ones in 2 of 3 calls; in the first "
                                 "of them from the 1st index on.")  # fmt: skip


# ----------------------------------------------------------------------------
# model: each rule on a run that breaks it alone, and the exact words the student reads
# ----------------------------------------------------------------------------

from autograder.checks import model as model_checks  # noqa: E402


def test_names_are_judged_in_order_and_a_missed_restart_is_told_apart(expected):
    right = expected["model"]
    judge = model_checks.cycles_through_names
    assert judge(right, right) is None
    first, wrapped = right["small"].calls["optimize"]["calls"][0], right["small"].calls["optimize"]["calls"][21]
    assert model_checks.SMALL_NAMES == 20 and wrapped["X"] == first["X"]  # 20 names and the empty line: 21 again
    zero_for_none = with_call(right["small"], 0, X=[0] + first["X"][1:])  # how X starts is judged elsewhere
    assert judge({**right, "small": zero_for_none}, right) is None
    no_restart = with_call(right["small"], 21, X=[None, 1, 2, 3])
    assert judge({**right, "small": no_restart}, right) == (
        "optimize gets the expected names until the end of the list and other ones from there: after the last "
        "name, training must start again from the first."
    )
    wrong_early = with_call(right["small"], 1, X=[None, 1, 2, 3])
    assert judge({**right, "small": wrong_early}, right) == (
        "optimize gets other names (X) than expected from the first steps on."
    )


def test_the_learning_rate_rule_reads_every_recorded_call(expected):
    right = expected["model"]
    judge = model_checks.learning_rate
    assert judge(right, right) is None
    for case_id, number in (("small", 21), ("full", 2)):
        changed = {**right, case_id: with_call(right[case_id], number, learning_rate=0.02)}
        assert judge(changed, right) == "optimize was called with learning rate 0.02: use 0.01."
    assert judge({**right, "small": dataclasses.replace(right["small"], calls={})}, right) == (
        "model must call optimize once per step."
    )


@pytest.mark.parametrize(("number", "fails"), [(0, False), (1, True), (2, True), (20, False)])
def test_the_hidden_state_rule_reads_the_second_and_third_steps(expected, number, fails):
    right = expected["model"]
    changed = {**right, "small": with_call(right["small"], number, a_prev_is_zero=True)}
    assert model_checks.carries_hidden_state(changed, right) == (
        "the a_prev given to optimize is zeros at steps after the first." if fails else None
    )


def test_the_training_runs_results_are_each_named(expected):
    right = expected["model"]
    parameters, name = right["full"].result
    moved = {key: value * (1 + 1e-6) for key, value in parameters.items()}
    judge = model_checks.full_run
    assert judge(right, right) is None
    assert judge({**right, "full": dataclasses.replace(right["full"], result=(moved, name))}, right) == (
        "the 22,001-step run ends with the right name, but the returned parameters are not the trained ones."
    )
    assert judge({**right, "full": dataclasses.replace(right["full"], result=(parameters, "Rex\n"))}, right) == (
        f"the 22,001-step run ends with 'Rex\\n', not {name!r}."
    )
    assert judge({**right, "full": dataclasses.replace(right["full"], result=name)}, right) == (
        "model must return two values: parameters, last_dino_name."
    )
    small_parameters, small_name = right["small"].result
    small_moved = {key: value * (1 + 1e-6) for key, value in small_parameters.items()}
    judge = model_checks.trains_on_any_data
    assert judge(right, right) is None
    for result, which in (((small_moved, small_name), "parameters"), ((small_parameters, "Rex"), "last name"),
                          ((small_moved, "Rex"), "parameters and last name")):  # fmt: skip
        changed = {**right, "small": dataclasses.replace(right["small"], result=result)}
        assert judge(changed, right) == (
            f"trained on another list of names with a smaller vocabulary, model returns other {which}."
        )


def test_a_fixed_step_count_is_named_only_when_the_results_differ(expected):
    right = expected["model"]
    calls = {name: dict(record) for name, record in right["small"].calls.items()}
    calls["optimize"] = {**calls["optimize"], "count": 100}
    counted = dataclasses.replace(right["small"], calls=calls)
    assert model_checks.fixed_step_count({**right, "small": counted}, right, "small") == (
        "model trained 100 steps (calls of optimize) where num_iterations asked for 43: loop for j in "
        "range(num_iterations), not over a fixed number of steps."
    )
    assert model_checks.trains_on_any_data({**right, "small": counted}, right) is None  # same results: no blame
    parameters, name = right["small"].result
    wrong = dataclasses.replace(counted, result=({k: v * 2 for k, v in parameters.items()}, name))
    assert isinstance(model_checks.trains_on_any_data({**right, "small": wrong}, right), Cause)


# ----------------------------------------------------------------------------
# optimize: each rule on an answer that breaks it alone, and the exact words the student reads
# ----------------------------------------------------------------------------

from autograder.checks import optimize as optimize_checks  # noqa: E402

OPTIMIZE_RETURNS = "optimize must return three values: loss, gradients, a[len(X)-1]."


def with_answer(observations, case_id, loss=None, gradients=None, state=None, after=None):
    """``observations`` with one case's returned values (or its parameters after the call) replaced."""
    old = observations[case_id]
    result = (
        old.result[0] if loss is None else loss,
        old.result[1] if gradients is None else gradients,
        old.result[2] if state is None else state,
    )
    args_after = old.args_after if after is None else [old.args_after[0], after]
    return {**observations, case_id: dataclasses.replace(old, result=result, args_after=args_after)}


def stepped(case_id, gradients, rate=None):
    """The parameters of ``case_id`` after one step down ``gradients``: the formula."""
    before = optimize_checks.INPUTS[case_id].args[3]
    rate = optimize_checks.INPUTS[case_id].kwargs["learning_rate"] if rate is None else rate
    return {key: before[key] - rate * gradients["d" + key] for key in before}


def test_optimize_must_return_three_values(expected):
    right = expected["optimize"]
    broken = {**right, "visible": dataclasses.replace(right["visible"], result=right["visible"].result[:2])}
    for judge in (optimize_checks.returns_loss, optimize_checks.clipped_gradients,
                  optimize_checks.updates_parameters, optimize_checks.returns_last_state):  # fmt: skip
        assert judge(right, right) is None, judge.__name__
        assert judge(broken, right) == OPTIMIZE_RETURNS, judge.__name__


def test_a_loss_off_in_one_call_is_counted(expected):
    right = expected["optimize"]
    off = with_answer(right, "learning-rate", loss=right["learning-rate"].result[0] * (1 + 1e-6))
    assert (
        optimize_checks.returns_loss(off, right) == "the returned loss differs from the expected one in 1 of 4 calls."
    )


def test_each_way_of_clipping_wrongly_is_named(expected):
    right = expected["optimize"]
    judge = optimize_checks.clipped_gradients
    raw = optimize_checks.raw_gradients("visible")
    assert judge(with_answer(right, "visible", gradients=raw), right) == (
        "the returned gradients are rnn_backward's before clipping: clip them with clip(gradients, 5)."
    )
    at_three = {key: np.clip(value, -3, 3) for key, value in raw.items()}
    assert judge(with_answer(right, "visible", gradients=at_three), right) == (
        "the returned gradients are rnn_backward's clipped to [-3, 3], not [-5, 5]."
    )
    one_wrong = {**right["visible"].result[1], "dby": right["visible"].result[1]["dby"] * 0.5}
    assert judge(with_answer(right, "visible", gradients=one_wrong), right) == Partial(
        0.8, "the returned dby differ from rnn_backward's gradients clipped to [-5, 5]."
    )


def test_the_update_is_judged_against_the_students_own_gradients(expected):
    right = expected["optimize"]
    judge = optimize_checks.updates_parameters
    case = "learning-rate"
    raw = optimize_checks.raw_gradients(case)
    at_three = {key: np.clip(value, -3, 3) for key, value in raw.items()}
    own = with_answer(right, case, gradients=at_three, after=stepped(case, at_three))
    assert judge(own, right) is None  # a wrong clip costs clip's check, not this one too
    before = optimize_checks.INPUTS[case].args[3]
    assert judge(with_answer(right, case, after=dict(before)), right) == (
        "the parameters passed in are unchanged after the step: update them in place with update_parameters."
    )
    assert (
        judge(with_answer(right, "zero-rate", after=dict(optimize_checks.INPUTS["zero-rate"].args[3])), right) is None
    )  # fmt: skip -- a learning rate of 0 leaves them as they were
    fixed_rate = with_answer(right, case, after=stepped(case, right[case].result[1], rate=0.01))
    assert judge(fixed_rate, right) == Cause(
        "the parameters were updated with the learning rate 0.01 whatever learning_rate was (here 0.05): pass "
        "learning_rate on to update_parameters."
    )
    unclipped = with_answer(right, case, after=stepped(case, raw))
    assert judge(unclipped, right) == Cause("the parameters were updated with the gradients from before clipping.")
    after = dict(right[case].args_after[1])
    after["b"] = after["b"] + 1.0
    assert judge(with_answer(right, case, after=after), right) == (
        "after the step, the parameters passed in differ from the expected ones (b)."
    )


def test_the_returned_state_is_the_last_one(expected):
    right = expected["optimize"]
    judge = optimize_checks.returns_last_state
    a_prev = optimize_checks.INPUTS["visible"].args[2]
    assert judge(with_answer(right, "visible", state=a_prev), right) == (
        "the returned hidden state is a_prev, the state before the first step."
    )
    assert judge(with_answer(right, "visible", state=right["visible"].result[2] * 2), right) == (
        "the returned hidden state is not the state after the last step."
    )


# ----------------------------------------------------------------------------
# clip: each rule alone, from answers built by the formula (np.clip), with the exact words
# ----------------------------------------------------------------------------


def test_clip_s_rules_pass_the_formula_and_name_a_constant_bound():
    right = clip_answers(lambda g, bound: np.clip(g, -bound, bound))
    for judge in (clip_checks.within_bounds, clip_checks.exact_values, clip_checks.uses_max_value,
                  clip_checks.leaves_input_alone, clip_checks.returns_all_gradients):  # fmt: skip
        assert judge(right, right) is None, judge.__name__
    fixed = clip_answers(lambda g, bound: np.clip(g, -5, 5))
    says = (
        "clip always clips to [-5, 5], whatever maxValue is: the number 5 is written where the argument belongs. "
        "Clip to -maxValue and maxValue."
    )
    for judge in (clip_checks.within_bounds, clip_checks.exact_values, clip_checks.uses_max_value):
        assert judge(fixed, right) == says, judge.__name__
    assert clip_checks.fixed_bound(fixed) == 5.0
    assert clip_checks.fixed_bound(right) is None  # maxValue itself on every case is no constant
    assert clip_checks.fixed_bound(clip_answers(lambda g, bound: g)) is None  # nothing cut


def test_values_inside_the_bounds_changed_and_values_beyond_left_are_told_apart():
    right = clip_answers(lambda g, bound: np.clip(g, -bound, bound))
    rounded = clip_answers(lambda g, bound: np.clip(np.round(g, 1), -bound, bound))
    assert clip_checks.exact_values(rounded, right) == (
        "Values already inside [-maxValue, maxValue] changed (dWax, dWaa, dWya, db, dby)."
    )
    left = clip_answers(lambda g, bound: np.where(np.abs(g) > bound, np.sign(g) * bound * 0.5, g))
    assert clip_checks.exact_values(left, right) == (
        "Values beyond the bounds did not become exactly -maxValue or maxValue (dWax, dWaa, dWya, db, dby)."
    )
    one = {case: dataclasses.replace(o, result=dict(o.result)) for case, o in right.items()}
    for case in ("visible-10", "visible-5"):
        one[case].result["db"] = one[case].result["db"] * 0.5
    assert clip_checks.exact_values(one, right) == Partial(
        0.8,
        "Values already inside [-maxValue, maxValue] changed (db); values beyond the bounds did not become "
        "exactly -maxValue or maxValue (db).",
    )


def test_a_clip_right_only_for_the_visible_bounds_is_told_so():
    right = clip_answers(lambda g, bound: np.clip(g, -bound, bound))
    visible_only = clip_answers(lambda g, bound: np.clip(g, -bound, bound) if bound in (10, 5) else g)
    assert clip_checks.uses_max_value(visible_only, right) == (
        "clip is right for the bounds 10 and 5 but gives other values for other bounds."
    )
    wrong = clip_answers(lambda g, bound: np.clip(g, -bound, bound))
    for case in wrong.values():
        case.result["dWya"] = case.result["dWya"] * 0.5
    assert clip_checks.uses_max_value(wrong, right) == Partial(
        0.8, "clip is not yet right for the bounds 10 and 5 either (dWya)."
    )


def test_clip_must_leave_its_input_alone_and_return_dicts_of_the_right_shapes():
    right = clip_answers(lambda g, bound: np.clip(g, -bound, bound))
    changed = {case: dataclasses.replace(o, args_after=[o.result]) for case, o in right.items()}
    assert clip_checks.leaves_input_alone(changed, right) == (
        "clip changed the arrays of the dictionary it was given; the caller's gradients must stay as they were "
        "(the first line copies every array)."
    )
    listed = {**right, "bound-tiny": dataclasses.replace(right["bound-tiny"], result=list(right["bound-tiny"].result))}
    assert clip_checks.returns_all_gradients(listed, right) == "clip must return a dictionary of gradients."
    flat = {**right, "bound-tiny": dataclasses.replace(right["bound-tiny"], result=dict(right["bound-tiny"].result))}
    flat["bound-tiny"].result["db"] = flat["bound-tiny"].result["db"].ravel()
    shape = right["bound-tiny"].result["db"].shape
    assert clip_checks.returns_all_gradients(flat, right) == (
        f"db came back with shape ({shape[0]},) instead of {shape}."
    )


# ----------------------------------------------------------------------------
# The helpers every judge relies on
# ----------------------------------------------------------------------------

from autograder.checks import base  # noqa: E402


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ({"x": 1.0}, {"x": 1.0}, True), ({"x": 1.0}, {"y": 1.0}, False), ({"x": 1.0}, {"x": 2.0}, False),
        ([1, 2], (1, 2), True), ([1, 2], [1, 2, 3], False), ([1, [2, 3]], [1, [2, 4]], False),
        (1, 1.0, True), (1, 2, False), ("1", 1, False), ("a", "a", True), (None, None, True), (None, 0, False),
        ("a", 1.0, False), (float("nan"), float("nan"), False), (True, 1, False),
        (np.array([1.0, np.nan]), np.array([1.0, np.nan]), True), (np.zeros(2), np.zeros((2, 1)), False),
        (np.array(["a"]), np.array(["a"]), False), (np.zeros(2), [0.0, 0.0], True), (np.array([1]), [1.0], True),
    ],
)  # fmt: skip
def test_same_is_deep_equality_with_a_tolerance_for_numbers_only(a, b, equal):
    assert base.same(a, b) is equal


def test_a_run_gets_four_times_the_references_time_and_no_less_than_its_floor():
    spec = SPECS["clip"]
    assert spec.floor_seconds == 20.0
    assert spec.cpu_seconds(1.0) == 30.0  # the floor, and 10 s for starting
    assert spec.cpu_seconds(10.0) == 50.0  # 4 x 10 s
    assert spec.cpu_seconds(10.0, time_scale=2.0) == 90.0
    assert SPECS["model"].cpu_seconds(0.0) == SPECS["model"].floor_seconds + 10.0


def test_partial_pays_a_share_only_for_some_right_parts():
    assert base.partial(3, 3, "x") is None and base.partial(4, 3, "x") is None
    assert base.partial(0, 3, "x") == "x"
    assert base.partial(1, 4, "x") == Partial(0.25, "x")


def test_the_vocabulary_maps_each_symbol_to_its_position_in_any_insertion_order():
    char_to_ix, ix_to_char = base.vocabulary()
    assert char_to_ix["\n"] == 0 and char_to_ix["a"] == 1 and char_to_ix["z"] == 26 and len(char_to_ix) == 27
    assert all(ix_to_char[i] == c for c, i in char_to_ix.items())
    shuffled, shuffled_back = base.vocabulary("abc", [2, 0, 1])
    assert list(shuffled) == ["c", "a", "b"] and shuffled == {"a": 0, "b": 1, "c": 2}
    assert list(shuffled_back) == [2, 0, 1]


def test_rnn_calls_allow_the_rnn_s_shapes_and_counts():
    rule = base.rnn_calls(5, 27, 10, optimize=3, sample=2)
    assert set(rule) == {"optimize", "sample"} and rule["optimize"]["calls"] == 3 and rule["sample"]["calls"] == 2
    assert rule["optimize"]["shapes"] == [[5, 27], [5, 5], [27, 5], [5, 1], [27, 1]]
    assert rule["optimize"] | {"calls": 0} == {"shapes": rule["optimize"]["shapes"], "indices": 27, "length": 11,
                                                "entries": 27, "text": 8, "calls": 0}  # fmt: skip
    assert base.rnn_calls(5, 4, 10, clip=1)["clip"]["entries"] == 8  # at least 8 entries, for a small vocabulary


def test_random_parameters_have_initialize_parameters_shapes_and_repeat_for_a_seed():
    first, again = base.random_parameters(3, 4, 5, seed=7), base.random_parameters(3, 4, 5, seed=7)
    assert {k: v.shape for k, v in first.items()} == {"Wax": (3, 4), "Waa": (3, 3), "Wya": (5, 3), "b": (3, 1),
                                                       "by": (5, 1)}  # fmt: skip
    assert all(np.array_equal(first[k], again[k]) for k in first)
    scaled_up = base.random_parameters(3, 4, 5, seed=7, scale=2.0)
    assert all(np.array_equal(scaled_up[k], 2.0 * first[k]) for k in first)
    np.random.seed(7)
    assert np.array_equal(base.random_parameters(3, 4, 5)["Wax"], first["Wax"])  # no seed: numpy's current state


# ----------------------------------------------------------------------------
# sample's probability rules, and model's printed progress
# ----------------------------------------------------------------------------


def along(case_id, drawn):
    """What a correct sample gives np.random.choice before each of ``drawn``: equations (1)-(3)."""
    return [p.tolist() for p in sample_checks.network_probabilities(case_id, drawn)]


def test_draws_from_network_names_the_first_draw_made_from_other_probabilities(expected):
    right = expected["sample"]["recurrence"]
    judge = sample_checks.draws_from_network
    assert judge(right, "recurrence") == 0
    drawn = right.result
    p = along("recurrence", drawn)
    p[3] = [x + 1e-3 for x in p[3]]
    assert judge(dataclasses.replace(right, draws={"p": p}), "recurrence") == 4
    assert (
        judge(dataclasses.replace(right, draws={"p": [row[:-1] for row in along("recurrence", drawn)]}), "recurrence")
        == 1
    )  # fmt: skip -- a row of another length
    assert judge(dataclasses.replace(right, draws={"p": along("recurrence", drawn)[:5]}), "recurrence") == 0
    for odd in ({}, {"p": []}, {"p": [None, *p[1:]]}):
        assert judge(dataclasses.replace(right, draws=odd), "recurrence") is None
    assert judge(dataclasses.replace(right, result="not a list"), "recurrence") is None


def test_the_hidden_state_rule_reads_the_draws_first_and_blames_the_recurrence_only_when_it_is_that(expected):
    right = expected["sample"]
    judge = sample_checks.carries_hidden_state
    assert judge(right, right) is None
    other = [(ix + 1) % 27 for ix in right["recurrence"].result[:-1]] + [0]
    own_draws = {**right, "recurrence": dataclasses.replace(right["recurrence"], result=other,
                                                             draws={"p": along("recurrence", other)})}  # fmt: skip
    assert judge(own_draws, right) is None  # other characters, each drawn from the right probabilities
    p = along("recurrence", right["recurrence"].result)
    p[2] = [x * 0.5 for x in p[2]]
    same_result = {**right, "recurrence": dataclasses.replace(right["recurrence"], draws={"p": p})}
    assert judge(same_result, right) is None  # the same characters: nothing to blame
    both = {**right, "recurrence": dataclasses.replace(right["recurrence"], result=other, draws={"p": p[:3]})}
    assert judge(both, right) == Cause(
        "the probabilities are right when the previous hidden state has no influence (Waa = 0) and differ when it "
        "has: the hidden state is not carried from one character to the next as in equation (1)."
    )
    flat = right["without-recurrence"]
    everywhere = {**both, "without-recurrence": dataclasses.replace(flat, draws={"p": [[0.0] * 27] * 3})}
    assert judge(everywhere, right) == (
        "the probabilities differ for a network whose hidden state matters (and also when it does not)."
    )


def test_the_dictionary_order_rule(expected):
    right = expected["sample"]
    judge = sample_checks.independent_of_dictionary_order
    assert judge(right, right) is None
    small = right["small-vocabulary"]
    other = [(ix + 1) % 14 for ix in small.result[:-1]] + [0]
    shuffled = {**right, "small-vocabulary-shuffled": dataclasses.replace(small, result=other)}
    assert judge(shuffled, right) == (
        "the result depends on the order in which char_to_ix was built: the same vocabulary, inserted in another "
        "order, gives other indices."
    )
    wrong_p = {**right, "small-vocabulary": dataclasses.replace(small, draws={"p": [[1.0] + [0.0] * 13]})}
    assert judge(wrong_p, right) == (
        "with a smaller vocabulary, the probabilities given to np.random.choice are not the network's."
    )


def test_the_distribution_rule_pays_per_call_and_names_its_failures(expected):
    right = expected["sample"]
    judge = sample_checks.right_distribution
    assert judge(right, right) is None
    flat = right["flat"]
    p = along("flat", flat.result)
    p[1] = [1.0] + [0.0] * 26
    one = judge({**right, "flat": dataclasses.replace(flat, draws={"p": p})}, right)
    says = (
        "in 1 of 8 calls, the probabilities given to np.random.choice are not the network's y of equation (3) from "
        "the 2nd draw on, even judged along your own draws."
    )
    assert one == Partial(7 / 8, says)
    never = {case: dataclasses.replace(o, draws={}) for case, o in right.items()}
    assert judge(never, right) == (
        "no draw with np.random.choice(…, p=…) was seen: draw each index with np.random.choice, giving it the "
        "probabilities y of equation (3) as p."
    )
    extra = dataclasses.replace(flat, result=flat.result + [3, 4])
    assert judge({**right, "flat": extra}, right) == (
        f"sample made {len(flat.result)} draws but returned {len(flat.result) + 2} indices, so the list it returns "
        "is not the list of its draws: append every drawn index to indices, and return that list."
    )
    missing = judge({**right, "flat": dataclasses.replace(flat, draws={})}, right)
    assert missing == Partial(7 / 8, "in 1 of 8 calls, the probabilities given to np.random.choice are not the "
                                     "network's y of equation (3) (no draw with p was seen), even judged along your "
                                     "own draws.")  # fmt: skip


def test_seed_feedback_needs_two_seeds_to_read_an_offset_or_a_step():
    feedback = sample_checks.seeds_feedback
    assert feedback([5, 7], [3, 5], 2).startswith("every seed is +2 from the expected one")  # two seeds are enough
    assert feedback([None, None, None], [3, 5, 7], 3) == (
        "the seeds set before the draws are not step + seed (step and seed both grow by one after every draw)."
    )
    assert feedback([4], [3], 1) == (
        "the seeds set before the draws are not step + seed (step and seed both grow by one after every draw)."
    )  # one draw, one wrong seed: no offset can be read from one
    assert feedback([3, 6, 9], [3, 5, 7], 3).startswith("the seeds grow by 3 from one draw to the next instead of 2")
    assert not isinstance(feedback([3, 9, 10], [3, 5, 7], 3), Cause)


def test_the_printed_progress_is_read_block_by_block_and_the_first_difference_named(expected):
    right = expected["model"]
    text = right["full"].stdout
    blocks = model_checks.printed_progress(text)
    assert [block[0] for block in blocks] == list(range(0, 22001, 2000))
    assert blocks[1][1] == "27.884160" and blocks[1][2][0] == "Liusskeomnolxeros" and len(blocks[1][2]) == 7
    judge = model_checks.progress_matches
    assert judge(right, right) is None
    changed = {**right, "full": dataclasses.replace(right["full"], stdout=text.replace("Hmdaairus", "Hmdaairux"))}
    assert judge(changed, right) == (
        "the printed progress first differs at iteration 2000: compare your output with the notebook's expected "
        "output from that point."
    )
    silent = {**right, "full": dataclasses.replace(right["full"], stdout="")}
    assert judge(silent, right) == (
        "the training run must print its progress every 2,000 steps, as the notebook's expected output shows."
    )
    assert model_checks.printed_progress("Iteration: 5, Loss: 1.0 \nx") == []  # the line as printed, exactly
