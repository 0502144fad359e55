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
