"""The supervisor of one run: it starts the student's process and drives it, and never runs
student code.

``forkserver.py`` forks one supervisor per run and calls ``main`` in it.  The supervisor reads
the run's description from standard input, one frame at a time (``wire.py``): the student's
part; then, only after it has forked the student's process (``student.py``, which so never
inherits them), the reference functions the graded one may call, and each case when it is about
to run it.  It then confines itself (``jail.confine_supervisor``: a uid of its own, the run's
cgroups, rlimits) and drives the student's process case by case:

- it sends one case, serves the calls the student's code makes to reference functions
  (``refcall.py``: copy, then check against the case's bounds, then compute), notes the calls
  the checks asked to record, and accepts exactly one answer, for that case, of bounded size,
  within the run's budget for all answers;
- it writes what it saw, one frame per event, to RESULT_FD for the grader, each answer of the
  student's process as a frame of its own, as it came (the grader decodes it).
"""

from __future__ import annotations

import os
import resource
import signal
import time
from collections.abc import Callable

from . import jail, refcall, wire
from .recorder import Recorder
from .student import NOTEBOOK_IMPORTS, student_process

SPENT_EVERY = 0.2  # seconds between the supervisor's reports of the time it spent on the student's calls


class Reporter:
    """Writes the supervisor's events to the grader, one frame each (``wire.py``); an event that
    carries an answer of the student's process is followed by that answer's frame, as it came."""

    def __init__(self, result_fd):
        self.fd = result_fd

    def __call__(self, event, answer=None):
        data = wire.frame(wire.dumps(event | {"answer": answer is not None}).encode())
        try:
            os.write(self.fd, data)  # small: a pipe takes it whole
            if answer is not None:
                self._write_all(wire.frame(answer))
        except OSError:
            pass  # the grader has gone; the run ends with the student's process

    def _write_all(self, data):
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]


class Supervisor:
    def __init__(self, channel, arena, emit, limits):
        self.channel, self.arena, self.emit, self.limits = channel, arena, emit, limits
        self.answer_bytes = 0  # of every answer forwarded so far: the run's budget is on their sum
        self.work_cpu = self.serving = 0.0  # CPU time and wall-clock time spent serving the student's calls
        self.reported = time.perf_counter()

    def serve(
        self, data: bytes, references: dict[str, Callable], bounds: refcall.CallBounds, recorders: dict[str, Recorder]
    ) -> tuple[dict, dict | None]:
        """One frame of the student's process during a case, decoded and, if it is a call of a
        reference function, served, all timed: the grader charges the run for the CPU time this
        took, and does not charge the student's process for sleeping meanwhile.  Returns
        (the message, the reply to send back or None)."""
        started, cpu = time.perf_counter(), time.process_time()
        try:
            message = refcall.decode(data, self.arena)
            if message.get("op") != "call":
                return message, None
            return message, refcall.serve_call(message, references, bounds, recorders)
        finally:
            now = time.perf_counter()
            self.work_cpu += time.process_time() - cpu
            self.serving += now - started
            if now - self.reported > SPENT_EVERY:
                self.report_spent()

    def report_spent(self) -> None:
        self.reported = time.perf_counter()
        self.emit({"phase": "spent", "work_cpu": self.work_cpu, "serving": self.serving})

    def frame(self) -> bytes:
        """The next frame of the student's process, waiting awake briefly (a call loop's next call)."""
        return wire.recv_frame(self.channel, refcall.CALL_BYTES, spin=refcall.SPIN_SECONDS)

    def message(self) -> dict:
        """The next message of the student's process: copied out of the arena, then decoded
        within the call channel's bounds (refcall.CALLS)."""
        return refcall.decode(self.frame(), self.arena)

    def answer(self) -> bytes:
        """The frame of an answer, as it came (the grader decodes it), within the run's budget."""
        data = wire.recv_frame(self.channel, self.limits["result_bytes"])
        self.answer_bytes += len(data)
        if self.answer_bytes > self.limits["answer_bytes"]:
            raise wire.WireError(f"the answers passed {self.limits['answer_bytes']} bytes in all")
        return data

    def run(self, student: dict, next_case: Callable[[], dict | None], references: dict[str, Callable]) -> None:
        ready = self.message()
        if not ready.get("ok"):
            self.emit({"phase": "isolate", "ok": False, "error": {"type": "OSError", "message": ready.get("error")}})
            return
        self.emit({"phase": "isolate", "ok": True, "held": ready.get("held", [])})
        wire.send_frame(self.channel, wire.dumps(student).encode())
        if self.message().get("kind") != "define":
            raise wire.WireError("the student's process did not report its cell")
        self.emit({"phase": "define"}, self.answer())
        while (case := next_case()) is not None:  # read from the grader only now: one case at a time
            self.run_case(case, references)
        wire.send_frame(self.channel, wire.dumps({"op": "done"}).encode())

    def run_case(self, case: dict, references: dict[str, Callable]) -> None:
        wanted = case.pop("record", {})
        bounds = refcall.CallBounds(case.pop("calls_allowed", {}))
        recorders = {name: Recorder(references[name], wanted[name]) for name in wanted if name in references}
        case["record_here"] = {name: calls for name, calls in wanted.items() if name not in references}
        wire.send_frame(self.channel, wire.dumps({"op": "case", "case": case}).encode())
        while True:
            message, reply = self.serve(self.frame(), references, bounds, recorders)
            if reply is not None:
                refcall.send(self.channel, self.arena, reply)
                continue
            if message.get("kind") != "result" or message.get("case") != case["id"]:
                raise wire.WireError("an answer to a case that was not asked")
            calls = {name: recorder.report() for name, recorder in recorders.items()}
            self.emit({"case": case["id"], "calls": calls}, self.answer())
            self.report_spent()
            return


