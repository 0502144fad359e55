"""Calls from the student's process to reference functions that live in another process.

When ``model`` is graded it calls the reference ``optimize`` and ``sample``; if their code
were in the student's process, the student could read it.  So the supervisor (``supervisor.py``,
which never runs student code) holds them, and the student's process gets ``Remote``
stand-ins that send each call over a socket.  Arrays travel through a shared memory arena
both processes map (a call of optimize moves ~80 KB of parameters and gradients); the frame
on the socket, in the one format of ``wire.py``, names where they are.

The semantics of a local call are kept: arrays and dicts passed in are updated in place as
the reference updated its copies (optimize's parameters), a returned argument is the caller's
own object, and functions that draw random numbers see and leave numpy's global random state
as a local call would.

The supervisor trusts nothing of a call: **copy, then check, then compute**.  Every array is
copied out of the arena (which the student's process can still write) into the supervisor's
own memory before anything looks at it; then the whole call is checked against the case's
``CallBounds`` (the calls a correct solution makes on that case: the case's shapes, indices
of its vocabulary, names no longer than its data's, a bounded number of calls); only then
does the reference run, on the copies.  A call outside the bounds is refused with a message,
which the student's code sees as an exception; it costs only the graded function.

Imports only the standard library, numpy and wire.py.
"""

from __future__ import annotations

import math
import mmap
import socket
from collections.abc import Callable

import numpy as np

from . import wire

ARENA_BYTES = 16 * 1024**2
CALL_BYTES = 1024**2  # the largest frame of a call or of its reply
SPIN_SECONDS = 0.0005  # how long the supervisor waits awake for the next call of a call loop
# A call's arguments: two names of indices, a few arrays, char_to_ix.  Few dict entries: the
# sandbox's string hashes are not randomised (PYTHONHASHSEED=0, for the student's sake).
CALLS = wire.Bounds(values=20_000, depth=6, dict_entries=256, other_keys=64, digits=20, elements=ARENA_BYTES // 8)
DTYPES = {kind: np.dtype(code) for kind, code in wire.ALLOWED_DTYPES.items()}
RANDOM_STATE_WORDS = 624  # MT19937's key


class Arena:
    """Arrays of a message in the shared buffer: a bump allocator, emptied before each message."""

    def __init__(self, buffer):
        self.buffer, self.top = buffer, 0

    def put(self, array: np.ndarray) -> list | None:
        kind = wire.KIND_OF.get(array.dtype.kind)
        if kind is None:
            return None
        dtype = DTYPES[kind]
        offset = (self.top + 7) // 8 * 8
        if offset + array.size * dtype.itemsize > len(self.buffer):
            raise wire.WireError("the arguments do not fit the shared arena")
        view = np.ndarray(array.shape, dtype, buffer=self.buffer, offset=offset)
        np.copyto(view, array, casting="unsafe")
        self.top = offset + view.nbytes
        return [kind, list(array.shape), offset]

    def get(self, body: list, bounds: wire.Bounds) -> np.ndarray:
        """A copy, in this process's own memory, of the array ``body`` names, after checking that
        it lies inside the arena.  The copy is what is checked and used: the other side may
        still be writing the arena."""
        if not isinstance(body, list) or len(body) != 3:
            raise wire.WireError("bad array header")
        kind, shape, offset = body
        shape = wire.checked_shape(kind, shape)
        size = math.prod(shape)
        if type(offset) is not int or offset < 0 or offset % 8 or size > bounds.elements:
            raise wire.WireError("bad array header")
        if offset + size * DTYPES[kind].itemsize > len(self.buffer):
            raise wire.WireError("array outside the arena")
        return np.ndarray(shape, DTYPES[kind], buffer=self.buffer, offset=offset).copy()


def new_arena() -> mmap.mmap:
    return mmap.mmap(-1, ARENA_BYTES)


def channel_pair() -> tuple[socket.socket, socket.socket]:
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)


