"""``python -m autograder demo``: run the instructor notebook in a real kernel and show the training."""

import re
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from .paths import NOTEBOOK, SOURCE_DIR

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(shutil.copytree(SOURCE_DIR, Path(tmp) / "dinosaurus_island"))
        nb = nbformat.read(folder / NOTEBOOK, as_version=4)
        print(f"Executing {NOTEBOOK} (instructor version) in a Jupyter kernel…", flush=True)
        client = NotebookClient(
            nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
        )
        client.km = client.create_kernel_manager()
        client.km.kernel_cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        client.execute()
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if grade_id.endswith("_test"):
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            print(f"\n── {grade_id} " + "─" * 40)
            print(ANSI.sub("", text).rstrip())
    return 0
