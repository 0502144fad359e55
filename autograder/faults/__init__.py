"""Fault signatures: the mistakes students make, each written as a small edit of the reference
solution, and what each edit does on the hidden cases.

``python -m autograder references`` runs every edited solution (a *mutant*) through the same
sandbox and cases as a student, and stores a short summary of what it returned (its
*signature*) in ``references/faults.json``.  When a student's function loses points, the grader
summarises the student's run the same way: if it equals exactly one catalogued mistake's, the
feedback names that mistake first.  Nothing is guessed: a cause is named only when the
student's outputs on every hidden case are those that mistake produces.

One module per graded function holds its catalogue (``MISTAKES``).  Several mistakes may share
an explanation (written differently, they do the same thing); mistakes with different
explanations must have different signatures, which ``python -m autograder audit`` checks.
"""

import numpy as np

from ..checks.base import same
from . import clip, model, optimize, sample
from .base import Mistake, MistakeDoesNotApply, mistake

__all__ = ["Mistake", "MistakeDoesNotApply", "mistake", "catalogue", "signature", "diagnose"]


def catalogue():
    """{function: (Mistake, …)} for every graded function."""
    return {"clip": clip.MISTAKES, "sample": sample.MISTAKES, "optimize": optimize.MISTAKES, "model": model.MISTAKES}


# ----------------------------------------------------------------------------
# Signatures: what a run returned, summarised so that equal behaviour compares equal
# ----------------------------------------------------------------------------

WHOLE_UP_TO = 32  # arrays with more values are summarised by a few weighted sums
PROBES = 4  # pseudo-random weightings per summarised array
RTOL, ATOL = 1e-6, 1e-9  # two summaries of the same behaviour differ by rounding only


def summary(value):
    """``value`` with every large array replaced by its shape and weighted sums of its values.

    Two arrays that differ anywhere differ, with overwhelming likelihood, in one of the random
    weightings, and equal arrays give equal sums up to rounding."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "fiub" or value.size <= WHOLE_UP_TO:
            return value
        values = value.astype(float).ravel()
        finite = np.isfinite(values)
        values = np.where(finite, values, 0.0)
        weights = np.random.RandomState(values.size).standard_normal((PROBES, values.size))
        sums = [values.sum(), np.abs(values).sum(), (values * values).sum(), *(weights @ values)]
        return {"shape": list(value.shape), "not_finite": int((~finite).sum()), "sums": [float(s) for s in sums]}
    if isinstance(value, dict):
        return {key: summary(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(summary(item) for item in value)
    return value


def signature(case_ids, observed, printed=None):
    """{case id: summary} of one run: what the function returned, how it left its arguments and
    the calls it made; the error it raised (type and message); or that it never got to the case.
    ``printed``: the function that reads what the graded function prints (None: prints are ignored)."""
    summaries = {}
    for case_id in case_ids:
        case = observed.get(case_id)
        if case is None:
            summaries[case_id] = {"missing": True}
        elif not case.ok:
            summaries[case_id] = {"error": case.error.type, "message": case.error.message[:200]}
        else:
            seen = {"result": case.result, "args_after": case.args_after, "calls": case.calls}
            if printed is not None:
                seen["printed"] = printed(case.stdout)
            summaries[case_id] = summary(seen)
    return summaries


def differing_cases(first, second):
    """The cases on which two signatures (of the same cases) describe different behaviour."""
    return [case_id for case_id in first if not same(first[case_id], second.get(case_id), RTOL, ATOL)]


def alike(first, second):
    """Whether two signatures describe the same behaviour on every case."""
    return first.keys() == second.keys() and not differing_cases(first, second)


def diagnose(student_signature, mistakes, signatures):
    """The explanation of the catalogued mistake whose signature is the student's, or None when
    none is, or when mistakes with different explanations are (the evidence cannot tell them apart)."""
    explanations = {
        m.explanation for m in mistakes if m.id in signatures and alike(student_signature, signatures[m.id])
    }
    return explanations.pop() if len(explanations) == 1 else None
