"""Calls from the student's process to reference functions that live in another process.

When ``model`` is graded it calls the reference ``optimize`` and ``sample``; if their code
were in the student's process, the student could read it.  So the supervisor (``runner.py``,
which never runs student code) holds them, and the student's process gets ``Remote``
stand-ins that send each call over a socket.  Arrays travel through a shared memory arena
both processes map (a call of optimize moves ~80 KB of parameters and gradients), only a
small JSON envelope goes through the socket.

The semantics of a local call are kept: arrays and dicts passed in are updated in place as
the reference updated its copies (optimize's parameters), a returned argument is the caller's
own object, and functions that draw random numbers see and leave numpy's global random state
as a local call would.

Everything the student's side sends is data: JSON, and array headers that are checked against
the arena before any view is made.  Imports only the standard library and numpy.
"""

import json
import math
import os
import socket
import struct
import time

import numpy as np

ARENA_BYTES = 16 * 1024**2
DTYPES = {"f8": np.dtype("<f8"), "i8": np.dtype("<i8"), "u4": np.dtype("<u4"), "b1": np.dtype("|b1")}
KINDS = {"f": "f8", "i": "i8", "u": "i8", "b": "b1"}
MAX_FRAME = 64 * 1024**2
MAX_CALL_FRAME = 1024**2
MAX_ITEMS = 100_000  # values in one call's arguments
MAX_DEPTH = 16
SPIN_SECONDS = 0.0005  # how long the supervisor waits awake for the next call of a call loop
HEADER = struct.Struct(">I")
PLAIN = (type(None), bool, int, float, str)  # JSON's own scalars (exact types: no subclasses)


class ProtocolError(ValueError):
    """A frame that is not what the other side should send."""


# ----------------------------------------------------------------------------
# Frames on a stream socket: 4-byte length, then the bytes
# ----------------------------------------------------------------------------


def send_frame(sock, data):
    sock.sendall(HEADER.pack(len(data)) + data)


class Spinner:
    """When to wait awake for the other side of a call loop.  Spinning pays on an idle machine,
    where the other side answers within the window; on a busy one the other side waits for a CPU
    and spinning only burns CPU time, which the run is charged for (sandbox/meter.py), more the
    busier the machine.  So after a spin that ran out, this side sleeps in recv for the next
    waits, twice as many after each further miss, and spins again once an answer came in time."""

    def __init__(self):
        self.skip, self.backoff = 0, 0

    def window(self, spin):
        if not spin or self.skip:
            self.skip = max(self.skip - 1, 0)
            return 0.0
        return spin

    def missed(self):
        self.backoff = min(max(2 * self.backoff, 1), 1024)
        self.skip = self.backoff

    def caught(self):
        self.backoff = 0


SPINNER = Spinner()  # one per process: each side of the channel is one process


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


def recv_frame(sock, limit=MAX_FRAME, spin=0.0):
    """The next frame.  ``spin``: seconds to wait awake first, for the answers of a call loop
    (waking a sleeping process costs ~50 us on a virtual machine; a call of optimize ~100 us),
    as the Spinner allows."""
    spin = SPINNER.window(spin)
    (size,) = HEADER.unpack(_read_exactly(sock, HEADER.size, spin))
    if size > limit:
        raise ProtocolError(f"a message of {size} bytes (at most {limit})")
    return _read_exactly(sock, size, spin)


# ----------------------------------------------------------------------------
# Values <-> JSON with arrays in the arena
# ----------------------------------------------------------------------------


