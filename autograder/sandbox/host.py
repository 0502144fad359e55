"""Run untrusted student code in its own locked-in processes, and collect what they report.

Each call of ``run_task`` makes a scratch folder and has the grader's process server
(``forkserver.py``, started once, with numpy and utils' compiled kernels loaded) fork a
supervisor (``runner.py``), which starts the student's process and drives it.  The task goes
to the supervisor alone, never through the server.  What holds depends on the machine: the
strongest rung it allows is chosen once (``isolation_mode()``; ``protections()`` says it in
words, and the README's "Isolation" section in full):

- **root** (root with CAP_SYS_ADMIN): the student's process is process 1 of a new PID
  namespace, inside a root of its own that holds only the interpreter, its libraries and the
  grader's runtime folder (``jail.py``), with no network, a 64 MB scratch, a fresh unprivileged
  uid, in cgroups that cap the whole run's memory, processes and CPU;
- **userns** (an ordinary user, where the kernel allows unprivileged user namespaces): the
  same namespaces and root, but no cgroups and no separate uid;
- **uid** (root without CAP_SYS_ADMIN: a container's root, as in Docker, Gradescope and most
  Kubernetes pods): no namespaces; a fresh uid and gid, a private scratch folder, Landlock
  confining reads to the same allowlist (where the kernel has it), the kill sweep by uid;
- **none** (an ordinary user without user namespaces): Landlock where the kernel has it.

On every rung: no_new_privs, the seccomp filter (``seccomp.py``), rlimits, and the grader's
watch over the run (``meter.py``): its limit is on the CPU time of all its processes, not on
the clock, so a busy machine changes no grade; a run that the machine starved of CPU for many
times its limit is "not graded, regrade it" (``Outcome.machine_busy``), never a timeout.  Where
no cgroup caps memory, the same watch ends a run whose processes together pass the cap.  The
reference functions the graded one calls run in the supervisor, never in the student's
process (a task may instead give the student's own versions, ``own_dependencies``: see
``Grader.grade_function``); the supervisor copies, then checks, then computes on what the
student's process sends, and confines itself to the run's bounds (``jail.confine_supervisor``).
Cases reach the supervisor, and the student's process, one at a time.  Output is bounded, and
every message from the student's side is decoded with bounds (``wire.py``), within a budget for
the whole run whose decoding time is charged to the run.
"""

import atexit
import functools
import hashlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..paths import NOTEBOOK, REFERENCES_DIR, SOURCE_DIR
from . import cgroups
from .inside import landlock, wire
from .inside.forkserver import HOME_PREFIX
from .messages import Observation, PhaseReport, StudentError
from .meter import RunMeter, waiting_is_measured

log = logging.getLogger(__name__)
INSIDE = Path(__file__).resolve().parent / "inside"  # the code that runs in the sandbox
UID_RANGE = (200_000, 900_000)  # fresh uids, unused by any account
NUMBA_CACHE = ".numba_cache"
KEEP_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "NPY_DISABLE_CPU_FEATURES")
LIBRARY_FILES = (
    "runner.py",
    "wire.py",
    "forkserver.py",
    "jail.py",
    "refcall.py",
    "landlock.py",
    "seccomp.py",
    "tracer.py",
)
DRAWS_RANDOM = ("sample",)  # reference functions that use numpy's global random state
MAX_FEEDBACK_TEXT = 2000  # characters kept of any text the student's process sends
POLL_SECONDS = 0.25  # how often the grader reads a run's cost while it runs
MAPPED_BEFORE_STUDENT_CODE = 384 * 1024**2
BACKSTOP_FACTOR, BACKSTOP_EXTRA = 10.0, 30.0  # the wall clock's backstop: this many times the CPU limit, and more


