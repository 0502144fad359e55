"""Grades in Canvas's gradebook import format, from the course's own gradebook export.

Canvas exports a gradebook as CSV: a header row (``Student`` or ``Last Name, First Name``, then
``ID, SIS User ID, SIS Login ID, Section``, then a column per assignment, named ``Title (id)``),
rows that are not students (``Points Possible``, and on some courses a ``Manual Posting`` row
before it; they have no ID), then a row per student.  Where the locale writes decimal commas the
separator is a semicolon; the file may start with a byte-order mark.  Importing a CSV of the
same shape updates the columns it holds.

We write the identifying columns of every student in the export and one column for this
assignment: the export's own column for it when one matches, else a new ``Dinosaurus Island``
column (Canvas then creates the assignment).  Scores are scaled to the assignment's points, read
from the export's Points Possible row (an assignment worth 50 points gets 43.5 for 87 of 100).
Submissions are matched to students by login id, SIS user id or Canvas id, against the
submission's student id (its folder name); an id that names two different students is refused.
A student this file gives no new grade keeps the value the export holds (so an import changes
nothing for them); every submission that matches no one, or that was not graded, is reported,
never silently dropped.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from .report import MAX_SCORE, SubmissionResult

IDENTIFYING = ("Student", "Last Name", "First Name", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Section")
MATCHED_BY = ("SIS Login ID", "SIS User ID", "ID")
NEW_COLUMN = "Dinosaurus Island"
POINTS_ROW = "Points Possible"


class RosterError(ValueError):
    """The roster is not a Canvas gradebook export, or cannot be written back as one."""


@dataclass
class Roster:
    header: list
    delimiter: str  # "," or ";" (then numbers are written with a decimal comma, as the export's are)
    points: dict  # {column: the Points Possible row's cell}
    students: list  # {column: cell} per student row

    def number(self, value: float) -> str:
        text = f"{round(value, 4):g}"
        return text.replace(".", ",") if self.delimiter == ";" else text

    def read_number(self, text: str) -> float | None:
        try:
            return float(text.strip().replace(",", ".")) if text and text.strip() else None
        except ValueError:
            return None


def _delimiter(text):
    """The export's separator: the header line's semicolons outnumber its commas only in a
    decimal-comma locale's export."""
    first = text.split("\n", 1)[0]
    return ";" if first.count(";") > first.count(",") else ","


def read_roster(text: str) -> Roster:
    """The Roster of a Canvas gradebook export."""
    text = text.lstrip("\ufeff")
    delimiter = _delimiter(text)
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    header = [name.strip() for name in rows[0]] if rows else []
    named = "Student" in header or {"Last Name", "First Name"} <= set(header)
    if not named or "ID" not in header:
        raise RosterError(
            "the roster must be Canvas's gradebook export (a CSV whose header has Student, or Last Name and "
            "First Name, and ID)"
        )
    points, students = {}, []
    for row in rows[1:]:
        cells = dict(zip(header, row, strict=False))
        if not any(cell.strip() for cell in row):
            continue
        if row[0].strip() == POINTS_ROW:
            points = cells
        elif (cells.get("ID") or "").strip():  # Manual Posting and other rows about the columns have no ID
            students.append(cells)
    return Roster(header, delimiter, points, students)


def assignment_column(header: list[str], wanted: str | None = None) -> str:
    """The export's column for this assignment: ``wanted`` if given, else the one whose name
    mentions Dinosaurus; a new column when there is none."""
    if wanted:
        if wanted not in header:
            raise RosterError(f"the roster has no column {wanted!r}")
        return wanted
    found = [name for name in header if "dinosaurus" in name.lower()]
    if len(found) > 1:
        raise RosterError(f"several columns could be this assignment ({', '.join(found)}): name one")
    return found[0] if found else NEW_COLUMN


def _who(student):
    return student.get("Student") or " ".join(filter(None, (student.get("First Name"), student.get("Last Name"))))


class Matcher:
    """Finds the roster's student a submission's id names (login id, SIS user id or Canvas id)."""

    def __init__(self, students):
        self.students, self.keys = students, {}
        for index, student in enumerate(students):
            for field in MATCHED_BY:
                value = (student.get(field) or "").strip().lower()
                if value:
                    self.keys.setdefault(value, {}).setdefault(index, field)

    def find(self, student_id: str) -> tuple[int | None, str | None]:
        """(index, None), (None, None) when no one matches, or (None, why) when two students do."""
        found = self.keys.get(student_id.strip().lower(), {})
        if len(found) > 1:
            named = " and ".join(f"{_who(self.students[i])}'s {field}" for i, field in sorted(found.items()))
            return None, f"{student_id} is {named}: not written, enter it by hand"
        return next(iter(found), None), None


def canvas_csv(roster_text: str, results: list[SubmissionResult], column: str | None = None) -> tuple[str, list[str]]:
    """(the CSV to import, [sentences about what was not written]) for ``results``."""
    roster = read_roster(roster_text)
    column = assignment_column(roster.header, column)
    problems = []
    possible = roster.read_number(roster.points.get(column, ""))
    if possible is None:
        possible = MAX_SCORE
        if column in roster.header:
            problems.append(f"the export gives no Points Possible for {column}: scores are written out of 100")
    matcher = Matcher(roster.students)
    scores, claimed, disputed = {}, {}, set()
    for result in results:
        index, ambiguous = matcher.find(result.student)
        if ambiguous:
            problems.append(ambiguous)
        elif index is None:
            problems.append(f"{result.student} ({result.path}) matches no student of the roster: not written")
        elif not result.graded:
            problems.append(f"{result.student} was not graded (regrade it): left as it was")
        elif index in claimed:
            problems.append(f"{result.student}: two submissions for one student ({claimed[index]}, {result.path}): "
                            "left as it was, decide which counts")  # fmt: skip
            disputed.add(index)
        else:
            claimed[index], scores[index] = result.path, result.score * possible / MAX_SCORE
    identifying = [name for name in roster.header if name in IDENTIFYING]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=roster.delimiter)
    writer.writerow([*identifying, column])
    writer.writerow([POINTS_ROW, *[""] * (len(identifying) - 1), roster.number(possible)])
    for index, student in enumerate(roster.students):
        new = index in scores and index not in disputed
        cell = roster.number(scores[index]) if new else student.get(column, "")  # untouched: what Canvas holds
        writer.writerow([*(student.get(name, "") for name in identifying), cell])
    return out.getvalue(), problems
