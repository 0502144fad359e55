"""Attacks on what trusted code does with what the student's side sends (issue 25).

The supervisor computes on the arguments of the student's calls of reference functions, and
the grader decodes the student's answers: each attack here targets one of those, and each is
followed by an honest submission whose grade must be unchanged.  The peak memory of the
supervisor (as it reports it) and of this process (the grader) are checked against bounds
far below what the attacks cost before they were contained.
"""

import resource
import textwrap

import numpy as np
import pytest

from autograder.authoring import factory
from autograder.checks import SPECS
from autograder.checks.base import rnn_calls
from autograder.grade.grading import Grader
from autograder.sandbox import cgroups, machine
from autograder.sandbox.limits import Limits
from autograder.sandbox.messages import Task
from autograder.sandbox.run import run_task
from autograder.solution import graded_cell_sources

isolated = pytest.mark.skipif(
    machine.isolation_mode() == "none", reason="no root and no user namespaces: the student's code is not isolated"
)
as_root = pytest.mark.skipif(not machine.is_root(), reason="a uid of its own for the supervisor needs root")

SUPERVISOR_PEAK_MB = 1024  # the arena and the references on top of the forked server: ~300 MB measured
GRADER_PEAK_MB = 1536  # this test process, all the attacks included


@pytest.fixture(scope="module")
def grader():
    return Grader()


def honest_grade_is_unchanged(grader):
    """optimize, graded right after an attack by the same grader: it calls the reference clip in a
    supervisor too, so a supervisor or a process server the attack had damaged would show here."""
    honest = grader.grade_function(SPECS["optimize"], factory.solution("optimize"))
    assert honest.score == SPECS["optimize"].points, [c.feedback for c in honest.checks if not c.passed]


def grader_peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def attack(body, cases=None, references=("clip", "optimize"), extra_references=None, limits=None, allowed=None):
    """Run ``body`` as ``f(marker)`` in a sandbox whose supervisor holds the given reference
    functions; each case allows calls of those ``allowed`` (all, by default) as a correct
    solution makes them on a 5-unit RNN over a 4-symbol vocabulary, 8 calls each.  Returns the Outcome."""
    sources = graded_cell_sources()
    dependencies = {name: sources[name] for name in references} | (extra_references or {})
    allowed = rnn_calls(5, 4, 6, **dict.fromkeys(dependencies if allowed is None else allowed, 8))
    source = "def f(marker):\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n"
    cases = cases or [{"id": "only", "args": ["only"], "kwargs": {}}]
    task = Task(
        function="f",
        student_source=source,
        dependencies=dependencies,
        cases=[case | {"calls_allowed": allowed} for case in cases],
    )
    outcome = run_task(task, limits or Limits(cpu_seconds=60))
    assert outcome.supervisor_exit_code == 0, outcome.output  # no crash of the supervisor, whatever came in
    assert outcome.supervisor_max_rss_mb < SUPERVISOR_PEAK_MB
    return outcome


PARAMETERS = """
import numpy as np
def parameters(n_a=5, n_x=4):
    rng = np.random.RandomState(0)
    return {"Wax": rng.randn(n_a, n_x), "Waa": rng.randn(n_a, n_a), "Wya": rng.randn(n_x, n_a),
            "b": rng.randn(n_a, 1), "by": rng.randn(n_x, 1)}
"""


@isolated
def test_a_thread_scribbling_on_the_arena_while_the_supervisor_computes_harms_nothing(grader):
    """The arrays of a call are copied out of the shared arena before anything looks at them, so
    writing the arena during the call changes at most the values the reference gets."""
    body = (
        PARAMETERS
        + """
import threading
arena = np.frombuffer(optimize.arena.buffer, dtype=np.uint8)
stop = threading.Event()
def scribble():
    rng = np.random.RandomState(1)
    while not stop.is_set():
        arena[:4096] = rng.randint(0, 256, 4096)  # the parameters' bytes, in any order
threading.Thread(target=scribble, daemon=True).start()
p, a = parameters(), np.zeros((5, 1))
outcomes = []
for _ in range(8):
    try:
        loss, g, a = optimize([None, 1, 2], [1, 2, 0], a, p, 0.01)
        outcomes.append("ran")
    except RuntimeError as error:
        outcomes.append(str(error)[:80])
stop.set()
return outcomes
"""
    )
    observed = attack(body).cases()["only"]
    assert observed.ok, observed.error
    assert len(observed.result) == 8 and "ran" in observed.result
    honest_grade_is_unchanged(grader)