@dataclass(frozen=True)
class Limits:
    cpu_seconds: float = 60.0  # CPU time of all the run's processes together (see meter.py)
    memory_bytes: int = 2 * 1024**3  # resident memory of all the run's processes together
    file_bytes: int = 16 * 1024**2
    output_bytes: int = 256 * 1024  # what we keep of the process's own stdout/stderr
    stdout_per_case: int = 512 * 1024  # what the runner keeps of prints during one call
    result_bytes: int = 16 * 1024**2  # the largest answer to one case
    answer_bytes: int = 64 * 1024**2  # all the answers of a run together: what the grader keeps and decodes
    scratch_bytes: int = 64 * 1024**2  # the run's writable tmpfs (/sandbox and /tmp)
    processes: int = 64
    cpus: float = 1.0  # the CPU share of a whole run, where cgroups hold

    def backstop_seconds(self):
        """The wall-clock time after which a run that is still under its CPU limit is given up:
        the machine gave it less than a tenth of a CPU (or, where the kernel does not report
        waiting, the code may have been waiting for something)."""
        return BACKSTOP_FACTOR * self.cpu_seconds + BACKSTOP_EXTRA

    def address_space_bytes(self):
        """RLIMIT_AS of each process: the memory cap on top of what the process has mapped before
        the student's code runs (326 MB measured: the interpreter, numpy, utils' compiled
        kernels), so a single allocation past the cap fails at once with a MemoryError, before
        the grader's watch (or a container's OOM killer) would have to step in."""
        return self.memory_bytes + MAPPED_BEFORE_STUDENT_CODE


HEADROOM_BYTES = 256 * 1024**2  # kept free for the grader inside a container's memory limit
LEAST_MEMORY_BYTES = 256 * 1024**2


def container_memory_limit():
    """The memory limit of the cgroup this process is in, and of every one above it (a Docker
    or Gradescope container's limit, seen from inside), as (limit, in use) bytes; None if none."""
    found = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # cgroup v2
            base, names = Path("/sys/fs/cgroup"), ("memory.max", "memory.current")
        elif "memory" in controllers.split(","):
            base, names = Path("/sys/fs/cgroup/memory"), ("memory.limit_in_bytes", "memory.usage_in_bytes")
        else:
            continue
        folder = base / path.lstrip("/")
        while True:
            try:
                limit, used = ((folder / name).read_text().strip() for name in names)
                if limit.isdigit() and int(limit) < 2**60:
                    found.append((int(limit), int(used)))
            except OSError:
                pass
            if folder == base:
                break
            folder = folder.parent
    return min(found) if found else None


@functools.cache
def default_limits():
    """Limits() fitted to this machine: inside a container whose memory limit would not hold a
    run's 2 GiB next to the grader, the run gets what is free, less some headroom, so the
    sandbox stops a memory hog and says so before the container's OOM killer ends the grader."""
    container = container_memory_limit()
    limits = Limits()
    if container is None:
        return limits
    limit, used = container
    room = max(LEAST_MEMORY_BYTES, limit - used - HEADROOM_BYTES)
    return Limits(memory_bytes=min(limits.memory_bytes, room))


@dataclass
class Outcome:
    """What one sandboxed run reported."""

    messages: list = field(default_factory=list)  # PhaseReport and Observation, in order
    output: str = ""  # the process's own stdout/stderr, truncated
    output_dropped: int = 0
    exit_code: int | None = None
    timed_out: bool = False  # the run used its CPU time (or slept it away): the student's doing
    machine_busy: bool = False  # the wall clock's backstop ended a run still under its CPU limit
    memory_exceeded: bool = False  # the run's processes together passed the memory cap (no cgroups)
    seconds: float = 0.0  # wall clock
    cpu_seconds: float = 0.0  # CPU time of all the run's processes
    charged_seconds: float = 0.0  # what the limit is on: CPU time, and time neither computing nor waiting
    max_rss_mb: float = 0.0  # the peak resident memory of the run's process
    supervisor_exit_code: int | None = None  # the supervisor's own (0: it ended normally)
    supervisor_max_rss_mb: float = 0.0  # its peak resident memory, as it reported it
    bad_lines: int = 0
    protocol_error: str | None = None  # the student's side broke the protocol (only its run fails)

    def define_error(self):
        """The PhaseReport of isolation or definition that failed, or None."""
        return next((m for m in self.messages if isinstance(m, PhaseReport) and not m.ok), None)

    def cases(self):
        """{case id: Observation} of every case that reported."""
        return {m.case: m for m in self.messages if isinstance(m, Observation)}

    def isolation(self):
        """What held, as the student's process reported before any of its code ran (None: no report)."""
        return next((list(m.held) for m in self.messages if m.phase == "isolate"), None)


