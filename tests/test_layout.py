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
