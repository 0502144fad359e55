"""``make sabotage``: break each protection the README promises, one at a time, and see a test fail.

mutmut (``make mutate``) reaches the modules whose tests run in the grader's own process.  The
sandbox's layers run elsewhere (the supervisor, the student's process, the jail, the seccomp
filter), the students' check.py is run from the release by path, and nbgrader loads its own
config: mutmut's mutants are never active there.  This catalogue covers them, and the other
defences the README names, with hand-written sabotage: each entry disables one protection,
by a small edit to a copy of the project, and names the tests that must then fail.

First every named test runs on the copy as it is: they must all pass, or no sabotage is tried
(a test that fails anyway would "catch" everything).  Then, for each entry, the copy is
edited, the named tests run (stopping at the first failure), and the copy restored.  The table
shows whether a test failed ("caught"), which one, and the first line of its message, which
should name the protection.  An entry whose text is no longer in its file is an error of the
catalogue (``tests/test_sabotage_catalogue.py`` checks that every text is found exactly once,
in ``make test``).

    .venv/bin/python tests/sabotage.py [--only WORDS ...] [--jobs N]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SANDBOX, ATTACKS, TRUST = (
    "tests/sandbox/test_sandbox.py",
    "tests/sandbox/test_attacks.py",
    "tests/sandbox/test_trust_boundary.py",
)
LAYERS, FILTER = "tests/sandbox/test_layers.py", "tests/sandbox/test_seccomp.py"
RUNGS, BUSY = "tests/sandbox/test_rungs.py", "tests/sandbox/test_busy.py"


@dataclass(frozen=True)
class Sabotage:
    promise: str  # what stops holding, in the README's words
    path: str  # the file edited, from the project's root
    edits: tuple[tuple[str, str], ...]  # (text found exactly once, what replaces it)
    tests: tuple[str, ...]  # test files or node ids, one of which must fail

    def apply(self, text: str) -> str:
        for old, new in self.edits:
            count = text.count(old)
            if count != 1:
                raise LookupError(f"{self.path}: {old[:60]!r} occurs {count} times (the catalogue is out of date)")
            text = text.replace(old, new)
        return text


def sabotage(promise: str, path: str, old: str, new: str, *tests: str) -> Sabotage:
    return Sabotage(promise, path, ((old, new),), tests)


JAIL = "autograder/sandbox/inside/jail.py"
CGROUPS = "autograder/sandbox/cgroups.py"
RUN = "autograder/sandbox/run.py"
SUPERVISOR = "autograder/sandbox/inside/supervisor.py"
REFCALL = "autograder/sandbox/inside/refcall.py"
SECCOMP = "autograder/sandbox/inside/seccomp.py"
RUBRIC, RUBRIC_RULES = "autograder/grade/rubric.py", "tests/grade/test_rubric_rules.py"
CHECK = "release/dinosaurus_island/check.py"  # what students run; built from source/ by `assign`

CATALOGUE: tuple[Sabotage, ...] = (
    # --- the run's cgroups (as root) ---
    sabotage("memory cap per run (cgroup)", CGROUPS,
             '(groups["memory"] / "memory.limit_in_bytes").write_text(str(memory_bytes))',
             '(groups["memory"] / "memory.limit_in_bytes").write_text("-1")', ATTACKS, LAYERS),
    sabotage("process count per run (cgroup)", CGROUPS,
             '(groups["pids"] / "pids.max").write_text(str(processes))',
             '(groups["pids"] / "pids.max").write_text("max")', ATTACKS, SANDBOX, LAYERS),
    sabotage("one CPU per run (cgroup)", CGROUPS,
             '(groups["cpu"] / "cpu.cfs_quota_us").write_text(str(int(cpus * PERIOD_US)))',
             '(groups["cpu"] / "cpu.cfs_quota_us").write_text("-1")', ATTACKS, LAYERS),
    sabotage("memory cap per run (cgroup v2)", CGROUPS, '(group / "memory.max").write_text(str(memory_bytes))',
             '(group / "memory.max").write_text("max")', "tests/sandbox/test_cgroups.py"),
    sabotage("process count per run (cgroup v2)", CGROUPS, '(group / "pids.max").write_text(str(processes))',
             '(group / "pids.max").write_text("max")', "tests/sandbox/test_cgroups.py"),
    sabotage("one CPU per run (cgroup v2)", CGROUPS, 'write_text(f"{int(cpus * PERIOD_US)} {PERIOD_US}")',
             'write_text(f"max {PERIOD_US}")', "tests/sandbox/test_cgroups.py"),
    sabotage("the student's process joins the run's cgroups", JAIL,
             'for group in config.get("cgroups", []):  # before the host',
             'for group in []:  # before the host', ATTACKS, LAYERS),
    sabotage("the supervisor joins the run's cgroups", JAIL,
             'for group in config.get("cgroups", []):\n        if os.path.basename',
             'for group in []:\n        if os.path.basename', TRUST, LAYERS),
    # --- the grader's watch and kill ---
    sabotage("the run's CPU-time limit (the grader's watch)", RUN,
             "        if charged >= limits.cpu_seconds:\n            outcome.timed_out = True",
             "        if False:\n            outcome.timed_out = True", SANDBOX, LAYERS),
    sabotage("idle time is charged (time.sleep counts)", "autograder/sandbox/meter.py",
             "+ (self.idle if waits_measured else 0.0)", "+ 0.0", SANDBOX, LAYERS),
    sabotage("the wall-clock backstop says 'machine busy', never a timeout", RUN,
             "        elif usage.wall >= backstop:\n            outcome.machine_busy = True",
             "        elif usage.wall >= backstop:\n            outcome.timed_out = True", BUSY),
    sabotage("the memory watch where no cgroup caps memory", RUN,
             "elif watch_memory and usage.rss > limits.memory_bytes", "elif False and usage.rss > limits.memory_bytes",
             LAYERS, "tests/sandbox/test_without_root.py"),
    sabotage("the kill of what a run leaves", RUN,
             '    kill_everything(pid, results.get("student_pid"), sweep, meter)\n', "", SANDBOX),
    sabotage("every process of the run's uid is killed (container root)", RUN,
             'sweep = uids[0] if mode == "uid" else None', "sweep = None", LAYERS, RUNGS),
    sabotage("printed output is bounded", RUN,
             "        if room > 0:\n            kept += chunk[:room]", "        kept += chunk", SANDBOX),
    # --- the jail (as root) ---
    sabotage("PID namespace", SUPERVISOR,
             'if config["mode"] in ("root", "userns"):\n            jail.new_pid_namespace',
             'if False:\n            jail.new_pid_namespace', LAYERS, SANDBOX),
    sabotage("no network (network namespace)", JAIL,
             "CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC", "CLONE_NEWNS | CLONE_NEWIPC", SANDBOX, LAYERS),
    sabotage("allowlist root (nothing else of the host)", JAIL,
             "for path in [*SYSTEM_PATHS, *allowlist]:", 'for path in [*SYSTEM_PATHS, *allowlist, "/srv", "/home"]:',
             ATTACKS, SANDBOX),
    sabotage("no /proc", JAIL, '_call(_libc.umount2(b"/proc", MNT_DETACH), "remove /proc")', "pass", ATTACKS),
    sabotage("the root is read-only but the scratch", JAIL,
             '    _read_only_everywhere(keep=(SCRATCH, TMP, "/proc"))\n', "", LAYERS, ATTACKS),
    sabotage("64 MB scratch", JAIL, 'f"size={scratch_bytes},mode=700"', 'f"size=50%,mode=700"', LAYERS, ATTACKS),
    sabotage("a fresh unprivileged uid", JAIL,
             '        become(uid)\n        held.append(f"uid {uid}")', '        held.append(f"uid {uid}")', SANDBOX),
    sabotage("empty capability bounding set", JAIL,
             '        drop_bounding_set()\n        held.append("empty capability bounding set")',
             '        held.append("empty capability bounding set")', TRUST, LAYERS),
    sabotage("the seccomp filter on the student's process", JAIL,
             '    if seccomp.supported():\n        seccomp.install()\n        held.append("seccomp")',
             '    if False:\n        seccomp.install()\n        held.append("seccomp")', TRUST, LAYERS),
    sabotage("the OOM killer picks the student's process", JAIL, 'file.write("1000")', 'file.write("0")', LAYERS),
    sabotage("rlimit: 16 MB per file", JAIL, "_limit(resource.RLIMIT_FSIZE, config.get(\"file_bytes\"))", "pass",
             LAYERS, ATTACKS),
    sabotage("rlimit: 256 open files", JAIL, "_limit(resource.RLIMIT_NOFILE, 256)", "pass", LAYERS),
    sabotage("rlimit: no core files", JAIL, "_limit(resource.RLIMIT_CORE, 0)\n    if config", "pass\n    if config",
             LAYERS),
    sabotage("rlimit: each process's CPU time", JAIL, '_limit(resource.RLIMIT_CPU, config.get("cpu_seconds"))',
             "pass", LAYERS, SANDBOX),
    sabotage("rlimit: address space", JAIL,
             '(resource.RLIMIT_AS, config.get("address_space_bytes"))\n    _limit(resource.RLIMIT_CPU, config.get',
             '(resource.RLIMIT_CPU, config.get', LAYERS, SANDBOX),
    sabotage("Landlock where namespaces are refused", JAIL,
             'if config["mode"] in ("uid", "none") and config.get("landlock"):', "if False:", LAYERS, RUNGS),
    # --- the seccomp filter itself ---
    sabotage("seccomp: every call of the deny-list refused", SECCOMP,
             "for number in sorted(denied.values()):", "for number in sorted(denied.values())[1:]:", FILTER, TRUST),
    sabotage("seccomp: sockets of the local family only", SECCOMP,
             "(JEQ, 1, 0, AF_UNIX)", "(JEQ, 1, 0, 2)", FILTER, SANDBOX),
    sabotage("seccomp: clone with a namespace flag refused", SECCOMP,
             "(JSET, 0, 1, NAMESPACE_FLAGS)", "(JSET, 0, 1, 0)", FILTER, TRUST),
    sabotage("seccomp: the x32 numbering refused", SECCOMP,
             "code += [(JSET, 0, 1, X32_BIT), (RET, 0, 0, refuse)]", "code += []", FILTER),
    sabotage("seccomp: another architecture's numbering refused", SECCOMP,
             "(JEQ, 1, 0, arch), (RET, 0, 0, refuse)", "(JEQ, 1, 1, arch), (RET, 0, 0, refuse)", FILTER),
    # --- the supervisor ---
    sabotage("the supervisor runs under a uid of its own", JAIL,
             "become(uid)\n        _limit(resource.RLIMIT_NPROC, 8)", "_limit(resource.RLIMIT_NPROC, 8)",
             TRUST, LAYERS),
    sabotage("the supervisor's seccomp filter", JAIL,
             "if seccomp.supported():\n        seccomp.install()\n    _libc.prctl", "_libc.prctl", TRUST, LAYERS),
    Sabotage("the references are read only after the student's process is forked", SUPERVISOR, (
        ("    pid = os.fork()\n    if pid == 0:", "    early = next_frame()\n    pid = os.fork()\n    if pid == 0:"),
        ("load_references(next_frame())", "load_references(early)"),
    ), (TRUST, ATTACKS)),
    sabotage("copy, then check: arrays are copied out of the shared memory", REFCALL,
             "buffer=self.buffer, offset=offset).copy()", "buffer=self.buffer, offset=offset)", TRUST),
    sabotage("a call no correct solution makes is refused", REFCALL,
             "if rule is None:\n            return f\"a correct", "if False:\n            return f\"a correct", TRUST),
    sabotage("as many calls as a correct solution makes", REFCALL,
             "if self.made[name] > rule[\"calls\"]:", "if False:", TRUST),
    sabotage("calls' arguments within the case's shapes and sizes", REFCALL,
             "            problem = _outside(value, rule, shapes)", "            problem = None", TRUST),
    sabotage("the answers of a run, 64 MB in all (the supervisor)", SUPERVISOR,
             'if self.answer_bytes > self.limits["answer_bytes"]:', "if False:", TRUST, LAYERS),
    sabotage("the answers of a run, 64 MB in all (the grader)", "autograder/sandbox/events.py",
             "if results[\"kept\"] > budget:", "if False:", TRUST, "tests/sandbox/test_events.py"),
    # --- submitted files ---
    sabotage("a submitted file is opened with O_NOFOLLOW", "autograder/grade/submission.py",
             "flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK", "flags = os.O_RDONLY | os.O_NONBLOCK",
             "tests/grade/test_submission.py"),
    sabotage("only the very file the scan saw is read", "autograder/grade/submission.py",
             "if (opened.st_dev, opened.st_ino) != expected or not", "if not", "tests/grade/test_submission.py"),
    sabotage("folders are opened without following links", "autograder/grade/submission.py",
             "os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW", "os.O_RDONLY | os.O_DIRECTORY",
             "tests/grade/test_submission.py"),
    # --- reports, the resume file, the private folder ---
    *(sabotage(f"CSV guard for a leading {char!r}", "autograder/grade/report.py",
               '("=", "+", "-", "@", "\\t", "\\r")', repr(tuple(c for c in "=+-@\t\r" if c != char)).replace("'", '"'),
               "tests/grade/test_reports.py", "tests/grade/test_canvas.py")
      for char in "=+-@\t\r"),
    sabotage("a report the grader did not write is never replaced", "autograder/grade/report.py",
             "return head.startswith(REPORT_STARTS)", "return True", "tests/grade/test_reports.py"),
    sabotage("the resume file's lines are authenticated", "autograder/grade/resume.py",
             "if not hmac.compare_digest(str(mac), self._mac(entry)):", "if False:", "tests/grade/test_resume.py"),
    sabotage("the resume file is this user's own", "autograder/grade/resume.py",
             "elif info.st_uid != os.geteuid():", "elif False:", "tests/grade/test_resume.py"),
    sabotage("the private folder is refused if another user made it", "autograder/sandbox/library.py",
             "or info.st_uid != os.geteuid() or", "or", LAYERS, "tests/grade/test_cli.py"),
    # --- Dask, nbgrader ---
    sabotage("a tcp:// cluster is refused", "autograder/grade/cluster.py",
             'if address.startswith("tcp://") and not insecure:', "if False:", "tests/grade/test_dask.py"),
    sabotage("nbgrader's autograde executes no cell", "nbgrader_config.py",
             "c.Autograde.autograde_preprocessors = [\n    GradeInSandbox,",
             "c.Autograde.autograde_preprocessors = [\n    GradeInSandbox,\n    nbg.Execute,",
             "tests/grade/test_nbgrader.py"),
    Sabotage("nbgrader stops when the grader cannot be loaded", "nbgrader_config.py",
             (("    raise SystemExit(\n", "    print(\n"), ("    ) from error\n", "    )\n")),
             ("tests/grade/test_nbgrader.py",)),
    # --- the rubric and the grades ---
    sabotage("supporting checks pay only for work", RUBRIC,
             "    if share >= 1:\n        return\n", "    return\n", RUBRIC_RULES, "tests/checks/test_rubric.py"),
    sabotage("a check paid less than its points is not shown passed", RUBRIC,
             "result.passed, result.withheld = False, True", "result.withheld = True", RUBRIC_RULES),
    sabotage("part of a check's points for part of the work", RUBRIC,
             "points = round(check.points * feedback.share, 2)", "points = 0.0", RUBRIC_RULES),
    sabotage("a grade with the student's own helpers is kept only at full marks", "autograder/grade/grading.py",
             "if first.score == spec.points:", "if True:", "tests/grade/test_grading.py"),
    sabotage("references that do not match the cases are refused", "autograder/grade/expected.py",
             'if stored.get("fingerprint") != fingerprints[name]:', "if False:", "tests/authoring/test_references.py",
             "tests/grade/test_cli.py"),
    sabotage("the judges' default tolerance", "autograder/checks/base.py",
             "rtol: float = 1e-9, atol: float = 1e-12", "rtol: float = 1e-3, atol: float = 1e-6",
             "tests/checks/test_judges.py"),
    sabotage("a student's exception message is shown cut to 160 characters", "autograder/grade/grading.py",
             "STUDENT_TEXT = 160", "STUDENT_TEXT = 100_000", "tests/grade/test_error_feedback.py"),
    # --- the students' check.py ---
    sabotage("check.py: a cell that imports a graded function's name", CHECK,
             "s.is_assigned() or s.is_imported() or s.is_namespace()", "s.is_assigned() or s.is_namespace()",
             "tests/course/test_check.py"),
    sabotage("check.py: a changed signature", CHECK,
             'if signature.replace(" ", "") != GRADED[name][1].replace(" ", ""):', "if False:",
             "tests/course/test_check.py"),
    sabotage("check.py: a variable of the notebook read inside a graded function", CHECK,
             "        for missing in outside:", "        for missing in []:", "tests/course/test_check.py"),
    sabotage("check.py: print inside a graded function", CHECK,
             'and call.func.id == "print":', 'and call.func.id == "nothing":', "tests/course/test_check.py"),
    sabotage("check.py: an edited read-only cell", CHECK,
             'if nbgrader_checksum(cell) != meta["checksum"]:', "if False:", "tests/course/test_check.py"),
    sabotage("check.py: an extra code cell among the exercises", CHECK,
             'if cell["cell_type"] == "code" and "nbgrader" not in cell.get("metadata", {}):', "if False:",
             "tests/course/test_check.py"),
    sabotage("check.py: a graded cell that appears twice", CHECK,
             "if found[name].matches > 1:", "if False:", "tests/course/test_check.py"),
    sabotage("check.py: char_to_ix.values()", CHECK,
             'and call.func.attr == "values"', 'and call.func.attr == "nothing"', "tests/course/test_check.py"),
)  # fmt: skip


def copy_of_the_project(folder: Path) -> Path:
    """The working tree's files, tracked or new but not ignored (links kept as links), with
    this clone's .venv linked in."""
    names = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, names.decode().split("\0")):
        source, target = ROOT / name, folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        elif source.exists():
            shutil.copy2(source, target)
    (folder / ".venv").symlink_to(ROOT / ".venv")
    return folder


