"""Checks as data: a graded function has cases (inputs) and checks (what is judged, for
how many points, and what the student reads when it fails)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from assignment import Exercise

from ..sandbox.messages import Observation

ALPHABET = "\nabcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Case:
    """One call of the graded function.  Inputs only: expected outputs live in references/."""

    id: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    global_seed: int = 0  # np.random.seed before the call, so stray draws are reproducible
    return_args: tuple = ()  # positions of arguments to send back after the call (in-place effects)
    record: dict = field(default_factory=dict)  # {injected function: call numbers to note}
    # {injected function: the calls a correct solution makes of it on this case} (``rnn_calls``):
    # the supervisor refuses any other call of a reference function (sandbox/inside/refcall.py)
    calls_allowed: dict = field(default_factory=dict)
    # May be run once more, followed line by line, to explain a failure (grade/explain.py): not a long run.
    traced: bool = True

    def as_task(self) -> dict:
        return {
            "id": self.id,
            "args": list(self.args),
            "kwargs": dict(self.kwargs),
            "global_seed": self.global_seed,
            "return_args": list(self.return_args),
            "record": {name: list(calls) for name, calls in self.record.items()},
            "calls_allowed": self.calls_allowed,
        }


def rnn_calls(n_a: int, vocab_size: int, longest_name: int, **calls: int) -> dict[str, dict]:
    """``Case.calls_allowed`` for a case on an RNN of ``n_a`` hidden units over ``vocab_size``
    symbols, trained on names of at most ``longest_name`` characters: each function named in
    ``calls`` may be called that many times, with arrays of the RNN's shapes (its parameters,
    their gradients, a hidden state, a one-hot input), lists of at most ``longest_name + 1``
    indices of the vocabulary (X and Y), and dicts of at most ``vocab_size`` entries (char_to_ix)."""
    shapes = [[n_a, vocab_size], [n_a, n_a], [vocab_size, n_a], [n_a, 1], [vocab_size, 1]]
    rule = {"shapes": shapes, "indices": vocab_size, "length": longest_name + 1, "entries": max(vocab_size, 8),
            "text": 8}  # fmt: skip
    return {name: rule | {"calls": count} for name, count in calls.items()}


class Cause(str):
    """Feedback that names the mistake itself, recognised from the outputs (a constant where an
    argument belongs, a step left out): the grader adds no other explanation before it."""


@dataclass(frozen=True)
class Partial:
    """A judge's verdict on an answer that is right in part: the share of the check's points it
    earns (0 < share < 1) and what is still wrong."""

    share: float
    feedback: str


def partial(right: int, total: int, feedback: str) -> Verdict:
    """None when all ``total`` parts are right, else the share ``right / total`` with ``feedback``
    (a plain failure when no part is right)."""
    if right >= total:
        return None
    return Partial(right / total, feedback) if right > 0 else feedback


# A judge gets the student's observations and the expected ones (the references'), each
# {case id: Observation}, for the cases the check reads, and returns its verdict: None when the
# check passes, the feedback when not, or a Partial when part of it is right.
Observed = dict[str, Observation]
Verdict = str | Partial | None
Judge = Callable[[Observed, Observed], Verdict]


@dataclass(frozen=True)
class Check:
    name: str  # what is checked, in words a student understands
    points: float
    cases: tuple  # ids of the cases it reads
    judge: Judge
    # True when the judge reads only what was recorded before the student's code failed
    # (the calls it made), so it can still tell what was right about a run that crashed.
    tolerates_errors: bool = False
    # False for a check that some trivial answer passes (right shapes, a final newline, the
    # right learning rate on junk calls): its points count only when a check that stands
    # alone, one of the function's central result, passes too.
    stands_alone: bool = True


@dataclass(frozen=True)
class FunctionSpec:
    exercise: Exercise  # its name, points and the exercises it calls, from assignment.py
    cases: Callable[[], list]  # builds the cases (deterministic)
    checks: tuple
    floor_seconds: float = 20.0  # the least CPU time a run gets
    timeout_hint: str = ""  # the likeliest reason this function runs forever
    printed: Callable | None = None  # reads what the function prints, when that is graded

    @property
    def name(self) -> str:
        return self.exercise.name

    @property
    def points(self) -> float:
        return self.exercise.points

    @property
    def dependencies(self) -> tuple[str, ...]:
        """The reference functions the graded one calls (injected, never itself)."""
        return self.exercise.calls

    def cpu_seconds(self, reference_seconds: float, time_scale: float = 1.0) -> float:
        """The CPU time one run gets (sandbox/meter.py), from what the reference solution's run cost."""
        return max(self.floor_seconds, 4.0 * reference_seconds) * time_scale + 10.0

    def __post_init__(self):
        total = sum(check.points for check in self.checks)
        assert abs(total - self.points) < 1e-9, f"{self.name}: checks add up to {total}, not {self.points}"


# ----------------------------------------------------------------------------
# Helpers for building inputs and comparing outputs
# ----------------------------------------------------------------------------


def vocabulary(
    symbols: str = ALPHABET, insertion_order: Iterable[int] | None = None
) -> tuple[dict[str, int], dict[int, str]]:
    """char_to_ix, ix_to_char over ``symbols`` (index = position); optionally inserted in another order."""
    order = insertion_order or range(len(symbols))
    char_to_ix = {symbols[i]: i for i in order}
    ix_to_char = {i: symbols[i] for i in order}
    return char_to_ix, ix_to_char


def random_parameters(
    n_a: int, n_x: int, n_y: int, seed: int | None = None, scale: float = 1.0
) -> dict[str, np.ndarray]:
    """Wax, Waa, Wya, b, by with the shapes of utils' initialize_parameters(n_a, n_x, n_y), drawn in
    that order (as the visible tests draw theirs) after np.random.seed(seed), or from numpy's
    current state when no seed is given; times ``scale``."""
    if seed is not None:
        np.random.seed(seed)
    return {
        "Wax": np.random.randn(n_a, n_x) * scale,
        "Waa": np.random.randn(n_a, n_a) * scale,
        "Wya": np.random.randn(n_y, n_a) * scale,
        "b": np.random.randn(n_a, 1) * scale,
        "by": np.random.randn(n_y, 1) * scale,
    }


def same(a: object, b: object, rtol: float = 1e-9, atol: float = 1e-12) -> bool:
    """Deep equality of decoded values: arrays close in value and equal in shape."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype.kind not in "fiub" or b.dtype.kind not in "fiub":
            return False
        return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], rtol, atol) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y, rtol, atol) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        try:
            return bool(np.isclose(float(a), float(b), rtol=rtol, atol=atol))
        except (TypeError, ValueError):
            return False
    return type(a) is type(b) and a == b


def results(observed: Observed, *case_ids: str) -> list:
    return [observed[case_id].result for case_id in case_ids]
