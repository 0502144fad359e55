"""Decoding what a run sent, in the grader's process, without a sandbox: the supervisor's events
(trusted) and the answers of the student's process (not trusted), each bound alone."""

import os
import threading

import numpy as np
import pytest

from autograder.sandbox import events
from autograder.sandbox.inside import wire
from autograder.sandbox.limits import Limits
from autograder.sandbox.messages import Observation, Outcome, PhaseReport, StudentError

UNREADABLE = StudentError("GradingProtocolError", "the answer could not be read")


def event(value, answer=None):
    """A supervisor's event as it writes it: its frame, then the answer's own frame if any."""
    data = wire.frame(wire.dumps(value | {"answer": answer is not None}).encode())
    return data + (wire.frame(answer) if answer is not None else b"")


def answer(body):
    return wire.dumps(body).encode()


def read(data, budget=1024**2):
    """read_events over a pipe holding ``data``; returns the results it kept."""
    reading, writing = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(writing, data), os.close(writing)))
    writer.start()
    results = {"events": []}
    with os.fdopen(reading, "rb") as stream:
        events.read_events(stream, results, budget)
    writer.join()
    return results


# ---------------------------------------------------------------------------- the student's answers


def test_an_honest_answer_becomes_the_fields_of_an_observation():
    body = {"ok": True, "result": [1, 2.5], "args_after": [np.zeros(2)], "stdout": "hi\n", "stdout_dropped": 3,
            "seconds": 0.25, "calls": {"clip": {"count": 1}}, "draws": {"seeds": [1, None], "p": [[0.5, 0.5], None]},
            "trace": [[3, "x", {"kind": "int"}]]}  # fmt: skip
    cleaned = events._student_answer(answer(body))
    assert cleaned.pop("args_after")[0].tolist() == [0.0, 0.0]
    assert cleaned == {"ok": True, "result": [1, 2.5], "stdout": "hi\n", "stdout_dropped": 3, "seconds": 0.25,
                       "student_calls": {"clip": {"count": 1}}, "draws": {"seeds": [1, None], "p": [[0.5, 0.5], None]},
                       "trace": [[3, "x", {"kind": "int"}]]}  # fmt: skip


@pytest.mark.parametrize(
    "data",
    [None, b"\xff\xfe", b"not json", answer([1, 2]), answer({"ok": 1}), answer({"result": 3}), b'{"__dict__": 5}'],
    ids=["nothing", "not-utf8", "not-json", "not-a-dict", "ok-not-bool", "no-ok", "forged"],
)
def test_an_answer_that_is_not_one_fails_its_case_only(data):
    assert events._student_answer(data) == {"ok": False, "error": UNREADABLE}


def test_an_error_s_texts_are_cut_to_size_and_odd_fields_dropped():
    error = {"type": "T" * 100, "message": "m" * 400, "line": "7", "code": "c" * 300}
    body = {"ok": False, "error": error, "stdout": 5, "stdout_dropped": "many", "seconds": 1, "calls": {"clip": 3},
            "draws": [], "trace": [1]}  # fmt: skip
    cleaned = events._student_answer(answer(body))
    assert cleaned == {"ok": False, "error": StudentError("T" * 80, "m" * 300, None, "c" * 200), "stdout": "",
                       "stdout_dropped": 0, "seconds": 0.0, "draws": {}, "trace": []}  # fmt: skip
    typeless = events._student_answer(answer({"ok": False, "error": "a string", "stdout": "x" * 600_000}))
    assert typeless["error"] == StudentError("Error", "", None, "")
    assert len(typeless["stdout"]) == events.MAX_FEEDBACK_TEXT * 256
    kept_line = events._student_answer(answer({"ok": False, "error": {"type": "E", "line": 4}}))["error"]
    assert kept_line.line == 4
    no_list = events._student_answer(answer({"ok": True, "result": 1, "args_after": "x"}))
    assert no_list["args_after"] == []