FAILED = re.compile(r"^(?:FAILED|ERROR) (.+?)(?: - (.*))?$", re.M)


def pytest_command(*arguments: str) -> list[str]:
    return [str(ROOT / ".venv/bin/python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-rfE",
            "--strict-markers", *arguments]  # fmt: skip


def environment(cache: Path) -> dict[str, str]:
    return {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "400"}


def clean_run(entries: list[Sabotage], copy: Path, cache: Path) -> subprocess.CompletedProcess:
    """The tests the entries name, on the copy as it is: they must pass before any sabotage
    can be said to be caught by them."""
    tests = sorted({test for entry in entries for test in entry.tests})
    return subprocess.run(pytest_command("-n", "2", *tests), cwd=copy, env=environment(cache), capture_output=True,
                          text=True, timeout=3600)  # fmt: skip


def run_one(entry: Sabotage, copy: Path, cache: Path) -> tuple[str, str, str, float]:
    """(caught / SURVIVED / error, the failing test, its message, seconds) for one sabotage."""
    path = copy / entry.path
    original = path.read_text()
    start = time.perf_counter()
    try:
        path.write_text(entry.apply(original))
        done = subprocess.run(pytest_command("-x", *entry.tests), cwd=copy, env=environment(cache),
                              capture_output=True, text=True, timeout=1800)  # fmt: skip
    except (LookupError, subprocess.TimeoutExpired) as error:
        return "error", "", str(error)[:200], time.perf_counter() - start
    finally:
        path.write_text(original)
    seconds = time.perf_counter() - start
    if done.returncode == 0:
        return "SURVIVED", "", "", seconds
    failed = FAILED.search(done.stdout)
    if done.returncode != 1 or failed is None:
        return "error", "", (done.stdout + done.stderr).strip()[-300:], seconds
    return "caught", failed[1], (failed[2] or "")[:160], seconds  # the summary line: one line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", default=[""], help="run the entries whose promise contains any of these")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    chosen = [entry for entry in CATALOGUE if any(words.lower() in entry.promise.lower() for words in args.only)]
    base = Path(tempfile.mkdtemp(prefix="sabotage-"))
    copies = [copy_of_the_project(base / f"copy{i}") for i in range(args.jobs)]
    free = list(copies)

    def job(entry):
        copy = free.pop()
        try:
            return entry, run_one(entry, copy, base / "cache")
        finally:
            free.append(copy)

    counts = {"caught": 0, "SURVIVED": 0, "error": 0}
    try:
        print(f"the named tests, before any sabotage ({len(chosen)} entries) …", flush=True)
        clean = clean_run(chosen, copies[0], base / "cache")
        if clean.returncode != 0:
            print(clean.stdout[-3000:] + clean.stderr[-2000:])
            print("the named tests fail on the project as it is: fix them first; no sabotage was tried")
            return 2
        with ThreadPoolExecutor(args.jobs) as pool:
            for entry, (status, test, message, seconds) in pool.map(job, chosen):
                counts[status] += 1
                print(f"{status:8} {entry.promise}  ({seconds:.0f} s)", flush=True)
                if test or message:
                    print(f"         {test}: {message}" if test else f"         {message}", flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"\n{counts['caught']} of {len(chosen)} sabotages caught; {counts['SURVIVED']} survived, "
          f"{counts['error']} errors")  # fmt: skip
    return 0 if counts["caught"] == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
