"""Hidden checks of ``sample(parameters, char_to_ix, seed)``."""

from __future__ import annotations

import numpy as np

from assignment import EXERCISES, VISIBLE_INPUTS
from utils import softmax

from ..sandbox.messages import Observation
from .base import Case, Cause, Check, FunctionSpec, Observed, Verdict, partial, random_parameters, same, vocabulary

VISIBLE = VISIBLE_INPUTS["sample"]  # the visible test's inputs, drawn as public_tests does
SMALL_SYMBOLS = "abdeilnorsu\n"  # 12 symbols, the newline last
SHUFFLED_ORDER = [7, 11, 2, 9, 0, 5, 10, 3, 8, 1, 6, 4]


def never_newline() -> dict[str, np.ndarray]:
    parameters = random_parameters(20, 27, 27, seed=31)
    parameters["by"][0] = -1000.0  # the newline (index 0) never gets any probability
    return parameters


def without_recurrence() -> dict[str, np.ndarray]:
    parameters = random_parameters(30, 27, 27, seed=51, scale=2.0)
    parameters["Waa"][:] = 0.0  # the previous hidden state has no influence
    return parameters


def cases() -> list[Case]:
    char_to_ix, _ = vocabulary()
    small, _ = vocabulary(SMALL_SYMBOLS)
    small_shuffled, _ = vocabulary(SMALL_SYMBOLS, SHUFFLED_ORDER)
    small_parameters = random_parameters(30, 12, 12, seed=8)
    return [
        Case(
            "visible",
            (
                random_parameters(VISIBLE["n_a"], VISIBLE["vocab_size"], VISIBLE["vocab_size"], seed=VISIBLE["seed"]),
                char_to_ix,
                VISIBLE["first_seed"],
            ),
        ),  # fmt: skip
        Case("seeds", (random_parameters(40, 27, 27, seed=5), char_to_ix, 3)),
        Case("small-vocabulary", (small_parameters, small, 2)),
        Case("small-vocabulary-shuffled", (small_parameters, small_shuffled, 2)),
        Case("never-newline", (never_newline(), char_to_ix, 4)),
        Case("flat", (random_parameters(10, 27, 27, seed=41, scale=1e-6), char_to_ix, 0)),
        Case("without-recurrence", (without_recurrence(), char_to_ix, 6)),
        Case("recurrence", (random_parameters(30, 27, 27, seed=51, scale=2.0), char_to_ix, 6)),
    ]


INPUTS = {case.id: case for case in cases()}
ALL = tuple(INPUTS)


def matches(student: Observed, expected: Observed, case_id: str) -> bool:
    return same(student[case_id].result, expected[case_id].result)


def first_difference(drawn: list[int], right: list[int]) -> int | None:
    """The 1-based position of the first index that differs (or where one list ends)."""
    for position, (mine, theirs) in enumerate(zip(drawn, right, strict=False), start=1):
        if mine != theirs:
            return position
    return min(len(drawn), len(right)) + 1


def ends_with_newline(student: Observed, expected: Observed) -> Verdict:
    for case_id in ALL:
        drawn, char_to_ix = student[case_id].result, INPUTS[case_id].args[1]
        if not isinstance(drawn, list) or not drawn:
            return "sample must return a non-empty list of indices."
        if not all(isinstance(ix, int) and 0 <= ix < len(char_to_ix) for ix in drawn):
            return "sample must return indices between 0 and vocab_size - 1 (integers)."
        if drawn[-1] != char_to_ix["\n"]:
            return "the list of indices must end with the index of the newline, char_to_ix['\\n']."
    return None


def stops_at_fifty(student: Observed, expected: Observed) -> Verdict:
    """Judged on the student's own draws: 50 characters, none of them the newline, then the newline."""
    drawn, newline = student["never-newline"].result, INPUTS["never-newline"].args[1]["\n"]
    if len(drawn) != 51:
        return (
            f"when the newline is never drawn, sample returned {len(drawn)} indices; it must return 51: "
            "the 50 characters drawn, then the newline index."
        )
    if drawn[-1] != newline or newline in drawn[:-1]:
        return "when the newline is never drawn, the 51st index must be the newline index, and only it."
    return None


