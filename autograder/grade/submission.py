"""Read a submitted notebook and find its graded cells, whatever else the student did to it.

Cells are found by their nbgrader ``grade_id`` first; when the metadata was lost (a copy
pasted into a new notebook, another editor), by the ``# UNQ_C1``…``# UNQ_C4`` marker lines;
last, by a cell that defines the function.  Extra cells, prints, moved or duplicated cells
do not stop grading: every problem becomes a sentence in ``errors``.

Submitted files are hostile until read: only regular files are opened (never through a link,
never a FIFO or a device), at most ``MAX_BYTES`` of them, and folders are searched without
following links, to a bounded depth.  Student ids come from the documented layout only, and
file names stay bytes until shown, then are shown escaped (``shown``).
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import assignment

from ..paths import ASSIGNMENT, GRADED_FUNCTIONS, NOTEBOOK, RELEASE_DIR

MAX_BYTES = 50 * 1024**2  # a notebook with all its outputs is a few MB
MAX_CELLS = 5000
MAX_INTEGER_DIGITS = 4000  # Python refuses to read an int of more than 4300 digits
MAX_FOLDER_DEPTH = 8  # below a folder given to the grader; nbgrader's layout needs 2
MAX_PER_STUDENT = 20  # graded below one student's folder: one student cannot slow the class


@dataclass
class Submission:
    path: Path
    student: str
    cells: dict = field(default_factory=dict)  # function name -> source
    errors: list = field(default_factory=list)


def shown(text: str | Path) -> str:
    """``text`` (a name from the file system: undecodable bytes are kept as surrogates) as
    printable text: undecodable bytes and control characters (ANSI escapes) as backslash codes."""
    text = str(text).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def student_id(path: Path, root: Path | None = None) -> str:
    """The id the documented layout gives a notebook found under the folder ``root`` (or named
    on its own, ``root=None``): nbgrader's ``[submitted/]<student>/<assignment>/x.ipynb`` gives
    <student>; ``<student>/Dinosaurus_Island.ipynb`` gives <student>; a notebook directly in
    ``root`` gives its own name.  Anything else, e.g. a notebook nested inside another
    student's folder, gets its whole path below ``root`` as its id, which no student can claim."""
    path = Path(path)
    below = path.relative_to(root) if root is not None else None
    depth = len(below.parts) - (below.parts[0] == "submitted") if below is not None else 1
    if path.parent.name == ASSIGNMENT and path.parent.parent.name and (below is None or depth == 3):
        return shown(path.parent.parent.name)
    if path.name == NOTEBOOK and path.parent.name and (below is None or depth == 2):
        return shown(path.parent.name)
    if depth <= 1:
        return shown(path.stem)
    return shown(below.with_suffix(""))


def code_cells(notebook: dict) -> Iterator[tuple[int, str, str | None]]:
    """(index, source, grade_id or None) of each code cell; tolerant of list-or-string sources."""
    for index, cell in enumerate(notebook.get("cells", [])):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(part) for part in source)
        if isinstance(source, str):
            metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
            nbgrader = metadata.get("nbgrader") if isinstance(metadata.get("nbgrader"), dict) else {}
            grade_id = nbgrader.get("grade_id")
            yield index, source, grade_id if isinstance(grade_id, str) else None  # malformed: as if it had none


FILE_KINDS = {stat.S_IFLNK: "a symbolic link", stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket",
              stat.S_IFCHR: "a device", stat.S_IFBLK: "a device", stat.S_IFDIR: "a folder"}  # fmt: skip


@dataclass(frozen=True)
class Seen:
    """What the scan saw of a notebook: the folder it was found under and the file's identity."""

    root: Path
    device: int
    inode: int