@pytest.mark.parametrize(
    ("draws", "kept"),
    [
        ({"seeds": [0, 1], "p": [[1.0]]}, {"seeds": [0, 1], "p": [[1.0]]}),
        ({"seeds": [0, None], "p": []}, {"seeds": [0, None], "p": []}),
        ({"seeds": [0, 1.5], "p": []}, {}),  # a seed that is no integer
        ({"seeds": [True], "p": []}, {}),  # nor is a bool
        ({"seeds": "0", "p": []}, {}),
        ({"seeds": [], "p": "x"}, {}),
        ({"seeds": [], "p": [1.0]}, {}),  # each draw's probabilities are a list (or None)
        ({"p": []}, {}),
        ([1], {}),
    ],
)
def test_only_draws_of_the_noted_form_are_kept(draws, kept):
    assert events._draws(draws) == kept


# ---------------------------------------------------------------------------- the supervisor's events


def test_events_and_their_answers_are_kept_in_order_and_the_first_pid_and_the_time_spent_noted():
    data = (event({"phase": "started", "pid": 41}) + event({"phase": "started", "pid": 42})
            + event({"phase": "spent", "work_cpu": 0.5, "serving": 1.5}) + event({"phase": "define"}, b"A")
            + event({"phase": "spent", "work_cpu": "lots", "serving": 1}) + event({"case": "c1"}, b"BB"))  # fmt: skip
    results = read(data)
    assert results["student_pid"] == 41 and results["spent"] == (0.5, 1.5) and results["kept"] == 3
    assert [(e.get("phase"), e.get("case"), a) for e, a in results["events"]] == [
        ("started", None, None), ("started", None, None), ("define", None, b"A"), (None, "c1", b"BB")]  # fmt: skip
    assert "bad" not in results


def test_a_pid_that_is_not_an_integer_is_not_noted():
    assert "student_pid" not in read(event({"phase": "started", "pid": "41"}) + event({"phase": "started", "pid": 4.0}))


def test_answers_past_the_run_s_budget_are_dropped_and_said():
    results = read(event({"case": "a"}, b"x" * 60) + event({"case": "b"}, b"y" * 60), budget=100)
    assert results["over_budget"] is True and results["kept"] == 120
    assert [a for _, a in results["events"]] == [b"x" * 60, None]


@pytest.mark.parametrize(
    "data",
    [
        wire.frame(wire.dumps([1, 2]).encode()),  # an event is a dict
        wire.frame(b"\x00not json"),
        event({"case": "a"})[:-2] + wire.frame(b"{}")[:3],  # an announced answer cut short
        wire.frame(wire.dumps({"case": "a", "answer": True}).encode()),  # an announced answer that never came
        wire.frame(b"x" * 10)[:2] + b"\x00\x00",  # a header that says 0 bytes... then garbage lengths
    ],
    ids=["not-a-dict", "not-json", "cut-answer", "missing-answer", "garbage"],
)
def test_a_broken_stream_is_counted_and_drained_never_raised(data):
    results = read(data + b"z" * 70_000)  # the rest is read to the end: the supervisor never blocks on a full pipe
    assert results.get("bad") == 1


# ---------------------------------------------------------------------------- the outcome


def decoded(raw_events, limits=None, **outcome_fields):
    outcome = Outcome(**outcome_fields)
    events.read_outcome({"events": raw_events}, outcome, limits or Limits(cpu_seconds=60))
    return outcome


def test_each_phase_becomes_its_message_and_the_end_its_numbers():
    outcome = decoded([
        ({"phase": "isolate", "ok": True, "held": ["no network"]}, None),
        ({"phase": "define"}, answer({"ok": True})),
        ({"case": "c1", "calls": {"clip": {"count": 2}}}, answer({"ok": True, "result": 7, "calls": {"x": {}}})),
        ({"case": 5, "calls": {}}, answer({"ok": False, "error": {"type": "ValueError", "message": "bad"}})),
        ({"phase": "end", "exit_code": 3, "max_rss_kb": 2048, "supervisor_max_rss_kb": 1024, "protocol_error": None},
         None),
    ], max_rss_mb=1.0)  # fmt: skip
    assert outcome.messages[0] == PhaseReport("isolate", True, None, ("no network",))
    assert outcome.messages[1] == PhaseReport("define", True, None)
    first, second = outcome.messages[2:]
    assert first == Observation("c1", True, 7, calls={"clip": {"count": 2}})  # the supervisor's account of calls
    assert second.case == "5" and second.error == StudentError("ValueError", "bad")
    assert (outcome.exit_code, outcome.max_rss_mb, outcome.supervisor_max_rss_mb) == (3, 2.0, 1.0)
    assert outcome.cases() == {"c1": first, "5": second} and outcome.isolation() == ["no network"]


