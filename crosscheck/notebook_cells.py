"""``python crosscheck/notebook_cells.py [--training]``: what the notebook prints, cell by cell.

Runs the instructor notebook's code cells in order, as a student's kernel would after "Run
All" (the solution in the graded cells, the hidden tests left out as nbgrader leaves them out
of the release), and prints each cell's output under a ``--- cell N`` line.  Cells that start a
program or draw a plot are left out; so is the 22,001-step training cell unless ``--training``.
Run from the notebook's folder with only numpy (and numba) installed: ``matrix.py`` compares
its output across numpy versions, numba or not, and Python versions.
"""

import contextlib
import io
import json
import re
import sys

NOTEBOOK = "Dinosaurus_Island.ipynb"
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)
LEFT_OUT = ("subprocess", "matplotlib")  # starts check.py; draws a plot
TRAINING = "Does training for 22,001 steps"


def code_cells(notebook):
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            yield index, HIDDEN.sub("", "".join(cell["source"]))


def main(argv):
    training = "--training" in argv
    with open(NOTEBOOK, encoding="utf-8") as file:
        notebook = json.load(file)
    namespace = {"__name__": "__main__"}
    for index, source in code_cells(notebook):
        if any(word in source for word in LEFT_OUT) or (TRAINING in source and not training):
            continue
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(source, f"<cell {index}>", "exec"), namespace)
        print(f"--- cell {index}")
        print(printed.getvalue(), end="", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
