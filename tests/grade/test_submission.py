"""Finding graded cells and students, whatever shape the notebook is in."""

import json

import nbformat

from autograder.authoring import factory
from autograder.grade.submission import find_graded_cells, find_notebooks, read_submission, student_id


def test_are_students_named_from_nbgrader_folders_and_file_names(tmp_path):
    assert student_id(tmp_path / "submitted" / "alice" / "dinosaurus_island" / "Dinosaurus_Island.ipynb") == "alice"
    assert student_id(tmp_path / "bob" / "Dinosaurus_Island.ipynb") == "bob"
    assert student_id(tmp_path / "carol.ipynb") == "carol"


def test_are_checkpoints_skipped_when_searching_folders(tmp_path):
    factory.write(factory.notebook(), tmp_path / "a.ipynb")
    factory.write(factory.notebook(), tmp_path / ".ipynb_checkpoints" / "a-checkpoint.ipynb")
    assert [p.name for p, _ in find_notebooks([tmp_path])] == ["a.ipynb"]


def test_is_a_duplicated_cell_reported_and_the_first_graded(tmp_path):
    nb = factory.notebook()
    clip_cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "clip")
    twin = clip_cell.copy()
    twin.id = "clip-copy"
    nb.cells.append(twin)
    cells, errors = find_graded_cells(nb)
    assert cells["clip"] == clip_cell.source
    assert any("2 cells match clip" in e for e in errors)


def test_is_a_cell_found_by_its_def_when_marker_and_metadata_are_gone(tmp_path):
    nb = factory.notebook()
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "sample":
            cell.metadata = {}
            cell.source = cell.source.replace("# UNQ_C2", "# my sample")
    cells, errors = find_graded_cells(nb)
    assert "def sample(" in cells["sample"]
    assert any("found by its definition" in e for e in errors)


def test_is_an_unreadable_file_an_error_not_an_exception(tmp_path):
    path = tmp_path / "binary.ipynb"
    path.write_bytes(b"\xff\xfe\x00")
    submission = read_submission(path)
    assert submission.cells == {} and "not UTF-8 text" in submission.errors[0]


def test_is_malformed_metadata_graded_as_if_the_cell_carried_none(tmp_path):
    """A grade_id that is a list, or a 5,000-digit integer anywhere in the metadata, is read past:
    the cells are found by their marker lines, as for a cell that lost its metadata."""
    nb = json.loads(nbformat.writes(factory.notebook()))
    graded = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "clip"]
    graded[0]["metadata"]["nbgrader"]["grade_id"] = ["clip", "sample"]
    text = json.dumps(nb).replace('"nbformat": 4', '"huge": ' + "9" * 5000 + ', "nbformat": 4', 1)
    path = tmp_path / "Dinosaurus_Island.ipynb"
    path.write_text(text)
    submission = read_submission(path, "mallory")
    assert sorted(submission.cells) == ["clip", "model", "optimize", "sample"]
    assert submission.cells["clip"].strip() == factory.solution("clip").strip()


def test_a_file_swapped_for_a_link_between_its_check_and_its_open_is_not_followed(tmp_path, monkeypatch):
    """The race the earlier checks cannot see: the notebook is a regular file when it is looked
    at and a link to the answer key when it is opened.  O_NOFOLLOW refuses the link itself (the
    error is the kernel's ELOOP), before the later inode check would even be needed."""
    import os

    from autograder.grade import submission

    notebook, secret = tmp_path / "Dinosaurus_Island.ipynb", tmp_path / "answer_key.json"
    notebook.write_text("{}")
    secret.write_text('{"the": "answers"}')
    real_lstat = os.lstat

    def lstat_then_swap(path, *args, **kwargs):
        result = real_lstat(path, *args, **kwargs)
        if str(path) == str(notebook):
            notebook.unlink()
            notebook.symlink_to(secret)  # the swap, after the look and before the open
        return result

    monkeypatch.setattr(submission.os, "lstat", lstat_then_swap)
    data, problem = submission.read_regular_file(notebook)
    assert data is None and problem == "Dinosaurus_Island.ipynb cannot be read: Too many levels of symbolic links"


