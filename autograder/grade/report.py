"""Grades as data, and the forms they are written in: JSON, CSV, Gradescope, a terminal table.

Every file is written atomically (a temporary file renamed over the target), so a killed
grader never leaves a half-written gradebook.  What students control (ids, paths, messages)
reaches readers as plain text: CSV cells cannot start a spreadsheet formula, and the terminal
table shows names literally (no rich markup; control characters were escaped at intake).
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import urllib.parse
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..paths import GRADED_FUNCTIONS

if TYPE_CHECKING:
    from rich.table import Table

MAX_SCORE = 100.0
NOT_GRADED = "internal grader error"  # how the error of a submission the grader failed on starts


@dataclass
class CheckResult:
    name: str
    passed: bool
    feedback: str
    points: float
    max_points: float
    # Right, but paid nothing: a check that does not stand alone, when no central one earned points
    # (rubric.pay_only_for_work).  Shown as not passed, with its feedback saying why.
    withheld: bool = False

    def to_dict(self) -> dict:
        plain = {
            "name": self.name,
            "passed": self.passed,
            "feedback": self.feedback,
            "points": self.points,
            "max_points": self.max_points,
        }
        return plain | ({"withheld": True} if self.withheld else {})


@dataclass
class FunctionResult:
    name: str
    score: float
    max_score: float
    checks: list
    seconds: float = 0.0
    # Whose versions of the other graded functions it called: "reference" or "own" (the
    # student's, kept only when they gave full marks; see Grader.grade_function); None if none.
    called: str | None = None
    # The catalogued mistake (autograder/faults/) whose outputs the student's are, if exactly one
    # is: its explanation is also the first failed check's feedback.
    diagnosis: str | None = None

    def to_dict(self) -> dict:
        return {
            "score": self.score,
            "max_score": self.max_score,
            "seconds": round(self.seconds, 3),
            "called": self.called,
            "diagnosis": self.diagnosis,
            "checks": [c.to_dict() for c in self.checks],
        }

    @classmethod
    def from_dict(cls, name: str, data: dict) -> FunctionResult:
        checks = [CheckResult(**c) for c in data["checks"]]
        return cls(
            name,
            data["score"],
            data["max_score"],
            checks,
            data.get("seconds", 0.0),
            data.get("called"),
            data.get("diagnosis"),
        )


@dataclass
class SubmissionResult:
    path: str
    student: str
    functions: dict
    errors: list = field(default_factory=list)

    @property
    def score(self) -> float:
        return round(sum(f.score for f in self.functions.values()), 6)

    @property
    def graded(self) -> bool:
        """False when the grader failed on this submission (it is to be regraded, not scored 0)."""
        return not any(error.startswith(NOT_GRADED) for error in self.errors)

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "student": self.student,
            "score": self.score if self.graded else None,
            "max_score": MAX_SCORE,
            "functions": {name: f.to_dict() for name, f in self.functions.items()},
            "errors": self.errors,
        }

    @classmethod
    def from_dict(cls, data: dict) -> SubmissionResult:
        functions = {name: FunctionResult.from_dict(name, f) for name, f in data["functions"].items()}
        return cls(data["path"], data["student"], functions, list(data.get("errors", [])))


def write_atomically(path: Path | str, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def to_json(results: list[SubmissionResult]) -> str:
    return json.dumps({"submissions": [r.to_dict() for r in results]}, indent=2) + "\n"


def spreadsheet_text(value: str) -> str:
    """A text cell no spreadsheet runs as a formula (OWASP's advice: a leading quote)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def to_csv(results: list[SubmissionResult]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for r in results:
        scores = [r.functions[name].score if name in r.functions else "" for name in GRADED_FUNCTIONS]
        texts = [spreadsheet_text(t) for t in (r.student, r.path, "; ".join(r.errors))]
        writer.writerow([texts[0], texts[1], *scores, r.score if r.graded else "", MAX_SCORE, texts[2]])
    return buffer.getvalue()


CSV_COLUMNS = ["student", "path", *GRADED_FUNCTIONS, "score", "max_score", "errors"]
# How the grader's own reports begin (to_json, to_csv): a file that begins otherwise is not ours.
REPORT_STARTS = ('{\n  "submissions": [', ",".join(CSV_COLUMNS) + "\r\n")


def written_by_us(path: Path | str) -> bool:
    """Whether the existing file ``path`` is a report this grader writes (so may be replaced)."""
    try:
        with open(path, "rb") as file:
            head = file.read(4096).decode("utf-8", errors="replace")
    except OSError:
        return False
    return head.startswith(REPORT_STARTS)


def foreign_reports(*paths: Path | str | None) -> list[Path | str]:
    """The given report paths that exist but hold something this grader did not write."""
    return [path for path in paths if path and Path(path).exists() and not written_by_us(path)]


def to_gradescope(result: SubmissionResult, preamble: str = "") -> str:
    """Gradescope's results.json for one submission: a test per check, feedback as plain text.
    A check is "passed" only when it pays its points: one that passed but pays nothing (see
    rubric.pay_only_for_work) is shown as failed, with its feedback saying why."""
    tests = []
    for function in result.functions.values():
        for check in function.checks:
            paid = check.passed and check.points >= check.max_points
            tests.append(
                {
                    "name": f"{function.name}: {check.name}",
                    "score": check.points,
                    "max_score": check.max_points,
                    "status": "passed" if paid else "failed",
                    "output": check.feedback,
                    "output_format": "text",
                    "visibility": "visible",
                }
            )
    output = "\n".join(filter(None, [preamble, *result.errors]))
    document = {
        "score": result.score,
        "execution_time": round(sum(f.seconds for f in result.functions.values())),
        "output": output,
        "output_format": "text",
        "test_output_format": "text",
        "tests": tests,
    }
    return json.dumps(document, indent=2) + "\n"


def folder_name(student: str) -> str:
    """A single, safe folder name for a student id (ids may hold "/", or be ".." as a file's stem)."""
    quoted = urllib.parse.quote(student, safe=" ")
    return "%2E" + quoted[1:] if quoted.startswith(".") else quoted


def write_reports(
    results: list[SubmissionResult],
    json_path: Path | str | None = None,
    csv_path: Path | str | None = None,
    gradescope_dir: Path | str | None = None,
    skip: Collection[str] = (),
    rescue: Callable[[], Path] | None = None,
) -> tuple[list[str], list[str]]:
    """Write the reports asked for (Gradescope's for every graded student id not in ``skip``).  A report
    that cannot be written is written into the folder ``rescue()`` gives instead (under the
    same name).  Returns (a sentence for each report not written where asked, the targets of
    those written nowhere)."""
    reports = []  # (target, its name in the rescue folder, text)
    if json_path:
        reports.append((Path(json_path), Path(json_path).name, to_json(results)))
    if csv_path:
        reports.append((Path(csv_path), Path(csv_path).name, to_csv(results)))
    for result in results if gradescope_dir else []:
        if result.student not in skip and result.graded:  # never a 0 for a submission not graded
            name = Path(folder_name(result.student)) / "results.json"
            reports.append((Path(gradescope_dir) / name, Path("gradescope") / name, to_gradescope(result)))
    sentences, lost, folder = [], [], None
    for target, rescued_name, text in reports:
        try:
            write_atomically(target, text)
            continue
        except OSError as error:
            problem = f"{target} could not be written ({error.strerror or error})"
        try:
            folder = folder or (rescue() if rescue else None)
            if folder is None:
                raise OSError("no folder to rescue it to")
            write_atomically(folder / rescued_name, text)
            sentences.append(f"{problem}; it was written to {folder / rescued_name} instead")
        except OSError as error:
            sentences.append(f"{problem}, nor rescued ({error})")
            lost.append(target)
    return sentences, lost


def table(results: list[SubmissionResult]) -> Table:
    """A rich Table: one row per submission, a column per function."""
    from rich.table import Table
    from rich.text import Text

    grid = Table(title="Dinosaurus Island — grades", show_lines=False)
    grid.add_column("student")
    for name in GRADED_FUNCTIONS:
        grid.add_column(name, justify="right")
    grid.add_column("total", justify="right", style="bold")
    grid.add_column("notes", overflow="fold")
    for r in results:
        cells = []
        for name in GRADED_FUNCTIONS:
            f = r.functions.get(name)
            cells.append("" if f is None else f"{f.score:g}/{f.max_score:g}")
        notes = "; ".join(r.errors[:2]) + (" …" if len(r.errors) > 2 else "")
        total = f"{r.score:g}" if r.graded else "not graded"
        grid.add_row(Text(r.student), *cells, total, Text(notes))  # Text: shown as written, never as markup
    return grid
