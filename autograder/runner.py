"""The program that runs inside a sandbox: it defines one graded function and calls it.

This file sits with ``wire.py`` and the course's ``utils/`` in the grader's shared library
folder.  ``forkserver.py`` forks a child for each run and calls ``main`` in it (it can also be
started on its own, as ``python -I runner.py RESULT_FD``).  It reads its task from standard
input, locks itself in (see ``isolate``), executes the student's graded cell, calls the
function on each case and writes one JSON line per case to RESULT_FD.

It imports nothing from the autograder: the student's code shares this process, so it
must find here only the task it was given, never the expected answers.
"""

import copy
import ctypes
import io
import os
import resource
import sys
import time
import traceback

CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS = 0x00020000, 0x40000000, 0x08000000, 0x04000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS = 38

NOTEBOOK_IMPORTS = "import copy\nimport numpy as np\nfrom utils import *\n"


# ----------------------------------------------------------------------------
# Locking the process in
# ----------------------------------------------------------------------------


def isolate(config, scratch):
    """Hide the course from this process, make everything but scratch read-only, cut the
    network, set resource limits and drop root.  Returns a description of what held."""
    held = []
    if config.get("uid") is not None and os.geteuid() == 0:
        held += _private_filesystem(config, scratch)
    os.chdir(scratch)
    _limit(resource.RLIMIT_AS, config.get("memory_bytes"))
    _limit(resource.RLIMIT_CPU, config.get("cpu_seconds"))
    _limit(resource.RLIMIT_FSIZE, config.get("file_bytes"))
    _limit(resource.RLIMIT_NOFILE, 256)
    _limit(resource.RLIMIT_CORE, 0)
    if config.get("uid") is not None and os.geteuid() == 0:
        _limit(resource.RLIMIT_NPROC, 64)
        os.setgroups([])
        os.setgid(config["uid"])
        os.setuid(config["uid"])
        held.append(f"uid {config['uid']}")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0:
        held.append("no-new-privileges")
    held.append("rlimits")
    return held


