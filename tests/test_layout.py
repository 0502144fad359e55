"""Who may import whom: grading never uses the builders, and the benchmarks never use the tests."""

import ast

from autograder.paths import COURSE_ROOT


def imported_modules(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield ("." * node.level) + (node.module or "")


def test_does_grading_never_import_the_builders():
    for path in (COURSE_ROOT / "autograder").rglob("*.py"):
        if "build" in path.relative_to(COURSE_ROOT / "autograder").parts:
            continue
        if path.name == "cli.py":  # dispatches every command, the instructors' `audit` (in build/) among them
            continue
        for module in imported_modules(path):
            assert "build" not in module.split("."), f"{path.relative_to(COURSE_ROOT)} imports {module}"


def test_does_bench_never_import_the_tests():
    for path in (COURSE_ROOT / "bench").glob("*.py"):
        for module in imported_modules(path):
            assert module.split(".")[0] not in ("tests", "conftest", "factory", "styles"), f"{path.name}: {module}"


def edits_sys_path(tree):
    """Whether a module's own code (not a string it hands to another process) changes sys.path."""
    for node in ast.walk(tree):
        target = node.func.value if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) else None
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            target = next((t.value for t in targets if isinstance(t, ast.Subscript)), None)
        if target is not None and ast.unparse(target) == "sys.path":
            return True
    return False


def test_is_sys_path_edited_only_where_documented():
    """Plain imports everywhere, but in the places that run outside the course's own Python: the
    `nbgrader` command (nbgrader_config.py), the students' check.py, and the sandbox's code."""
    allowed = {
        "nbgrader_config.py",
        "source/dinosaurus_island/check.py",
        "autograder/sandbox/inside/forkserver.py",
        "autograder/sandbox/inside/runner.py",
    }
    editing = set()
    for folder in ("autograder", "bench", "tests", "source", "charrnn", "crosscheck", "utils"):
        for path in (COURSE_ROOT / folder).rglob("*.py"):
            if edits_sys_path(ast.parse(path.read_text())):
                editing.add(path.relative_to(COURSE_ROOT).as_posix())
    if edits_sys_path(ast.parse((COURSE_ROOT / "nbgrader_config.py").read_text())):
        editing.add("nbgrader_config.py")
    assert editing == allowed
