"""Grades on a machine that other work keeps busy (a shared grading server, a JupyterHub node):
beside several CPU burners per core the grader gives exactly the grades and feedback of a quiet
run, because a run's time limit is on the CPU it uses (sandbox/meter.py), not on the clock.

The submissions are the ones whose grade the clock used to change: a correct notebook, and
mistakes whose model trains the whole 22,001-step run.  So that the test proves the point on
any machine, the busy grading runs with a limit of twice the time the quiet runs were charged,
and the burners must slow the runs past that limit on the clock: a wall-clock limit would
fail them."""

import os
import subprocess
import sys
from contextlib import contextmanager

import pytest

from autograder import faults
from autograder.authoring import factory
from autograder.checks import SPECS
from autograder.grade import grading
from autograder.grade.grading import Grader
from autograder.sandbox import limits
from autograder.sandbox.messages import Task
from autograder.sandbox.run import run_task
from autograder.solution import compact, graded_cell_sources

BURNERS_PER_CORE = 3
LIMIT_OVER_QUIET = 2.0
WHOLE_RUN_MISTAKES = ("fixed-iteration-count", "state-reset")

pytestmark = pytest.mark.slow


@contextmanager
def cpu_burners(count):
    """``count`` processes that compute without end, at the grader's own priority, each in a session
    of its own, as other people's work is (the kernel's autogroups share the CPUs by session)."""
    burn = [sys.executable, "-c", "while True: pass"]
    burners = [subprocess.Popen(burn, start_new_session=True) for _ in range(count)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


class GraderWithALimit(Grader):
    """The course's grader, with one CPU-time limit for every function."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def cpu_seconds(self, spec):
        return self.seconds


def what_each_student_reads(grader, notebooks, folder, monkeypatch):
    """({student: {function: (score, [(check, passed, feedback)], diagnosis)}}, the longest run's
    (charged, wall-clock) seconds) for the model mistakes (graded alone) and the correct notebook."""
    runs = []

    def noting_each_run(task, limits):
        outcome = run_task(task, limits)
        runs.append((outcome.charged_seconds, outcome.seconds))
        return outcome

    monkeypatch.setattr(grading, "run_task", noting_each_run)
    graded = {}
    for student, source in notebooks.items():
        if source is None:
            functions = grader.grade(factory.write(factory.notebook(), folder / f"{student}.ipynb"), student).functions
        else:
            functions = {"model": grader.grade_function(SPECS["model"], source)}
        graded[student] = {
            name: (f.score, [(c.name, c.passed, c.feedback) for c in f.checks], f.diagnosis)
            for name, f in functions.items()
        }
    return graded, (max(charged for charged, _ in runs), max(wall for _, wall in runs))


def test_a_busy_machine_gives_the_grades_and_feedback_of_a_quiet_one(tmp_path, monkeypatch):
    base = compact(graded_cell_sources()["model"])
    catalogue = {mistake.id: mistake for mistake in faults.catalogue()["model"]}
    notebooks = {"correct": None} | {m: catalogue[m].applied_to(base) for m in WHOLE_RUN_MISTAKES}
    quiet, (quiet_charged, _) = what_each_student_reads(Grader(), notebooks, tmp_path, monkeypatch)
    assert sum(score for score, _, _ in quiet["correct"].values()) == 100
    for mistake in WHOLE_RUN_MISTAKES:  # each named as the catalogue names it, on the quiet machine
        score, _, diagnosis = quiet[mistake]["model"]
        assert score < SPECS["model"].points and diagnosis == catalogue[mistake].explanation, (mistake, diagnosis)

    limit = LIMIT_OVER_QUIET * quiet_charged
    # The wall clock's backstop (10 times the limit, plus 30 s) gives up on a run the machine
    # starves; this test's limit is kept small on purpose, so on a machine busy with more than
    # its burners (the rest of the suite, in parallel) a run could reach it.  The backstop has
    # tests of its own; here it is moved out of the way.
    monkeypatch.setattr(limits, "BACKSTOP_FACTOR", 100.0)
    with cpu_burners(BURNERS_PER_CORE * os.cpu_count()):
        busy, (_, busy_wall) = what_each_student_reads(GraderWithALimit(limit), notebooks, tmp_path, monkeypatch)
    assert busy_wall > limit, "the burners did not slow the runs past the limit: nothing was shown"
    assert busy == quiet


def test_a_run_the_wall_clock_gives_up_on_is_not_graded_rather_than_failed(monkeypatch):
    """The backstop: a run still under its CPU-time limit when the wall clock passes
    BACKSTOP_FACTOR times that limit plus BACKSTOP_EXTRA is the machine's fault, never the
    student's: the Outcome says machine_busy (not timed_out) and the grader refuses to grade
    ("regrade it"), as `grade` then exits 3.  Moved to 2 s here, so a model run of ~6 s of CPU
    time, far under its limit, passes it."""
    monkeypatch.setattr(limits, "BACKSTOP_FACTOR", 0.0)
    monkeypatch.setattr(limits, "BACKSTOP_EXTRA", 2.0)
    task = Task(
        function="f",
        student_source="def f():\n    while True:\n        pass\n",
        dependencies={},
        cases=[{"id": "only", "args": [], "kwargs": {}}],
    )
    outcome = run_task(task, limits.Limits(cpu_seconds=600))
    assert outcome.machine_busy and not outcome.timed_out and outcome.cases() == {}, (
        f"a run the wall-clock backstop ended is not 'machine busy' (regrade it): {outcome}"
    )
    with pytest.raises(grading.MachineBusy, match="too busy to grade model"):
        Grader().grade_function(SPECS["model"], factory.solution("model"))