def _private_filesystem(config, scratch):
    libc = ctypes.CDLL(None, use_errno=True)

    def call(result, what):
        if result != 0:
            raise OSError(ctypes.get_errno(), f"{what}: {os.strerror(ctypes.get_errno())}")

    call(libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    call(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "private mounts")
    call(libc.mount(scratch.encode(), scratch.encode(), None, MS_BIND, None), "bind scratch")
    call(libc.mount(None, b"/", None, MS_REMOUNT | MS_BIND | MS_RDONLY, None), "read-only root")
    for path in config.get("expose", []):
        _expose(libc, call, path)
    empty = b"size=4k,mode=755"
    for path in config.get("hide", []):
        target = path.encode()
        if os.path.isdir(path):
            call(
                libc.mount(b"tmpfs", target, b"tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, empty),
                f"hide {path}",
            )
        elif os.path.exists(path):
            call(libc.mount(b"/dev/null", target, None, MS_BIND, None), f"hide {path}")
    if os.path.isdir("/dev/shm"):
        call(
            libc.mount(b"tmpfs", b"/dev/shm", b"tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, empty),
            "hide /dev/shm",
        )
    return ["private mount namespace", "no network", "read-only filesystem"]


def _expose(libc, call, path):
    """Make ``path`` reachable for an unprivileged uid when an ancestor (say /root, mode 700)
    is not: cover that ancestor with an empty tmpfs and bind only the way to ``path`` back."""
    parts = os.path.abspath(path).split(os.sep)[1:]
    for depth in range(1, len(parts)):
        ancestor = os.sep + os.path.join(*parts[:depth])
        if os.stat(ancestor).st_mode & 0o001:
            continue
        child = os.path.join(ancestor, parts[depth])
        handle = os.open(child, os.O_PATH)
        try:
            call(
                libc.mount(b"tmpfs", ancestor.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"size=4k,mode=755"),
                f"cover {ancestor}",
            )
            os.mkdir(child) if os.path.isdir(f"/proc/self/fd/{handle}") else open(child, "w").close()
            call(
                libc.mount(f"/proc/self/fd/{handle}".encode(), child.encode(), None, MS_BIND | MS_REC, None),
                f"expose {child}",
            )
        finally:
            os.close(handle)


def _limit(which, value):
    if value:
        resource.setrlimit(which, (int(value), int(value)))


# ----------------------------------------------------------------------------
# Running the student's code
# ----------------------------------------------------------------------------


class CappedText(io.TextIOBase):
    """A stdout that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit):
        self.limit, self.parts, self.size, self.dropped = limit, [], 0, 0

    def write(self, text):
        text = str(text)
        room = self.limit - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def getvalue(self):
        return "".join(self.parts)


def describe(error, filename):
    """Type, message and the student's line where ``error`` was raised."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == filename]
    line = getattr(error, "lineno", None) if isinstance(error, SyntaxError) else None
    code = (error.text or "").strip() if isinstance(error, SyntaxError) else None
    if frames:
        line, code = frames[-1].lineno, frames[-1].line
    message = str(error)
    return {"type": type(error).__name__, "message": message[:300], "line": line, "code": (code or "")[:200]}


class Recorder:
    """Wraps an injected reference function and notes chosen calls, for diagnostics."""

    def __init__(self, function, wanted_calls, summarize):
        self.function, self.wanted, self.summarize, self.calls, self.count = (
            function,
            set(wanted_calls),
            summarize,
            {},
            0,
        )

    def __call__(self, *args, **kwargs):
        if self.count in self.wanted:
            self.calls[self.count] = self.summarize(args, kwargs)
        self.count += 1
        return self.function(*args, **kwargs)


def recorded_calls(recorders):
    return {name: {"count": r.count, "calls": r.calls} for name, r in recorders.items()}


def summarize_optimize_call(args, kwargs):
    import numpy as np

    names = ["X", "Y", "a_prev", "parameters", "learning_rate"]
    bound = dict(zip(names, args, strict=False))
    bound.update(kwargs)
    a_prev = bound.get("a_prev")
    return {
        "X": list(bound.get("X", [])),
        "Y": list(bound.get("Y", [])),
        "learning_rate": bound.get("learning_rate", 0.01),
        "a_prev_is_zero": bool(isinstance(a_prev, np.ndarray) and not a_prev.any()),
    }


SUMMARIES = {"optimize": summarize_optimize_call}


def run(task, emit):
    import numpy as np

    filename = f"<graded cell {task['function']}>"
    namespace = {"__name__": "__main__"}
    exec(NOTEBOOK_IMPORTS, namespace)
    references = {"__name__": "reference"}
    exec(NOTEBOOK_IMPORTS, references)
    for name, source in task.get("dependencies", {}).items():
        exec(compile(source, f"<reference {name}>", "exec"), references)

    captured = CappedText(task["stdout_limit"])
    sys.stdout = captured
    try:
        exec(compile(task["student_source"], filename, "exec"), namespace)
    except BaseException as error:  # noqa: B036 -- SystemExit, KeyboardInterrupt: all are the student's
        sys.stdout = sys.__stdout__
        emit({"phase": "define", "ok": False, "error": describe(error, filename)})
        return
    sys.stdout = sys.__stdout__
    function = namespace.get(task["function"])
    if not callable(function):
        emit(
            {
                "phase": "define",
                "ok": False,
                "error": {"type": "Missing", "message": "", "line": None, "code": ""},
            }
        )
        return
    emit({"phase": "define", "ok": True})

    for case in task["cases"]:
        recorders = {}
        for name in task.get("dependencies", {}):
            wanted = case.get("record", {}).get(name)
            if wanted is not None:
                recorders[name] = Recorder(references[name], wanted, SUMMARIES[name])
                namespace[name] = recorders[name]
            else:
                namespace[name] = references[name]
        args, kwargs = copy.deepcopy(case["args"]), copy.deepcopy(case["kwargs"])
        np.random.seed(case.get("global_seed", 0))
        captured = CappedText(task["stdout_limit"])
        sys.stdout = captured
        start = time.perf_counter()
        try:
            result = function(*args, **kwargs)
        except BaseException as error:  # noqa: B036 -- any way the student's code stops is reported
            sys.stdout = sys.__stdout__
            emit(
                {
                    "case": case["id"],
                    "ok": False,
                    "error": describe(error, filename),
                    "stdout": captured.getvalue()[-2000:],
                    "calls": recorded_calls(recorders),
                }
            )
            continue
        seconds = time.perf_counter() - start
        sys.stdout = sys.__stdout__
        emit(
            {
                "case": case["id"],
                "ok": True,
                "result": result,
                "args_after": [args[i] for i in case.get("return_args", [])],
                "stdout": captured.getvalue(),
                "stdout_dropped": captured.dropped,
                "calls": recorded_calls(recorders),
                "seconds": seconds,
            }
        )


def main(result_fd):
    """Read the task from stdin, lock this process in, run the task, report on ``result_fd``."""
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)  # wire.py and utils/ sit beside this file
    import wire

    task = wire.loads(sys.stdin.read())
    channel = os.fdopen(result_fd, "w", buffering=1)

    def emit(message):
        try:
            channel.write(wire.dumps(message) + "\n")
        except (OSError, ValueError):
            pass

    try:
        held = isolate(task.get("sandbox") or {}, task["scratch"])
    except OSError as error:
        emit({"phase": "isolate", "ok": False, "error": {"type": "OSError", "message": str(error)}})
        return
    emit({"phase": "isolate", "ok": True, "held": held})
    run(task, emit)
    channel.flush()


if __name__ == "__main__":
    main(int(sys.argv[1]))
