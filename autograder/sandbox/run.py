"""One sandboxed run: ``run_task`` makes a scratch folder and has the grader's process server
(``server.py``) fork a supervisor (``inside/supervisor.py``), which starts the student's
process and drives it.  The task goes to the supervisor alone, never through the server.

The run's limit is on the CPU time of all its processes, not on the clock (``meter.py``), so a
busy machine changes no grade; a run that the machine starved of CPU for many times its limit is
"not graded, regrade it" (``Outcome.machine_busy``), never a timeout.  Where no cgroup caps
memory, the same watch ends a run whose processes together pass the cap.  The reference
functions the graded one calls run in the supervisor, never in the student's process (a task
may instead give the student's own versions, ``Task.own_dependencies``: see
``Grader.grade_function``); the supervisor copies, then checks, then computes on what the
student's process sends, and confines itself to the run's bounds (``jail.confine_supervisor``).
Cases reach the supervisor, and the student's process, one at a time.  Output is bounded, and
every message from the student's side is decoded with bounds (``events.py``), within a budget
for the whole run whose decoding time is charged to the run.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

from . import cgroups
from .events import read_events, read_outcome
from .inside import jail, wire
from .library import allowlist, clean_environment
from .limits import Limits, default_limits
from .machine import UID_RANGE, isolation_mode, landlock_version
from .messages import Outcome, Task
from .meter import RunMeter, waiting_is_measured
from .server import fork_server

log = logging.getLogger(__name__)
POLL_SECONDS = 0.25  # how often the grader reads a run's cost while it runs
SCRATCH_HOME = "/sandbox"  # the student's home and working folder, inside its root (jail.SCRATCH)


def fresh_uids() -> tuple[int, int]:
    """Two different unused uids: the student's process's and the supervisor's."""
    student = secrets.randbelow(UID_RANGE[1] - UID_RANGE[0]) + UID_RANGE[0]
    supervisor = student + 1 if student + 1 < UID_RANGE[1] else student - 1
    return student, supervisor


def _start(mode, student, limits, uids, groups, child_ends):
    """Start the run: its scratch folder (the mount point of its new root, or, unisolated, its
    cwd) is made inside the process server's folder, which the server removes when it ends, so
    a grader killed mid-run leaves no folder behind.  Tried once more, on a new server, if the
    running one has died.  Returns (pid, reply socket, scratch folder, the task's first frame)."""
    for attempt in range(2):
        server = fork_server()
        scratch = Path(tempfile.mkdtemp(prefix="run-", dir=server.home))
        (scratch / "root").mkdir(mode=0o700)
        if mode == "uid":  # the run's own uid may pass through the server's folder and this one, and owns its scratch
            for folder in (server.home, scratch):
                folder.chmod(0o711)
            os.chown(scratch / "root", uids[0], uids[0])
        first = frame({"sandbox": sandbox_config(mode, limits, scratch / "root", uids, groups), "student": student})
        namespaces = mode in ("root", "userns")
        environment = clean_environment(SCRATCH_HOME if namespaces else str(scratch / "root"))
        if not namespaces:
            environment["TMPDIR"] = str(scratch / "root")
        try:
            pid, reply = server.spawn(scratch / "root", environment, *child_ends)
            return pid, reply, scratch, first
        except OSError:
            shutil.rmtree(scratch, ignore_errors=True)
            if attempt or server.alive():
                raise
    raise AssertionError("unreachable")


def _drain(stream, keep, sink):
    """Read ``stream`` to its end, keeping the first ``keep`` bytes in ``sink["data"]``."""
    kept = sink.setdefault("data", bytearray())
    sink.setdefault("dropped", 0)
    while True:
        chunk = stream.read(65536)
        if not chunk:
            break
        room = keep - len(kept)
        if room > 0:
            kept += chunk[:room]
        sink["dropped"] += max(0, len(chunk) - max(room, 0))


