"""The programs that run inside a sandbox: a supervisor, and the student's process it starts.

This file sits with ``jail.py``, ``refcall.py``, ``wire.py`` and the course's ``utils/`` in
the grader's shared library folder, and imports nothing else of the autograder.
``forkserver.py`` forks one supervisor per run and calls ``main`` in it.

The supervisor never runs student code.  It reads the run's description from standard input
(two frames: the student's part, then the reference functions the graded one may call),
starts the student's process *before* reading the second frame, so the reference code is
never in memory the student's process inherits, and then drives it case by case:

- it sends one case, serves the calls the student's code makes to reference functions
  (``refcall.py``), notes the calls the checks asked to record, and accepts exactly one
  answer, for that case, of bounded size;
- it writes what it saw, one JSON line per event, to RESULT_FD for the grader.

The student's process is process 1 of a new PID namespace (ending it ends all it started),
locked into its allowlist root by ``jail.enter``, and holds only its channel to the
supervisor and its output: never the grader's result channel.
"""

import copy
import io
import json
import os
import sys
import time
import traceback

NOTEBOOK_IMPORTS = "import copy\nimport numpy as np\nfrom utils import *\n"
SPENT_EVERY = 0.2  # seconds between the supervisor's reports of the time it spent on the student's calls
MAX_TASK_FRAME = 256 * 1024**2


def read_frame_from(fd, limit=MAX_TASK_FRAME):
    """One length-prefixed frame from a descriptor, read without reading ahead."""

    def exactly(size):
        data = bytearray()
        while len(data) < size:
            chunk = os.read(fd, size - len(data))
            if not chunk:
                raise EOFError("the grader closed the task channel")
            data += chunk
        return bytes(data)

    from refcall import HEADER  # the one frame format, beside this file in the sandbox library

    (size,) = HEADER.unpack(exactly(HEADER.size))
    if size > limit:
        raise ValueError(f"a task of {size} bytes")
    return exactly(size)


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
        os.dup2(null, 0)  # standard input still held the reference functions' frame
        os.dup2(channel.fileno(), 3)
        os.closerange(4, os.sysconf("SC_OPEN_MAX"))  # the grader's result channel among them
        channel = __import__("socket").socket(fileno=3)
        try:
            held = jail.enter(config)
        except Exception as error:  # the machine refused a step: the grader says so, never the student's fault
            problem = f"{type(error).__name__}: {error}"
            refcall.send_frame(channel, json.dumps({"kind": "ready", "ok": False, "error": problem}).encode())
            return
        refcall.send_frame(channel, json.dumps({"kind": "ready", "ok": True, "held": held}).encode())
        student = wire.loads(refcall.recv_frame(channel).decode())
        run_student(student, channel, refcall.Arena(arena_buffer), refcall, wire)
        sys.stdout.flush()
        status = 0
    finally:
        os._exit(status)


def run_student(task, channel, arena, refcall, wire):
    import numpy as np

    def answer(kind, body, case=None):
        refcall.send_frame(channel, json.dumps({"kind": kind, "case": case}).encode())
        refcall.send_frame(channel, wire.dumps(body).encode())

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
        answer("define", {"ok": False, "error": describe(error, filename)})
        return
    sys.stdout = sys.__stdout__
    function = namespace.get(task["function"])
    if not callable(function):
        answer("define", {"ok": False, "error": {"type": "Missing", "message": "", "line": None, "code": ""}})
        return
    answer("define", {"ok": True})

    while True:
        request = json.loads(refcall.recv_frame(channel))
        if request.get("op") != "case":
            return
        case = wire.loads(json.dumps(request["case"]))
        args, kwargs = copy.deepcopy(case["args"]), copy.deepcopy(case["kwargs"])
        np.random.seed(case.get("global_seed", 0))
        recorders = record_here(namespace, case.get("record_here", {}))
        captured = CappedText(task["stdout_limit"])
        sys.stdout = captured
        start = time.perf_counter()
        try:
            result = function(*args, **kwargs)
        except BaseException as error:  # noqa: B036 -- any way the student's code stops is reported
            sys.stdout = sys.__stdout__
            body = {"ok": False, "error": describe(error, filename), "stdout": captured.getvalue()[-2000:]}
            answer("result", body | recorded(namespace, recorders), case["id"])
            continue
        seconds = time.perf_counter() - start
        sys.stdout = sys.__stdout__
        body = {
            "ok": True,
            "result": result,
            "args_after": [args[i] for i in case.get("return_args", [])],
            "stdout": captured.getvalue(),
            "stdout_dropped": captured.dropped,
            "seconds": seconds,
        }
        answer("result", body | recorded(namespace, recorders), case["id"])


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
        import inspect

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
    """Writes the supervisor's events to the grader, one JSON line each."""

    def __init__(self, result_fd, wire):
        self.out, self.wire = os.fdopen(result_fd, "w", buffering=1), wire

    def __call__(self, message):
        try:
            self.out.write(self.wire.dumps(message) + "\n")
        except (OSError, ValueError):
            pass


