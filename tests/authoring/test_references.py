"""The stored references: made from the instructor notebook, and reproducible."""

import json
import shutil

import pytest

from autograder.checks import SPECS
from autograder.grade import expected
from autograder.paths import REFERENCES_DIR


def test_do_the_references_match_the_canonical_run():
    """The stored full run ends as the published canonical output does."""
    full = expected.load_expected().cases["model"]["full"]
    assert full.result[1] == "Trodonosaurus\n"
    assert "Iteration: 22000, Loss: 22.798145" in full.stdout


def copy_of_the_references(folder):
    shutil.copytree(REFERENCES_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def test_a_copy_of_the_references_loads(tmp_path):
    assert expected.load_expected(copy_of_the_references(tmp_path / "refs")).cases.keys() == SPECS.keys()


def test_are_stale_references_refused(tmp_path):
    folder = copy_of_the_references(tmp_path / "refs")
    document = json.loads((folder / "clip.json").read_text())
    document["fingerprint"] = "0" * 64  # as if the cases or the solution had changed
    (folder / "clip.json").write_text(json.dumps(document))
    with pytest.raises(expected.StaleReferences, match=r"^clip.json was made for other cases or another solution"):
        expected.load_expected(folder)


def test_are_stale_mistake_signatures_refused(tmp_path):
    folder = copy_of_the_references(tmp_path / "refs")
    document = json.loads((folder / expected.FAULTS_FILE).read_text())
    document["sample"]["fingerprint"] = "0" * 64  # as if a catalogued mistake of sample had changed
    (folder / expected.FAULTS_FILE).write_text(json.dumps(document))
    with pytest.raises(expected.StaleReferences, match="made for other cases, solution or mistakes of sample"):
        expected.load_expected(folder)


def test_does_every_function_spec_add_up_to_the_points_of_its_test_cell():
    assert {name: spec.points for name, spec in SPECS.items()} == {
        "clip": 20,
        "sample": 30,
        "optimize": 20,
        "model": 30,
    }


def test_does_every_stored_observation_survive_being_read_and_stored_again():
    """The references are kept in Observation.stored()'s plain form; reading them back as typed
    Observations loses nothing (each field, arrays included, gives the same bytes again)."""
    from autograder.sandbox.inside import wire
    from autograder.sandbox.messages import Observation

    for name in SPECS:
        stored = json.loads((REFERENCES_DIR / f"{name}.json").read_text())["cases"]
        for case_id, plain in stored.items():
            observation = Observation.from_stored(wire.decode(plain))
            assert observation.case == case_id and observation.ok
            assert wire.encode(observation.stored()) == plain