def kill_everything(
    supervisor: int, student: int | None, uid: int | None = None, meter: RunMeter | None = None
) -> None:
    """Kill every process of the run: the student's process (process 1 of its PID namespace,
    where one could be made, so all it started dies with it), every process of the run's own
    uid (the sweep by uid, run from a child that takes that uid), and the supervisor's tree,
    whose orphans it adopted (``meter``), until none is left."""
    if student and not (meter and meter.taken_by_another(student)):
        _kill(student)
    if uid is not None:
        _kill_every_process_of(uid)
    for _ in range(100):
        living = meter.living_pids() if meter else []
        for pid in living:
            _kill(pid)
        if not (meter and meter.taken_by_another(supervisor)):
            _kill(-supervisor)  # its group: orphans that left the tree (a reused pid leads no group of ours)
        if not living:
            return


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_every_process_of(uid):
    """kill(-1) as ``uid``: every process of that uid, and nothing else, ends."""
    pid = os.fork()
    if pid == 0:
        try:
            jail.become(uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _wait(reply, seconds):
    """The supervisor's end report from the server, or None if it did not come within ``seconds``."""
    reply.settimeout(max(seconds, 0.001))
    try:
        answer = reply.recv(4096)
    except TimeoutError:
        return None
    return json.loads(answer) if answer else {"exit_code": None}


def frame(value: object) -> bytes:
    return wire.frame(wire.dumps(value).encode())


def sandbox_config(
    mode: str, limits: Limits, root: Path, uids: tuple[int | None, int | None], groups: list[str]
) -> dict:
    return {
        "mode": mode,
        "root": str(root),
        "allowlist": allowlist(),
        "landlock": landlock_version() > 0,
        "uid": uids[0],
        "supervisor_uid": uids[1],
        "cgroups": groups,
        "scratch_bytes": limits.scratch_bytes,
        "address_space_bytes": limits.address_space_bytes(),
        "cpu_seconds": int(limits.cpu_seconds) + 5,  # each process's own RLIMIT_CPU; the run's is watched
        "file_bytes": limits.file_bytes,
        "processes": limits.processes,
        "result_bytes": limits.result_bytes,
        "answer_bytes": limits.answer_bytes,
    }


def run_task(task: Task, limits: Limits | None = None) -> "Outcome":
    """Run ``task`` in a fresh sandbox; returns an Outcome.  Never raises for anything the
    student's code does."""
    limits = limits or default_limits()
    mode = isolation_mode()
    uids = fresh_uids() if mode in ("root", "uid") else (None, None)  # the student's, the supervisor's
    groups = cgroups.create(limits.memory_bytes, limits.processes, limits.cpus) if mode == "root" else []
    student = {
        "function": task.function,
        "student_source": task.student_source,
        "stdout_limit": limits.stdout_per_case,
        "dependencies": sorted(task.dependencies),
        "own_dependencies": task.own_dependencies,
        "draws_random": list(task.draws_random),
    }
    # Read by the supervisor only after it has forked the student's process, one frame at a
    # time: the references, then each case when it is run (the pipe holds back the rest).
    later = [frame(dict(task.dependencies)), *(frame({"case": case}) for case in task.cases)]
    outcome = Outcome()
    pipes = {name: os.pipe() for name in ("stdin", "output", "result")}  # (read end, write end)
    start = time.perf_counter()
    child_ends = (pipes["stdin"][0], pipes["output"][1], pipes["result"][1])
    try:
        pid, reply, scratch, first = _start(mode, student, limits, uids, groups, child_ends)
    except BaseException:
        for fd in (pipes["stdin"][1], pipes["output"][0], pipes["result"][0]):
            os.close(fd)
        _clean_up(None, groups)
        raise
    finally:
        for fd in child_ends:
            os.close(fd)
    output, results = {}, {"events": []}
    streams = [os.fdopen(pipes["output"][0], "rb"), os.fdopen(pipes["result"][0], "rb")]
    readers = [
        threading.Thread(target=_drain, args=(streams[0], limits.output_bytes, output), daemon=True),
        threading.Thread(target=read_events, args=(streams[1], results, limits.answer_bytes), daemon=True),
    ]
    for reader in readers:
        reader.start()
    writer = threading.Thread(target=_feed, args=(pipes["stdin"][1], [first, *later]), daemon=True)
    writer.start()
    meter = RunMeter(pid, time.perf_counter(), results)  # the process server's start (first run only) is not the run's
    ended = _watch(reply, meter, limits, outcome, watch_memory=not groups)
    sweep = uids[0] if mode == "uid" else None  # elsewhere the PID namespace or the supervisor's tree holds them all
    kill_everything(pid, results.get("student_pid"), sweep, meter)
    if ended is None:
        ended = _wait(reply, 10) or {"exit_code": None}
    reply.close()
    writer.join(timeout=5)
    for reader, stream in zip(readers, streams, strict=True):
        reader.join(timeout=5)
        if not reader.is_alive():
            stream.close()
    outcome.seconds = time.perf_counter() - start
    outcome.cpu_seconds = max(outcome.cpu_seconds, ended.get("cpu_seconds", 0.0))
    _clean_up(scratch, groups)

    outcome.exit_code = outcome.supervisor_exit_code = ended.get("exit_code")
    outcome.max_rss_mb = ended.get("max_rss_kb", 0) / 1024
    outcome.output = bytes(output.get("data", b"")).decode("utf-8", "replace")
    outcome.output_dropped = output.get("dropped", 0)
    read_outcome(results, outcome, limits, calls_from_student=bool(task.own_dependencies))
    log.debug("%s: ran %.2f s (%.2f s CPU, %.2f s charged), exit code %s%s, %.0f MB at most", task.function,
              outcome.seconds, outcome.cpu_seconds, outcome.charged_seconds, outcome.exit_code,
              ", timed out" if outcome.timed_out else "", outcome.max_rss_mb)  # fmt: skip
    return outcome


def _watch(reply, meter, limits, outcome, watch_memory):
    """Wait for the run to end while reading its cost; returns the server's end report, or None
    when the run was stopped (``outcome`` says why: its CPU time, its memory, or the backstop)."""
    measured = waiting_is_measured()
    backstop = limits.backstop_seconds()
    while True:
        ended = _wait(reply, POLL_SECONDS)
        usage = meter.sample()
        charged = usage.charged(waits_measured=measured)
        outcome.cpu_seconds, outcome.charged_seconds = usage.cpu, charged
        if ended is not None:
            # A process's own RLIMIT_CPU (a little above the run's limit) may end it between two
            # polls on a busy machine: the run still used its time, and is reported so.
            outcome.timed_out = charged >= limits.cpu_seconds
            return ended
        if charged >= limits.cpu_seconds:
            outcome.timed_out = True
        elif watch_memory and usage.rss > limits.memory_bytes and meter.proportional_memory() > limits.memory_bytes:
            outcome.memory_exceeded = True
        elif usage.wall >= backstop:
            outcome.machine_busy = True
        else:
            continue
        return None


def _feed(fd, frames):
    try:
        with os.fdopen(fd, "wb") as stdin:
            for data in frames:
                stdin.write(data)
                stdin.flush()
    except OSError:  # the run ended before it read its task
        pass


def _clean_up(scratch, groups):
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)
    cgroups.remove(groups)
