"""Compiled twins of ``rnn_forward`` and ``rnn_backward`` (optional; needs numba).

You do not need this file: without numba, ``utils`` uses the numpy code in rnn.py and
exact.py, which computes exactly the same bits, only slower.  The instructor's machines
have numba, so the autograder trains as fast as a plain ``np.dot`` loop would.

Every operation here is the one numpy performs in rnn.py, in the same order:

- sums over a row are numpy's pairwise summation for up to 128 terms (8 accumulators
  combined as a tree), which is what ``ndarray.sum`` does along a contiguous axis; rnn.py
  uses these kernels only when n_a and n_y are at most 128 (``kernels_for``), and its
  numpy code, which also halves longer sums, otherwise;
- sums over time are plain left-to-right accumulations starting from 0.0;
- exp, tanh and log are the polynomials of exact.py, step by step.

numba does not fuse a multiplication and an addition into one FMA unless asked to (we do
not), and does not reorder sums without ``fastmath``, so the bits are the same everywhere.
"""

import math

import numpy as np
from numba import njit

from .exact import ATANH_COEFFS, EXP_ARG_LIMIT, EXP_COEFFS, EXPM1_COEFFS, INV_LN2, LN2_HI, LN2_LO, TANH_SERIES_LIMIT

EXP_C = np.array(EXP_COEFFS)
EXPM1_C = np.array(EXPM1_COEFFS)
ATANH_C = np.array(ATANH_COEFFS)
SQRT_HALF = math.sqrt(0.5)
PW_BLOCKSIZE = 128


@njit(cache=True)
def _horner(coeffs, x):
    n = coeffs.shape[0]
    p = x * coeffs[n - 1] + coeffs[n - 2]
    for k in range(n - 3, -1, -1):
        p = p * x + coeffs[k]
    return p


