"""Grades as data, and the forms they are written in: JSON, CSV, Gradescope, a terminal table.

Every file is written atomically (a temporary file renamed over the target), so a killed
grader never leaves a half-written gradebook.
"""

import csv
import io
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .paths import GRADED_FUNCTIONS

MAX_SCORE = 100.0


@dataclass
class CheckResult:
    name: str
    passed: bool
    feedback: str
    points: float
    max_points: float

    def to_dict(self):
        return {
            "name": self.name,
            "passed": self.passed,
            "feedback": self.feedback,
            "points": self.points,
            "max_points": self.max_points,
        }


@dataclass
class FunctionResult:
    name: str
    score: float
    max_score: float
    checks: list
    seconds: float = 0.0

    def to_dict(self):
        return {
            "score": self.score,
            "max_score": self.max_score,
            "seconds": round(self.seconds, 3),
            "checks": [c.to_dict() for c in self.checks],
        }

    @classmethod
    def from_dict(cls, name, data):
        checks = [CheckResult(**c) for c in data["checks"]]
        return cls(name, data["score"], data["max_score"], checks, data.get("seconds", 0.0))


@dataclass
class SubmissionResult:
    path: str
    student: str
    functions: dict
    errors: list = field(default_factory=list)

    @property
    def score(self):
        return round(sum(f.score for f in self.functions.values()), 6)

    def to_dict(self):
        return {
            "path": self.path,
            "student": self.student,
            "score": self.score,
            "max_score": MAX_SCORE,
            "functions": {name: f.to_dict() for name, f in self.functions.items()},
            "errors": self.errors,
        }

    @classmethod
    def from_dict(cls, data):
        functions = {name: FunctionResult.from_dict(name, f) for name, f in data["functions"].items()}
        return cls(data["path"], data["student"], functions, list(data.get("errors", [])))


def write_atomically(path, text):
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


def to_json(results):
    return json.dumps({"submissions": [r.to_dict() for r in results]}, indent=2) + "\n"


def to_csv(results):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["student", "path", *GRADED_FUNCTIONS, "score", "max_score", "errors"])
    for r in results:
        scores = [r.functions[name].score if name in r.functions else "" for name in GRADED_FUNCTIONS]
        writer.writerow([r.student, r.path, *scores, r.score, MAX_SCORE, "; ".join(r.errors)])
    return buffer.getvalue()


def to_gradescope(result):
    """Gradescope's results.json for one submission: a test per check, feedback as output."""
    tests = []
    for function in result.functions.values():
        for check in function.checks:
            tests.append(
                {
                    "name": f"{function.name}: {check.name}",
                    "score": check.points,
                    "max_score": check.max_points,
                    "status": "passed" if check.passed else "failed",
                    "output": check.feedback,
                    "visibility": "visible",
                }
            )
    output = "\n".join(result.errors) if result.errors else ""
    return json.dumps({"score": result.score, "output": output, "tests": tests}, indent=2) + "\n"


def write_reports(results, json_path=None, csv_path=None, gradescope_dir=None):
    if json_path:
        write_atomically(json_path, to_json(results))
    if csv_path:
        write_atomically(csv_path, to_csv(results))
    if gradescope_dir:
        for result in results:
            write_atomically(Path(gradescope_dir) / result.student / "results.json", to_gradescope(result))


def table(results):
    """A rich Table: one row per submission, a column per function."""
    from rich.table import Table

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
        grid.add_row(r.student, *cells, f"{r.score:g}", notes)
    return grid
