"""What a student's process sends is parsed, never executed."""

import numpy as np
import pytest

from autograder.sandbox.inside import wire


def test_does_a_nested_value_survive_the_round_trip():
    value = {"a": [1, 2.5, None, True, "x"], 3: (np.arange(6.0).reshape(2, 3), np.int64(7)), "b": np.array([True])}
    back = wire.loads(wire.dumps(value))
    assert back["a"] == [1, 2.5, None, True, "x"] and back[3][1] == 7
    assert np.array_equal(back[3][0], value[3][0]) and back[3][0].dtype == np.float64
    assert float(wire.loads(wire.dumps(0.1))).hex() == (0.1).hex()


def test_is_an_unsendable_value_named_not_sent():
    assert repr(wire.loads(wire.dumps(lambda: 1))) == "<function>"
    assert "complex128" in repr(wire.loads(wire.dumps(np.zeros(2, dtype=complex))))


@pytest.mark.parametrize(
    "text",
    [
        '{"__pickle__": "gASV"}',
        '{"__array__": ["float64", [3], "AAAA"]}',
        '{"__array__": ["object", [1], "AAAAAAAAAAA="]}',
        "[1, 2]",
        "not json",
    ],
)
def test_is_a_forged_message_refused(text):
    with pytest.raises(wire.WireError):
        wire.loads(text)


def test_are_keys_that_all_collide_in_hash_refused_quickly():
    """200,000 integer keys congruent modulo 2**61 - 1 (CPython's integer hash) would take hours
    to insert; the decoder refuses the dict from its length before inserting any."""
    import time

    keys = ",".join(f'[{{"__int__":"{k * (2**61 - 1)}"}},null]' for k in range(200_000))
    start = time.perf_counter()
    with pytest.raises(wire.WireError, match="too large"):
        wire.loads('{"__dict__":[' + keys + "]}")
    assert time.perf_counter() - start < 10


def test_is_a_huge_integer_named_not_converted():
    value = wire.loads('{"__int__":"' + "9" * 5000 + '"}')
    assert isinstance(value, wire.Unsupported) and "5000 digits" in value.description


def test_is_a_message_with_too_many_values_refused():
    with pytest.raises(wire.WireError):
        wire.loads('{"__list__":[' + ",".join(["null"] * (wire.MAX_VALUES + 1)) + "]}")
