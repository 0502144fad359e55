"""charrnn: gradients against finite differences, the update rules against their formulas,
sampling at temperature 0, learning a small corpus, and the command line."""

import copy
import subprocess
import sys

import numpy as np
import pytest

from autograder.paths import SOURCE_DIR
from charrnn import Adagrad, CharModel, CheckpointError, Vocabulary, clip_global_norm, load, save, train


@pytest.mark.parametrize("cell, layers", [("rnn", 1), ("rnn", 2), ("lstm", 1), ("lstm", 2)])
def test_do_the_gradients_match_finite_differences(cell, layers):
    model = CharModel(vocab_size=5, hidden=4, layers=layers, cell=cell).init(seed=3)
    for name in model.params:  # bigger weights than at initialisation, so every path matters
        model.params[name] = model.params[name] + np.random.default_rng(7).standard_normal(model.params[name].shape)
    inputs, targets = [0, 3, 1, 4, 2, 2], [3, 1, 4, 2, 2, 0]
    states = [tuple(s + 0.1 for s in state) for state in model.zero_state()]
    _, grads, _ = model.loss_and_gradients(inputs, targets, copy.deepcopy(states))
    eps = 1e-6
    for name, value in model.params.items():
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            saved = value[index]
            value[index] = saved + eps
            up = model.loss_and_gradients(inputs, targets, copy.deepcopy(states))[0]
            value[index] = saved - eps
            down = model.loss_and_gradients(inputs, targets, copy.deepcopy(states))[0]
            value[index] = saved
            numeric[index] = (up - down) / (2 * eps)
        error = np.linalg.norm(grads[name] - numeric) / max(np.linalg.norm(grads[name] + numeric), 1e-12)
        assert error < 1e-6, (name, error)


def test_does_adagrad_follow_its_formula():
    params, grads = {"w": np.array([[1.0, -2.0]])}, {"w": np.array([[0.5, 3.0]])}
    optimizer = Adagrad(lr=0.1)
    optimizer.update(params, grads)
    optimizer.update(params, grads)
    m1, m2 = grads["w"] ** 2, 2 * grads["w"] ** 2
    expected = np.array([[1.0, -2.0]]) - 0.1 * grads["w"] / np.sqrt(m1 + 1e-8) - 0.1 * grads["w"] / np.sqrt(m2 + 1e-8)
    assert np.allclose(params["w"], expected, rtol=1e-14)


def test_does_global_norm_clipping_scale_all_gradients_together():
    grads = {"a": np.array([3.0]), "b": np.array([[4.0]])}
    clip_global_norm(grads, 1.0)
    assert np.isclose(np.sqrt(grads["a"][0] ** 2 + grads["b"][0, 0] ** 2), 1.0)
    assert np.isclose(grads["a"][0] / grads["b"][0, 0], 0.75)


def test_is_temperature_zero_the_argmax_and_a_tiny_temperature_close_to_it():
    model = CharModel(vocab_size=6, hidden=8).init(seed=1)
    for name in model.params:
        model.params[name] = model.params[name] * 100
    greedy = model.sample([2, 3], 20, temperature=0)
    states, chain, ix = model.zero_state(), [], None
    for ix in [2, 3]:
        p, states, _ = model.step(ix, states)
    for _ in range(20):
        ix = int(np.argmax(p))
        chain.append(ix)
        p, states, _ = model.step(ix, states)
    assert greedy == chain
    assert model.sample([2, 3], 20, temperature=1e-3, seed=5) == greedy


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_does_training_on_a_tiny_corpus_lower_the_loss(cell):
    text = "the cat sat on the mat. " * 8
    _, model, losses = train(text, steps=300, seq_length=12, hidden=24, cell=cell, lr=0.1, seed=0)
    assert losses[-1] < 0.8 * losses[0]


def test_does_a_checkpoint_round_trip(tmp_path):
    vocabulary, model, _ = train("abcabcabc", steps=5, seq_length=4, hidden=6, layers=2, cell="lstm")
    save(tmp_path / "m.npz", model, vocabulary)
    loaded, loaded_vocabulary = load(tmp_path / "m.npz")
    assert loaded_vocabulary == vocabulary and loaded.config == model.config
    assert all(np.array_equal(loaded.params[k], model.params[k]) for k in model.params)
    (tmp_path / "bad.npz").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        load(tmp_path / "bad.npz")


def test_does_the_command_line_learn_a_corpus_and_write_with_it(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("hello world. hello there. hello again.\n" * 3)
    checkpoint = tmp_path / "m.npz"
    run = [sys.executable, "-m", "charrnn"]
    done = subprocess.run(
        [
            *run,
            "train",
            str(corpus),
            "--steps",
            "300",
            "--hidden",
            "24",
            "--seq-length",
            "10",
            "--out",
            str(checkpoint),
        ],
        cwd=SOURCE_DIR,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    first, last = (float(x) for x in done.stdout.split("smooth loss ")[1].split(" after")[0].split(" → "))
    assert last < first
    done = subprocess.run(
        [*run, "sample", str(checkpoint), "--prompt", "hel", "--temperature", "0", "--length", "5"],
        cwd=SOURCE_DIR,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and done.stdout.startswith("hello")
    for arguments, message in [
        (["sample", str(checkpoint), "--prompt", "Q"], "never saw"),
        (["sample", str(tmp_path / "none.npz"), "--prompt", "h"], "no such file"),
        (["train", str(tmp_path / "none.txt"), "--steps", "1", "--out", "x.npz"], "no such file"),
    ]:
        done = subprocess.run([*run, *arguments], cwd=SOURCE_DIR, capture_output=True, text=True)
        assert done.returncode == 2 and message in done.stderr


def test_does_the_vocabulary_refuse_unknown_characters():
    with pytest.raises(ValueError, match="never saw"):
        Vocabulary.of("abc").encode("abd")


def test_do_the_shipped_weights_load_sample_and_beat_the_unigram_baseline():
    from autograder.paths import RELEASE_DIR, SOURCE_DIR
    from charrnn import load_extras

    for folder in (SOURCE_DIR, RELEASE_DIR):
        model, vocabulary = load(folder / "sonnets.npz")
        assert model.cell_name == "lstm" and model.n_layers == 2
        text = vocabulary.decode(model.sample(vocabulary.encode("Shall I "), 60, temperature=0.6, seed=0))
        assert len(text) == 60
    facts = load_extras(SOURCE_DIR / "sonnets.npz")
    assert float(facts["held_out_loss"]) < float(facts["unigram_loss"])
    assert len(facts["dino_losses"]) == 12 and abs(float(facts["dino_losses"][-1]) - 22.798145) < 1e-6
