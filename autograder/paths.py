"""Where things live in the course directory (the repository root)."""

from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "dinosaurus_island"
NOTEBOOK = "Dinosaurus_Island.ipynb"
SOURCE_DIR = COURSE_ROOT / "source" / ASSIGNMENT
RELEASE_DIR = COURSE_ROOT / "release" / ASSIGNMENT
SOURCE_NOTEBOOK = SOURCE_DIR / NOTEBOOK
REFERENCES_DIR = Path(__file__).resolve().parent / "references"
EXAMPLES_DIR = COURSE_ROOT / "examples" / "submissions"

GRADED_FUNCTIONS = ("clip", "sample", "optimize", "model")


def load_assignment():
    """source/dinosaurus_island/assignment.py, the assignment's facts (exercises, the rule that finds
    graded cells), shared with the students' check.py; loaded once, by path, as it is not a package."""
    import importlib.util
    import sys

    name = "dinosaurus_assignment"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SOURCE_DIR / "assignment.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the file runs
        spec.loader.exec_module(module)
    return sys.modules[name]