class Supervisor:
    def __init__(self, channel, emit, limits):
        import refcall
        import wire

        self.channel, self.emit, self.limits, self.refcall, self.wire = channel, emit, limits, refcall, wire
        self.work_cpu = self.serving = 0.0  # CPU time and wall-clock time spent serving the student's calls
        self.reported = time.perf_counter()

    def serve(self, message, references, arena, recorders):
        """One call of a reference function, timed: the grader charges the run for the CPU time
        it took, and does not charge the student's process for sleeping while it ran."""
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return self.refcall.serve_call(message, references, arena, recorders)
        finally:
            now = time.perf_counter()
            self.work_cpu += time.process_time() - cpu
            self.serving += now - started
            if now - self.reported > SPENT_EVERY:
                self.report_spent()

    def report_spent(self):
        self.reported = time.perf_counter()
        self.emit({"phase": "spent", "work_cpu": self.work_cpu, "serving": self.serving})

    def header(self):
        refcall = self.refcall
        return json.loads(refcall.recv_frame(self.channel, refcall.MAX_CALL_FRAME, spin=refcall.SPIN_SECONDS))

    def body(self):
        return self.refcall.recv_frame(self.channel, self.limits["result_bytes"]).decode("utf-8", "replace")

    def run(self, student, references, arena):
        ready = self.header()
        if not ready.get("ok"):
            self.emit({"phase": "isolate", "ok": False, "error": {"type": "OSError", "message": ready.get("error")}})
            return
        self.emit({"phase": "isolate", "ok": True, "held": ready.get("held", [])})
        cases = student.pop("cases")
        student["cases"] = []
        self.refcall.send_frame(self.channel, self.wire.dumps(student).encode())
        define = self.header()
        if define.get("kind") != "define":
            raise self.refcall.ProtocolError("the student's process did not report its cell")
        self.emit({"phase": "define", "body": self.body()})
        for case in cases:
            wanted = case.pop("record", {})
            recorders = {name: Recorder(references[name], wanted[name]) for name in wanted if name in references}
            case["record_here"] = {name: calls for name, calls in wanted.items() if name not in references}
            request = {"op": "case", "case": json.loads(self.wire.dumps(case))}
            self.refcall.send_frame(self.channel, json.dumps(request).encode())
            while True:
                message = self.header()
                if message.get("op") == "call":
                    reply = self.serve(message, references, arena, recorders)
                    self.refcall.send_frame(self.channel, json.dumps(reply).encode())
                    continue
                if message.get("kind") != "result" or message.get("case") != case["id"]:
                    raise self.refcall.ProtocolError("an answer to a case that was not asked")
                calls = {name: recorder.report() for name, recorder in recorders.items()}
                self.emit({"case": case["id"], "body": self.body(), "calls": calls})
                self.report_spent()
                break
        self.refcall.send_frame(self.channel, json.dumps({"op": "done"}).encode())


def load_references(sources):
    """The reference functions, defined here in the supervisor, never in the student's process."""
    namespace = {"__name__": "reference"}
    exec(NOTEBOOK_IMPORTS, namespace)
    for name, source in sources.items():
        exec(compile(source, f"<reference {name}>", "exec"), namespace)
    return {name: namespace[name] for name in sources}


def main(result_fd):
    """The supervisor: read the task, start the student's process, drive it, report."""
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)  # jail, refcall, wire and utils/ sit beside this file
    import jail
    import refcall
    import wire

    task = wire.loads(read_frame_from(0).decode())
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
    supervisor = Supervisor(mine, emit, config)
    problem = None
    try:
        references = load_references(wire.loads(read_frame_from(0).decode()))  # only now: see above
        supervisor.run(task["student"], references, refcall.Arena(arena_buffer))
    except (EOFError, ConnectionError):
        pass  # the student's process ended early: its exit status says how
    except (refcall.ProtocolError, ValueError, TypeError, KeyError, AttributeError) as error:
        problem = f"{type(error).__name__}: {str(error)[:200]}"
        os.kill(pid, 9)
    mine.close()
    _, status, usage = os.wait4(pid, 0)
    jail.end_orphans()
    emit(
        {
            "phase": "end",
            "exit_code": os.waitstatus_to_exitcode(status),
            "max_rss_kb": usage.ru_maxrss,
            "protocol_error": problem,
        }
    )
