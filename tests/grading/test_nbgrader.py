"""nbgrader autograde in this course directory gives the CLI's scores, and its feedback
shows the checks' messages without the hidden-test code."""

import os
import shutil
import subprocess
import sys

import factory
import pytest
import styles

from autograder.assign import tool_environment
from autograder.paths import COURSE_ROOT

STUDENTS = {
    "alice": {},  # the instructor's solution
    "bob": {
        "clip": styles.CLIP_NO_OUT,
        "sample": styles.SAMPLE_ARGMAX,
        "optimize": styles.OPTIMIZE_FIXED_RATE,
        "model": styles.MODEL_NO_NEWLINE,
    },
}


def nbgrader(course, *args):
    env = {k: v for k, v in tool_environment().items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True, text=True, timeout=1800, env=env
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A copy of the course with two submissions, autograded by nbgrader and by the CLI."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(COURSE_ROOT / "source", root / "source", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(COURSE_ROOT / "autograder", root / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", root)
    os.symlink("source/dinosaurus_island/utils", root / "utils")
    nbgrader(root, "generate_assignment", "dinosaurus_island")
    for student, cells in STUDENTS.items():
        factory.write(
            factory.notebook(cells), root / "submitted" / student / "dinosaurus_island" / "Dinosaurus_Island.ipynb"
        )
    nbgrader(root, "autograde", "dinosaurus_island")
    nbgrader(root, "generate_feedback", "dinosaurus_island")
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "grade",
            str(root / "submitted"),
            "--json",
            str(root / "cli.json"),
            "--jobs",
            "2",
        ],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 0, cli.stderr
    return root


@pytest.mark.slow
def test_do_nbgrader_and_the_cli_give_the_same_scores(course):
    import json

    from nbgrader.api import Gradebook

    cli = {s["student"]: s for s in json.loads((course / "cli.json").read_text())["submissions"]}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in STUDENTS:
            for function in ("clip", "sample", "optimize", "model"):
                grade = gradebook.find_grade(f"{function}_test", "Dinosaurus_Island", "dinosaurus_island", student)
                assert grade.score == cli[student]["functions"][function]["score"], (student, function)
            assert gradebook.find_submission("dinosaurus_island", student).score == cli[student]["score"]
    assert cli["alice"]["score"] == 100 and cli["bob"]["score"] < 100


@pytest.mark.slow
def test_does_feedback_show_messages_but_not_the_hidden_tests(course):
    html = (course / "feedback" / "bob" / "dinosaurus_island" / "Dinosaurus_Island.html").read_text()
    assert "np.clip returns a new array unless you pass out=" in html
    assert "grade_in_kernel" not in html and "HIDDEN TESTS" not in html
