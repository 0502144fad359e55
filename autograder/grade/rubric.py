"""The rubric's arithmetic: what each check of a function pays.

A judge answers None (right), a ``Partial`` (right in part: a share of the points) or the
feedback of a failure; ``verdict`` turns that into a ``CheckResult``.  Then checks that a
trivial answer passes (``Check.stands_alone`` False) are paid only in proportion to what the
function's central checks earned (``pay_only_for_work``), so an answer that does none of the
work scores 0 and a near miss keeps a fair part.  The README's "Scoring pays for work" table
lists each check's points and how it is paid.
"""

from __future__ import annotations

from ..checks.base import Check, FunctionSpec, Partial, Verdict
from .report import CheckResult, FunctionResult


def pay_only_for_work(spec: FunctionSpec, results: list[CheckResult]) -> None:
    """Checks that do not stand alone (a trivial answer passes them) pay in proportion to what the
    central checks earned: fully when those earned all their points, nothing when they earned
    none.  One that is right but paid less is not shown as passed: its feedback says why."""
    central = [(result, check) for result, check in zip(results, spec.checks, strict=True) if check.stands_alone]
    share = sum(result.points for result, _ in central) / sum(check.points for _, check in central)
    if share >= 1:
        return
    names = "; ".join(check.name for _, check in central)
    for result, check in zip(results, spec.checks, strict=True):
        if result.points <= 0 or check.stands_alone:
            continue
        right = "right" if result.passed else "right in part"
        result.passed, result.withheld = False, True
        result.points = round(result.points * share, 2)
        if share == 0:
            result.feedback = (
                f"{right}, but worth nothing on its own, because an answer that does none of the work gets this "
                f"far too: it pays once one of these earns points: {names}."
            )
        else:
            result.feedback = (
                f"{right}, but an answer that does none of the work gets this far too, so it pays in proportion "
                f"to what these earned ({share:.0%} of their points): {names}."
            )


def verdict(check: Check, feedback: Verdict) -> CheckResult:
    """The CheckResult of a judge's answer: None (passed), a Partial (part of the points) or the feedback."""
    if feedback is None:
        return CheckResult(check.name, True, "passed", float(check.points), float(check.points))
    if isinstance(feedback, Partial):
        points = round(check.points * feedback.share, 2)
        return CheckResult(check.name, False, feedback.feedback, points, float(check.points))
    return CheckResult(check.name, False, feedback, 0.0, float(check.points))


def all_failed(spec: FunctionSpec, feedback: str, seconds: float = 0.0) -> FunctionResult:
    """Every check of ``spec`` failed, for one reason."""
    checks = [CheckResult(c.name, False, feedback, 0.0, float(c.points)) for c in spec.checks]
    return FunctionResult(spec.name, 0.0, float(spec.points), checks, seconds)
