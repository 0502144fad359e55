"""The stored references: made from the instructor notebook, and reproducible."""

import json

import pytest

from autograder.checks import SPECS
from autograder.grade import expected
from autograder.paths import REFERENCES_DIR


def test_do_the_references_match_the_canonical_run():
    """The stored full run ends as the published canonical output does."""
    full = expected.load_expected().cases["model"]["full"]
    assert full.result[1] == "Trodonosaurus\n"
    assert "Iteration: 22000, Loss: 22.798145" in full.stdout


def test_are_stale_references_refused(tmp_path):
    for name in SPECS:
        document = json.loads((REFERENCES_DIR / f"{name}.json").read_text())
        if name == "clip":
            document["fingerprint"] = "0" * 64  # as if the cases or the solution had changed
        (tmp_path / f"{name}.json").write_text(json.dumps(document))
    with pytest.raises(expected.StaleReferences, match="autograder references"):
        expected.load_expected(tmp_path)


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
