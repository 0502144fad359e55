"""Where things live in the course directory (the repository root)."""

from pathlib import Path

from assignment import EXERCISES

COURSE_ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "dinosaurus_island"
NOTEBOOK = "Dinosaurus_Island.ipynb"
SOURCE_DIR = COURSE_ROOT / "source" / ASSIGNMENT
RELEASE_DIR = COURSE_ROOT / "release" / ASSIGNMENT
SOURCE_NOTEBOOK = SOURCE_DIR / NOTEBOOK
REFERENCES_DIR = Path(__file__).resolve().parent / "references"
EXAMPLES_DIR = COURSE_ROOT / "examples" / "submissions"


# The course code the grader imports lives in the assignment's folder, which students get whole.
# The course root holds a link to each (utils/, charrnn/, assignment.py), so that from the root
# -- where every entry point runs -- they import as the students' code does: `import utils`.
COURSE_MODULES = ("utils", "charrnn", "assignment.py")
GRADED_FUNCTIONS = tuple(EXERCISES)  # ("clip", "sample", "optimize", "model")
