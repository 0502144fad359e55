"""A stack of recurrent layers with a softmax output over the vocabulary."""

import numpy as np

from utils.exact import exp, log, matvec, matvec_t

from .cells import CELLS


def softmax(z):
    e = exp(z - np.max(z))
    return e / e.sum(axis=0)


class CharModel:
    def __init__(self, vocab_size, hidden=100, layers=1, cell="rnn"):
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r}: choose from {', '.join(CELLS)}")
        if layers < 1 or hidden < 1:
            raise ValueError("layers and hidden must be at least 1")
        self.vocab_size, self.hidden, self.n_layers, self.cell_name = vocab_size, hidden, layers, cell
        self.cells = [CELLS[cell](vocab_size if layer == 0 else hidden, hidden) for layer in range(layers)]
        self.params = {}

    @property
    def config(self):
        return {"vocab_size": self.vocab_size, "hidden": self.hidden, "layers": self.n_layers, "cell": self.cell_name}

    def init(self, seed=0):
        rng = np.random.default_rng(seed)
        for layer, cell in enumerate(self.cells):
            for name, value in cell.init(rng).items():
                self.params[f"{layer}.{name}"] = value
        self.params["Why"] = rng.standard_normal((self.vocab_size, self.hidden)) * 0.01
        self.params["by"] = np.zeros((self.vocab_size, 1))
        return self

    def layer_params(self, layer):
        prefix = f"{layer}."
        return {k[len(prefix) :]: v for k, v in self.params.items() if k.startswith(prefix)}

    def zero_state(self):
        return [cell.zero_state() for cell in self.cells]

    def one_hot(self, ix):
        x = np.zeros((self.vocab_size, 1))
        x[ix] = 1.0
        return x

    def step(self, ix, states, temperature=1.0):
        """One character in: (output logits / temperature as probabilities, new states, caches)."""
        x, new_states, caches = self.one_hot(ix), [], []
        for layer, cell in enumerate(self.cells):
            x, state, cache = cell.step(self.layer_params(layer), x, states[layer])
            new_states.append(state)
            caches.append(cache)
        z = matvec(self.params["Why"], x) + self.params["by"]
        return softmax(z / temperature), new_states, (caches, x)

    def loss_and_gradients(self, inputs, targets, states):
        """Cross-entropy over one window, its gradients, and the states after the window."""
        loss, steps = 0.0, []
        for ix, target in zip(inputs, targets, strict=True):
            p, states, cache = self.step(ix, states)
            loss -= float(log(p[target, 0]))
            steps.append((p, target, cache))
        grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        dstates = [tuple(np.zeros_like(s) for s in state) for state in states]
        for p, target, (caches, top) in reversed(steps):
            dy = p.copy()
            dy[target] -= 1
            grads["Why"] += dy * top.T
            grads["by"] += dy
            dh = matvec_t(self.params["Why"], dy)
            for layer in reversed(range(self.n_layers)):
                layer_grads = {k.split(".", 1)[1]: v for k, v in grads.items() if k.startswith(f"{layer}.")}
                dh, dstates[layer] = self.cells[layer].back(
                    self.layer_params(layer), layer_grads, caches[layer], dh, dstates[layer]
                )
        return loss, grads, states

    def sample(self, prompt_ix, length, temperature=1.0, seed=0):
        """Indices of ``length`` characters following the prompt (drawn; argmax at temperature 0)."""
        if not prompt_ix:
            raise ValueError("the prompt is empty")
        rng = np.random.default_rng(seed)
        states = self.zero_state()
        for ix in prompt_ix:
            p, states, _ = self.step(ix, states, max(temperature, 1e-12))
        out = []
        for _ in range(length):
            ix = int(np.argmax(p)) if temperature == 0 else int(rng.choice(self.vocab_size, p=p.ravel()))
            out.append(ix)
            p, states, _ = self.step(ix, states, max(temperature, 1e-12))
        return out
