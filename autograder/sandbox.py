"""Run untrusted student code in its own process, locked in, and collect what it reports.

Each call of ``run_task`` makes a scratch folder and has the grader's process server
(``forkserver.py``, started once, with numpy and utils' compiled kernels loaded) fork a child
that runs ``runner.py`` there with a clean environment; the task goes to the child alone, never
through the server.  When the grader runs as root the child also

- gets a private mount namespace in which the course folder (all but ``.venv``), the
  submissions, the reports and ``/dev/shm`` are hidden behind empty read-only mounts and
  everything except its scratch folder is read-only;
- gets its own network namespace, with no network at all;
- drops to a fresh unprivileged uid, with ``no_new_privs``.

Always: a wall-clock limit (the process group and every process of the sandbox uid are
killed when it ends), limits on memory, CPU time, file size and open files, and output
truncated to a fixed size.  Without root the filesystem and network stay visible to the
student's code; run the grader as root (e.g. in a container) to hide them.
"""

import atexit
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import wire
from .forkserver import HOME_PREFIX
from .paths import COURSE_ROOT, SOURCE_DIR

HERE = Path(__file__).resolve().parent
UID_RANGE = (200_000, 900_000)  # fresh uids, unused by any account
NUMBA_CACHE = ".numba_cache"
KEEP_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "NPY_DISABLE_CPU_FEATURES")


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 60.0
    memory_bytes: int = 2 * 1024**3
    file_bytes: int = 16 * 1024**2
    output_bytes: int = 256 * 1024  # what we keep of the process's own stdout/stderr
    stdout_per_case: int = 512 * 1024  # what the runner keeps of prints during one call
    result_bytes: int = 64 * 1024**2


DEFAULT_LIMITS = Limits()


@dataclass
class Outcome:
    """What one sandboxed run reported."""

    messages: list = field(default_factory=list)  # decoded result lines, in order
    output: str = ""  # the process's own stdout/stderr, truncated
    output_dropped: int = 0
    exit_code: int | None = None
    timed_out: bool = False
    seconds: float = 0.0
    max_rss_mb: float = 0.0  # the peak resident memory of the run's process
    bad_lines: int = 0

    def define_error(self):
        for message in self.messages:
            if message.get("phase") in ("define", "isolate") and not message.get("ok"):
                return message
        return None

    def cases(self):
        return {m["case"]: m for m in self.messages if "case" in m}

    def isolation(self):
        for message in self.messages:
            if message.get("phase") == "isolate":
                return message.get("held", [])
        return []


def is_root():
    return hasattr(os, "geteuid") and os.geteuid() == 0


def hidden_paths(extra=()):
    """Everything the student's process must not see: the course (but its .venv) and ``extra``."""
    paths = [str(p) for p in COURSE_ROOT.iterdir() if p.name != ".venv"]
    paths += [str(Path(p).resolve()) for p in extra]
    return sorted(set(paths))


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
    files = {name: HERE / name for name in ("runner.py", "wire.py", "forkserver.py")}
    for path in sorted((SOURCE_DIR / "utils").glob("*.py")):
        files[f"utils/{path.name}"] = path
    return files


def shared_library():
    """A read-only folder with runner.py, wire.py, forkserver.py and utils/, made once per
    version of those files, with utils' numba kernels compiled into .numba_cache."""
    files = _library_files()
    digest = hashlib.sha256(sys.version.encode())
    for name, path in files.items():
        digest.update(name.encode() + path.read_bytes())
    library = Path(tempfile.gettempdir()) / f"dino-grader-lib-{digest.hexdigest()[:16]}"
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


def _prepare_scratch(uid):
    scratch = Path(tempfile.mkdtemp(prefix="dino-sandbox-"))
    work = scratch / "work"
    work.mkdir()
    os.chmod(scratch, 0o755)
    if uid is not None:
        os.chown(work, uid, uid)
    os.chmod(work, 0o700)
    return scratch, work


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


