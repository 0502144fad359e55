"""Feedback on mistakes nobody catalogued, and credit for the work a near miss gets right.

The mechanisms of grade/explain.py and the partial verdicts of the checks: an exercise not done
yet, control flow read from the code, the first value that departs from the solution's (a real
sandbox run followed line by line), the common errors said for this assignment, constants
recognised whatever their value, derived values judged against the student's own, and the
rubric's shares (computed here from the points of checks/, not pasted)."""

import json

import pytest

from autograder.authoring import factory
from autograder.authoring.independent import MISTAKES
from autograder.checks import SPECS
from autograder.grade import explain
from autograder.grade.grading import Grader
from autograder.grade.report import SubmissionResult, to_gradescope
from autograder.grade.submission import released_cells
from autograder.nbgrader_hook import feedback_lines
from autograder.sandbox.messages import StudentError


@pytest.fixture(scope="module")
def grader():
    return Grader()


def graded(grader, name, source):
    return grader.grade_function(SPECS[name], source)


def first_message(result):
    return next(c.feedback for c in result.checks if not c.passed and not c.withheld)


# ---------------------------------------------------------------- not done yet


@pytest.mark.parametrize("name", list(SPECS))
def test_a_cell_left_as_released_reads_not_implemented_yet_and_nothing_else(grader, name):
    result = graded(grader, name, released_cells()[name])
    assert result.score == 0
    assert {c.feedback for c in result.checks} == {
        f"{name} is not implemented yet: write your code between ### START CODE HERE ### and ### END CODE HERE ###."
    }


def test_a_placeholder_left_in_a_written_cell_is_named_with_its_line(grader):
    released = released_cells()["sample"]
    cell = factory.solution("sample").replace("    indices = []\n", "    indices = None\n")
    assert "indices = None" in released  # the release's own placeholder, left as it was
    message = first_message(graded(grader, "sample", cell))
    line = cell.splitlines().index("    indices = None") + 1
    assert message.startswith(f"sample is not finished yet: line {line} of your cell is still the release's")
    assert "(indices = None)" in message and "TypeError" not in message


# ---------------------------------------------------------------- control flow from the code


def test_a_return_inside_the_loop_is_named_with_both_lines():
    cell = factory.edited("model", "    return parameters, last_dino_name", "        return parameters, last_dino_name")
    lines = cell.splitlines()
    said = explain.shape_of_code("model", cell, factory.solution("model"))
    loop = next(i for i, text in enumerate(lines, 1) if text.strip().startswith("for j in range"))
    ret = next(i for i, text in enumerate(lines, 1) if text.strip() == "return parameters, last_dino_name")
    assert said.startswith("model returns during the first pass of its loop")
    assert f"line {ret} (return parameters, last_dino_name)" in said and f"loop of line {loop}" in said


def test_a_variable_set_again_inside_the_loop_is_named_but_a_growing_one_is_not():
    reset = factory.edited(
        "sample", "        indices.append(idx)\n", "        indices = []\n        indices.append(idx)\n"
    )
    assert "sets indices again at every pass of the loop" in explain.shape_of_code(
        "sample", reset, factory.solution("sample")
    )
    grown = factory.edited("sample", "        indices.append(idx)\n", "        indices = indices + [idx]\n")
    assert explain.shape_of_code("sample", grown, factory.solution("sample")) is None


# ---------------------------------------------------------------- where a value departs


def test_a_wrong_shape_is_named_where_it_is_built_not_where_numpy_fails(grader):
    cell = factory.edited(
        "sample", "    x = np.zeros((vocab_size, 1))\n    a_prev", "    x = np.zeros(vocab_size)\n    a_prev"
    )
    result = graded(grader, "sample", cell)
    line = cell.splitlines().index("    x = np.zeros(vocab_size)") + 1
    message = first_message(result)
    assert message.startswith(f"x is built at line {line} (x = np.zeros(vocab_size)) as an array of shape (27,)")
    assert "should be an array of shape (27, 1)" in message
    assert "'a' and 'p' must have same size" in message  # numpy's words still there, after the cause


def test_departure_names_the_first_variable_whose_values_differ():
    def note(line, name, value):
        return [line, name, {"kind": "float", "value": value}]

    right = [note(2, "loss", 1.0), note(3, "rate", 0.5), ["end", 4, "return"]]
    mine = [note(2, "loss", 1.0), note(3, "rate", 0.25), ["end", 4, "return"]]
    source = "def f():\n    loss = 1.0\n    rate = 0.25\n    return loss\n"
    said = explain.departure("f", source, mine, right)
    assert "is rate, computed at line 3 (rate = 0.25)" in said
    assert explain.departure("f", source, right, right) is None


# ---------------------------------------------------------------- library errors said for this assignment


@pytest.mark.parametrize(
    ("kind", "message", "says"),
    [
        ("ValueError", "'a' and 'p' must have same size", "p must hold vocab_size probabilities"),
        ("TypeError", "return arrays must be of ArrayType", "out=gradients[key]"),
        ("TypeError", "clip() got an unexpected keyword argument 'max_value'", "(max_value)"),
        ("TypeError", "bad operand type for unary -: 'NoneType'", "still None"),
        ("KeyError", "'dBy'", "('dBy')"),
        ("TypeError", 'can only concatenate list (not "int") to list', "[ix_newline]"),
        (
            "RuntimeError",
            "this call of optimize was refused: more than 43 calls of optimize in this case (a …)",
            "optimize was called more than the 43 times",
        ),
    ],
)
def test_common_errors_get_a_sentence_about_this_assignment(kind, message, says):
    assert says in explain.meaning(StudentError(kind, message))


