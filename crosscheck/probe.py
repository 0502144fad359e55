"""``python crosscheck/probe.py``: digests of utils' exp, tanh and log over a large grid.

Run by the host's Python and by the emulated arm64 one, with the course folder on the path; it
needs only numpy (and numba for the compiled kernels).  Prints one line per function and path:
``exp numpy <count> <sha256 of the results' bytes>``.

The grid is built from exact operations only (integers, powers of two, ``ldexp``): functions
like ``np.geomspace`` themselves round differently on different machines.
"""

import hashlib
import sys

import numpy as np


def grid():
    """About 1.2 million float64 inputs: every binade from the smallest subnormal to the largest
    float (585 mantissas each, both signs), [-128, 128) in steps of 2^-10, and the edge cases."""
    mantissas = np.arange(2**12, 2**13, 7, dtype=np.float64) / 2**12  # in [1, 2), exact
    exponents = np.arange(-1074, 1024, 3)
    spread = np.ldexp(mantissas[:, None], exponents[None, :]).ravel()
    dense = np.arange(-(2**17), 2**17, dtype=np.float64) / 2**10
    edges = [0.0, 5e-324, 2.2250738585072014e-308, 1.0, 0.6, 0.5, 1e-8, 700.0, 709.78, 709.79, 745.13, 746.0]
    edges += [np.nextafter(e, np.inf) for e in edges] + [np.finfo(np.float64).max, np.inf, np.nan]
    edges = np.array(edges)
    return np.concatenate([spread, -spread, dense, edges, -edges])


def digest(values):
    return hashlib.sha256(np.ascontiguousarray(values, dtype=np.float64).tobytes()).hexdigest()


def numpy_path(x):
    from utils import exact

    with np.errstate(all="ignore"):
        return {"exp": exact.exp(x), "tanh": exact.tanh(x), "log": exact.log(np.abs(x))}


def compiled_path(x):
    from numba import njit

    from utils import _compiled

    @njit
    def log_all(values, out):
        for i in range(values.shape[0]):
            out[i] = _compiled._log(values[i])

    n = x.shape[0]
    scratch = [np.empty(n) for _ in range(4)]
    bits = np.empty(n, np.int64)
    exp, tanh, log = np.empty(n), np.empty(n), np.empty(n)
    _compiled._exp_into(x, exp, scratch[0], scratch[1], bits)
    _compiled._tanh_into(x, tanh, *scratch, bits)
    log_all(np.abs(x), log)
    return {"exp": exp, "tanh": tanh, "log": log}


def main(paths):
    x = grid()
    for path in paths:
        results = {"numpy": numpy_path, "numba": compiled_path}[path](x)
        for name, values in results.items():
            print(name, path, values.size, digest(values))


if __name__ == "__main__":
    main(sys.argv[1:] or ["numpy", "numba"])
