"""The report writers, in-process: JSON, CSV, Gradescope's results.json, the table, the rescue
of a report that cannot be written where asked.  Expected texts are written out by hand from
the formats' definitions (Gradescope's results.json, the CSV's columns)."""

import csv
import json

import pytest

from autograder.grade import report
from autograder.grade.report import CheckResult, FunctionResult, SubmissionResult


def graded(student="ada", errors=()):
    clip = FunctionResult("clip", 15.0, 20.0, [CheckResult("in bounds", True, "passed", 15.0, 15.0),
                                              CheckResult("exact", False, "dWax differs", 0.0, 5.0)], 1.4)  # fmt: skip
    model = FunctionResult("model", 0.0, 30.0, [CheckResult("learning rate", True, "pays nothing alone", 0.0, 3.0)],
                           2.2, called="reference", diagnosis="a known mistake")  # fmt: skip
    return SubmissionResult(f"{student}.ipynb", student, {"clip": clip, "model": model}, list(errors))


def test_does_the_json_report_round_trip_and_say_what_it_scores():
    text = report.to_json([graded(), graded("bob", [report.NOT_GRADED + ": the sandbox"])])
    data = json.loads(text)
    first, second = data["submissions"]
    assert first["score"] == 15.0 and first["max_score"] == 100.0 and second["score"] is None
    assert first["functions"]["model"] == {
        "score": 0.0,
        "max_score": 30.0,
        "seconds": 2.2,
        "called": "reference",
        "diagnosis": "a known mistake",
        "checks": [
            {
                "name": "learning rate",
                "passed": True,
                "feedback": "pays nothing alone",
                "points": 0.0,
                "max_points": 3.0,
            }
        ],
    }
    back = [SubmissionResult.from_dict(entry) for entry in data["submissions"]]
    assert back == [graded(), graded("bob", [report.NOT_GRADED + ": the sandbox"])]
    assert text.startswith(report.REPORT_STARTS[0]) and text.endswith("}\n")


def test_does_the_csv_have_a_row_per_student_with_a_blank_total_for_one_not_graded():
    rows = list(csv.reader(report.to_csv([graded(), graded("bob", [report.NOT_GRADED + ": x"])]).splitlines()))
    assert rows[0] == ["student", "path", "clip", "sample", "optimize", "model", "score", "max_score", "errors"]
    assert rows[1] == ["ada", "ada.ipynb", "15.0", "", "", "0.0", "15.0", "100.0", ""]
    assert rows[2][-3:] == ["", "100.0", "internal grader error: x"]


def test_is_a_check_that_pays_nothing_failed_on_gradescope():
    document = json.loads(report.to_gradescope(graded(errors=["a note"]), preamble="sandbox: yes"))
    assert (
        document["score"] == 15.0 and document["execution_time"] == 4 and document["output"] == "sandbox: yes\na note"
    )
    assert [(t["name"], t["status"], t["score"], t["max_score"]) for t in document["tests"]] == [
        ("clip: in bounds", "passed", 15.0, 15.0), ("clip: exact", "failed", 0.0, 5.0),
        ("model: learning rate", "failed", 0.0, 3.0)]  # fmt: skip
    assert {t["output_format"] for t in document["tests"]} == {"text"} and document["test_output_format"] == "text"


@pytest.mark.parametrize(("student", "folder"), [("ada", "ada"), ("a/b", "a%2Fb"), ("..", "%2E."), (".x", "%2Ex"),
                                                 ("ann lee", "ann lee")])  # fmt: skip
def test_is_every_student_id_one_safe_folder_name(student, folder):
    assert report.folder_name(student) == folder


def test_are_reports_written_where_asked_gradescope_only_for_graded_students_not_skipped(tmp_path):
    results = [graded(), graded("bob", [report.NOT_GRADED + ": x"]), graded("cy")]
    sentences, lost = report.write_reports(results, tmp_path / "g.json", tmp_path / "g.csv", tmp_path / "gs",
                                           skip={"cy"})  # fmt: skip
    assert (sentences, lost) == ([], [])
    assert sorted(p.name for p in (tmp_path / "gs").iterdir()) == ["ada"]
    assert json.loads((tmp_path / "gs" / "ada" / "results.json").read_text())["score"] == 15.0
    assert report.written_by_us(tmp_path / "g.json") and report.written_by_us(tmp_path / "g.csv")
    (tmp_path / "grades.csv").write_text("nbgrader's own\n")
    assert report.foreign_reports(tmp_path / "g.json", tmp_path / "grades.csv", None) == [tmp_path / "grades.csv"]


def test_is_a_report_that_cannot_be_written_rescued_or_said_lost(tmp_path):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    target = blocked / "g.json"  # a folder that is a file: cannot be written
    rescue = tmp_path / "rescued"
    rescue.mkdir()
    sentences, lost = report.write_reports([graded()], target, rescue=lambda: rescue)
    assert lost == [] and sentences == [f"{target} could not be written (File exists); it was written to "
                                        f"{rescue / 'g.json'} instead"]  # fmt: skip
    assert json.loads((rescue / "g.json").read_text())["submissions"][0]["student"] == "ada"
    sentences, lost = report.write_reports([graded()], target)
    assert lost == [target] and sentences[0].endswith(", nor rescued (no folder to rescue it to)")


def test_does_the_table_show_names_as_written_and_not_graded_in_words():
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(report.table([graded("[bold]eve[/bold]"), graded("bob", [report.NOT_GRADED + ": x", "b", "c"])]))
    text = console.export_text()
    assert "[bold]eve[/bold]" in text and "15/20" in text and "0/30" in text and "not graded" in text and "…" in text
