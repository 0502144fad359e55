"""Noting chosen calls of a function, for the checks that ask how a function was called.

Used in the supervisor (around the reference functions) and in the student's process (around
the student's own helpers, when those are used instead).
"""

from __future__ import annotations

import inspect


class Recorder:
    """Notes chosen calls of a reference function, by its own parameter names: plain values as
    they were passed, arrays as whether they were all zero."""

    def __init__(self, function, wanted):
        self.signature, self.wanted, self.calls, self.count = inspect.signature(function), set(wanted), {}, 0

    def note(self, args: tuple, kwargs: dict) -> None:
        if self.count in self.wanted:
            self.calls[self.count] = self.summarize(args, kwargs)
        self.count += 1

    def report(self) -> dict:
        """What the checks read: how many calls there were, and the chosen ones summarized."""
        return {"count": self.count, "calls": self.calls}

    def summarize(self, args: tuple, kwargs: dict) -> dict:
        import numpy as np

        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError:
            return {}
        bound.apply_defaults()
        plain, zeros = {}, {}
        for name, value in bound.arguments.items():
            if isinstance(value, np.ndarray):
                zeros[name + "_is_zero"] = not value.any()
            elif isinstance(value, (int, float, str, type(None))) or (isinstance(value, list) and len(value) <= 10_000):
                plain[name] = value
        return plain | zeros  # plain values first: the stored references list them in this order
