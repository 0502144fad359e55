"""Who may import whom: grading never uses the builders, the benchmarks never use the tests, and no
module of the autograder imports, through others, itself."""

import ast
import os
from pathlib import Path

from autograder.paths import COURSE_MODULES, COURSE_ROOT, SOURCE_DIR


def imported_modules(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield ("." * node.level) + (node.module or "")


def test_does_grading_never_import_the_authoring_tools():
    for path in (COURSE_ROOT / "autograder").rglob("*.py"):
        if "authoring" in path.relative_to(COURSE_ROOT / "autograder").parts:
            continue
        if path.name == "cli.py":  # dispatches every command, the instructors' `audit` (in authoring/) among them
            continue
        for module in imported_modules(path):
            assert "authoring" not in module.split("."), f"{path.relative_to(COURSE_ROOT)} imports {module}"


def test_does_bench_never_import_the_tests():
    for path in (COURSE_ROOT / "bench").glob("*.py"):
        for module in imported_modules(path):
            assert module.split(".")[0] not in ("tests", "conftest", "factory", "styles"), f"{path.name}: {module}"


def test_do_the_tests_take_their_helpers_as_fixtures_not_imports_of_conftest():
    for path in (COURSE_ROOT / "tests").rglob("*.py"):
        for module in imported_modules(path):
            assert module.split(".")[0] != "conftest", f"{path.relative_to(COURSE_ROOT)} imports conftest"


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
    `nbgrader` command (nbgrader_config.py), the students' check.py, and the sandbox's one entry
    point (inside/__main__.py)."""
    allowed = {
        "nbgrader_config.py",
        "source/dinosaurus_island/check.py",
        "autograder/sandbox/inside/__main__.py",
    }
    editing = set()
    for folder in ("autograder", "bench", "tests", "source", "crosscheck"):
        for path in (COURSE_ROOT / folder).rglob("*.py"):
            if edits_sys_path(ast.parse(path.read_text())):
                editing.add(path.relative_to(COURSE_ROOT).as_posix())
    if edits_sys_path(ast.parse((COURSE_ROOT / "nbgrader_config.py").read_text())):
        editing.add("nbgrader_config.py")
    assert editing == allowed


def autograder_imports():
    """{module: the autograder modules it imports, at the top or inside a function}, for the
    grader's side (the sandbox's inside/ package runs apart, in the sandbox: test_sandbox.py checks its imports)."""
    root = COURSE_ROOT / "autograder"
    modules = {}
    for path in root.rglob("*.py"):
        if "inside" in path.relative_to(root).parts:
            continue
        parts = list(path.relative_to(COURSE_ROOT).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = (path, name if path.name == "__init__.py" else name.rpartition(".")[0])
    graph = {}
    for name, (path, package) in modules.items():
        graph[name] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                candidates = [target] + [f"{target}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            else:
                continue
            graph[name] |= {c for c in candidates if c in modules and c != name}
    return graph


def on_a_cycle(graph):
    """The nodes of ``graph`` ({node: nodes it points to}) from which a path leads back to them."""

    def reaches(start, goal, seen):
        for other in graph.get(start, set()) - seen:
            seen.add(other)
            if other == goal or reaches(other, goal, seen):
                return True
        return False

    return sorted(node for node in graph if reaches(node, node, set()))


def test_is_there_no_import_cycle_in_the_autograder():
    graph = autograder_imports()
    assert "autograder.sandbox.messages" in graph["autograder.grade.grading"] | graph["autograder.sandbox.run"]

    assert on_a_cycle(graph) == []


def test_do_the_autograders_parts_import_each_other_one_way_only():
    """Layers, as the README's Architecture section draws them: between grade/, sandbox/, authoring/,
    checks/, faults/ and the top modules, no two import each other, even through a third."""

    def part(module):
        return ".".join(module.split(".")[:2])

    parts = {}
    for module, imported in autograder_imports().items():
        parts.setdefault(part(module), set()).update(
            part(m) for m in imported if part(m) not in (part(module), "autograder")
        )
    assert parts["autograder.grade"] >= {"autograder.sandbox", "autograder.checks", "autograder.faults"}
    assert on_a_cycle(parts) == []


def test_does_the_grader_import_the_course_code_one_way_only():
    """The course code lives in the assignment's folder, and the grader imports it one way: as
    top-level modules, from the course root, through one link each (paths.COURSE_MODULES) into
    source/ -- never the release's copy, never by path.  Checked from a bare interpreter at the
    root, and in the grader's own code, which loads no file by path (but the release's check.py,
    which the release build runs as students will)."""
    import subprocess
    import sys

    links = {p.name: p.resolve() for p in COURSE_ROOT.iterdir() if p.is_symlink()}
    assert links == {name: SOURCE_DIR / name for name in COURSE_MODULES}
    probe = "import assignment, charrnn.train, utils; print(assignment.__file__, charrnn.__file__, utils.__file__)"
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", probe], cwd=COURSE_ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    found = [Path(file).resolve() for file in done.stdout.split()]
    assert found == [
        SOURCE_DIR / "assignment.py",
        SOURCE_DIR / "charrnn" / "__init__.py",
        SOURCE_DIR / "utils" / "__init__.py",
    ]
    loading_by_path = {
        path.relative_to(COURSE_ROOT).as_posix()
        for path in (COURSE_ROOT / "autograder").rglob("*.py")
        if "spec_from_file_location" in path.read_text()
    }
    assert loading_by_path == {"autograder/authoring/releasing/__init__.py"}


def test_is_every_tracked_python_file_linted_but_the_generated_release():
    """ruff's excludes are anchored at the course root: a folder of the same name deeper down
    (autograder/authoring/releasing/ was once autograder/build/release/) is linted like any other."""
    import subprocess
    import sys

    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=COURSE_ROOT, capture_output=True, text=True, check=True)
    listed = subprocess.run([sys.executable, "-m", "ruff", "check", "--show-files"], cwd=COURSE_ROOT,
                            capture_output=True, text=True, check=True)  # fmt: skip
    linted = {str(Path(line).resolve().relative_to(COURSE_ROOT)) for line in listed.stdout.split()}
    expected = {str(Path(path).resolve().relative_to(COURSE_ROOT)) for path in tracked.stdout.split()}
    expected = {path for path in expected if not path.startswith("release/")}
    assert expected - linted == set()


def test_are_the_public_functions_of_grade_sandbox_and_checks_annotated():
    """Every function and method without a leading underscore in grade/, sandbox/ (inside/ too)
    and checks/ says the types of its parameters and what it returns."""
    bare = []
    for folder in ("grade", "sandbox", "checks"):
        for path in sorted((COURSE_ROOT / "autograder" / folder).rglob("*.py")):
            tree = ast.parse(path.read_text())
            functions = [(node.name, node) for node in tree.body if isinstance(node, ast.FunctionDef)]
            for cls in (node for node in tree.body if isinstance(node, ast.ClassDef) and not node.name.startswith("_")):
                functions += [(f"{cls.name}.{m.name}", m) for m in cls.body if isinstance(m, ast.FunctionDef)]
            for name, function in functions:
                if name.rpartition(".")[2].startswith("_"):
                    continue
                arguments = function.args
                every = [
                    *arguments.posonlyargs,
                    *arguments.args,
                    *arguments.kwonlyargs,
                    arguments.vararg,
                    arguments.kwarg,
                ]
                unsaid = [
                    a.arg for a in every if a is not None and a.arg not in ("self", "cls") and a.annotation is None
                ]
                if unsaid or function.returns is None:
                    bare.append(f"{path.relative_to(COURSE_ROOT)}: {name} ({', '.join(unsaid) or 'return'})")
    assert bare == []
