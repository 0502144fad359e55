"""``python -m autograder.authoring.weights``: train the weights shipped for the notebook's Shakespeare section.

Trains a 2-layer LSTM on the first 90 % of the Sonnets and writes
source/dinosaurus_island/sonnets.npz with, beside the weights: the smoothed loss curve, the
held-out loss per character on the last 10 % against a unigram baseline, and the smoothed
loss of the dinosaur run (from the instructor's solution) for the comparison plot.
Deterministic: the same command writes the same file.
"""

import contextlib
import io
import math
import re
import sys
from collections import Counter

import charrnn
from charrnn.train import mean_loss  # the module: the package's name `train` is the function

from ..paths import SOURCE_DIR

CONFIG = {
    "steps": 8000,
    "seq_length": 25,
    "hidden": 64,
    "layers": 2,
    "cell": "lstm",
    "optimizer": "adagrad",
    "lr": 0.1,
    "clip": 5.0,
    "seed": 0,
}
HELD_OUT = 0.1


def unigram_loss(train_text, held_out):
    """Cross-entropy per character of guessing each character by its frequency (add-one smoothed)."""
    counts = Counter(train_text)
    total = len(train_text) + len(counts)
    return -sum(math.log((counts[ch] + 1) / total) for ch in held_out) / len(held_out)


def dinosaur_curve():
    from autograder.solution import dinosaur_data, load_solution

    names, ix_to_char, char_to_ix = dinosaur_data()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        load_solution()["model"](names, ix_to_char, char_to_ix, 22001, verbose=True)
    points = re.findall(r"Iteration: (\d+), Loss: (\S+)", printed.getvalue())
    return [int(i) for i, _ in points], [float(loss) for _, loss in points]


def main():
    text = (SOURCE_DIR / "shakespeare.txt").read_text(encoding="utf-8")
    cut = int(len(text) * (1 - HELD_OUT))
    train_text, held_out = text[:cut], text[cut:]
    vocabulary, model, losses = charrnn.train(
        train_text,
        **CONFIG,
        progress=lambda s, loss, _: (
            print(f"step {s}: smooth loss {loss:.2f}", file=sys.stderr) if s % 500 == 0 else None
        ),
    )
    held_out = "".join(ch for ch in held_out if ch in vocabulary.chars)
    per_char = mean_loss(model, vocabulary, held_out)
    baseline = unigram_loss(train_text, held_out)
    dino_iterations, dino_losses = dinosaur_curve()
    charrnn.save(
        SOURCE_DIR / "sonnets.npz",
        model,
        vocabulary,
        losses=losses,
        held_out_loss=per_char,
        unigram_loss=baseline,
        seq_length=CONFIG["seq_length"],
        dino_iterations=dino_iterations,
        dino_losses=dino_losses,
    )
    print(f"held-out loss per character {per_char:.3f} nats; unigram baseline {baseline:.3f} nats")
    return 0


if __name__ == "__main__":
    sys.exit(main())