def network_probabilities(case_id: str, drawn: list[int]) -> list[np.ndarray]:
    """The probabilities of the next character before each draw, when the draws so far were
    ``drawn``: equations (1)-(3), from zero vectors, as numpy computes them."""
    parameters = INPUTS[case_id].args[0]
    Wax, Waa, Wya, b, by = (parameters[name] for name in ("Wax", "Waa", "Wya", "b", "by"))
    a, x, before_each = np.zeros((Waa.shape[0], 1)), np.zeros((by.shape[0], 1)), []
    for idx in drawn:
        a = np.tanh(np.dot(Wax, x) + np.dot(Waa, a) + b)  # (n_a, 1)
        y = softmax(np.dot(Wya, a) + by)  # (vocab_size, 1)
        before_each.append(y.ravel())
        x = np.zeros((by.shape[0], 1))
        x[idx] = 1
    return before_each


# Probabilities computed in another order of the same operations (Wax @ x, a fused update) differ
# by rounding, which the recurrence amplifies over 50 steps to ~1e-7; a wrong equation by far more.
PROBABILITY_TOLERANCE = 1e-6


def draws_from_network(observation: Observation, case_id: str) -> int | None:
    """The 1-based number of the first draw whose probabilities (as given to np.random.choice)
    are not the network's along this call's own draws; 0 when all are; None when no draw with
    probabilities was seen."""
    given, drawn = observation.draws.get("p"), observation.result
    if given is None or len(given) == 0 or any(p is None for p in given) or not isinstance(drawn, list):
        return None
    count = min(len(given), len(drawn))
    right_ones = network_probabilities(case_id, drawn[:count])
    for number, (mine, right) in enumerate(zip(given[:count], right_ones, strict=True), start=1):
        if len(mine) != right.size or not np.allclose(
            np.asarray(mine, dtype=float), right, rtol=0, atol=PROBABILITY_TOLERANCE
        ):
            return number
    return 0


def right_distribution(student: Observed, expected: Observed) -> Verdict:
    for case_id in ALL:
        draws, drawn = len(student[case_id].draws.get("p", [])), student[case_id].result
        if draws and len(drawn) not in (draws, draws + 1):
            return (
                f"sample made {draws} draws but returned {len(drawn)} indices, so the list it returns is not the "
                "list of its draws: append every drawn index to indices, and return that list."
            )
    wrong = {case_id: draws_from_network(student[case_id], case_id) for case_id in ALL}
    if not any(wrong.values()) and None not in wrong.values():
        return None
    if all(number is None for number in wrong.values()):
        return (
            "no draw with np.random.choice(…, p=…) was seen: draw each index with np.random.choice, giving it the "
            "probabilities y of equation (3) as p."
        )
    failing = [case_id for case_id, number in wrong.items() if number != 0]
    first = wrong[failing[0]]
    where = f"from the {ordinal(first)} draw on" if first else "(no draw with p was seen)"
    feedback = (
        f"in {len(failing)} of {len(ALL)} calls, the probabilities given to np.random.choice are not the network's "
        f"y of equation (3) {where}, even judged along your own draws."
    )
    return partial(len(ALL) - len(failing), len(ALL), feedback)


def seeds_feedback(mine: list, right: list, draws: int) -> str:
    """What is wrong with the seeds set (``mine``, before ``draws`` draws) against the expected
    ones (``right``), as one sentence."""
    if not mine:
        return Cause(
            "np.random.seed is never called: seed every draw with np.random.seed(step + seed), just before it."
        )
    if len(mine) == 1 and len(right) > 1:
        return Cause("np.random.seed is called once; it must be called before every draw, with step + seed.")
    count = min(len(mine), len(right))
    if mine[:count] == right[:count]:  # the right seeds, but not one per draw
        return Cause(
            f"np.random.seed is called {len(mine)} times for {draws} draws: call it just before every draw, "
            "with step + seed."
        )
    if count >= 2 and None not in mine[:count]:
        offsets = {m - r for m, r in zip(mine[:count], right[:count], strict=True)}
        if len(offsets) == 1:
            (offset,) = offsets
            return Cause(
                f"every seed is {offset:+d} from the expected one: the k-th draw (k = 0, 1, …) is seeded with "
                "step + seed, where step starts at 0 and seed at the argument."
            )
        steps, right_steps = increments(mine[:count]), increments(right[:count])
        if len(steps) == 1 and len(right_steps) == 1 and steps != right_steps:
            return Cause(
                f"the seeds grow by {steps.pop()} from one draw to the next instead of {right_steps.pop()}: both step "
                "and seed grow by one after every draw, and the seed is their sum."
            )
    return "the seeds set before the draws are not step + seed (step and seed both grow by one after every draw)."


