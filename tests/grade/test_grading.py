"""Fair per-function grades: correct work scores full marks in any style; each typical
mistake costs points in its own function only, with feedback that names it; nothing a
submission does can crash the grader or fool it."""

import copy
import re

import pytest

from autograder import faults
from autograder.authoring import factory, styles
from autograder.checks import SPECS
from autograder.grade.expected import load_expected
from autograder.grade.grading import Grader


@pytest.fixture(scope="module")
def grader():
    return Grader()


def grade(grader, name, source):
    return grader.grade_function(SPECS[name], source)


def failed_feedback(result):
    """What failed checks say, in order; a check that is right but paid less than its points
    (``withheld``) is not one of them."""
    return [c.feedback for c in result.checks if not c.passed and not c.withheld]


@pytest.mark.slow
def test_does_the_instructor_solution_score_100(grader, tmp_path):
    path = factory.write(factory.notebook(), tmp_path / "alice" / "dinosaurus_island" / "Dinosaurus_Island.ipynb")
    result = grader.grade(path)
    assert result.student == "alice"
    assert result.score == 100, {n: failed_feedback(f) for n, f in result.functions.items()}
    assert result.errors == []


@pytest.mark.slow
@pytest.mark.parametrize("name", ["clip", "sample", "optimize", "model"])
def test_does_a_correct_solution_in_another_style_score_full_marks(grader, name):
    result = grade(grader, name, styles.STYLES[name])
    assert result.score == result.max_score, failed_feedback(result)


def test_does_clip_by_key_also_score_full_marks(grader):
    result = grade(grader, "clip", styles.CLIP_BY_NAME)
    assert result.score == 20, failed_feedback(result)


# Typical mistakes written as a student would (authoring/styles.py), and the catalogued mistake
# (autograder/faults/) each one is: its explanation must be the first thing the student reads.
NAMED = [
    ("clip", styles.CLIP_NO_OUT, "result-discarded"),
    ("clip", styles.CLIP_WRONG_RANGE, "lower-bound-zero"),
    ("clip", styles.CLIP_LEAVES_ONE_OUT, "skips-dby"),
    ("clip", styles.CLIP_BOUND_10, "fixed-bound-10"),
    pytest.param("sample", styles.SAMPLE_NO_CAP, "no-cap", marks=pytest.mark.slow),  # runs out of time
    ("sample", styles.SAMPLE_NO_RESEED, "never-seeds"),
    ("sample", styles.SAMPLE_ARGMAX, "argmax"),
    ("sample", styles.SAMPLE_NO_STATE, "state-not-carried"),
    ("sample", styles.SAMPLE_VALUES, "draws-dictionary-values"),
    ("sample", styles.SAMPLE_RELU, "relu"),
    ("sample", styles.SAMPLE_NO_BY, "no-output-bias"),
    ("sample", styles.SAMPLE_SEED_AFTER, "seeds-after-drawing"),
    ("optimize", styles.OPTIMIZE_NO_CLIP, "no-clip"),
    ("optimize", styles.OPTIMIZE_CLIP_10, "clip-at-10"),
    ("optimize", styles.OPTIMIZE_FIRST_STATE, "returns-first-state"),
    ("optimize", styles.OPTIMIZE_FIXED_RATE, "fixed-learning-rate"),
    ("model", styles.MODEL_NO_NONE, "x-without-none"),
    ("model", styles.MODEL_X_NEWLINE, "x-starts-with-newline"),
    ("model", styles.MODEL_NO_NEWLINE, "y-without-newline"),
    ("model", styles.MODEL_NO_MODULO, "no-wrap-around"),
    ("model", styles.MODEL_RATE, "learning-rate-0.05"),
    ("model", styles.MODEL_RESET_STATE, "state-reset"),
    ("model", styles.MODEL_SAME_SEED, "same-seed-for-every-name"),
]
CATALOGUE = faults.catalogue()


def rows(parameters):
    """The values of each row, whether written as a tuple or as a pytest.param with marks."""
    return [getattr(row, "values", row) for row in parameters]


def explanation(name, mistake_id):
    return next(m.explanation for m in CATALOGUE[name] if m.id == mistake_id)


@pytest.mark.parametrize("name, source, mistake_id", NAMED, ids=[f"{v[0]}-{v[2]}" for v in rows(NAMED)])
def test_is_each_typical_mistake_named_first(grader, name, source, mistake_id):
    result = grade(grader, name, source)
    assert 0 <= result.score < result.max_score
    assert failed_feedback(result)[0] == explanation(name, mistake_id) == result.diagnosis, failed_feedback(result)
    others = {m.explanation for m in CATALOGUE[name]} - {result.diagnosis}
    assert not others & set(failed_feedback(result)), "a second cause was named"


