"""The README's nbgrader walkthrough, run line by line as written, in a copy of the course:
nbgrader's scores equal the CLI's, its feedback shows the checks' messages (wrapped) without the
hidden-test code, and its commands print no warning that is ours to fix.  Among the class, the
example that crashes its process and a notebook whose ungraded cells attack nbgrader itself
(rewrite gradebook.db, plant a file outside the course, patch the grading hook, print the
answer key): no student cell runs in nbgrader (autograder/nbgrader_hook.py), so none of it
happens, and autograde ends with exit status 0."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import nbformat
import pytest
import worlds

from autograder.authoring import factory, styles
from autograder.paths import COURSE_ROOT, EXAMPLES_DIR

pytestmark = pytest.mark.slow
STUDENTS = {
    "alice": factory.notebook(),  # the instructor's solution
    "bob": factory.notebook(
        {
            "clip": styles.CLIP_NO_OUT,
            "sample": styles.SAMPLE_ARGMAX,
            "optimize": styles.OPTIMIZE_FIXED_RATE,
            "model": styles.MODEL_NO_NEWLINE,
        }
    ),
    "carol": None,  # the release as handed out, untouched
    "dave": "attacks nbgrader",  # the release untouched, and ungraded cells that attack (attacking_notebook)
    "erin": EXAMPLES_DIR / "crash.ipynb",  # kills the process that runs it
}
PLANTED = "planted-by-dave"  # beside the course: it must never be written


def attacking_notebook(course):
    """The release as handed out, with ungraded code cells that would, if nbgrader ran them,
    give full marks in the gradebook, plant a file outside the course and print the answer key."""
    nb = nbformat.read(course / "release" / "dinosaurus_island" / "Dinosaurus_Island.ipynb", as_version=4)
    attacks = [
        f"import sqlite3\ndb = sqlite3.connect({str(course / 'gradebook.db')!r})\n"
        "db.execute('UPDATE grade SET auto_score = 100, manual_score = 100')\ndb.commit()",
        f"open({str(course.parent / PLANTED)!r}, 'w').write('ran')",
        "import autograder.nbgrader_hook as hook\n"
        "hook.grade_submission = lambda *a: (_ for _ in ()).throw(SystemExit('patched'))",
        f"print(open({str(course / 'autograder' / 'references' / 'model.json')!r}).read()[:2000])",
    ]
    for at, source in enumerate(attacks, start=1):
        nb.cells.insert(at, nbformat.v4.new_code_cell(source))
    return nb


COURSE_PARTS = ("source", "release", "autograder", "examples", "nbgrader_config.py", "pyproject.toml", "README.md")
NOT_OURS_TO_FIX = ("Removing existing assignment", "Kernel is running over TCP without encryption")


def walkthrough():
    """The README's walkthrough: [(line, command words or None for a comment)], in order."""
    readme = (COURSE_ROOT / "README.md").read_text()
    block = re.search(r"<!-- walkthrough: begin -->\n```bash\n(.*?)```\n<!-- walkthrough: end -->", readme, re.S)
    assert block, "the README has no walkthrough block"
    steps = []
    for line in block.group(1).splitlines():
        words = shlex.split(line, comments=True)
        steps.append((line, words or None))
    return steps


