"""The student's process: the one process that runs student code.

The supervisor (``supervisor.py``) forks it as process 1 of a new PID namespace, where one
could be made, and calls ``student_process``.  It locks itself into its allowlist root
(``jail.enter``) before it reads any task, and holds only its channel to the supervisor and its
output: never the grader's result channel, and never a case but the one it is running.  It
reads the student's cell, defines it beside the notebook's imports, then runs the cases the
supervisor sends one at a time, calling the reference functions through ``refcall.Remote``
(they run in the supervisor), and answers each case with one frame.
"""

from __future__ import annotations

import copy
import io
import mmap
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import NoReturn

from . import jail, refcall, tracer, wire
from .recorder import Recorder

NOTEBOOK_IMPORTS = "import copy\nimport numpy as np\nfrom utils import *\n"  # the reference's namespace too


class CappedText(io.TextIOBase):
    """A stdout that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit):
        self.limit, self.parts, self.size, self.dropped = limit, [], 0, 0

    def write(self, text: str) -> int:
        text = str(text)
        room = self.limit - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def getvalue(self) -> str:
        return "".join(self.parts)


def describe(error: BaseException, filename: str, source: str = "") -> dict:
    """Type, message and the student's line where ``error`` was raised: its number as the
    notebook counts the cell's lines, and its text, read from the cell (``source``)."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == filename]
    line = getattr(error, "lineno", None) if isinstance(error, SyntaxError) else None
    code = (error.text or "").strip() if isinstance(error, SyntaxError) else None
    if frames:
        line = frames[-1].lineno
        lines = source.splitlines()
        code = lines[line - 1].strip() if line and 0 < line <= len(lines) else frames[-1].line
    message = str(error)
    return {"type": type(error).__name__, "message": message[:300], "line": line, "code": (code or "")[:200]}


def student_process(channel: socket.socket, config: dict, arena_buffer: mmap.mmap) -> NoReturn:
    """In the forked child: lock in, then run what the supervisor sends.  Never returns."""
    status = 1
    try:
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)  # standard input: the grader's frames, for the supervisor alone
        os.dup2(channel.fileno(), 3)
        os.closerange(4, os.sysconf("SC_OPEN_MAX"))  # the grader's result channel among them
        channel = __import__("socket").socket(fileno=3)
        arena = refcall.Arena(arena_buffer)
        try:
            held = jail.enter(config)
        except Exception as error:  # the machine refused a step: the grader says so, never the student's fault
            refcall.send(channel, arena, {"kind": "ready", "ok": False, "error": f"{type(error).__name__}: {error}"})
            return
        refcall.send(channel, arena, {"kind": "ready", "ok": True, "held": held})
        student = wire.loads(wire.recv_frame(channel, wire.MAX_TASK_FRAME).decode())
        run_student(student, channel, arena)
        sys.stdout.flush()
        status = 0
    finally:
        os._exit(status)


def run_student(task: dict, channel: socket.socket, arena: refcall.Arena) -> None:
    import numpy as np

    def answer(kind, body, case=None):
        """A small header through the call channel's codec, then the answer itself as a frame of
        its own, which the supervisor forwards to the grader without reading it."""
        refcall.send(channel, arena, {"kind": kind, "case": case})
        wire.send_frame(channel, wire.dumps(body).encode())

    filename = f"<graded cell {task['function']}>"
    namespace = {"__name__": "__main__"}
    exec(NOTEBOOK_IMPORTS, namespace)
    for name in task["dependencies"]:
        namespace[name] = refcall.Remote(name, channel, arena, name in task["draws_random"])
    captured = CappedText(task["stdout_limit"])
    sys.stdout = captured
    try:
        for name, source in task.get("own_dependencies", {}).items():  # the student's own, as in the notebook
            exec(compile(source, f"<graded cell {name}>", "exec"), namespace)
        exec(compile(task["student_source"], filename, "exec"), namespace)
    except BaseException as error:  # noqa: B036 -- SystemExit, KeyboardInterrupt: all are the student's
        sys.stdout = sys.__stdout__
        answer("define", {"ok": False, "error": describe(error, filename, task["student_source"])})
        return
    sys.stdout = sys.__stdout__
    function = namespace.get(task["function"])
    if not callable(function):
        answer("define", {"ok": False, "error": {"type": "Missing", "message": "", "line": None, "code": ""}})
        return
    answer("define", {"ok": True})

    while True:  # one case at a time: this process never holds the input of a case it is not running
        request = wire.loads(wire.recv_frame(channel, wire.MAX_TASK_FRAME).decode())
        if request.get("op") != "case":
            return
        case = request["case"]
        args, kwargs = copy.deepcopy(case["args"]), copy.deepcopy(case["kwargs"])
        np.random.seed(case.get("global_seed", 0))
        recorders = record_here(namespace, case.get("record_here", {}))
        captured = CappedText(task["stdout_limit"])
        sys.stdout = captured
        start = time.perf_counter()
        with tracer.DrawWatch(np) as draws:
            if case.get("trace"):  # feedback only: where a value first departs (grade/departure.py)
                result, raised, notes = tracer.follow(function, args, kwargs, np)
            else:
                result, raised, notes = call(function, args, kwargs)
        seconds = time.perf_counter() - start
        sys.stdout = sys.__stdout__
        seen = {"draws": draws.report()} | ({"trace": notes} if case.get("trace") else {})
        if raised is not None:
            body = {
                "ok": False,
                "error": describe(raised, filename, task["student_source"]),
                "stdout": captured.getvalue()[-2000:],
            }
        else:
            body = {
                "ok": True,
                "result": result,
                "args_after": [args[i] for i in case.get("return_args", [])],
                "stdout": captured.getvalue(),
                "stdout_dropped": captured.dropped,
                "seconds": seconds,
            }
        answer("result", body | seen | recorded(namespace, recorders), case["id"])


def call(function: Callable, args: list, kwargs: dict) -> tuple[object, BaseException | None, list]:
    """(result, None, []) or (None, the exception, []): any way the student's code stops is reported."""
    try:
        return function(*args, **kwargs), None, []
    except BaseException as error:  # noqa: B036 -- SystemExit, KeyboardInterrupt: all are the student's
        return None, error, []


def record_here(namespace: dict, wanted: dict[str, list[int]]) -> dict[str, tuple[Recorder, Callable]]:
    """When the student's own versions of the functions the checks record are used (see
    grading.py: only when they passed all their checks), their calls are noted here, in the
    student's process, by wrapping them for the case.  {name: (recorder, original)}."""
    recorders = {}
    for name, calls in wanted.items():
        original = namespace.get(name)
        if callable(original):
            recorder = Recorder(original, calls)
            namespace[name] = _noting(original, recorder)
            recorders[name] = (recorder, original)
    return recorders


def _noting(function, recorder):
    def call(*args, **kwargs):
        recorder.note(args, kwargs)
        return function(*args, **kwargs)

    return call


def recorded(namespace: dict, recorders: dict[str, tuple[Recorder, Callable]]) -> dict:
    """The calls noted in the student's process (the grader trusts them only as described in
    grading.py), after putting the functions back."""
    for name, (_, original) in recorders.items():
        namespace[name] = original
    if not recorders:
        return {}
    return {"calls": {name: recorder.report() for name, (recorder, _) in recorders.items()}}
