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


def rendered(results, width=200, styles=False):
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, record=True, color_system="standard", force_terminal=True)
    console.print(report.table(results))
    return console.export_text(styles=styles)


def test_does_the_table_have_a_column_per_function_in_order_and_right_aligned_scores():
    text = rendered([graded()])
    assert "Dinosaurus Island — grades" in text
    header = next(line for line in text.splitlines() if "student" in line)
    assert [word for word in header.replace("┃", " ").split()] == ["student", "clip", "sample", "optimize", "model",
                                                                   "total", "notes"]  # fmt: skip
    row = next(line for line in text.splitlines() if "ada" in line)
    cells = [cell for cell in row.split("│")[1:-1]]
    assert [cell.strip() for cell in cells] == ["ada", "15/20", "", "", "0/30", "15", ""]
    assert cells[1].endswith("15/20 ") and cells[4].endswith("0/30 ")  # right-aligned: only the pad after
    assert cells[0].startswith(" ada")  # names left-aligned


def test_does_the_table_show_two_notes_and_mark_the_rest_and_print_the_total_bold():
    text = rendered([graded("bob", ["first", "second", "third"])])
    assert "first; second …" in text and "third" not in text
    assert "first; second" in rendered([graded("cy", ["first", "second"])]) and "…" not in rendered(
        [graded("cy", ["first", "second"])]
    )
    assert "\x1b[1m   15\x1b[0m" in rendered([graded()], styles=True)  # the total, bold (and right-aligned)


def test_does_a_long_note_wrap_in_full_rather_than_be_cut():
    note = "x" * 300
    text = rendered([graded("dee", [note])], width=120)
    assert text.count("x") == 300


def test_is_a_report_replaced_atomically_and_nothing_left_behind(tmp_path):
    target = tmp_path / "deep" / "g.json"
    report.write_atomically(target, "first\r\n")
    assert target.read_bytes() == b"first\r\n"  # written as given: no newline translation
    report.write_atomically(target, "second")
    assert target.read_text() == "second" and sorted(p.name for p in target.parent.iterdir()) == ["g.json"]


def test_is_a_failed_write_cleaned_up(tmp_path, monkeypatch):
    import os

    def refuse(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", refuse)
    with pytest.raises(OSError, match="No space left"):
        report.write_atomically(tmp_path / "g.json", "text")
    assert list(tmp_path.iterdir()) == []  # neither the report nor its temporary file


@pytest.mark.parametrize(
    ("head", "ours"),
    [
        ('{\n  "submissions": [', True),
        (",".join(report.CSV_COLUMNS) + "\r\n", True),
        ('{"submissions": []}', False),  # not as this grader writes it
        (",".join(report.CSV_COLUMNS) + "\n", False),
        ("assignment,duedate,timestamp", False),  # nbgrader's grades.csv
        ("", False),
    ],
)
def test_is_only_a_report_this_grader_wrote_replaced(tmp_path, head, ours):
    path = tmp_path / "report"
    path.write_bytes(head.encode() + b"\xff rest")
    assert report.written_by_us(path) is ours
    assert report.written_by_us(tmp_path / "missing") is False
    assert report.foreign_reports(path) == ([] if ours else [path])


def test_does_gradescope_get_every_field_of_a_check(tmp_path):
    document = json.loads(report.to_gradescope(graded()))
    assert document["tests"][1] == {
        "name": "clip: exact", "score": 0.0, "max_score": 5.0, "status": "failed", "output": "dWax differs",
        "output_format": "text", "visibility": "visible",
    }  # fmt: skip
    assert document["output"] == "" and document["output_format"] == "text"
    assert report.to_gradescope(graded()).endswith("}\n")


def test_a_report_is_written_beside_its_target_under_a_hidden_temporary_name(tmp_path, monkeypatch):
    """The temporary file is in the target's own folder (so the final rename is atomic), hidden,
    and named after the report."""
    import os

    renamed = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda source, target: renamed.append(source) or real_replace(source, target))
    report.write_atomically(tmp_path / "g.json", "x")
    (source,) = renamed
    assert os.path.dirname(source) == str(tmp_path)
    assert os.path.basename(source).startswith(".g.json.") and source.endswith(".tmp")
