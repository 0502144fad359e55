"""nbgrader's autograde, with no student code in nbgrader's kernel, or in nbgrader at all.

nbgrader's own ``autograde`` executes every cell of a submission in a kernel that also runs
the hidden tests: a submission could patch the grader from an ungraded cell, read the answer
key, rewrite ``gradebook.db``, or kill the kernel.  This course's ``nbgrader_config.py``
replaces nbgrader's ``Execute`` step with ``GradeInSandbox``: it executes nothing.  It grades
the student's *submitted* notebook with the same sandboxed checks as ``python -m autograder
grade`` and writes each function's feedback and points into that function's test cell as the
cell's output, where nbgrader's ``SaveAutoGrades`` reads a cell's partial credit (the last
``execute_result``) and ``generate_feedback`` shows the messages.  So nbgrader's gradebook and
the CLI give the same scores, and every student cell stays as submitted.

The hidden-test regions of the notebook still call ``grade_in_kernel`` (gradebooks that
nbgrader has already filled name them): it does nothing outside an autograding kernel, and
inside one, with nbgrader's own ``Execute`` configured back, it grades as ``GradeInSandbox``
does — but then the student's cells run in that kernel first, so keep this course's config.
"""

import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from .paths import ASSIGNMENT, NOTEBOOK

_graded = {}
TEST_CELL_SUFFIX = "_test"  # a function's test cell is its grade_id followed by this


@dataclass
class KernelGrade:
    points: float
    max_points: float


def submitted_notebook(cwd=None):
    """The submitted notebook that belongs to an autograded notebook's folder, and its student
    id, or None (outside ``autograded/<student>/<assignment>/``)."""
    cwd = Path(cwd or Path.cwd()).resolve()
    if cwd.name != ASSIGNMENT or cwd.parent.parent.name != "autograded":
        return None
    student = cwd.parent.name
    path = cwd.parent.parent.parent / "submitted" / student / ASSIGNMENT / NOTEBOOK
    return (path, student) if path.exists() else None


def feedback_lines(result):
    """What the test cell of a function shows: each check, its points, and why it failed."""
    lines = []
    for check in result.checks:
        paid = check.passed and check.points >= check.max_points
        mark = "✓" if paid else "✗"
        reason = "" if paid else f": {check.feedback}"
        lines.append(f"{mark} {check.name} ({check.points:g}/{check.max_points:g}){reason}")
    lines.append(f"{result.name}: {result.score:g} of {result.max_score:g} points")
    return lines


def grade_submission(path, student):
    """The sandboxed grade of the submitted notebook at ``path`` (kept: one grading per notebook)."""
    if path not in _graded:
        from .grade.grading import grade_notebook

        result = grade_notebook(path, student=student)
        if not result.graded:  # the machine's fault, never a grade: nbgrader reports this student failed
            raise RuntimeError(f"{student} was not graded (regrade it): {result.errors[-1]}")
        _graded[path] = result
    return _graded[path]


class GradeInSandbox(Preprocessor):
    """nbgrader's Execute step, replaced: grade the submission in the sandbox and write each
    function's feedback and points into its test cell; execute nothing.  Always enabled: a test
    cell without output is full marks to nbgrader."""

    enabled = Bool(True)

    def preprocess(self, nb, resources):
        folder = resources.get("metadata", {}).get("path")
        found = submitted_notebook(folder) if folder else None
        if found is None:
            raise RuntimeError(f"no submitted notebook belongs to the autograded folder {folder!r}")
        result = grade_submission(*found)
        for cell in nb.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
            function = grade_id.removesuffix(TEST_CELL_SUFFIX)
            if cell.cell_type == "code":
                cell.outputs = []
            if cell.cell_type == "code" and grade_id.endswith(TEST_CELL_SUFFIX) and function in result.functions:
                graded = result.functions[function]
                text = "\n".join(feedback_lines(graded)) + "\n"
                cell.outputs = [
                    nbformat.v4.new_output("stream", name="stdout", text=text),
                    nbformat.v4.new_output(
                        "execute_result", data={"text/plain": f"{graded.score:g}"}, execution_count=None
                    ),  # fmt: skip
                ]
        return nb, resources


def grade_in_kernel(function, cwd=None):
    """What a hidden-test region calls (see the module's docstring)."""
    found = submitted_notebook(cwd)
    if found is None:
        return None
    import public_tests  # the visible tests that follow in the same cell: report, do not raise

    public_tests.RAISE_ON_FAILURE = False
    warnings.simplefilter("ignore")  # nbgrader gives 0 to a test cell that writes to stderr
    result = grade_submission(*found).functions[function]
    print("\n".join(feedback_lines(result)))
    return KernelGrade(result.score, result.max_score)
