"""Mistakes in ``model``: edits of the reference's body (see faults/__init__.py)."""

from .base import mistake

STEP = "optimize(X, Y, a_prev, parameters, learning_rate=0.01)"
OTHER_RATE = "model trains with another learning rate: call optimize(…, learning_rate=0.01)."
RESET = (
    "model starts every name from a zero hidden state: pass optimize the a_prev it returned at the previous "
    "step (initialise a_prev to zeros once, before the loop)."
)

MISTAKES = (
    mistake(
        "x-without-none",
        "X does not start with None: X = [None] + the name's indices (None is the zero input that begins every name).",
        ("X = [None] + single_example_ix", "X = single_example_ix"),
    ),
    mistake(
        "x-starts-with-newline",
        "X starts with the newline index; it must start with None (rnn_forward turns None into the zero "
        "vector): X = [None] + the name's indices.",
        ("X = [None] + single_example_ix", "X = [char_to_ix['\\n']] + single_example_ix"),
    ),
    mistake(
        "y-without-newline",
        "Y does not end with the newline index: Y = X[1:] + [char_to_ix['\\n']], so the model learns to end names.",
        ("Y = X[1:] + [ix_newline]", "Y = X[1:]"),
    ),
    mistake(
        "y-not-shifted",
        "Y is not X shifted by one: each label is the character after the input, Y = X[1:] + [char_to_ix['\\n']].",
        ("Y = X[1:] + [ix_newline]", "Y = X"),
    ),
    mistake(
        "no-wrap-around",
        "model runs past the end of the list of names: after the last name, start again from the first, "
        "idx = j % len(examples).",
        ("idx = j % len(examples)", "idx = j"),
    ),
    mistake(
        "wrap-from-second",
        "model starts training with the second name: idx = j % len(examples) starts with the first.",
        ("idx = j % len(examples)", "idx = (j + 1) % len(examples)"),
    ),
    mistake(
        "wrap-skips-last",
        "model never trains on the last name: idx = j % len(examples), not len(examples) - 1.",
        ("idx = j % len(examples)", "idx = j % (len(examples) - 1)"),
    ),
    mistake("learning-rate-0.05", OTHER_RATE, (STEP, STEP.replace("0.01", "0.05"))),
    mistake("learning-rate-0.001", OTHER_RATE, (STEP, STEP.replace("0.01", "0.001"))),
    mistake("state-reset", RESET, (STEP, "optimize(X, Y, np.zeros((n_a, 1)), parameters, learning_rate=0.01)")),
    mistake(
        "same-seed-for-every-name",
        "model samples every name of a block with the same seed, so they are all alike: pass the loop's "
        "name_seed to sample.",
        ("sample(parameters, char_to_ix, name_seed)", "sample(parameters, char_to_ix, 0)"),
    ),
    mistake(
        "prints-example-loss",
        "model prints the last example's loss: print the smoothed loss, loss = smooth(loss, example_loss).",
        ("Loss: {loss:f}", "Loss: {example_loss:f}"),
    ),
    mistake(
        "loss-not-smoothed",
        "the printed loss never changes: update it at every step with loss = smooth(loss, example_loss).",
        ("        loss = smooth(loss, example_loss)\n", ""),
    ),
    mistake(
        "no-shuffle",
        "model trains on the names in the file's order: shuffle them once, np.random.shuffle(examples) right "
        "after np.random.seed(0).",
        ("    np.random.shuffle(examples)\n", ""),
    ),
    mistake(
        "shuffles-before-seeding",
        "model shuffles the names before np.random.seed(0), so the order depends on whatever ran before: call "
        "np.random.seed(0) first, then np.random.shuffle(examples).",
        (
            "    np.random.seed(0)\n    np.random.shuffle(examples)\n",
            "    np.random.shuffle(examples)\n    np.random.seed(0)\n",
        ),
    ),
    mistake(
        "last-name-not-kept",
        "model returns a name it never sampled: keep each sampled name in last_dino_name, and return it.",
        (
            "last_dino_name = get_sample(sample(parameters, char_to_ix, name_seed), ix_to_char)",
            "dino_name = get_sample(sample(parameters, char_to_ix, name_seed), ix_to_char)",
        ),
        ("print(last_dino_name.replace(", "print(dino_name.replace("),
    ),
    mistake(
        "fixed-iteration-count",
        "model trains for a fixed number of steps whatever num_iterations is: loop over range(num_iterations).",
        ("for j in range(num_iterations):", "for j in range(22001):"),
    ),
    mistake(
        "fixed-hidden-size",
        "model builds its weights with 50 hidden units whatever n_a is: use the n_a argument.",
        ("initialize_parameters(n_a, n_x, n_y)", "initialize_parameters(50, n_x, n_y)"),
    ),
    mistake(
        "fixed-vocabulary",
        "model assumes 27 characters: use the vocab_size argument for n_x and n_y.",
        ("n_x, n_y = (vocab_size, vocab_size)", "n_x, n_y = (27, 27)"),
    ),
    mistake(
        "fixed-name-count",
        "model samples 7 names every 2,000 steps whatever dino_names is: loop over range(dino_names).",
        ("range(dino_names)", "range(7)"),
    ),
    mistake(
        "reports-after-the-step",
        "model prints and samples at other steps: do it when j % 2000 == 0, which includes the first step, j = 0.",
        ("if j % 2000 == 0:", "if (j + 1) % 2000 == 0:"),
    ),
    mistake(
        "skips-first-step",
        "model runs num_iterations - 1 steps, starting at j = 1: loop over range(num_iterations).",
        ("for j in range(num_iterations):", "for j in range(1, num_iterations):"),
    ),
)