@njit(cache=True)
def _pairwise_block(a, start, n):
    """numpy's sum of up to 128 elements: 8 running sums, combined as a tree, then the rest."""
    if n < 8:
        res = -0.0
        for i in range(n):
            res += a[start + i]
        return res
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    i = 8
    while i < n - (n % 8):
        r0 += a[start + i]
        r1 += a[start + i + 1]
        r2 += a[start + i + 2]
        r3 += a[start + i + 3]
        r4 += a[start + i + 4]
        r5 += a[start + i + 5]
        r6 += a[start + i + 6]
        r7 += a[start + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[start + i]
        i += 1
    return res


@njit(cache=True)
def _exp_into(x, out, r, k, bits):
    """out = exp(x), element-wise; r, k and bits (int64) are scratch arrays of x's length.

    Every element steps through the polynomial together, so the loops run on SIMD lanes;
    each element still sees exactly the operations of exact.exp, in the same order."""
    n = x.shape[0]
    normal = True  # every 2^k a float64 (softmax's x <= 0 gives k >= -1022 unless e^x < 1e-307)
    for i in range(n):
        v = min(max(x[i], -EXP_ARG_LIMIT), EXP_ARG_LIMIT) if x[i] == x[i] else x[i]
        k[i] = np.rint(v * INV_LN2)
        r[i] = (v - k[i] * LN2_HI) - k[i] * LN2_LO
        normal = normal and -1022.0 <= k[i] <= 1023.0
    _horner_into(EXP_C, r, out)
    if normal:
        scale = _powers_of_two(k, bits)
        for i in range(n):
            out[i] = out[i] * scale[i]
    else:
        for i in range(n):
            out[i] = math.ldexp(out[i], int(k[i])) if k[i] == k[i] else out[i]


@njit(cache=True)
def _powers_of_two(k, bits):
    """2^k[i] for integers k[i] in [-1022, 1023], made from its bits: a multiplication by it rounds
    once, to the same number as ldexp, and unlike a call to ldexp it runs on SIMD lanes."""
    for i in range(k.shape[0]):
        bits[i] = (np.int64(k[i]) + 1023) << 52
    return bits.view(np.float64)


@njit(cache=True)
def _horner_into(coeffs, x, out):
    m = coeffs.shape[0]
    n = x.shape[0]
    top, next_ = coeffs[m - 1], coeffs[m - 2]
    for i in range(n):
        out[i] = x[i] * top + next_
    for j in range(m - 3, -1, -1):
        c = coeffs[j]
        for i in range(n):
            out[i] = out[i] * x[i] + c


@njit(cache=True)
def _tanh_into(x, out, y, series, r, k, bits):
    """out = tanh(x), element-wise, as exact.tanh; y, series, r, k and bits are scratch arrays."""
    n = x.shape[0]
    large = False
    for i in range(n):
        y[i] = 2.0 * abs(x[i])
        large = large or not (y[i] <= TANH_SERIES_LIMIT)
    _horner_into(EXPM1_C, y, series)  # (e^y - 1) / y
    if not large:
        for i in range(n):
            t = y[i] * series[i]
            out[i] = math.copysign(t / (t + 2.0), x[i])
        return
    # e^y - 1 = 2^k·e^r - 1 where the series does not reach; 0 <= k <= 1010, so 2^k·e^r is exact
    for i in range(n):
        v = min(y[i], 700.0) if y[i] == y[i] else 0.0  # NaN keeps t = y below
        k[i] = np.rint(v * INV_LN2)
        r[i] = (v - k[i] * LN2_HI) - k[i] * LN2_LO
    _horner_into(EXP_C, r, out)
    scale = _powers_of_two(k, bits)
    for i in range(n):
        expm1 = out[i] * scale[i] - 1.0
        t = y[i] * series[i] if y[i] <= TANH_SERIES_LIMIT else (expm1 if y[i] == y[i] else y[i])
        out[i] = math.copysign(t / (t + 2.0), x[i])


@njit(cache=True)
def _log(x):
    if x == 0.0:
        return -np.inf
    if x == np.inf:
        return np.inf
    if not x > 0.0:
        return np.nan
    m, e = math.frexp(x)
    if m < SQRT_HALF:
        m = 2.0 * m
        e -= 1
    fe = float(e)
    s = (m - 1.0) / (m + 1.0)
    ln_m = 2.0 * s * _horner(ATANH_C, s * s)
    return fe * LN2_HI + (ln_m + fe * LN2_LO)


@njit(cache=True)
def _matvec(columns, v, out, acc):
    """out = W·v, with W given by its columns: columns[j] = W[:, j], shape (n, m) for W (m, n).

    out[i] is numpy's pairwise sum over j of W[i, j]·v[j] (n <= 128, see rnn.kernels_for).  For
    rows of 8 or more elements acc[k, i] holds numpy's k-th running sum of row i; reading W by
    columns lets all m rows advance side by side, so the loops over i run on SIMD lanes with the
    same additions.  Shorter rows are summed as numpy does, one term after another."""
    n, m = columns.shape
    if n < 8:
        products = np.empty(n)
        for i in range(m):
            for j in range(n):
                products[j] = columns[j, i] * v[j]
            out[i] = _pairwise_block(products, np.int64(0), n)  # int64, not Literal[0]: one compile
        return
    body = n - n % 8
    for k in range(8):
        for i in range(m):
            acc[k, i] = columns[k, i] * v[k]
    for start in range(8, body, 8):
        for k in range(8):
            vj = v[start + k]
            for i in range(m):
                acc[k, i] += columns[start + k, i] * vj
    for i in range(m):  # numpy's tree: ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        low = (acc[0, i] + acc[1, i]) + (acc[2, i] + acc[3, i])
        high = (acc[4, i] + acc[5, i]) + (acc[6, i] + acc[7, i])
        out[i] = low + high
    for j in range(body, n):
        vj = v[j]
        for i in range(m):
            out[i] += columns[j, i] * vj


@njit(cache=True)
def forward(X, Y, a0, Wax, Waa, Wya, b, by):
    """X, Y: int64 arrays (X[t] = -1 for the zero input); a0, b, by: 1-D.  Returns (loss, y_hat, hidden)."""
    T = X.shape[0]
    n_a, n_y = Waa.shape[0], Wya.shape[0]
    width = max(n_a, n_y)
    waa_columns = np.ascontiguousarray(Waa.T)  # (n_a, n_a), row j = Waa[:, j]
    wya_columns = np.ascontiguousarray(Wya.T)  # (n_a, n_y), row j = Wya[:, j]
    acc = np.empty((8, width))
    hidden = np.empty((T, n_a))
    y_hat = np.empty((T, n_y))
    pre = np.empty(n_a)
    y, series, r, k = np.empty(width), np.empty(width), np.empty(width), np.empty(width)
    bits = np.empty(width, np.int64)
    a = a0.copy()
    for t in range(T):
        _matvec(waa_columns, a, pre, acc)  # Waa·a⟨t-1⟩
        for i in range(n_a):
            wx = Wax[i, X[t]] if X[t] >= 0 else 0.0  # Wax·x⟨t⟩ for a one-hot x⟨t⟩
            pre[i] = (wx + pre[i]) + b[i]
        _tanh_into(pre, hidden[t], y[:n_a], series[:n_a], r[:n_a], k[:n_a], bits[:n_a])
        a = hidden[t]
    z, e = np.empty(n_y), np.empty(n_y)
    for t in range(T):
        _matvec(wya_columns, hidden[t], z, acc)  # Wya·a⟨t⟩
        for i in range(n_y):
            z[i] = z[i] + by[i]
        top = z.max()
        for i in range(n_y):
            z[i] = z[i] - top
        _exp_into(z, e, r[:n_y], k[:n_y], bits[:n_y])
        total = _pairwise_block(e, np.int64(0), n_y)
        for i in range(n_y):
            y_hat[t, i] = e[i] / total
    loss = 0.0
    for t in range(T):
        loss = loss - _log(y_hat[t, Y[t]])
    return loss, y_hat, hidden


@njit(cache=True)
def backward(X, Y, y_hat, hidden, a0, Wax, Waa, Wya):
    """The gradients dWax, dWaa, dWya, db, dby (db, dby 1-D), summed from the last step to the first."""
    T = X.shape[0]
    n_a, n_x = Wax.shape
    n_y = Wya.shape[0]
    acc = np.empty((8, n_a))
    dy = y_hat.copy()
    for t in range(T):
        dy[t, Y[t]] -= 1.0
    # The columns of Wyaᵀ and Waaᵀ are the rows of Wya and Waa, already contiguous.
    wya_t_dy = np.empty((T, n_a))
    for t in range(T):
        _matvec(Wya, dy[t], wya_t_dy[t], acc)  # Wyaᵀ·dy⟨t⟩
    daraw = np.empty((T, n_a))
    da_next = np.zeros(n_a)
    for t in range(T - 1, -1, -1):
        for i in range(n_a):
            one_minus_a2 = 1.0 - hidden[t, i] * hidden[t, i]
            daraw[t, i] = one_minus_a2 * (wya_t_dy[t, i] + da_next[i])
        _matvec(Waa, daraw[t], da_next, acc)  # Waaᵀ·daraw⟨t⟩

    dWax = np.zeros((n_a, n_x))
    dWaa = np.zeros((n_a, n_a))
    dWya = np.zeros((n_y, n_a))
    db = np.zeros(n_a)
    dby = np.zeros(n_y)
    for t in range(T - 1, -1, -1):
        prev = hidden[t - 1] if t > 0 else a0
        for i in range(n_a):
            if X[t] >= 0:
                dWax[i, X[t]] += daraw[t, i]
            for j in range(n_a):
                dWaa[i, j] += daraw[t, i] * prev[j]
            db[i] += daraw[t, i]
        for i in range(n_y):
            for j in range(n_a):
                dWya[i, j] += dy[t, i] * hidden[t, j]
            dby[i] += dy[t, i]
    return dWax, dWaa, dWya, db, dby
