"""The command line and the batch: reports in every format, exit codes, resuming."""

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from autograder import faults
from autograder.authoring import factory, styles
from autograder.grade import batch
from autograder.grade.report import SubmissionResult
from autograder.grade.resume import ResumeFile
from autograder.paths import COURSE_ROOT, EXAMPLES_DIR, RELEASE_DIR, SOURCE_DIR

ONLY = ("clip", "sample")  # fast functions, so the batch tests stay quick


def cli(*args, timeout=900):
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args], cwd=COURSE_ROOT, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def course(tmp_path):
    """An nbgrader-style submitted/ folder with three students."""
    root = tmp_path / "submitted"
    factory.write(factory.notebook(), root / "alice" / "dinosaurus_island" / "Dinosaurus_Island.ipynb")
    factory.write(
        factory.notebook({"clip": styles.CLIP_NO_OUT}), root / "bob" / "dinosaurus_island" / "Dinosaurus_Island.ipynb"
    )
    factory.write("{ broken", root / "carol" / "dinosaurus_island" / "Dinosaurus_Island.ipynb")
    return root


def test_does_grade_write_json_csv_and_gradescope_with_the_promised_keys(course, tmp_path):
    out = tmp_path / "out"
    done = cli(
        "grade",
        str(course),
        "--json",
        str(out / "g.json"),
        "--csv",
        str(out / "g.csv"),
        "--gradescope",
        str(out / "gs"),
        "--jobs",
        "2",
        "--only",
        *ONLY,
    )
    assert done.returncode == 0, done.stderr
    assert "alice" in done.stdout and "Dinosaurus Island" in done.stdout  # the table

    report = json.loads((out / "g.json").read_text())
    students = {s["student"]: s for s in report["submissions"]}
    assert sorted(students) == ["alice", "bob", "carol"]
    for submission in report["submissions"]:
        assert set(submission) >= {"path", "student", "score", "max_score", "functions", "errors"}
        assert submission["max_score"] == 100.0
        for function in submission["functions"].values():
            assert set(function) >= {"score", "max_score", "checks"}
            for check in function["checks"]:
                assert set(check) >= {"name", "passed", "feedback"}
    # bob's clip changes nothing (np.clip without out=): 0 of 20 by the rubric; sample 30 of 30.
    assert students["alice"]["score"] == 50 and students["bob"]["score"] == 30 and students["carol"]["score"] == 0
    assert students["carol"]["errors"]

    rows = list(csv.DictReader((out / "g.csv").open()))
    assert [r["student"] for r in rows] == ["alice", "bob", "carol"]
    assert rows[1]["clip"] == "0.0" and rows[1]["sample"] == "30.0"

    gradescope = json.loads((out / "gs" / "bob" / "results.json").read_text())
    assert gradescope["score"] == 30
    assert all(set(t) >= {"name", "score", "max_score", "output"} for t in gradescope["tests"])
    assert not list(out.rglob("*.tmp")) and not list(out.glob("*.partial.jsonl"))


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["grade", "--json", "x.json"], "required"),
        (["grade", "nowhere/", "--json", "/tmp/x.json"], "no such file or folder: nowhere"),
        (["grade", "README.md", "--json", "/dev/null/x.json"], "error:"),
        (["grade", "examples/submissions", "--json", "/tmp/x.json", "--jobs", "0"], "--jobs"),
        (["grade", "examples/submissions"], "--json"),
    ],
)
def test_is_misuse_a_clear_message_and_exit_2(arguments, message):
    done = cli(*arguments)
    assert done.returncode == 2
    assert message in done.stderr


def test_does_a_killed_batch_resume_without_regrading(course, tmp_path, monkeypatch):
    out = tmp_path / "grades.json"
    real_grade = batch.Grader.grade
    calls = []

    def grade_then_die(self, path, student=None, *, only=None, data=None):
        calls.append(student)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the instructor's Ctrl-C, or the machine going down
        return real_grade(self, path, student, only=only, data=data)

    monkeypatch.setattr(batch.Grader, "grade", grade_then_die)
    with pytest.raises(KeyboardInterrupt):
        batch.grade_batch([course], json_path=out, jobs=1, progress=False)
    assert not out.exists()  # no half-written gradebook
    partial = out.with_name(out.name + ".partial.jsonl")
    assert len(partial.read_text().splitlines()) == 1

    calls.clear()
    monkeypatch.setattr(
        batch.Grader,
        "grade",
        lambda self, path, student=None, only=None, data=None: (
            calls.append(student) or real_grade(self, path, student, only=only, data=data)
        ),
    )
    results = batch.grade_batch([course], json_path=out, jobs=1, progress=False).results
    assert calls == ["bob", "carol"]
    assert [r.student for r in results] == ["alice", "bob", "carol"]
    assert json.loads(out.read_text())["submissions"][0]["score"] == 100
    assert not partial.exists()


