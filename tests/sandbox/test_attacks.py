"""Submissions written by a motivated student who attacks the grader from inside the sandbox.

Each attack is a real notebook (the release with one graded cell replaced).  Each must get 0
for the attacking function, leave the other functions' points, leave nothing behind, and
leave the next submission's grade unchanged.  Where an attack needs something to steal, the
test first shows that the loot is there for the taking outside the sandbox.
"""

import os
import shutil
import socket
import tempfile
import textwrap
from pathlib import Path

import bodies
import pytest

from autograder.authoring import factory
from autograder.checks import SPECS
from autograder.grade.grading import Grader
from autograder.paths import REFERENCES_DIR
from autograder.sandbox import cgroups, library, limits, machine
from autograder.sandbox.inside import jail
from autograder.sandbox.limits import Limits
from autograder.solution import graded_cell_sources

isolated = pytest.mark.skipif(
    machine.isolation_mode() == "none", reason="no root and no user namespaces: the student's code is not isolated"
)
as_root = pytest.mark.skipif(not machine.is_root(), reason="cgroups and a separate uid need root")

FULL = {name: spec.points for name, spec in SPECS.items()}


@pytest.fixture(scope="module")
def grader():
    return Grader()


@pytest.fixture(scope="module")
def planted_course():
    """A world-readable copy of the answer key outside the course, as a TA's old clone would be."""
    parent = Path("/srv") if os.access("/srv", os.W_OK) else Path(tempfile.gettempdir())
    folder = Path(tempfile.mkdtemp(prefix="last-term-", dir=parent))
    shutil.copytree(REFERENCES_DIR, folder / "autograder" / "references")
    for path in [folder, *folder.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    yield folder
    shutil.rmtree(folder)


def grade_with(grader, tmp_path, student, function, source):
    path = factory.write(factory.notebook({function: source}), tmp_path / student / "Dinosaurus_Island.ipynb")
    return grader.grade(path, student)


def assert_contained(result, function, grader=None):
    """0 for the attacking function, full marks for every other one, and (given the grader
    that graded it) the next honest submission's grade for that function unchanged."""
    scores = {name: f.score for name, f in result.functions.items()}
    assert scores[function] == 0, result.functions[function].checks
    assert {n: s for n, s in scores.items() if n != function} == {n: p for n, p in FULL.items() if n != function}
    for check in result.functions[function].checks:
        assert len(check.feedback) < 1500
    if grader is not None:
        honest = grader.grade_function(SPECS[function], factory.solution(function))
        assert honest.score == SPECS[function].points, [c.feedback for c in honest.checks if not c.passed]


@isolated
@pytest.mark.slow
def test_cannot_read_a_copy_of_the_answer_key_elsewhere_on_the_machine(grader, tmp_path, planted_course):
    references = planted_course / "autograder" / "references"
    source = factory.stolen_model([str(references) + "/model.json"], walk_the_disk=True)
    # Outside the sandbox the attack works: the stolen answer is the right one.
    namespace = {}
    exec(source, namespace)
    from autograder.solution import dinosaur_data

    parameters, last_name = namespace["model"](*dinosaur_data(), num_iterations=22001, verbose=True)
    assert last_name.strip() == "Trodonosaurus"
    result = grade_with(grader, tmp_path, "mallory", "model", source)
    assert_contained(result, "model", grader)


@isolated
def test_forged_answers_on_every_descriptor_do_not_count(grader, tmp_path):
    """The cell writes made-up answers on every descriptor it holds, then hides them behind
    /dev/null: the supervisor takes only the answer to the case it asked for."""
    source = textwrap.dedent(
        """
        import os, json, struct
        for fd in range(3, 64):
            for kind in ("define", "result"):
                for data in (json.dumps({"kind": kind, "case": "visible-10"}).encode(),
                             json.dumps({"ok": True, "result": 1.0}).encode(),
                             b'{"phase": "define", "ok": true}\\n{"case": "visible-10", "ok": true}\\n'):
                    try:
                        os.write(fd, struct.pack(">I", len(data)) + data)
                    except OSError:
                        pass
            try:
                os.dup2(os.open("/dev/null", os.O_WRONLY), fd)
            except OSError:
                pass

        def clip(gradients, maxValue):
            return gradients
        """
    )
    assert_contained(grade_with(grader, tmp_path, "mallory", "clip", source), "clip", grader)


@isolated
def test_the_reference_code_never_reaches_the_student_process(grader, tmp_path):
    """A model that searches its whole process for the reference optimize and mails it home in a
    huge error message: nothing of it is there, and the message is cut to size."""
    marker_line = next(
        line.strip() for line in graded_cell_sources()["optimize"].splitlines() if "clip(" in line and "=" in line
    )
    source = textwrap.dedent(
        """
        import gc, inspect, sys

        def model(data_x, ix_to_char, char_to_ix, num_iterations=35000, n_a=50, dino_names=7,
                  vocab_size=27, verbose=False):
            loot = []
            for thing in gc.get_objects():
                try:
                    if callable(thing) and getattr(thing, "__name__", "") in ("optimize", "clip", "sample"):
                        loot.append(inspect.getsource(thing))
                except (OSError, TypeError):
                    loot.append(repr(getattr(thing, "__code__", thing)))
                if isinstance(thing, str) and "def optimize" in thing:
                    loot.append(thing)
            for frame in sys._current_frames().values():
                loot.append(repr(frame.f_globals.keys()))
            raise RuntimeError("LOOT" + "\\n".join(loot) + "x" * 1_000_000)
        """
    )
    result = grade_with(grader, tmp_path, "mallory", "model", source)
    assert_contained(result, "model", grader)
    feedback = " ".join(c.feedback for c in result.functions["model"].checks)
    assert "LOOT" in feedback and marker_line not in feedback and "def optimize" not in feedback


@isolated
def test_an_answer_the_judges_do_not_expect_costs_only_that_function(grader, tmp_path):
    """A 400-digit integer, a dict whose keys all collide in hash, a 60 MB string: the grader
    decodes each with bounds (its decoding charged to the run), and the report stays small.
    (A dict of 200,000 colliding keys would only run out the student's own clock; test_wire
    sends one directly.)"""
    source = textwrap.dedent(
        """
        import sys
        calls = [0]

        def clip(gradients, maxValue):
            calls[0] += 1
            if calls[0] % 3 == 1:
                return 10 ** 400
            if calls[0] % 3 == 2:
                # Keys that all collide in CPython's integer hash; more than a dict may hold.
                return {k * (2 ** 61 - 1): 0 for k in range(6000)}
            return "x" * 60_000_000
        """
    )
    result = grade_with(grader, tmp_path, "mallory", "clip", source)
    assert_contained(result, "clip", grader)
    assert len(str(result.to_dict())) < 50_000


@isolated
def test_the_grader_and_other_submissions_are_out_of_sight(tmp_path):
    """No /proc at all (it would show host paths in mountinfo and cgroup, and the grader's
    command line), and a unix socket the host listens on cannot be reached."""
    listening = tmp_path / "host.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(listening))
    server.listen()
    os.chmod(tmp_path, 0o755)
    os.chmod(listening, 0o777)
    body = f"""
import os, socket
seen = {{path: os.path.exists(path) for path in ("/proc/self/mountinfo", "/proc/self/cgroup", "/proc/1/cmdline")}}
client = socket.socket(socket.AF_UNIX)
try:
    client.connect({str(listening)!r})
    reached = True
except OSError:
    reached = False
return os.listdir("/proc"), seen, reached
"""
    try:
        listed, seen, reached = run_body(body)
    finally:
        server.close()
    assert not reached
    assert listed == [] and not any(seen.values()), (listed, seen)


def observe_body(body, limits=None):
    """Run ``body`` as a function of no arguments in a sandbox; what the grader saw of its one case."""
    return bodies.run_body(body, limits or Limits(cpu_seconds=60)).cases().get("only")


def run_body(body, limits=None):
    observed = observe_body(body, limits)
    assert observed.ok, observed
    return observed.result


@isolated
def test_nothing_outside_the_allowlist_exists_for_the_student():
    """Walk / from inside: every path lies in an allowlisted folder, is one of the run's own
    (scratch, /tmp, /proc, /dev), or is a folder on the way to an allowlisted one."""
    allowed = [*jail.SYSTEM_PATHS, *jail.SYSTEM_FILES, *library.allowlist()]
    body = factory.walk_outside_allowlist(allowed) + "return outside\n"
    outside = run_body(body)
    on_the_way = {str(parent) for path in allowed for parent in Path(path).parents}
    assert [path for path in outside if path not in on_the_way and not path.startswith("/dev/")] == []
    assert {"/home", "/srv", "/opt", "/var", "/mnt"}.isdisjoint(outside)


@isolated
def test_the_scratch_space_is_small_and_the_rest_read_only():
    body = """
import os
written = 0
try:
    with open("big", "wb") as file:
        for _ in range(200):
            file.write(b"x" * 1024 * 1024)
            written += 1
except OSError:
    pass
refused = []
for folder in ("/", "/usr", "/etc", "/tmp/../usr", "/dev", "/proc"):
    try:
        open(os.path.join(folder, "planted"), "w").close()
    except OSError:
        refused.append(folder)
return written, refused
"""
    written, refused = run_body(body)
    assert written <= limits.default_limits().scratch_bytes // 1024**2
    assert refused == ["/", "/usr", "/etc", "/tmp/../usr", "/dev", "/proc"]


@as_root
def test_memory_is_capped_for_the_whole_run_not_per_process():
    """Four processes of 200 MB each: each well under its own address-space limit, together past
    a 512 MB cap for the run.  Under a 2 GB cap all four live (so nothing per process stops
    them); under 512 MB the run's cgroup does: a process of the run is killed for it."""
    if not cgroups.layout():
        pytest.skip("this machine gives the grader no cgroups")
    body = bodies.holding_memory(processes=4, megabytes=200, seconds=4)  # returns the survivors
    assert run_body(body, Limits(cpu_seconds=60, memory_bytes=2 * 1024**3)) == 4, (
        "a 2 GB cap for the run stopped 800 MB"
    )
    outcome = bodies.run_body(body, Limits(cpu_seconds=60, memory_bytes=512 * 1024**2))
    observed = outcome.cases().get("only")
    held = "four processes of 200 MB lived under a 512 MB memory cap for the run: its cgroup did not hold"
    if observed is None:  # the kernel's OOM killer chose the student's process itself
        assert outcome.exit_code == -9, f"{held}: {outcome}"
    else:
        assert observed.ok and observed.result < 4, f"{held}: {observed}"  # it chose children (any of them)


@as_root
def test_a_run_gets_one_cpu_however_many_processes_it_starts():
    if not cgroups.layout():
        pytest.skip("this machine gives the grader no cgroups")
    body = """
import os, time
pids = []
start = time.time()
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        while time.time() - start < 1.5:
            pass
        os._exit(0)
    pids.append(pid)
used = 0.0
for pid in pids:
    _, _, usage = os.wait4(pid, 0)
    used += usage.ru_utime + usage.ru_stime
return used / (time.time() - start)
"""
    assert run_body(body) < 1.25