def is_root():
    return hasattr(os, "geteuid") and os.geteuid() == 0


@functools.cache
def user_namespaces():
    """Whether this kernel lets this user make a user and PID namespace (tried in a child)."""
    from .inside import jail

    return _can_in_a_child(lambda: jail.new_pid_namespace(as_root=False))


def _can_in_a_child(attempt):
    """Whether ``attempt()`` succeeds in a forked child (so nothing here changes)."""
    pid = os.fork()
    if pid == 0:
        try:
            attempt()
            os._exit(0)
        except BaseException:  # noqa: B036 -- any failure means no
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _new_namespaces_as_root():
    from .inside import jail

    jail.unshare(jail.CLONE_NEWPID | jail.CLONE_NEWNS | jail.CLONE_NEWNET, "new namespaces")


def _become_another_user():
    from .inside import jail

    jail.become(UID_RANGE[0])


@functools.cache
def isolation_mode():
    """The strongest rung this machine allows: "root", "userns", "uid" or "none" (module docstring)."""
    if is_root():
        if _can_in_a_child(_new_namespaces_as_root):
            return "root"
        return "uid" if _can_in_a_child(_become_another_user) else "none"
    return "userns" if user_namespaces() else "none"


def answer_key_readable_by_others():
    """Whether a fresh uid could read the references or the solution notebook (tried in a child)."""

    def read_the_key():
        _become_another_user()
        for path in (REFERENCES_DIR / "model.json", SOURCE_DIR / NOTEBOOK):
            with open(path, "rb") as file:
                file.read(1)

    return _can_in_a_child(read_the_key)


@functools.cache
def landlock_version():
    """The kernel's Landlock ABI as this process may use it (0: none, or a filter refuses it)."""
    return landlock.version()


def protections():
    """What holds for the student's code on this machine, and what does not, in words."""
    mode = isolation_mode()
    watch = "CPU-time limit and memory cap on all its processes (watched by the grader)"
    if mode in ("uid", "none"):
        confined = (
            f"Landlock v{landlock_version()}: reads only the interpreter, its libraries and the runtime folder, "
            "writes only its scratch folder, no TCP"
            if landlock_version()
            else f"NO Landlock on this kernel: it can read whatever {'any user' if mode == 'uid' else 'this user'} "
            "can read (keep the course folder mode 700)"
        )
        first = (
            "namespaces refused (root without CAP_SYS_ADMIN, as in a container): fresh uid and gid"
            if mode == "uid"
            else "NOT isolated from this user (no root, no user namespaces): same uid as the grader"
        )
        if mode == "uid" and not landlock_version() and answer_key_readable_by_others():
            confined += "; WARNING: the answer key is readable by other users: chmod -R go-rwx the course folder"
        return [first, confined, "seccomp filter (no namespaces, mounts or network sockets)", "no_new_privs",
                "private scratch folder (files up to 16 MB each)", watch]  # fmt: skip
    held = ["own PID namespace", "allowlist root (interpreter, libraries, runtime folder)", "no /proc", "no network"]
    if mode == "root":
        held += ["fresh uid", "supervisor under its own uid in the run's cgroups"]
        groups = cgroups.available()
        held.append(f"cgroups {groups}" if groups else "no cgroups (rlimits per process only)")
    else:
        held.append("no cgroups and no separate uid without root (rlimits per process only)")
    return [*held, "seccomp filter", watch]


def allowlist():
    """Host folders the student's process sees, read-only, besides the system's (jail.py)."""
    return sorted({sys.base_prefix, sys.prefix, str(shared_library())})


def clean_environment(home):
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }
    env.update({k: os.environ[k] for k in KEEP_ENV if k in os.environ})
    return env


WARM_UP = """
import sys
sys.path.insert(0, sys.argv[1])
import forkserver
forkserver.warm_up()  # compiles utils' numba kernels once; their cache is kept beside them
"""


def _library_files():
    files = {name: INSIDE / name for name in LIBRARY_FILES}
    for path in sorted((SOURCE_DIR / "utils").glob("*.py")):
        files[f"utils/{path.name}"] = path
    return files


