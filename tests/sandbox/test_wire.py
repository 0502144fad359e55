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


def test_are_keys_that_all_collide_in_hash_refused_before_any_is_inserted():
    """200,000 integer keys congruent modulo 2**61 - 1 (CPython's integer hash) would take hours
    to insert; the decoder refuses the dict from its length, before inserting any, and a few
    hundred such keys in several small dicts from their count in the whole message."""
    keys = ",".join(f'[{{"__int__":"{k * (2**61 - 1)}"}},null]' for k in range(200_000))
    with pytest.raises(wire.WireError, match="too many entries in the message"):
        wire.loads('{"__dict__":[' + keys + "]}")
    small = ",".join('{"__dict__":[' + f'[{{"__int__":"{k * (2**61 - 1)}"}},null]' + "]}" for k in range(300))
    with pytest.raises(wire.WireError, match="too many keys that are not strings"):
        wire.loads('{"__list__":[' + small + "]}")
    text_keys = ",".join(f'["k{k}",null]' for k in range(300))  # strings: randomised hashes, allowed
    assert len(wire.loads('{"__dict__":[' + text_keys + "]}")) == 300


def test_is_a_huge_integer_named_not_converted():
    value = wire.loads('{"__int__":"' + "9" * 5000 + '"}')
    assert isinstance(value, wire.Unsupported) and "5000 digits" in value.description


def test_is_a_message_with_too_many_values_refused():
    with pytest.raises(wire.WireError):
        wire.loads('{"__list__":[' + ",".join(["null"] * (wire.MAX_VALUES + 1)) + "]}")


# ---------------------------------------------------------------------------- each bound alone

SMALL = wire.Bounds(values=10, depth=3, dict_entries=4, other_keys=2, digits=5, elements=6)
ZEROS = '{"__array__":["float64",[%s],"' + "AAAAAAAAAAA=" + '"]}'  # one float64 of zeros, base64


def nested(depth):
    return '{"__list__":[' * depth + "null" + "]}" * depth


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (nested(3), None),  # exactly at the depth bound
        (nested(4), "nesting too deep or too many values"),
        ('{"__list__":[' + ",".join(["null"] * 9) + "]}", None),  # 10 values with the list itself
        ('{"__list__":[' + ",".join(["null"] * 10) + "]}", "nesting too deep or too many values"),
        ('{"__dict__":[["a",null],["b",null],["c",null],["d",null]]}', None),
        (
            '{"__dict__":[["a",null],["b",null],["c",null],["d",null],["e",null]]}',
            "dictionary too large (too many entries in the message)",
        ),
        ('{"__dict__":[[{"__int__":"1"},null],[{"__int__":"2"},null]]}', None),
        (
            '{"__dict__":[[{"__int__":"1"},null],[{"__int__":"2"},null],[{"__int__":"3"},null]]}',
            "dictionary too large (too many keys that are not strings)",
        ),
        ('{"__dict__":[[{"__list__":[]},null]]}', "unhashable dictionary key"),
        ('{"__dict__":[["a"]]}', "bad dictionary entry"),
        ('{"__dict__":{"a":1}}', "unexpected value"),
        ('{"__list__":{"a":1}}', "unexpected value"),
        ('{"__float__":1.5}', "bad float"),
        ('{"__float__":"' + "1" * 41 + '"}', "bad float"),
        ('{"__array__":["float64",[1]]}', "bad array header"),
        ('{"__array__":["float32",[1],""]}', "bad array header"),
        ('{"__array__":["float64",[1,1,1,1,1,1,1,1,1],""]}', "bad array header"),
        ('{"__array__":["float64",[-1],""]}', "bad array shape"),
        ('{"__array__":["float64",[1.0],""]}', "bad array shape"),
        ('{"__array__":["float64",[1],5]}', "bad array data"),
        (ZEROS % "2", "array size does not match its shape"),
        ("NaN", "NaN is not a value encode writes"),
        ('{"__arg__":0}', "unknown tag '__arg__'"),  # only a reply of the supervisor may name an argument
        ('{"a":1,"b":2}', "unexpected value"),
        ("3", "unexpected value"),
    ],
)
def test_is_each_bound_and_each_malformed_tag_refused_with_its_own_message(text, message):
    if message is None:
        wire.loads(text, bounds=SMALL)
    else:
        with pytest.raises(wire.WireError) as refused:
            wire.loads(text, bounds=SMALL)
        assert str(refused.value) == message


