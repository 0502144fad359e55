"""Run untrusted student code in its own process, locked in, and collect what it reports.

Each call of ``run_task`` makes a scratch folder, copies ``runner.py``, ``wire.py`` and the
course's ``utils/`` into it, and starts ``python -I runner.py`` there with a clean
environment.  When the grader runs as root the runner also

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

import hashlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import wire
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
import numpy as np
import utils
from utils.rnn import compiled
if compiled() is not None:  # compile the numba kernels once; their cache is kept beside them
    p = utils.initialize_parameters(3, 4, 4)
    loss, cache = utils.rnn_forward([None, 1, 2], [1, 2, 0], np.zeros((3, 1)), p)
    utils.rnn_backward([None, 1, 2], [1, 2, 0], p, cache)
"""


def sandbox_environment(work, compiled):
    env = {**clean_environment(str(work)), "NUMBA_CACHE_DIR": str(work / NUMBA_CACHE)}
    if not compiled:
        env["DINO_PURE_NUMPY"] = "1"  # the same bits without importing numba: quicker for short runs
    return env


def _library_files():
    files = {"runner.py": HERE / "runner.py", "wire.py": HERE / "wire.py"}
    for path in sorted((SOURCE_DIR / "utils").glob("*.py")):
        files[f"utils/{path.name}"] = path
    return files


def shared_library():
    """A read-only folder with runner.py, wire.py and utils/, made once per version of those
    files and shared by every sandbox, with utils' numba kernels compiled into .numba_cache."""
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


def _prepare_scratch(uid):
    library = shared_library()
    scratch = Path(tempfile.mkdtemp(prefix="dino-sandbox-"))
    work = scratch / "work"
    work.mkdir()
    if (library / NUMBA_CACHE).exists():  # numba wants a cache it may write to: give it a copy
        shutil.copytree(library / NUMBA_CACHE, work / NUMBA_CACHE, copy_function=shutil.copy2)
    os.chmod(scratch, 0o755)
    if uid is not None:
        for path in [work, *work.rglob("*")]:
            os.chown(path, uid, uid)
    os.chmod(work, 0o700)
    return scratch, library, work


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


def kill_everything(process, uid):
    """Kill the process group, and, with a sandbox uid, every process that runs as it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
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


def run_task(task, limits=DEFAULT_LIMITS, hide=(), compiled=True):
    """Run ``task`` (see runner.py) in a fresh sandbox; returns an Outcome.  Never raises for
    anything the student's code does."""
    uid = secrets.randbelow(UID_RANGE[1] - UID_RANGE[0]) + UID_RANGE[0] if is_root() else None
    scratch, lib, work = _prepare_scratch(uid)
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
    read_fd, write_fd = os.pipe()
    start = time.perf_counter()
    try:
        process = subprocess.Popen(
            [sys.executable, "-I", str(lib / "runner.py"), str(write_fd)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(write_fd,),
            cwd=work,
            env=sandbox_environment(work, compiled),
            start_new_session=True,
        )
    finally:
        os.close(write_fd)
    output, results = {}, {}
    readers = [
        threading.Thread(target=_drain, args=(process.stdout, limits.output_bytes, output), daemon=True),
        threading.Thread(target=_drain, args=(os.fdopen(read_fd, "rb"), limits.result_bytes, results), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        process.stdin.write(wire.dumps(task).encode())
        process.stdin.close()
    except (BrokenPipeError, OSError):
        pass
    try:
        outcome.exit_code = process.wait(timeout=limits.wall_seconds)
    except subprocess.TimeoutExpired:
        outcome.timed_out = True
    kill_everything(process, uid)
    if outcome.exit_code is None:
        outcome.exit_code = process.wait()
    for reader in readers:
        reader.join(timeout=5)
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
