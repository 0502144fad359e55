"""Hidden checks of ``model(data_x, ix_to_char, char_to_ix, …)``; optimize and sample are the reference ones."""

from __future__ import annotations

import re

import numpy as np

from assignment import EXERCISES

from ..sandbox.messages import Observation
from ..solution import dinosaur_data
from .base import Case, Cause, Check, FunctionSpec, Observed, Verdict, rnn_calls, same, vocabulary

SMALL_SYMBOLS = "\nabdeilmnorstu"  # 14 symbols
SMALL_NAMES = 20
SMALL_ITERATIONS = 2 * SMALL_NAMES + 3  # wraps around the list twice
FULL_ITERATIONS = 22001
NEWLINE = SMALL_SYMBOLS.index("\n")  # the small case's newline index
ITERATION_LINE = re.compile(r"^Iteration: (\d+), Loss: (\S+)$")


def small_names() -> list[str]:
    """Twenty made-up names over 13 letters, from a fixed random state."""
    rng = np.random.RandomState(5)
    letters = SMALL_SYMBOLS[1:]
    return ["".join(rng.choice(list(letters), size=rng.randint(3, 10))) for _ in range(SMALL_NAMES)]


def cases() -> list[Case]:
    char_to_ix, ix_to_char = vocabulary(SMALL_SYMBOLS)
    names = small_names() + [""]  # like data.split("\n"): the file's last line is empty
    n_examples = len(names)
    small_calls = [0, 1, 2, n_examples - 1, n_examples, n_examples + 1]
    dinos, dino_ix_to_char, dino_char_to_ix = dinosaur_data()
    return [
        Case(
            "small",
            (names, ix_to_char, char_to_ix),
            {
                "num_iterations": SMALL_ITERATIONS,
                "n_a": 12,
                "dino_names": 3,
                "vocab_size": len(SMALL_SYMBOLS),
                "verbose": True,
            },
            record={"optimize": small_calls},
            global_seed=7,  # not 0, which model seeds itself: a shuffle before np.random.seed(0) shows
            calls_allowed=calls_allowed(names, SMALL_ITERATIONS, 12, len(SMALL_SYMBOLS), 3),
        ),
        Case(
            "full",
            (dinos, dino_ix_to_char, dino_char_to_ix),
            {"num_iterations": FULL_ITERATIONS, "verbose": True},
            record={"optimize": [0, 1, 2]},
            global_seed=7,
            calls_allowed=calls_allowed(dinos, FULL_ITERATIONS, *MODEL_DEFAULTS),
            traced=False,
        ),
    ]


DEFAULTS = dict(re.findall(r"(\w+)=(\w+)", EXERCISES["model"].signature))  # as the release writes them
MODEL_DEFAULTS = tuple(int(DEFAULTS[name]) for name in ("n_a", "vocab_size", "dino_names"))


def calls_allowed(names: list[str], iterations: int, n_a: int, vocab_size: int, dino_names: int) -> dict[str, dict]:
    """The calls a correct model makes: optimize once per step, sample dino_names times every
    2,000 steps; clip at most once per step (for a model that clips itself)."""
    samples = dino_names * ((iterations - 1) // 2000 + 1)
    longest = max(len(name.strip()) for name in names)
    return rnn_calls(n_a, vocab_size, longest, optimize=iterations, sample=samples, clip=iterations)


def unpack(observed: Observation) -> tuple | None:
    result = observed.result
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], dict):
        return result
    return None


def recorded(observed: Observation) -> dict:
    return observed.calls.get("optimize", {}).get("calls", {})


def builds_x(student: Observed, expected: Observed) -> Verdict:
    mine, right = recorded(student["small"]).get(0), recorded(expected["small"])[0]
    if mine is None:
        return "model must call optimize once per step."
    if mine["X"] == right["X"]:
        return None
    if mine["X"] == right["X"][1:]:
        return "the first X given to optimize lacks the leading None (the zero input that begins every name)."
    if mine["X"][1:] == right["X"][1:]:
        return "the first X given to optimize has the right indices but does not start with None."
    return "the first X given to optimize is not [None] followed by the indices of a name's characters, in order."


def builds_y(student: Observed, expected: Observed) -> Verdict:
    mine, right = recorded(student["small"]).get(0), recorded(expected["small"])[0]
    if mine is None:
        return "model must call optimize once per step."
    if mine["Y"] == right["Y"]:
        return None
    if isinstance(mine["X"], list) and mine["Y"] == mine["X"][1:] + [NEWLINE]:
        return None  # right for this model's own X: a wrong X costs X's check, not this one too
    if mine["Y"] == right["Y"][:-1]:
        return "the first Y given to optimize lacks the final newline index."
    if mine["Y"] == mine["X"]:
        return "the first Y given to optimize is X itself, not X shifted by one."
    return "the first Y given to optimize is not X without its first element, followed by the newline index."


def name_of(X: object) -> object:
    """The indices of the name an X carries, whatever stands for the first input (None, the
    newline index, or nothing: no name holds a newline): which name a step trains on is judged
    apart from how X is built, so one mistake in X is not paid for twice."""
    if not isinstance(X, list):
        return X
    name = [ix for ix in X if ix is not None]
    return name[1:] if name[:1] == [NEWLINE] else name


