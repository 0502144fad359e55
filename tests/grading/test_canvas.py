"""Grades for Canvas: the course's gradebook export in, Canvas's import format out."""

import csv
import subprocess
import sys

import pytest

from autograder.build import factory
from autograder.grade.canvas import RosterError, canvas_csv
from autograder.grade.report import SubmissionResult
from autograder.paths import COURSE_ROOT, NOTEBOOK

# The shape of a Canvas gradebook export (header, "Points Possible" row, a row per student).
ROSTER = """\
Student,ID,SIS User ID,SIS Login ID,Section,Homework 1 (4101),Dinosaurus Island (4242)
    Points Possible,,,,,10,100
"Lovelace, Ada",11,S-001,alice,Section A,9,
"Babbage, Charles",12,S-002,bob,Section A,7,
"Hopper, Grace",13,S-003,grace,Section B,10,
"""


def test_does_grade_write_a_canvas_import_and_name_every_submission_it_cannot_place(tmp_path):
    for student in ("alice", "bob", "mallory"):
        factory.write(factory.notebook(), tmp_path / "submitted" / student / "dinosaurus_island" / NOTEBOOK)
    (tmp_path / "roster.csv").write_text(ROSTER)
    out = tmp_path / "canvas.csv"
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(tmp_path / "submitted"), "--json", str(tmp_path / "g.json"),
         "--canvas", str(tmp_path / "roster.csv"), str(out), "--only", "clip"],
        cwd=COURSE_ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Dinosaurus Island (4242)"]
    assert rows[1][0] == "Points Possible" and rows[1][-1] == "100"
    assert {row[3]: row[-1] for row in rows[2:]} == {"alice": "20", "bob": "20", "grace": ""}  # grace: no upload
    assert "mallory" in done.stderr and "matches no student" in done.stderr


def test_two_submissions_for_one_student_are_left_for_the_instructor():
    results = [SubmissionResult("a.ipynb", "bob", {}), SubmissionResult("b.ipynb", "BOB", {})]
    text, problems = canvas_csv(ROSTER, results)
    assert [row[-1] for row in csv.reader(text.splitlines())][2:] == ["", "", ""]
    assert any("two submissions for one student" in p for p in problems)


def test_without_a_column_for_the_assignment_a_new_one_is_made():
    roster = ROSTER.replace(",Dinosaurus Island (4242)", "").replace(",100\n", "\n").replace(",\n", "\n")
    text, _ = canvas_csv(roster, [SubmissionResult("a.ipynb", "S-003", {})])  # matched by SIS user id
    rows = list(csv.reader(text.splitlines()))
    assert rows[0][-1] == "Dinosaurus Island" and rows[4][-1] == "0"


def test_a_file_that_is_not_a_gradebook_export_is_refused_before_grading(tmp_path):
    (tmp_path / "roster.csv").write_text("name,score\nalice,3\n")
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(COURSE_ROOT / "examples"), "--json", str(tmp_path / "g.json"),
         "--canvas", str(tmp_path / "roster.csv"), str(tmp_path / "c.csv")],
        cwd=COURSE_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and "gradebook export" in done.stderr
    assert not (tmp_path / "g.json").exists()
    with pytest.raises(RosterError):
        canvas_csv("", [])