def increments(seeds: list) -> set[int]:
    return {later - earlier for earlier, later in zip(seeds[:-1], seeds[1:], strict=True)}


def follows_the_seeds(student: Observed, expected: Observed) -> Verdict:
    """One seed per draw of the student's own, each the expected one (compared as far as both go)."""
    for case_id in ALL:
        mine, right = student[case_id].draws.get("seeds", []), expected[case_id].draws.get("seeds", [])
        draws, count = len(student[case_id].draws.get("p", [])), min(len(mine), len(right))
        if not mine or mine[:count] != right[:count] or len(mine) != draws:
            return seeds_feedback(mine, right, draws)
    return None


def expected_characters(student: Observed, expected: Observed) -> Verdict:
    calls = ("visible", "seeds", "small-vocabulary")
    differing = [c for c in calls if not matches(student, expected, c)]
    if not differing:
        return None
    first = differing[0]
    position = first_difference(student[first].result, expected[first].result)
    feedback = (
        f"the drawn indices differ from the expected ones in {len(differing)} of 3 calls; in the first of them "
        f"from the {ordinal(position)} index on."
    )
    return partial(len(calls) - len(differing), len(calls), feedback)


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def carries_hidden_state(student: Observed, expected: Observed) -> Verdict:
    """Judged on the probabilities along the student's own draws, where the hidden state matters."""
    if draws_from_network(student["recurrence"], "recurrence") == 0 or matches(student, expected, "recurrence"):
        return None
    if draws_from_network(student["without-recurrence"], "without-recurrence") == 0:
        return Cause(
            "the probabilities are right when the previous hidden state has no influence (Waa = 0) and differ "
            "when it has: the hidden state is not carried from one character to the next as in equation (1)."
        )
    return "the probabilities differ for a network whose hidden state matters (and also when it does not)."


def independent_of_dictionary_order(student: Observed, expected: Observed) -> Verdict:
    """The same vocabulary inserted in another order must give what this sample gives for the first order."""
    small, shuffled = student["small-vocabulary"], student["small-vocabulary-shuffled"]
    if same(shuffled.result, small.result) and draws_from_network(small, "small-vocabulary") == 0:
        return None
    if same(shuffled.result, small.result):
        return "with a smaller vocabulary, the probabilities given to np.random.choice are not the network's."
    return (
        "the result depends on the order in which char_to_ix was built: the same vocabulary, inserted in "
        "another order, gives other indices."
    )


SPEC = FunctionSpec(
    exercise=EXERCISES["sample"],
    cases=cases,
    checks=(
        Check("returns indices that end with the newline", 3, ALL, ends_with_newline, stands_alone=False),
        Check(
            "stops after 50 characters and appends the newline",
            4,
            ("never-newline",),
            stops_at_fifty,
            stands_alone=False,  # [0] * 50 + [newline] does it
        ),
        Check("draws each index from the network's probabilities", 7, ALL, right_distribution),
        Check("seeds every draw with step + seed", 3, ALL, follows_the_seeds, stands_alone=False),
        Check(
            "draws the expected characters",
            8,
            ("visible", "seeds", "small-vocabulary"),
            expected_characters,
        ),
        Check("carries the hidden state", 3, ("recurrence", "without-recurrence"), carries_hidden_state),
        Check(
            "works for any order of char_to_ix",
            2,
            ("small-vocabulary", "small-vocabulary-shuffled"),
            independent_of_dictionary_order,
        ),
    ),
    timeout_hint="When the newline never comes, the while loop must still stop after 50 characters (step != 50).",
)
