from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FILES = Path(__file__).resolve().parent / "files"


@pytest.fixture(scope="session")
def reference():
    """The instructor notebook's solution functions."""
    from autograder.reference import load_reference

    return load_reference()


@pytest.fixture(scope="session")
def dino_data():
    from autograder.reference import dinosaur_data

    return dinosaur_data()
