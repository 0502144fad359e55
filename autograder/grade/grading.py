"""Grade one submission: each graded function in its own sandbox, judged in this process.

Fairness: when a function is graded, the other graded functions it calls are the
reference ones (from the instructor notebook), so a broken ``clip`` costs ``clip``'s points
only.  The student's process gets those references, never the reference of the function
being graded, and never an expected output: comparisons happen here.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Collection
from pathlib import Path

from assignment import EXERCISES

from .. import faults
from ..checks import SPECS
from ..checks.base import Case, Cause, FunctionSpec, same
from ..sandbox.limits import Limits, default_limits
from ..sandbox.messages import StudentError, Task
from ..sandbox.run import run_task
from ..solution import compact, graded_cell_sources
from . import explain
from .expected import load_expected
from .report import FunctionResult, SubmissionResult
from .rubric import all_failed, pay_only_for_work, verdict
from .submission import read_submission, released_cells, shown

log = logging.getLogger(__name__)

HINTS = {
    "NameError": (
        "A name the function uses is not defined when it runs on its own: a misspelt name, or a variable of "
        "the notebook (a graded function can use only its arguments, its own variables and the helpers from "
        "utils: the notebook's other variables do not exist when it is graded)."
    ),
    "SystemExit": "Graded code must not call sys.exit or exit().",
    "KeyboardInterrupt": "Graded code must not raise KeyboardInterrupt.",
    "MemoryError": "The grader allows {memory} GB of memory.",
    "RecursionError": "A function calls itself without end.",
}


def own_versions(spec: FunctionSpec, cells: dict[str, str], graded: dict[str, FunctionResult]) -> dict[str, str] | None:
    """The student's cells for the functions ``spec`` calls, if every one of them was graded
    in this submission with full marks; else None."""
    if not spec.dependencies:
        return None
    for name in spec.dependencies:
        if name not in graded or graded[name].score != graded[name].max_score or name not in cells:
            return None
    return {name: cells[name] for name in spec.dependencies}


class SandboxUnavailable(RuntimeError):
    """The sandbox could not be set up: a fault of the grading machine, never the student's."""


class MachineBusy(SandboxUnavailable):
    """Other programs held the CPUs so long that a run still under its CPU limit was given up:
    the submission is not graded (regrade it), never scored as a timeout."""


STUDENT_TEXT = 160  # characters of the student's own exception message shown back to them
ERROR_TYPE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,79}")


def students_words(text: str, limit: int = STUDENT_TEXT) -> str:
    """Text the student's code produced, on one line, control characters as backslash codes (as
    submission.shown writes names), cut to ``limit``, in quotes: shown as theirs, never mixed
    into the grader's own sentences."""
    flat = shown(" ".join(str(text).split()))
    return '"' + (flat[:limit] + "…" if len(flat) > limit else flat) + '"'


def error_feedback(name: str, error: StudentError, limits: Limits) -> str:
    """What a student reads when their code raised ``error`` (a StudentError the sandbox has
    already cut to size): the exception's type and line, then its message, marked as their code's words."""
    kind = error.type if ERROR_TYPE.fullmatch(error.type) else "an exception"
    text = f"{name} raised {kind}"
    if error.line:
        text += f" at line {error.line} of your cell" + (f" ({students_words(error.code, 120)})" if error.code else "")
    if error.message:
        text += f"; its message, as your code's process gave it: {students_words(error.message)}"
    hint = HINTS.get(kind)
    if hint:
        text += ". " + hint.format(memory=limits.memory_bytes / 1024**3)
    said = explain.meaning(error)
    return f"{said} (Seen as: {text}.)" if said else text


def build_task(spec: FunctionSpec, source: str, references: dict[str, str], cases: list[Case],
               own: dict[str, str] | None = None) -> Task:  # fmt: skip
    """What one run of ``spec``'s function gets: the graded cell (``source``), its ``cases``, and
    either the reference versions of the functions it calls (``references``, served from
    outside the student's process) or, ``own``, the student's."""
    served = () if own else spec.dependencies  # the references the run may call
    return Task(
        function=spec.name,
        student_source=source,
        dependencies={dep: references[dep] for dep in served},
        own_dependencies=own or {},
        draws_random=tuple(dep for dep in served if EXERCISES[dep].draws_random),
        cases=[case.as_task() for case in cases],
    )