# Mistakes the catalogue does not hold (two at once, or code that fails): the feedback says what
# differs, and names no cause.
UNCATALOGUED = [
    ("model", styles.MODEL_GLOBALS, "notebook's other variables do not exist"),
    ("model", styles.MODEL_FAKE, "must call optimize"),
    ("clip", styles.CLIP_WRONG_RANGE.replace('"db", "dby"]', '"db"]'), "already inside"),
    ("sample", styles.SAMPLE_RELU.replace("z = np.dot(Wya, a) + by", "z = np.dot(Wya, a)"), "drawn indices differ"),
    ("optimize", styles.OPTIMIZE_CLIP_10.replace("a_last = a[len(X) - 1]", "a_last = a[-1]"), "[-10, 10]"),
]


@pytest.mark.parametrize("name, source, fact", UNCATALOGUED, ids=[f"{m[0]}-{m[2][:20]}" for m in UNCATALOGUED])
def test_does_an_uncatalogued_mistake_get_facts_and_no_cause(grader, name, source, fact):
    result = grade(grader, name, source)
    assert 0 <= result.score < result.max_score
    assert result.diagnosis is None
    assert not {m.explanation for m in CATALOGUE[name]} & set(failed_feedback(result))
    assert any(fact in text for text in failed_feedback(result)), failed_feedback(result)


def test_does_a_mistake_in_clip_cost_nothing_elsewhere(grader, tmp_path):
    """optimize calls clip: graded with the reference clip, a broken clip costs only clip's points."""
    path = factory.write(factory.notebook({"clip": styles.CLIP_NO_OUT}), tmp_path / "bob.ipynb")
    result = grader.grade(path, only=("clip", "optimize"))
    assert result.functions["clip"].score < 20
    assert result.functions["optimize"].score == 20


@pytest.mark.slow
def test_is_feedback_free_of_hidden_numbers(grader):
    """Messages may name what went wrong, never the hidden inputs or expected values."""
    expected = load_expected()
    texts = []
    for name, source, _ in rows(NAMED + UNCATALOGUED):
        if name != "model":
            texts += failed_feedback(grade(grader, name, source))
    for cases in expected.cases.values():
        for observed in cases.values():
            result = observed.result
            if isinstance(result, list) and len(result) > 5:
                assert not any(str(result[:6])[1:-1] in text for text in texts)
    assert not any(re.search(r"\d\.\d{4,}|\de-\d", text) for text in texts)


# ------------------------------------------------------------------ the bad-input list


def notebook_with(name, source):
    return factory.notebook({name: source})


@pytest.mark.parametrize(
    "source, expected",
    [
        ("def clip(gradients, maxValue):\n    return (\n", "SyntaxError"),
        ("undefined_helper()\n\ndef clip(gradients, maxValue):\n    return gradients\n", "NameError"),
        (
            "def clip(gradients, maxValue):\n    raise ValueError('nope')\n",
            "clip raised ValueError at line 2 of your cell (\"raise ValueError('nope')\"); its message, as your "
            'code\'s process gave it: "nope"',
        ),
        ("def clip(gradients, maxValue):\n    import sys\n    sys.exit(0)\n", "sys.exit"),
        ("import os\nos._exit(0)\n", "os._exit"),
        ("def clip(gradients, maxValue):\n    raise KeyboardInterrupt\n", "KeyboardInterrupt"),
        pytest.param(
            "def clip(gradients, maxValue):\n    while True:\n        pass\n", "did not finish", marks=pytest.mark.slow
        ),
        ("def clip(gradients, maxValue):\n    return np.zeros((10**6, 10**6))\n", "MemoryError"),
        (
            "def clip(gradients, maxValue):\n    for _ in range(100):\n        print('x' * 10**6)\n"
            "    return gradients\n",
            "returns every gradient unclipped",
        ),
        ("def clip_renamed(gradients, maxValue):\n    return gradients\n", "does not define a function named clip"),
    ],
)
def test_is_each_bad_submission_a_clear_zero_for_its_function_only(grader, tmp_path, source, expected):
    path = factory.write(notebook_with("clip", source), tmp_path / "x.ipynb")
    result = grader.grade(path, only=("clip", "sample"))
    assert result.functions["clip"].score == 0 or "unclipped" in expected
    assert any(expected in text for text in failed_feedback(result.functions["clip"])), failed_feedback(
        result.functions["clip"]
    )
    assert result.functions["sample"].score == 30


