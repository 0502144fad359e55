"""The one protocol between the grader's processes and a student's: framing, codec, bounds, errors.

Everything that crosses the trust boundary goes through this file, in both of its channels:

- the **result channel** (supervisor -> grader) and the task (grader -> supervisor): frames
  whose values are encoded here with arrays inline (base64);
- the **call channel** (student's process <-> supervisor, ``refcall.py``): frames whose values
  are encoded here with arrays in a shared memory arena, which ``refcall.Arena`` stores.

A frame is a 4-byte big-endian length, then that many bytes.  A value is JSON with tagged
objects for what JSON lacks (tuples, dicts with any keys, integers of any size, exact floats,
arrays, values that cannot be sent).  Nothing a student's process sends is ever unpickled or
evaluated, and decoding is bounded in every dimension an attacker controls: the frame's size,
the depth, the number of values, the entries of dicts (in all, not per dict, and few whose
keys are not strings: an integer's hash is not randomised, so integer keys can be made to
collide), the digits of an integer, the elements of an array.  Every cost is linear in the
frame's size.

This file is copied into each sandbox with the rest of ``inside/``, so it imports only the standard
library and numpy.
"""

from __future__ import annotations

import base64
import json
import math
import os
import socket
import struct
import time
from dataclasses import dataclass

import numpy as np

HEADER = struct.Struct(">I")
MAX_TASK_FRAME = 256 * 1024**2  # the largest frame of a task: the student's cell, the references, a case
ALLOWED_DTYPES = {"float64": "<f8", "int64": "<i8", "bool": "|b1"}
KIND_OF = {"f": "float64", "i": "int64", "u": "int64", "b": "bool"}


@dataclass(frozen=True)
class Bounds:
    """How much one decoded message may hold."""

    values: int = 1_000_000  # values of any kind
    depth: int = 20
    dict_entries: int = 4096  # entries of all the message's dicts together
    other_keys: int = 256  # entries whose key is not a string (their hash is predictable)
    digits: int = 40  # an integer longer than this is not an answer: it arrives as Unsupported
    elements: int = 2_000_000  # elements of one array


RESULTS = Bounds()  # an answer of the student's process, read by the grader
MAX_VALUES, MAX_DEPTH, MAX_DICT, MAX_DIGITS, MAX_ELEMENTS = (
    RESULTS.values, RESULTS.depth, RESULTS.dict_entries, RESULTS.digits, RESULTS.elements,
)  # fmt: skip


class WireError(ValueError):
    """A value that cannot be sent, or a message that is not what the other side should send."""


ProtocolError = WireError  # one error for every way a message can be wrong


# ----------------------------------------------------------------------------
# Frames
# ----------------------------------------------------------------------------


def frame(data: bytes) -> bytes:
    return HEADER.pack(len(data)) + data


def send_frame(sock: socket.socket, data: bytes) -> None:
    sock.sendall(frame(data))


class Spinner:
    """When to wait awake for the other side of a call loop.  Spinning pays on an idle machine,
    where the other side answers within the window; on a busy one the other side waits for a CPU
    and spinning only burns CPU time, more the busier the machine.  So after a spin that ran
    out, this side sleeps in recv for the next waits, twice as many after each further miss,
    and spins again once an answer came in time."""

    def __init__(self):
        self.skip, self.backoff = 0, 0

    def window(self, spin: float) -> float:
        if not spin or self.skip:
            self.skip = max(self.skip - 1, 0)
            return 0.0
        return spin

    def missed(self) -> None:
        self.backoff = min(max(2 * self.backoff, 1), 1024)
        self.skip = self.backoff

    def caught(self) -> None:
        self.backoff = 0


SPINNER = Spinner()  # one per process: each side of a channel is one process