def send(channel: socket.socket, arena: Arena, message: dict) -> None:
    """Encode ``message`` (a dict of plain keys and values), its arrays into the arena."""
    arena.top = 0
    wire.send_frame(channel, wire.dumps(message, arena).encode())


def receive(channel: socket.socket, arena: Arena, spin: float = 0.0, arguments: bool = False) -> dict:
    """The next message of the channel, every array copied out of the arena, within CALLS."""
    return decode(wire.recv_frame(channel, CALL_BYTES, spin), arena, arguments)


def decode(data: bytes, arena: Arena, arguments: bool = False) -> dict:
    message = wire.loads(data.decode("utf-8", "replace"), arena, CALLS, arguments)
    if not isinstance(message, dict) or not all(isinstance(key, str) for key in message):
        raise wire.WireError("a message must be a dict of named parts")
    return message


# ----------------------------------------------------------------------------
# The student's side: stand-ins for the reference functions
# ----------------------------------------------------------------------------


# The exceptions a call of a reference function raises in the student's process as themselves
# (its message as the function gave it); any other kind arrives as a RuntimeError.
RAISED_AS = {kind.__name__: kind for kind in (TypeError, ValueError, KeyError, IndexError, AttributeError)}


class Remote:
    """Callable in the student's process; runs the reference ``name`` in the supervisor."""

    def __init__(self, name, channel, arena, draws_random):
        self.__name__ = self.__qualname__ = name
        self.channel, self.arena, self.draws_random = channel, arena, draws_random

    def __repr__(self):
        return f"<reference function {self.__name__}>"

    def __call__(self, *args, **kwargs):
        request = {"op": "call", "function": self.__name__, "args": list(args), "kwargs": kwargs}
        if self.draws_random:
            request["random"] = np.random.get_state()
        send(self.channel, self.arena, request)
        reply = receive(self.channel, self.arena, arguments=True)  # asleep: waiting is not charged
        if "error" in reply:  # raised as the function itself would have, for the student to read
            raise RAISED_AS.get(reply.get("type"), RuntimeError)(reply["error"])
        positional = list(args)
        for key, final in reply["after"]:
            _update_in_place(positional[key] if isinstance(key, int) else kwargs[key], final)
        if "random" in reply:
            np.random.set_state(random_state(reply["random"]))
        return _resolve(reply["result"], positional, kwargs)


def _update_in_place(mine, final):
    """Give the caller's array or dict the state the reference left its copy in."""
    if isinstance(mine, np.ndarray) and isinstance(final, np.ndarray):
        if mine.shape == final.shape and mine.flags.writeable:
            np.copyto(mine, final, casting="unsafe")
    elif isinstance(mine, dict) and isinstance(final, dict):
        for key in [key for key in mine if key not in final]:
            del mine[key]
        for key, value in final.items():
            current = mine.get(key)
            if isinstance(current, np.ndarray) and isinstance(value, np.ndarray) and current.shape == value.shape:
                np.copyto(current, value, casting="unsafe")
            else:
                mine[key] = value


def _resolve(value, args, kwargs):
    if isinstance(value, wire.ArgumentReference):
        key = value.key
        return args[key] if isinstance(key, int) else kwargs[key]
    if isinstance(value, tuple):
        return tuple(_resolve(v, args, kwargs) for v in value)
    return value


# ----------------------------------------------------------------------------
# The supervisor's side
# ----------------------------------------------------------------------------


class CallBounds:
    """The calls of reference functions that a correct solution makes on one case (from the
    case's ``calls_allowed``, written by the grader): how many of each, and what their
    arguments may hold.  ``check`` says what is wrong with a call, or None."""

    def __init__(self, allowed):
        self.allowed = allowed if isinstance(allowed, dict) else {}
        self.made = {}

    def check(self, name: str, args: list, kwargs: dict) -> str | None:
        rule = self.allowed.get(name)
        if rule is None:
            return f"a correct solution does not call {name} here"
        self.made[name] = self.made.get(name, 0) + 1
        if self.made[name] > rule["calls"]:
            return f"more than {rule['calls']} calls of {name} in this case (a correct solution makes fewer)"
        shapes = {tuple(shape) for shape in rule["shapes"]}
        for value in [*args, *kwargs.values()]:
            problem = _outside(value, rule, shapes)
            if problem:
                return f"{name} was given {problem}"
        return None