def test_does_monkeypatching_numpy_fool_nothing(grader):
    source = "np.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n" + styles.CLIP_NO_OUT
    assert grade(grader, "clip", source).score == grade(grader, "clip", styles.CLIP_NO_OUT).score < 20


def test_does_a_model_that_only_returns_the_name_get_no_training_points(grader):
    result = grade(grader, "model", styles.MODEL_FAKE)
    passed = {c.name for c in result.checks if c.passed}
    assert "the 22,001-step run ends with the expected name and weights" not in passed
    assert result.score == 0


@pytest.mark.parametrize(
    "content, expected",
    [
        ("{ not json", "not valid JSON"),
        ('{"just": "json"}', "not a Jupyter notebook"),
        ("", "not valid JSON"),
    ],
)
def test_is_a_file_that_is_not_a_notebook_graded_zero_with_the_reason(grader, tmp_path, content, expected):
    path = factory.write(content, tmp_path / "broken.ipynb")
    result = grader.grade(path)
    assert result.score == 0
    assert any(expected in error for error in result.errors)
    assert all(expected in c.feedback for f in result.functions.values() for c in f.checks)


def test_are_cells_found_without_metadata_and_after_extra_cells(grader, tmp_path):
    nb = factory.notebook()
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)  # as if pasted into a new notebook
    extra = copy.deepcopy(nb.cells[0])
    extra.cell_type, extra.source, extra.id = "code", "print('hello')\nclip = None", "extra-cell"
    extra.outputs, extra.execution_count = [], None
    nb.cells.insert(3, extra)
    path = factory.write(nb, tmp_path / "moved.ipynb")
    result = grader.grade(path, only=("clip", "optimize"))
    assert result.functions["clip"].score == 20 and result.functions["optimize"].score == 20
    assert any("lost its nbgrader metadata" in e for e in result.errors)


def test_is_a_missing_graded_cell_zero_for_that_function_only(grader, tmp_path):
    nb = factory.notebook()
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "sample"]
    path = factory.write(nb, tmp_path / "deleted.ipynb")
    result = grader.grade(path, only=("clip", "sample"))
    assert result.functions["sample"].score == 0 and result.functions["clip"].score == 20
    assert any("no cell for sample" in e for e in result.errors)


# ------------------------------------------------------------------ own versions first


def test_is_a_correct_model_graded_with_the_students_own_functions(grader, tmp_path):
    """All of clip, sample and optimize passed: model runs with them, no call leaves its process."""
    path = factory.write(factory.notebook(), tmp_path / "x.ipynb")
    result = grader.grade(path)
    assert result.score == 100
    assert result.functions["model"].called == "own" and result.functions["optimize"].called == "own"


def test_is_model_graded_with_the_references_when_one_of_its_helpers_failed(grader, tmp_path):
    path = factory.write(factory.notebook({"optimize": styles.OPTIMIZE_NO_CLIP}), tmp_path / "x.ipynb")
    result = grader.grade(path)
    assert result.functions["optimize"].score < 20
    assert result.functions["model"].called == "reference" and result.functions["model"].score == 30


FORGE_RECORDS = """\
    import gc
    for thing in gc.get_objects():  # the recorders that note calls to the student's own optimize
        if type(thing).__name__ == "Recorder":
            for summary in thing.calls.values():
                if isinstance(summary, dict) and "learning_rate" in summary:
                    summary["learning_rate"] = 0.01
"""


@pytest.mark.slow
def test_are_calls_forged_in_the_students_process_never_counted(grader, tmp_path):
    """A model trained with the wrong rate that rewrites what its process noted: the try with
    its own functions is not full marks, so the references grade it, as without the forgery."""
    forged = styles.MODEL_RATE.replace(
        "    return parameters, last_dino_name", FORGE_RECORDS + "    return parameters, last_dino_name"
    )
    assert forged != styles.MODEL_RATE
    honest = grader.grade(factory.write(factory.notebook({"model": styles.MODEL_RATE}), tmp_path / "a.ipynb"))
    cheat = grader.grade(factory.write(factory.notebook({"model": forged}), tmp_path / "b.ipynb"))
    assert cheat.functions["model"].called == "reference"
    assert cheat.functions["model"].score == honest.functions["model"].score < 30
    assert not next(c for c in cheat.functions["model"].checks if "learning rate" in c.name).passed
