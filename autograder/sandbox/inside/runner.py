"""The programs that run inside a sandbox: a supervisor, and the student's process it starts.

This file sits with ``jail.py``, ``refcall.py``, ``wire.py`` and the course's ``utils/`` in
the grader's shared library folder, and imports nothing else of the autograder.
``forkserver.py`` forks one supervisor per run and calls ``main`` in it.

The supervisor never runs student code.  It reads the run's description from standard input,
one frame at a time (``wire.py``): the student's part; then, only after it has forked the
student's process (so that process never inherits them), the reference functions the graded
one may call, and each case when it is about to run it.  It then confines itself
(``jail.confine_supervisor``: a uid of its own, the run's cgroups, rlimits) and drives the
student's process case by case:

- it sends one case, serves the calls the student's code makes to reference functions
  (``refcall.py``: copy, then check against the case's bounds, then compute), notes the calls
  the checks asked to record, and accepts exactly one answer, for that case, of bounded size,
  within the run's budget for all answers;
- it writes what it saw, one frame per event, to RESULT_FD for the grader, each answer of the
  student's process as a frame of its own, as it came (the grader decodes it).

The student's process is process 1 of a new PID namespace (ending it ends all it started),
locked into its allowlist root by ``jail.enter``, and holds only its channel to the
supervisor and its output: never the grader's result channel, and never a case but the one
it is running.
"""

import copy
import inspect
import io
import os
import resource
import signal
import sys
import time
import traceback

NOTEBOOK_IMPORTS = "import copy\nimport numpy as np\nfrom utils import *\n"
SPENT_EVERY = 0.2  # seconds between the supervisor's reports of the time it spent on the student's calls
MAX_TASK_FRAME = 256 * 1024**2


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


def describe(error, filename, source=""):
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


# ----------------------------------------------------------------------------
# The student's process
# ----------------------------------------------------------------------------


def student_process(channel, config, arena_buffer):
    """In the forked child: lock in, then run what the supervisor sends.  Never returns."""
    status = 1
    try:
        import jail
        import refcall
        import wire

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
        student = wire.loads(wire.recv_frame(channel, MAX_TASK_FRAME).decode())
        run_student(student, channel, arena, refcall, wire)
        sys.stdout.flush()
        status = 0
    finally:
        os._exit(status)


def run_student(task, channel, arena, refcall, wire):
    import numpy as np
    import tracer

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
        request = wire.loads(wire.recv_frame(channel, MAX_TASK_FRAME).decode())
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


def call(function, args, kwargs):
    """(result, None, []) or (None, the exception, []): any way the student's code stops is reported."""
    try:
        return function(*args, **kwargs), None, []
    except BaseException as error:  # noqa: B036 -- SystemExit, KeyboardInterrupt: all are the student's
        return None, error, []


def record_here(namespace, wanted):
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


def recorded(namespace, recorders):
    """The calls noted in the student's process (the grader trusts them only as described in
    grading.py), after putting the functions back."""
    for name, (_, original) in recorders.items():
        namespace[name] = original
    if not recorders:
        return {}
    return {"calls": {name: recorder.report() for name, (recorder, _) in recorders.items()}}


# ----------------------------------------------------------------------------
# Noting calls (in the supervisor, or in the student's process for its own helpers)
# ----------------------------------------------------------------------------


class Recorder:
    """Notes chosen calls of a reference function, by its own parameter names: plain values as
    they were passed, arrays as whether they were all zero."""

    def __init__(self, function, wanted):
        self.signature, self.wanted, self.calls, self.count = inspect.signature(function), set(wanted), {}, 0

    def note(self, args, kwargs):
        if self.count in self.wanted:
            self.calls[self.count] = self.summarize(args, kwargs)
        self.count += 1

    def report(self):
        """What the checks read: how many calls there were, and the chosen ones summarized."""
        return {"count": self.count, "calls": self.calls}

    def summarize(self, args, kwargs):
        import numpy as np

        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError:
            return {}
        bound.apply_defaults()
        plain, zeros = {}, {}
        for name, value in bound.arguments.items():
            if isinstance(value, np.ndarray):
                zeros[name + "_is_zero"] = not value.any()
            elif isinstance(value, (int, float, str, type(None))) or (isinstance(value, list) and len(value) <= 10_000):
                plain[name] = value
        return plain | zeros  # plain values first: the stored references list them in this order


# ----------------------------------------------------------------------------
# The supervisor
# ----------------------------------------------------------------------------


class Reporter:
    """Writes the supervisor's events to the grader, one frame each (``wire.py``); an event that
    carries an answer of the student's process is followed by that answer's frame, as it came."""

    def __init__(self, result_fd, wire):
        self.fd, self.wire = result_fd, wire

    def __call__(self, event, answer=None):
        data = self.wire.frame(self.wire.dumps(event | {"answer": answer is not None}).encode())
        try:
            os.write(self.fd, data)  # small: a pipe takes it whole
            if answer is not None:
                self._write_all(self.wire.frame(answer))
        except OSError:
            pass  # the grader has gone; the run ends with the student's process

    def _write_all(self, data):
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]