def test_an_error_of_a_called_function_reaches_the_student_as_itself(grader):
    cell = factory.edited("optimize", "clip(gradients, 5)", "clip(gradients, max_value=5)")
    message = first_message(graded(grader, "optimize", cell))
    assert "reference" not in message and "keyword argument it does not have (max_value)" in message
    assert "TypeError" in message and '"clip() got an unexpected keyword argument' in message


# ---------------------------------------------------------------- constants and derived values


def test_a_fixed_bound_is_recognised_whatever_its_value(grader):
    for bound in (2, 3.5, 7):
        cell = factory.edited("clip", "-maxValue, maxValue, out", f"-{bound}, {bound}, out")
        assert first_message(graded(grader, "clip", cell)).startswith(f"clip always clips to [-{bound:g}, {bound:g}]")


def test_optimize_s_constants_are_read_from_its_outputs(grader):
    at_seven = factory.edited("optimize", "clip(gradients, 5)", "clip(gradients, 7)")
    assert "clipped to [-7, 7], not [-5, 5]" in first_message(graded(grader, "optimize", at_seven))
    rate = factory.edited("optimize", "gradients, learning_rate)", "gradients, 0.03)")
    assert "learning rate 0.03 whatever learning_rate was" in first_message(graded(grader, "optimize", rate))


def test_a_shifted_seed_is_told_by_how_much_and_its_draws_still_earn(grader):
    cell = factory.edited("sample", "np.random.seed(step + seed)", "np.random.seed(step + seed + 4)")
    result = graded(grader, "sample", cell)
    checks = {c.name: c for c in result.checks}
    assert first_message(result).startswith("every seed is +4 from the expected one")
    assert checks["draws each index from the network's probabilities"].passed  # judged along its own draws
    assert checks["carries the hidden state"].passed and not checks["draws the expected characters"].passed
    assert 0 < result.score < result.max_score


def test_a_wrong_update_is_not_blamed_on_the_step_when_only_clip_is_wrong(grader):
    cell = factory.edited("optimize", "    gradients = clip(gradients, 5)", "    gradients = clip(gradients, 2)")
    checks = {c.name: c for c in graded(grader, "optimize", cell).checks}
    assert not checks["returns the gradients clipped to [-5, 5]"].passed
    assert checks["updates the parameters in place with learning_rate"].passed  # right for its own gradients


# ---------------------------------------------------------------- the rubric's shares


def test_a_near_miss_in_clip_earns_the_share_the_rubric_gives(grader):
    """Four of five gradients clipped: each per-gradient check pays 4/5, and the checks that do
    not stand alone pay in proportion to what the central ones earned (4/5 of their points)."""
    spec = SPECS["clip"]
    cell = factory.edited("clip", '"db", "dby"]', '"db"]')
    result = graded(grader, "clip", cell)
    share = 4 / 5
    per_gradient = {
        "every gradient lies in [-maxValue, maxValue]",
        "values are clipped element-wise, the rest unchanged",
        "uses maxValue for any bound",
    }
    expected = 0.0
    for check in spec.checks:
        earned = check.points * (share if check.name in per_gradient else 1)
        expected += round(earned * (1 if check.stands_alone else share), 2)
    assert result.score == pytest.approx(expected)
    assert 0 < result.score < spec.points


def test_a_check_that_pays_less_than_its_points_is_never_shown_as_passed(grader):
    result = graded(grader, "clip", factory.edited("clip", '"db", "dby"]', '"db"]'))
    withheld = [c for c in result.checks if c.withheld]
    assert withheld and all(not c.passed and c.points < c.max_points for c in withheld)
    assert all("an answer that does none of the work" in c.feedback for c in withheld)
    shown = feedback_lines(result)
    assert not any(line.startswith("✓") and "/2)" in line and "(2/2)" not in line for line in shown)
    document = json.loads(to_gradescope(SubmissionResult("x.ipynb", "x", {"clip": result}, [])))
    assert all(test["status"] == "failed" for test in document["tests"] if test["score"] < test["max_score"])


# ---------------------------------------------------------------- measured on mistakes written apart


@pytest.mark.slow
def test_mistakes_written_apart_from_the_catalogue_are_named_first_and_never_misled(grader):
    from autograder.authoring.audit import audit_independent

    rows = audit_independent(grader)
    assert len(rows) == len(MISTAKES) >= 20
    unnamed = [(row.id, row.first_feedback) for row in rows if not row.named_first]
    misled = [(row.id, row.misleading) for row in rows if row.misleading]
    assert len(unnamed) <= len(rows) // 10, unnamed  # at least 9 in 10 named first
    assert misled == []
    assert all(0 < row.score < row.max_score for row in rows if row.near_miss), [
        (row.id, row.score) for row in rows if row.near_miss
    ]


def test_a_fixed_number_of_training_steps_is_read_from_the_calls(grader):
    cell = factory.edited("model", "for j in range(num_iterations):", "for j in range(30):")
    said = first_message(graded(grader, "model", cell))
    assert said.startswith("model trained 30 steps (calls of optimize) where num_iterations asked for 43")