def _read_exactly(sock, size, spin):
    """``size`` bytes; for the first ``spin`` seconds by polling, then by sleeping in recv."""
    chunks, left, deadline = [], size, time.perf_counter() + spin
    while left:
        polling = spin and time.perf_counter() < deadline
        try:
            chunk = sock.recv(min(left, 1 << 20), socket.MSG_DONTWAIT if polling else 0)
        except BlockingIOError:
            if time.perf_counter() >= deadline:
                SPINNER.missed()
            else:
                os.sched_yield()  # a process waiting on this CPU (the other side, on a busy machine) goes first
            continue
        if not chunk:
            raise EOFError("the other side closed the channel")
        if polling:
            SPINNER.caught()
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv_frame(sock: socket.socket, limit: int, spin: float = 0.0) -> bytes:
    """The next frame of a socket, refused past ``limit`` bytes before any of it is read.
    ``spin``: seconds to wait awake first, as the Spinner allows (waking a sleeping process
    costs ~50 us on a virtual machine; a call of optimize ~100 us)."""
    spin = SPINNER.window(spin)
    (size,) = HEADER.unpack(_read_exactly(sock, HEADER.size, spin))
    if size > limit:
        raise WireError(f"a message of {size} bytes (at most {limit})")
    return _read_exactly(sock, size, spin)


def read_frame_from(fd: int, limit: int) -> bytes | None:
    """The next frame of a pipe or file descriptor, read without reading ahead (the frames after
    it stay in the pipe until they are wanted); None at the end of the stream."""

    def exactly(size, may_end=False):
        data = bytearray()
        while len(data) < size:
            chunk = os.read(fd, min(size - len(data), 1 << 20))
            if not chunk:
                if not data and may_end:  # between two frames: the stream's end
                    return None
                raise WireError("the stream ended inside a frame")
            data += chunk
        return bytes(data)

    header = exactly(HEADER.size, may_end=True)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    if size > limit:
        raise WireError(f"a message of {size} bytes (at most {limit})")
    return exactly(size)


# ----------------------------------------------------------------------------
# Values
# ----------------------------------------------------------------------------


class Inline:
    """Arrays written into the message itself, as base64 of their bytes."""

    def put(self, array: np.ndarray) -> list | None:
        kind = KIND_OF.get(array.dtype.kind)
        if kind is None or array.size > MAX_ELEMENTS:
            return None
        data = np.ascontiguousarray(array, dtype=ALLOWED_DTYPES[kind]).tobytes()
        return [kind, list(array.shape), base64.b64encode(data).decode("ascii")]

    def get(self, body: list, bounds: Bounds) -> np.ndarray:
        if not isinstance(body, list) or len(body) != 3:
            raise WireError("bad array header")
        kind, shape, data = body
        shape = checked_shape(kind, shape)
        if not isinstance(data, str):
            raise WireError("bad array data")
        array = np.frombuffer(base64.b64decode(data, validate=True), dtype=ALLOWED_DTYPES[kind])
        if array.size != math.prod(shape) or array.size > bounds.elements:
            raise WireError("array size does not match its shape")
        return array.reshape(shape).copy()


INLINE = Inline()


def checked_shape(kind: str, shape: object) -> tuple[int, ...]:
    """``shape`` as a tuple, after checking it could be one (the kind known, at most 8 dimensions)."""
    if kind not in ALLOWED_DTYPES or not isinstance(shape, list) or len(shape) > 8:
        raise WireError("bad array header")
    if not all(type(n) is int and 0 <= n < 2**31 for n in shape):
        raise WireError("bad array shape")
    return tuple(shape)


