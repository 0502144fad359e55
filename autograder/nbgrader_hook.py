"""What the hidden-test regions of the instructor notebook call during ``nbgrader autograde``.

The region of each test cell calls ``grade_in_kernel("clip")`` (and so on).  The first call
grades the student's *submitted* notebook with the same sandboxed checks as
``python -m autograder grade`` and keeps the result; each call prints the feedback of its
function (messages only, never inputs or expected values) and returns an object whose
``points`` the cell displays last, which nbgrader takes as the cell's partial credit.  So
the CLI and nbgrader give the same scores.

Outside ``autograded/<student>/<assignment>/`` (the instructor running the notebook, or
``nbgrader validate``) it does nothing and returns None.

nbgrader executes the student's code in the kernel that also runs this hook: a student can
tamper with the kernel before the hidden region runs.  Grade untrusted submissions with the
CLI, whose sandbox the student's code cannot reach.
"""

import warnings
from dataclasses import dataclass
from pathlib import Path

from .paths import ASSIGNMENT, NOTEBOOK

_graded = {}


@dataclass
class KernelGrade:
    points: float
    max_points: float


def submitted_notebook(cwd=None):
    """The submitted notebook that belongs to an autograding kernel's folder, or None."""
    cwd = Path(cwd or Path.cwd()).resolve()
    if cwd.name != ASSIGNMENT or cwd.parent.parent.name != "autograded":
        return None
    student = cwd.parent.name
    path = cwd.parent.parent.parent / "submitted" / student / ASSIGNMENT / NOTEBOOK
    return (path, student) if path.exists() else None


def grade_in_kernel(function, cwd=None):
    found = submitted_notebook(cwd)
    if found is None:
        return None
    import public_tests  # the visible tests that follow in the same cell: report, do not raise

    public_tests.RAISE_ON_FAILURE = False
    warnings.simplefilter("ignore")  # nbgrader gives 0 to a test cell that writes to stderr

    path, student = found
    if path not in _graded:
        from .grade.grading import Grader

        _graded[path] = Grader().grade(path, student)
    result = _graded[path].functions[function]
    for check in result.checks:
        mark = "✓" if check.passed else "✗"
        print(
            f"{mark} {check.name} ({check.points:g}/{check.max_points:g})"
            + ("" if check.passed else f": {check.feedback}")
        )
    print(f"{function}: {result.score:g} of {result.max_score:g} points")
    return KernelGrade(result.score, result.max_score)
