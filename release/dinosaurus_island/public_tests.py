"""Visible tests for the four graded functions of Dinosaurus Island.

Each ``*_test`` function calls your code on fixed inputs, prints what it got (compare
it with the "Expected output" under the test cell) and stops at the first problem with
a message that says what to fix.  A failing test shows that message only, not a long
traceback through numpy.

These are the same checks ``check.py`` runs before you submit.  The grader runs more,
hidden ones on other inputs.
"""

import ast
import contextlib
import copy
import inspect
import io
import textwrap
import traceback

import numpy as np

from assignment import EXERCISES, VISIBLE_INPUTS

GREEN, RED, RESET = "\033[92m", "\033[91m", "\033[0m"
ALPHABET = "\nabcdefghijklmnopqrstuvwxyz"  # index 0 is the newline, then a..z

# While the grader runs a notebook it sets this to False: failures are printed, not raised.
RAISE_ON_FAILURE = True


class VisibleTestFailure(AssertionError):
    """A failed visible test, shown to the student as one readable message."""

    def _render_traceback_(self):  # IPython shows this instead of a traceback
        return [f"{RED}✗ {self}{RESET}"]


class NotImplementedYet(VisibleTestFailure):
    """The tested function still holds the scaffold's None placeholders: nothing else to blame."""


def expect(condition, message):
    """Fail the test with ``message`` unless ``condition`` holds."""
    if not condition:
        raise VisibleTestFailure(message)


def passed(name):
    print(f"{GREEN}✓ {name}: all visible tests passed.{RESET}")


QUIET_RUNS = {}  # {exercise: the undecorated test, called with the exercise's function alone}


def report(test, quiet_run=None):
    """Run ``test``; in grading mode print a failure instead of raising it.

    When the tested function calls other exercises (optimize calls clip), a failure is first
    checked against them: if the student's version of one of those fails its own test, the
    message says so and points there, instead of blaming the function under test."""
    name = test.__name__.removesuffix("_test")
    QUIET_RUNS[name] = quiet_run or test

    def run(target, *args, **kwargs):
        try:
            try:
                return test(target, *args, **kwargs)
            except NotImplementedYet:
                raise
            except VisibleTestFailure as failure:
                raise blame_what_it_calls(name, target) or failure from None
        except VisibleTestFailure as failure:
            if RAISE_ON_FAILURE:
                raise failure.with_traceback(None) from None
            print(f"✗ {failure}")

    run.__name__, run.__doc__ = test.__name__, test.__doc__
    return run


def blame_what_it_calls(name, target):
    """A failure that names the first exercise ``name`` calls whose version, as the notebook
    defines it now, fails its own visible test; None when they all pass."""
    namespace = getattr(target, "__globals__", {})
    for helper in EXERCISES[name].calls:
        function = namespace.get(helper)
        if not callable(function):
            continue
        problem = quietly(QUIET_RUNS[helper], function)
        if problem is not None:
            return VisibleTestFailure(
                f"{name} calls your {helper}, which fails its own test ({problem}) Fix {helper} first, then run "
                f"this test again: {name} itself may well be right."
            )
    return None


def quietly(test, function):
    """The failure message of ``test(function)``, run without printing; None if it passes."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            test(function)
    except VisibleTestFailure as failure:
        return str(failure)
    return None


# ----------------------------------------------------------------------------
# Calling student code
# ----------------------------------------------------------------------------


def find_placeholders(source):
    """Line numbers (1-based, in ``source``) of ``None`` placeholders left from the scaffold.

    A placeholder is ``None`` used where real code must go: the value of an assignment,
    an argument of a call, the iterable of a for loop, an index, an operand or a whole
    statement.  ``[None] + X`` is not a placeholder.
    """
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return []

    def is_none(node):
        return isinstance(node, ast.Constant) and node.value is None

    lines = set()
    for node in ast.walk(tree):
        candidates = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            candidates = [node.value]
        elif isinstance(node, ast.Call):
            candidates = list(node.args) + [keyword.value for keyword in node.keywords]
        elif isinstance(node, ast.For):
            candidates = [node.iter]
        elif isinstance(node, ast.Subscript):
            candidates = [node.slice]
        elif isinstance(node, ast.BinOp):
            candidates = [node.left, node.right]
        elif isinstance(node, ast.Expr):  # a bare `None` standing for a statement
            candidates = [node.value]
        lines.update(c.lineno for c in candidates if is_none(c))
    return sorted(lines)


def _function_source(function):
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""


def call_student(name, function, *args, **kwargs):
    """Call the student's ``function``; turn a crash into a message about their code."""
    try:
        return function(*args, **kwargs)
    except VisibleTestFailure:
        raise
    except Exception as error:
        if find_placeholders(_function_source(function)):
            raise NotImplementedYet(
                f"{name} is not implemented yet: replace every None placeholder between "
                "### START CODE HERE ### and ### END CODE HERE ###."
            ) from None
        raise VisibleTestFailure(f"{name} raised {type(error).__name__}: {error}{_where(function, error)}") from None