def private_cache():
    """This user's cache folder for the grader, mode 700 and owned by this user: a folder that
    another user made or can write to is refused, never trusted because it exists."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = base / "dinosaurus-grader"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = folder.lstat()
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise PermissionError(f"{folder} must be a folder of this user's with mode 700; remove it or fix it")
    return folder


@functools.cache
def shared_library():
    """A read-only folder with the code that runs in the sandbox (LIBRARY_FILES and utils/), made
    once per version of those files, with utils' numba kernels compiled into .numba_cache."""
    files = _library_files()
    digest = hashlib.sha256(sys.version.encode())
    for name, path in files.items():
        digest.update(name.encode() + path.read_bytes())
    library = private_cache() / f"lib-{digest.hexdigest()[:16]}"
    ready = library / ".ready"
    try:
        library.mkdir()  # whoever creates the folder builds it; the others wait for .ready
    except FileExistsError:
        for _ in range(1200):
            if ready.exists():
                return library
            time.sleep(0.5)
        raise RuntimeError(f"{library} was never finished; delete it and try again") from None
    for name, path in files.items():
        (library / name).parent.mkdir(exist_ok=True)
        shutil.copy2(path, library / name)
    env = clean_environment(str(library))
    env["NUMBA_CACHE_DIR"] = str(library / NUMBA_CACHE)
    subprocess.run([sys.executable, "-I", "-c", WARM_UP, str(library)], env=env, capture_output=True, timeout=600)
    for path in [library, *library.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    ready.touch()
    return library


class ForkServer:
    """The running forkserver.py of this grader process: started on first use, shared by all
    threads, restarted if it has died, stopped by ``shutdown_server`` (also at exit)."""

    def __init__(self):
        library = shared_library()
        self.home = Path(tempfile.mkdtemp(prefix=HOME_PREFIX))  # removed by the server when it ends
        env = clean_environment(str(self.home))
        if (library / NUMBA_CACHE).exists():  # numba wants a cache it may write to: give it a copy
            shutil.copytree(library / NUMBA_CACHE, self.home / NUMBA_CACHE)
            env["NUMBA_CACHE_DIR"] = str(self.home / NUMBA_CACHE)
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.log = open(self.home / "server.log", "wb")  # noqa: SIM115 -- open as long as the server runs
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", str(library / "forkserver.py"), str(theirs.fileno()), str(self.home)],
                stdin=subprocess.DEVNULL,
                stdout=self.log,
                stderr=subprocess.STDOUT,
                pass_fds=(theirs.fileno(),),
                cwd=self.home,
                env=env,
            )
        finally:
            theirs.close()
        self.lock = threading.Lock()
        log.info("sandbox process server started (pid %d, %s isolation)", self.process.pid, isolation_mode())

    def alive(self):
        return self.process.poll() is None

    def spawn(self, cwd, env, stdin, output, result):
        """Fork a child that runs runner.main in ``cwd``; returns (pid, reply socket)."""
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with self.lock:
                request = json.dumps({"cwd": str(cwd), "env": env}).encode()
                socket.send_fds(self.control, [request], [theirs.fileno(), stdin, output, result])
            theirs.close()
            mine.settimeout(60)
            answer = mine.recv(4096)
            if not answer:
                raise OSError("the sandbox process server did not answer: " + self.log_tail())
            return json.loads(answer)["pid"], mine
        except BaseException:
            theirs.close()
            mine.close()
            raise

    def log_tail(self):
        self.log.flush()
        try:
            return (self.home / "server.log").read_text(errors="replace")[-2000:] or "(no output)"
        except OSError:
            return "(no log)"

    def stop(self):
        self.control.close()  # the server sees the end of its control socket and exits
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.home, ignore_errors=True)


_SERVER = []  # [ForkServer], while one runs
_SERVER_LOCK = threading.Lock()


def fork_server():
    with _SERVER_LOCK:
        if _SERVER and not _SERVER[0].alive():
            log.warning("the sandbox process server died (%s); starting another", _SERVER[0].log_tail()[-300:])
            _SERVER.pop().stop()
        if not _SERVER:
            _SERVER.append(ForkServer())
        return _SERVER[0]


@atexit.register
def shutdown_server():
    """Stop this process's fork server (the next run starts a new one)."""
    with _SERVER_LOCK:
        if _SERVER:
            _SERVER.pop().stop()


def fresh_uids():
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


