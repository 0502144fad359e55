"""Why a graded function failed, said in the student's terms.

The judges in checks/ say *what* is wrong with the results; the fault catalogue names a
mistake when the results are exactly a catalogued one's.  What is here generalises beyond
both, for mistakes nobody catalogued:

- ``unwritten``: the cell is still the release's, or the line that raised is one of the
  release's placeholders (``x = None``): the exercise is not done yet, and nothing else is said;
- ``shape_of_code``: control flow read from the student's own code, where the solution has
  none of it: a ``return`` inside a loop, a variable set again at every pass of a loop;
- ``departure``: the failing case run again, followed line by line (sandbox/inside/tracer.py),
  beside the same case run by the solution; the first variable whose value departs is named,
  with its line as the notebook counts it;
- ``meaning``: the common errors of numpy and Python in this assignment, in a sentence about
  this assignment.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import io
import re
import threading

import numpy as np

from ..checks.base import Case, Cause, FunctionSpec
from ..sandbox.inside import tracer
from ..sandbox.messages import StudentError
from ..solution import NOTEBOOK_IMPORTS

# ----------------------------------------------------------------------------
# An exercise not done yet
# ----------------------------------------------------------------------------

START, END = "### START CODE HERE ###", "### END CODE HERE ###"


def code_lines(source: str) -> list[str]:
    """The lines of code, stripped, without blank lines and comments."""
    stripped = (line.strip() for line in source.splitlines())
    return [line for line in stripped if line and not line.startswith("#")]


def placeholders(released: str) -> set[str]:
    """The released cell's lines between the START and END markers that hold a None to replace."""
    lines, inside = set(), False
    for line in released.splitlines():
        if START in line:
            inside = True
        elif END in line:
            inside = False
        elif inside and re.search(r"\bNone\b", line):
            lines.add(line.strip())
    return lines


def unwritten(name: str, source: str, released: str | None, error: StudentError | None = None) -> Cause | None:
    """The feedback for an exercise not done yet, or None: when the cell's code is the
    release's, or when ``error`` was raised on a line that is still a placeholder."""
    if released is None:
        return None
    if code_lines(source) == code_lines(released):
        return Cause(f"{name} is not implemented yet: write your code between {START} and {END}.")
    left = error is not None and error.code and placeholder_behind(source, released, error.code.strip())
    if left:
        number, text = left
        return Cause(
            f"{name} is not finished yet: line {number} of your cell is still the release's placeholder "
            f"({text}). Replace each None between {START} and {END} with your code."
        )
    return None


def placeholder_behind(source: str, released: str, failing_line: str) -> tuple[int, str] | None:
    """(line number, text) of a placeholder of the release left in ``source`` that the line that
    raised is, or assigns a name that line reads; None if there is none."""
    names_read = set(re.findall(r"[A-Za-z_]\w*", failing_line))
    left_as_released = placeholders(released)
    for number, line in enumerate(source.splitlines(), start=1):
        text = line.strip()
        if text not in left_as_released:
            continue
        assigned = re.match(r"([A-Za-z_]\w*)\s*=", text)
        if text == failing_line or (assigned and assigned.group(1) in names_read):
            return number, text
    return None


# ----------------------------------------------------------------------------
# Control flow, read from the code
# ----------------------------------------------------------------------------


def function_node(source: str, name: str) -> ast.FunctionDef | None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    return next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name), None)


