"""The student's process: what it can and cannot do, and how every way of failing is reported."""

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import bodies
import numpy as np
import pytest

from autograder.paths import COURSE_ROOT
from autograder.sandbox import cgroups, library, machine
from autograder.sandbox import run as one_run
from autograder.sandbox import server as server_module
from autograder.sandbox.limits import Limits
from autograder.sandbox.machine import is_root
from autograder.sandbox.messages import Task
from autograder.sandbox.run import run_task
from autograder.sandbox.server import ForkServer, fork_server

needs_root = pytest.mark.skipif(not is_root(), reason="filesystem and network isolation need root")


SHORT = Limits(cpu_seconds=30)


def run(body, limits=SHORT, cases=None):
    """Define f() with ``body`` and call it once; returns the Outcome."""
    return bodies.run_body(body, limits, cases)


result = bodies.answer


def test_does_a_plain_function_run_and_send_back_arrays():
    assert np.array_equal(result(run("return np.arange(4.0)")), np.arange(4.0))


def test_can_the_student_process_not_import_the_autograder():
    assert (
        result(run("try:\n    import autograder\n    return 'imported'\nexcept ImportError:\n    return 'no'")) == "no"
    )


@needs_root
def test_is_the_course_folder_hidden():
    body = f"""
import os
seen = []
for name in ("source", "autograder", "examples", ".git"):
    path = os.path.join({str(COURSE_ROOT)!r}, name)
    seen.append(os.listdir(path) if os.path.isdir(path) else None)
return seen
"""
    assert result(run(body)) == [None, None, None, None]


@needs_root
def test_is_a_world_readable_folder_outside_the_allowlist_invisible():
    """Another copy of the course, last term's reports: nothing outside the allowlist exists."""
    import shutil
    import tempfile
    from pathlib import Path

    secret = Path(tempfile.mkdtemp(prefix="reports-", dir="/srv" if os.path.isdir("/srv") else None))
    try:
        os.chmod(secret, 0o755)
        (secret / "grades.json").write_text("{}")
        os.chmod(secret / "grades.json", 0o644)
        assert os.listdir(secret) == ["grades.json"]
        assert result(run(f"import os\nreturn os.path.exists({str(secret)!r})")) is False
    finally:
        shutil.rmtree(secret)


@needs_root
def test_can_it_write_only_in_its_scratch_folder(tmp_path):
    target = tmp_path / "planted.txt"
    body = f"""
import os
open("mine.txt", "w").write("ok")
try:
    open({str(target)!r}, "w").write("x")
    return "wrote outside"
except OSError:
    return "refused"
"""
    assert result(run(body)) == "refused"
    assert not target.exists()


@needs_root
def test_is_there_no_network():
    body = """
import socket
try:
    socket.create_connection(("127.0.0.1", 22), timeout=1)
    return "connected"
except OSError as error:
    return "refused"
"""
    assert result(run(body)) == "refused"


@needs_root
def test_does_it_run_as_an_unprivileged_user():
    assert result(run("import os\nreturn os.getuid()")) != 0, "the student's code runs as root"


def test_is_an_endless_loop_stopped_at_its_cpu_limit():
    outcome = run("while True:\n    pass", limits=Limits(cpu_seconds=3))
    assert outcome.timed_out and "only" not in outcome.cases()
    assert outcome.charged_seconds >= 3


def test_a_loop_its_own_rlimit_ends_between_two_polls_is_out_of_time_not_killed(monkeypatch):
    """On a busy machine the grader may read a run's cost late: a process's own RLIMIT_CPU (the
    run's limit plus a margin) then ends it first, by a signal.  It used its time all the same."""
    monkeypatch.setattr(one_run, "POLL_SECONDS", 120.0)  # no poll before the rlimit's SIGKILL
    outcome = run("while True:\n    pass", limits=Limits(cpu_seconds=2))
    assert outcome.exit_code == -9 and "only" not in outcome.cases(), f"RLIMIT_CPU did not end the loop: {outcome}"
    assert outcome.timed_out, f"a run its own RLIMIT_CPU ended is not reported as out of time: {outcome}"


def test_is_a_huge_allocation_a_memory_error():
    observed = run("return np.ones((100_000, 100_000))").cases()["only"]
    assert not observed.ok and observed.error.type == "MemoryError"


