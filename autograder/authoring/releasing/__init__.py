"""``python -m autograder assign``: build ``release/`` from ``source/`` with nbgrader.

nbgrader's ``generate_assignment`` does the work (with the scaffold preprocessor set in
``nbgrader_config.py``); this module runs it and then checks that the release is clean:
no solution code, no hidden tests, no stub markers, every graded cell present.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from ...paths import ASSIGNMENT, COURSE_ROOT, GRADED_FUNCTIONS, NOTEBOOK, RELEASE_DIR

# Text that must never reach students.
FORBIDDEN = (
    "BEGIN SOLUTION",
    "END SOLUTION",
    "BEGIN HIDDEN TESTS",
    "END HIDDEN TESTS",
    "#>",
    "NotImplementedError",
    "autograder",
)


def tool_environment():
    """This environment, with the interpreter's bin folder first on PATH: nbgrader runs
    `alembic` from there to create its database, even when the venv is not activated."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}


class ReleaseError(RuntimeError):
    """The release could not be built, or it contains something students must not see."""


def generate(release_root, db_url=None):
    """Run ``nbgrader generate_assignment`` into ``release_root``/dinosaurus_island."""
    command = [
        sys.executable,
        "-m",
        "nbgrader",
        "generate_assignment",
        ASSIGNMENT,
        "--force",
        f"--CourseDirectory.release_directory={Path(release_root).resolve()}",
    ]
    if db_url:
        command.append(f"--CourseDirectory.db_url={db_url}")
    result = subprocess.run(command, cwd=COURSE_ROOT, capture_output=True, text=True, env=tool_environment())
    if result.returncode != 0 or "Traceback" in result.stderr or "[ERROR]" in result.stderr:
        raise ReleaseError(f"nbgrader generate_assignment failed:\n{result.stderr[-4000:]}")
    for cache in Path(release_root).rglob("__pycache__"):
        shutil.rmtree(cache)
    return Path(release_root) / ASSIGNMENT


def release_check(release_dir):
    """The release's own check.py, as a module: its rules are the ones students get."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("release_check", Path(release_dir) / "check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def problems(release_dir):
    """Everything wrong with a built release, as readable sentences (empty when clean)."""
    release_dir = Path(release_dir)
    found = []
    notebook_path = release_dir / NOTEBOOK
    if not notebook_path.exists():
        return [f"{notebook_path} is missing"]
    needed = ("dinos.txt", "public_tests.py", "assignment.py", "utils/__init__.py", "utils/exact.py", "utils/rnn.py")
    for required in needed:
        if not (release_dir / required).exists():
            found.append(f"{required} is missing from the release")
    nb = nbformat.read(notebook_path, as_version=4)
    for index, cell in enumerate(nb.cells):
        for marker in FORBIDDEN:
            if marker in cell.source:
                found.append(f"cell {index} contains {marker!r}")
        if cell.get("outputs"):
            found.append(f"cell {index} has outputs")
    grade_ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells]
    for name in GRADED_FUNCTIONS:
        if grade_ids.count(name) != 1 or grade_ids.count(f"{name}_test") != 1:
            found.append(f"the release must have exactly one {name!r} cell and one {name + '_test'!r} cell")
    graded = {index for index, grade_id in enumerate(grade_ids) if grade_id in GRADED_FUNCTIONS}
    for index, name in release_check(release_dir).shadowing(nb.cells, graded):
        found.append(f"cell {index} rebinds {name!r}, which the exercises rely on (check.py's rule)")
    for path in release_dir.rglob("*.py"):
        text = path.read_text()
        if "BEGIN SOLUTION" in text or "BEGIN HIDDEN TESTS" in text or "import autograder" in text:
            found.append(f"{path.relative_to(release_dir)} contains solution or grader code")
    return found


def build(release_root=None, db_url=None):
    """Build and check the release; returns its folder.  Raises ReleaseError on any problem."""
    if release_root is None:
        release_root = RELEASE_DIR.parent
        if RELEASE_DIR.exists():
            shutil.rmtree(RELEASE_DIR)  # nbgrader keeps stale files otherwise
    release_dir = generate(release_root, db_url)
    issues = problems(release_dir)
    if issues:
        raise ReleaseError("the release is not clean:\n  " + "\n  ".join(issues))
    return release_dir


def build_in_temporary_folder():
    """Build a fresh release outside the repository (for comparing with the committed one)."""
    tmp = Path(tempfile.mkdtemp(prefix="dino-release-"))
    return build(tmp / "release", db_url=f"sqlite:///{tmp / 'gradebook.db'}")


def main():
    release_dir = build()
    print(f"Release written to {release_dir.relative_to(COURSE_ROOT)}")
    return 0