def _where(function, error):
    """' (line N of your cell: `code`)' for the innermost frame inside ``function``: N counted from
    the cell's first line, as Jupyter numbers a cell's lines and as the grader's feedback counts them."""
    code = getattr(function, "__code__", None)
    if code is None:
        return ""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename == code.co_filename and frame.lineno >= code.co_firstlineno
    ]
    if not frames:
        return ""
    frame = frames[-1]
    return f" (line {frame.lineno} of your cell: `{frame.line}`)"


# ----------------------------------------------------------------------------
# Inputs shared by the tests
# ----------------------------------------------------------------------------


def vocabulary():
    """The 27-symbol vocabulary of the data set: char_to_ix and ix_to_char."""
    char_to_ix = {ch: i for i, ch in enumerate(ALPHABET)}
    ix_to_char = {i: ch for i, ch in enumerate(ALPHABET)}
    return char_to_ix, ix_to_char


def random_parameters(n_a, n_x, n_y):
    """Parameters drawn in the order Wax, Waa, Wya, b, by from the current random state."""
    Wax, Waa, Wya = np.random.randn(n_a, n_x), np.random.randn(n_a, n_a), np.random.randn(n_y, n_a)
    b, by = np.random.randn(n_a, 1), np.random.randn(n_y, 1)
    return {"Wax": Wax, "Waa": Waa, "Wya": Wya, "b": b, "by": by}


def clip_inputs():
    """The gradients clip_test passes (assignment.VISIBLE_INPUTS["clip"])."""
    recipe = VISIBLE_INPUTS["clip"]
    np.random.seed(recipe["seed"])
    return {key: recipe["scale"] * np.random.randn(*shape) for key, shape in recipe["shapes"].items()}


def sample_inputs():
    """(parameters, first seed) that sample_test passes."""
    recipe = VISIBLE_INPUTS["sample"]
    np.random.seed(recipe["seed"])
    size = recipe["vocab_size"]
    return random_parameters(recipe["n_a"], size, size), recipe["first_seed"]


def optimize_inputs():
    """(X, Y, a_prev, parameters, learning_rate) that optimize_test passes."""
    recipe = VISIBLE_INPUTS["optimize"]
    np.random.seed(recipe["seed"])
    a_prev = np.random.randn(recipe["n_a"], 1)  # drawn first, then the parameters
    size = recipe["vocab_size"]
    parameters = random_parameters(recipe["n_a"], size, size)
    return list(recipe["X"]), list(recipe["Y"]), a_prev, parameters, recipe["learning_rate"]


# ----------------------------------------------------------------------------
# Exercise 1 - clip
# ----------------------------------------------------------------------------


def clip_test(target, mValue):
    """Are all gradients inside [-mValue, mValue], with the values inside left as they were?"""
    print(f"\nGradients for mValue={mValue}")
    gradients = clip_inputs()
    original = copy.deepcopy(gradients)
    clipped = call_student("clip", target, gradients, mValue)

    expect(isinstance(clipped, dict), "clip must return the dictionary of gradients.")
    missing = sorted(set(original) - set(clipped))
    expect(not missing, f"clip must return all five gradients; missing: {', '.join(missing)}.")
    print('gradients["dWaa"][1][2] =', clipped["dWaa"][1][2])
    print('gradients["dWax"][3][1] =', clipped["dWax"][3][1])
    print('gradients["dWya"][1][2] =', clipped["dWya"][1][2])
    print('gradients["db"][4] =', clipped["db"][4])
    print('gradients["dby"][1] =', clipped["dby"][1])

    for key, before in original.items():
        after = np.asarray(clipped[key])
        expect(after.shape == before.shape, f"{key} changed shape from {before.shape} to {after.shape}.")
    needed = [key for key, before in original.items() if np.abs(before).max() > mValue]  # all five, here
    untouched = [key for key in needed if np.array_equal(clipped[key], original[key])]
    expect(
        untouched != needed,
        "Every gradient came back exactly as it was, unclipped, as when np.clip's result is dropped: np.clip "
        "returns a clipped copy unless you pass out=, np.clip(gradient, -maxValue, maxValue, out=gradient).",
    )
    expect(not untouched, f"{', '.join(untouched)} came back unclipped while the others were clipped: clip all five.")
    for key, before in original.items():
        after = np.asarray(clipped[key])
        expect(after.max() <= mValue and after.min() >= -mValue, f"{key} has values outside [-{mValue}, {mValue}].")
        inside = np.abs(before) <= mValue
        expect(
            np.array_equal(after[inside], before[inside]),
            f"{key}: values already inside [-{mValue}, {mValue}] changed. Clip to exactly -maxValue and maxValue.",
        )
    passed("clip")