def read_regular_file(
    path: Path | str, limit: int = MAX_BYTES, seen: Seen | None = None
) -> tuple[bytes | None, str | None]:
    """(bytes, None) for a regular file of at most ``limit`` bytes, else (None, why not).
    Never follows a link and never opens anything but a regular file (a FIFO would block,
    a device could be endless).  ``seen``: what the scan saw; the file is then opened from the
    scanned folder one component at a time, never through a link at any of them, and must be
    the very file the scan saw (a folder swapped for a link during a batch reads nothing)."""
    name = shown(Path(path).name)
    try:
        before = os.lstat(path)
        if not stat.S_ISREG(before.st_mode):
            kind = FILE_KINDS.get(stat.S_IFMT(before.st_mode), "not a regular file")
            return None, f"{name} is {kind}; only regular files are graded"
        if before.st_size > limit:
            return None, f"{name} is larger than {limit // 1024**2} MB"
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        descriptor = _open_beneath(seen.root, path, flags) if seen else os.open(path, flags)
        with os.fdopen(descriptor, "rb") as file:
            opened = os.fstat(descriptor)
            expected = (seen.device, seen.inode) if seen else (before.st_dev, before.st_ino)
            if (opened.st_dev, opened.st_ino) != expected or not stat.S_ISREG(opened.st_mode):
                return None, f"{name} changed while it was being read"
            data = file.read(limit + 1)
    except OSError as error:
        if seen and error.errno in (errno.ELOOP, errno.ENOTDIR):
            return None, f"{name} changed while it was being read: a folder on its way is now a link"
        return None, f"{name} cannot be read: {error.strerror}"
    if len(data) > limit:
        return None, f"{name} is larger than {limit // 1024**2} MB"
    return data, None


def _open_beneath(root, path, flags):
    """``path`` opened from the folder ``root`` one component at a time, never following a link."""
    parts = Path(path).relative_to(root).parts
    folder = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
            os.close(folder)
            folder = inner
        return os.open(parts[-1], flags, dir_fd=folder)
    finally:
        os.close(folder)


def load_notebook(path: Path | str, data: bytes | None = None) -> tuple[dict | None, str | None]:
    """The notebook as a dict (nbformat 4; older versions upgraded by nbformat), or a sentence
    saying why it cannot be read.  ``data``: the file's bytes, when already read."""
    name = shown(Path(path).name)
    if data is None:
        data, problem = read_regular_file(path)
        if problem:
            return None, problem
    try:
        # -sig: a byte-order mark is allowed; an integer too long for Python's int() (metadata
        # anyone can edit) is kept as its digits, so that it costs nothing and is graded past
        notebook = json.loads(data.decode("utf-8-sig"), parse_int=_integer)
    except UnicodeDecodeError:
        return None, f"{name} is not UTF-8 text: is it a notebook?"
    except json.JSONDecodeError as error:
        return None, f"{name} is not valid JSON (line {error.lineno}, column {error.colno}): is it a notebook?"
    except RecursionError:
        return None, f"{name} is nested too deeply to be a notebook"
    if isinstance(notebook, dict) and isinstance(notebook.get("nbformat"), int) and notebook["nbformat"] < 4:
        notebook = upgraded(data.decode("utf-8-sig"))
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        return None, f"{name} is JSON but not a Jupyter notebook (it has no list of cells)"
    if len(notebook["cells"]) > MAX_CELLS:
        return None, f"{name} has {len(notebook['cells'])} cells (at most {MAX_CELLS} are read)"
    return notebook, None


def _integer(digits):
    return int(digits) if len(digits) <= MAX_INTEGER_DIGITS else digits


def upgraded(text: str) -> dict | None:
    """An nbformat-3 notebook (cells in worksheets, sources as lists of lines) as nbformat 4,
    read and converted by nbformat itself."""
    import nbformat

    try:
        return nbformat.reads(text, as_version=4)
    except Exception:  # noqa: BLE001 -- a broken old notebook is reported as not a notebook
        return None


def find_graded_cells(notebook: dict) -> tuple[dict[str, str], list[str]]:
    """{function: source} and the problems met on the way, by the assignment's one rule
    (assignment.locate, which the students' check.py applies too)."""
    cells = list(code_cells(notebook))
    sources = {index: source for index, source, _ in cells}
    found, errors = assignment.locate(cells), []
    for name in GRADED_FUNCTIONS:
        if name not in found:
            errors.append(f"no cell for {name} was found (neither its grade_id, its marker line nor `def {name}(`)")
            continue
        located = found[name]
        if located.matches > 1:
            errors.append(f"{located.matches} cells match {name} by {located.how}; the first one was graded")
        if located.how != "grade_id":
            errors.append(f"the {name} cell lost its nbgrader metadata; it was found by its {located.how}")
    return {name: sources[located.index] for name, located in found.items()}, errors