def test_does_a_torn_partial_line_not_break_resuming(tmp_path):
    partial = tmp_path / "g.json.partial.jsonl"
    result = SubmissionResult("a.ipynb", "a", {}, [])
    resume = ResumeFile(partial, "r")
    resume.append(("a.ipynb", "d"), result)
    resume.close()
    partial.write_text(partial.read_text() + '{"mac": "00", "entry": {"path": "b.ipy')
    assert list(ResumeFile(partial, "r").done()) == [("a.ipynb", "d")]
    assert ResumeFile(partial, "other references").done() == {}


def forged_line(path, digest, references, score):
    """A line as someone who can write the report's folder would plant it: the right references
    digest (anyone can compute it), a result of their choosing, a made-up MAC."""
    result = SubmissionResult(str(path), path.parent.parent.name, {}, []).to_dict()
    result["functions"] = {"clip": {"name": "clip", "score": score, "max_score": score, "checks": []}}
    entry = {"path": str(path), "digest": digest, "references": references, "result": result}
    return json.dumps({"mac": "0" * 64, "entry": entry}) + "\n"


def test_is_a_planted_resume_line_ignored_and_the_notebook_graded(course, tmp_path):
    out = tmp_path / "grades.json"
    carol = course / "carol" / "dinosaurus_island" / "Dinosaurus_Island.ipynb"
    digest = hashlib.sha256(carol.read_bytes()).hexdigest()
    partial = out.with_name(out.name + ".partial.jsonl")
    partial.write_text(forged_line(carol, digest, batch.references_digest(), 100))
    partial.chmod(0o600)
    outcome = batch.grade_batch([course], json_path=out, jobs=2, progress=False)
    graded = {r.student: r.score for r in outcome.results}
    assert graded["carol"] == 0  # graded, not taken from the planted line
    assert any("were not written by this grader" in sentence for sentence in outcome.undelivered)


@pytest.mark.parametrize("planted", ["fifo", "link", "another user's file"])
def test_is_something_else_in_place_of_the_resume_file_refused_in_one_line(course, tmp_path, planted):
    out = tmp_path / "grades.json"
    partial = out.with_name(out.name + ".partial.jsonl")
    victim = tmp_path / "victim.txt"
    victim.write_text("not the grader's\n")
    if planted == "fifo":
        os.mkfifo(partial)
    elif planted == "link":
        partial.symlink_to(victim)
    else:
        if os.geteuid() != 0:
            pytest.skip("needs root, to make a file another user owns")
        partial.write_text("")
        os.chown(partial, 65534, 65534)
    done = cli("grade", str(course), "--json", str(out), "--only", "clip", timeout=120)
    assert done.returncode == 2, done.stderr
    said = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(said) == 1 and "resume file" in said[0] and "remove it" in said[0], done.stderr
    assert victim.read_text() == "not the grader's\n" and not out.exists()


@pytest.mark.slow
def test_does_the_demo_grade_the_examples_as_intended(tmp_path):
    done = cli("grade", str(EXAMPLES_DIR), "--json", str(tmp_path / "e.json"), "--jobs", "2")
    assert done.returncode == 0, done.stderr
    scores = {s["student"]: s for s in json.loads((tmp_path / "e.json").read_text())["submissions"]}
    assert scores["correct"]["score"] == 100
    assert 0 < scores["mistakes"]["score"] < 100
    assert all(
        scores["mistakes"]["functions"][f]["score"] < scores["mistakes"]["functions"][f]["max_score"]
        for f in ("clip", "sample", "optimize", "model")
    )
    assert scores["crash"]["score"] == 0
    # each mistake of examples/submissions/mistakes.ipynb is named, first, in its function's feedback
    causes = {
        "clip": "result-discarded",
        "sample": "argmax",
        "optimize": "fixed-learning-rate",
        "model": "y-without-newline",
    }
    for name, mistake_id in causes.items():
        function = scores["mistakes"]["functions"][name]
        explanation = next(m.explanation for m in faults.catalogue()[name] if m.id == mistake_id)
        first_failed = next(c["feedback"] for c in function["checks"] if not c["passed"] and not c.get("withheld"))
        assert function["diagnosis"] == first_failed == explanation
    model_texts = [c["feedback"] for c in scores["mistakes"]["functions"]["model"]["checks"] if not c["passed"]]
    # Y lacks the newline, so every call of optimize fails: once per case (small, full), then "same error as above"
    assert sum("its message, as your code's process gave it" in text for text in model_texts) == 2
    assert sum("the same error as above" in text for text in model_texts) == 3


