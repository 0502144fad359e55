"""Grades for Canvas: the course's gradebook export in, Canvas's import format out."""

import csv
import subprocess
import sys

import pytest

from autograder.authoring import factory
from autograder.grade.canvas import RosterError, canvas_csv
from autograder.grade.report import FunctionResult, SubmissionResult, to_json
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


def graded(student, score):
    """A graded submission of ``student`` worth ``score`` of 100."""
    return SubmissionResult(f"{student}.ipynb", student, {"model": FunctionResult("model", score, 100.0, [])})


# As Canvas writes an export where one assignment posts its grades by hand and is worth 50 points:
# the Manual Posting row comes first, then Points Possible; Grace already has a grade.
FIFTY_POINTS = """\
Student,ID,SIS User ID,SIS Login ID,Section,Homework 1 (4101),Dinosaurus Island (4242)
,,,,,,Manual Posting
    Points Possible,,,,,10,50.00
"Lovelace, Ada",11,S-001,alice,Section A,9,
"Babbage, Charles",12,S-002,bob,Section A,7,
"Hopper, Grace",13,S-003,grace,Section B,10,41.5
"""


def rows_of(text, delimiter=","):
    return list(csv.reader(text.splitlines(), delimiter=delimiter))


def test_scores_are_scaled_to_the_points_the_assignment_is_worth_wherever_that_row_stands():
    text, problems = canvas_csv(FIFTY_POINTS, [graded("alice", 87.0), graded("bob", 100.0)])
    rows = rows_of(text)
    assert rows[1] == ["Points Possible", "", "", "", "", "50"]
    assert {row[3]: row[-1] for row in rows[2:]} == {"alice": "43.5", "bob": "50", "grace": "41.5"}
    assert problems == []


def test_a_student_without_a_new_grade_keeps_the_grade_canvas_holds():
    """Grace submitted nothing this time: her cell carries the export's value, so the import
    changes nothing for her whatever Canvas does with a blank cell."""
    text, _ = canvas_csv(FIFTY_POINTS, [graded("alice", 10.0)])
    assert [row[-1] for row in rows_of(text)[2:]] == ["5", "", "41.5"]


def test_a_decimal_comma_export_is_read_and_written_with_semicolons():
    roster = "\ufeff" + FIFTY_POINTS.replace(",", ";").replace('"Lovelace; Ada"', '"Lovelace, Ada"')
    roster = roster.replace("Babbage; Charles", "Babbage, Charles").replace("Hopper; Grace", "Hopper, Grace")
    roster = roster.replace("50.00", "50,00").replace("41.5", "41,5")
    text, problems = canvas_csv(roster, [graded("alice", 87.0)])
    rows = rows_of(text, ";")
    assert rows[0][0] == "Student" and rows[1][-1] == "50"
    assert {row[3]: row[-1] for row in rows[2:]} == {"alice": "43,5", "bob": "", "grace": "41,5"}
    assert rows[2][0] == "Lovelace, Ada" and problems == []


def test_an_export_with_last_and_first_name_columns_is_accepted():
    roster = """\
Last Name,First Name,ID,SIS User ID,SIS Login ID,Section,Dinosaurus Island (4242)
Points Possible,,,,,,100
Lovelace,Ada,11,S-001,alice,Section A,
Hopper,Grace,13,S-003,grace,Section B,
"""
    text, _ = canvas_csv(roster, [graded("grace", 80.0)])
    rows = rows_of(text)
    assert rows[0] == ["Last Name", "First Name", "ID", "SIS User ID", "SIS Login ID", "Section",
                       "Dinosaurus Island (4242)"]  # fmt: skip
    assert rows[3] == ["Hopper", "Grace", "13", "S-003", "grace", "Section B", "80"]


def test_an_id_that_names_two_students_is_refused_naming_both():
    """Bob's login is 13, which is also Grace's Canvas id: a submission from "13" is neither's."""
    roster = FIFTY_POINTS.replace(",S-002,bob,", ",S-002,13,")
    text, problems = canvas_csv(roster, [graded("13", 90.0)])
    assert [row[-1] for row in rows_of(text)[2:]] == ["", "", "41.5"]
    assert problems == ["13 is Babbage, Charles's SIS Login ID and Hopper, Grace's ID: not written, enter it by hand"]


