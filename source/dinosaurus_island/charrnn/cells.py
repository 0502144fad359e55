"""One layer of recurrence, forward and backward for a single time step.

Each cell has parameters (a dict of arrays), a state (a tuple of (n, 1) columns) and an
input that is a dense (d, 1) column.  ``step`` returns the new state and what ``back``
needs; ``back`` takes the gradient of the loss with respect to the cell's output h and to
its new state, adds into the parameter gradients and returns the gradients for the input
and the previous state.  The arithmetic is utils' reproducible arithmetic.
"""

import numpy as np

from utils.exact import exp, matvec, matvec_t, tanh


def sigmoid(x):
    return 1.0 / (1.0 + exp(-x))


class RNNCell:
    """h = tanh(Wxh·x + Whh·h_prev + bh)."""

    def __init__(self, n_in, n_hidden):
        self.n_in, self.n_hidden = n_in, n_hidden

    def init(self, rng, scale=0.01):
        return {
            "Wxh": rng.standard_normal((self.n_hidden, self.n_in)) * scale,
            "Whh": rng.standard_normal((self.n_hidden, self.n_hidden)) * scale,
            "bh": np.zeros((self.n_hidden, 1)),
        }

    def zero_state(self):
        return (np.zeros((self.n_hidden, 1)),)

    def step(self, p, x, state):
        (h_prev,) = state
        h = tanh(matvec(p["Wxh"], x) + matvec(p["Whh"], h_prev) + p["bh"])
        return h, (h,), (x, h_prev, h)

    def back(self, p, g, cache, dh, dstate):
        x, h_prev, h = cache
        draw = (1 - h * h) * (dh + dstate[0])  # through tanh
        g["Wxh"] += draw * x.T
        g["Whh"] += draw * h_prev.T
        g["bh"] += draw
        return matvec_t(p["Wxh"], draw), (matvec_t(p["Whh"], draw),)


class LSTMCell:
    """Gates i, f, o = σ(…), candidate g = tanh(…) from W·[x; h_prev] + b; c = f·c_prev + i·g; h = o·tanh(c)."""

    def __init__(self, n_in, n_hidden):
        self.n_in, self.n_hidden = n_in, n_hidden

    def init(self, rng, scale=0.01):
        n = self.n_hidden
        b = np.zeros((4 * n, 1))
        b[n : 2 * n] = 1.0  # forget gate open at the start: remember by default
        return {"W": rng.standard_normal((4 * n, self.n_in + n)) * scale, "b": b}

    def zero_state(self):
        return (np.zeros((self.n_hidden, 1)), np.zeros((self.n_hidden, 1)))

    def step(self, p, x, state):
        h_prev, c_prev = state
        n = self.n_hidden
        xh = np.concatenate([x, h_prev])  # (n_in + n, 1)
        z = matvec(p["W"], xh) + p["b"]  # (4n, 1)
        i, f, o = sigmoid(z[:n]), sigmoid(z[n : 2 * n]), sigmoid(z[2 * n : 3 * n])
        g = tanh(z[3 * n :])
        c = f * c_prev + i * g
        tc = tanh(c)
        h = o * tc
        return h, (h, c), (xh, c_prev, i, f, o, g, tc)

    def back(self, p, grads, cache, dh, dstate):
        xh, c_prev, i, f, o, g, tc = cache
        dh = dh + dstate[0]
        dc = dstate[1] + dh * o * (1 - tc * tc)
        dz = np.concatenate(
            [
                dc * g * i * (1 - i),  # input gate
                dc * c_prev * f * (1 - f),  # forget gate
                dh * tc * o * (1 - o),  # output gate
                dc * i * (1 - g * g),  # candidate
            ]
        )
        grads["W"] += dz * xh.T
        grads["b"] += dz
        dxh = matvec_t(p["W"], dz)
        return dxh[: self.n_in], (dxh[self.n_in :], dc * f)


CELLS = {"rnn": RNNCell, "lstm": LSTMCell}