def test_are_a_hundred_megabytes_of_prints_truncated_without_losing_the_result():
    body = 'import os\nfor _ in range(100):\n    print("x" * 1_000_000)\n    os.write(1, b"y" * 100_000)\nreturn 42'
    outcome = run(body)
    observed = outcome.cases()["only"]
    assert observed.ok and observed.result == 42
    assert len(observed.stdout) <= Limits().stdout_per_case and observed.stdout_dropped > 90_000_000, (
        f"prints during a call were kept past {Limits().stdout_per_case} bytes: {len(observed.stdout)}"
    )
    assert len(outcome.output) <= Limits().output_bytes and outcome.output_dropped > 0, (
        f"the process's output was kept past {Limits().output_bytes} bytes: {len(outcome.output)}"
    )


@pytest.mark.parametrize(
    "body, kind",
    [
        ("import sys\nsys.exit(1)", "SystemExit"),
        ("raise KeyboardInterrupt", "KeyboardInterrupt"),
        ("return 1 / 0", "ZeroDivisionError"),
    ],
)
def test_is_each_way_of_stopping_reported_as_an_error(body, kind):
    observed = run(body).cases()["only"]
    assert not observed.ok and observed.error.type == kind
    assert observed.error.line == 2 + body.count("\n")


def test_is_os_exit_at_the_top_of_a_cell_a_stopped_process():
    task = Task(
        function="f",
        student_source="import os\nos._exit(7)\ndef f():\n    return 1\n",
        dependencies={},
        cases=[{"id": "only", "args": [], "kwargs": {}}],
    )
    outcome = run_task(task, Limits(cpu_seconds=20))
    assert outcome.exit_code == 7 and outcome.cases() == {}


def test_is_a_syntax_error_reported_with_its_line():
    task = Task(
        function="f",
        student_source="def f():\n    return (\n",
        dependencies={},
        cases=[{"id": "only", "args": [], "kwargs": {}}],
    )
    problem = run_task(task, Limits(cpu_seconds=20)).define_error()
    assert problem.error.type == "SyntaxError"


def processes_named(name):
    """Host pids of the processes whose name (/proc/PID/comm) is ``name``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() == name:
                    found.append(int(entry))
            except OSError:
                pass
    return found


NAME_ME = "import ctypes\nctypes.CDLL(None).prctl(15, {name!r}.encode(), 0, 0, 0)\n"  # PR_SET_NAME: inherited by forks
ESCAPES = {
    "a new session": 'subprocess.Popen([sys.executable, "-c", NAME_ME + "import time; time.sleep(120)"], '
    "start_new_session=True)",
    "a double fork that ignores signals": """
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        import signal
        for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(s, signal.SIG_IGN)
        time.sleep(120)
    os._exit(0)
""",
    "endless forking": """
if os.fork() == 0:
    os.setsid()
    while True:
        try:
            if os.fork() == 0:
                time.sleep(0.05)
                continue
        except OSError:
            time.sleep(0.01)
""",
}


@pytest.mark.parametrize("escape", sorted(ESCAPES))
def test_does_nothing_the_run_started_outlive_it(escape):
    if machine.isolation_mode() == "none":
        pytest.skip("no PID namespace without root or user namespaces (documented)")
    name = f"escape{secrets.token_hex(4)}"  # what every process the run starts is called
    naming = NAME_ME.format(name=name)
    body = "import os, subprocess, sys, time\n" + naming + f"NAME_ME = {naming!r}\n"
    body += ESCAPES[escape].strip() + "\ntime.sleep(0.3)\nreturn len(NAME_ME)"
    assert result(run(body)) > 0
    for _ in range(50):
        if not processes_named(name):
            break
        time.sleep(0.1)
    assert processes_named(name) == []


# --------------------------------------------------------------------------- the process server


def test_does_the_student_process_hold_only_its_channel_to_the_supervisor():
    """No socket to the process server, no result channel to the grader: descriptors 0-2 and
    the channel on which it asks for cases and calls reference functions."""
    body = """
import os, stat
open_fds = {}
for fd in range(1024):  # no /proc in the jail: ask each descriptor
    try:
        open_fds[fd] = os.fstat(fd).st_mode
    except OSError:
        pass