def test_the_student_s_own_account_of_calls_is_read_only_when_asked():
    raw = [({"case": "c1", "calls": {"clip": {"count": 2}}}, answer({"ok": True, "result": 1,
                                                                     "calls": {"clip": {"count": 9}}}))]  # fmt: skip
    outcome = Outcome()
    events.read_outcome({"events": raw}, outcome, Limits(), calls_from_student=True)
    assert outcome.messages[0].calls == {"clip": {"count": 9}}


def test_a_failed_isolation_or_definition_is_reported_with_its_reason():
    outcome = decoded([({"phase": "isolate", "ok": False, "error": {"message": "no user namespaces"}}, None),
                       ({"phase": "define"}, answer({"ok": False, "error": {"type": "SyntaxError", "line": 2}})),
                       ({"phase": "define"}, b"garbage")])  # fmt: skip
    assert outcome.messages[0] == PhaseReport("isolate", False, StudentError("OSError", "no user namespaces"))
    assert outcome.messages[1] == PhaseReport("define", False, StudentError("SyntaxError", "", 2, ""))
    assert outcome.messages[2] == PhaseReport("define", False, UNREADABLE)
    assert outcome.define_error() == outcome.messages[0]


def test_an_answer_budget_broken_or_a_protocol_error_is_the_run_s_fault_with_its_size():
    outcome = Outcome()
    events.read_outcome({"events": [], "over_budget": True, "bad": 2}, outcome, Limits(answer_bytes=64 * 1024**2))
    assert outcome.protocol_error == "its answers passed 64 MB in all" and outcome.bad_lines == 2
    ended = Outcome()
    events.read_outcome({"events": [({"phase": "end", "protocol_error": "WireError: x"}, None)]}, ended, Limits())
    assert ended.protocol_error == "WireError: x"


def test_decoding_past_the_run_s_allowance_times_the_remaining_cases_out(monkeypatch):
    """Decoding is charged to the run: once it has used what is left of the limit (here nothing),
    no more answer is decoded and the run timed out; the isolation report is read all the same."""
    monkeypatch.setattr(events, "DECODE_SECONDS", -1.0)
    raw = [({"phase": "isolate", "ok": True}, None), ({"case": "c1"}, answer({"ok": True, "result": 1}))]
    outcome = Outcome(charged_seconds=60.0)
    events.read_outcome({"events": raw}, outcome, Limits(cpu_seconds=60))
    assert outcome.timed_out and outcome.cases() == {} and outcome.isolation() == []
    assert outcome.charged_seconds > 60.0  # the decoding's own time is added


def test_missing_fields_read_as_their_documented_defaults():
    outcome = decoded([
        ({"phase": "isolate", "ok": False}, None),
        ({"phase": "define"}, answer({"ok": False})),
        ({"case": "c"}, answer({"ok": True, "result": 1})),
        ({"phase": "end"}, None),
    ], max_rss_mb=1.5)  # fmt: skip
    assert outcome.messages[0] == PhaseReport("isolate", False, StudentError("OSError", "None"))
    assert outcome.messages[1] == PhaseReport("define", False, StudentError("Error", "", None, ""))
    assert outcome.messages[2].calls == {}
    numbers = (outcome.bad_lines, outcome.max_rss_mb, outcome.supervisor_max_rss_mb, outcome.exit_code)
    assert numbers == (0, 1.5, 0, None)
    asked = Outcome()
    events.read_outcome({"events": [({"case": "c", "calls": {"x": {}}}, answer({"ok": True}))]}, asked, Limits(),
                        calls_from_student=True)  # fmt: skip
    assert asked.messages[0].calls == {}  # the student's process noted none


def test_an_event_with_bytes_that_are_not_utf8_is_read_with_them_replaced():
    data = wire.dumps({"case": "c\udcff"}).encode("utf-8", "surrogateescape")  # a lone byte 0xff inside its text
    results = read(wire.frame(data.replace(b"\\udcff", b"\xff")))
    assert "bad" not in results and results["events"][0][0]["case"] == "c\ufffd"
