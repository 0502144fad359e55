"""Training on a text: windows of seq_length characters, the state carried between windows."""

import math

from utils.exact import log

from .model import CharModel
from .optim import OPTIMIZERS, clip_elementwise, clip_global_norm
from .text import Vocabulary


def train(
    text,
    steps,
    seq_length=25,
    hidden=100,
    layers=1,
    cell="rnn",
    optimizer="adagrad",
    lr=0.1,
    clip=5.0,
    clip_mode="elementwise",
    seed=0,
    progress=None,
):
    """Returns (vocabulary, model, smoothed losses).  ``progress(step, smooth_loss, window_loss)`` is called
    after each step."""
    vocabulary = Vocabulary.of(text)
    if len(text) < 2:
        raise ValueError("the text needs at least two characters")
    data = vocabulary.encode(text)
    model = CharModel(len(vocabulary), hidden, layers, cell).init(seed)
    update = OPTIMIZERS[optimizer](lr)
    smooth = -math.log(1.0 / len(vocabulary)) * seq_length  # the loss of a uniform guess
    losses, position, states = [], 0, model.zero_state()
    for step in range(steps):
        if position + seq_length + 1 > len(data):  # back to the start of the text, with a fresh state
            position, states = 0, model.zero_state()
        window = data[position : position + seq_length + 1]
        loss, grads, states = model.loss_and_gradients(window[:-1], window[1:], states)
        if clip:
            (clip_global_norm if clip_mode == "norm" else clip_elementwise)(grads, clip)
        update.update(model.params, grads)
        smooth = smooth * 0.999 + loss * 0.001
        losses.append(smooth)
        position += seq_length
        if progress:
            progress(step, smooth, loss)
    return vocabulary, model, losses


def mean_loss(model, vocabulary, text, seq_length=25):
    """Cross-entropy per character of ``text`` (held-out text, characters it knows)."""
    data = vocabulary.encode(text)
    total, count, states = 0.0, 0, model.zero_state()
    for start in range(0, len(data) - 1, seq_length):
        window = data[start : start + seq_length + 1]
        for ix, target in zip(window[:-1], window[1:], strict=True):
            p, states, _ = model.step(ix, states)
            total -= float(log(p[target, 0]))
            count += 1
    return total / max(count, 1)
