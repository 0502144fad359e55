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


def load_from_source(name, module_name=None):
    """``source/dinosaurus_island/<name>.py``, or the package ``<name>/`` there, loaded by path,
    once, as ``module_name`` (default ``name``).  The assignment's folder is what students get,
    not a package of the course, and it is not on the grader's path (the course root is): loading
    by path keeps sys.path untouched (tests/test_layout.py)."""
    import importlib.util
    import sys

    module_name = module_name or name
    if module_name not in sys.modules:
        package = SOURCE_DIR / name
        if package.is_dir():
            where = [str(package)]
            spec = importlib.util.spec_from_file_location(
                module_name, package / "__init__.py", submodule_search_locations=where
            )
        else:
            spec = importlib.util.spec_from_file_location(module_name, SOURCE_DIR / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # dataclasses look their module up while the file runs
        spec.loader.exec_module(module)
    return sys.modules[module_name]


def load_assignment():
    """assignment.py, the assignment's facts (exercises, the rule that finds graded cells), shared
    with the students' check.py."""
    return load_from_source("assignment", "dinosaurus_assignment")


def load_charrnn():
    """charrnn/, the char-RNN package shipped with the release (the Sonnets weights are trained with it)."""
    return load_from_source("charrnn")


GRADED_FUNCTIONS = tuple(load_assignment().EXERCISES)  # ("clip", "sample", "optimize", "model")
