"""Read a submitted notebook and find its graded cells, whatever else the student did to it.

Cells are found by their nbgrader ``grade_id`` first; when the metadata was lost (a copy
pasted into a new notebook, another editor), by the ``# UNQ_C1``…``# UNQ_C4`` marker lines;
last, by a cell that defines the function.  Extra cells, prints, moved or duplicated cells
do not stop grading: every problem becomes a sentence in ``errors``.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .paths import ASSIGNMENT, GRADED_FUNCTIONS, NOTEBOOK

MARKERS = {f"UNQ_C{i}": name for i, name in enumerate(GRADED_FUNCTIONS, start=1)}
MARKER_LINE = re.compile(r"^\s*#\s*(UNQ_C[1-4])\b", re.M)
MAX_BYTES = 100 * 1024**2


@dataclass
class Submission:
    path: Path
    student: str
    cells: dict = field(default_factory=dict)  # function name -> source
    errors: list = field(default_factory=list)


def student_id(path):
    """nbgrader's submitted/<student>/<assignment>/x.ipynb gives <student>; a notebook under its
    usual name gives its folder's name; any other notebook gives its own name."""
    path = Path(path)
    if path.parent.name == ASSIGNMENT and path.parent.parent.name:
        return path.parent.parent.name
    if path.name == NOTEBOOK and path.parent.name:
        return path.parent.name
    return path.stem


def code_cells(notebook):
    """(index, source) of each code cell; tolerant of list-or-string sources."""
    for index, cell in enumerate(notebook.get("cells", [])):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(part) for part in source)
        if isinstance(source, str):
            metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
            nbgrader = metadata.get("nbgrader") if isinstance(metadata.get("nbgrader"), dict) else {}
            yield index, source, nbgrader.get("grade_id")


def load_notebook(path):
    """The notebook as a dict, or a sentence saying why it cannot be read."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            return None, f"{path.name} is larger than {MAX_BYTES // 1024**2} MB"
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, f"{path.name} cannot be read: {error}"
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        return (
            None,
            f"{path.name} is not valid JSON (line {error.lineno}, column {error.colno}): is it a notebook?",
        )
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        return None, f"{path.name} is JSON but not a Jupyter notebook (it has no list of cells)"
    return notebook, None


def find_graded_cells(notebook):
    """{function: source} and the problems met on the way."""
    cells, errors = {}, []
    by_id, by_marker, by_def = {}, {}, {}
    for index, source, grade_id in code_cells(notebook):
        if grade_id in GRADED_FUNCTIONS:
            by_id.setdefault(grade_id, []).append((index, source))
        for marker in MARKER_LINE.findall(source):
            by_marker.setdefault(MARKERS[marker], []).append((index, source))
        for name in GRADED_FUNCTIONS:
            if re.search(rf"^def\s+{name}\s*\(", source, re.M):
                by_def.setdefault(name, []).append((index, source))
    for name in GRADED_FUNCTIONS:
        for how, found in (("grade_id", by_id), ("marker line", by_marker), ("definition", by_def)):
            if name in found:
                if len(found[name]) > 1:
                    errors.append(f"{len(found[name])} cells match {name} by {how}; the first one was graded")
                if how != "grade_id":
                    errors.append(f"the {name} cell lost its nbgrader metadata; it was found by its {how}")
                cells[name] = found[name][0][1]
                break
        else:
            errors.append(f"no cell for {name} was found (neither its grade_id, its marker line nor `def {name}(`)")
    return cells, errors


def read_submission(path, student=None):
    path = Path(path)
    submission = Submission(path, student or student_id(path))
    notebook, problem = load_notebook(path)
    if problem:
        submission.errors.append(problem)
        return submission
    submission.cells, submission.errors = find_graded_cells(notebook)
    return submission


def find_notebooks(paths):
    """(path, student) for each notebook named or found below the folders named, sorted."""
    found = []
    for given in paths:
        given = Path(given)
        if not given.exists():
            raise FileNotFoundError(f"no such file or folder: {given}")
        if given.is_dir():
            for path in sorted(given.rglob("*.ipynb")):
                if ".ipynb_checkpoints" not in path.parts:
                    found.append(path)
        else:
            found.append(given)
    return [(path, student_id(path)) for path in found]
