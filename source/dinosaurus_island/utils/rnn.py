"""The recurrent network that names dinosaurs: parameters, forward and backward passes.

Shapes used throughout (one training example at a time):

    n_x = n_y = vocabulary size (27 for a-z plus the newline)
    n_a       = number of hidden units
    T         = length of the example, in characters

    x⟨t⟩ (n_x, 1)   a⟨t⟩ (n_a, 1)   ŷ⟨t⟩ (n_y, 1)
    Wax (n_a, n_x)  Waa (n_a, n_a)  Wya (n_y, n_a)  b (n_a, 1)  by (n_y, 1)

The equations of one time step:

    a⟨t⟩ = tanh(Wax·x⟨t⟩ + Waa·a⟨t-1⟩ + b)
    ŷ⟨t⟩ = softmax(Wya·a⟨t⟩ + by)
    loss = -Σ_t log ŷ⟨t⟩[y⟨t⟩]

``rnn_step_forward`` and ``rnn_step_backward`` spell out one step.
``rnn_forward`` and ``rnn_backward`` compute exactly the same numbers, bit for
bit, for a whole example: they run the recurrence step by step but do the parts
that do not depend on it (the outputs, the softmax, the output-layer gradients)
for all time steps at once, which is several times faster in numpy.
"""

import os
import tempfile

import numpy as np

from .exact import exp, log, matvec, matvec_t, tanh

_COMPILED = []  # [module or None], filled on first use


def compiled():
    """The numba twins of rnn_forward/rnn_backward (_compiled.py), or None without numba.

    Imported on first use, so code that never trains does not pay for importing numba.
    DINO_PURE_NUMPY=1 forces the numpy code below."""
    if not _COMPILED:
        _COMPILED.append(_load_compiled())
    return _COMPILED[0]


def _load_compiled():
    if os.environ.get("DINO_PURE_NUMPY"):
        return None
    try:
        import numba
    except ImportError:
        return None
    # numba keeps what it compiles (a few seconds, the first time) in utils/__pycache__, or in
    # ~/.cache/numba when this folder is read-only; when neither can be written it refuses to
    # load the module, so we give it a temporary folder (then each new kernel compiles again).
    try:
        from . import _compiled
    except RuntimeError:
        numba.config.CACHE_DIR = tempfile.mkdtemp(prefix="dino-numba-")
        from . import _compiled
    return _compiled


def kernels_for(parameters):
    """The compiled kernels if they cover these sizes, else None (and the numpy code runs).

    They cover n_a, n_y <= 128: every sum is then one block of numpy's pairwise summation."""
    kernels = compiled()
    try:
        widest = max(len(parameters["Waa"]), len(parameters["Wya"]))
    except (KeyError, TypeError):
        return kernels  # let the kernels' own checks say what is wrong
    return kernels if kernels is not None and widest <= kernels.PW_BLOCKSIZE else None


def training_path():
    """One sentence saying how training will compute here (the numbers are the same either way)."""
    if compiled() is not None:
        import numba

        return f"utils: training runs compiled by numba {numba.__version__} (same numbers as plain numpy, faster)"
    if os.environ.get("DINO_PURE_NUMPY"):
        return "utils: training runs in plain numpy, as DINO_PURE_NUMPY asks (same numbers, slower)"
    return "utils: training runs in plain numpy (same numbers; `pip install numba` makes it several times faster)"


PARAMETER_NAMES = ("Wax", "Waa", "Wya", "b", "by")


# ----------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------


def softmax(z):
    """Column-wise softmax: e / Σe with e = exp(z - max z), for z of shape (n, m)."""
    e = exp(z - np.max(z, axis=0))
    return e / e.sum(axis=0)


def smooth(loss, cur_loss):
    """Exponential moving average of the loss, so the printed curve is readable."""
    return loss * 0.999 + cur_loss * 0.001