def read_submission(
    path: Path | str, student: str | None = None, data: bytes | None = None, unreadable: str | None = None
) -> Submission:
    """The submission at ``path`` (``data``: its bytes, when already read; ``unreadable``: why it
    could not be read, when a read already failed: it is then not read again)."""
    path = Path(path)
    submission = Submission(path, student or student_id(path))
    notebook, problem = (None, unreadable) if unreadable else load_notebook(path, data)
    if problem:
        submission.errors.append(problem)
        return submission
    submission.cells, submission.errors = find_graded_cells(notebook)
    return submission


def released_cells() -> dict[str, str]:
    """{function: source} of the graded cells as the release hands them to students."""
    notebook, _ = load_notebook(RELEASE_DIR / NOTEBOOK)
    return find_graded_cells(notebook)[0] if notebook is not None else {}


def find_notebooks(paths: list[Path | str]) -> list[tuple[Path, str]]:
    """(path, student) for each notebook named, or found below the folders named, in order."""
    return find_notebooks_with_notes(paths)[0]


def find_notebooks_with_notes(paths: list[Path | str]) -> tuple[list[tuple[Path, str]], dict[str, str]]:
    """([(path, student)], {student: sentence}).  See scan."""
    found, notes, _ = scan(paths)
    return found, notes


def scan(paths: list[Path | str]) -> tuple[list[tuple[Path, str]], dict[str, str], dict[Path, Seen]]:
    """([(path, student)], {student: sentence}, {path: Seen}).  Folders are searched without
    following links, at most ``MAX_FOLDER_DEPTH`` deep; every entry named ``*.ipynb`` is listed
    whatever it is, so that a link or a FIFO is reported (``read_regular_file`` refuses it)
    rather than skipped.  Each student's folder is searched on its own, for at most
    ``MAX_PER_STUDENT`` notebooks, so what one folder holds cannot crowd out another; the note,
    for that student's report, says that more were left.  ``Seen`` is what a later read must
    find again (``read_regular_file``)."""
    found, notes, seen = [], {}, {}
    for given in paths:
        given = Path(given)
        if not given.exists() and not given.is_symlink():
            raise FileNotFoundError(f"no such file or folder: {given}")
        if not given.is_dir():
            found.append((given, student_id(given)))
            continue
        for entry, depth in _entries_of_students(given):
            if entry.is_dir(follow_symlinks=False):
                taken = _search(entry, depth, MAX_PER_STUDENT + 1)
            else:
                taken = [entry] if entry.name.endswith(".ipynb") else []
            kept = [(Path(e.path), student_id(Path(e.path), given)) for e in taken[:MAX_PER_STUDENT]]
            if len(taken) > MAX_PER_STUDENT:
                for _, student in kept:
                    notes[student] = (f"{shown(entry.name)} holds more than {MAX_PER_STUDENT} notebooks; "
                                      f"only the first {MAX_PER_STUDENT} were graded")  # fmt: skip
            for e in taken[:MAX_PER_STUDENT]:
                try:
                    seen[Path(e.path)] = Seen(given, e.stat(follow_symlinks=False).st_dev, e.inode())
                except OSError:  # gone already: reading it will say so
                    pass
            found += kept
    return found, notes, seen


def _entries_of_students(root):
    """(entry, its depth below ``root``) for what lies in ``root``, or in nbgrader's
    ``root/submitted``: each is one student's folder, or a notebook on its own."""
    for entry in _sorted_entries(root):
        if entry.name == "submitted" and entry.is_dir(follow_symlinks=False):
            yield from ((inner, 2) for inner in _sorted_entries(entry.path))
        elif entry.name != ".ipynb_checkpoints":
            yield entry, 1


def _sorted_entries(folder):
    try:
        return sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return []


def _search(folder, depth, limit):
    """At most ``limit`` notebook entries below the folder entry ``folder`` (``depth`` below the
    folder given), in name order, without following links or going deeper than ``MAX_FOLDER_DEPTH``."""
    notebooks = []
    for entry in _sorted_entries(folder.path):
        if len(notebooks) >= limit:
            break
        if entry.is_dir(follow_symlinks=False):
            if depth < MAX_FOLDER_DEPTH and entry.name != ".ipynb_checkpoints":
                notebooks += _search(entry, depth + 1, limit - len(notebooks))
        elif entry.name.endswith(".ipynb"):
            notebooks.append(entry)
    return notebooks