@isolated
@pytest.mark.parametrize(
    ("call", "refused"),
    [
        ("optimize([None, 1], [1, 0], np.zeros((5, 1)), parameters(200, 4), 0.01)", "shape (200, 4)"),
        ("optimize([None, 1], [1, 0], np.zeros((0, 2**30)), parameters(), 0.01)", "shape (0, 1073741824)"),
        ("optimize([None] + [1] * 5000, [1] * 5001, np.zeros((5, 1)), parameters(), 0.01)", "list of 5001"),
        ("optimize([None, 7], [7, 0], np.zeros((5, 1)), parameters(), 0.01)", "indices of the vocabulary"),
        ("clip({'dWax': np.zeros((5, 4)), 'x' * 100: 1.0}, 5)", "longer than any"),
        ("sample(parameters(), {}, 0)", "does not call sample"),
    ],
    ids=["foreign-shape", "huge-empty", "long-name", "outside-vocabulary", "long-key", "function-not-allowed"],
)
def test_a_call_no_correct_solution_makes_is_refused_before_it_runs(grader, call, refused):
    body = PARAMETERS + f"try:\n    {call}\nexcept RuntimeError as error:\n    return str(error)\nreturn 'ran'\n"
    outcome = attack(body, references=("clip", "optimize", "sample"), allowed=("clip", "optimize"))
    observed = outcome.cases().get("only")
    message = observed.result if observed is not None and observed.ok else None
    assert isinstance(message, str) and message.startswith("this call of ") and "was refused" in message, (
        f"the supervisor ran a call no correct solution makes ({refused}): {message if observed else outcome}"
    )
    assert refused in message, message
    honest_grade_is_unchanged(grader)


@isolated
def test_the_references_answer_only_as_many_calls_as_a_correct_solution_makes(grader):
    body = (
        PARAMETERS
        + """
answered = 0
for _ in range(1000):
    try:
        optimize([None, 1], [1, 0], np.zeros((5, 1)), parameters(), 0.01)
        answered += 1
    except RuntimeError as error:
        return answered, str(error)
return answered, ""
"""
    )
    answered, message = attack(body).cases()["only"].result
    assert answered == 8 and "more than 8 calls of optimize" in message, (
        f"the references answered {answered} calls where a correct solution makes 8 ({message!r})"
    )
    honest_grade_is_unchanged(grader)


@isolated
def test_the_student_process_holds_no_reference_source_anywhere():
    """The supervisor reads the references only after it has forked the student's process: the
    student's process, searching every frame up its stack (the supervisor's own, inherited by
    the fork, included) and every object the collector tracks, finds no line of them.  The search
    is shown to work by a copy of the line the student's code makes and keeps itself."""
    line = next(line.strip() for line in graded_cell_sources()["optimize"].splitlines() if "clip(" in line)
    body = """
import gc, sys
target = marker[::-1]  # the line searched for, made here: the case carries it reversed
decoy = {"kept": "".join(reversed(marker))}  # a copy the search must find, or it is broken
seen = set()  # ids of the strings that hold the line, but target itself

def search(value, depth=0):
    if isinstance(value, (str, bytes)):
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        if value is not target and target in text:
            seen.add(id(value))
    elif depth < 4 and isinstance(value, dict):
        for key, item in list(value.items()):
            search(key, depth + 1)
            search(item, depth + 1)
    elif depth < 4 and isinstance(value, (list, tuple, set, frozenset)):
        for item in list(value):
            search(item, depth + 1)

frame = sys._getframe()
while frame is not None:  # up to the supervisor's frames the fork left in this process
    search(frame.f_locals)
    search(frame.f_globals, 1)
    frame = frame.f_back
for thing in gc.get_objects():
    if isinstance(thing, (dict, list, tuple)):
        search(thing, 3)
return len(seen)
"""
    case = {"id": "only", "args": [line[::-1]], "kwargs": {}}
    found = attack(body, cases=[case], references=("clip", "optimize", "sample")).cases()["only"].result
    assert found >= 1, "the search did not find even the student's own copy: it proves nothing"
    assert found == 1, f"the student's process holds the reference optimize's line {line!r} ({found - 1} places)"