def get_initial_loss(vocab_size, seq_length):
    """Loss of a model that guesses uniformly: seq_length characters at -log(1/vocab_size)."""
    return -log(1.0 / vocab_size) * seq_length


def initialize_parameters(n_a, n_x, n_y):
    """Small random weights (seeded, so every run starts alike) and zero biases."""
    np.random.seed(1)
    Wax = np.random.randn(n_a, n_x) * 0.01  # input -> hidden
    Waa = np.random.randn(n_a, n_a) * 0.01  # hidden -> hidden
    Wya = np.random.randn(n_y, n_a) * 0.01  # hidden -> output
    b = np.zeros((n_a, 1))  # hidden bias
    by = np.zeros((n_y, 1))  # output bias
    return {"Wax": Wax, "Waa": Waa, "Wya": Wya, "b": b, "by": by}


def update_parameters(parameters, gradients, lr):
    """One gradient-descent step, in place: p ← p - lr·dp."""
    for name in PARAMETER_NAMES:
        parameters[name] += -lr * gradients["d" + name]
    return parameters


def get_sample(sample_ix, ix_to_char):
    """The sampled indices as text, first letter upper-cased ('Trodonosaurus\\n')."""
    txt = "".join(ix_to_char[ix] for ix in sample_ix)
    return txt[:1].upper() + txt[1:]


def print_sample(sample_ix, ix_to_char):
    """Print a sampled name without its trailing newline."""
    print(get_sample(sample_ix, ix_to_char), end="")


def one_hot(ix, size):
    """Column vector of zeros with a 1 at ix; all zeros when ix is None."""
    x = np.zeros((size, 1))
    if ix is not None:
        x[ix] = 1
    return x


# ----------------------------------------------------------------------------
# One time step, as in the equations
# ----------------------------------------------------------------------------


def rnn_step_forward(parameters, a_prev, x):
    """One step forward: returns a⟨t⟩ (n_a, 1) and ŷ⟨t⟩ (n_y, 1)."""
    Wax, Waa, Wya = parameters["Wax"], parameters["Waa"], parameters["Wya"]
    b, by = parameters["b"], parameters["by"]
    a_next = tanh(matvec(Wax, x) + matvec(Waa, a_prev) + b)  # (n_a, 1)
    p_t = softmax(matvec(Wya, a_next) + by)  # (n_y, 1)
    return a_next, p_t


def rnn_step_backward(dy, gradients, parameters, x, a, a_prev):
    """One step of backpropagation through time; adds into ``gradients`` in place.

    dy is ∂loss/∂z⟨t⟩ = ŷ⟨t⟩ - onehot(y⟨t⟩) of shape (n_y, 1); ``gradients["da_next"]``
    carries ∂loss/∂a⟨t⟩ from the later time steps.
    """
    gradients["dWya"] += dy * a.T  # (n_y, n_a) outer product
    gradients["dby"] += dy
    da = matvec_t(parameters["Wya"], dy) + gradients["da_next"]  # (n_a, 1)
    daraw = (1 - a * a) * da  # through tanh: d tanh(u)/du = 1 - tanh(u)²
    gradients["db"] += daraw
    gradients["dWax"] += daraw * x.T  # (n_a, n_x)
    gradients["dWaa"] += daraw * a_prev.T  # (n_a, n_a)
    gradients["da_next"] = matvec_t(parameters["Waa"], daraw)  # (n_a, 1)
    return gradients


# ----------------------------------------------------------------------------
# A whole example
# ----------------------------------------------------------------------------


