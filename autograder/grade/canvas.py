"""Grades in Canvas's gradebook import format, from the course's own gradebook export.

Canvas exports a gradebook as CSV: a header row (``Student, ID, SIS User ID, SIS Login ID,
Section``, then a column per assignment, named ``Title (id)``), a ``Points Possible`` row, then a
row per student.  Importing a CSV of the same shape updates the columns it holds.  We write the
identifying columns of every student in the export and one column for this assignment: the
export's own column for it when one matches, else a new ``Dinosaurus Island`` column (Canvas
then creates the assignment).  Submissions are matched to students by login id, then SIS user
id, then Canvas id, against the submission's student id (its folder name); every submission
that matches no one, or that was not graded, is reported, never silently dropped.
"""

import csv
import io

from .report import MAX_SCORE

IDENTIFYING = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MATCHED_BY = ("SIS Login ID", "SIS User ID", "ID")
NEW_COLUMN = "Dinosaurus Island"


class RosterError(ValueError):
    """The roster is not a Canvas gradebook export."""


def read_roster(text):
    """(header, points row or None, student rows as dicts) of a Canvas gradebook export."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows or not {"Student", "ID"} <= set(rows[0]):
        raise RosterError("the roster must be Canvas's gradebook export (a CSV whose header has Student and ID)")
    header, body = rows[0], [row for row in rows[1:] if any(cell.strip() for cell in row)]
    points = body.pop(0) if body and body[0] and body[0][0].strip() == "Points Possible" else None
    students = [dict(zip(header, row, strict=False)) for row in body]
    return header, points, students


def assignment_column(header, wanted=None):
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


def canvas_csv(roster_text, results, column=None):
    """(the CSV to import, [sentences about submissions not written]) for ``results``."""
    header, _, students = read_roster(roster_text)
    column = assignment_column(header, column)
    keys = {}
    for index, student in enumerate(students):
        for field in MATCHED_BY:
            value = (student.get(field) or "").strip().lower()
            if value:
                keys.setdefault(value, index)
    scores, problems, claimed = {}, [], {}
    for result in results:
        index = keys.get(result.student.strip().lower())
        if index is None:
            problems.append(f"{result.student} ({result.path}) matches no student of the roster: not written")
        elif not result.graded:
            problems.append(f"{result.student} was not graded (regrade it): left blank")
        elif index in claimed:
            problems.append(f"{result.student}: two submissions for one student ({claimed[index]}, {result.path}): "
                            "left blank, decide which counts")  # fmt: skip
            scores[index] = ""
        else:
            claimed[index], scores[index] = result.path, f"{result.score:g}"
    identifying = [name for name in IDENTIFYING if name in header]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*identifying, column])
    writer.writerow(["Points Possible", *[""] * (len(identifying) - 1), f"{MAX_SCORE:g}"])
    for index, student in enumerate(students):
        writer.writerow([*(student.get(name, "") for name in identifying), scores.get(index, "")])
    return out.getvalue(), problems
