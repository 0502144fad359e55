"""Hidden checks of ``sample(parameters, char_to_ix, seed)``."""

from .base import Case, Check, FunctionSpec, random_parameters, same, vocabulary

SMALL_SYMBOLS = "abdeilnorsu\n"  # 12 symbols, the newline last
SHUFFLED_ORDER = [7, 11, 2, 9, 0, 5, 10, 3, 8, 1, 6, 4]


def never_newline():
    parameters = random_parameters(31, 20, 27)
    parameters["by"][0] = -1000.0  # the newline (index 0) never gets any probability
    return parameters


def without_recurrence():
    parameters = random_parameters(51, 30, 27, scale=2.0)
    parameters["Waa"][:] = 0.0  # the previous hidden state has no influence
    return parameters


def cases():
    char_to_ix, _ = vocabulary()
    small, _ = vocabulary(SMALL_SYMBOLS)
    small_shuffled, _ = vocabulary(SMALL_SYMBOLS, SHUFFLED_ORDER)
    small_parameters = random_parameters(8, 30, 12)
    return [
        Case("visible", (random_parameters(24, 100, 27), char_to_ix, 0)),
        Case("seeds", (random_parameters(5, 40, 27), char_to_ix, 3)),
        Case("small-vocabulary", (small_parameters, small, 2)),
        Case("small-vocabulary-shuffled", (small_parameters, small_shuffled, 2)),
        Case("never-newline", (never_newline(), char_to_ix, 4)),
        Case("flat", (random_parameters(41, 10, 27, scale=1e-6), char_to_ix, 0)),
        Case("without-recurrence", (without_recurrence(), char_to_ix, 6)),
        Case("recurrence", (random_parameters(51, 30, 27, scale=2.0), char_to_ix, 6)),
    ]


INPUTS = {case.id: case for case in cases()}
ALL = tuple(INPUTS)


def matches(student, reference, case_id):
    return same(student[case_id]["result"], reference[case_id]["result"])


def always_the_same(student):
    """True when the near-uniform case drew one index over and over: the argmax, not a draw."""
    drawn = student["flat"]["result"]
    return isinstance(drawn, list) and len(drawn) > 2 and len(set(drawn[:-1])) == 1


def ends_with_newline(student, reference):
    for case_id in ALL:
        drawn, char_to_ix = student[case_id]["result"], INPUTS[case_id].args[1]
        if not isinstance(drawn, list) or not drawn:
            return "sample must return a non-empty list of indices."
        if not all(isinstance(ix, int) and 0 <= ix < len(char_to_ix) for ix in drawn):
            return "sample must return indices between 0 and vocab_size - 1 (integers)."
        if drawn[-1] != char_to_ix["\n"]:
            return "the list of indices must end with the index of the newline, char_to_ix['\\n']."
    return None


FIX_DRAW_FIRST = "these results depend on drawing with np.random.choice; fix the drawing first."


def stops_at_fifty(student, reference):
    if matches(student, reference, "never-newline"):
        return None
    if always_the_same(student):
        return FIX_DRAW_FIRST
    drawn = student["never-newline"]["result"]
    if len(drawn) == 50:
        return "after 50 characters, append the newline index: keep the lines after the while loop."
    if len(drawn) > 51:
        return "sampling must stop after 50 characters: keep step != 50 in the while condition."
    return "when the newline never comes, sample must return 50 drawn characters followed by the newline index."


def expected_characters(student, reference):
    if all(matches(student, reference, c) for c in ("visible", "seeds", "small-vocabulary")):
        return None
    if always_the_same(student):
        return (
            "sample always takes the most likely character: draw the index at random with "
            "np.random.choice(list(range(vocab_size)), p=y.ravel())."
        )
    return (
        "the sampled indices differ from the expected ones: check equations (1)-(3), that x is the one-hot "
        "vector of the index just drawn, and the np.random.choice call."
    )


def follows_the_seeds(student, reference):
    if matches(student, reference, "flat"):
        return None
    if always_the_same(student):
        return "sample takes the most likely character instead of drawing one: use np.random.choice with p=."
    return (
        "the draws do not follow the given seeds: call np.random.seed(step + seed) just before "
        "np.random.choice, and draw exactly once per character."
    )


def carries_hidden_state(student, reference):
    if matches(student, reference, "recurrence"):
        return None
    if always_the_same(student):
        return FIX_DRAW_FIRST
    if matches(student, reference, "without-recurrence"):
        return "the hidden state is not carried from one character to the next: set a_prev = a after each step."
    return "the sampled indices differ when the hidden state matters: use a_prev in equation (1), then a_prev = a."


def independent_of_dictionary_order(student, reference):
    if matches(student, reference, "small-vocabulary-shuffled"):
        return None
    if always_the_same(student):
        return FIX_DRAW_FIRST
    if matches(student, reference, "small-vocabulary"):
        return (
            "the result depends on the order in which char_to_ix was built: draw from "
            "list(range(vocab_size)), not from char_to_ix.values()."
        )
    return "sample must work for any vocabulary: take vocab_size from the parameters' shapes and use char_to_ix."


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
