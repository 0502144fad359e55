"""check.py, the students' own check: every rule finds its problem, the solution passes
cleanly, the scaffold is reported as not implemented yet, and nothing crashes it."""

import copy
import importlib.util
import shutil
import subprocess
import sys

import pytest

from autograder.authoring import factory, styles
from autograder.paths import NOTEBOOK, RELEASE_DIR


@pytest.fixture
def release_copy(tmp_path):
    folder = tmp_path / "dinosaurus_island"
    shutil.copytree(RELEASE_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def check(folder, nb, *options):
    """Run check.py as a student does, from the release folder; returns (exit code, output)."""
    path = factory.write(nb, folder / "Submitted.ipynb") if nb is not None else folder / NOTEBOOK
    done = subprocess.run(
        [sys.executable, "check.py", path.name, *options], cwd=folder, capture_output=True, text=True, timeout=900
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done.returncode, done.stdout


def cell_of(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def without(nb, grade_id):
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != grade_id]
    return nb


def duplicated(nb, grade_id):
    twin = copy.deepcopy(cell_of(nb, grade_id))
    twin.id = f"{grade_id}-copy"
    nb.cells.append(twin)
    return nb


def edited_cell(nb, grade_id, old, new):
    cell = cell_of(nb, grade_id)
    assert old in cell.source
    cell.source = cell.source.replace(old, new)
    return nb


def renamed_id(nb):
    cell_of(nb, "clip").metadata["nbgrader"]["grade_id"] = "my_clip"
    return nb


def id_and_marker_lost(nb):
    edited_cell(nb, "clip", "# UNQ_C1", "# my clip")
    return renamed_id(nb)


def extra_cell(nb):
    index = nb.cells.index(cell_of(nb, "sample"))
    extra = copy.deepcopy(cell_of(nb, "sample"))
    extra.metadata, extra.source, extra.id = {}, "x = 1", "extra-cell"
    nb.cells.insert(index, extra)
    return nb


def ungraded_cell_edited(old, new):
    def edit(nb):
        cell = next(c for c in nb.cells if c.cell_type == "code" and old in c.source)
        cell.source = cell.source.replace(old, new)
        return nb

    return edit


def cell_appended(source):
    def append(nb):
        extra = copy.deepcopy(nb.cells[-2])
        extra.cell_type, extra.metadata, extra.source, extra.id = "code", {}, source, "appended"
        extra.outputs, extra.execution_count = [], None
        nb.cells.append(extra)
        return nb

    return append


RULES = [
    ("deleted", lambda nb: without(nb, "sample"), "the graded cell for sample is missing", 1),
    ("duplicated", lambda nb: duplicated(nb, "clip"), "appears 2 times; the grader grades the first one", 0),
    ("marker", lambda nb: edited_cell(nb, "optimize", "# UNQ_C3", "# my optimize"), "first line", 0),
    ("grade id", renamed_id, "the grader still finds it by its marker line", 0),
    ("id and marker", id_and_marker_lost, "the grader still finds it by its definition", 0),
    (
        "signature",
        lambda nb: edited_cell(nb, "clip", "def clip(gradients, maxValue):", "def clip(grads, maxValue):"),
        "signature of clip changed",
        1,
    ),
    ("syntax", lambda nb: edited_cell(nb, "clip", "return gradients", "return gradients)"), "syntax error", 1),
    ("read-only", lambda nb: edited_cell(nb, "load_data", "data.lower()", "data.upper()"), "read-only cell", 0),
    (
        "print",
        lambda nb: edited_cell(
            nb, "optimize", "    ### END CODE HERE ###", "    print(loss)\n    ### END CODE HERE ###"
        ),
        "print inside optimize",
        0,
    ),
    ("globals", lambda nb: factory.notebook({"model": styles.MODEL_GLOBALS}), "'data', a variable of the notebook", 0),
    ("extra cell", extra_cell, "extra code cell", 0),
    ("values()", lambda nb: factory.notebook({"sample": styles.SAMPLE_VALUES}), "char_to_ix.values()", 0),
    (
        "shadows a graded function",
        ungraded_cell_edited("for max_norm in (5.0, 0):", "for clip in (5.0, 0):"),
        "assigns the name `clip`, which replaces your graded function",
        0,
    ),
    (
        "shadows a helper",
        cell_appended("from math import tanh\nrnn_forward, sample_test = 1, 2"),
        "assigns the name `rnn_forward`, which replaces a helper",
        0,
    ),
    *(
        (f"shadows by {how}", cell_appended(code), f"assigns the name `{name}`, which replaces your graded function", 0)
        for how, code, name in (
            ("an import", "from numpy import clip", "clip"),
            ("an import alias", "import numpy as sample", "sample"),
            ("a def", "def optimize(*args):\n    return args", "optimize"),
            ("a class", "class model:\n    pass", "model"),
            ("a with", "with open('dinos.txt') as clip:\n    pass", "clip"),
            ("a walrus", "print((sample := 3))", "sample"),
            ("an unpacking", "x, (y, optimize) = 1, (2, 3)", "optimize"),
        )
    ),
    (
        "placeholder",
        lambda nb: edited_cell(nb, "optimize", "gradients = clip(gradients, 5)", "gradients = None"),
        "optimize is not implemented yet",
        0,
    ),
]


@pytest.mark.parametrize("name, make, finding, status", RULES, ids=[r[0] for r in RULES])
def test_does_each_rule_report_its_finding(release_copy, name, make, finding, status):
    code, output = check(release_copy, make(factory.notebook()), "--no-tests")
    assert finding in output, (
        f"check.py's rule for {name!r} said nothing of it ({finding!r} not in its output):\n{output}"
    )
    assert code == status, f"check.py exited {code}, not {status}, for {name!r}:\n{output}"
    line = next(line for line in output.splitlines() if finding in line)
    assert line.startswith(("✗ cell", "! cell", "✗ notebook")), line


@pytest.mark.slow
def test_does_the_solution_pasted_into_the_release_pass_cleanly(release_copy):
    code, output = check(release_copy, factory.notebook())
    assert code == 0
    assert "0 findings, 4 of 4 visible tests passed. The notebook can be graded." in output


def test_does_the_scaffold_as_released_say_not_implemented_yet(release_copy):
    code, output = check(release_copy, None)
    assert code == 0
    assert output.rstrip().endswith(
        "The notebook can be graded, but it is not finished: 4 of 4 exercises (clip, sample, optimize, model) "
        "are not implemented yet and would score 0, so it can get at most 0 of 100 points."
    )
    for function in ("clip", "sample", "optimize", "model"):
        assert f"{function} is not implemented yet" in output
        assert f"  {function:9} FAILED: {function} is not implemented yet" in output


@pytest.mark.parametrize("content", ["{ not json", '{"cells": "nope"}'])
def test_is_an_unreadable_notebook_a_message_and_exit_1(release_copy, content):
    code, output = check(release_copy, content)
    assert code == 1 and "cannot be read as a notebook" in output


def test_does_the_checker_compute_nbgrader_checksums_exactly():
    from nbgrader.utils import compute_checksum

    spec = importlib.util.spec_from_file_location("student_check", RELEASE_DIR / "check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    nb = factory.notebook()
    for cell in nb.cells:
        if "nbgrader" in cell.metadata:
            assert module.nbgrader_checksum(cell) == compute_checksum(cell)


def test_does_one_unfinished_exercise_say_what_it_costs(release_copy):
    nb = edited_cell(factory.notebook(), "optimize", "gradients = clip(gradients, 5)", "gradients = None")
    code, output = check(release_copy, nb, "--no-tests")
    assert code == 0
    assert "1 of 4 exercises (optimize) is not implemented yet and would score 0, so it can get at most 80" in output


def test_do_the_checkers_points_agree_with_the_graders():
    from autograder.checks import SPECS

    spec = importlib.util.spec_from_file_location("student_check", RELEASE_DIR / "check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.POINTS == {name: spec.points for name, spec in SPECS.items()}


def test_does_the_release_check_refuse_a_cell_that_shadows_an_exercise(release_copy):
    from autograder.authoring.releasing import problems

    nb = factory.notebook()
    ungraded_cell_edited("for max_norm in (5.0, 0):", "for clip in (5.0, 0):")(nb)
    factory.write(nb, release_copy / NOTEBOOK)
    assert any("rebinds 'clip'" in problem for problem in problems(release_copy))
    assert not [p for p in problems(RELEASE_DIR) if "rebinds" in p]


@pytest.mark.parametrize("name, make, finding, status", RULES, ids=[r[0] for r in RULES])
def test_do_check_and_the_grader_find_the_same_graded_cells(release_copy, name, make, finding, status):
    """One rule finds graded cells (assignment.locate): what check.py tells a student about where
    their cells are is what the grader does with them."""
    import json

    import nbformat

    from autograder.grade.submission import find_graded_cells

    nb = make(factory.notebook())
    _, output = check(release_copy, nb, "--no-tests")
    cells, errors = find_graded_cells(json.loads(nbformat.writes(nb)))
    said = "\n".join(errors)
    for function in ("clip", "sample", "optimize", "model"):
        assert (f"the graded cell for {function} is missing" in output) == (function not in cells), function
        assert (f"the {function} cell lost its nbgrader id" in output) == (
            f"the {function} cell lost its nbgrader metadata" in said
        ), function
        copies = [line for line in output.splitlines() if f"the graded cell {function} appears" in line]
        assert bool(copies) == any(f"match {function} by" in error for error in errors), function
