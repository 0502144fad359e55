"""The notebook's visible tests name the function at fault: a failure caused by another exercise
(optimize calling a broken clip) points there, and the tests' messages name only causes the
evidence shows."""

import importlib
import linecache
import sys

import nbformat
import pytest

from autograder.authoring import factory, styles
from autograder.paths import NOTEBOOK, RELEASE_DIR, SOURCE_DIR

NOTEBOOK_IMPORTS = "import copy\nimport numpy as np\nfrom utils import *\n"


@pytest.fixture
def public_tests(monkeypatch):
    monkeypatch.syspath_prepend(str(SOURCE_DIR))
    sys.modules.pop("public_tests", None)
    module = importlib.import_module("public_tests")
    yield module
    sys.modules.pop("public_tests", None)


def notebook(**cells):
    """A namespace as the notebook builds it: its imports, then the four graded cells (the
    instructor's unless given), so that each function finds the others as in the notebook."""
    namespace = {}
    exec(NOTEBOOK_IMPORTS, namespace)
    for name in ("clip", "sample", "optimize", "model"):
        source, filename = cells.get(name, factory.solution(name)), f"<cell {name} {len(linecache.cache)}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # as IPython keeps cells
        exec(compile(source, filename, "exec"), namespace)
    return namespace


def failure(test, *args):
    with pytest.raises(AssertionError) as raised:
        test(*args)
    return str(raised.value)


def test_does_optimize_with_a_broken_clip_point_to_clip(public_tests):
    cells = notebook(clip=styles.CLIP_NO_OUT)
    message = failure(public_tests.optimize_test, cells["optimize"])
    assert message.startswith("optimize calls your clip, which fails its own test (Every gradient came back")
    assert "Fix clip first" in message
    assert "call clip(gradients, 5)" not in message


def test_does_a_broken_optimize_with_a_working_clip_get_its_own_message(public_tests):
    cells = notebook(optimize=styles.OPTIMIZE_NO_CLIP)
    message = failure(public_tests.optimize_test, cells["optimize"])
    assert message == "dWax is not clipped to [-5, 5]: call clip(gradients, 5) after rnn_backward."


def test_are_the_failures_printed_with_the_pointer_while_grading(public_tests, monkeypatch, capsys):
    monkeypatch.setattr(public_tests, "RAISE_ON_FAILURE", False)
    public_tests.optimize_test(notebook(clip=styles.CLIP_NO_OUT)["optimize"])
    assert "✗ optimize calls your clip, which fails its own test" in capsys.readouterr().out


def test_does_model_with_a_broken_sample_point_to_sample(public_tests):
    cells = notebook(sample=styles.SAMPLE_ARGMAX)
    data = (SOURCE_DIR / "dinos.txt").read_text().lower()
    chars = sorted(set(data))
    char_to_ix, ix_to_char = {c: i for i, c in enumerate(chars)}, dict(enumerate(chars))
    message = failure(public_tests.model_test, cells["model"], data.split("\n"), ix_to_char, char_to_ix)
    assert message.startswith("model calls your sample, which fails its own test (The first sampled characters")


@pytest.mark.parametrize(
    "source, expected",
    [
        (styles.CLIP_NO_OUT, "Every gradient came back exactly as it was, unclipped"),
        (styles.CLIP_LEAVES_ONE_OUT, "dby came back unclipped while the others were clipped: clip all five."),
        (styles.CLIP_WRONG_RANGE, "values already inside [-10, 10] changed"),
    ],
)
def test_does_the_clip_test_say_what_the_evidence_shows(public_tests, source, expected):
    assert expected in failure(public_tests.clip_test, notebook(clip=source)["clip"], 10)


def test_does_an_unfinished_function_say_so_rather_than_blame_what_it_calls(public_tests):
    release = nbformat.read(RELEASE_DIR / NOTEBOOK, as_version=4)
    cells = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell.source for cell in release.cells}
    scaffold = notebook(clip=cells["clip"], optimize=cells["optimize"])  # both still hold their placeholders
    assert failure(public_tests.optimize_test, scaffold["optimize"]).startswith("optimize is not implemented yet")


def test_are_the_visible_inputs_the_graders_visible_cases(public_tests):
    """Both draw them from assignment.VISIBLE_INPUTS; the grader's cases must be exactly the notebook's."""
    import numpy as np

    from autograder.checks import SPECS

    def equal(a, b):
        if isinstance(a, dict):
            return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
        if isinstance(a, (list, tuple)):
            return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
        return np.array_equal(a, b)

    cases = {name: {case.id: case for case in spec.cases()} for name, spec in SPECS.items()}
    assert equal(cases["clip"]["visible-10"].args[0], public_tests.clip_inputs())
    assert [cases["clip"][c].args[1] for c in ("visible-10", "visible-5")] == [10, 5]
    parameters, first_seed = public_tests.sample_inputs()
    assert equal(cases["sample"]["visible"].args[0], parameters) and cases["sample"]["visible"].args[2] == first_seed
    X, Y, a_prev, parameters, rate = public_tests.optimize_inputs()
    assert equal(cases["optimize"]["visible"].args, (X, Y, a_prev, parameters))
    assert cases["optimize"]["visible"].kwargs == {"learning_rate": rate}


def test_the_visible_test_and_the_grader_give_the_same_line_for_an_error(public_tests):
    """Both count a cell's lines from its first, as Jupyter numbers them, and quote the line."""
    from autograder.checks import SPECS
    from autograder.grade.grading import Grader

    cell = factory.edited("optimize", "rnn_backward(X, Y, parameters, cache)", "rnn_backward(X, Y, parameters, loss)")
    line = next(i for i, text in enumerate(cell.splitlines(), 1) if "parameters, loss)" in text)
    message = failure(public_tests.optimize_test, notebook(optimize=cell)["optimize"])
    assert f"(line {line} of your cell: `gradients, a = rnn_backward(X, Y, parameters, loss)`)" in message
    graded = Grader().grade_function(SPECS["optimize"], cell)
    first = next(check.feedback for check in graded.checks if not check.passed and not check.withheld)
    assert f'at line {line} of your cell ("gradients, a = rnn_backward(X, Y, parameters, loss)")' in first