class Arena:
    """A bump allocator over the shared buffer; emptied before each call."""

    def __init__(self, buffer):
        self.buffer, self.top = buffer, 0
        self.views = {}  # header -> view: a call loop puts the same arrays in the same places

    def put(self, array):
        array = np.asarray(array)
        code = "u4" if array.dtype == np.uint32 else KINDS.get(array.dtype.kind)
        if code is None:
            return {"u": f"array of {array.dtype}"}
        dtype = DTYPES[code]
        offset = (self.top + 7) // 8 * 8
        if offset + array.size * dtype.itemsize > len(self.buffer):
            raise ProtocolError("the arguments do not fit the shared arena")
        view = np.ndarray(array.shape, dtype, buffer=self.buffer, offset=offset)
        np.copyto(view, array, casting="unsafe")
        self.top = offset + view.nbytes
        return {"a": [offset, code, list(array.shape)]}

    def view(self, header):
        """The array a header names, as a view of the arena, after checking it lies inside."""
        key = repr(header)
        if key not in self.views:
            if len(self.views) > 1024:
                self.views.clear()
            self.views[key] = self._new_view(header)
        return self.views[key]

    def _new_view(self, header):
        if not isinstance(header, list) or len(header) != 3:
            raise ProtocolError("bad array header")
        offset, code, shape = header
        if code not in DTYPES or not isinstance(offset, int) or offset < 0 or offset % 8:
            raise ProtocolError("bad array header")
        if not isinstance(shape, list) or len(shape) > 8 or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise ProtocolError("bad array shape")
        size = math.prod(shape) * DTYPES[code].itemsize
        if offset + size > len(self.buffer):
            raise ProtocolError("array outside the arena")
        return np.ndarray(shape, DTYPES[code], buffer=self.buffer, offset=offset)


class Unsupported:
    """Stands for a value that cannot be sent (a function, a generator …)."""

    def __init__(self, description):
        self.description = description

    def __repr__(self):
        return f"<{self.description}>"