# ----------------------------------------------------------------------------
# Each rule of reading a submission, alone (the batch tests cover them together)
# ----------------------------------------------------------------------------

import os  # noqa: E402
import socket  # noqa: E402

import pytest  # noqa: E402

from autograder.grade.submission import Seen, code_cells, read_regular_file, shown  # noqa: E402


@pytest.mark.parametrize(
    ("name", "printed"),
    [
        ("alice", "alice"),
        ("b\udce9a", "b\\xe9a"),  # an undecodable byte of a file name, kept as a surrogate
        ("eve\x1b[31m", "eve\\x1b[31m"),  # an ANSI escape: shown, never obeyed
        ("tab\there", "tab\\there"),
        ("line\nbreak", "line\\nbreak"),
        ("zoë", "zoë"),  # printable non-ASCII stays as it is
    ],
)
def test_is_a_name_from_the_file_system_shown_printable_and_exact(name, printed):
    assert shown(name) == printed


@pytest.mark.parametrize(
    ("below", "student"),
    [
        ("submitted/alice/dinosaurus_island/Dinosaurus_Island.ipynb", "alice"),
        ("alice/dinosaurus_island/Dinosaurus_Island.ipynb", "alice"),  # nbgrader's layout without submitted/
        ("bob/Dinosaurus_Island.ipynb", "bob"),
        ("carol.ipynb", "carol"),
        ("bob/other.ipynb", "bob/other"),  # not the documented name: its path, which no student can claim
        (
            "mallory/alice/dinosaurus_island/Dinosaurus_Island.ipynb",
            "mallory/alice/dinosaurus_island/Dinosaurus_Island",
        ),
        ("mallory/bob/Dinosaurus_Island.ipynb", "mallory/bob/Dinosaurus_Island"),
        ("submitted/carol.ipynb", "carol"),  # directly in submitted/: its own name
    ],
)
def test_is_each_layout_given_the_id_the_readme_documents(tmp_path, below, student):
    assert student_id(tmp_path / below, root=tmp_path) == student


def test_is_a_notebook_named_on_its_own_given_the_id_its_folders_say():
    assert student_id("x/submitted/dora/dinosaurus_island/Dinosaurus_Island.ipynb") == "dora"
    assert student_id("x/erin/Dinosaurus_Island.ipynb") == "erin"
    assert student_id("x/frank.ipynb") == "frank"
    # no folder above the assignment's: the folder that holds the notebook names it, by the second rule
    assert student_id("/dinosaurus_island/Dinosaurus_Island.ipynb") == "dinosaurus_island"


def test_are_only_code_cells_with_their_sources_and_string_grade_ids_listed():
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": "def clip(): pass", "metadata": {"nbgrader": {"grade_id": "clip"}}},
            {
                "cell_type": "code",
                "source": ["def a():\n", "    return 1\n"],
                "metadata": {"nbgrader": {"grade_id": "a"}},
            },
            {"cell_type": "code", "source": "b = 2", "metadata": {"nbgrader": {"grade_id": 7}}},
            {"cell_type": "code", "source": "c = 3", "metadata": "not a dict"},
            {"cell_type": "code", "source": "d = 4", "metadata": {"nbgrader": ["not", "a", "dict"]}},
            {"cell_type": "code", "source": 12},  # neither text nor lines: skipped
            "not a cell",
            {"cell_type": "code", "source": [1, "+1"]},  # parts that are not text are joined as text
        ]
    }
    assert list(code_cells(notebook)) == [
        (1, "def a():\n    return 1\n", "a"),
        (2, "b = 2", None),
        (3, "c = 3", None),
        (4, "d = 4", None),
        (7, "1+1", None),
    ]
    assert list(code_cells({})) == []