@isolated
def test_the_student_process_never_holds_another_case_s_input():
    """Each case reaches the student's process when it runs; the first case finds nothing of the
    others anywhere among the objects of its process."""
    body = """
import gc
found = set()
for thing in gc.get_objects():
    if isinstance(thing, dict):
        items = [*thing.values(), *thing]
    elif isinstance(thing, (list, tuple, set, frozenset)):
        items = list(thing)
    else:
        continue
    found.update(i for i in items if isinstance(i, str) and i[:13] == "hidden-input-" and i[13:].isdigit())
return sorted(found)
"""
    markers = [f"hidden-input-{i}" for i in range(4)]
    cases = [{"id": marker, "args": [marker], "kwargs": {}} for marker in markers]
    observed = attack(body, cases=cases).cases()
    for index, marker in enumerate(markers):
        seen = observed[marker].result
        assert marker in seen  # the scan works: it finds the input of its own case
        assert set(seen) <= set(markers[: index + 1]), (marker, seen)  # and nothing of a later case


@isolated
def test_an_answer_of_escapes_larger_than_a_case_allows_ends_only_its_run(grader):
    """15 million characters that JSON writes as 6-byte escapes: 90 MB, refused by the
    supervisor (an answer is at most Limits.result_bytes) without being re-encoded or kept."""
    outcome = attack('return "\\xff" * 15_000_000')
    assert "only" not in outcome.cases()
    assert "message of" in outcome.protocol_error
    assert grader_peak_mb() < GRADER_PEAK_MB
    honest_grade_is_unchanged(grader)


@isolated
def test_answers_past_the_run_s_budget_are_dropped(grader):
    """Each answer under the per-case bound, together past the run's: the grader keeps and
    decodes no more than Limits.answer_bytes of a run."""
    limits = Limits(cpu_seconds=60, result_bytes=4 * 1024**2, answer_bytes=10 * 1024**2)
    cases = [{"id": f"c{i}", "args": [i], "kwargs": {}} for i in range(6)]
    outcome = attack("return 'x' * 3_000_000", cases=cases, limits=limits)
    kept = len(outcome.cases())
    assert 1 <= kept <= 3, f"{kept} answers of 3 MB were kept under a budget of 10 MB for the run"
    assert "passed 10485760 bytes" in (outcome.protocol_error or ""), f"no budget was said: {outcome.protocol_error}"
    honest_grade_is_unchanged(grader)


@isolated
def test_dictionary_keys_built_to_collide_are_refused_not_inserted(grader):
    """Integers congruent modulo 2**61 - 1 all have one hash: many of them as keys would make the
    grader's decoding quadratic.  Past a few hundred keys that are not strings, an answer is
    refused whole; the case fails as unreadable."""
    observed = attack("return {k * (2**61 - 1): 0 for k in range(1, 3000)}").cases()["only"]
    assert not observed.ok and observed.error.type == "GradingProtocolError"
    honest_grade_is_unchanged(grader)


@isolated
def test_no_new_namespaces_and_no_capabilities_inside_the_jail():
    body = """
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
refused = {}
for name, flag in {"user": 0x10000000, "mount": 0x00020000, "network": 0x40000000, "pid": 0x20000000}.items():
    refused[name] = libc.unshare(flag) == -1 and ctypes.get_errno() == errno.EPERM
bounding = [cap for cap in range(41) if libc.prctl(23, cap, 0, 0, 0) == 1]  # PR_CAPBSET_READ
return refused, bounding
"""
    refused, bounding = attack(body, references=()).cases()["only"].result
    assert refused == {"user": True, "mount": True, "network": True, "pid": True}, (
        f"the student's code may make these namespaces: {sorted(name for name, no in refused.items() if not no)}"
    )
    assert bounding == [], f"the student's capability bounding set holds {bounding}"


PROBE = """
import os, resource
def probe():
    status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
    return {"uid": os.getuid(), "status": {k: status[k].strip() for k in ("CapEff", "CapBnd", "NoNewPrivs", "Seccomp")},
            "cgroups": open("/proc/self/cgroup").read(), "address_space": resource.getrlimit(resource.RLIMIT_AS)[0]}
"""


