"""The grader's handle on the sandbox's process server (``inside/forkserver.py``): one per
grader process, started on first use, shared by all threads, restarted if it has died, stopped
at exit."""

from __future__ import annotations

import atexit
import json
import logging
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from .inside.forkserver import HOME_PREFIX
from .library import ENTRY, NUMBA_CACHE, clean_environment, shared_library
from .machine import isolation_mode

log = logging.getLogger(__name__)


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
                [sys.executable, "-I", str(library / ENTRY), "serve", str(theirs.fileno()), str(self.home)],
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

    def alive(self) -> bool:
        return self.process.poll() is None

    def spawn(self, cwd: Path, env: dict[str, str], stdin: int, output: int, result: int) -> tuple[int, socket.socket]:
        """Fork a child that runs supervisor.main in ``cwd``; returns (pid, reply socket)."""
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

    def log_tail(self) -> str:
        self.log.flush()
        try:
            return (self.home / "server.log").read_text(errors="replace")[-2000:] or "(no output)"
        except OSError:
            return "(no log)"

    def stop(self) -> None:
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


def fork_server() -> ForkServer:
    with _SERVER_LOCK:
        if _SERVER and not _SERVER[0].alive():
            log.warning("the sandbox process server died (%s); starting another", _SERVER[0].log_tail()[-300:])
            _SERVER.pop().stop()
        if not _SERVER:
            _SERVER.append(ForkServer())
        return _SERVER[0]


@atexit.register
def shutdown_server() -> None:
    """Stop this process's fork server (the next run starts a new one)."""
    with _SERVER_LOCK:
        if _SERVER:
            _SERVER.pop().stop()