def test_is_a_regular_file_read_whole(tmp_path):
    path = tmp_path / "a.ipynb"
    path.write_bytes(b"x" * 100)
    assert read_regular_file(path, limit=100) == (b"x" * 100, None)


def test_is_a_file_one_byte_over_the_limit_refused_with_the_limit_in_megabytes(tmp_path):
    path = tmp_path / "big.ipynb"
    path.write_bytes(b"x" * (2 * 1024**2 + 1))
    assert read_regular_file(path, limit=2 * 1024**2) == (None, "big.ipynb is larger than 2 MB")


def test_is_a_file_that_grows_past_the_limit_after_its_check_cut_off(tmp_path, monkeypatch):
    """The size is checked before the open and again on what was read: a file that grew in
    between is refused by the second check alone."""
    path = tmp_path / "growing.ipynb"
    path.write_bytes(b"x" * 10)
    real_fdopen = os.fdopen

    def grow_then_open(descriptor, *args, **kwargs):
        path.write_bytes(b"x" * (3 * 1024**2))
        return real_fdopen(descriptor, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", grow_then_open)
    assert read_regular_file(path, limit=2 * 1024**2) == (None, "growing.ipynb is larger than 2 MB")


@pytest.mark.parametrize("kind", ["a symbolic link", "a FIFO", "a socket", "a folder", "a device"])
def test_is_anything_but_a_regular_file_refused_by_its_kind(tmp_path, kind):
    path = tmp_path / "n.ipynb"
    (tmp_path / "target.ipynb").write_text("{}")
    if kind == "a symbolic link":
        path.symlink_to(tmp_path / "target.ipynb")
    elif kind == "a FIFO":
        os.mkfifo(path)
    elif kind == "a socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        server.close()
    elif kind == "a folder":
        path.mkdir()
    else:
        path = "/dev/null"
    name = shown(os.path.basename(path))
    assert read_regular_file(path) == (None, f"{name} is {kind}; only regular files are graded")


def test_is_a_file_replaced_after_the_scan_refused(tmp_path):
    """The scan saw one file; another now stands at its path: it is not read."""
    path = tmp_path / "alice.ipynb"
    path.write_text("{}")
    info = os.stat(path)
    seen = Seen(tmp_path, info.st_dev, info.st_ino)
    assert read_regular_file(path, seen=seen) == (b"{}", None)
    (tmp_path / "new").write_text('{"other": 1}')
    os.replace(tmp_path / "new", path)  # another file (both existed at once: another inode) at the same path
    assert read_regular_file(path, seen=seen) == (None, "alice.ipynb changed while it was being read")


def test_is_a_folder_swapped_for_a_link_after_the_scan_not_followed(tmp_path):
    (tmp_path / "alice").mkdir()
    path = tmp_path / "alice" / "Dinosaurus_Island.ipynb"
    path.write_text("{}")
    info = os.stat(path)
    seen = Seen(tmp_path, info.st_dev, info.st_ino)
    (tmp_path / "elsewhere").mkdir()
    os.rename(path, tmp_path / "elsewhere" / path.name)
    (tmp_path / "alice").rmdir()
    (tmp_path / "alice").symlink_to(tmp_path / "elsewhere")  # same file, reached through a link now
    assert read_regular_file(path, seen=seen) == (
        None,
        "Dinosaurus_Island.ipynb changed while it was being read: a folder on its way is now a link",
    )


def test_is_an_unreadable_file_reported_with_the_systems_reason(tmp_path):
    assert read_regular_file(tmp_path / "gone.ipynb") == (None, "gone.ipynb cannot be read: No such file or directory")


# ----------------------------------------------------------------------------
# Finding the class's notebooks, each rule alone
# ----------------------------------------------------------------------------

from autograder.grade import submission  # noqa: E402
from autograder.grade.submission import load_notebook, scan  # noqa: E402


def touch(path, text="{}"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_scan_lists_each_student_in_name_order_with_what_a_later_read_must_find_again(tmp_path):
    ada = touch(tmp_path / "submitted" / "ada" / "dinosaurus_island" / "Dinosaurus_Island.ipynb")
    bob = touch(tmp_path / "bob" / "Dinosaurus_Island.ipynb")
    cy = touch(tmp_path / "cy.ipynb")
    touch(tmp_path / "notes.txt")
    touch(tmp_path / "bob" / ".ipynb_checkpoints" / "Dinosaurus_Island-checkpoint.ipynb")
    touch(tmp_path / ".ipynb_checkpoints" / "cy-checkpoint.ipynb")
    found, notes, seen = scan([tmp_path])
    assert found == [(bob, "bob"), (cy, "cy"), (ada, "ada")] and notes == {}  # "bob" < "cy.ipynb" < "submitted"
    assert seen[ada] == submission.Seen(tmp_path, os.stat(ada).st_dev, os.stat(ada).st_ino)
    assert set(seen) == {ada, bob, cy}


def test_a_notebook_named_on_its_own_is_listed_as_it_is_and_a_missing_path_refused(tmp_path):
    alone = touch(tmp_path / "x" / "eve.ipynb")
    assert scan([alone]) == ([(alone, "eve")], {}, {})
    with pytest.raises(FileNotFoundError, match="no such file or folder: "):
        scan([tmp_path / "nowhere"])
    link = tmp_path / "dangling.ipynb"
    link.symlink_to(tmp_path / "gone")
    assert scan([link])[0] == [(link, "dangling")]  # a dangling link is listed: reading it says why


def test_one_student_s_folder_is_searched_no_deeper_than_the_limit_and_for_at_most_so_many(tmp_path, monkeypatch):
    monkeypatch.setattr(submission, "MAX_PER_STUDENT", 3)
    monkeypatch.setattr(submission, "MAX_FOLDER_DEPTH", 3)
    for name in "abcde":
        touch(tmp_path / "flood" / f"{name}.ipynb")
    touch(tmp_path / "deep" / "one" / "two" / "x.ipynb")  # depth 3: found
    touch(tmp_path / "deeper" / "one" / "two" / "three" / "x.ipynb")  # depth 4: not searched
    found, notes, _ = scan([tmp_path])
    students = [student for _, student in found]
    assert students == ["deep/one/two/x", "flood/a", "flood/b", "flood/c"]
    note = "flood holds more than 3 notebooks; only the first 3 were graded"
    assert notes == {"flood/a": note, "flood/b": note, "flood/c": note}


def test_an_entry_named_like_a_notebook_is_listed_whatever_it_is(tmp_path):
    os.mkfifo(tmp_path / "fifo.ipynb")
    (tmp_path / "link.ipynb").symlink_to("/dev/zero")
    found, _, seen = scan([tmp_path])
    assert [student for _, student in found] == ["fifo", "link"]  # reported by the read, not skipped here
    assert set(seen) == {tmp_path / "fifo.ipynb", tmp_path / "link.ipynb"}


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"\xff\xfe{", "is not UTF-8 text: is it a notebook?"),
        (b'{"cells": [', "is not valid JSON (line 1, column 12): is it a notebook?"),  # ends after its 11 bytes
        (b"[" * 100_000 + b"]" * 100_000, "is nested too deeply to be a notebook"),
        (b'{"cells": {}}', "is JSON but not a Jupyter notebook (it has no list of cells)"),
        (b"[1]", "is JSON but not a Jupyter notebook (it has no list of cells)"),
    ],
    ids=["not-utf8", "not-json", "nested", "cells-not-a-list", "not-a-dict"],
)
def test_each_way_a_file_is_not_a_notebook_is_said(tmp_path, data, says):
    path = tmp_path / "n.ipynb"
    path.write_bytes(data)
    assert load_notebook(path) == (None, f"n.ipynb {says}")