def test_are_arrays_past_the_element_bound_refused_and_those_within_it_kept():
    six, seven = np.arange(6.0), np.arange(7.0)
    assert np.array_equal(wire.loads(wire.dumps(six), bounds=SMALL), six)
    with pytest.raises(wire.WireError, match="array size does not match its shape"):
        wire.loads(wire.dumps(seven), bounds=SMALL)


def test_is_an_integer_past_the_digit_bound_unsupported_and_one_within_it_an_integer():
    assert wire.loads('{"__int__":"12345"}', bounds=SMALL) == 12345
    assert wire.loads('{"__int__":"123456"}', bounds=SMALL) == wire.Unsupported("integer of 6 digits")
    assert wire.loads('{"__int__":5}', bounds=SMALL) == wire.Unsupported("integer of ? digits")


def test_does_encode_keep_types_and_name_what_it_cannot_send():
    assert wire.encode(np.int64(3)) == {"__int__": "3"} and wire.encode(True) is True
    assert wire.encode(np.bool_(False)) is False
    assert wire.encode(np.float32(0.5)) == {"__float__": "0x1.0000000000000p-1"}
    assert wire.encode((1,)) == {"__tuple__": [{"__int__": "1"}]} and wire.encode([None]) == {"__list__": [None]}
    assert wire.encode(np.zeros(2, dtype=np.uint8))["__array__"][0] == "int64"
    assert wire.encode(np.zeros(2, dtype=bool))["__array__"][:2] == ["bool", [2]]
    deep = [[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]
    assert "nesting too deep" in json_text(wire.encode(deep))
    assert wire.encode(object()) == {"__unsupported__": "object"}
    assert wire.loads(wire.dumps(wire.ArgumentReference(2)), arguments=True).key == 2


def json_text(value):
    import json

    return json.dumps(value)


# ---------------------------------------------------------------------------- frames


def test_is_a_frame_read_whole_or_refused_from_its_length_before_its_body():
    import os

    read, write = os.pipe()
    os.write(write, wire.frame(b"hello") + wire.frame(b"x" * 100) + wire.frame(b"ok"))
    os.close(write)
    assert wire.read_frame_from(read, 10) == b"hello"
    with pytest.raises(wire.WireError, match=r"^a message of 100 bytes \(at most 10\)$"):
        wire.read_frame_from(read, 10)
    os.close(read)
    read, write = os.pipe()
    os.write(write, wire.frame(b"abc")[:5])  # a frame cut short
    os.close(write)
    with pytest.raises(wire.WireError, match="the stream ended inside a frame"):
        wire.read_frame_from(read, 10)
    os.close(read)
    read, write = os.pipe()
    os.close(write)
    assert wire.read_frame_from(read, 10) is None  # the end, between frames
    os.close(read)


def test_are_socket_frames_bounded_and_an_early_close_an_end_of_file():
    import socket

    mine, theirs = socket.socketpair()
    wire.send_frame(theirs, b"12345")
    wire.send_frame(theirs, b"123456")
    assert wire.recv_frame(mine, 5) == b"12345"
    with pytest.raises(wire.WireError, match=r"^a message of 6 bytes \(at most 5\)$"):
        wire.recv_frame(mine, 5)
    theirs.close()
    mine.recv(64)
    with pytest.raises(EOFError):
        wire.recv_frame(mine, 5, spin=0.001)
    mine.close()


def test_does_the_spinner_back_off_after_each_miss_and_spin_again_after_a_catch():
    spinner = wire.Spinner()
    assert spinner.window(0.5) == 0.5 and spinner.window(0.0) == 0.0
    spinner.missed()
    assert [spinner.window(0.5) for _ in range(2)] == [0.0, 0.5]  # one wait asleep, then awake again
    spinner.missed()
    spinner.missed()
    assert spinner.backoff == 4 and [spinner.window(0.5) for _ in range(5)] == [0.0] * 4 + [0.5]
    spinner.caught()
    spinner.missed()
    assert spinner.backoff == 1
    for _ in range(20):
        spinner.missed()
    assert spinner.backoff == 1024  # at most this many waits asleep in a row


@pytest.mark.parametrize("spin", [0.0, 5.0])
def test_is_a_frame_larger_than_one_read_put_together_whole(spin):
    """Over 1 MiB arrives in several reads, polled or slept for: the frame comes back whole, in order."""
    import socket
    import threading

    mine, theirs = socket.socketpair()
    data = bytes(range(256)) * (3 * 4096 + 7)  # ~3 MiB, not a multiple of the read size
    sender = threading.Thread(target=wire.send_frame, args=(theirs, data))
    sender.start()
    assert wire.recv_frame(mine, len(data), spin=spin) == data
    sender.join()
    theirs.close()
    with pytest.raises(EOFError, match="^the other side closed the channel$"):
        wire.recv_frame(mine, 10)
    mine.close()


def test_is_a_frame_of_exactly_the_limit_accepted_and_one_byte_more_refused():
    import os

    read, write = os.pipe()
    os.write(write, wire.frame(b"x" * 10) + wire.frame(b"y" * 11))
    os.close(write)
    assert wire.read_frame_from(read, 10) == b"x" * 10
    with pytest.raises(wire.WireError, match=r"^a message of 11 bytes \(at most 10\)$"):
        wire.read_frame_from(read, 10)
    os.close(read)
    assert wire.frame(b"abc") == b"\x00\x00\x00\x03abc"  # a 4-byte big-endian length, then the bytes


def pipe_with(*pieces, pause=0.05):
    """A pipe's read end, written in ``pieces`` with a pause between them (reads come back partial)."""
    import os
    import threading
    import time

    read, write = os.pipe()

    def writer():
        for piece in pieces:
            os.write(write, piece)
            time.sleep(pause)
        os.close(write)

    threading.Thread(target=writer, daemon=True).start()
    return read


def test_a_frame_that_arrives_in_pieces_is_put_together_without_reading_into_the_next():
    import os

    whole = wire.frame(b"abcdefgh")
    read = pipe_with(whole[:6], whole[6:] + wire.frame(b"next"))
    assert wire.read_frame_from(read, 100) == b"abcdefgh"
    assert wire.read_frame_from(read, 100) == b"next"
    assert wire.read_frame_from(read, 100) is None
    os.close(read)


def test_a_stream_that_ends_inside_a_four_byte_frame_is_an_error_not_the_end():
    import os

    read = pipe_with(wire.HEADER.pack(4))  # a frame of 4 bytes announced, none sent
    with pytest.raises(wire.WireError, match="^the stream ended inside a frame$"):
        wire.read_frame_from(read, 100)
    os.close(read)


@pytest.mark.parametrize(
    ("shape", "ok"),
    [([0], True), ([2**31 - 1], True), ([2**31], False), ([-1], False), ([1] * 8, True), ([1] * 9, False),
     ([True], False), ([1.0], False)],
)  # fmt: skip
def test_an_array_s_shape_is_checked_at_its_bounds(shape, ok):
    if ok:
        assert wire.checked_shape("float64", shape) == tuple(shape)
    else:
        with pytest.raises(wire.WireError, match="^bad array (shape|header)$"):
            wire.checked_shape("float64", shape)


def nested(depth, make):
    value = 1
    for _ in range(depth):
        value = make(value)
    return value


@pytest.mark.parametrize("make", [lambda v: [v], lambda v: (v,), lambda v: {"k": v}], ids=["list", "tuple", "dict"])
def test_values_nested_to_the_bound_pass_and_one_level_more_is_named(make):
    fits = nested(wire.MAX_DEPTH, make)
    assert "nesting too deep" not in wire.dumps(fits)
    assert wire.loads(wire.dumps(fits)) == fits
    assert '{"__unsupported__":"nesting too deep"}' in wire.dumps(nested(wire.MAX_DEPTH + 1, make))


def test_a_dictionary_key_is_one_level_below_its_dictionary():
    key = nested(wire.MAX_DEPTH - 1, lambda v: (v,))  # a tuple key as deep as a value may go
    assert wire.loads(wire.dumps({key: 0})) == {key: 0}
    assert "nesting too deep" in wire.dumps({(key,): 0})


def test_dictionary_entries_are_counted_over_the_whole_message():
    half = wire.MAX_DICT // 2 + 1
    message = [{str(i): i for i in range(half)}, {str(i): i for i in range(half)}]  # each small, together too many
    with pytest.raises(wire.WireError, match="too many entries in the message"):
        wire.loads(wire.dumps(message))
    assert len(wire.loads(wire.dumps(message[:1]))[0]) == half