def place_submissions(course):
    release = course / "release" / "dinosaurus_island" / "Dinosaurus_Island.ipynb"
    for student, notebook in STUDENTS.items():
        target = course / "submitted" / student / "dinosaurus_island" / "Dinosaurus_Island.ipynb"
        target.parent.mkdir(parents=True)
        if notebook is None or isinstance(notebook, os.PathLike):
            shutil.copy(notebook or release, target)
        else:
            factory.write(attacking_notebook(course) if isinstance(notebook, str) else notebook, target)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A copy of the course (with the project's .venv), the walkthrough run in it."""
    root = worlds.copy_of_the_course(tmp_path_factory.mktemp("course"), COURSE_PARTS)
    os.symlink(sys.prefix, root / ".venv")  # the README's .venv/bin/… commands, as in a clone
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"  # not activated: what a newcomer's shell has
    printed = {}
    for line, words in walkthrough():
        if words is None:
            if "submitted/<student>/" in line:
                place_submissions(root)
            continue
        done = subprocess.run(words, cwd=root, capture_output=True, text=True, timeout=1800, env=env)
        assert done.returncode == 0, f"{line}\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        printed[words[1] if words[0].endswith("nbgrader") else "cli"] = done.stdout + done.stderr
    assert (root / "submitted" / "carol").exists(), "the walkthrough never said where submissions go"
    return root, printed


def test_does_the_walkthrough_run_every_nbgrader_step(course):
    root, printed = course
    assert list(printed) == ["generate_assignment", "autograde", "generate_feedback", "export", "cli"]
    for student in STUDENTS:
        assert (root / "autograded" / student / "dinosaurus_island" / "Dinosaurus_Island.ipynb").exists()
        assert (root / "feedback" / student / "dinosaurus_island" / "Dinosaurus_Island.html").exists()
    assert (root / "grades.csv").read_text().startswith("assignment,duedate")  # nbgrader's, untouched by the CLI
    assert (root / "dino-grades.csv").read_text().startswith("student,path,clip")


def test_do_nbgrader_and_the_cli_give_the_same_scores(course):
    from nbgrader.api import Gradebook

    root, _ = course
    cli = {s["student"]: s for s in json.loads((root / "dino-grades.json").read_text())["submissions"]}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for student in STUDENTS:
            for function in ("clip", "sample", "optimize", "model"):
                grade = gradebook.find_grade(f"{function}_test", "Dinosaurus_Island", "dinosaurus_island", student)
                assert grade.score == cli[student]["functions"][function]["score"], (student, function)
            assert gradebook.find_submission("dinosaurus_island", student).score == cli[student]["score"]
    assert cli["alice"]["score"] == 100 and 0 < cli["bob"]["score"] < 100 and cli["carol"]["score"] == 0
    assert cli["dave"]["score"] == 0 and cli["erin"]["score"] == 0
    exported = {row.split(",")[3]: float(row.split(",")[-2]) for row in (root / "grades.csv").read_text().split()[1:]}
    assert exported == {student: cli[student]["score"] for student in STUDENTS}


def test_does_feedback_show_messages_wrapped_but_not_the_hidden_tests(course):
    root, _ = course
    html = (root / "feedback" / "bob" / "dinosaurus_island" / "Dinosaurus_Island.html").read_text()
    assert "clip returns every gradient unclipped, as it does when np.clip" in html  # the named mistake
    assert "grade_in_kernel" not in html and "HIDDEN TESTS" not in html
    assert "white-space: pre-wrap" in html  # long advice wraps instead of running off the page


def test_do_nbgrader_commands_print_no_warning_that_is_ours(course):
    _, printed = course
    for command in ("generate_assignment", "autograde", "generate_feedback", "export"):
        warnings = [
            line
            for line in printed[command].splitlines()
            if re.search(r"WARNING|Warning|ERROR", line) and not any(known in line for known in NOT_OURS_TO_FIX)
        ]
        assert warnings == [], (command, warnings)


def test_no_student_cell_ran_in_nbgrader(course):
    root, _ = course
    assert not (root.parent / PLANTED).exists()
    path = root / "autograded" / "dave" / "dinosaurus_island" / "Dinosaurus_Island.ipynb"
    autograded = json.loads(path.read_text())
    outputs = json.dumps([cell.get("outputs", []) for cell in autograded["cells"]])
    assert "__array__" not in outputs and "fingerprint" not in outputs  # no line of the answer key was printed
    crashed = root / "feedback" / "erin" / "dinosaurus_island" / "Dinosaurus_Island.html"
    assert crashed.exists() and "0 of 20 points" in crashed.read_text()  # its 0, and why, in its feedback


def test_a_course_copy_that_cannot_load_the_grader_stops_autograde_before_any_cell_runs(course, tmp_path):
    """traitlets goes on with nbgrader's defaults when a config file raises, and those would run
    every student cell in a kernel: a copy of the course without its link to assignment.py must
    stop autograde with the reason, having autograded nothing."""
    root, _ = course
    broken = tmp_path / "course"
    shutil.copytree(
        root, broken, symlinks=True, ignore=shutil.ignore_patterns("autograded", "feedback", "gradebook.db")
    )
    (broken / "assignment.py").unlink()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run([".venv/bin/nbgrader", "autograde", "dinosaurus_island"], cwd=broken, capture_output=True,
                          text=True, timeout=600, env=env)  # fmt: skip
    assert done.returncode == 1
    assert "could not load the course's grader (ModuleNotFoundError: No module named 'assignment')" in done.stderr
    assert not (broken / "autograded").exists()
