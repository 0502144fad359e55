"""The usual char-RNN training loop, as users write it today: np.dot, np.tanh, np.exp.

Same model, data order, initialisation and SGD as the assignment, so its time is the
yardstick for the reproducible path.  Its last bits depend on the machine's BLAS and CPU.
"""

import numpy as np


def softmax(z):
    e = np.exp(z - np.max(z))
    return e / e.sum(axis=0)


def sgd_step(X, Y, a_prev, p, lr):
    xs, hs, ps = {}, {-1: np.copy(a_prev)}, {}
    loss = 0.0
    vocab = p["Wax"].shape[1]
    for t, ix in enumerate(X):
        xs[t] = np.zeros((vocab, 1))
        if ix is not None:
            xs[t][ix] = 1
        hs[t] = np.tanh(np.dot(p["Wax"], xs[t]) + np.dot(p["Waa"], hs[t - 1]) + p["b"])
        ps[t] = softmax(np.dot(p["Wya"], hs[t]) + p["by"])
        loss -= np.log(ps[t][Y[t], 0])
    g = {k: np.zeros_like(v) for k, v in p.items()}
    da_next = np.zeros_like(hs[0])
    for t in reversed(range(len(X))):
        dy = np.copy(ps[t])
        dy[Y[t]] -= 1
        g["Wya"] += np.dot(dy, hs[t].T)
        g["by"] += dy
        da = np.dot(p["Wya"].T, dy) + da_next
        draw = (1 - hs[t] * hs[t]) * da
        g["b"] += draw
        g["Wax"] += np.dot(draw, xs[t].T)
        g["Waa"] += np.dot(draw, hs[t - 1].T)
        da_next = np.dot(p["Waa"].T, draw)
    for k in p:
        np.clip(g[k], -5, 5, out=g[k])
        p[k] -= lr * g[k]
    return loss, hs[len(X) - 1]


def sample(p, char_to_ix, seed):
    vocab, n_a = p["by"].shape[0], p["Waa"].shape[1]
    x, a = np.zeros((vocab, 1)), np.zeros((n_a, 1))
    indices, idx, counter = [], -1, 0
    while idx != char_to_ix["\n"] and counter != 50:
        a = np.tanh(np.dot(p["Wax"], x) + np.dot(p["Waa"], a) + p["b"])
        y = softmax(np.dot(p["Wya"], a) + p["by"])
        np.random.seed(counter + seed)
        idx = np.random.choice(list(range(vocab)), p=y.ravel())
        indices.append(idx)
        x = np.zeros((vocab, 1))
        x[idx] = 1
        seed += 1
        counter += 1
    if counter == 50:
        indices.append(char_to_ix["\n"])
    return indices


def train(names, ix_to_char, char_to_ix, iterations, n_a=50, dino_names=7):
    vocab = len(char_to_ix)
    np.random.seed(1)
    p = {
        "Wax": np.random.randn(n_a, vocab) * 0.01,
        "Waa": np.random.randn(n_a, n_a) * 0.01,
        "Wya": np.random.randn(vocab, n_a) * 0.01,
        "b": np.zeros((n_a, 1)),
        "by": np.zeros((vocab, 1)),
    }
    loss = -np.log(1.0 / vocab) * dino_names
    examples = [x.strip() for x in names]
    np.random.seed(0)
    np.random.shuffle(examples)
    a_prev = np.zeros((n_a, 1))
    out = []
    for j in range(iterations):
        ix = [char_to_ix[c] for c in examples[j % len(examples)]]
        cur, a_prev = sgd_step([None] + ix, ix + [char_to_ix["\n"]], a_prev, p, 0.01)
        loss = loss * 0.999 + cur * 0.001
        if j % 2000 == 0:
            out.append(f"Iteration: {j}, Loss: {loss:f}")
            for seed in range(dino_names):
                name = "".join(ix_to_char[i] for i in sample(p, char_to_ix, seed))
                out.append(name[:1].upper() + name[1:].rstrip("\n"))
    return p, out
