"""Character-level recurrent networks on any text, in numpy, with the reproducible arithmetic of utils.

    from charrnn import Vocabulary, CharModel, train

A vanilla RNN or LSTM, one or more layers, trained on windows of ``seq_length`` characters
with the hidden state carried from window to window (truncated backpropagation through
time), SGD or Adagrad, element-wise or global-norm clipping, sampling from a prompt with a
temperature, and ``.npz`` checkpoints.  ``python -m charrnn --help`` for the command line.
"""

from .checkpoint import CheckpointError, load, load_extras, save
from .model import CharModel
from .optim import SGD, Adagrad, clip_elementwise, clip_global_norm
from .text import Vocabulary
from .train import train

__all__ = [
    "Adagrad",
    "CharModel",
    "CheckpointError",
    "SGD",
    "Vocabulary",
    "clip_elementwise",
    "clip_global_norm",
    "load",
    "load_extras",
    "save",
    "train",
]