def test_a_notebook_with_a_byte_order_mark_and_a_long_integer_is_read_and_its_cells_counted(tmp_path, monkeypatch):
    path = tmp_path / "n.ipynb"
    long = "9" * 5000
    path.write_bytes(b"\xef\xbb\xbf" + f'{{"nbformat": 4, "cells": [], "metadata": {{"n": {long}, "m": 12}}}}'.encode())
    notebook, problem = load_notebook(path)
    assert problem is None and notebook["metadata"] == {"n": long, "m": 12}
    monkeypatch.setattr(submission, "MAX_CELLS", 2)
    path.write_text('{"nbformat": 4, "cells": [{}, {}, {}]}')
    assert load_notebook(path) == (None, "n.ipynb has 3 cells (at most 2 are read)")
    path.write_text('{"nbformat": 4, "cells": [{}, {}]}')
    assert load_notebook(path)[1] is None


def test_an_old_notebook_is_upgraded_by_nbformat(tmp_path):
    old = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": [
        {"cell_type": "code", "input": ["x = 1\n", "y = 2"], "language": "python", "outputs": []}]}]}  # fmt: skip
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(old))
    notebook, problem = load_notebook(path)
    assert problem is None and notebook["nbformat"] == 4
    assert list(code_cells(notebook)) == [(0, "x = 1\ny = 2", None)]
    path.write_text('{"nbformat": 3, "worksheets": 5}')
    assert load_notebook(path) == (None, "old.ipynb is JSON but not a Jupyter notebook (it has no list of cells)")


