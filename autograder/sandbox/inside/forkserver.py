"""The sandboxes' process server, started once per grader.

Starting a fresh interpreter for every graded function costs more than most of the functions
do: importing numpy takes ~0.15 s and loading utils' compiled kernels ~0.4 s.  This server pays
for that once, then forks one child per sandboxed run; the child locks itself in and runs
``supervisor.main`` exactly as a freshly started supervisor would.

What the server may know is kept to a minimum, because every child inherits its memory: it
never reads a task (no student code, no reference code, no case), only the file descriptors of
a run and the folder and environment of its child.  The child reads its task itself, after the
fork, and closes every descriptor but its own before any task code runs.

Started as ``python -I <library>/inside/__main__.py serve CONTROL_FD HOME``.  Protocol, on the SOCK_SEQPACKET socket
CONTROL_FD: each request is one JSON message
``{"cwd": …, "env": {…}}`` carrying four descriptors (a reply socket, and the child's stdin,
stdout/stderr and result channel).  The server answers on the reply socket with
``{"pid": …}``, and when the child has ended with ``{"exit_code": …, "max_rss_kb": …,
"cpu_seconds": …}``.
The server stops when the grader closes the control socket.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import sys
from typing import NoReturn

from . import supervisor

RESULT_FD = 3  # where the child finds its result channel, as supervisor.main expects
HOME_PREFIX = "dino-forkserver-"  # the folder the grader makes for a server starts so; the server removes it


def warm_up() -> None:
    """Import what every run needs, and load the compiled kernels when numba is there."""
    # Every module of the package is imported by now (supervisor imports the rest): children do
    # not pay for it, and the student's process may not read the library folder on every rung.
    import numpy as np

    import utils
    from utils.rnn import compiled

    if compiled() is not None:
        p = utils.initialize_parameters(3, 4, 4)
        loss, cache = utils.rnn_forward([None, 1, 2], [1, 2, 0], np.zeros((3, 1)), p)
        utils.rnn_backward([None, 1, 2], [1, 2, 0], p, cache)


def child(config: dict, fds: list[int]) -> NoReturn:
    """In the forked child: take the run's descriptors, drop everything else, run the task."""
    status = 1
    try:
        os.setsid()  # its own process group, which the grader kills when the run ends
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _, stdin, output, result = fds
        os.dup2(stdin, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.dup2(result, RESULT_FD)
        os.closerange(RESULT_FD + 1, os.sysconf("SC_OPEN_MAX"))  # the control socket among them
        os.chdir(config["cwd"])
        os.environ.clear()
        os.environ.update(config["env"])
        supervisor.main(RESULT_FD)
        sys.stdout.flush()
        status = 0
    except BaseException:  # noqa: B036 -- the supervisor's own failure: its traceback is the grader's clue
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
    finally:
        os._exit(status)


def reap(running: dict[int, socket.socket]) -> None:
    """Report every child that has ended to the grader that asked for it."""
    while running:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        reply = running.pop(pid, None)
        if reply is None:
            continue
        message = {
            "exit_code": os.waitstatus_to_exitcode(status),
            "max_rss_kb": usage.ru_maxrss,
            "cpu_seconds": usage.ru_utime + usage.ru_stime,  # the supervisor's, and all it reaped
        }
        try:
            reply.send(json.dumps(message).encode())
        except OSError:
            pass  # the grader stopped waiting (it kills the run's processes itself)
        reply.close()


def serve(control: socket.socket) -> None:
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a wake-up byte for every child that ends
    running = {}  # pid -> reply socket
    while True:
        ready, _, _ = select.select([control, wake_read], [], [])
        if wake_read in ready:
            os.read(wake_read, 4096)
            reap(running)
        if control not in ready:
            continue
        message, fds, _, _ = socket.recv_fds(control, 65536, 4)
        if not message:
            break  # the grader has gone
        config = json.loads(message)
        pid = os.fork()
        if pid == 0:
            child(config, fds)  # never returns
        reply = socket.socket(fileno=fds[0])
        for fd in fds[1:]:
            os.close(fd)
        try:
            reply.send(json.dumps({"pid": pid}).encode())
        except OSError:
            pass
        running[pid] = reply
        reap(running)
    for pid in running:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


def main(control_fd: str, home: str) -> None:
    """Serve until the grader closes the control socket; ``home`` is the folder it made for this server."""
    control = socket.socket(fileno=int(control_fd))
    warm_up()
    serve(control)
    # The grader has gone, stopped or died: our folder is of no more use.  (After an error it
    # stays, with the log, for the grader to read; the grader removes it.)
    if os.path.basename(home).startswith(HOME_PREFIX):
        shutil.rmtree(home, ignore_errors=True)
