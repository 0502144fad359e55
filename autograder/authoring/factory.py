"""Build submissions for tests: the release notebook with chosen graded cells filled in.

Correct cells come from the instructor notebook (the one place the solution lives);
mistakes are small, named edits of them, each asserted to change the source.
"""

import json
import textwrap
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


def stolen_model(places, walk_the_disk=False):
    """An attack: a model that trains nothing and returns the stored answer for whichever case it
    is given, read from the first of ``places`` (glob patterns of a references/model.json) it can
    read; ``walk_the_disk``: failing those, every top folder but the system's is searched."""
    return textwrap.dedent(
        f"""
        import base64, glob, json, os
        import numpy as np

        def load(value):
            if isinstance(value, dict):
                [(tag, body)] = value.items()
                if tag == "__array__":
                    raw = np.frombuffer(base64.b64decode(body[2]), dtype="<f8")
                    return raw.reshape(body[1]).copy()
                if tag == "__dict__":
                    return {{load(k): load(v) for k, v in body}}
                if tag in ("__list__", "__tuple__"):
                    items = [load(v) for v in body]
                    return tuple(items) if tag == "__tuple__" else items
                if tag == "__float__":
                    return float.fromhex(body)
                if tag == "__int__":
                    return int(body)
            return value

        def model(data_x, ix_to_char, char_to_ix, num_iterations=35000, n_a=50, dino_names=7,
                  vocab_size=27, verbose=False):
            found = []
            for place in {list(places)!r}:
                try:
                    found = found or glob.glob(place)
                except OSError:
                    pass
            if {walk_the_disk!r}:  # every top folder but the system's (which the walk test compares with the host's)
                try:
                    tops = sorted(set(os.listdir("/")) - {{"usr", "proc", "sys", "dev", "lib", "lib64"}})
                except OSError:
                    tops = []
                for top in tops:
                    found = found or glob.glob(f"/{{top}}/**/references/model.json", recursive=True)
            for path in found:
                try:
                    cases = json.load(open(path))["cases"]
                    break
                except OSError:
                    continue
            else:
                return None
            case = "full" if len(data_x) > 100 else "small"
            answer = load(cases[case])
            for line in answer["stdout"].splitlines():
                print(line)
            return answer["result"]
        """
    )