def kill_everything(supervisor, student, uid=None, meter=None):
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
    from .inside import jail

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


def frame(value):
    return wire.frame(wire.dumps(value).encode())


def sandbox_config(mode, limits, root, uids, groups):
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


def run_task(task, limits=None):
    """Run ``task`` (see runner.py) in a fresh sandbox; returns an Outcome.  Never raises for
    anything the student's code does."""
    limits = limits or default_limits()
    mode = isolation_mode()
    uids = fresh_uids() if mode in ("root", "uid") else (None, None)  # the student's, the supervisor's
    groups = cgroups.create(limits.memory_bytes, limits.processes, limits.cpus) if mode == "root" else []
    student = {
        "function": task["function"],
        "student_source": task["student_source"],
        "stdout_limit": limits.stdout_per_case,
        "dependencies": sorted(task.get("dependencies", {})),
        "own_dependencies": task.get("own_dependencies", {}),
        "draws_random": [name for name in task.get("dependencies", {}) if name in DRAWS_RANDOM],
    }
    # Read by the supervisor only after it has forked the student's process, one frame at a
    # time: the references, then each case when it is run (the pipe holds back the rest).
    later = [frame(dict(task.get("dependencies", {}))), *(frame({"case": case}) for case in task["cases"])]
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
        threading.Thread(target=_read_events, args=(streams[1], results, limits.answer_bytes), daemon=True),
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
    _read_outcome(results, outcome, limits, calls_from_student=bool(task.get("own_dependencies")))
    log.debug("%s: ran %.2f s (%.2f s CPU, %.2f s charged), exit code %s%s, %.0f MB at most", task["function"],
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


SCRATCH_HOME = "/sandbox"  # the student's home and working folder, inside its root (jail.SCRATCH)
DECODE_SECONDS = 2.0  # the least CPU time the grader spends decoding a run's answers (ms, for honest ones)
EVENT_BYTES = 1024**2  # the supervisor's own events are small; an answer is framed after its event


def _feed(fd, frames):
    try:
        with os.fdopen(fd, "wb") as stdin:
            for data in frames:
                stdin.write(data)
                stdin.flush()
    except OSError:  # the run ended before it read its task
        pass


def _read_events(stream, results, budget):
    """The supervisor's events (trusted), one frame each, and the answers of the student's
    process framed after them (not trusted, not decoded here).  Read while the run lasts: the
    student's pid (for the kill) and the time the supervisor spent on the student's calls (for
    the charge) are kept as they come; answers are kept, as bytes, up to the run's ``budget``
    in all, past which the rest is read and dropped and the run has broken the protocol."""
    results["kept"] = 0
    fd = stream.fileno()
    while True:
        try:
            data = wire.read_frame_from(fd, EVENT_BYTES)
            if data is None:
                return
            event = wire.loads(data.decode("utf-8", "replace"))
            if not isinstance(event, dict):
                raise wire.WireError("an event is a dict")
            answer = _read_answer(fd, results, budget) if event.get("answer") else None
        except wire.WireError:
            results["bad"] = results.get("bad", 0) + 1
            while os.read(fd, 1 << 20):  # never leave the supervisor blocked on a full pipe
                pass
            return
        if event.get("phase") == "spent":
            try:
                results["spent"] = (float(event["work_cpu"]), float(event["serving"]))
            except (KeyError, TypeError, ValueError):
                pass
            continue
        if event.get("phase") == "started" and type(event.get("pid")) is int:
            results.setdefault("student_pid", event["pid"])
        results["events"].append((event, answer))


def _read_answer(fd, results, budget):
    data = wire.read_frame_from(fd, budget)
    if data is None:
        raise wire.WireError("an event announced an answer that never came")
    results["kept"] += len(data)
    if results["kept"] > budget:
        results["over_budget"] = True
        return None
    return data


def _clean_up(scratch, groups):
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)
    cgroups.remove(groups)


