"""Checkpoints as .npz: the parameters, the model's configuration and its vocabulary."""

import json
from pathlib import Path

import numpy as np

from .model import CharModel
from .text import Vocabulary


class CheckpointError(ValueError):
    """A file that is not a charrnn checkpoint, or a damaged one."""


def save(path, model, vocabulary, **extras):
    """Write the model; ``extras`` (arrays or numbers, e.g. the loss curve) are stored beside it."""
    meta = json.dumps({"format": "charrnn-1", "config": model.config, "chars": vocabulary.chars})
    arrays = {f"p:{k}": v for k, v in model.params.items()}
    arrays.update({f"x:{k}": np.asarray(v) for k, v in extras.items()})
    np.savez(path, __meta__=np.array(meta), **arrays)


def load_extras(path):
    """The extras stored with ``save``."""
    with np.load(path, allow_pickle=False) as archive:
        return {k[2:]: archive[k] for k in archive.files if k.startswith("x:")}


def load(path):
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["__meta__"]))
            params = {k[2:]: archive[k] for k in archive.files if k.startswith("p:")}
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} is not a charrnn checkpoint ({error})") from None
    if meta.get("format") != "charrnn-1":
        raise CheckpointError(f"{path} is not a charrnn checkpoint")
    model = CharModel(**meta["config"]).init()
    if set(params) != set(model.params) or any(params[k].shape != model.params[k].shape for k in params):
        raise CheckpointError(f"{path}: the parameters do not match the configuration {meta['config']}")
    model.params = params
    return model, Vocabulary(meta["chars"])