class Supervisor:
    def __init__(self, channel, arena, emit, limits):
        import refcall
        import wire

        self.channel, self.arena, self.emit, self.limits, self.refcall, self.wire = (
            channel, arena, emit, limits, refcall, wire,
        )  # fmt: skip
        self.answer_bytes = 0  # of every answer forwarded so far: the run's budget is on their sum
        self.work_cpu = self.serving = 0.0  # CPU time and wall-clock time spent serving the student's calls
        self.reported = time.perf_counter()

    def serve(self, data, references, bounds, recorders):
        """One frame of the student's process during a case, decoded and, if it is a call of a
        reference function, served, all timed: the grader charges the run for the CPU time this
        took, and does not charge the student's process for sleeping meanwhile.  Returns
        (the message, the reply to send back or None)."""
        started, cpu = time.perf_counter(), time.process_time()
        try:
            message = self.refcall.decode(data, self.arena)
            if message.get("op") != "call":
                return message, None
            return message, self.refcall.serve_call(message, references, bounds, recorders)
        finally:
            now = time.perf_counter()
            self.work_cpu += time.process_time() - cpu
            self.serving += now - started
            if now - self.reported > SPENT_EVERY:
                self.report_spent()

    def report_spent(self):
        self.reported = time.perf_counter()
        self.emit({"phase": "spent", "work_cpu": self.work_cpu, "serving": self.serving})

    def frame(self):
        """The next frame of the student's process, waiting awake briefly (a call loop's next call)."""
        return self.wire.recv_frame(self.channel, self.refcall.CALL_BYTES, spin=self.refcall.SPIN_SECONDS)

    def message(self):
        """The next message of the student's process: copied out of the arena, then decoded
        within the call channel's bounds (refcall.CALLS)."""
        return self.refcall.decode(self.frame(), self.arena)

    def answer(self):
        """The frame of an answer, as it came (the grader decodes it), within the run's budget."""
        data = self.wire.recv_frame(self.channel, self.limits["result_bytes"])
        self.answer_bytes += len(data)
        if self.answer_bytes > self.limits["answer_bytes"]:
            raise self.wire.WireError(f"the answers passed {self.limits['answer_bytes']} bytes in all")
        return data

    def run(self, student, next_case, references):
        ready = self.message()
        if not ready.get("ok"):
            self.emit({"phase": "isolate", "ok": False, "error": {"type": "OSError", "message": ready.get("error")}})
            return
        self.emit({"phase": "isolate", "ok": True, "held": ready.get("held", [])})
        self.wire.send_frame(self.channel, self.wire.dumps(student).encode())
        if self.message().get("kind") != "define":
            raise self.wire.WireError("the student's process did not report its cell")
        self.emit({"phase": "define"}, self.answer())
        while (case := next_case()) is not None:  # read from the grader only now: one case at a time
            self.run_case(case, references)
        self.wire.send_frame(self.channel, self.wire.dumps({"op": "done"}).encode())

    def run_case(self, case, references):
        wanted = case.pop("record", {})
        bounds = self.refcall.CallBounds(case.pop("calls_allowed", {}))
        recorders = {name: Recorder(references[name], wanted[name]) for name in wanted if name in references}
        case["record_here"] = {name: calls for name, calls in wanted.items() if name not in references}
        self.wire.send_frame(self.channel, self.wire.dumps({"op": "case", "case": case}).encode())
        while True:
            message, reply = self.serve(self.frame(), references, bounds, recorders)
            if reply is not None:
                self.refcall.send(self.channel, self.arena, reply)
                continue
            if message.get("kind") != "result" or message.get("case") != case["id"]:
                raise self.wire.WireError("an answer to a case that was not asked")
            calls = {name: recorder.report() for name, recorder in recorders.items()}
            self.emit({"case": case["id"], "calls": calls}, self.answer())
            self.report_spent()
            return


def load_references(sources):
    """The reference functions, defined here in the supervisor, never in the student's process."""
    namespace = {"__name__": "reference"}
    exec(NOTEBOOK_IMPORTS, namespace)
    for name, source in sources.items():
        exec(compile(source, f"<reference {name}>", "exec"), namespace)
    return {name: namespace[name] for name in sources}


def main(result_fd):
    """The supervisor: read the student's part of the task, start the student's process, confine
    itself, then read the references and the cases one by one, drive the student's process
    through them, and report."""
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)  # jail, refcall, wire and utils/ sit beside this file
    import jail
    import refcall
    import wire

    def next_frame():
        data = wire.read_frame_from(0, MAX_TASK_FRAME)
        return None if data is None else wire.loads(data.decode())

    task = next_frame()
    config = task["sandbox"]
    emit = Reporter(result_fd, wire)
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
