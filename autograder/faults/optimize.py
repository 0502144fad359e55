"""Mistakes in ``optimize``: edits of the reference's body (see faults/__init__.py)."""

from .base import mistake

CLIP = "    gradients = clip(gradients, 5)\n"
UPDATE = "    parameters = update_parameters(parameters, gradients, learning_rate)\n"

UNCLIPPED = (
    "optimize neither uses nor returns clipped gradients: call gradients = clip(gradients, 5) after "
    "rnn_backward and keep what clip returns (it returns a clipped copy)."
)
OTHER_BOUND = "optimize clips the gradients to another bound: this step clips to [-5, 5], clip(gradients, 5)."
STATE_BEFORE = (
    "optimize returns the hidden state from before the first step (a_prev, which the cache's a[-1] also holds): "
    "return a[len(X) - 1], the state after the last step."
)
NOT_UPDATED = (
    "optimize leaves the caller's parameters as they were: call update_parameters(parameters, gradients, "
    "learning_rate) on the dictionary optimize received (it changes that dictionary in place)."
)

MISTAKES = (
    mistake("no-clip", UNCLIPPED, (CLIP, "")),
    mistake("clip-result-discarded", UNCLIPPED, (CLIP, "    clip(gradients, 5)\n")),
    mistake("clip-at-10", OTHER_BOUND, ("clip(gradients, 5)", "clip(gradients, 10)")),
    mistake("clip-at-1", OTHER_BOUND, ("clip(gradients, 5)", "clip(gradients, 1)")),
    mistake(
        "clip-after-update",
        "optimize updates the parameters with the gradients before clipping them: clip first, then call "
        "update_parameters with the clipped gradients.",
        (CLIP + UPDATE, UPDATE + CLIP),
    ),
    mistake(
        "returns-unclipped",
        "optimize returns the gradients from before clipping: return the clipped ones, which the update used.",
        (
            CLIP + UPDATE,
            "    clipped = clip(gradients, 5)\n"
            "    parameters = update_parameters(parameters, clipped, learning_rate)\n",
        ),
    ),
    mistake(
        "fixed-learning-rate",
        "optimize ignores its learning_rate argument: pass learning_rate to update_parameters, not a number.",
        ("update_parameters(parameters, gradients, learning_rate)", "update_parameters(parameters, gradients, 0.01)"),
    ),
    mistake(
        "ascends",
        "optimize moves the parameters up the gradient: pass learning_rate itself to update_parameters, "
        "which subtracts learning_rate times each gradient.",
        (
            "update_parameters(parameters, gradients, learning_rate)",
            "update_parameters(parameters, gradients, -learning_rate)",
        ),
    ),
    mistake(
        "updates-twice",
        "optimize updates the parameters twice: call update_parameters once.",
        (UPDATE, UPDATE + UPDATE),
    ),
    mistake("no-update", NOT_UPDATED, (UPDATE, "")),
    mistake(
        "updates-a-copy",
        NOT_UPDATED,
        (UPDATE, "    parameters = update_parameters(copy.deepcopy(parameters), gradients, learning_rate)\n"),
    ),
    mistake("returns-first-state", STATE_BEFORE, ("a_last = a[len(X) - 1]", "a_last = a[-1]")),
    mistake("returns-a_prev", STATE_BEFORE, ("a_last = a[len(X) - 1]", "a_last = a_prev")),
    mistake(
        "returns-state-before-last",
        "optimize returns the hidden state one step before the last: return a[len(X) - 1].",
        ("a_last = a[len(X) - 1]", "a_last = a[len(X) - 2]"),
    ),
    mistake(
        "returns-state-past-the-end",
        "optimize asks the cache for a[len(X)], a step that does not exist: the last state is a[len(X) - 1].",
        ("a_last = a[len(X) - 1]", "a_last = a[len(X)]"),
    ),
    mistake(
        "ignores-a_prev",
        "optimize starts the forward pass from zeros instead of a_prev: call rnn_forward(X, Y, a_prev, parameters).",
        ("rnn_forward(X, Y, a_prev, parameters)", "rnn_forward(X, Y, np.zeros_like(a_prev), parameters)"),
    ),
    mistake(
        "returns-out-of-order",
        "optimize returns its three values in another order: return loss, gradients, a[len(X) - 1].",
        ("return (loss, gradients, a_last)", "return (gradients, loss, a_last)"),
    ),
)
