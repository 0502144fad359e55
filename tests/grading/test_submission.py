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
