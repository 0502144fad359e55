"""Reproducible arithmetic: the same bits on every machine.

Why this file exists
--------------------
``np.dot`` hands its work to a BLAS library, and ``np.exp``, ``np.log`` and
``np.tanh`` pick different machine code depending on the processor (SSE, AVX2,
AVX-512).  Each choice is correct to the last bit or two, but a 22,001-step
training run amplifies those last bits until the printed dinosaur names differ
from one laptop to the next.

Everything below is built only from operations that IEEE 754 rounds the same way
everywhere (``+ - * /``, ``rint``, ``ldexp``, ``copysign``, comparisons) applied
in a fixed order, so every machine computes exactly the same numbers.

- ``matvec(W, v)``    W·v   as an element-wise product, then a row sum
- ``matvec_t(W, v)``  Wᵀ·v  the same on the transposed product
- ``exp(x)``          2^k · e^r with a degree-13 Taylor polynomial for e^r
- ``tanh(x)``         (e^{2|x|} - 1) / (e^{2|x|} + 1), with a series for small |x|
- ``log(x)``          e·ln 2 + 2·atanh((m - 1) / (m + 1)) as a series
"""

import math

import numpy as np

# ln 2 split in a high part with trailing zero bits and a small correction, so
# that k * LN2_HI is exact and the reduced argument r keeps its precision.
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700

EXP_COEFFS = [1.0 / math.factorial(k) for k in range(14)]  # e^r = Σ r^k / k!, k = 0..13
EXPM1_COEFFS = [1.0 / math.factorial(k + 1) for k in range(20)]  # (e^y - 1) / y
ATANH_COEFFS = [1.0 / (2 * k + 1) for k in range(13)]  # atanh(s) / s in powers of s²

TANH_SERIES_LIMIT = 1.2  # below this 2|x| the series is more accurate than exp(y) - 1
EXP_ARG_LIMIT = 1000.0  # exp underflows to 0 / overflows to inf well before this

# Coefficient k of both tanh polynomials, as a (2, 1) column: (e^y - 1) / y above e^r.
# The exp polynomial is shorter; leading zero coefficients leave its value unchanged.
_EXP_PADDED = EXP_COEFFS + [0.0] * (len(EXPM1_COEFFS) - len(EXP_COEFFS))
_TANH_ROWS = [np.array([[series], [exp_r]]) for series, exp_r in zip(EXPM1_COEFFS, _EXP_PADDED, strict=True)]


def horner(coeffs, x):
    """Σ coeffs[k]·x^k evaluated from the highest coefficient down: p ← p·x + c."""
    p = x * coeffs[-1]  # the first step, c_top·x + c_next, without a separate fill
    p += coeffs[-2]
    for c in coeffs[-3::-1]:
        p *= x
        p += c
    return p


def matvec(W, v):
    """W·v for W of shape (m, n) and a column v of shape (n, 1); returns (m, 1)."""
    return (W * v.T).sum(axis=1, keepdims=True)


def matvec_t(W, v):
    """Wᵀ·v for W of shape (m, n) and a column v of shape (m, 1); returns (n, 1)."""
    return np.ascontiguousarray((W * v).T).sum(axis=1, keepdims=True)


def _reduce(x):
    """Split x = k·ln 2 + r with k an integer and |r| ≤ ln(2) / 2."""
    k = np.rint(x * INV_LN2)
    r = (x - k * LN2_HI) - k * LN2_LO
    return k, r


def exp(x):
    """e^x = 2^k · e^r, with e^r from its Taylor polynomial."""
    x = np.clip(x, -EXP_ARG_LIMIT, EXP_ARG_LIMIT)  # keeps k a valid integer; no-op otherwise
    k, r = _reduce(x)
    return np.ldexp(horner(EXP_COEFFS, r), k.astype(np.int64))


def tanh(x):
    """tanh(x) = sign(x) · t / (t + 2) with t = e^{2|x|} - 1.

    t comes from the series of (e^y - 1) / y when y = 2|x| ≤ 1.2, and from exp(y) - 1
    above.  Both polynomials are evaluated together, one row each: the exp row is
    padded with leading zero coefficients, which leaves its value bit for bit the same.
    """
    y = 2.0 * np.abs(x)
    k, r = _reduce(np.minimum(y, 700.0))
    p = horner(_TANH_ROWS, np.stack([y.ravel(), r.ravel()]))  # (2, N)
    series, exp_r = p[0].reshape(y.shape), p[1].reshape(y.shape)  # (e^y - 1) / y, e^r
    t = np.where(y <= TANH_SERIES_LIMIT, y * series, np.ldexp(exp_r, k.astype(np.int64)) - 1.0)
    return np.copysign(t / (t + 2.0), x)


def log(x):
    """ln x = e·ln 2 + ln m, with x = m·2^e, m in [√½, √2) and ln m = 2·atanh(s)."""
    x = np.asarray(x, dtype=np.float64)
    m, e = np.frexp(np.abs(x))  # |x| = m·2^e with m in [0.5, 1)
    low = m < math.sqrt(0.5)
    m = np.where(low, 2.0 * m, m)
    e = np.where(low, e - 1, e).astype(np.float64)
    with np.errstate(invalid="ignore"):  # only inf / inf, replaced below
        s = (m - 1.0) / (m + 1.0)  # |s| ≤ 0.172, so the series converges fast
    ln_m = 2.0 * s * horner(ATANH_COEFFS, s * s)
    result = e * LN2_HI + (ln_m + e * LN2_LO)
    # Where frexp has no mantissa to work with, say what ln says there.
    return np.select([x == 0, x == np.inf, ~(x > 0)], [-np.inf, np.inf, np.nan], result)
