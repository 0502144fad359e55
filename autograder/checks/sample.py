"""Hidden checks of ``sample(parameters, char_to_ix, seed)``."""

from ..paths import load_assignment
from .base import Case, Check, FunctionSpec, random_parameters, same, vocabulary

VISIBLE = load_assignment().VISIBLE_INPUTS["sample"]  # the visible test's inputs, drawn as public_tests does
SMALL_SYMBOLS = "abdeilnorsu\n"  # 12 symbols, the newline last
SHUFFLED_ORDER = [7, 11, 2, 9, 0, 5, 10, 3, 8, 1, 6, 4]


def never_newline():
    parameters = random_parameters(20, 27, 27, seed=31)
    parameters["by"][0] = -1000.0  # the newline (index 0) never gets any probability
    return parameters


def without_recurrence():
    parameters = random_parameters(30, 27, 27, seed=51, scale=2.0)
    parameters["Waa"][:] = 0.0  # the previous hidden state has no influence
    return parameters


def cases():
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


def matches(student, expected, case_id):
    return same(student[case_id].result, expected[case_id].result)


def first_difference(drawn, right):
    """The 1-based position of the first index that differs (or where one list ends)."""
    for position, (mine, theirs) in enumerate(zip(drawn, right, strict=False), start=1):
        if mine != theirs:
            return position
    return min(len(drawn), len(right)) + 1


def ends_with_newline(student, expected):
    for case_id in ALL:
        drawn, char_to_ix = student[case_id].result, INPUTS[case_id].args[1]
        if not isinstance(drawn, list) or not drawn:
            return "sample must return a non-empty list of indices."
        if not all(isinstance(ix, int) and 0 <= ix < len(char_to_ix) for ix in drawn):
            return "sample must return indices between 0 and vocab_size - 1 (integers)."
        if drawn[-1] != char_to_ix["\n"]:
            return "the list of indices must end with the index of the newline, char_to_ix['\\n']."
    return None


def stops_at_fifty(student, expected):
    if matches(student, expected, "never-newline"):
        return None
    drawn, newline = student["never-newline"].result, INPUTS["never-newline"].args[1]["\n"]
    if len(drawn) != 51:
        return (
            f"when the newline is never drawn, sample returned {len(drawn)} indices; it must return 51: "
            "the 50 characters drawn, then the newline index."
        )
    if drawn[-1] != newline:
        return "when the newline is never drawn, the 51st index must be the newline index."
    return "when the newline is never drawn, sample returns 50 characters and the newline, but other characters."


def expected_characters(student, expected):
    differing = [c for c in ("visible", "seeds", "small-vocabulary") if not matches(student, expected, c)]
    if not differing:
        return None
    first = differing[0]
    position = first_difference(student[first].result, expected[first].result)
    return (
        f"the drawn indices differ from the expected ones in {len(differing)} of 3 calls; in the first of them "
        f"from the {ordinal(position)} index on."
    )


def ordinal(n):
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def follows_the_seeds(student, expected):
    if matches(student, expected, "flat"):
        return None
    drawn, right = student["flat"].result, expected["flat"].result
    position = first_difference(drawn, right)
    if position >= len(right):
        return (
            "when every character is (almost) equally likely, the right characters are drawn but the list ends "
            "differently."
        )
    return (
        f"when every character is (almost) equally likely, the drawn indices differ from the {ordinal(position)} on. "
        "With such probabilities, which index is drawn depends only on the seeds and on how the draw is made."
    )


def carries_hidden_state(student, expected):
    if matches(student, expected, "recurrence"):
        return None
    if matches(student, expected, "without-recurrence"):
        return (
            "the indices are right when the previous hidden state has no influence (Waa = 0) and differ when it "
            "has: the hidden state is not carried from one character to the next as in equation (1)."
        )
    return "the indices differ for a network whose hidden state matters (and also when it does not)."


def independent_of_dictionary_order(student, expected):
    if matches(student, expected, "small-vocabulary-shuffled"):
        return None
    if matches(student, expected, "small-vocabulary"):
        return (
            "the result depends on the order in which char_to_ix was built: the same vocabulary, inserted in "
            "another order, gives other indices."
        )
    return "with a smaller vocabulary, the drawn indices differ from the expected ones."


SPEC = FunctionSpec(
    name="sample",
    points=30,
    dependencies=(),
    cases=cases,
    checks=(
        Check("returns indices that end with the newline", 4, ALL, ends_with_newline, stands_alone=False),
        Check("stops after 50 characters and appends the newline", 5, ("never-newline", "flat"), stops_at_fifty),
        Check(
            "draws the expected characters",
            10,
            ("visible", "seeds", "small-vocabulary", "flat"),
            expected_characters,
        ),
        Check("draws at random with the given seeds", 3, ("flat",), follows_the_seeds),
        Check("carries the hidden state", 4, ("recurrence", "without-recurrence", "flat"), carries_hidden_state),
        Check(
            "works for any order of char_to_ix",
            4,
            ("small-vocabulary", "small-vocabulary-shuffled", "flat"),
            independent_of_dictionary_order,
        ),
    ),
    timeout_hint="When the newline never comes, the while loop must still stop after 50 characters (step != 50).",
)
