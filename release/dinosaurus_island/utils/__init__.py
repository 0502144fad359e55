"""Helpers for the Dinosaurus Island assignment: ``from utils import *``.

What you get:

- ``softmax``, ``smooth``, ``get_initial_loss``
- ``initialize_parameters``, ``update_parameters``
- ``rnn_step_forward``, ``rnn_step_backward`` (one time step, as in the equations)
- ``rnn_forward``, ``rnn_backward`` (a whole name at once)
- ``get_sample``, ``print_sample`` (turn sampled indices into a name)
- ``training_path`` (says whether training runs compiled by numba or in plain numpy)

All of them use the reproducible arithmetic in ``utils/exact.py`` instead of
``np.dot``, ``np.exp`` and ``np.tanh``: the results are identical to the last bit
on every computer, so the expected outputs printed in the notebook are exactly
what you will see. See that file for why and how. (If numba is installed, the
training loops run compiled, from ``utils/_compiled.py``: same numbers, faster.  The
first training compiles them, a few seconds, and keeps the result in
``utils/__pycache__`` for the next time.)
"""

from .rnn import (
    get_initial_loss,
    get_sample,
    initialize_parameters,
    print_sample,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
    smooth,
    softmax,
    training_path,
    update_parameters,
)

__all__ = [
    "get_initial_loss",
    "get_sample",
    "initialize_parameters",
    "print_sample",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "smooth",
    "softmax",
    "training_path",
    "update_parameters",
]
