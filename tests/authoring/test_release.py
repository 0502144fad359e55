"""The student release: built by nbgrader from source/, clean of solutions and hidden
tests, identical to a fresh build, self-contained, and honest about what is unfinished."""

import subprocess
import sys

import nbformat
import pytest
from nbformat import NotebookNode
from notebooks import copy_assignment, errors, execute, grade_id

from autograder.authoring.releasing import problems
from autograder.authoring.releasing.scaffold import ScaffoldSolutions
from autograder.paths import GRADED_FUNCTIONS, NOTEBOOK, RELEASE_DIR, SOURCE_NOTEBOOK


def test_is_the_committed_release_clean():
    assert problems(RELEASE_DIR) == []


def test_does_the_release_keep_no_trace_of_the_solution():
    """No line written only inside a solution region may appear anywhere in the release."""
    source = nbformat.read(SOURCE_NOTEBOOK, as_version=4)
    release = nbformat.read(RELEASE_DIR / NOTEBOOK, as_version=4)
    solution_lines, public_lines = set(), set()
    for cell in source.cells:
        inside = False
        for line in cell.source.splitlines():
            text = line.strip()
            if "### BEGIN SOLUTION" in text or "### END SOLUTION" in text:
                inside = "BEGIN" in text
            elif text.startswith("#>"):
                public_lines.add(text[2:].strip())
            elif text:
                (solution_lines if inside else public_lines).add(text)
    released = {line.strip() for cell in release.cells for line in cell.source.splitlines()}
    assert sorted((solution_lines - public_lines) & released) == []


def test_does_the_release_show_the_scaffold_with_line_hints():
    release = nbformat.read(RELEASE_DIR / NOTEBOOK, as_version=4)
    for cell in release.cells:
        if grade_id(cell) in GRADED_FUNCTIONS:
            assert "### START CODE HERE ###" in cell.source and "### END CODE HERE ###" in cell.source
            assert "(≈" in cell.source and "None" in cell.source
            assert cell.source.splitlines()[0].startswith("# UNQ_C")


def test_is_a_solution_region_without_stub_lines_refused():
    cell = NotebookNode(
        cell_type="code",
        source="def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION",
        metadata={"nbgrader": {"grade_id": "f"}},
    )
    with pytest.raises(RuntimeError, match="no '#>' stub lines"):
        ScaffoldSolutions()._replace_solution_region(cell, "python")


def test_does_the_scaffold_keep_the_stub_lines_indentation():
    cell = NotebookNode(
        cell_type="code",
        metadata={},
        source=(
            "def f(xs):\n    ### BEGIN SOLUTION\n    #> for x in xs:\n    #>     print(None)\n"
            "    for x in xs:\n        print(x)\n    ### END SOLUTION\n    return 1"
        ),
    )
    assert ScaffoldSolutions()._replace_solution_region(cell, "python")
    assert cell.source == "def f(xs):\n    for x in xs:\n        print(None)\n    return 1"


@pytest.fixture(scope="module")
def executed_release(tmp_path_factory):
    """The release as a student gets it, copied elsewhere and run with the scaffold untouched."""
    folder = copy_assignment(RELEASE_DIR, tmp_path_factory.mktemp("student") / "dinosaurus_island")
    return execute(folder / NOTEBOOK, timeout=300, allow_errors=True)


def test_does_everything_but_the_visible_tests_run_in_the_release(executed_release):
    for index, cell in enumerate(executed_release.cells):
        if cell.cell_type == "code" and not (grade_id(cell) or "").endswith("_test"):
            assert not errors(cell), f"cell {index} failed in the release: {errors(cell)}"


@pytest.mark.parametrize("function", GRADED_FUNCTIONS)
def test_does_each_visible_test_say_not_implemented_yet(executed_release, function):
    cell = next(c for c in executed_release.cells if grade_id(c) == f"{function}_test")
    [error] = errors(cell)
    assert error.ename == "NotImplementedYet"  # a VisibleTestFailure, shown as its one line
    assert f"{function} is not implemented yet" in error.evalue
    assert len(error.traceback) == 1, "the student should see one message, not a traceback"
    assert "numpy" not in error.traceback[0]


def test_can_the_checker_modules_be_imported_with_only_the_release(tmp_path):
    folder = copy_assignment(RELEASE_DIR, tmp_path / "dinosaurus_island")
    result = subprocess.run(
        [sys.executable, "-E", "-c", "import utils, public_tests; print(len(utils.__all__))"],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    import utils

    assert result.stdout.strip() == str(len(utils.__all__))


def test_does_the_release_ask_students_for_the_student_group_ranges():
    """requirements.txt in the release asks for what `pip install --group student` would: ranges
    that keep a student's numpy from 1.26 on (what crosscheck/matrix.py proves)."""
    import tomllib

    from autograder.paths import COURSE_ROOT

    group = tomllib.loads((COURSE_ROOT / "pyproject.toml").read_text())["dependency-groups"]["student"]
    lines = (RELEASE_DIR / "requirements.txt").read_text().splitlines()
    assert sorted(line for line in lines if line and not line.startswith("#")) == sorted(group)
    assert "numpy>=1.26,<2.5" in group and not any("==" in pin for pin in group)
    from crosscheck.matrix import ENVIRONMENTS

    numpys = sorted({environment.numpy for environment in ENVIRONMENTS}, key=lambda v: tuple(map(int, v.split("."))))
    assert numpys[0].startswith("1.26.") and numpys[-1].startswith("2.4.")  # the range's two ends are proven