def encode(value: object, arrays: Inline = INLINE, depth: int = 0) -> object:
    """A JSON-ready form of ``value``: containers, scalars, strings, arrays; anything else by type name."""
    if depth > MAX_DEPTH:
        return {"__unsupported__": "nesting too deep"}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return {"__int__": str(int(value))}
    if isinstance(value, (float, np.floating)):
        return {"__float__": float(value).hex()}
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, ArgumentReference):
        return {"__arg__": value.key}
    if isinstance(value, np.ndarray):
        body = arrays.put(value)
        if body is None:
            return {"__unsupported__": f"array of {value.dtype} with {value.size} elements"}
        return {"__array__": body}
    if isinstance(value, dict):
        return {"__dict__": [[encode(k, arrays, depth + 1), encode(v, arrays, depth + 1)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        tag = "__list__" if isinstance(value, list) else "__tuple__"
        return {tag: [encode(v, arrays, depth + 1) for v in value]}
    return {"__unsupported__": type(value).__name__}


class Decoder:
    """The inverse of ``encode`` for one message, refusing anything ``encode`` would not have
    produced and counting what the message holds against ``bounds``."""

    def __init__(self, arrays=INLINE, bounds=RESULTS, arguments=False):
        self.arrays, self.bounds, self.arguments = arrays, bounds, arguments  # arguments: "__arg__" allowed
        self.values = self.entries = self.other_keys = 0

    def __call__(self, value, depth=0):
        self.values += 1
        if depth > self.bounds.depth or self.values > self.bounds.values:
            raise WireError("nesting too deep or too many values")
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, list) or not isinstance(value, dict) or len(value) != 1:
            raise WireError("unexpected value")
        [(tag, body)] = value.items()
        if tag == "__int__":
            if not isinstance(body, str) or len(body) > self.bounds.digits:
                return Unsupported(f"integer of {len(body) if isinstance(body, str) else '?'} digits")
            return int(body)
        if tag == "__float__":
            if not isinstance(body, str) or len(body) > 40:
                raise WireError("bad float")
            return float.fromhex(body)
        if tag in ("__list__", "__tuple__"):
            if not isinstance(body, list):
                raise WireError("unexpected value")
            items = [self(v, depth + 1) for v in body]
            return items if tag == "__list__" else tuple(items)
        if tag == "__dict__":
            return self._dict(body, depth)
        if tag == "__array__":
            return self.arrays.get(body, self.bounds)
        if tag == "__unsupported__":
            return Unsupported(str(body)[:200])
        if tag == "__arg__" and self.arguments and type(body) in (int, str):
            return ArgumentReference(body)
        raise WireError(f"unknown tag {tag!r}")

    def _dict(self, body, depth):
        if not isinstance(body, list):
            raise WireError("unexpected value")
        self.entries += len(body)
        if self.entries > self.bounds.dict_entries:
            raise WireError("dictionary too large (too many entries in the message)")
        result = {}
        for pair in body:
            if not isinstance(pair, list) or len(pair) != 2:
                raise WireError("bad dictionary entry")
            key = self(pair[0], depth + 1)
            if not isinstance(key, str):
                self.other_keys += 1
                if self.other_keys > self.bounds.other_keys:
                    raise WireError("dictionary too large (too many keys that are not strings)")
                if isinstance(key, (list, dict, np.ndarray, Unsupported)):
                    raise WireError("unhashable dictionary key")
            result[key] = self(pair[1], depth + 1)
        return result


def decode(value: object, arrays: Inline = INLINE, bounds: Bounds = RESULTS) -> object:
    return Decoder(arrays, bounds)(value)


class Unsupported:
    """Stands for a value of a type that cannot be sent (a function, a generator …)."""

    def __init__(self, description):
        self.description = description

    def __repr__(self):
        return f"<{self.description}>"

    def __eq__(self, other):
        return isinstance(other, Unsupported) and other.description == self.description

    def __hash__(self):
        return hash(self.description)


class ArgumentReference:
    """In a reply of the supervisor: "the reference returned the caller's own argument ``key``"."""

    def __init__(self, key):
        self.key = key


def dumps(value: object, arrays: Inline = INLINE) -> str:
    return json.dumps(encode(value, arrays), separators=(",", ":"))


def loads(text: str, arrays: Inline = INLINE, bounds: Bounds = RESULTS, arguments: bool = False) -> object:
    """The value a message holds; WireError for anything but what ``dumps`` makes, within ``bounds``."""
    try:
        return Decoder(arrays, bounds, arguments)(json.loads(text, parse_constant=_no_constants))
    except (json.JSONDecodeError, ValueError, TypeError, KeyError, RecursionError, OverflowError) as error:
        raise WireError(str(error)[:200]) from None


def _no_constants(name):
    raise WireError(f"{name} is not a value encode writes")
