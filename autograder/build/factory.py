"""Build submissions for tests: the release notebook with chosen graded cells filled in.

Correct cells come from the instructor notebook (the one place the solution lives);
mistakes are small, named edits of them, each asserted to change the source.
"""

import json
from pathlib import Path

import nbformat

from ..paths import GRADED_FUNCTIONS, NOTEBOOK, RELEASE_DIR
from ..solution import graded_cell_sources


def solution(name):
    """The instructor's cell as a student would have written it: no stub lines, no solution markers."""
    lines = graded_cell_sources()[name].split("\n")
    keep = [line for line in lines if not line.strip().startswith(("#>", "### BEGIN SOLUTION", "### END SOLUTION"))]
    return "\n".join(keep)


def edited(name, old, new, count=1):
    """The solution of ``name`` with ``old`` replaced by ``new`` (which must occur ``count`` times)."""
    source = solution(name)
    assert source.count(old) == count, f"{old!r} occurs {source.count(old)} times in {name}"
    return source.replace(old, new)


def notebook(cells=None, base=RELEASE_DIR / NOTEBOOK):
    """The release notebook with the given {function: source} graded cells; others as released."""
    nb = nbformat.read(base, as_version=4)
    cells = {**{name: solution(name) for name in GRADED_FUNCTIONS}, **(cells or {})}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in cells:
            cell.source = cells[grade_id]
    return nb


def write(nb, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(nb, (str, bytes)):
        path.write_bytes(nb.encode() if isinstance(nb, str) else nb)
    elif isinstance(nb, dict) and not isinstance(nb, nbformat.NotebookNode):
        path.write_text(json.dumps(nb))
    else:
        nbformat.write(nb, path)
    return path


def walk_outside_allowlist(allowed):
    """Source of a sandboxed function body that walks / and leaves in ``outside`` every path
    that is neither under an ``allowed`` path nor one of the run's own places (/proc, /dev, its
    scratch and /tmp), without descending into what it lists.  The caller adds its return."""
    from autograder.sandbox.inside import jail

    own = ("/proc", "/dev", jail.SCRATCH, jail.TMP)
    return f"""
import os
allowed = {list(allowed)!r}
own = {own!r}
outside = []
for folder, subfolders, files in os.walk("/"):
    keep = []
    for name in subfolders + files:
        path = os.path.join(folder, name)
        if any(path == a or path.startswith(a.rstrip("/") + "/") for a in allowed) or path in own:
            continue
        outside.append(path)
        if name in subfolders:
            keep.append(name)
    subfolders[:] = [s for s in subfolders if s in keep]
"""