def test_does_verbose_log_each_submission_as_it_is_graded(course, tmp_path):
    done = cli("grade", str(course), "--json", str(tmp_path / "g.json"), "--only", *ONLY, "--verbose")
    assert done.returncode == 0, done.stderr
    assert "autograder.grade.batch INFO: alice: 50 (graded)" in done.stderr
    quiet = cli("grade", str(course), "--json", str(tmp_path / "h.json"), "--only", *ONLY)
    assert "INFO" not in quiet.stderr


def test_is_a_report_the_grader_did_not_write_never_replaced_silently(course, tmp_path):
    """`nbgrader export` writes grades.csv too: the grader refuses to replace it, before grading."""
    theirs = tmp_path / "grades.csv"
    theirs.write_text("assignment,duedate,timestamp,student_id,raw_score\ndinosaurus_island,,,alice,100.0\n")
    done = cli("grade", str(course), "--json", str(tmp_path / "g.json"), "--csv", str(theirs), "--only", *ONLY)
    assert done.returncode == 2
    assert f"{theirs} exists and was not written by this grader" in done.stderr and "--overwrite" in done.stderr
    assert theirs.read_text().startswith("assignment,duedate") and not (tmp_path / "g.json").exists()

    again = cli("grade", str(course), "--json", str(tmp_path / "g.json"), "--csv", str(theirs), "--only", *ONLY,
                "--overwrite")  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert theirs.read_text().startswith("student,path,clip")
    rerun = cli("grade", str(course), "--json", str(tmp_path / "g.json"), "--csv", str(theirs), "--only", *ONLY)
    assert rerun.returncode == 0, rerun.stderr  # its own reports it replaces without asking


def test_is_a_json_file_of_someone_else_refused_too(course, tmp_path):
    other = tmp_path / "grades.json"
    other.write_text('{"students": []}')
    done = cli("grade", str(course), "--json", str(other), "--only", *ONLY)
    assert done.returncode == 2 and other.read_text() == '{"students": []}'


def test_does_the_grader_know_its_own_reports_however_large(tmp_path):
    """A class's JSON report runs to megabytes: it is still recognised as the grader's own."""
    from autograder.grade.report import to_csv, to_json, written_by_us

    results = [SubmissionResult(f"s{i}.ipynb", f"s{i}", {}, ["a long remark " * 40]) for i in range(3000)]
    for name, text in (("big.json", to_json(results)), ("big.csv", to_csv(results))):
        (tmp_path / name).write_text(text, newline="")
        assert len(text) > 1_000_000 and written_by_us(tmp_path / name), name
    (tmp_path / "other.json").write_text('{"submissions_of_another_tool": []}')
    assert not written_by_us(tmp_path / "other.json")


def test_is_a_folder_swapped_for_a_link_after_the_scan_read_as_nothing(tmp_path, monkeypatch):
    """A student who can write their own folder swaps it, once the batch has listed it, for a
    link to the instructor's folder (whose notebook holds the solution): the batch reads the
    file the scan saw or nothing, never the solution."""
    root = tmp_path / "submitted"
    shutil.copytree(RELEASE_DIR, root / "mallory" / "dinosaurus_island", ignore=shutil.ignore_patterns("*.npz"))
    factory.write(factory.notebook(), root / "alice" / "dinosaurus_island" / "Dinosaurus_Island.ipynb")
    real_scan = batch.scan

    def scan_then_swap(paths):
        listed = real_scan(paths)
        folder = root / "mallory" / "dinosaurus_island"
        shutil.rmtree(folder)
        folder.symlink_to(SOURCE_DIR, target_is_directory=True)
        return listed

    monkeypatch.setattr(batch, "scan", scan_then_swap)
    results = {
        r.student: r for r in batch.grade_batch([root], json_path=tmp_path / "g.json", jobs=2, progress=False).results
    }
    assert results["alice"].score == 100
    assert results["mallory"].score == 0
    assert any("a folder on its way is now a link" in error for error in results["mallory"].errors)
