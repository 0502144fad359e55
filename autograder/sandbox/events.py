"""Reading what a run reported: the supervisor's events (trusted), and the answers of the
student's process framed after them (not trusted), decoded with bounds into the dataclasses of
``messages.py``.  A bad answer fails its case, never the grader."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, BinaryIO

from .inside import wire
from .messages import Observation, Outcome, PhaseReport, StudentError

if TYPE_CHECKING:
    from .limits import Limits

MAX_FEEDBACK_TEXT = 2000  # characters kept of any text the student's process sends
DECODE_SECONDS = 2.0  # the least CPU time the grader spends decoding a run's answers (ms, for honest ones)
EVENT_BYTES = 1024**2  # the supervisor's own events are small; an answer is framed after its event


def read_events(stream: BinaryIO, results: dict, budget: int) -> None:
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


def read_outcome(results: dict, outcome: Outcome, limits: Limits, calls_from_student: bool = False) -> None:
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
            error = None if ok else body["error"]  # _student_answer gives every failed answer its error
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
