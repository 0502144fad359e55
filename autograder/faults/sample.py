"""Mistakes in ``sample``: edits of the reference's body (see faults/__init__.py)."""

from .base import mistake

HIDDEN = "a = np.tanh(np.dot(Wax, x) + np.dot(Waa, a_prev) + b)"
OUTPUT = "z = np.dot(Wya, a) + by"
SEED = "        np.random.seed(step + seed)\n"
DRAW = "        idx = np.random.choice(list(range(vocab_size)), p=y.ravel())\n"
ADVANCE = "        seed += 1\n"
ONE_HOT = "        x = np.zeros((vocab_size, 1))\n        x[idx] = 1\n"
CAP = "    if step == 50:\n        indices.append(newline_ix)\n"

OTHER_SEEDS = (
    "sample draws with other seeds than the expected ones: the k-th character (k = 0, 1, …) is drawn right after "
    "np.random.seed(step + seed), and both step and seed grow by one after every character."
)
NOT_CARRIED = (
    "sample does not carry the hidden state: a_prev stays at zeros, so every character is drawn as if it were "
    "the first. After each step, set a_prev = a."
)

MISTAKES = (
    mistake("state-not-carried", NOT_CARRIED, ("        a_prev = a\n", "")),
    mistake(
        "seeds-after-drawing",
        "sample draws each character before setting its seed: call np.random.seed(step + seed) just before "
        "np.random.choice, not after it.",
        (SEED + DRAW, DRAW + SEED),
    ),
    mistake(
        "relu",
        "sample computes the hidden state with another activation: equation (1) is a = tanh(Wax x + Waa a_prev + b).",
        (HIDDEN, "a = np.maximum(0, np.dot(Wax, x) + np.dot(Waa, a_prev) + b)"),
    ),
    mistake(
        "sigmoid",
        "sample computes the hidden state with a sigmoid: equation (1) is a = tanh(Wax x + Waa a_prev + b).",
        (HIDDEN, "a = 1 / (1 + np.exp(-(np.dot(Wax, x) + np.dot(Waa, a_prev) + b)))"),
    ),
    mistake(
        "no-output-bias",
        "sample leaves out the output bias: equation (2) is z = Wya a + by.",
        (OUTPUT, "z = np.dot(Wya, a)"),
    ),
    mistake(
        "no-hidden-bias",
        "sample leaves out the bias b of the hidden state: equation (1) is a = tanh(Wax x + Waa a_prev + b).",
        (HIDDEN, "a = np.tanh(np.dot(Wax, x) + np.dot(Waa, a_prev))"),
    ),
    mistake(
        "argmax",
        "sample always takes the most likely character instead of drawing one: draw the index with "
        "np.random.choice(list(range(vocab_size)), p=y.ravel()).",
        (DRAW, "        idx = int(np.argmax(y))\n"),
    ),
    mistake(
        "never-seeds",
        "sample never sets the random seed, so its draws do not follow the given seed: call "
        "np.random.seed(step + seed) just before each np.random.choice.",
        (SEED, ""),
    ),
    mistake("seed-not-advanced", OTHER_SEEDS, (ADVANCE, "")),
    mistake("seed-without-step", OTHER_SEEDS, (SEED, "        np.random.seed(seed)\n")),
    mistake(
        "same-seed-every-step",
        "sample draws every character with the same seed: call np.random.seed(step + seed) before each draw, and "
        "increase both step and seed by one after it.",
        (SEED, "        np.random.seed(seed)\n"),
        (ADVANCE, ""),
    ),
    mistake(
        "no-cap",
        "sample does not stop after 50 characters when no newline is drawn: keep step != 50 in the while condition.",
        ("while idx != newline_ix and step != 50:", "while idx != newline_ix:"),
    ),
    mistake(
        "stops-at-49",
        "sample stops after 49 characters when no newline is drawn: the cap is 50, step != 50.",
        ("while idx != newline_ix and step != 50:", "while idx != newline_ix and step != 49:"),
    ),
    mistake(
        "stops-at-51",
        "sample draws up to 51 characters when no newline is drawn: the cap is 50, step != 50.",
        ("while idx != newline_ix and step != 50:", "while idx != newline_ix and step != 51:"),
    ),
    mistake(
        "no-newline-after-cap",
        "when sample stops at 50 characters, it does not append the newline index: keep the two lines after "
        "the loop (if step == 50: indices.append(newline_ix)).",
        (CAP, ""),
    ),
    mistake(
        "newline-always-appended",
        "sample appends the newline index even when the newline was drawn, so those names end with two "
        "newlines: append it only when the loop stopped at 50 characters (if step == 50).",
        (CAP, "    indices.append(newline_ix)\n"),
    ),
    mistake(
        "input-never-set",
        "x stays the zero vector: after each draw, x must become the one-hot vector of the index just drawn "
        "(x = np.zeros((vocab_size, 1)); x[idx] = 1).",
        (ONE_HOT, ""),
    ),
    mistake(
        "input-not-reset",
        "x keeps the ones of earlier characters: reset it to zeros before x[idx] = 1, so that it is the one-hot "
        "vector of the index just drawn.",
        (ONE_HOT, "        x[idx] = 1\n"),
    ),
    mistake(
        "draws-dictionary-values",
        "sample draws from char_to_ix.values(), whose order is the order the dictionary was built in: draw from "
        "list(range(vocab_size)), so that the probability y[i] goes with index i.",
        ("list(range(vocab_size))", "list(char_to_ix.values())"),
    ),
    mistake(
        "fixed-vocabulary",
        "sample assumes 27 characters: take vocab_size from the parameters (by.shape[0]), so it works for any "
        "vocabulary.",
        ("n_a, vocab_size = (Waa.shape[0], by.shape[0])", "n_a, vocab_size = (Waa.shape[0], 27)"),
    ),
    mistake(
        "fixed-newline-index",
        "sample assumes the newline has index 0: take it from the vocabulary, newline_ix = char_to_ix['\\n'].",
        ("newline_ix = char_to_ix['\\n']", "newline_ix = 0"),
    ),
    mistake(
        "probabilities-not-flattened",
        "sample passes y, a column vector, as p: np.random.choice needs a flat vector of probabilities, p=y.ravel().",
        ("p=y.ravel()", "p=y"),
    ),
    mistake(
        "seeds-once",
        "sample sets the seed once, before the loop: set it before every draw, np.random.seed(step + seed), so that "
        "each character has its own seed.",
        (SEED, ""),
        ("    step = 0\n", "    step = 0\n    np.random.seed(seed)\n"),
    ),
    mistake(
        "step-not-advanced",
        "sample never increases step, so it neither stops after 50 characters nor seeds each draw as expected: "
        "add step += 1 at the end of the loop.",
        ("        step += 1\n", ""),
    ),
    mistake(
        "input-and-state-weights-swapped",
        "sample multiplies x by Waa and a_prev by Wax: equation (1) is a = tanh(Wax x + Waa a_prev + b).",
        (HIDDEN, "a = np.tanh(np.dot(Waa, x) + np.dot(Wax, a_prev) + b)"),
    ),
    mistake(
        "output-from-previous-state",
        "sample computes the output from the previous hidden state: equation (2) uses the new one, z = Wya a + by.",
        (OUTPUT, "z = np.dot(Wya, a_prev) + by"),
    ),
    mistake(
        "no-softmax",
        "sample draws with the scores z as probabilities: turn them into probabilities first, y = softmax(z).",
        ("y = softmax(z)", "y = z"),
    ),
)
