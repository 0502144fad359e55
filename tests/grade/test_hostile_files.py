"""Class folders where one student's files (or a careless copy) attack the batch.

Each test grades a folder holding an honest student, alice, beside the hostile entries, and
checks that alice's grade is what it is alone, that the batch ends in bounded time, and that
every report is complete.  None of these attacks needs code that runs in the sandbox.
"""

import copy
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.authoring import factory
from autograder.grade import batch
from autograder.grade.submission import find_graded_cells, read_regular_file
from autograder.paths import COURSE_ROOT, NOTEBOOK, SOURCE_NOTEBOOK
from autograder.sandbox import library, machine

ONLY = ("clip",)  # one fast function keeps each batch to seconds
CLIP_POINTS = 20
BROKEN_CLIP = {"clip": "def clip(gradients, maxValue):\n    raise NotImplementedError\n"}  # scores 0


@pytest.fixture
def submitted(tmp_path):
    root = tmp_path / "submitted"
    factory.write(factory.notebook(), root / "alice" / "dinosaurus_island" / NOTEBOOK)
    return root


def notebook_of(root, student):
    return root / student / "dinosaurus_island" / NOTEBOOK


def grade(root, tmp_path, *extra):
    """Run the CLI as an instructor would; (exit code, stdout, stderr, {student: score})."""
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(root), "--json", str(out / "grades.json"),
         "--csv", str(out / "grades.csv"), "--gradescope", str(out / "gs"), "--only", *ONLY, *extra],
        cwd=COURSE_ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    scores = {}
    if (out / "grades.json").exists():
        scores = {s["student"]: s["score"] for s in json.loads((out / "grades.json").read_text())["submissions"]}
    return done, scores


def errors_of(tmp_path, student):
    report = json.loads((tmp_path / "out" / "grades.json").read_text())
    return [e for s in report["submissions"] if s["student"] == student for e in s["errors"]]


def test_links_to_other_notebooks_or_nowhere_are_refused_not_followed(submitted, tmp_path):
    """A dangling link, a link to the instructor's solution and one to alice's notebook."""
    for student, target in [("dangling", "/tmp/anything.ipynb"), ("solution", SOURCE_NOTEBOOK),
                            ("copier", notebook_of(submitted, "alice"))]:  # fmt: skip
        notebook_of(submitted, student).parent.mkdir(parents=True)
        os.symlink(target, notebook_of(submitted, student))
    done, scores = grade(submitted, tmp_path)
    assert done.returncode == 0, done.stderr
    assert scores == {"alice": CLIP_POINTS, "copier": 0, "dangling": 0, "solution": 0}
    assert any("symbolic link" in e for e in errors_of(tmp_path, "solution"))


def test_fifos_and_devices_neither_block_nor_flood_the_grader(submitted, tmp_path):
    notebook_of(submitted, "fifo").parent.mkdir(parents=True)
    os.mkfifo(notebook_of(submitted, "fifo"))
    notebook_of(submitted, "zero").parent.mkdir(parents=True)
    os.symlink("/dev/zero", notebook_of(submitted, "zero"))
    done, scores = grade(submitted, tmp_path)
    assert done.returncode == 0, done.stderr
    assert scores == {"alice": CLIP_POINTS, "fifo": 0, "zero": 0}
    assert any("FIFO" in e for e in errors_of(tmp_path, "fifo"))


def test_undecodable_and_hostile_names_are_shown_escaped_in_every_report(submitted, tmp_path):
    """A Latin-1 folder name, a non-UTF-8 sub-folder, a formula and rich markup with an ANSI escape."""
    names = [b"b\xe9a", b'=HYPERLINK("x")', b"[bold red]eve\x1b[31m"]
    for name in names:
        folder = os.path.join(os.fsencode(submitted), name, b"dinosaurus_island")
        os.makedirs(os.path.join(folder, b"\xff\xfe"))
        factory.write(factory.notebook(BROKEN_CLIP), Path(os.fsdecode(folder)) / NOTEBOOK)
    done, scores = grade(submitted, tmp_path)
    assert done.returncode == 0, done.stderr
    assert scores == {"alice": CLIP_POINTS, "b\\xe9a": 0, '=HYPERLINK("x")': 0, "[bold red]eve\\x1b[31m": 0}
    assert "\x1b" not in done.stdout and "[bold red]eve" in done.stdout  # printed as written, not as markup
    with open(tmp_path / "out" / "grades.csv", newline="") as file:
        students = [row["student"] for row in csv.DictReader(file)]
    assert '\'=HYPERLINK("x")' in students  # a leading quote: no spreadsheet runs it
    assert sorted(p.name for p in (tmp_path / "out" / "gs").iterdir()) == sorted(
        ["alice", "%5Bbold red%5Deve%5Cx1b%5B31m", "%3DHYPERLINK%28%22x%22%29", "b%5Cxe9a"]
    )


