"""`python -m autograder audit`: every catalogued mistake caught and named first, every correct
version at full marks; and it fails, naming the problem, when any of that stops being true."""

import re
import subprocess
import sys

import pytest

from autograder import faults
from autograder.authoring import audit, styles
from autograder.authoring.references import mistake_signatures
from autograder.checks import SPECS
from autograder.faults import clip as clip_faults
from autograder.grade.grading import Grader
from autograder.paths import COURSE_ROOT
from autograder.solution import graded_cell_sources


@pytest.mark.slow
def test_does_the_audit_of_the_project_pass():
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "audit", "--jobs", "2"],
        cwd=COURSE_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    total = sum(len(mistakes) for mistakes in faults.catalogue().values())
    assert f"{total}/{total} mistakes caught, {total}/{total} named first" in done.stdout
    assert all(len(mistakes) >= 10 for mistakes in faults.catalogue().values())


@pytest.fixture
def grader():
    return Grader()


def add_mistakes(grader, *mistakes):
    """Put ``mistakes`` in clip's catalogue, with signatures computed as `references` does."""
    spec = SPECS["clip"]
    signatures = mistake_signatures(spec, graded_cell_sources(), grader.expected.seconds["clip"], mistakes)
    grader.mistakes = {**grader.mistakes, "clip": grader.mistakes["clip"] + tuple(mistakes)}
    grader.expected.signatures["clip"].update(signatures)


def problems(grader):
    return [problem for result in audit.run(["clip"], 2, grader) for problem in result.problems()]


def test_does_the_audit_report_a_mistake_the_checks_miss(grader):
    add_mistakes(
        grader,
        faults.mistake("harmless", "returns a new dictionary", ("    return gradients", "    return dict(gradients)")),
    )
    assert problems(grader) == ["clip: mistake 'harmless' is not caught (it loses no points)"]


def test_does_the_audit_report_two_causes_the_cases_cannot_tell_apart(grader):
    add_mistakes(
        grader,
        faults.mistake(
            "fixed-bound-10-again",
            "another explanation of the same behaviour",
            (clip_faults.CALL, "np.clip(gradients[name], -10.0, 10.0, out=gradients[name])"),
        ),
    )
    found = problems(grader)
    assert len(found) == 2
    assert all("is caught but not named first" in problem for problem in found)
    assert any("'fixed-bound-10'" in problem for problem in found)


def test_does_the_audit_report_a_correct_version_that_loses_points(grader, monkeypatch):
    monkeypatch.setitem(styles.CORRECT, "clip", (styles.CLIP_MIN_MAX, styles.CLIP_NO_OUT))
    assert problems(grader) == ["clip: the correct version 'style 2' scores 0 of 20"]


def test_does_a_mistake_that_no_longer_applies_say_which():
    reference = "def clip(gradients, maxValue):\n    return gradients"
    with pytest.raises(faults.MistakeDoesNotApply, match="'result-discarded'"):
        faults.catalogue()["clip"][0].applied_to(reference)


@pytest.mark.slow
def test_do_the_references_name_mutants_whose_signature_depends_on_the_machines_load():
    """A mutant that runs out of time, or comes near its limit, is named when signatures are made
    (with clip's time limit cut to 11 s: a 1 s floor plus the 10 s every run gets)."""
    import dataclasses

    spec = dataclasses.replace(SPECS["clip"], floor_seconds=1.0)
    slow = faults.mistake(
        "slow", "sleeps", ("    return gradients", "    __import__('time').sleep(1.4)\n    return gradients")
    )
    endless = faults.mistake("endless", "never returns", ("    return gradients", "    while True:\n        pass"))
    quick = faults.mistake("quick", "returns a new dictionary", ("    return gradients", "    return dict(gradients)"))
    said = []
    signatures = mistake_signatures(
        spec, graded_cell_sources(), 0.0, (slow, endless, quick), jobs=3, report=said.append
    )
    assert set(signatures) == {"slow", "endless", "quick"}
    assert all(s == {"missing": True} for s in signatures["endless"].values())
    assert len(said) == 2
    took = [re.search(r"'slow' took (\d+) s of its 11 s", line) for line in said]
    assert any(found and 7 <= int(found[1]) <= 11 for found in took)  # 1.4 s on each of 5 cases, and the start
    assert any("'endless' ran out of its 11 s" in line for line in said)
