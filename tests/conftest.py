from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FILES = Path(__file__).resolve().parent / "files"


@pytest.fixture(scope="session")
def reference():
    """The instructor notebook's solution functions."""
    from autograder.solution import load_solution

    return load_solution()


@pytest.fixture(scope="session")
def dino_data():
    from autograder.solution import dinosaur_data

    return dinosaur_data()
