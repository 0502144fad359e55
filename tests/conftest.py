from pathlib import Path

import pytest

FILES = Path(__file__).resolve().parent / "files"


@pytest.fixture(scope="session")
def solution():
    """The instructor notebook's solution functions."""
    from autograder.solution import load_solution

    return load_solution()


@pytest.fixture(scope="session")
def dino_data():
    from autograder.solution import dinosaur_data

    return dinosaur_data()


@pytest.fixture(scope="session")
def canonical_output():
    """The published output of the 22,001-iteration training run (the seeds' reference file)."""
    return (FILES / "model_22001_canonical_output.txt").read_text()
