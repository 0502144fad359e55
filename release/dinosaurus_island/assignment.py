"""The assignment's facts in one place: its graded exercises (name, marker, signature, points,
what each calls, whether it draws random numbers, how long check.py lets its test run), and the
one rule that finds their cells in a notebook.  check.py (on your machine) and the autograder
both read this file, so they always agree on which cell is graded.  Standard library only.
"""

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Exercise:
    name: str  # the function, and the nbgrader grade_id of its cell
    marker: str  # the cell's first line is "# <marker> (UNIQUE CELL IDENTIFIER, DO NOT EDIT)"
    signature: str  # as written in the release
    points: int  # of 100
    calls: tuple = ()  # the other exercises it calls, the most basic first (model -> optimize -> clip)
    draws_random: bool = False  # it draws from numpy's global random state (np.random.seed, choice)
    test_seconds: int = 60  # how long check.py lets its visible test run, on a student's machine


EXERCISES = {
    exercise.name: exercise
    for exercise in (
        Exercise("clip", "UNQ_C1", "gradients, maxValue", 20),
        Exercise("sample", "UNQ_C2", "parameters, char_to_ix, seed", 30, draws_random=True),
        Exercise("optimize", "UNQ_C3", "X, Y, a_prev, parameters, learning_rate=0.01", 20, calls=("clip",)),
        Exercise(
            "model",
            "UNQ_C4",
            "data_x, ix_to_char, char_to_ix, num_iterations=35000, n_a=50, dino_names=7, vocab_size=27, verbose=False",
            30,
            calls=("clip", "sample", "optimize"),
            test_seconds=600,  # 22,001 training steps
        ),
    )
}
# The visible tests' inputs, as recipes: public_tests.py draws them for the notebook, and the grader
# draws the same ones as some of its hidden cases.  Each draw starts from np.random.seed(seed).
VISIBLE_INPUTS = {
    # gradients: scale * randn(shape), in this order; the test runs with each bound
    "clip": {"seed": 3, "scale": 10, "bounds": (10, 5), "shapes": {
        "dWax": (5, 3), "dWaa": (5, 5), "dWya": (2, 5), "db": (5, 1), "dby": (2, 1)}},
    # parameters Wax, Waa, Wya, b, by drawn in that order; sample(parameters, char_to_ix, first_seed)
    "sample": {"seed": 24, "n_a": 100, "vocab_size": 27, "first_seed": 0},
    # a_prev drawn first, then the parameters as for sample; one step on the sequences X, Y
    "optimize": {"seed": 1, "n_a": 100, "vocab_size": 27, "X": [12, 3, 5, 11, 22, 3], "Y": [4, 14, 11, 22, 25, 26],
                 "learning_rate": 0.01},
}  # fmt: skip
BY_MARKER = {exercise.marker: exercise.name for exercise in EXERCISES.values()}
# Only spaces and tabs around the "#": a pattern whose \s could cross lines would take quadratic
# time on a cell of a million empty lines.
MARKER_LINE = re.compile(rf"^[ \t]*#[ \t]*({'|'.join(map(re.escape, BY_MARKER))})\b", re.M)
DEFINITION = {name: re.compile(rf"^def[ \t]+{name}[ \t]*\(", re.M) for name in EXERCISES}


@dataclass(frozen=True)
class Located:
    index: int  # the cell graded: the first that matches
    how: str  # "grade_id", "marker line" or "definition": how it was found
    matches: int  # how many cells match that way (more than 1: copies, and the first is graded)


def locate(code_cells):
    """The rule: each exercise's cell is the one with its nbgrader grade_id, else the one whose
    first comment is its marker, else the one that defines the function; the first of several.

    ``code_cells``: (index, source, grade_id or None) for each code cell.  Returns
    {name: Located} for the exercises found (those missing are not in it)."""
    found = {how: {} for how in ("grade_id", "marker line", "definition")}
    for index, source, grade_id in code_cells:
        if grade_id in EXERCISES:
            found["grade_id"].setdefault(grade_id, []).append(index)
        for marker in set(MARKER_LINE.findall(source)):
            found["marker line"].setdefault(BY_MARKER[marker], []).append(index)
        for name, definition in DEFINITION.items():
            if definition.search(source):
                found["definition"].setdefault(name, []).append(index)
    located = {}
    for name in EXERCISES:
        for how, matches in found.items():
            if name in matches:
                located[name] = Located(matches[name][0], how, len(matches[name]))
                break
    return located