def _outside(value, rule, shapes, depth=0):
    """What is wrong with one argument, by the rule's shapes and sizes, or None."""
    if value is None or isinstance(value, (bool, float)):
        return None
    if isinstance(value, int):
        return None if abs(value) < 2**53 else "an integer too large"
    if isinstance(value, str):
        return None if len(value) <= rule["text"] else "a string longer than any of the case's"
    if isinstance(value, np.ndarray):
        return None if value.shape in shapes else f"an array of shape {value.shape}, not one of this case's"
    if depth:
        return "nested containers"
    if isinstance(value, list):
        if len(value) > rule["length"]:
            return f"a list of {len(value)} items, longer than any name of the case's data"
        if not all(v is None or (type(v) is int and 0 <= v < rule["indices"]) for v in value):
            return "a list that holds something else than None and indices of the vocabulary"
        return None
    if isinstance(value, dict):
        if len(value) > rule["entries"]:
            return f"a dict of {len(value)} entries"
        for key, item in value.items():
            problem = _outside(key, rule, shapes, 1) or _outside(item, rule, shapes, 1)
            if problem:
                return problem
        return None
    return f"a value of type {type(value).__name__}"


def serve_call(request: dict, functions: dict[str, Callable], bounds: CallBounds, recorders: dict) -> dict:
    """Run one call the student's process asked for (already copied and decoded by ``receive``);
    returns the reply (a dict)."""
    name = request.get("function")
    if name not in functions:
        raise wire.WireError(f"no reference function {name!r} was given to this run")
    args, kwargs = request.get("args"), request.get("kwargs")
    if not isinstance(args, list) or not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise wire.WireError("bad arguments")
    refused = bounds.check(name, args, kwargs)
    if refused:
        return {"error": f"this call of {name} was refused: {refused}"}
    if "random" in request:
        np.random.set_state(random_state(request["random"]))
    if name in recorders:
        recorders[name].note(args, kwargs)
    try:
        result = functions[name](*args, **kwargs)
    except Exception as error:  # the student passed arguments the reference cannot take
        return {"error": str(error)[:200], "type": type(error).__name__}
    reply = {"result": _returned(result, args, kwargs), "after": []}
    for key, value in [*enumerate(args), *kwargs.items()]:
        if isinstance(value, (np.ndarray, dict)):
            reply["after"].append([key, value])
    if "random" in request:
        reply["random"] = np.random.get_state()
    return reply


def random_state(state: list) -> tuple:
    """numpy's global random state as it travels (its key as int64), checked and made whole again."""
    if not (isinstance(state, tuple) and len(state) == 5 and state[0] == "MT19937"):
        raise wire.WireError("bad random state")
    key = state[1]
    if not (isinstance(key, np.ndarray) and key.shape == (RANDOM_STATE_WORDS,)):
        raise wire.WireError("bad random state")
    if not all(isinstance(item, (int, float)) for item in state[2:]):
        raise wire.WireError("bad random state")
    return ("MT19937", key.astype(np.uint32), *state[2:])


def _returned(result, args, kwargs, depth=0):
    """The result, naming an argument the reference returned (optimize's parameters) by its place."""
    for key, value in [*enumerate(args), *kwargs.items()]:
        if result is value and isinstance(value, (np.ndarray, dict, list)):
            return wire.ArgumentReference(key)
    if isinstance(result, tuple) and depth == 0:
        return tuple(_returned(item, args, kwargs, 1) for item in result)
    return result