def rnn_forward(X, Y, a0, parameters):
    """Forward pass over one example.

    X: list of T input indices (None means the all-zero input), Y: list of T labels,
    a0: initial hidden state (n_a, 1). Returns the cross-entropy loss and a cache
    for ``rnn_backward``.
    """
    indices = _indices(X, Y, parameters["Wax"].shape[1], parameters["Wya"].shape[0])  # clear errors for bad X, Y
    seen = (list(X), list(Y), indices)  # the checked example, kept so that rnn_backward need not check it again
    if kernels_for(parameters) is not None:
        return _compiled_forward(indices, seen, a0, parameters)
    Wax, Waa, Wya = parameters["Wax"], parameters["Waa"], parameters["Wya"]
    b, by = parameters["b"], parameters["by"]
    T, n_a = len(X), Waa.shape[0]

    hidden = np.empty((T, n_a, 1))  # a⟨t⟩ for every t
    a = a0
    for t, ix in enumerate(X):
        # Wax·x⟨t⟩ for a one-hot x⟨t⟩ is exactly the column ix of Wax.
        wx = np.zeros((n_a, 1)) if ix is None else Wax[:, ix : ix + 1]
        a = tanh(wx + matvec(Waa, a) + b)
        hidden[t] = a

    # The outputs do not feed the recurrence: all T of them in one go.
    z = (Wya * hidden.transpose(0, 2, 1)).sum(axis=2) + by.T  # (T, n_y), row t = z⟨t⟩ᵀ
    e = exp(z - z.max(axis=1, keepdims=True))
    y_hat = e / e.sum(axis=1, keepdims=True)  # (T, n_y), row t = ŷ⟨t⟩ᵀ

    picked = log(y_hat[np.arange(T), Y])  # log ŷ⟨t⟩[y⟨t⟩]
    loss = np.float64(0.0)
    for log_p in picked:  # summed in time order, like a per-step loop
        loss -= log_p
    cache = (y_hat, hidden, np.copy(a0), seen)
    return loss, cache


def rnn_backward(X, Y, parameters, cache):
    """Backpropagation through time over one example.

    Returns the gradients {"dWax", "dWaa", "dWya", "db", "dby"} and the dict of
    hidden states a, where a[-1] is the initial state and a[t] the state after step t.
    """
    if kernels_for(parameters) is not None:
        return _compiled_backward(X, Y, parameters, cache)
    y_hat, hidden, a0, _ = cache
    Wya, Waa = parameters["Wya"], parameters["Waa"]
    T, n_a = len(X), Waa.shape[0]
    hidden_prev = np.concatenate([a0[None], hidden[:-1]])  # a⟨t-1⟩ for every t

    dy = y_hat.copy()
    dy[np.arange(T), Y] -= 1  # (T, n_y), row t = (ŷ⟨t⟩ - onehot(y⟨t⟩))ᵀ
    # Wyaᵀ·dy⟨t⟩ for every t: Wyaᵀ[i, j]·dy[j], summed over j.
    wya_t_dy = (np.ascontiguousarray(Wya.T) * dy[:, None, :]).sum(axis=2)  # (T, n_a)
    one_minus_a2 = 1 - hidden * hidden  # (T, n_a, 1)

    # The recurrence: ∂loss/∂a⟨t⟩ depends on step t+1, so walk back one step at a time.
    waa_t = np.ascontiguousarray(Waa.T)
    daraw = np.empty((T, n_a, 1))
    da_next = np.zeros((n_a, 1))
    for t in reversed(range(T)):
        da = wya_t_dy[t][:, None] + da_next
        daraw[t] = one_minus_a2[t] * da
        da_next = (waa_t * daraw[t].T).sum(axis=1, keepdims=True)  # Waaᵀ·daraw⟨t⟩

    # Sum the per-step contributions in the order a per-step loop adds them (t = T-1 … 0).
    back = slice(None, None, -1)
    dy_col = dy[:, :, None]  # (T, n_y, 1)
    gradients = {
        "dWax": _columns_sum(daraw[back], X[::-1], parameters["Wax"].shape),
        "dWaa": _sequential_sum(daraw[back] * hidden_prev[back].transpose(0, 2, 1)),
        "dWya": _sequential_sum(dy_col[back] * hidden[back].transpose(0, 2, 1)),
        "db": _sequential_sum(daraw[back]),
        "dby": _sequential_sum(dy_col[back]),
    }
    a = {-1: a0}
    a.update(enumerate(hidden))
    return gradients, a


