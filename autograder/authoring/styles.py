"""Submissions for the tests: correct ones in other styles, and the typical mistakes.

Each is a small edit of the instructor's solution (``factory.edited``), named after what it
does, so that the tests read as a list of student habits and errors.
"""

from .factory import edited

# ---------------------------------------------------------------- correct, in other styles

CLIP_MIN_MAX = edited(
    "clip",
    "        np.clip(gradients[name], -maxValue, maxValue, out=gradients[name])",
    "        np.minimum(gradients[name], maxValue, out=gradients[name])\n"
    "        np.maximum(gradients[name], -maxValue, out=gradients[name])",
)
CLIP_BY_NAME = edited(
    "clip",
    '    for name in ["dWax", "dWaa", "dWya", "db", "dby"]:\n'
    "        np.clip(gradients[name], -maxValue, maxValue, out=gradients[name])",
    "    for gradient in gradients.values():\n        np.clip(gradient, -maxValue, maxValue, out=gradient)",
)
SAMPLE_MATMUL_FILL = edited(
    "sample",
    "        a = np.tanh(np.dot(Wax, x) + np.dot(Waa, a_prev) + b)\n        z = np.dot(Wya, a) + by",
    "        a = np.tanh(Wax @ x + Waa @ a_prev + b)\n        z = Wya @ a + by",
)
SAMPLE_MATMUL_FILL = SAMPLE_MATMUL_FILL.replace(
    "        x = np.zeros((vocab_size, 1))\n        x[idx] = 1", "        x.fill(0)\n        x[idx] = 1"
).replace(
    "idx = np.random.choice(list(range(vocab_size)), p=y.ravel())",
    "idx = np.random.choice(vocab_size, p=y[:, 0])",
)
OPTIMIZE_NAMED = edited("optimize", "    gradients = clip(gradients, 5)", "    gradients = clip(gradients, maxValue=5)")
MODEL_OTHER_XY = (
    edited(
        "model",
        "        single_example_ix = [char_to_ix[ch] for ch in single_example_chars]",
        "        single_example_ix = list(map(char_to_ix.get, single_example_chars))",
    )
    .replace("        X = [None] + single_example_ix", "        X = [None, *single_example_ix]")
    .replace(
        "        Y = X[1:] + [ix_newline]",
        "        Y = single_example_ix.copy()\n        Y.append(ix_newline)",
    )
    .replace("        idx = j % len(examples)", "        idx = j - len(examples) * (j // len(examples))")
)

CLIP_MASKS = edited(
    "clip",
    "        np.clip(gradients[name], -maxValue, maxValue, out=gradients[name])",
    "        gradient = gradients[name]\n"
    "        gradient[gradient > maxValue] = maxValue\n"
    "        gradient[gradient < -maxValue] = -maxValue",
)
OPTIMIZE_INLINE = (
    edited("optimize", "    parameters = update_parameters(", "    update_parameters(")
    .replace("    a_last = a[len(X) - 1]  # the hidden state after the name's last character\n", "")
    .replace("return loss, gradients, a_last", "return loss, gradients, a[len(X) - 1]")
)

STYLES = {
    "clip": CLIP_MIN_MAX,
    "sample": SAMPLE_MATMUL_FILL,
    "optimize": OPTIMIZE_NAMED,
    "model": MODEL_OTHER_XY,
}
# Every correct version kept in the project, besides the instructor's own (audit grades them all).
CORRECT = {
    "clip": (CLIP_MIN_MAX, CLIP_BY_NAME, CLIP_MASKS),
    "sample": (SAMPLE_MATMUL_FILL,),
    "optimize": (OPTIMIZE_NAMED, OPTIMIZE_INLINE),
    "model": (MODEL_OTHER_XY,),
}

# ---------------------------------------------------------------- typical mistakes

CLIP_NO_OUT = edited(
    "clip",
    "np.clip(gradients[name], -maxValue, maxValue, out=gradients[name])",
    "np.clip(gradients[name], -maxValue, maxValue)",
)
CLIP_WRONG_RANGE = edited(
    "clip",
    "np.clip(gradients[name], -maxValue, maxValue, out=gradients[name])",
    "np.clip(gradients[name], 0, maxValue, out=gradients[name])",
)
CLIP_LEAVES_ONE_OUT = edited(
    "clip", 'for name in ["dWax", "dWaa", "dWya", "db", "dby"]:', 'for name in ["dWax", "dWaa", "dWya", "db"]:'
)

