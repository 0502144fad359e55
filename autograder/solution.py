"""The solution, read from the instructor notebook's solution cells (what the grader calls the reference).

The instructor notebook is the only place the solution is written down.  This module
executes its four graded cells (with the same imports the notebook has) and hands out
the resulting functions; nothing here restates the solution.
"""

import ast
import hashlib
import json
import sys
from pathlib import Path

from .paths import GRADED_FUNCTIONS, SOURCE_DIR, SOURCE_NOTEBOOK

NOTEBOOK_IMPORTS = "import copy\nimport numpy as np\nfrom utils import *\n"


def graded_cell_sources(notebook_path=SOURCE_NOTEBOOK):
    """{function name: source} of the graded solution cells, found by nbgrader grade_id."""
    notebook = json.loads(Path(notebook_path).read_text())  # plain JSON: nbformat is slow to import
    sources = {}
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in GRADED_FUNCTIONS:
            source = cell["source"]
            sources[grade_id] = source if isinstance(source, str) else "".join(source)
    missing = [name for name in GRADED_FUNCTIONS if name not in sources]
    if missing:
        raise LookupError(f"{notebook_path} has no solution cell for {', '.join(missing)}")
    return sources


def compact(source):
    """A solution cell without its comments, as it is sent into a student's process (and as the
    fault catalogue's edits are written against)."""
    return ast.unparse(ast.parse(source))


def load_solution(notebook_path=SOURCE_NOTEBOOK):
    """Execute the solution cells; returns the namespace holding clip, sample, optimize, model."""
    namespace = {"__name__": "reference_solution"}
    exec(NOTEBOOK_IMPORTS, namespace)
    for name, source in graded_cell_sources(notebook_path).items():
        exec(compile(source, f"<reference {name}>", "exec"), namespace)
    return namespace


def dinosaur_data():
    """The data set as the notebook loads it: (names, ix_to_char, char_to_ix)."""
    data = (SOURCE_DIR / "dinos.txt").read_text().lower()
    chars = sorted(set(data))
    char_to_ix = {ch: ix for ix, ch in enumerate(chars)}
    ix_to_char = dict(enumerate(chars))
    return data.split("\n"), ix_to_char, char_to_ix


def parameters_sha256(parameters):
    """sha256 of Wax, Waa, Wya, b, by as float64 C-order bytes, concatenated in that order."""
    digest = hashlib.sha256()
    for name in ("Wax", "Waa", "Wya", "b", "by"):
        digest.update(parameters[name].astype("<f8", order="C").tobytes())
    return digest.hexdigest()


def canonical_run(iterations=22001):
    """Print what the notebook's training cell prints, then the last name and the parameters' hash.

    With 22,001 iterations the output is the file shared/reference/model_22001_canonical_output.txt.
    """
    reference = load_solution()
    names, ix_to_char, char_to_ix = dinosaur_data()
    parameters, last_name = reference["model"](names, ix_to_char, char_to_ix, iterations, verbose=True)
    print(repr(last_name))
    print("params-sha256", parameters_sha256(parameters))


if __name__ == "__main__":
    canonical_run(int(sys.argv[1]) if len(sys.argv) > 1 else 22001)