def pack(value, arena, depth=0, known=None):
    """JSON-ready ``value``; arrays are copied into the arena, except those ``known`` to be
    views of it already ({id(view): header}), which are named in place."""
    if known and id(value) in known:
        return {"a": known[id(value)]}
    if depth > MAX_DEPTH:
        return {"u": "nesting too deep"}
    if value is None or isinstance(value, (bool, str, int, float)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return arena.put(value)
    if isinstance(value, list):
        if all(type(v) in PLAIN for v in value):  # a name's indices: sent as they are
            return list(value)
        return [pack(v, arena, depth + 1, known) for v in value]
    if isinstance(value, tuple):
        return {"t": [pack(v, arena, depth + 1, known) for v in value]}
    if isinstance(value, dict):
        return {"d": [[pack(k, arena, depth + 1), pack(v, arena, depth + 1, known)] for k, v in value.items()]}
    return {"u": type(value).__name__}


class Unpacker:
    """Decodes packed values with bounds; arrays are views of the arena (``copy`` copies them)."""

    def __init__(self, arena, copy):
        self.arena, self.copy, self.items = arena, copy, 0
        self.views = {}  # id(view) -> header, for the views handed out (copy=False)
        self.end = 0  # the first byte after every array read

    def __call__(self, value, depth=0):
        self.items += 1
        if self.items > MAX_ITEMS or depth > MAX_DEPTH:
            raise ProtocolError("too many or too deeply nested values")
        if value is None or isinstance(value, (bool, str, int, float)):
            return value
        if isinstance(value, list):
            if all(type(v) in PLAIN for v in value):
                self.items += len(value)
                return value
            return [self(v, depth + 1) for v in value]
        if not isinstance(value, dict) or len(value) != 1:
            raise ProtocolError("unexpected value")
        [(tag, body)] = value.items()
        if tag == "a":
            view = self.arena.view(body)
            self.end = max(self.end, body[0] + view.nbytes)
            if self.copy:
                return view.copy()
            self.views[id(view)] = body
            return view
        if tag == "t":
            return tuple(self(v, depth + 1) for v in body)
        if tag == "d":
            result = {}
            for key, item in body:
                key = self(key, depth + 1)
                if not isinstance(key, (str, int, float, bool, type(None))):
                    raise ProtocolError("unhashable dictionary key")
                result[key] = self(item, depth + 1)
            return result
        if tag == "u":
            return Unsupported(str(body))
        if tag == "arg" and not self.copy:
            raise ProtocolError("unexpected value")
        if tag == "arg":
            return ArgumentReference(body)
        raise ProtocolError(f"unknown tag {tag!r}")


class ArgumentReference:
    def __init__(self, index):
        self.index = index


# ----------------------------------------------------------------------------
# The student's side: stand-ins for the reference functions
# ----------------------------------------------------------------------------


class Remote:
    """Callable in the student's process; runs the reference ``name`` in the supervisor."""

    def __init__(self, name, channel, arena, draws_random):
        self.__name__ = self.__qualname__ = name
        self.channel, self.arena, self.draws_random = channel, arena, draws_random

    def __repr__(self):
        return f"<reference function {self.__name__}>"

    def __call__(self, *args, **kwargs):
        self.arena.top = 0
        request = {"op": "call", "function": self.__name__, "args": pack(list(args), self.arena)}
        request["kwargs"] = pack(kwargs, self.arena)
        if self.draws_random:
            request["random"] = pack(np.random.get_state(), self.arena)
        send_frame(self.channel, json.dumps(request).encode())
        reply = json.loads(recv_frame(self.channel))  # asleep: CPU time spent waiting would be charged to the run
        if "error" in reply:
            raise RuntimeError(f"the reference {self.__name__} failed: {reply['error']}")
        positional, in_place = list(args), Unpacker(self.arena, copy=False)
        for index, final in reply["after"]:
            _update_in_place(positional[index] if isinstance(index, int) else kwargs[index], in_place(final))
        fresh = Unpacker(self.arena, copy=True)
        if "random" in reply:
            np.random.set_state(fresh(reply["random"]))
        return _resolve(fresh(reply["result"]), positional, kwargs)


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
                mine[key] = value.copy() if isinstance(value, np.ndarray) else value


def _resolve(value, args, kwargs):
    if isinstance(value, ArgumentReference):
        index = value.index
        return args[index] if isinstance(index, int) else kwargs[index]
    if isinstance(value, tuple):
        return tuple(_resolve(v, args, kwargs) for v in value)
    if isinstance(value, list):
        return [_resolve(v, args, kwargs) for v in value]
    return value


# ----------------------------------------------------------------------------
# The supervisor's side
# ----------------------------------------------------------------------------


def serve_call(request, functions, arena, recorders):
    """Run one call the student's process asked for; returns the reply (a dict)."""
    name = request.get("function")
    if name not in functions:
        raise ProtocolError(f"no reference function {name!r} was given to this run")
    unpack = Unpacker(arena, copy=False)
    args, kwargs = unpack(request.get("args")), unpack(request.get("kwargs"))
    if not isinstance(args, list) or not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise ProtocolError("bad arguments")
    if "random" in request:
        np.random.set_state(_random_state(unpack(request["random"])))
    if name in recorders:
        recorders[name].note(args, kwargs)
    try:
        result = functions[name](*args, **kwargs)
    except Exception as error:  # the student passed arguments the reference cannot take
        return {"error": f"{type(error).__name__}: {str(error)[:200]}"}
    arena.top = unpack.end  # the reply's arrays go after the request's
    reply = {"result": _pack_result(result, args, kwargs, arena), "after": []}
    for key, value in [*enumerate(args), *kwargs.items()]:
        if isinstance(value, (np.ndarray, dict)):
            reply["after"].append([key, pack(value, arena, known=unpack.views)])
    if "random" in request:
        reply["random"] = pack(np.random.get_state(), arena)
    return reply


def _random_state(state):
    if not (isinstance(state, tuple) and len(state) == 5 and state[0] == "MT19937"):
        raise ProtocolError("bad random state")
    return state


def _pack_result(result, args, kwargs, arena, depth=0):
    """The result, naming an argument the reference returned (optimize's parameters) by its place."""
    for key, value in [*enumerate(args), *kwargs.items()]:
        if result is value and isinstance(value, (np.ndarray, dict, list)):
            return {"arg": key}
    if isinstance(result, tuple) and depth == 0:
        return {"t": [_pack_result(item, args, kwargs, arena, 1) for item in result]}
    return pack(result, arena)


def new_arena():
    import mmap

    return mmap.mmap(-1, ARENA_BYTES)


def channel_pair():
    import socket

    return socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
