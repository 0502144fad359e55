"""What crosses between the grader and a student's process: JSON, with numpy arrays.

Nothing a student's process sends is ever unpickled or evaluated: it is parsed as JSON,
and arrays are rebuilt from raw bytes of a few plain dtypes.  This file is copied into
each sandbox beside ``runner.py``, so it imports only the standard library and numpy.
"""

import base64
import json

import numpy as np

ALLOWED_DTYPES = {"float64": "<f8", "int64": "<i8", "bool": "|b1"}
MAX_ELEMENTS = 2_000_000  # per array; far above anything a correct answer returns
MAX_DEPTH = 20
MAX_DICT = 4096  # entries of one dict: bounds the cost of keys that all collide in hash
MAX_VALUES = 1_000_000  # values in one message
MAX_DIGITS = 40  # an integer longer than this is not an answer; it arrives as Unsupported


class WireError(ValueError):
    """A value that cannot be sent, or a message that is not what a runner sends."""


def encode(value, depth=0):
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
    if isinstance(value, np.ndarray):
        return _encode_array(value)
    if isinstance(value, dict):
        return {"__dict__": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return {"__list__" if isinstance(value, list) else "__tuple__": [encode(v, depth + 1) for v in value]}
    return {"__unsupported__": type(value).__name__}


def _encode_array(array):
    kind = {"f": "float64", "i": "int64", "u": "int64", "b": "bool"}.get(array.dtype.kind)
    if kind is None or array.size > MAX_ELEMENTS:
        return {"__unsupported__": f"array of {array.dtype} with {array.size} elements"}
    data = np.ascontiguousarray(array, dtype=ALLOWED_DTYPES[kind]).tobytes()
    return {"__array__": [kind, list(array.shape), base64.b64encode(data).decode("ascii")]}


def decode(value, depth=0, budget=None):
    """The inverse of ``encode``, refusing anything ``encode`` would not have produced, and
    bounded: depth, values per message, dict sizes, integer lengths and array sizes."""
    budget = budget if budget is not None else [MAX_VALUES]
    budget[0] -= 1
    if depth > MAX_DEPTH or budget[0] < 0:
        raise WireError("nesting too deep or too many values")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, list) or not isinstance(value, dict) or len(value) != 1:
        raise WireError("unexpected value")
    [(tag, body)] = value.items()
    if tag == "__int__":
        if not isinstance(body, str) or len(body) > MAX_DIGITS:
            return Unsupported(f"integer of {len(str(body))} digits")
        return int(body)
    if tag == "__float__":
        return float.fromhex(body)
    if tag == "__dict__":
        if not isinstance(body, list) or len(body) > MAX_DICT:
            raise WireError("dictionary too large")
        return {_hashable(decode(k, depth + 1, budget)): decode(v, depth + 1, budget) for k, v in body}
    if tag == "__list__":
        return [decode(v, depth + 1, budget) for v in body]
    if tag == "__tuple__":
        return tuple(decode(v, depth + 1, budget) for v in body)
    if tag == "__array__":
        return _decode_array(body)
    if tag == "__unsupported__":
        return Unsupported(str(body))
    raise WireError(f"unknown tag {tag!r}")


def _decode_array(body):
    kind, shape, data = body
    if kind not in ALLOWED_DTYPES or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise WireError("bad array header")
    raw = base64.b64decode(data, validate=True)
    array = np.frombuffer(raw, dtype=ALLOWED_DTYPES[kind])
    if array.size != int(np.prod(shape, dtype=np.int64)) or array.size > MAX_ELEMENTS:
        raise WireError("array size does not match its shape")
    return array.reshape(shape).copy()


def _hashable(key):
    if isinstance(key, (list, dict, np.ndarray, Unsupported)):
        raise WireError("unhashable dictionary key")
    return key


class Unsupported:
    """Stands for a returned value of a type that cannot be sent (a function, a generator …)."""

    def __init__(self, description):
        self.description = description

    def __repr__(self):
        return f"<{self.description}>"

    def __eq__(self, other):
        return isinstance(other, Unsupported) and other.description == self.description

    def __hash__(self):
        return hash(self.description)


def dumps(value):
    return json.dumps(encode(value), separators=(",", ":"))


def loads(text):
    try:
        return decode(json.loads(text))
    except (json.JSONDecodeError, ValueError, TypeError, KeyError, RecursionError) as error:
        raise WireError(str(error)[:200]) from None