def test_a_notebook_hidden_in_another_students_folder_cannot_take_their_id(submitted, tmp_path):
    nested = submitted / "mallory" / "dinosaurus_island" / "alice" / "dinosaurus_island" / NOTEBOOK
    factory.write(factory.notebook(BROKEN_CLIP), nested)
    done, scores = grade(submitted, tmp_path)
    assert done.returncode == 0, done.stderr
    assert scores == {"alice": CLIP_POINTS, "mallory/dinosaurus_island/alice/dinosaurus_island/Dinosaurus_Island": 0}
    gradescope = json.loads((tmp_path / "out" / "gs" / "alice" / "results.json").read_text())
    assert gradescope["score"] == CLIP_POINTS


def test_two_notebooks_claiming_one_id_are_both_reported(submitted, tmp_path):
    factory.write(factory.notebook(BROKEN_CLIP), submitted / "bob" / "dinosaurus_island" / NOTEBOOK)
    factory.write(factory.notebook(), submitted / "bob" / "dinosaurus_island" / "copy.ipynb")
    done, scores = grade(submitted, tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out" / "grades.json").read_text())["submissions"]
    assert sorted((s["student"], s["score"]) for s in report) == [("alice", 20), ("bob", 0), ("bob", 20)]
    assert "2 notebooks claim the student id bob" in " ".join(errors_of(tmp_path, "bob"))
    assert not (tmp_path / "out" / "gs" / "bob").exists()  # neither silently replaces the other
    assert "one student id, 2 notebooks" in done.stderr


def test_thousands_of_nested_folders_are_searched_to_a_bounded_depth(submitted, tmp_path):
    folder = os.open(submitted, os.O_RDONLY)
    for level in range(300):  # far deeper than searched; made one folder at a time (short paths)
        os.mkdir("d", dir_fd=folder)
        inner = os.open("d", os.O_RDONLY, dir_fd=folder)
        os.close(folder)
        folder = inner
        notebook = os.open(f"n{level}.ipynb", os.O_WRONLY | os.O_CREAT, dir_fd=folder)
        os.write(notebook, b"{}")
        os.close(notebook)
    os.close(folder)
    done, scores = grade(submitted, tmp_path)
    assert done.returncode == 0, done.stderr
    assert scores["alice"] == CLIP_POINTS and len(scores) <= 10
    assert (tmp_path / "out" / "grades.json").stat().st_size < 200_000


def test_a_cell_of_a_million_empty_lines_is_read_and_its_def_found():
    """(That the patterns take linear time is a benchmark: ``python -m bench --only h1 h4``.)"""
    notebook = {"cells": [{"cell_type": "code", "source": "#" + "\n" * 1_000_000 + "def clip(g, m):\n    pass"}]}
    cells, _ = find_graded_cells(notebook)
    assert cells == {"clip": notebook["cells"][0]["source"]}


def test_old_format_and_byte_order_mark_notebooks_are_read(submitted, tmp_path):
    honest = factory.notebook()
    factory.write(
        nbformat.writes(nbformat.convert(copy.deepcopy(honest), 3)), submitted / "old" / "dinosaurus_island" / NOTEBOOK
    )
    factory.write(
        b"\xef\xbb\xbf" + nbformat.writes(honest).encode(), submitted / "bom" / "dinosaurus_island" / NOTEBOOK
    )
    done, scores = grade(submitted, tmp_path)
    assert done.returncode == 0, done.stderr
    assert scores == {"alice": CLIP_POINTS, "bom": CLIP_POINTS, "old": CLIP_POINTS}


def test_a_file_larger_than_the_cap_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.ipynb"
    with open(big, "wb") as file:
        file.truncate(200 * 1024**2)  # sparse: no disk used
    data, problem = read_regular_file(big)
    assert data is None and "larger than" in problem


@pytest.mark.skipif(not machine.is_root(), reason="a small full file system is made with a tmpfs mount (root)")
def test_a_full_disk_loses_no_grade(submitted, tmp_path, monkeypatch):
    factory.write(factory.notebook(BROKEN_CLIP), notebook_of(submitted, "bob"))
    out = tmp_path / "full"
    out.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(out)], check=True)
    try:
        (out / "grades.json.partial.jsonl").touch()
        filler = os.open(out / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(filler, b"x" * 4096):
                pass
        except OSError:  # full
            os.close(filler)
        rescue = tmp_path / "rescue"
        monkeypatch.setattr(batch, "rescue_folder", lambda: rescue)
        outcome = batch.grade_batch(
            [submitted], json_path=out / "grades.json", csv_path=out / "grades.csv", progress=False
        )
    finally:
        subprocess.run(["umount", str(out)], check=True)
    assert any("resume file" in sentence for sentence in outcome.undelivered)
    assert sum("written to" in sentence for sentence in outcome.undelivered) == 2
    rescued = json.loads((rescue / "grades.json").read_text())["submissions"]
    assert {s["student"]: s["functions"]["clip"]["score"] for s in rescued} == {"alice": CLIP_POINTS, "bob": 0}


@pytest.mark.parametrize("planted", ["writable by all", "a link", "someone else's"])
def test_a_planted_runtime_folder_is_refused_not_trusted(tmp_path, monkeypatch, planted):
    """The code the sandbox runs lives in the grader's own cache (mode 700), never in a folder
    of a predictable name in /tmp that another local user could make first."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = tmp_path / "dinosaurus-grader"
    if planted == "a link":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        folder.symlink_to(tmp_path / "elsewhere")
    else:
        folder.mkdir(mode=0o700)
        if planted == "writable by all":
            folder.chmod(0o777)
        elif machine.is_root():
            os.chown(folder, 65534, 65534)
        else:
            pytest.skip("only root can give a folder to another user")
    with pytest.raises(PermissionError, match="mode 700"):
        library.private_cache()


def test_the_runtime_folder_is_private():
    folder = library.shared_library()
    assert folder.parent == library.private_cache()
    assert not str(folder).startswith("/tmp") and library.private_cache().stat().st_mode & 0o077 == 0


def test_a_sandbox_that_cannot_be_set_up_is_a_regrade_never_a_zero(submitted, tmp_path, monkeypatch, capsys):
    """The machine's fault (here: a scratch size the kernel refuses), not the student's: the
    submission is listed for regrading, gets no score in any report, and the exit status says so."""
    from autograder import cli
    from autograder.grade.grading import Grader
    from autograder.sandbox.limits import Limits, default_limits

    broken = Limits(**{**default_limits().__dict__, "scratch_bytes": -1})
    monkeypatch.setattr(batch, "Grader", lambda: Grader(limits=broken))
    out = tmp_path / "out"
    status = cli.main(["grade", str(submitted), "--json", str(out / "g.json"), "--csv", str(out / "g.csv"),
                       "--gradescope", str(out / "gs"), "--only", *ONLY, "--no-progress"])  # fmt: skip
    assert status == 3
    said = capsys.readouterr().err
    assert "not graded (regrade it)" in said
    assert "the grader failed on" in said and "SandboxUnavailable" in said  # logged, with its traceback
    [alice] = json.loads((out / "g.json").read_text())["submissions"]
    assert alice["score"] is None and alice["errors"][0].startswith("internal grader error")
    with open(out / "g.csv", newline="") as file:
        assert next(csv.DictReader(file))["score"] == ""
    assert not (out / "gs" / "alice").exists()


def test_a_folder_of_thousands_of_notebooks_cannot_crowd_out_the_class(submitted, tmp_path):
    """mallory's folder holds 3,000 notebooks; zed, whose name sorts after it, is graded as
    usual, and only the first few of mallory's are graded, her report saying so."""
    flood = submitted / "mallory" / "dinosaurus_island"
    flood.mkdir(parents=True)
    for index in range(3000):
        (flood / f"n{index:04d}.ipynb").write_text("{}")
    factory.write(factory.notebook(), notebook_of(submitted, "zed"))
    done, scores = grade(submitted, tmp_path)
    assert done.returncode == 0, done.stderr
    assert scores["alice"] == scores["zed"] == CLIP_POINTS
    report = json.loads((tmp_path / "out" / "grades.json").read_text())["submissions"]
    floods = [s for s in report if s["student"] == "mallory"]
    assert len(floods) == 20 and all("more than 20 notebooks" in " ".join(s["errors"]) for s in floods)
    assert "not all graded" in done.stderr
