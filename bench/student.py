"""What a student waits for: the release notebook's training cell, run in a fresh Jupyter kernel.

The notebooks measured are the release notebook with the solution filled in, cut after the
training cell and without the visible tests before it, so that the training cell is the first
code that trains: with a cold numba cache it pays the whole compilation, as a student's first
run does.  The baseline notebook is the same with the training cell replaced by the usual
``np.dot`` training loop (bench/baseline.py), same model, data order and steps.
"""

import datetime
import os
import shutil
from pathlib import Path

import nbformat

from autograder.paths import NOTEBOOK, RELEASE_DIR

TRAINING_CELL = "model_test"  # the nbgrader id of the cell that trains for 22,001 steps
VISIBLE_TESTS = ("clip_test", "sample_test", "optimize_test")
BASELINE_CELL = """from baseline import train  # bench/baseline.py, copied beside the notebook

_, lines = train(data.split("\\n"), ix_to_char, char_to_ix, 22001)
print("\\n".join(lines))"""


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def write_folder(notebook, folder, baseline=False):
    """The release folder at ``folder`` holding ``notebook`` (filled in), cut as described above;
    with ``baseline``, the training cell is the np.dot loop of bench/baseline.py, copied beside it."""
    shutil.copytree(RELEASE_DIR, folder, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    if baseline:
        shutil.copy(Path(__file__).with_name("baseline.py"), Path(folder) / "baseline.py")
    cells = []
    for cell in notebook.cells:
        if grade_id(cell) in VISIBLE_TESTS:
            continue
        if grade_id(cell) == TRAINING_CELL:
            if baseline:
                cell.source = BASELINE_CELL
            cells.append(cell)
            break
        cells.append(cell)
    notebook.cells = cells
    nbformat.write(notebook, Path(folder) / NOTEBOOK)
    return Path(folder)


def training_cell_seconds(folder, numpy_only=False):
    """Execute ``folder``'s notebook in a fresh kernel; the training cell's own time, from the
    kernel's execute_input to its reply, as Jupyter records it."""
    from nbclient import NotebookClient

    notebook = nbformat.read(Path(folder) / NOTEBOOK, as_version=4)
    env = {name: value for name, value in os.environ.items() if name != "DINO_PURE_NUMPY"}
    where = {"metadata": {"path": str(folder)}}
    NotebookClient(notebook, timeout=1200, kernel_name="python3", resources=where).execute(
        env={**env, "DINO_PURE_NUMPY": "1"} if numpy_only else env  # the kernel's environment
    )
    cell = next(c for c in notebook.cells if grade_id(c) == TRAINING_CELL)
    timing = cell.metadata["execution"]
    start = datetime.datetime.fromisoformat(timing["iopub.execute_input"])
    end = datetime.datetime.fromisoformat(timing["shell.execute_reply"])
    output = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    texts = [o.get("text", "") for c in notebook.cells for o in c.get("outputs", [])]
    path = next((text.strip() for text in texts if text.startswith("utils: training runs")), "")
    return (end - start).total_seconds(), {"last_line": output.strip().splitlines()[-1], "path": path}