_clip_test_raising = clip_test


def _clip_test_every_bound(target):
    for bound in VISIBLE_INPUTS["clip"]["bounds"]:
        _clip_test_raising(target, bound)


clip_test = report(_clip_test_raising, quiet_run=_clip_test_every_bound)


# ----------------------------------------------------------------------------
# Exercise 2 - sample
# ----------------------------------------------------------------------------


@report
def sample_test(target):
    """Does sample draw the expected characters and stop at the newline?"""
    char_to_ix, ix_to_char = vocabulary()
    parameters, first_seed = sample_inputs()
    indices = call_student("sample", target, parameters, char_to_ix, first_seed)

    expect(isinstance(indices, list), "sample must return a list of indices.")
    expect(len(indices) > 0, "sample returned an empty list.")
    indices = [int(ix) for ix in indices]  # np.int64(3) prints as 3 here, as on every numpy
    characters = [ix_to_char.get(ix, "?") for ix in indices]
    print(f"Sampling:\nlist of sampled indices:\n {indices}\nlist of sampled characters:\n {characters}")
    expect(len(indices) <= 51, "A name has at most 50 sampled characters plus the final newline.")
    expect(indices[-1] == char_to_ix["\n"], "Every sample must end with the newline index.")
    expect(
        min(indices) >= 0 and max(indices) < len(char_to_ix),
        f"Sampled indices must lie between 0 and {len(char_to_ix) - 1}.",
    )
    expect(
        indices[:6] == [23, 16, 26, 26, 24, 3],
        "The first sampled characters differ from the expected ones. Check the three equations, "
        "that x is a one-hot vector of the sampled index, that a_prev carries the hidden state, "
        "and that you draw with np.random.choice(list(range(vocab_size)), p=y.ravel()).",
    )
    passed("sample")


# ----------------------------------------------------------------------------
# Exercise 3 - optimize
# ----------------------------------------------------------------------------


@report
def optimize_test(target):
    """Does one optimization step give the expected loss, clipped gradients and hidden state?"""
    inputs, labels, a_prev, parameters, learning_rate = optimize_inputs()
    n_a = a_prev.shape[0]
    before = copy.deepcopy(parameters)
    result = call_student("optimize", target, inputs, labels, a_prev, parameters, learning_rate=learning_rate)

    expect(
        isinstance(result, tuple) and len(result) == 3,
        "optimize must return three values: loss, gradients, a[len(X)-1].",
    )
    loss, gradients, a_last = result
    print("Loss =", loss)
    print('gradients["dWaa"][1][2] =', gradients["dWaa"][1][2])
    print('np.argmax(gradients["dWax"]) =', np.argmax(gradients["dWax"]))
    print('gradients["dWya"][1][2] =', gradients["dWya"][1][2])
    print('gradients["db"][4] =', gradients["db"][4])
    print('gradients["dby"][1] =', gradients["dby"][1])
    print("a_last[4] =", a_last[4])

    expect(np.isclose(loss, 126.5039757), "Unexpected loss: check the call of rnn_forward.")
    for key, gradient in gradients.items():
        expect(
            np.min(gradient) >= -5 and np.max(gradient) <= 5,
            f"{key} is not clipped to [-5, 5]: call clip(gradients, 5) after rnn_backward.",
        )
    expect(
        np.isclose(gradients["dWaa"][1, 2], 0.1947093) and np.isclose(gradients["dWya"][1, 2], -0.007773876),
        "Unexpected gradients: check the call of rnn_backward.",
    )
    expect(
        not np.allclose(parameters["Wya"], before["Wya"]),
        "The parameters were not updated: call update_parameters with the learning rate.",
    )
    expect(
        np.shape(a_last) == (n_a, 1) and np.allclose(a_last[4], -1.0),
        "optimize must return the last hidden state a[len(X)-1] of shape (n_a, 1).",
    )
    passed("optimize")


# ----------------------------------------------------------------------------
# Exercise 4 - model
# ----------------------------------------------------------------------------


@report
def model_test(target, data_x, ix_to_char, char_to_ix):
    """Does the 22,001-iteration training run end with the expected name?"""
    result = call_student("model", target, data_x, ix_to_char, char_to_ix, 22001, verbose=True)
    expect(
        isinstance(result, tuple) and len(result) == 2,
        "model must return two values: parameters, last_dino_name.",
    )
    _, last_name = result
    expect(
        last_name == "Trodonosaurus\n",
        f"The last sampled name is {last_name!r}, expected 'Trodonosaurus\\n'. Compare your "
        "printed output with the expected output below to find the first difference.",
    )
    passed("model")