def test_the_canvas_command_writes_the_import_from_an_existing_report_without_grading(tmp_path):
    (tmp_path / "grades.json").write_text(to_json([graded("alice", 87.0), graded("mallory", 50.0)]))
    (tmp_path / "roster.csv").write_text(FIFTY_POINTS)
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "canvas", str(tmp_path / "grades.json"), str(tmp_path / "roster.csv"),
         str(tmp_path / "canvas.csv")],
        cwd=COURSE_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "sandbox" not in done.stderr  # nothing was run
    assert {row[3]: row[-1] for row in rows_of((tmp_path / "canvas.csv").read_text())[2:]} == {
        "alice": "43.5", "bob": "", "grace": "41.5"}  # fmt: skip
    assert "mallory" in done.stderr and "matches no student" in done.stderr
    (tmp_path / "broken.json").write_text("{")
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "canvas", str(tmp_path / "broken.json"), str(tmp_path / "roster.csv"),
         str(tmp_path / "c2.csv")],
        cwd=COURSE_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and "not a JSON report" in done.stderr and not (tmp_path / "c2.csv").exists()


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"], ids=["equals", "plus", "minus", "at", "tab", "cr"])
def test_every_text_a_spreadsheet_would_run_as_a_formula_is_quoted_in_the_csv_gradebook(lead):
    """OWASP's CSV-injection list, each leading character on its own: a student id, a path and an
    error message that begin with it are written with a leading quote; the same texts without it,
    as they are."""
    from autograder.grade.report import to_csv

    hostile = SubmissionResult(f"{lead}cmd|' /C calc'!A0.ipynb", f"{lead}HYPERLINK(1)", {}, [f"{lead}2+3"])
    harmless = SubmissionResult("x.ipynb", "HYPERLINK(1)", {}, ["2+3"])
    rows = list(csv.reader(to_csv([hostile, harmless]).splitlines(keepends=True)))
    assert rows[1][0] == f"'{lead}HYPERLINK(1)" and rows[1][1].startswith(f"'{lead}cmd")
    assert rows[1][-1] == f"'{lead}2+3"
    assert rows[2][0] == "HYPERLINK(1)" and rows[2][-1] == "2+3"


def test_each_roster_problem_is_refused_with_its_own_message():
    with pytest.raises(RosterError) as refused:
        canvas_csv("Name,ID\nx,1\n", [])
    assert str(refused.value) == ("the roster must be Canvas's gradebook export (a CSV whose header has Student, "
                                  "or Last Name and First Name, and ID)")  # fmt: skip
    two = ROSTER.replace("Homework 1 (4101)", "Dinosaurus Island resubmission (4243)")
    with pytest.raises(RosterError) as refused:
        canvas_csv(two, [])
    assert str(refused.value) == ("several columns could be this assignment (Dinosaurus Island resubmission (4243), "
                                  "Dinosaurus Island (4242)): name one")  # fmt: skip
    assert (
        canvas_csv(two, [], column="Dinosaurus Island (4242)")[0].splitlines()[0].endswith(",Dinosaurus Island (4242)")
    )
    with pytest.raises(RosterError) as refused:
        canvas_csv(ROSTER, [], column="Homework 2")
    assert str(refused.value) == "the roster has no column 'Homework 2'"


def test_without_a_points_possible_row_scores_are_out_of_100_and_said_so():
    roster = "Student,ID,SIS Login ID,Dinosaurus Island (4242)\nAda,11,alice,7\nBob,12,bob,\n"
    text, problems = canvas_csv(roster, [graded("alice", 87.5), graded("zed", 1.0), graded_not("bob")])
    assert rows_of(text) == [
        ["Student", "ID", "SIS Login ID", "Dinosaurus Island (4242)"],
        ["Points Possible", "", "", "100"],
        ["Ada", "11", "alice", "87.5"],
        ["Bob", "12", "bob", ""],
    ]
    assert problems == [
        "the export gives no Points Possible for Dinosaurus Island (4242): scores are written out of 100",
        "zed (zed.ipynb) matches no student of the roster: not written",
        "bob was not graded (regrade it): left as it was",
    ]


def graded_not(student):
    from autograder.grade.report import NOT_GRADED

    return SubmissionResult(f"{student}.ipynb", student, {}, [NOT_GRADED + ": the sandbox could not start"])


def test_two_submissions_for_one_student_leave_canvas_s_value_and_say_which():
    text, problems = canvas_csv(FIFTY_POINTS, [graded("alice", 80.0), graded("S-001", 60.0)])
    assert [row[-1] for row in rows_of(text)[2:]] == ["", "", "41.5"]  # Ada's cell: as the export holds it
    assert problems == ["S-001: two submissions for one student (alice.ipynb, S-001.ipynb): left as it was, decide "
                        "which counts"]  # fmt: skip


def test_ids_match_whatever_their_case_and_spacing_and_scores_keep_four_decimals():
    text, problems = canvas_csv(FIFTY_POINTS, [graded(" ALICE ", 87.123456), graded("s-002", 100.0)])
    assert {row[3]: row[-1] for row in rows_of(text)[2:]} == {"alice": "43.5617", "bob": "50", "grace": "41.5"}
    assert problems == []


def test_a_clash_in_a_last_and_first_name_export_names_both_students_first_name_first():
    roster = """\
Last Name,First Name,ID,SIS Login ID,Dinosaurus Island (4242)
Points Possible,,,,100
Lovelace,Ada,11,13,
Hopper,Grace,13,grace,

 ,,,,
Manual Posting,,,,
"""
    text, problems = canvas_csv(roster, [graded("13", 90.0)])
    assert problems == ["13 is Ada Lovelace's SIS Login ID and Grace Hopper's ID: not written, enter it by hand"]
    assert len(rows_of(text)) == 4  # the blank rows and the row without an ID are not students


@pytest.mark.parametrize(("header", "delimiter"), [("a;b;c,d", ";"), ("a;b,c,d", ","), ("a;b,c", ",")])
def test_the_separator_is_the_header_s_commoner_one_commas_on_a_tie(header, delimiter):
    from autograder.grade import canvas

    assert canvas._delimiter(header + "\nx;y;z;w\n") == delimiter