def cycles_through_names(student: Observed, expected: Observed) -> Verdict:
    mine, right = recorded(student["small"]), recorded(expected["small"])
    names = SMALL_NAMES + 1  # with the empty last line
    wrong = [i for i in right if name_of(mine.get(i, {}).get("X")) != name_of(right[i]["X"])]
    if not wrong:
        return None
    if min(wrong) >= names - 1:
        return (
            "optimize gets the expected names until the end of the list and other ones from there: after the "
            "last name, training must start again from the first."
        )
    return "optimize gets other names (X) than expected from the first steps on."


def learning_rate(student: Observed, expected: Observed) -> Verdict:
    if not recorded(student["small"]):
        return "model must call optimize once per step."
    for call in list(recorded(student["small"]).values()) + list(recorded(student["full"]).values()):
        if call["learning_rate"] != 0.01:
            return Cause(f"optimize was called with learning rate {call['learning_rate']}: use 0.01.")
    return None


def carries_hidden_state(student: Observed, expected: Observed) -> Verdict:
    mine = recorded(student["small"])
    if any(mine.get(i, {}).get("a_prev_is_zero", True) for i in (1, 2)):
        return "the a_prev given to optimize is zeros at steps after the first."
    return None


def steps_taken(observed: Observation) -> int | None:
    return observed.calls.get("optimize", {}).get("count")


def fixed_step_count(student: Observed, expected: Observed, case_id: str) -> Cause | None:
    """A Cause when model trained another number of steps than num_iterations on ``case_id``,
    read from the calls it made (any number, not only the usual ones); else None."""
    mine, right = steps_taken(student[case_id]), steps_taken(expected[case_id])
    if mine is None or right is None or mine == right:
        return None
    return Cause(
        f"model trained {mine:,} steps (calls of optimize) where num_iterations asked for {right:,}: loop "
        "for j in range(num_iterations), not over a fixed number of steps."
    )


def trains_on_any_data(student: Observed, expected: Observed) -> Verdict:
    mine, right = unpack(student["small"]), unpack(expected["small"])
    if mine is None:
        return "model must return two values: parameters, last_dino_name."
    steps = fixed_step_count(student, expected, "small")
    if steps and not same(mine, right):
        return steps
    if same(mine, right):
        return None
    which = [what for what, a, b in zip(("parameters", "last name"), mine, right, strict=True) if not same(a, b)]
    return f"trained on another list of names with a smaller vocabulary, model returns other {' and '.join(which)}."


def full_run(student: Observed, expected: Observed) -> Verdict:
    mine, right = unpack(student["full"]), unpack(expected["full"])
    if mine is None:
        return "model must return two values: parameters, last_dino_name."
    steps = fixed_step_count(student, expected, "full")
    if steps and not same(mine, right):
        return steps
    if mine[1] != right[1]:
        return f"the 22,001-step run ends with {mine[1]!r}, not {right[1]!r}."
    if not same(mine[0], right[0]):
        return "the 22,001-step run ends with the right name, but the returned parameters are not the trained ones."
    return None


def printed_progress(text: str) -> list[tuple[int, str, list[str]]]:
    """[(iteration, loss, [names…])] from what model printed."""
    lines = text.splitlines()
    blocks = []
    for index, line in enumerate(lines):
        match = ITERATION_LINE.match(line)
        if match:
            names = [name for name in lines[index + 1 : index + 12] if name.strip()][:7]
            blocks.append((int(match.group(1)), match.group(2), names))
    return blocks


def progress_matches(student: Observed, expected: Observed) -> Verdict:
    mine, right = printed_progress(student["full"].stdout), printed_progress(expected["full"].stdout)
    if mine == right:
        return None
    for got, want in zip(mine, right, strict=False):
        if got != want:
            return (
                f"the printed progress first differs at iteration {want[0]}: compare your output with the "
                "notebook's expected output from that point."
            )
    return "the training run must print its progress every 2,000 steps, as the notebook's expected output shows."


SPEC = FunctionSpec(
    exercise=EXERCISES["model"],
    cases=cases,
    checks=(
        Check("builds X: None, then the name's indices", 4, ("small",), builds_x, tolerates_errors=True),
        Check(
            "builds Y: X shifted by one, ending with the newline",
            4,
            ("small",),
            builds_y,
            tolerates_errors=True,
            stands_alone=False,  # judged against the model's own X, which junk calls make right too
        ),
        Check("cycles through the names with j % len(examples)", 3, ("small",), cycles_through_names),
        Check(
            "trains with learning rate 0.01",
            3,
            ("small", "full"),
            learning_rate,
            tolerates_errors=True,
            stands_alone=False,
        ),
        Check(
            "carries the hidden state from name to name",
            3,
            ("small",),
            carries_hidden_state,
            stands_alone=False,  # junk calls of optimize that pass their a_prev along pass it
        ),
        Check("trains on another data set and vocabulary", 4, ("small",), trains_on_any_data),
        Check("the 22,001-step run ends with the expected name and weights", 4, ("full",), full_run),
        Check("prints the expected names and losses every 2,000 steps", 5, ("full",), progress_matches),
    ),
    floor_seconds=60.0,
    printed=printed_progress,
)
