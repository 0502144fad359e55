"""Every generated file is what its generator writes today (`make regenerate` rebuilds them all,
in this order; .gitattributes marks them generated).  The Sonnets weights (`make weights`, a few
minutes of training, deterministic) are the one generated file not rebuilt here."""

import filecmp

import pytest

from autograder.paths import EXAMPLES_DIR, REFERENCES_DIR, RELEASE_DIR


@pytest.mark.slow
def test_are_the_references_what_the_solution_computes_today(tmp_path):
    from autograder.authoring import references
    from autograder.checks import SPECS

    references.generate(tmp_path, report=lambda *_: None)
    for name in SPECS:
        assert (tmp_path / f"{name}.json").read_text() == (REFERENCES_DIR / f"{name}.json").read_text(), (
            f"autograder/references/{name}.json is stale: run `make regenerate` and commit it"
        )


def differences(comparison, prefix=""):
    found = [prefix + name for name in comparison.left_only + comparison.right_only + comparison.diff_files]
    found += [prefix + name for name in comparison.funny_files]
    for name, sub in comparison.subdirs.items():
        found += differences(sub, prefix + name + "/")
    return found


def test_is_the_release_what_nbgrader_builds_from_source_today():
    from autograder.authoring.releasing import build_in_temporary_folder

    fresh = build_in_temporary_folder()
    comparison = filecmp.dircmp(fresh, RELEASE_DIR, ignore=["__pycache__"])
    assert differences(comparison) == [], "release/ is stale: run `make regenerate` and commit it"
    for path in fresh.rglob("*"):
        if path.is_file():
            assert path.read_bytes() == (RELEASE_DIR / path.relative_to(fresh)).read_bytes(), path


def test_are_the_examples_what_the_builder_writes_today():
    from autograder.authoring import examples

    for filename, text in examples.build().items():
        assert (EXAMPLES_DIR / filename).read_text() == text, f"examples/{filename} is stale: run `make regenerate`"
