"""Run notebooks in a real Jupyter kernel (nbclient) and read their outputs."""

import re
import shutil
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ANSI = re.compile(r"\x1b\[[0-9;]*m")
FENCE = re.compile(r"```\n(.*?)```", re.S)


def copy_assignment(folder, destination):
    """Copy an assignment folder (real files, no caches) to ``destination``."""
    shutil.copytree(folder, destination, ignore=shutil.ignore_patterns("__pycache__"))
    return Path(destination)


def execute(notebook_path, timeout=600, allow_errors=False):
    """Execute the notebook in its own folder with this interpreter's kernel; returns the notebook."""
    nb = nbformat.read(notebook_path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(Path(notebook_path).parent)}},
    )
    client.km = client.create_kernel_manager()
    client.km.kernel_cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    client.execute()
    return nb


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def stream_text(cell):
    return ANSI.sub("", "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream"))


def errors(cell):
    return [o for o in cell.get("outputs", []) if o.output_type == "error"]


def expected_output_after(nb, cell_index):
    """The last fenced block of the markdown cell that follows a test cell."""
    markdown = nb.cells[cell_index + 1]
    assert markdown.cell_type == "markdown"
    blocks = FENCE.findall(markdown.source)
    assert blocks, f"no expected output after cell {cell_index}"
    return blocks[-1]
