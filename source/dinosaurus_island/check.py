"""Check your notebook before you submit it:  python check.py Dinosaurus_Island.ipynb

It runs the visible test of each graded function in a fresh Python process (so it tests
what is saved in the file, not what your kernel remembers) and looks for what keeps a
grader from finding or running your code.  Each finding is one line: where, what, how to
fix it.  The exit status is 1 only when the notebook could not be graded as it is.

Needs only numpy and nbformat, like the notebook.  ``--no-tests`` only inspects the notebook.
"""

import ast
import hashlib
import os
import subprocess
import symtable
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import public_tests  # noqa: E402  (beside this file)
import utils  # noqa: E402
from assignment import EXERCISES, locate  # noqa: E402  (beside this file: the grader reads it too)

GRADED = {name: (exercise.marker, exercise.signature) for name, exercise in EXERCISES.items()}
POINTS = {name: exercise.points for name, exercise in EXERCISES.items()}  # of 100
PROVIDED = set(utils.__all__) | {"np", "copy", "pprint"} | set(GRADED)
# Names the graded and test cells rely on: a cell that rebinds one breaks every cell run after it.
RELIED_ON = set(GRADED) | {f"{name}_test" for name in GRADED} | set(utils.__all__)
START, END = "### START CODE HERE ###", "### END CODE HERE ###"

# What runs in the fresh process: the notebook's imports, the four graded cells, one test.
RUNNER = """
import json, sys
sys.path.insert(0, {here!r})
import public_tests
from public_tests import *
import copy, pprint
import numpy as np
from utils import *
import linecache
cells = json.loads(sys.stdin.read())
for number, source in enumerate(cells):
    name = f"<graded cell {{number}}>"
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)  # for tracebacks
    exec(compile(source, name, "exec"), globals())
data = open({data!r}).read().lower()
chars = sorted(set(data))
char_to_ix = {{ch: ix for ix, ch in enumerate(chars)}}
ix_to_char = dict(enumerate(chars))
try:
    {call}
except public_tests.VisibleTestFailure as failure:
    print("\\nVISIBLE-TEST-FAILED:", failure)
    sys.exit(3)
"""
CALLS = {
    "clip": "clip_test(clip, 10); clip_test(clip, 5)",
    "sample": "sample_test(sample)",
    "optimize": "optimize_test(optimize)",
    "model": 'model_test(model, data.split("\\n"), ix_to_char, char_to_ix)',
}


@dataclass
class Finding:
    cell: int | None
    line: int | None
    message: str
    fatal: bool = False
    unfinished: str | None = None  # the exercise this finding says is not implemented yet

    def __str__(self):
        where = [f"cell {self.cell}" if self.cell is not None else "notebook"]
        if self.line is not None:
            where.append(f"line {self.line}")
        return ("✗ " if self.fatal else "! ") + ", ".join(where) + ": " + self.message


def grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def nbgrader_checksum(cell):
    """nbgrader's checksum of a cell (md5 of its source, type, flags, id and points)."""
    meta = cell["metadata"]["nbgrader"]
    solution = bool(meta.get("solution", False))
    grade = bool(meta.get("grade", False))
    locked = False if solution else (True if grade else bool(meta.get("locked", False)))
    digest = hashlib.md5()
    for part in (cell["source"], cell["cell_type"], str(grade), str(solution), str(locked), meta["grade_id"]):
        digest.update(str(part).encode("utf-8"))
    if grade:
        digest.update(str(float(meta["points"])).encode("utf-8"))
    return digest.hexdigest()


# ----------------------------------------------------------------------------
# Inspecting the notebook
# ----------------------------------------------------------------------------


def locate_graded_cells(cells, findings):
    """{grade_id: cell index} of the graded cells, by the grader's own rule (assignment.locate),
    with findings for anything off."""
    found = locate([(i, c["source"], grade_id(c)) for i, c in enumerate(cells) if c["cell_type"] == "code"])
    located = {}
    for name, (marker, _) in GRADED.items():
        if name not in found:
            message = f"the graded cell for {name} is missing; copy it back from a fresh copy of the assignment."
            findings.append(Finding(None, None, message, fatal=True))
            continue
        where = located[name] = found[name].index
        if found[name].matches > 1:
            message = (
                f"the graded cell {name} appears {found[name].matches} times; the grader grades the first one "
                f"(cell {where}), so keep your work there and delete the copies."
            )
            findings.append(Finding(where, None, message))
        first_line = cells[where]["source"].lstrip().splitlines()[:1]
        if found[name].how != "grade_id":
            message = (
                f"the {name} cell lost its nbgrader id (it was re-created or pasted); the grader still finds it "
                f"by its {found[name].how}, but nbgrader's own tools do not: copy your code into the original "
                "cell of a fresh copy."
            )
            findings.append(Finding(where, None, message))
        elif not first_line or marker not in first_line[0]:
            message = f"the first line '# {marker} (UNIQUE CELL IDENTIFIER, DO NOT EDIT)' was changed; restore it."
            findings.append(Finding(where, 1, message))
    return located