def test_a_code_cell_without_a_source_is_listed_as_empty():
    assert list(code_cells({"cells": [{"cell_type": "code", "metadata": {}}]})) == [(0, "", None)]


def test_each_cell_finding_problem_is_said_once_and_a_clean_notebook_says_none():
    notebook = factory.notebook()
    assert find_graded_cells(notebook)[1] == []
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "sample":
            cell.metadata = {}
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "model":
            cell.cell_type = "markdown"  # the model cell is gone
    cells, errors = find_graded_cells(notebook)
    assert "model" not in cells and "sample" in cells
    assert errors == [
        "the sample cell lost its nbgrader metadata; it was found by its marker line",
        "no cell for model was found (neither its grade_id, its marker line nor `def model(`)",
    ]


def test_a_submission_is_read_from_the_bytes_given_and_an_unreadable_one_is_not_read_again(tmp_path, monkeypatch):
    data = nbformat.writes(factory.notebook()).encode()
    path = tmp_path / "gone" / "Dinosaurus_Island.ipynb"  # not on disk: the bytes already read are used
    submission_read = read_submission(path, data=data)
    assert submission_read.path == path and submission_read.student == "gone" and set(submission_read.cells) == {
        "clip", "sample", "optimize", "model"}  # fmt: skip
    assert read_submission(path, "ada", data=data).student == "ada"
    monkeypatch.setattr(submission, "load_notebook", lambda *a, **k: pytest.fail("read again"))
    unreadable = read_submission(path, unreadable="gone.ipynb is a FIFO; only regular files are graded")
    assert unreadable.cells == {} and unreadable.errors == ["gone.ipynb is a FIFO; only regular files are graded"]


def test_a_student_folder_that_is_a_link_is_not_followed_and_exactly_the_limit_gets_no_note(tmp_path, monkeypatch):
    monkeypatch.setattr(submission, "MAX_PER_STUDENT", 2)
    for name in "ab":
        touch(tmp_path / "class" / "ann" / f"{name}.ipynb")
    touch(tmp_path / "elsewhere" / "Dinosaurus_Island.ipynb")
    (tmp_path / "class" / "eve").symlink_to(tmp_path / "elsewhere")
    found, notes, _ = scan([tmp_path / "class"])
    assert [student for _, student in found] == ["ann/a", "ann/b"] and notes == {}


def test_what_the_scan_saw_of_a_link_is_the_link_itself(tmp_path):
    (tmp_path / "link.ipynb").symlink_to("/dev/zero")
    _, _, seen = scan([tmp_path])
    info = os.lstat(tmp_path / "link.ipynb")
    assert seen[tmp_path / "link.ipynb"] == submission.Seen(tmp_path, info.st_dev, info.st_ino)