@as_root
def test_the_supervisor_runs_confined_under_a_uid_of_its_own():
    """Seen from inside the supervisor by a reference function (which runs there): not root,
    not the student's uid, no capabilities, no_new_privs, the seccomp filter, the run's memory
    cgroup and an address-space limit."""
    body = "import os\nreturn os.getuid(), probe()"
    outcome = attack(body, references=(), extra_references={"probe": PROBE})
    student_uid, seen = outcome.cases()["only"].result
    low, high = machine.UID_RANGE
    assert seen["uid"] not in (0, student_uid) and low <= seen["uid"] < high, (
        f"the supervisor runs as uid {seen['uid']}, not one of its own (the student's is {student_uid})"
    )
    assert seen["status"] == {"CapEff": "0000000000000000", "CapBnd": "0000000000000000", "NoNewPrivs": "1",
                              "Seccomp": "2"}, f"the supervisor is not confined: {seen['status']}"  # fmt: skip
    layout = cgroups.layout()
    if machine.isolation_mode() == "root" and layout:
        mark = ":memory:" if layout == "v1" else "0::"
        memory = [line for line in seen["cgroups"].splitlines() if mark in line]
        assert memory and all("/run-" in line for line in memory), (
            f"the supervisor is not in the run's memory cgroup: {memory}"
        )
    assert 0 < seen["address_space"] <= Limits(cpu_seconds=60).address_space_bytes(), (
        f"the supervisor's address space is not limited: {seen['address_space']}"
    )


@isolated
def test_a_model_that_trains_nothing_earns_nothing(grader, tmp_path):
    """It calls optimize once per step, on a one-step junk name, passing its hidden state along at
    learning rate 0.01: two side properties of a training loop, and no training."""
    junk = textwrap.dedent(
        """
        # UNQ_C4 (UNIQUE CELL IDENTIFIER, DO NOT EDIT)
        def model(data_x, ix_to_char, char_to_ix, num_iterations=35000, n_a=50, dino_names=7, vocab_size=27,
                  verbose=False):
            parameters = initialize_parameters(n_a, vocab_size, vocab_size)
            a_prev = np.zeros((n_a, 1))
            for j in range(num_iterations):
                _, _, a_prev = optimize([None, 1], [1, 0], a_prev, parameters, learning_rate=0.01)
            return parameters, "abc"
        """
    )
    path = factory.write(factory.notebook({"model": junk}), tmp_path / "junk" / "Dinosaurus_Island.ipynb")
    result = grader.grade(path, "junk", only={"model"})
    model = result.functions["model"]
    assert model.score == 0, [(c.name, c.points) for c in model.checks if c.points]
    withheld = {c.name for c in model.checks if c.withheld and not c.passed and c.points == 0}
    assert "carries the hidden state from name to name" in withheld  # right on its own: it pays nothing


def test_the_call_bounds_of_every_case_admit_what_the_reference_solution_does():
    """A bound too tight would refuse a correct solution: every case of a function that calls
    references carries bounds, and the stored reference run of each is a success."""
    from autograder.grade.expected import load_expected

    expected = load_expected()
    for name, spec in SPECS.items():
        for case in spec.cases():
            assert set(case.calls_allowed) == set(spec.dependencies), (name, case.id)
            assert expected.cases[name][case.id].ok, (name, case.id)


def test_random_state_round_trips_through_the_call_codec():
    from autograder.sandbox.inside import refcall, wire

    arena = refcall.Arena(bytearray(1 << 20))
    np.random.seed(123)
    state = np.random.get_state()
    back = wire.loads(wire.dumps({"random": state}, arena), arena, refcall.CALLS)["random"]
    np.random.seed(0)
    np.random.set_state(refcall.random_state(back))
    assert np.random.get_state()[1].tolist() == state[1].tolist() and np.random.rand() == (
        np.random.seed(123) or np.random.rand()
    )


def test_an_array_is_copied_out_of_the_arena_before_anything_reads_it():
    """Copy, then check, then compute: what the supervisor decodes from a call is its own copy,
    so a value the student's process writes into the arena afterwards changes nothing of it."""
    from autograder.sandbox.inside import refcall, wire

    arena = refcall.Arena(bytearray(1 << 20))
    sent = np.arange(12.0).reshape(3, 4)
    message = wire.loads(wire.dumps({"x": sent}, arena), arena, refcall.CALLS)
    in_the_arena = np.ndarray(sent.shape, sent.dtype, buffer=arena.buffer, offset=0)
    assert np.array_equal(in_the_arena, sent)  # where the student's side put it
    in_the_arena[:] = -1.0  # written after the supervisor decoded the call
    assert np.array_equal(message["x"], sent), "the decoded array is a view of the shared arena, not a copy"
    assert not np.shares_memory(message["x"], in_the_arena)
