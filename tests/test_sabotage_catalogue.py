"""The sabotage catalogue (``tests/sabotage.py``, run by ``make sabotage``) stays in step with the
code: each edit's text is found exactly once in its file, and each test it names exists."""

import re

import pytest

from tests.sabotage import CATALOGUE, ROOT


@pytest.mark.parametrize("entry", CATALOGUE, ids=[entry.promise for entry in CATALOGUE])
def test_each_sabotage_applies_and_names_tests_that_exist(entry):
    text = (ROOT / entry.path).read_text()
    assert entry.apply(text) != text
    for test in entry.tests:
        path, _, name = test.partition("::")
        assert (ROOT / path).is_file(), f"{entry.promise}: no test file {path}"
        if name:
            assert re.search(rf"^def {re.escape(name.split('[')[0])}\(", (ROOT / path).read_text(), re.M), test


def test_each_promise_is_sabotaged_once():
    promises = [entry.promise for entry in CATALOGUE]
    assert len(promises) == len(set(promises))