def _read_outcome(results, outcome, limits, calls_from_student=False):
    """Turn the supervisor's events into the Outcome's messages, decoding (with bounds) what
    came from the student's process: a bad answer fails its case, never the grader.  Decoding
    is the run's cost too: the CPU time it takes is added to what the run is charged, and once
    it has used what is left of the run's limit (at least DECODE_SECONDS, so that the answers
    of a run that timed out are read) the remaining answers are not decoded: their cases time out."""
    allowance = max(limits.cpu_seconds - outcome.charged_seconds, DECODE_SECONDS)
    if results.get("over_budget"):
        outcome.protocol_error = f"its answers passed {limits.answer_bytes // 1024**2} MB in all"
    outcome.bad_lines = results.get("bad", 0)
    started = time.thread_time()
    for event, answer in results["events"]:
        phase = event.get("phase")
        if phase == "end":
            outcome.exit_code = event.get("exit_code")
            outcome.protocol_error = event.get("protocol_error") or outcome.protocol_error
            outcome.max_rss_mb = max(outcome.max_rss_mb, event.get("max_rss_kb", 0) / 1024)
            outcome.supervisor_max_rss_mb = event.get("supervisor_max_rss_kb", 0) / 1024
        elif phase == "isolate":  # written by the supervisor, which the student's code never touches
            error = None if event.get("ok") else StudentError("OSError", str(event.get("error", {}).get("message")))
            outcome.messages.append(PhaseReport("isolate", bool(event.get("ok")), error, tuple(event.get("held", ()))))
        elif time.thread_time() - started > allowance:
            outcome.timed_out = True
        elif phase == "define":
            body = _student_answer(answer)
            ok = body.get("ok") is True
            error = None if ok else body.get("error") or StudentError.unreadable("the cell's report")
            outcome.messages.append(PhaseReport("define", ok, error))
        elif "case" in event:
            body = _student_answer(answer)
            noted_by_student = body.pop("student_calls", {})  # trusted only as Grader.grade_function says
            calls = noted_by_student if calls_from_student else event.get("calls", {})
            outcome.messages.append(Observation(case=str(event["case"]), calls=calls, **body))
    outcome.charged_seconds += time.thread_time() - started


def _student_answer(data):
    """An answer of the student's process, decoded with bounds, its texts cut to size: the
    fields of an Observation (and the calls the student's process noted, ``student_calls``)."""
    try:
        message = wire.loads(data.decode("utf-8")) if data is not None else None
    except (wire.WireError, UnicodeDecodeError, RecursionError, MemoryError):
        message = None
    if not isinstance(message, dict) or not isinstance(message.get("ok"), bool):
        return {"ok": False, "error": StudentError.unreadable("the answer")}
    cleaned = {"ok": message["ok"]}
    if message["ok"]:
        cleaned["result"] = message.get("result")
        args_after = message.get("args_after", [])
        cleaned["args_after"] = args_after if isinstance(args_after, list) else []
    else:
        error = message.get("error") if isinstance(message.get("error"), dict) else {}
        cleaned["error"] = StudentError(
            type=_text(error.get("type"), 80) or "Error",
            message=_text(error.get("message"), 300),
            line=error.get("line") if isinstance(error.get("line"), int) else None,
            code=_text(error.get("code"), 200),
        )
    cleaned["stdout"] = _text(message.get("stdout"), MAX_FEEDBACK_TEXT * 256)
    dropped = message.get("stdout_dropped", 0)
    cleaned["stdout_dropped"] = dropped if isinstance(dropped, int) else 0
    seconds = message.get("seconds", 0.0)
    cleaned["seconds"] = seconds if isinstance(seconds, float) else 0.0
    calls = message.get("calls")
    if isinstance(calls, dict) and all(isinstance(v, dict) for v in calls.values()):
        cleaned["student_calls"] = calls
    cleaned["draws"] = _draws(message.get("draws"))
    trace = message.get("trace")
    cleaned["trace"] = trace if isinstance(trace, list) and all(isinstance(note, list) for note in trace) else []
    return cleaned


def _draws(draws):
    """The seeds and draws the student's process noted (tracer.DrawWatch), if they have that form."""
    if not isinstance(draws, dict):
        return {}
    seeds, p = draws.get("seeds"), draws.get("p")
    if not isinstance(seeds, list) or not all(s is None or type(s) is int for s in seeds):
        return {}
    if not isinstance(p, list) or not all(d is None or isinstance(d, list) for d in p):
        return {}
    return {"seeds": seeds, "p": p}


def _text(value, limit):
    return value[:limit] if isinstance(value, str) else ""
