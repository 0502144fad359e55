"""What a sandboxed run reports back to the grader, typed: defined here, once.

The run's processes speak in frames of ``inside/wire.py``; ``host.py`` decodes each, with bounds,
into one of these, and everything after it (grading, the judges in ``checks/``, the mistake
signatures in ``faults/``, the references) reads these fields and nothing else.
"""

from dataclasses import dataclass, field

import numpy as np


def compact_draws(draws):
    """The draws as stored: the probabilities of every draw as one (draws, vocabulary) array when
    they have that shape, which the references' file keeps far smaller than a list of lists."""
    p = draws.get("p", [])
    if isinstance(p, list) and p and all(isinstance(row, list) and len(row) == len(p[0]) for row in p):
        p = np.array(p, dtype=float)
    return {"seeds": draws.get("seeds", []), "p": p}


@dataclass(frozen=True)
class StudentError:
    """An exception raised by the student's code (or a report the grader could not read),
    its texts already cut to size."""

    type: str  # the exception's class name, as the student's process gave it
    message: str = ""
    line: int | None = None  # line in the student's cell, when the traceback reached it
    code: str = ""  # that line's text

    @classmethod
    def unreadable(cls, what):
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

    def stored(self):
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
    def from_stored(cls, plain):
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
