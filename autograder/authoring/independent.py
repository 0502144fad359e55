"""Mistakes written independently of the fault catalogue, to measure the feedback honestly.

The catalogue (autograder/faults/) is what the grader recognises by its outputs, so grading it
measures the catalogue against itself.  These are written the way students write them, in the
cell as they hand it in, from the kinds of mistake that come up again and again in this
assignment's discussion threads and public repositories (wrong shapes, arguments spelt another
way, a constant where an argument belongs, a statement one indentation level off), and were not
used to write the catalogue or the checks.  ``python -m autograder audit`` grades each and
reports, apart from the catalogue's table:

- named first: the first failing message (the first check that failed for a reason of its own)
  matches ``names``, a pattern of what a teaching assistant would point at;
- misleading: some failing message matches a pattern of ``not_blamed``, something this
  submission does right;
- the points it keeps, and whether it keeps some (a near miss) or none.

Add mistakes here, never to tune the grader to them: a new one goes in as it was met, with the
patterns written before it is graded.
"""

from dataclasses import dataclass

from .factory import edited

CLIP_LINE = "        np.clip(gradients[name], -maxValue, maxValue, out=gradients[name])"
CLIP_LOOP = '    for name in ["dWax", "dWaa", "dWya", "db", "dby"]:\n' + CLIP_LINE
DRAW = "idx = np.random.choice(list(range(vocab_size)), p=y.ravel())"
STEP = "optimize(X, Y, a_prev, parameters, learning_rate = 0.01)"


@dataclass(frozen=True)
class Independent:
    function: str
    id: str
    source: str  # the whole graded cell, as handed in
    names: str  # regular expression: the first failing message names the cause
    not_blamed: tuple = ()  # regular expressions: statements that would blame what is right here
    near_miss: bool = False  # one slip in otherwise working code: it should keep part of the points


def clip_cell(old, new):
    return edited("clip", old, new)


MISTAKES = (
    Independent("clip", "out-is-the-key", clip_cell(CLIP_LOOP, "    for key in gradients:\n        np.clip(gradients[key], -maxValue, maxValue, out=key)"),
                r"out=", (r"outside \[-maxValue|fixed number|clips to",)),
    Independent("clip", "bound-of-two", clip_cell(CLIP_LINE, "        np.clip(gradients[name], -2, 2, out=gradients[name])"),
                r"\[-2, 2\]"),
    Independent("clip", "loop-variable-rebound", clip_cell(CLIP_LOOP, "    for g in gradients.values():\n        g = np.clip(g, -maxValue, maxValue)"),
                r"out=|np\.clip's result|unclipped", (r"shape",)),
    Independent("clip", "misspelt-key", clip_cell('"db", "dby"]', '"db", "dBy"]'),
                r"dBy"),
    Independent("clip", "argument-renamed", clip_cell(CLIP_LINE, "        np.clip(gradients[name], -max_value, max_value, out=gradients[name])"),
                r"max_value|not defined"),
    Independent("clip", "four-of-five", clip_cell('"db", "dby"]', '"db"]'),
                r"dby", (r"\b(dWax|dWaa|dWya|db) came back|\((dWax|dWaa|dWya|db)[,)]",), near_miss=True),
    Independent("sample", "x-flat", edited("sample", "    x = np.zeros((vocab_size, 1))\n    a_prev", "    x = np.zeros(vocab_size)\n    a_prev"),
                r"\bx is built at line"),
    Independent("sample", "p-not-flattened", edited("sample", DRAW, "idx = np.random.choice(range(vocab_size), p=y)"),
                r"y\.ravel\(\)|flat vector"),
    Independent("sample", "seed-grows-by-one", edited("sample", "np.random.seed(step + seed)", "np.random.seed(seed)"),
                r"seeds? .*step \+ seed", (r"hidden state", r"probabilities"), near_miss=True),
    Independent("sample", "list-reset-in-loop", edited("sample", "        indices.append(idx)\n", "        indices = []\n        indices.append(idx)\n"),
                r"sets indices again", (r"hidden state",)),
    Independent("sample", "one-hot-compared", edited("sample", "        x[idx] = 1\n", "        x[idx] == 1\n"),
                r"\bx\b"),
    Independent("sample", "softmax-of-hidden", edited("sample", "y = softmax(z)", "y = softmax(a)"),
                r"\by is an array of shape \(\d+, 1\) after line"),
    Independent("sample", "appends-before-drawing", edited("sample", "        idx = np.random.choice(list(range(vocab_size)), p=y.ravel())\n\n        # Add idx to the list of indices (≈1 line)\n        indices.append(idx)\n",
                "        indices.append(idx)\n        idx = np.random.choice(list(range(vocab_size)), p=y.ravel())\n\n"),
                r"\bindices\b"),
    Independent("sample", "no-tanh", edited("sample", "a = np.tanh(np.dot(Wax, x) + np.dot(Waa, a_prev) + b)", "a = np.dot(Wax, x) + np.dot(Waa, a_prev) + b"),
                r"\ba\b, computed at line|tanh", (r"seed",)),
    Independent("optimize", "keyword-of-another-name", edited("optimize", "clip(gradients, 5)", "clip(gradients, max_value=5)"),
                r"max_value"),
    Independent("optimize", "clip-result-dropped", edited("optimize", "    gradients = clip(gradients, 5)", "    clip(gradients, 5)"),
                r"before clipping|clipped gradients", (r"loss", r"hidden state"), near_miss=True),
    Independent("optimize", "fixed-rate", edited("optimize", "update_parameters(parameters, gradients, learning_rate)", "update_parameters(parameters, gradients, 0.05)"),
                r"learning rate 0\.05", (r"clipped", r"loss"), near_miss=True),
    Independent("optimize", "loss-given-as-cache", edited("optimize", "rnn_backward(X, Y, parameters, cache)", "rnn_backward(X, Y, parameters, loss)"),
                r"rnn_backward\(X, Y, parameters, loss\)"),
    Independent("optimize", "updates-before-clipping", edited("optimize", "    gradients = clip(gradients, 5)\n\n    # One gradient-descent step on the weights, in place (≈1 line)\n    parameters = update_parameters(parameters, gradients, learning_rate)\n",
                "    parameters = update_parameters(parameters, gradients, learning_rate)\n    gradients = clip(gradients, 5)\n"),
                r"before clipping", (r"loss",), near_miss=True),
    Independent("model", "returns-in-loop", edited("model", "    return parameters, last_dino_name", "        return parameters, last_dino_name"),
                r"returns during the first pass"),
    Independent("model", "index-without-modulo", edited("model", "idx = j % len(examples)", "idx = j"),
                r"j % len\(examples\)"),
    Independent("model", "newline-added-as-number", edited("model", "Y = X[1:] + [ix_newline]", "Y = X[1:] + ix_newline"),
                r"\[ix_newline\]|in a list"),
    Independent("model", "rate-of-a-tenth", edited("model", STEP, STEP.replace("0.01", "0.1")),
                r"learning rate 0\.1\b", (r"\bX\b", r"\bY\b")),
    Independent("model", "unshuffled-names", edited("model", "single_example = examples[idx]", "single_example = data_x[idx].strip()"),
                r"single_example|file's order|shuffle"),
)  # fmt: skip