def _sequential_sum(terms):
    """((0 + terms[0]) + terms[1]) + …, the order of ``total += term`` in a loop."""
    return np.add.reduce(terms, axis=0, initial=0.0)


def _columns_sum(columns, indices, shape):
    """Σ_t columns[t]·onehot(indices[t])ᵀ: each column added to its input's column of W."""
    total = np.zeros(shape)
    for column, ix in zip(columns, indices, strict=True):
        if ix is not None:
            total[:, ix : ix + 1] += column
    return total


# ----------------------------------------------------------------------------
# Calling the compiled twins (same numbers, as float64 C-ordered arrays)
# ----------------------------------------------------------------------------


def _indices(X, Y, n_x, n_y):
    """X (None as -1) and Y as int64 arrays, refusing what would index outside the arrays."""
    if len(X) != len(Y):
        raise IndexError(f"X and Y must have the same length; got {len(X)} and {len(Y)}")
    x = np.array([-1 if ix is None else ix for ix in X], dtype=np.int64)
    y = np.asarray(Y, dtype=np.int64).reshape(-1)
    xs, ys = x.tolist(), y.tolist()  # Python's min and max are quicker than numpy's on a dozen numbers
    if xs and (min(xs) < -1 or max(xs) >= n_x or -1 in X):  # -1 itself is reserved for None
        raise IndexError(f"X has an index outside 0..{n_x - 1}")
    if ys and (min(ys) < 0 or max(ys) >= n_y):
        raise IndexError(f"Y has an index outside 0..{n_y - 1}")
    return x, y


def _checked(parameters, a0):
    """The parameters as float64 C arrays (biases and a0 flattened), with consistent shapes."""
    p = {name: np.ascontiguousarray(parameters[name], dtype=np.float64) for name in PARAMETER_NAMES}
    n_a, n_x = p["Wax"].shape
    n_y = p["Wya"].shape[0]
    a0 = np.ascontiguousarray(a0, dtype=np.float64).reshape(-1)
    expected = {"Waa": (n_a, n_a), "Wya": (n_y, n_a), "b": (n_a, 1), "by": (n_y, 1)}
    for name, shape in expected.items():
        if p[name].shape != shape:
            raise ValueError(f"{name} has shape {p[name].shape}, expected {shape}")
    if a0.shape != (n_a,):
        raise ValueError(f"a0 has {a0.size} values, expected {n_a}")
    return p, a0


def _compiled_forward(indices, seen, a0, parameters):
    p, a0_flat = _checked(parameters, a0)
    x, y = indices
    loss, y_hat, hidden = compiled().forward(
        x, y, a0_flat, p["Wax"], p["Waa"], p["Wya"], p["b"].ravel(), p["by"].ravel()
    )
    return np.float64(loss), (y_hat, hidden[:, :, None], np.copy(a0), seen)


def _compiled_backward(X, Y, parameters, cache):
    y_hat, hidden, a0, (seen_X, seen_Y, (x, y)) = cache
    p, a0_flat = _checked(parameters, a0)
    if list(X) != seen_X or list(Y) != seen_Y:  # not the example rnn_forward checked: check this one
        x, y = _indices(X, Y, p["Wax"].shape[1], p["Wya"].shape[0])
    if hidden.shape[0] != len(x) or y_hat.shape != (len(x), p["Wya"].shape[0]):
        raise ValueError("the cache does not belong to these X and parameters")
    dWax, dWaa, dWya, db, dby = compiled().backward(
        x, y, y_hat, np.ascontiguousarray(hidden[:, :, 0]), a0_flat, p["Wax"], p["Waa"], p["Wya"]
    )
    gradients = {"dWax": dWax, "dWaa": dWaa, "dWya": dWya, "db": db[:, None], "dby": dby[:, None]}
    a = {-1: a0}
    a.update(enumerate(hidden))
    return gradients, a
