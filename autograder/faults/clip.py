"""Mistakes in ``clip``: edits of the reference's body (see faults/__init__.py)."""

from .base import mistake

KEYS = ("dWax", "dWaa", "dWya", "db", "dby")
CALL = "np.clip(gradients[name], -maxValue, maxValue, out=gradients[name])"
LOOP = "for name in ['dWax', 'dWaa', 'dWya', 'db', 'dby']:"
COPY = "    gradients = {name: np.copy(value) for name, value in gradients.items()}\n"

UNCLIPPED = (
    "clip returns every gradient unclipped, as it does when np.clip's result is dropped: without out=, np.clip "
    "returns a clipped copy and leaves the array alone. Pass out=gradients[name] (or store what np.clip returns "
    "in the dictionary)."
)
FIXED_BOUND = "clip uses a fixed number as the bound: clip to -maxValue and maxValue, the argument."
CHANGES_INPUT = (
    "clip changed the arrays of the dictionary it was given: keep the first line, which copies every array "
    "(np.copy), so that the caller's gradients stay as they were."
)


def _skips(key):
    loop = "for name in [" + ", ".join(repr(k) for k in KEYS if k != key) + "]:"
    return mistake(
        f"skips-{key}",
        f"clip leaves {key} unclipped: the loop must go over all five gradients dWax, dWaa, dWya, db and dby.",
        (LOOP, loop),
    )


def _only(key):
    return mistake(
        f"only-{key}",
        f"clip clips {key} only: the other four gradients come back unclipped. Clip all five (a loop over "
        "dWax, dWaa, dWya, db, dby).",
        (LOOP, f"for name in [{key!r}]:"),
    )


MISTAKES = (
    mistake("result-discarded", UNCLIPPED, (CALL, "np.clip(gradients[name], -maxValue, maxValue)")),
    mistake("result-in-loop-variable", UNCLIPPED, (CALL, "value = np.clip(gradients[name], -maxValue, maxValue)")),
    mistake(
        "lower-bound-zero",
        "clip sets every negative value to 0: the lower bound is -maxValue, np.clip(gradient, -maxValue, maxValue).",
        (CALL, "np.clip(gradients[name], 0, maxValue, out=gradients[name])"),
    ),
    mistake(
        "upper-bound-only",
        "clip caps the values above maxValue but leaves those below -maxValue: clip from both sides.",
        (CALL, "np.minimum(gradients[name], maxValue, out=gradients[name])"),
    ),
    mistake(
        "lower-bound-only",
        "clip raises the values below -maxValue but leaves those above maxValue: clip from both sides.",
        (CALL, "np.maximum(gradients[name], -maxValue, out=gradients[name])"),
    ),
    mistake(
        "upper-bound-zero",
        "clip sets every positive value to 0: the upper bound is maxValue, np.clip(gradient, -maxValue, maxValue).",
        (CALL, "np.clip(gradients[name], -maxValue, 0, out=gradients[name])"),
    ),
    mistake("fixed-bound-10", FIXED_BOUND, (CALL, "np.clip(gradients[name], -10, 10, out=gradients[name])")),
    mistake("fixed-bound-5", FIXED_BOUND, (CALL, "np.clip(gradients[name], -5, 5, out=gradients[name])")),
    mistake(
        "bounds-swapped",
        "np.clip got its bounds the wrong way round, so every value becomes -maxValue: the lower bound "
        "-maxValue comes first, then maxValue.",
        (CALL, "np.clip(gradients[name], maxValue, -maxValue, out=gradients[name])"),
    ),
    *(_skips(key) for key in KEYS),
    *(_only(key) for key in KEYS),
    mistake(
        "skips-biases",
        "clip leaves the biases' gradients db and dby unclipped: the loop must go over all five gradients, "
        "dWax, dWaa, dWya, db and dby.",
        (LOOP, "for name in ['dWax', 'dWaa', 'dWya']:"),
    ),
    mistake("no-copy", CHANGES_INPUT, (COPY, "")),
    mistake("shallow-copy", CHANGES_INPUT, (COPY, "    gradients = dict(gradients)\n")),
    mistake(
        "rescales-by-norm",
        "clip rescales each gradient by its norm; this exercise clips element-wise: values above maxValue "
        "become maxValue, values below -maxValue become -maxValue, and all others stay as they are.",
        (
            "        " + CALL,
            "        norm = np.linalg.norm(gradients[name])\n"
            "        if norm > maxValue:\n"
            "            gradients[name] *= maxValue / norm",
        ),
    ),
    mistake("no-return", "clip returns None: end it with return gradients.", ("    return gradients", "    pass")),
)
