"""What a sandboxed run is asked to do (``Task``) and what it reports back to the grader,
typed: defined here, once.

The run's processes speak in frames of ``inside/wire.py``; ``events.py`` decodes each, with
bounds, into one of these, and everything after it (grading, the judges in ``checks/``, the mistake
signatures in ``faults/``, the references) reads these fields and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def compact_draws(draws: dict) -> dict:
    """The draws as stored: the probabilities of every draw as one (draws, vocabulary) array when
    they have that shape, which the references' file keeps far smaller than a list of lists."""
    p = draws.get("p", [])
    if isinstance(p, list) and p and all(isinstance(row, list) and len(row) == len(p[0]) for row in p):
        p = np.array(p, dtype=float)
    return {"seeds": draws.get("seeds", []), "p": p}


@dataclass(frozen=True)
class Task:
    """One sandboxed run: a graded function, the student's cell that defines it, and its cases."""

    function: str  # the graded function's name
    student_source: str  # the student's cell, as submitted
    cases: list[dict]  # each {"id": …, "args": […], "kwargs": {…}, …}, run in order (checks/base.py)
    dependencies: dict[str, str] = field(default_factory=dict)  # reference functions it may call: name -> source
    own_dependencies: dict[str, str] = field(default_factory=dict)  # the student's own versions instead
    draws_random: tuple[str, ...] = ()  # those of ``dependencies`` that draw from numpy's global random state


@dataclass(frozen=True)
class StudentError:
    """An exception raised by the student's code (or a report the grader could not read),
    its texts already cut to size."""

    type: str  # the exception's class name, as the student's process gave it
    message: str = ""
    line: int | None = None  # line in the student's cell, when the traceback reached it
    code: str = ""  # that line's text

    @classmethod
    def unreadable(cls, what: str) -> StudentError:
        return cls("GradingProtocolError", f"{what} could not be read")


@dataclass(frozen=True)
class PhaseReport:
    """Before any case: whether the isolation held (``phase="isolate"``, ``held`` says what) and
    whether the student's cell ran and defined the function (``phase="define"``)."""

    phase: str
    ok: bool
    error: StudentError | None = None
    held: tuple = ()  # the protections in place, in words (isolate only)


@dataclass(frozen=True)
class Observation:
    """What one case (one call of the graded function) gave.

    ``calls``: what the graded function's calls to another function were given and gave, as the
    case asked to record them: ``{function: {"count": n, "calls": {call number: {...}}}}``."""

    case: str
    ok: bool  # False: it raised ``error``
    result: object = None
    args_after: list = field(default_factory=list)  # the arguments the case asked back, after the call
    error: StudentError | None = None
    stdout: str = ""  # what it printed, cut to the run's limit
    stdout_dropped: int = 0  # characters printed beyond it
    calls: dict = field(default_factory=dict)
    seconds: float = 0.0
    # The student's process's own account (tracer.py), read for feedback and partial credit only:
    # {"seeds": [the seeds set], "p": [the probabilities of each np.random.choice draw]} …
    draws: dict = field(default_factory=dict)
    # … and, for a case run to explain a failure, what each line changed ([line, name, summary]).
    trace: list = field(default_factory=list)

    def stored(self) -> dict:
        """The plain form kept in references/ (without the time it took, which varies)."""
        plain = {"case": self.case, "ok": self.ok}
        if self.ok:
            plain |= {"result": self.result, "args_after": self.args_after}
        else:
            plain["error"] = {"type": self.error.type, "message": self.error.message, "line": self.error.line,
                              "code": self.error.code}  # fmt: skip
        seen = {"stdout": self.stdout, "stdout_dropped": self.stdout_dropped, "calls": self.calls}
        return plain | seen | {"draws": compact_draws(self.draws)}

    @classmethod
    def from_stored(cls, plain: dict) -> Observation:
        error = plain.get("error")
        return cls(
            case=plain["case"],
            ok=plain["ok"],
            result=plain.get("result"),
            args_after=plain.get("args_after", []),
            error=StudentError(**error) if error else None,
            stdout=plain.get("stdout", ""),
            stdout_dropped=plain.get("stdout_dropped", 0),
            calls=plain.get("calls", {}),
            draws=plain.get("draws", {}),
        )


@dataclass
class Outcome:
    """What one sandboxed run reported."""

    messages: list = field(default_factory=list)  # PhaseReport and Observation, in order
    output: str = ""  # the process's own stdout/stderr, truncated
    output_dropped: int = 0
    exit_code: int | None = None
    timed_out: bool = False  # the run used its CPU time (or slept it away): the student's doing
    machine_busy: bool = False  # the wall clock's backstop ended a run still under its CPU limit
    memory_exceeded: bool = False  # the run's processes together passed the memory cap (no cgroups)
    seconds: float = 0.0  # wall clock
    cpu_seconds: float = 0.0  # CPU time of all the run's processes
    charged_seconds: float = 0.0  # what the limit is on: CPU time, and time neither computing nor waiting
    max_rss_mb: float = 0.0  # the peak resident memory of the run's process
    supervisor_exit_code: int | None = None  # the supervisor's own (0: it ended normally)
    supervisor_max_rss_mb: float = 0.0  # its peak resident memory, as it reported it
    bad_lines: int = 0
    protocol_error: str | None = None  # the student's side broke the protocol (only its run fails)

    def define_error(self) -> PhaseReport | None:
        """The PhaseReport of isolation or definition that failed, or None."""
        return next((m for m in self.messages if isinstance(m, PhaseReport) and not m.ok), None)

    def cases(self) -> dict[str, Observation]:
        """{case id: Observation} of every case that reported."""
        return {m.case: m for m in self.messages if isinstance(m, Observation)}

    def isolation(self) -> list[str] | None:
        """What held, as the student's process reported before any of its code ran (None: no report)."""
        return next((list(m.held) for m in self.messages if m.phase == "isolate"), None)
