"""Watching the graded function at work, for the feedback (never for the score).

``follow`` runs one call line by line (``sys.settrace``, on the graded function's own frame
only) and notes, after each line, the local variables that line changed, each summarised: its
kind, its shape, and its values when there are few.  The grader compares these notes with the
same notes of a correct solution on the same inputs (grade/departure.py) to name the first line
whose value departs.  It runs in the student's process for one failing case, and in the grader
for the instructor's solution; it imports nothing of the autograder.

``DrawWatch`` notes the seeds a call sets and the distribution each of its draws is made from
(numpy's global ``np.random.seed`` and ``np.random.choice``), so that the checks can pay for
each draw made from the right distribution even when the seeds differ.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType

CHANGES = 600  # changes noted at most, per call
LINES = 20_000  # lines followed at most, per call; then the call runs on untraced
VALUES = 64  # arrays and lists of at most this many numbers are noted in full
ENTRIES = 12  # entries of a dictionary noted
DRAWS = 64  # seeds and draws noted at most, per call
LARGEST = 2**53  # larger integers are noted as text


def summary(value: object, np: ModuleType) -> dict:
    """A small, comparable description of ``value``: {"kind": …, and shape, values or sums}."""
    if isinstance(value, np.ndarray):
        plain = {"kind": "array", "shape": list(value.shape), "dtype": value.dtype.kind}
        if value.dtype.kind in "fiub":
            numbers = value.astype(float).ravel()
            if numbers.size <= VALUES:
                plain["values"] = [_number(x) for x in numbers.tolist()]
            else:
                finite = np.where(np.isfinite(numbers), numbers, 0.0)
                plain["sums"] = [float(finite.sum()), float(np.abs(finite).sum())]
        return plain
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"kind": type(value).__name__, "value": _plain(value)}
    if isinstance(value, (list, tuple, range)):
        items = [_plain(item) for item in list(value[:VALUES]) if not isinstance(item, (list, dict, tuple))]
        return {"kind": type(value).__name__, "length": len(value), "values": items}
    if isinstance(value, dict):
        keys = list(value)[:ENTRIES]
        return {"kind": "dict", "entries": {str(key)[:20]: summary(value[key], np) for key in keys}}
    return {"kind": type(value).__name__}


def _plain(value):
    if isinstance(value, str):
        return value[:VALUES]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > LARGEST:
        return str(value)
    if isinstance(value, float):
        return _number(value)
    if value is None or isinstance(value, (bool, int)):
        return value
    return type(value).__name__


def _number(x):
    return x if x == x and abs(x) != float("inf") else str(x)  # NaN and infinities as text


def follow(
    function: Callable, args: list, kwargs: dict, np: ModuleType
) -> tuple[object, BaseException | None, list[list]]:
    """Call ``function(*args, **kwargs)`` and note what each of its lines changed.  Returns
    (result, raised exception or None, notes); notes are [line, variable, summary] in the order
    the lines ran, then ["end", line, "return" or "raise"]."""
    code = function.__code__
    notes, before, state = [], {}, {"line": None, "lines": 0, "frame": None}

    def note_changes(frame, line):
        for name, value in list(frame.f_locals.items()):
            described = summary(value, np)
            if before.get(name) != described:
                before[name] = described
                if len(notes) < CHANGES:
                    notes.append([line, name, described])

    def local(frame, event, arg):
        if frame is not state["frame"]:
            return None
        state["lines"] += 1
        if state["lines"] > LINES or len(notes) >= CHANGES:
            sys.settrace(None)
            frame.f_trace = None
            return None
        if event == "line":
            if state["line"] is not None:
                note_changes(frame, state["line"])
            state["line"] = frame.f_lineno
        elif event in ("return", "exception"):
            note_changes(frame, frame.f_lineno)
            state["end"] = [frame.f_lineno, "return" if event == "return" else "raise"]
        return local

    def calls(frame, event, arg):
        if event == "call" and frame.f_code is code and state["frame"] is None:
            state["frame"] = frame
            return local
        return None

    result, raised = None, None
    sys.settrace(calls)
    try:
        result = function(*args, **kwargs)
    except BaseException as error:  # noqa: B036 -- the caller reports it as it reports any case's
        raised = error
    finally:
        sys.settrace(None)
    if "end" in state:
        notes.append(["end", *state["end"]])
    return result, raised, notes


class DrawWatch:
    """While in use, ``np.random.seed`` and ``np.random.choice`` note their seeds and the
    probabilities each draw is made from (a p of at most 1,024 values), then do their work."""

    def __init__(self, np):
        self.np, self.seeds, self.draws = np, [], []
        self.original = (np.random.seed, np.random.choice)

    def __enter__(self):
        seed, choice = self.original
        np = self.np

        def noted_seed(*args, **kwargs):
            given = args[0] if args else kwargs.get("seed")
            if len(self.seeds) < DRAWS:
                self.seeds.append(int(given) if isinstance(given, (int, np.integer)) else None)
            return seed(*args, **kwargs)

        def noted_choice(a, size=None, replace=True, p=None):
            if len(self.draws) < DRAWS:
                self.draws.append(self.probabilities(p))
            return choice(a, size, replace, p)

        np.random.seed, np.random.choice = noted_seed, noted_choice
        return self

    def probabilities(self, p: object) -> list[float] | None:
        try:
            flat = self.np.asarray(p, dtype=float).ravel()
        except (TypeError, ValueError):  # numpy's own choice says what is wrong with it
            return None
        return [_number(x) for x in flat[:1024].tolist()]

    def __exit__(self, *exc):
        self.np.random.seed, self.np.random.choice = self.original

    def report(self) -> dict[str, list]:
        return {"seeds": self.seeds, "p": self.draws}