def load_references(sources: dict[str, str]) -> dict[str, Callable]:
    """The reference functions, defined here in the supervisor, never in the student's process."""
    namespace = {"__name__": "reference"}
    exec(NOTEBOOK_IMPORTS, namespace)
    for name, source in sources.items():
        exec(compile(source, f"<reference {name}>", "exec"), namespace)
    return {name: namespace[name] for name in sources}


def main(result_fd: int) -> None:
    """The supervisor: read the student's part of the task, start the student's process, confine
    itself, then read the references and the cases one by one, drive the student's process
    through them, and report."""

    def next_frame():
        data = wire.read_frame_from(0, wire.MAX_TASK_FRAME)
        return None if data is None else wire.loads(data.decode())

    task = next_frame()
    config = task["sandbox"]
    emit = Reporter(result_fd)
    arena_buffer = refcall.new_arena()
    mine, theirs = refcall.channel_pair()
    jail.adopt_orphans()  # what the student's process leaves running stays below this one, to be counted and killed
    try:
        if config["mode"] in ("root", "userns"):
            jail.new_pid_namespace(as_root=config["mode"] == "root")
    except OSError as error:
        emit({"phase": "isolate", "ok": False, "error": {"type": "OSError", "message": str(error)}})
        return
    pid = os.fork()
    if pid == 0:
        mine.close()
        student_process(theirs, config, arena_buffer)  # never returns
    theirs.close()
    emit({"phase": "started", "pid": pid})
    confined = jail.confine_supervisor(config)  # its own uid, the run's memory and process caps, rlimits
    supervisor = Supervisor(mine, refcall.Arena(arena_buffer), emit, config)
    problem = None
    try:
        references = load_references(next_frame())  # only now: never in the student's process
        supervisor.run(task["student"], lambda: (next_frame() or {}).get("case"), references)
    except (EOFError, ConnectionError):
        pass  # the student's process ended early: its exit status says how
    except (wire.WireError, ValueError, TypeError, KeyError, AttributeError, MemoryError) as error:
        problem = f"{type(error).__name__}: {str(error)[:200]}"
    mine.close()
    if problem is not None and not _ended(pid):  # a process of another uid: the grader kills it
        ended = {"exit_code": None, "max_rss_kb": 0}
    else:
        _, status, usage = os.wait4(pid, 0)
        if not confined:
            jail.end_orphans()
        ended = {"exit_code": os.waitstatus_to_exitcode(status), "max_rss_kb": usage.ru_maxrss}
    supervisor_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    emit({"phase": "end", **ended, "protocol_error": problem, "supervisor_max_rss_kb": supervisor_rss})


def _ended(pid):
    """Kill the student's process if this one may; whether it has ended."""
    try:
        os.kill(pid, signal.SIGKILL)
    except PermissionError:
        return False
    except ProcessLookupError:
        pass
    return True