return sorted(open_fds), sorted(fd for fd, mode in open_fds.items() if stat.S_ISSOCK(mode))
"""
    assert result(run(body)) == ([0, 1, 2, 3], [3])


def test_does_the_process_server_never_receive_a_task(monkeypatch):
    """The server's memory is inherited by every later run, so no task may ever pass through it:
    it gets only descriptors, a folder and an environment."""
    sent = []
    real_send_fds = server_module.socket.send_fds

    def spying_send_fds(sock, buffers, fds, *args):
        sent.extend(buffers)
        return real_send_fds(sock, buffers, fds, *args)

    monkeypatch.setattr(server_module.socket, "send_fds", spying_send_fds)
    marker = "reference_" + "solution_marker_4711"
    task = Task(
        function="f",
        student_source="def f():\n    return 'student_source_marker_0815'\n",
        dependencies={"g": f"def g():\n    return {marker!r}\n"},
        cases=[{"id": "only", "args": ["case_argument_marker_2024"], "kwargs": {}}],
    )
    outcome = run_task(task, SHORT)
    assert not outcome.cases()["only"].ok  # f takes no argument: the case did reach the child
    assert sent and all(set(json.loads(message)) == {"cwd", "env"} for message in sent)
    for needle in (marker, "student_source_marker_0815", "case_argument_marker_2024"):
        assert all(needle.encode() not in message for message in sent)


def test_does_a_crashing_run_leave_the_process_server_serving():
    server = fork_server()
    crashed = run("import ctypes\nctypes.string_at(0)")  # a segmentation fault
    assert crashed.exit_code == -11 and crashed.cases() == {}
    assert fork_server() is server and server.alive()
    assert result(run("return 6 * 7")) == 42


def test_is_a_dead_process_server_replaced_by_a_new_one():
    server = fork_server()
    server.process.kill()
    server.process.wait()
    assert result(run("return 'still grading'")) == "still grading"
    assert fork_server() is not server


def test_is_the_peak_memory_of_a_run_reported():
    small = run("return 1")
    large = run("import numpy as np\nx = np.ones(50_000_000)\nreturn float(x.sum())")
    assert large.cases()["only"].result == 50_000_000.0
    assert large.max_rss_mb - small.max_rss_mb > 300  # 50 million float64 are 381 MiB


def test_do_many_runs_leave_no_open_descriptors_in_the_grader():
    run("return 1")  # the process server is running
    before = sorted(os.listdir("/proc/self/fd"))
    for _ in range(20):
        run("print('some output')\nreturn 1")
    assert sorted(os.listdir("/proc/self/fd")) == before


def test_does_the_process_server_end_and_clean_up_when_its_grader_dies(tmp_path):
    grader = """
import os, sys
import dataclasses
from autograder.sandbox.limits import Limits
from autograder.sandbox.messages import Task
from autograder.sandbox.run import run_task
from autograder.sandbox.server import fork_server
task = Task(function="f", student_source="def f():\\n    return 1\\n", cases=[{"id": "only", "args": [], "kwargs": {}}])
assert run_task(task, Limits(cpu_seconds=30)).cases()["only"].ok
server = fork_server()
print(server.process.pid, server.home, flush=True)
task = dataclasses.replace(task, student_source="import time\\ndef f():\\n    time.sleep(30)\\n")
import threading
threading.Thread(target=run_task, args=(task, Limits(cpu_seconds=30)), daemon=True).start()
import time
for _ in range(500):
    if any(server.home.glob("run-*")):  # the run's scratch folder, under the server's
        break
    time.sleep(0.01)
else:
    sys.exit("no scratch folder under the process server's folder")