class Grader:
    """Grades submissions against the stored references.  One instance serves a whole batch."""

    def __init__(self, time_scale=1.0, limits=None):
        sources = graded_cell_sources()
        self.dependencies = {name: compact(source) for name, source in sources.items()}
        self.expected = load_expected()  # raises StaleReferences when they do not match the cases
        self.cases = {name: spec.cases() for name, spec in SPECS.items()}
        self.mistakes = faults.catalogue()
        self.released = released_cells()  # what students start from: an exercise left as it is is not done yet
        self.time_scale, self.limits = time_scale, limits or default_limits()

    def cpu_seconds(self, spec: FunctionSpec) -> float:
        return spec.cpu_seconds(self.expected.seconds.get(spec.name, 0.0), self.time_scale)

    def task(self, spec: FunctionSpec, source: str, own: dict[str, str] | None = None) -> Task:
        return build_task(spec, source, self.dependencies, self.cases[spec.name], own)

    def grade_function(
        self, spec: FunctionSpec, source: str | None, why_missing: str | None = None, own: dict[str, str] | None = None
    ) -> FunctionResult:
        """The function's checks.  ``own``: the student's versions of the functions it calls,
        given only when each of them passed every one of its checks.  They are tried first,
        in the student's process, with no call crossing to the references (22,001 remote
        calls of optimize cost ~2 canonical runs); the calls the checks read are then noted by
        the student's process, so this grade is kept only if it is full marks, which needs
        every result right, the 22,001-step training's weights included.  Anything less is
        graded again, the usual way, with the references: that grade stands."""
        if own and source is not None:
            first = self._grade_once(spec, source, why_missing, own)
            if first.score == spec.points:
                log.info("%s: full marks with the student's own helpers (%.1f s)", spec.name, first.seconds)
                return first
            log.info("%s: %g with the student's own helpers; graded again with the references", spec.name,
                     first.score)  # fmt: skip
        return self._grade_once(spec, source, why_missing)

    def _grade_once(self, spec, source, why_missing=None, own=None):
        start = time.perf_counter()
        if source is None:
            return self._all_failed(spec, why_missing or f"no graded cell for {spec.name} was found", start)
        not_done = explain.unwritten(spec.name, source, self.released.get(spec.name))
        if not_done:
            return self._all_failed(spec, not_done, start)
        limits = Limits(**{**self.limits.__dict__, "cpu_seconds": self.cpu_seconds(spec)})
        outcome = run_task(self.task(spec, source, own), limits)
        if outcome.machine_busy:
            raise MachineBusy(
                f"the machine was too busy to grade {spec.name}: in {outcome.seconds:.0f} s its run got "
                f"{outcome.cpu_seconds:.1f} s of CPU time, under its limit of {limits.cpu_seconds:.0f} s; regrade it "
                "when the machine is less loaded"
            )
        stopped = outcome.timed_out or outcome.memory_exceeded
        if outcome.isolation() is None and not stopped and outcome.define_error() is None:
            detail = outcome.output[-300:] or "no output"
            raise SandboxUnavailable(f"the sandbox never started (exit code {outcome.exit_code}): {detail}")
        problem = outcome.define_error()
        if problem is not None:
            error = problem.error
            if problem.phase == "isolate":
                raise SandboxUnavailable(f"the sandbox could not be set up: {error.message}")
            if error.type == "Missing":
                feedback = f"the graded cell does not define a function named {spec.name}"
            else:
                feedback = "your cell could not be run: " + error_feedback(spec.name, error, limits)
            return self._all_failed(spec, feedback, start)

        observed = outcome.cases()
        checks, errors_shown, named = [], set(), []  # named: the judge's feedback names the mistake (Cause)
        for check in spec.checks:
            missing = [case_id for case_id in check.cases if case_id not in observed]
            failed = [observed[c] for c in check.cases if c in observed and not observed[c].ok]
            recorded_anything = any(r.get("calls") for o in failed for r in o.calls.values())
            if failed and not (check.tolerates_errors and recorded_anything):
                error = failed[0].error
                feedback = explain.unwritten(spec.name, source, self.released.get(spec.name), error)
                feedback = feedback or error_feedback(spec.name, error, limits)
                if feedback in errors_shown:  # one cause, read once
                    feedback = f"{spec.name} raised the same error as above on these cases too."
                else:
                    errors_shown.add(feedback)
            elif missing:
                feedback = self._why_missing(spec, outcome, limits)
            else:
                student = {c: observed[c] for c in check.cases}
                expected = {c: self.expected.cases[spec.name][c] for c in check.cases}
                try:
                    feedback = check.judge(student, expected)
                except Exception:  # whatever the student returned, it costs this check only
                    feedback = f"{spec.name} returned values of an unexpected kind, size or shape."
            checks.append(verdict(check, feedback))
            named.append(isinstance(getattr(feedback, "feedback", feedback), Cause))
        pay_only_for_work(spec, checks)
        cause = self._name_the_mistake(spec, observed, checks)
        first = next((i for i, c in enumerate(checks) if not c.passed and not c.withheld), None)
        # A grade with the student's own helpers is kept only at full marks: explaining it is wasted.
        if cause is None and first is not None and not named[first] and not own:
            self._explain(spec, source, observed, checks[first], limits)
        called = ("own" if own else "reference") if spec.dependencies else None
        seconds = time.perf_counter() - start
        score = float(sum(c.points for c in checks))
        return FunctionResult(spec.name, score, float(spec.points), checks, seconds, called, cause)

    def _name_the_mistake(self, spec, observed, checks):
        """When checks failed and the run is exactly what one catalogued mistake does, the first
        failed check's feedback names that mistake (the others keep saying what differs)."""
        failed = [check for check in checks if not check.passed and not check.withheld]
        if not failed:
            return None
        student = faults.signature([case.id for case in self.cases[spec.name]], observed, spec.printed)
        cause = faults.diagnose(student, self.mistakes[spec.name], self.expected.signatures[spec.name])
        if cause is not None:
            failed[0].feedback = cause
        return cause

    def _explain(self, spec, source, observed, first_failed, limits):
        """Before the first failed check's feedback, say what caused it when the code shows it
        (explain.shape_of_code) or a run followed line by line does (explain.departure)."""
        cause = explain.shape_of_code(spec.name, source, self.dependencies[spec.name])
        cause = cause or self._departure(spec, source, observed, limits)
        if cause:
            first_failed.feedback = f"{cause} {first_failed.feedback}"

    def _departure(self, spec, source, observed, limits):
        """The first case that raised or gave another result, run again followed line by line in
        the sandbox, compared with the solution's run of it (explain.departure); None if no case can say."""
        case = next((c for c in self.cases[spec.name] if c.traced and self._differs(spec, observed.get(c.id))), None)
        if case is None:
            return None
        task = dataclasses.replace(self.task(spec, source), cases=[case.as_task() | {"trace": True}])
        traced = run_task(task, limits).cases().get(case.id)
        if traced is None or not traced.trace:
            return None
        right = explain.solution_notes(spec, case, self.dependencies)
        return explain.departure(spec.name, source, traced.trace, right)

    def _differs(self, spec, observation):
        if observation is None:
            return False
        if not observation.ok:
            return True
        expected = self.expected.cases[spec.name][observation.case]
        return not (same(observation.result, expected.result) and same(observation.args_after, expected.args_after))

    def _why_missing(self, spec, outcome, limits):
        if outcome.timed_out:
            return (
                f"{spec.name} did not finish within {limits.cpu_seconds:.0f} s of computing time (time spent "
                "waiting for other programs does not count; time spent sleeping does): look for a loop that never "
                "ends, or far more work than the exercise asks for. " + spec.timeout_hint
            ).strip()
        if outcome.memory_exceeded:
            return (
                f"the processes running {spec.name} used more than {limits.memory_bytes / 1024**3:.2g} GB of memory "
                "together, the most a run may use, and were stopped: look for arrays far larger than the "
                "exercise needs, or a list that grows without end."
            )
        if outcome.protocol_error:
            return (
                f"the process running {spec.name} sent the grader something it does not accept "
                f"({students_words(outcome.protocol_error)}), and its run was ended."
            )
        if outcome.exit_code and outcome.exit_code < 0:
            return (
                f"the process running {spec.name} was killed (signal {-outcome.exit_code}), most likely for "
                "using too much CPU time or memory."
            )
        return (
            f"the process running {spec.name} stopped before finishing (exit code {outcome.exit_code}): "
            "graded code must not call sys.exit, os._exit or similar."
        )

    def _all_failed(self, spec, feedback, start):
        return all_failed(spec, feedback, time.perf_counter() - start)

    def grade(
        self,
        path: Path | str,
        student: str | None = None,
        *,
        only: Collection[str] | None = None,
        data: bytes | None = None,
        unreadable: str | None = None,
    ) -> SubmissionResult:
        """Grade the notebook at ``path`` (``data``: its bytes, when already read; ``unreadable``:
        why a read already failed); never raises for anything inside the notebook."""
        submission = read_submission(path, student, data, unreadable)
        functions = {}
        for name, spec in SPECS.items():
            if only and name not in only:
                continue
            why = next((e for e in submission.errors if name in e or not submission.cells), None)
            own = own_versions(spec, submission.cells, functions)
            functions[name] = self.grade_function(spec, submission.cells.get(name), why, own)
        return SubmissionResult(shown(path), submission.student, functions, list(submission.errors))


def grade_notebook(path: Path | str, *, student: str | None = None, only: list[str] | None = None) -> SubmissionResult:
    """Grade the one notebook at ``path`` (``only``: these functions) with a fresh Grader; never
    raises for anything inside the notebook.  A class is graded with ``batch.grade_batch``."""
    return Grader().grade(path, student, only=only)