def check_read_only(cells, findings):
    for index, cell in enumerate(cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("locked") and not meta.get("solution") and "checksum" in meta:
            if nbgrader_checksum(cell) != meta["checksum"]:
                findings.append(
                    Finding(
                        index,
                        None,
                        "this read-only cell was changed; the grader uses the "
                        "original, so undo your edits (or copy it from a fresh copy).",
                    )
                )


def check_extra_cells(cells, located, findings):
    graded = sorted(located.values())
    if not graded:
        return
    for index in range(graded[0], graded[-1]):
        cell = cells[index]
        if cell["cell_type"] == "code" and "nbgrader" not in cell.get("metadata", {}):
            findings.append(
                Finding(
                    index,
                    None,
                    "an extra code cell between the graded cells; the grader does "
                    "not run it, so nothing it defines exists when your functions are graded. "
                    "Move it below the last exercise or delete it.",
                )
            )


def bound_names(source):
    """The names a cell binds at its top level (assignments, loop variables, imports, def and
    class), read from Python's own symbol table; IPython's % and ! lines are left out."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        table = symtable.symtable(code, "<cell>", "exec")
    except SyntaxError:
        return set()
    return {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()}


def shadowing(cells, graded_indices):
    """(cell index, name) for each name an ungraded code cell binds that the exercises rely on."""
    found = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "code" and index not in graded_indices:
            found += [(index, name) for name in sorted(bound_names(cell["source"]) & RELIED_ON)]
    return found


def check_shadowing(cells, located, findings):
    for index, name in shadowing(cells, set(located.values())):
        what = "your graded function" if name in GRADED else "a helper the notebook imports"
        findings.append(
            Finding(
                index,
                None,
                f"this cell assigns the name `{name}`, which replaces {what} for every cell run after it "
                "(running a test again then fails with a confusing error). Use another name.",
            )
        )


def code_region(source):
    """(first line number, lines) of the part between START and END CODE HERE."""
    lines = source.splitlines()
    start = next((i for i, line in enumerate(lines) if START in line), None)
    end = next((i for i, line in enumerate(lines) if END in line), None)
    if start is None or end is None or end < start:
        return 1, lines
    return start + 2, lines[start + 1 : end]


def function_node(tree, name):
    return next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)


def check_graded_cell(index, name, source, findings):
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        findings.append(
            Finding(index, error.lineno, f"syntax error: {error.msg}. Fix it; the cell cannot run.", fatal=True)
        )
        return
    node = function_node(tree, name)
    if node is None:
        findings.append(Finding(index, None, f"the cell no longer defines {name}(); restore its def line.", fatal=True))
        return
    signature = ast.unparse(node.args)
    if signature.replace(" ", "") != GRADED[name][1].replace(" ", ""):
        findings.append(
            Finding(
                index,
                node.lineno,
                f"the signature of {name} changed to ({signature}); it must "
                f"stay ({GRADED[name][1]}), because the grader calls it that way.",
                fatal=True,
            )
        )

    first, region = code_region(source)
    region_text = "\n".join(region)
    placeholders = [first + line - 1 for line in public_tests.find_placeholders(region_text)]
    if placeholders:
        lines = ", ".join(str(line) for line in placeholders)
        findings.append(
            Finding(
                index,
                placeholders[0],
                f"{name} is not implemented yet: {len(placeholders)} None "
                f"placeholder{'s' * (len(placeholders) > 1)} left (line{'s' * (len(placeholders) > 1)} "
                f"{lines}); replace {'them' if len(placeholders) > 1 else 'it'} with your code.",
                unfinished=name,
            )
        )
    try:
        region_tree = ast.parse(textwrap.dedent(region_text))
    except SyntaxError:
        region_tree = None
    if region_tree is not None:
        for call in ast.walk(region_tree):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print":
                findings.append(
                    Finding(
                        index,
                        first + call.lineno - 1,
                        f"print inside {name}; remove it before "
                        "submitting (debug prints slow the grader and clutter its output).",
                    )
                )
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "values"
                and isinstance(call.func.value, ast.Name)
                and call.func.value.id == "char_to_ix"
            ):
                findings.append(
                    Finding(
                        index,
                        first + call.lineno - 1,
                        "char_to_ix.values() depends on the order "
                        "the dictionary was built in; sample from list(range(vocab_size)).",
                    )
                )
    check_global_names(index, name, source, tree, findings)


def check_global_names(index, name, source, tree, findings):
    """Names the function reads that are not its own, a builtin, or provided by the notebook's imports."""
    table = symtable.symtable(source, "<cell>", "exec")
    defined_in_cell = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))} | {
        t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)
    }
    defined_in_cell |= {
        a.asname or a.name for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names
    }
    import builtins

    def globals_used(scope):  # the function and the comprehensions and lambdas inside it
        names = set(scope.get_globals())
        for inner in scope.get_children():
            names |= globals_used(inner)
        return names

    for child in table.get_children():
        if child.get_name() != name:
            continue
        outside = sorted(globals_used(child) - PROVIDED - defined_in_cell - set(dir(builtins)))
        for missing in outside:
            line = next((n.lineno for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == missing), None)
            findings.append(
                Finding(
                    index,
                    line,
                    f"{name} uses {missing!r}, a variable of the notebook, not one of "
                    "its arguments; the grader calls it without the notebook, so use the arguments "
                    "(e.g. data_x, char_to_ix, vocab_size).",
                )
            )