def kill_everything(pid, uid):
    """Kill the run's process group, and, with a sandbox uid, every process that runs as it."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if uid is None:
        return
    for _ in range(3):  # a fork may race with the sweep: repeat until nothing is left
        found = False
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            uid_line = next((line for line in status.splitlines() if line.startswith("Uid:")), "")
            if str(uid) in uid_line.split()[1:2]:
                found = True
                try:
                    os.kill(int(entry.name), signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        if not found:
            break
        time.sleep(0.05)


def _wait(reply, seconds):
    """The child's end report from the server, or None if it did not come within ``seconds``."""
    reply.settimeout(max(seconds, 0.001))
    try:
        answer = reply.recv(4096)
    except TimeoutError:
        return None
    return json.loads(answer) if answer else {"exit_code": None}


def _spawn(*args):
    """ForkServer.spawn, trying once more with a new server if the one running has died."""
    server = fork_server()
    try:
        return server.spawn(*args)
    except OSError:
        if server.alive():
            raise
        return fork_server().spawn(*args)


def run_task(task, limits=DEFAULT_LIMITS, hide=()):
    """Run ``task`` (see runner.py) in a fresh sandbox; returns an Outcome.  Never raises for
    anything the student's code does."""
    uid = secrets.randbelow(UID_RANGE[1] - UID_RANGE[0]) + UID_RANGE[0] if is_root() else None
    scratch, work = _prepare_scratch(uid)
    task = dict(task)
    task["scratch"] = str(work)
    task["stdout_limit"] = limits.stdout_per_case
    task["sandbox"] = {
        "uid": uid,
        "hide": hidden_paths(hide),
        "expose": sorted({sys.base_prefix, sys.prefix}),  # the interpreter, even under a private /root
        "memory_bytes": limits.memory_bytes,
        "cpu_seconds": int(limits.wall_seconds) + 5,
        "file_bytes": limits.file_bytes,
    }
    outcome = Outcome()
    pipes = {name: os.pipe() for name in ("stdin", "output", "result")}  # (read end, write end)
    start = time.perf_counter()
    child_ends = (pipes["stdin"][0], pipes["output"][1], pipes["result"][1])
    try:
        pid, reply = _spawn(work, clean_environment(str(work)), *child_ends)
    except BaseException:
        for fd in (pipes["stdin"][1], pipes["output"][0], pipes["result"][0]):
            os.close(fd)
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    finally:
        for fd in child_ends:
            os.close(fd)
    output, results = {}, {}
    streams = [os.fdopen(pipes["output"][0], "rb"), os.fdopen(pipes["result"][0], "rb")]
    readers = [
        threading.Thread(target=_drain, args=(streams[0], limits.output_bytes, output), daemon=True),
        threading.Thread(target=_drain, args=(streams[1], limits.result_bytes, results), daemon=True),
    ]
    for reader in readers:
        reader.start()
    with os.fdopen(pipes["stdin"][1], "wb") as stdin:
        try:
            stdin.write(wire.dumps(task).encode())
        except (BrokenPipeError, OSError):
            pass
    ended = _wait(reply, limits.wall_seconds - (time.perf_counter() - start))
    if ended is None:
        outcome.timed_out = True
    kill_everything(pid, uid)
    if ended is None:
        ended = _wait(reply, 10) or {"exit_code": None}
    reply.close()
    outcome.exit_code = ended.get("exit_code")
    outcome.max_rss_mb = ended.get("max_rss_kb", 0) / 1024
    for reader, stream in zip(readers, streams, strict=True):
        reader.join(timeout=5)
        if not reader.is_alive():
            stream.close()
    outcome.seconds = time.perf_counter() - start
    shutil.rmtree(scratch, ignore_errors=True)

    outcome.output = bytes(output.get("data", b"")).decode("utf-8", "replace")
    outcome.output_dropped = output.get("dropped", 0)
    for line in bytes(results.get("data", b"")).decode("utf-8", "replace").splitlines():
        try:
            message = wire.loads(line)
        except wire.WireError:
            outcome.bad_lines += 1
            continue
        if isinstance(message, dict):
            outcome.messages.append(message)
        else:
            outcome.bad_lines += 1
    return outcome