os._exit(0)  # mid-run, no atexit, no stop(): as if the grader had been killed
"""
    done = subprocess.run(
        [sys.executable, "-c", grader], cwd=COURSE_ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    pid, home = done.stdout.split()
    for _ in range(100):
        if not os.path.exists(f"/proc/{pid}") and not os.path.exists(home):
            break
        time.sleep(0.1)
    assert not os.path.exists(home)
    assert not os.path.exists(f"/proc/{pid}") or "Z" in open(f"/proc/{pid}/status").read().split("State:")[1][:4]


def test_is_a_run_retried_on_a_new_server_when_the_server_dies_unnoticed(monkeypatch):
    server = fork_server()
    server.process.kill()
    server.process.wait()
    first_check = iter([True])  # fork_server() is told once that the dead server still runs
    real_alive = ForkServer.alive
    monkeypatch.setattr(ForkServer, "alive", lambda self: next(first_check, None) or real_alive(self))
    assert result(run("return 'graded anyway'")) == "graded anyway"
    assert fork_server() is not server


@pytest.mark.skipif(not cgroups.layout(), reason="this machine gives the grader no cgroups")
def test_are_the_cgroups_of_a_killed_grader_removed_by_the_next_one():
    dead = subprocess.Popen(["true"])
    dead.wait()
    version = cgroups.layout()
    orphans = [parent / f"run-{dead.pid}-0000" for parent in cgroups._parents(version)]
    for group in orphans:
        group.mkdir()
    assert result(run("return 1")) == 1
    assert not any(group.exists() for group in orphans)


def test_does_the_code_that_runs_inside_the_sandbox_import_only_the_standard_library_and_numpy():
    """What is copied into the sandbox must run with nothing of the grader: every import in
    those files is the standard library, numpy (numba for utils' optional compiled kernels),
    utils, or a module of the package itself, imported relatively (``from . import wire``), so
    that the same files work as ``inside`` in the library folder and as
    ``autograder.sandbox.inside`` in the grader.  The entry point alone imports ``inside``."""
    import ast

    files = library.library_files()
    allowed = set(sys.stdlib_module_names) | {"numpy", "numba", "utils"}
    for name, path in files.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""] if node.level == 0 else []  # relative: within its own package
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                entry = name == library.ENTRY and module == "inside"
                assert top in allowed or entry, f"{name} imports {module}"
                assert top != "numba" or name.startswith("utils/"), f"{name} imports numba"


def test_is_the_library_folder_the_inside_package_and_utils_and_nothing_else():
    """The folder the sandbox runs from holds the package inside/ (every module of it, under
    that name) and utils/, besides the kernels' cache and the mark that it is finished: no file
    of the grader, the references or the solution."""
    folder = library.shared_library()
    copied = {str(path.relative_to(folder)) for path in folder.rglob("*.py") if library.NUMBA_CACHE not in path.parts}
    assert copied == set(library.library_files())
    assert {f"inside/{path.name}" for path in library.INSIDE.glob("*.py")} <= copied
    assert {path.name for path in folder.iterdir()} <= {"inside", "utils", library.NUMBA_CACHE, ".ready"}


def test_is_the_sandbox_program_entered_one_way_only():
    """inside/__main__.py is the program; anything but its two commands is refused with its usage."""
    entry = library.shared_library() / library.ENTRY
    refused = subprocess.run([sys.executable, "-I", str(entry), "forkserver.py"], capture_output=True, text=True)
    assert (
        refused.returncode == 1 and "usage:" in refused.stderr and "serve CONTROL_FD HOME | warm-up" in refused.stderr
    )


def test_does_the_grader_kill_a_run_it_stopped_and_all_it_started():
    """A run stopped at its time limit (it sleeps; its child sleeps longer): when run_task
    returns, the grader has killed every process of it, not left them to end by themselves."""
    name = f"stopped{secrets.token_hex(4)}"
    body = NAME_ME.format(name=name) + "import os, time\nif os.fork() == 0:\n    time.sleep(300)\ntime.sleep(300)\n"
    outcome = run(body, Limits(cpu_seconds=2))
    assert outcome.timed_out and "only" not in outcome.cases(), (
        f"a sleeping run was not stopped at its limit: {outcome}"
    )
    for _ in range(20):  # the kill is done; the kernel may take a moment to reap them
        if not processes_named(name):
            break
        time.sleep(0.1)
    assert processes_named(name) == [], f"processes of a stopped run outlived it: {processes_named(name)}"


def test_a_pid_the_kernel_gave_to_another_process_is_never_killed_for_a_finished_run():
    """pid_max is often 32,768: once a run's supervisor is reaped, its pid (or its student's) may
    belong to a process of another run before the grader cleans up.  The meter knows a process by
    its pid and start time, so that other process is neither measured nor killed; the run's own
    processes still are."""
    import subprocess
    import sys

    from autograder.sandbox.meter import RunMeter
    from autograder.sandbox.run import kill_everything

    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    try:
        stale = RunMeter(other.pid, time.perf_counter())
        stale.root_started -= 1  # the run's supervisor had this pid, and started a tick earlier
        assert stale.sample().processes == 0
        kill_everything(other.pid, other.pid, None, stale)
        assert other.poll() is None, "another run's process was killed"
        ours = RunMeter(other.pid, time.perf_counter())
        assert ours.sample().processes == 1
        kill_everything(other.pid, other.pid, None, ours)
        assert other.wait(timeout=10) == -9
    finally:
        other.kill()
        other.wait()