# ----------------------------------------------------------------------------
# Running the visible tests
# ----------------------------------------------------------------------------


def run_visible_test(name, sources):
    program = RUNNER.format(here=str(HERE), data=str(HERE / "dinos.txt"), call=CALLS[name])
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        done = subprocess.run(
            [sys.executable, "-c", program],
            input=__import__("json").dumps(sources),
            capture_output=True,
            text=True,
            timeout=EXERCISES[name].test_seconds,
            cwd=HERE,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return False, f"did not finish within {EXERCISES[name].test_seconds} s (a loop that never ends?)"
    if done.returncode == 0:
        return True, "visible tests passed"
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("VISIBLE-TEST-FAILED:"):
            return False, line.split(":", 1)[1].strip()
    last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
    return False, f"the test could not run: {last}"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    run_tests = "--no-tests" not in argv
    argv = [a for a in argv if a != "--no-tests"]
    if len(argv) != 1:
        print("usage: python check.py Dinosaurus_Island.ipynb [--no-tests]")
        return 2
    try:
        nb = nbformat.read(argv[0], as_version=4)
    except Exception as error:  # unreadable JSON, not a notebook, missing file: say which
        print(f"✗ {argv[0]} cannot be read as a notebook: {error}")
        return 1
    cells = nb.cells
    findings = []
    located = locate_graded_cells(cells, findings)
    check_read_only(cells, findings)
    check_extra_cells(cells, located, findings)
    check_shadowing(cells, located, findings)
    for name, index in located.items():
        check_graded_cell(index, name, cells[index]["source"], findings)

    print(f"Checking {argv[0]}\n")
    for finding in findings:
        print(finding)

    gradable = not any(f.fatal for f in findings)
    passed = 0
    if run_tests:
        print("\nVisible tests (each in a fresh process):")
    sources = [cells[located[n]]["source"] for n in GRADED if n in located]
    for name in GRADED if run_tests else ():
        if name not in located:
            print(f"  {name:9} skipped: its cell is missing")
            continue
        ok, message = run_visible_test(name, sources)
        passed += ok
        print(f"  {name:9} {'passed' if ok else 'FAILED'}" + ("" if ok else f": {message}"))

    problems = len(findings)
    tests = f", {passed} of {len(GRADED)} visible tests passed" if run_tests else ""
    print(f"\n{problems} finding{'s' * (problems != 1)}{tests}. " + verdict(gradable, findings))
    return 0 if gradable else 1


def verdict(gradable, findings):
    """The last sentence: can the grader grade it, and is it finished."""
    if not gradable:
        return "The notebook CANNOT be graded as it is: fix the lines marked ✗ first."
    unfinished = [name for name in GRADED if any(f.unfinished == name for f in findings)]
    if not unfinished:
        return "The notebook can be graded."
    lost = sum(POINTS[name] for name in unfinished)
    return (
        f"The notebook can be graded, but it is not finished: {len(unfinished)} of {len(GRADED)} exercises "
        f"({', '.join(unfinished)}) {'is' if len(unfinished) == 1 else 'are'} not implemented yet and would "
        f"score 0, so it can get at most {sum(POINTS.values()) - lost} of {sum(POINTS.values())} points."
    )


if __name__ == "__main__":
    sys.exit(main())