def _own_nodes(node, loops=()):
    """(node, the loops around it) for every node of a function's body, not of functions inside it."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        yield child, loops
        inner = loops + (child,) if isinstance(child, (ast.For, ast.While)) else loops
        yield from _own_nodes(child, inner)


def returns_in_loops(function: ast.FunctionDef) -> list[tuple[ast.Return, ast.AST]]:
    return [(node, loops[-1]) for node, loops in _own_nodes(function) if isinstance(node, ast.Return) and loops]


def assignments(function: ast.FunctionDef) -> dict[str, list[tuple[int, bool, bool]]]:
    """{name: [(line, inside a loop, reads the name itself)]} of plain ``name = …`` statements."""
    found = {}
    for node, loops in _own_nodes(function):
        if not isinstance(node, ast.Assign):
            continue
        reads = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
        for target in node.targets:
            if isinstance(target, ast.Name):
                found.setdefault(target.id, []).append((node.lineno, bool(loops), target.id in reads))
    return found


def quoted(source: str, line: int) -> str:
    lines = source.splitlines()
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def shape_of_code(name: str, source: str, solution: str) -> str | None:
    """What the student's control flow does that the solution's never does, or None."""
    mine, right = function_node(source, name), function_node(solution, name)
    if mine is None or right is None:
        return None
    if returns_in_loops(mine) and not returns_in_loops(right):
        node, loop = returns_in_loops(mine)[0]
        return (
            f"{name} returns during the first pass of its loop: line {node.lineno} ({quoted(source, node.lineno)}) "
            f"is inside the loop of line {loop.lineno} ({quoted(source, loop.lineno)}). Move the return out of "
            "the loop (dedent it) so that the loop runs to its end first."
        )
    right_sets = assignments(right)
    for variable, places in sorted(assignments(mine).items(), key=lambda item: item[1][0][0]):
        theirs = right_sets.get(variable)
        if not theirs or any(in_loop for _, in_loop, _ in theirs):
            continue
        resets = [line for line, in_loop, itself in places if in_loop and not itself]
        if resets:
            return (
                f"line {resets[0]} ({quoted(source, resets[0])}) sets {variable} again at every pass of the loop, "
                f"so it starts over each time: set {variable} once, before the loop."
            )
    return None


# ----------------------------------------------------------------------------
# Where a value first departs from the solution's
# ----------------------------------------------------------------------------

_solution_lock = threading.Lock()  # the solution runs in this process, on numpy's global random state


def solution_notes(spec: FunctionSpec, case: Case, sources: dict[str, str]) -> list[list]:
    """The solution's notes (tracer.follow) on ``case``; ``sources``: {function: its compact
    solution source} for the graded function and those it calls."""
    namespace = {"__name__": "solution"}
    exec(NOTEBOOK_IMPORTS, namespace)
    for name in (*spec.dependencies, spec.name):
        exec(compile(sources[name], f"<solution {name}>", "exec"), namespace)
    args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
    with _solution_lock:
        state = np.random.get_state()
        try:
            np.random.seed(case.global_seed)
            with contextlib.redirect_stdout(io.StringIO()):  # what the solution prints is not the grader's
                _, _, notes = tracer.follow(namespace[spec.name], args, kwargs, np)
        finally:
            np.random.set_state(state)
    return notes


def _by_name(notes):
    """{variable: [summary of its 1st value, 2nd, …]}."""
    values = {}
    for note in notes:
        if note[0] != "end":
            values.setdefault(note[1], []).append(note[2])
    return values


def _described(summary):
    kind = summary.get("kind")
    if kind == "array":
        return f"an array of shape {tuple(summary['shape'])}"
    if kind in ("list", "tuple"):
        return f"a {kind} of {summary['length']} items"
    if kind == "dict":
        return "a dictionary"
    return f"a {kind}"


def _same_values(mine, right):
    if mine.get("kind") != right.get("kind"):
        return False
    if mine.get("kind") == "array":
        if mine["shape"] != right["shape"]:
            return False
        for key in ("values", "sums"):
            if key in mine or key in right:
                a, b = mine.get(key), right.get(key)
                if a is None or b is None or len(a) != len(b):
                    return False
                if not all(_close(x, y) for x, y in zip(a, b, strict=True)):
                    return False
        return True
    if mine.get("kind") == "dict":
        a, b = mine["entries"], right["entries"]
        return a.keys() == b.keys() and all(_same_values(a[k], b[k]) for k in a)
    if mine.get("kind") in ("float",):
        return _close(mine["value"], right["value"])
    return mine == right


def _close(x, y):
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        return bool(np.isclose(x, y, rtol=1e-7, atol=1e-10))
    return x == y


def _same_shape(mine, right):
    if mine.get("kind") != right.get("kind"):
        return False
    if mine.get("kind") == "array":
        return mine["shape"] == right["shape"]
    if mine.get("kind") in ("list", "tuple"):
        return mine["length"] == right["length"]
    return True


def _flat_values(summary):
    return summary.get("values") if summary.get("kind") == "array" else None


def departure(name: str, source: str, mine: list[list], right: list[list]) -> str | None:
    """The first note of the student's run whose value is not the solution's at the same point
    (the same variable, its same n-th value), in the order the student's lines ran, as a
    sentence; None when none departs.  When that value's shape is wrong because a variable its
    line reads already had a wrong shape (broadcasting hides it until then), that variable is
    named instead: the cause, not the symptom."""
    theirs = _by_name(right)
    seen, last_wrong_shape = {}, {}
    for note in mine:
        if note[0] == "end":
            break
        line, variable, summary = note
        count = seen[variable] = seen.get(variable, 0) + 1
        if variable not in theirs or count > len(theirs[variable]):
            continue
        expected = theirs[variable][count - 1]
        if _same_values(summary, expected):
            last_wrong_shape.pop(variable, None)
            continue
        if not _same_shape(summary, expected) and _flat_values(summary) == _flat_values(expected) is not None:
            last_wrong_shape[variable] = (line, summary, expected)  # same numbers, other shape: wait and see
            continue
        cause = _wrong_shape_read(source, line, last_wrong_shape)
        if cause is not None:
            cause_variable, (cause_line, cause_summary, cause_expected) = cause
            return (
                f"{cause_variable} is built at line {cause_line} ({quoted(source, cause_line)}) as "
                f"{_described(cause_summary)}; at that point it should be {_described(cause_expected)}. "
                f"So {variable}, at line {line}, comes out as {_described(summary)} instead of "
                f"{_described(expected)}."
            )
        if not _same_shape(summary, expected):
            return (
                f"{variable} is {_described(summary)} after line {line} ({quoted(source, line)}); at that point "
                f"it should be {_described(expected)}."
            )
        return (
            f"the first value that differs from a correct {name}'s on the same inputs is {variable}, computed at "
            f"line {line} ({quoted(source, line)}): it has the right kind and shape, other values."
        )
    return None


def _wrong_shape_read(source, line, wrong_shapes):
    """The variable of ``wrong_shapes`` (wrong shape, right numbers) that line ``line`` reads, if any."""
    text = quoted(source, line)
    for variable in wrong_shapes:
        if re.search(rf"\b{re.escape(variable)}\b", text):
            return variable, wrong_shapes[variable]
    return None


# ----------------------------------------------------------------------------
# Errors of numpy and Python, said for this assignment
# ----------------------------------------------------------------------------

MEANINGS = (
    ("ValueError", r"'a' and 'p' must have( the)? same size",
     "np.random.choice got a p whose length is not the number of choices: p must hold vocab_size "
     "probabilities, one per character (y, flattened). A p of another size usually comes from a vector built "
     "with the wrong shape a few lines earlier: x and a must be columns, (vocab_size, 1) and (n_a, 1)."),
    ("ValueError", r"probabilities do not sum to 1",
     "the p given to np.random.choice does not add up to 1: it must be the softmax y of equation (3), flattened."),
    ("ValueError", r"probabilities (are not non-negative|contain NaN)",
     "the p given to np.random.choice has negative values or NaN: it must be the softmax y of equation (3)."),
    ("ValueError", r"(object too deep|p must be 1-dimensional)",
     "np.random.choice needs p as a flat vector: give it y.ravel(), not the column y."),
    ("ValueError", r"(not aligned|matmul: Input operand|mismatch in its core dimension)",
     "a matrix product got arrays whose inner sizes differ: each weight multiplies its own vector (Wax with x, "
     "Waa with a_prev, Wya with a), and those vectors are columns of shape (size, 1)."),
    ("ValueError", r"could not be broadcast",
     "two arrays of shapes that do not fit together were added or multiplied element by element: check that "
     "every vector is a column (size, 1), as the biases b and by are."),
    ("TypeError", r"(return arrays must be of ArrayType|out must be a numpy array|'out' must be)",
     "np.clip's out= got something that is not an array, such as a key of the dictionary: give it the array "
     "itself, out=gradients[key]."),
    ("TypeError", r"NoneType",
     "a value used here is still None: a placeholder of the release (… = None) that is not replaced yet, or the "
     "result of a function that returns nothing (such as list.append or np.random.shuffle)."),
    ("TypeError", r"unexpected keyword argument '(\w+)'",
     "a function was called with a keyword argument it does not have ({0}): compare the call with the "
     "function's parameters in the notebook (clip's bound is called maxValue)."),
    ("TypeError", r"(missing \d+ required positional argument|takes \d+ positional arguments? but)",
     "a function was called with too few or too many arguments: compare the call with the function's "
     "parameters in the notebook."),
    ("TypeError", r"(only integer scalar arrays|only integers, slices|indices must be integers)",
     "something used as an index is not an integer: an index drawn by np.random.choice or read from "
     "char_to_ix is one; a character or an array is not."),
    ("TypeError", r'can only concatenate list \(not "(\w+)"\) to list',
     "a list and a single value ({0}) were joined with +, which only joins two lists: put the single value in a "
     "list first, as in X[1:] + [ix_newline]."),
    ("TypeError", r"cannot unpack non-iterable (\S+)",
     "this line unpacks into several names (a, b = …) a value that is one {0}: check what the function called on "
     "this line returns, and whether each argument given to it is the one it expects."),
    ("TypeError", r"unhashable type",
     "a list or an array was used as a dictionary key: look up one character (or one index) at a time."),
    ("IndexError", r"out of (bounds|range)",
     "an index goes past the end of a list or an array: with j % len(examples), the index of a name stays in "
     "range, and an index of a character is below vocab_size."),
    ("KeyError", r"",
     "a dictionary was asked for a key it does not have ({message}): the gradients are dWax, dWaa, dWya, db "
     "and dby, the parameters Wax, Waa, Wya, b and by, and char_to_ix knows single characters."),
    ("RuntimeError", r"more than (\d+) calls of (\w+) in this case",
     "{1} was called more than the {0} times a correct solution calls it on these inputs: a loop runs a fixed "
     "number of times where num_iterations (or dino_names) belongs, or {1} is called again inside a loop."),
    ("AttributeError", r"'dict' object has no attribute",
     "a dictionary's entries are read with brackets, gradients['dWax'], not with a dot."),
)  # fmt: skip


def meaning(error: StudentError) -> str | None:
    """A sentence about what ``error`` (a StudentError) means in this assignment, or None."""
    for kind, pattern, sentence in MEANINGS:
        if error.type != kind:
            continue
        match = re.search(pattern, error.message)
        if match:
            return sentence.format(*(g for g in match.groups() if g), message=error.message[:40])
    return None
