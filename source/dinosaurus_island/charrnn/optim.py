"""Clipping and the two update rules."""

import numpy as np


def clip_elementwise(grads, bound):
    for g in grads.values():
        np.clip(g, -bound, bound, out=g)
    return grads


def clip_global_norm(grads, max_norm):
    """Scale all gradients together so that their joint L2 norm is at most max_norm."""
    norm = float(np.sqrt(sum(float((g * g).sum()) for g in grads.values())))
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm
    return grads


class SGD:
    def __init__(self, lr):
        self.lr = lr

    def update(self, params, grads):
        for k in params:
            params[k] += -self.lr * grads[k]


class Adagrad:
    """p ← p - lr·g / √(m + ε), with m the running sum of g² per parameter."""

    def __init__(self, lr, eps=1e-8):
        self.lr, self.eps, self.memory = lr, eps, {}

    def update(self, params, grads):
        for k in params:
            m = self.memory.setdefault(k, np.zeros_like(params[k]))
            m += grads[k] * grads[k]
            params[k] += -self.lr * grads[k] / np.sqrt(m + self.eps)


OPTIMIZERS = {"sgd": SGD, "adagrad": Adagrad}