SAMPLE_NO_CAP = edited("sample", "while idx != newline_ix and step != 50:", "while idx != newline_ix:")
SAMPLE_NO_RESEED = edited("sample", "        np.random.seed(step + seed)\n", "")
SAMPLE_ARGMAX = edited(
    "sample", "idx = np.random.choice(list(range(vocab_size)), p=y.ravel())", "idx = int(np.argmax(y))"
)
SAMPLE_NO_STATE = edited("sample", "        a_prev = a\n", "        a_prev = a_prev\n")
SAMPLE_VALUES = edited(
    "sample",
    "np.random.choice(list(range(vocab_size)), p=y.ravel())",
    "np.random.choice(list(char_to_ix.values()), p=y.ravel())",
)

OPTIMIZE_NO_CLIP = edited("optimize", "    gradients = clip(gradients, 5)\n", "")
OPTIMIZE_CLIP_10 = edited("optimize", "clip(gradients, 5)", "clip(gradients, 10)")
OPTIMIZE_FIRST_STATE = edited("optimize", "a_last = a[len(X) - 1]", "a_last = a[-1]")
OPTIMIZE_FIXED_RATE = edited(
    "optimize",
    "update_parameters(parameters, gradients, learning_rate)",
    "update_parameters(parameters, gradients, 0.01)",
)

MODEL_NO_NONE = edited("model", "X = [None] + single_example_ix", "X = single_example_ix")
MODEL_NO_NEWLINE = edited("model", "Y = X[1:] + [ix_newline]", "Y = X[1:]")
MODEL_NO_MODULO = edited("model", "idx = j % len(examples)", "idx = j")
MODEL_RATE = edited("model", "learning_rate = 0.01)", "learning_rate = 0.05)")
MODEL_RESET_STATE = edited(
    "model",
    "example_loss, gradients, a_prev = optimize(X, Y, a_prev, parameters, learning_rate = 0.01)",
    "example_loss, gradients, _ = optimize(X, Y, np.zeros((n_a, 1)), parameters, learning_rate = 0.01)",
)
MODEL_GLOBALS = edited(
    "model",
    "single_example_ix = [char_to_ix[ch] for ch in single_example_chars]",
    "single_example_ix = [sorted(set(data)).index(ch) for ch in single_example_chars]",
)
MODEL_FAKE = edited("model", "    return parameters, last_dino_name", "    return parameters, 'Trodonosaurus\\n'")
MODEL_FAKE = MODEL_FAKE.replace("    for j in range(num_iterations):", "    for j in range(0):")

# The same mistakes as some of the catalogue's (autograder/faults/), written as a student would:
# the grader must recognise the behaviour, whatever the code looks like.
CLIP_BOUND_10 = edited(
    "clip",
    "np.clip(gradients[name], -maxValue, maxValue, out=gradients[name])",
    "gradients[name] = np.maximum(np.minimum(gradients[name], 10), -10)",
)
SAMPLE_RELU = edited(
    "sample",
    "a = np.tanh(np.dot(Wax, x) + np.dot(Waa, a_prev) + b)",
    "a = np.dot(Wax, x) + np.dot(Waa, a_prev) + b\n        a = a * (a > 0)",
)
SAMPLE_NO_BY = edited("sample", "z = np.dot(Wya, a) + by", "z = Wya @ a")
SAMPLE_SEED_AFTER = edited(
    "sample",
    "        np.random.seed(step + seed)\n",
    "",
).replace("        indices.append(idx)\n", "        indices.append(idx)\n        np.random.seed(step + seed)\n")
MODEL_SAME_SEED = edited(
    "model",
    "last_dino_name = get_sample(sample(parameters, char_to_ix, name_seed), ix_to_char)",
    "last_dino_name = get_sample(sample(parameters, char_to_ix, seed=0), ix_to_char)",
)
MODEL_X_NEWLINE = edited("model", "X = [None] + single_example_ix", 'X = [char_to_ix["\\n"]] + single_example_ix')
