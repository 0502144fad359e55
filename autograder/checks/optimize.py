"""Hidden checks of ``optimize(X, Y, a_prev, parameters, learning_rate)``; clip is the reference one."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from assignment import EXERCISES, VISIBLE_INPUTS
from utils import rnn_backward, rnn_forward

from ..sandbox.messages import Observation
from .base import Case, Cause, Check, FunctionSpec, Observed, Verdict, partial, random_parameters, rnn_calls, same

KEYS = ("dWax", "dWaa", "dWya", "db", "dby")
RETURNS = "optimize must return three values: loss, gradients, a[len(X)-1]."


VISIBLE = VISIBLE_INPUTS["optimize"]


def visible_inputs() -> tuple:
    """The visible test's inputs (assignment.VISIBLE_INPUTS): a_prev drawn first, then Wax, Waa, Wya, b, by."""
    np.random.seed(VISIBLE["seed"])
    n_a, size = VISIBLE["n_a"], VISIBLE["vocab_size"]
    a_prev = np.random.randn(n_a, 1)
    parameters = random_parameters(n_a, size, size)
    return list(VISIBLE["X"]), list(VISIBLE["Y"]), a_prev, parameters


def hidden_inputs(seed: int, n_x: int, n_a: int, scale: float, X: list[int], Y: list[int]) -> tuple:
    parameters = random_parameters(n_a, n_x, n_x, seed=seed, scale=scale)
    a_prev = np.random.randn(n_a, 1) * 0.5
    return X, Y, a_prev, parameters


def cases() -> list[Case]:
    return [with_calls_allowed(case) for case in _cases()]


def with_calls_allowed(case: Case) -> Case:
    """A correct optimize calls clip once, on gradients of the case's shapes."""
    X, _, a_prev, parameters = case.args
    n_y, n_a = parameters["Wya"].shape
    return replace(case, calls_allowed=rnn_calls(n_a, n_y, len(X) - 1, clip=1))


def _cases():
    return [
        Case("visible", visible_inputs(), {"learning_rate": VISIBLE["learning_rate"]}, return_args=(2, 3)),
        Case(
            "learning-rate",
            hidden_inputs(21, 10, 20, 1.0, [None, 3, 1, 4, 1, 5], [3, 1, 4, 1, 5, 9]),
            {"learning_rate": 0.05},
            return_args=(2, 3),
        ),
        Case(
            "zero-rate",
            hidden_inputs(22, 27, 50, 1.0, [None, 8, 5, 12, 12, 15], [8, 5, 12, 12, 15, 0]),
            {"learning_rate": 0.0},
            return_args=(2, 3),
        ),
        Case(
            "large-gradients",
            hidden_inputs(23, 12, 30, 4.0, [None, 1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 7, 0]),
            {"learning_rate": 0.01},
            return_args=(2, 3),
        ),
    ]


INPUTS = {case.id: case for case in cases()}
ALL = tuple(INPUTS)


def raw_gradients(case_id: str) -> dict[str, np.ndarray]:
    """What rnn_backward gives before any clipping, from the provided helpers."""
    X, Y, a_prev, parameters = INPUTS[case_id].args
    _, cache = rnn_forward(X, Y, a_prev, parameters)
    gradients, _ = rnn_backward(X, Y, parameters, cache)
    return gradients


def unpack(observed: Observation) -> tuple | None:
    result = observed.result
    if not (isinstance(result, tuple) and len(result) == 3 and isinstance(result[1], dict)):
        return None
    return result


def returned(student: Observed) -> list[tuple[str, tuple]] | None:
    """[(case id, (loss, gradients, a_last))] for every case, or None if any case returned something else."""
    pairs = [(case_id, unpack(student[case_id])) for case_id in ALL]
    return None if any(result is None for _, result in pairs) else pairs


def differing(pairs: list[tuple[str, tuple]], position: int, expected: Observed) -> list[str]:
    """The case ids whose returned value at ``position`` differs from the reference's."""
    return [case_id for case_id, result in pairs if not same(result[position], expected[case_id].result[position])]


def returns_loss(student: Observed, expected: Observed) -> Verdict:
    pairs = returned(student)
    if pairs is None:
        return RETURNS
    wrong = differing(pairs, 0, expected)
    if wrong:
        return f"the returned loss differs from the expected one in {len(wrong)} of {len(ALL)} calls."
    return None


def clipping_bound(gradients: dict[str, np.ndarray], raw: dict[str, np.ndarray]) -> float | None:
    """The bound c for which ``gradients`` are rnn_backward's ``raw`` gradients clipped to
    [-c, c] (read from the outputs, so any constant is recognised); inf when they are the raw
    ones; None when they are neither."""
    if not all(isinstance(gradients.get(key), np.ndarray) for key in KEYS):
        return None
    if same(gradients, raw):
        return np.inf
    bound = max(float(np.max(np.abs(gradients[key]))) for key in KEYS)
    if bound > 0 and same(gradients, {key: np.clip(raw[key], -bound, bound) for key in KEYS}):
        return bound
    return None


def clipped_gradients(student: Observed, expected: Observed) -> Verdict:
    pairs = returned(student)
    if pairs is None:
        return RETURNS
    right = [key for key in KEYS if all(same(r[1].get(key), expected[c].result[1][key]) for c, r in pairs)]
    if len(right) == len(KEYS):
        return None
    for case_id, result in pairs:
        gradients = {key: result[1].get(key) for key in KEYS}
        if same(gradients, expected[case_id].result[1]):
            continue
        bound = clipping_bound(gradients, raw_gradients(case_id))
        if bound == np.inf:
            return Cause(
                "the returned gradients are rnn_backward's before clipping: clip them with clip(gradients, 5)."
            )
        if bound is not None:
            return Cause(f"the returned gradients are rnn_backward's clipped to [-{bound:g}, {bound:g}], not [-5, 5].")
        wrong = [key for key in KEYS if key not in right]
        feedback = f"the returned {', '.join(wrong)} differ from rnn_backward's gradients clipped to [-5, 5]."
        return partial(len(right), len(KEYS), feedback)
    return None


def step_taken(
    before: dict[str, np.ndarray], after: dict[str, np.ndarray], gradients: dict[str, np.ndarray]
) -> float | None:
    """The learning rate r with after = before - r * gradients, for every parameter; None if none fits."""
    keys = list(before)
    if not all(isinstance(after.get(k), np.ndarray) and isinstance(gradients.get("d" + k), np.ndarray) for k in keys):
        return None
    moved = np.concatenate([(before[k] - after[k]).ravel() for k in keys])
    step = np.concatenate([np.asarray(gradients["d" + k], dtype=float).ravel() for k in keys])
    if moved.shape != step.shape or not np.any(step):
        return None
    rate = float(moved @ step / (step @ step))
    return rate if same(after, {k: before[k] - rate * gradients["d" + k] for k in keys}) else None


def updates_parameters(student: Observed, expected: Observed) -> Verdict:
    """Judged against the student's own gradients when those are rnn_backward's (clipped or not):
    a wrong clip costs the gradients' check, not this one too."""
    pairs = returned(student)
    if pairs is None:
        return RETURNS
    for case_id, result in pairs:
        after = student[case_id].args_after[1]
        if same(after, expected[case_id].args_after[1]):
            continue
        before, rate = INPUTS[case_id].args[3], INPUTS[case_id].kwargs["learning_rate"]
        own = {key: result[1].get(key) for key in KEYS}
        if clipping_bound(own, raw_gradients(case_id)) is not None:
            if same(after, {k: before[k] - rate * own["d" + k] for k in before}):
                continue  # the right step for the gradients this optimize computed
            used = own
        else:
            used = expected[case_id].result[1]
        if rate != 0 and same(after, before, rtol=0, atol=0):
            return "the parameters passed in are unchanged after the step: update them in place with update_parameters."
        taken = step_taken(before, after, used)
        if taken is not None and not np.isclose(taken, rate):
            return Cause(
                f"the parameters were updated with the learning rate {taken:g} whatever learning_rate was "
                f"(here {rate:g}): pass learning_rate on to update_parameters."
            )
        raw = raw_gradients(case_id)
        if same(after, {k: before[k] - rate * raw["d" + k] for k in before}):
            return Cause("the parameters were updated with the gradients from before clipping.")
        wrong = [k for k in before if not same(after.get(k), expected[case_id].args_after[1][k])]
        return f"after the step, the parameters passed in differ from the expected ones ({', '.join(wrong)})."
    return None


def returns_last_state(student: Observed, expected: Observed) -> Verdict:
    pairs = returned(student)
    if pairs is None:
        return RETURNS
    for case_id, result in pairs:
        if same(result[2], expected[case_id].result[2]):
            continue
        if same(result[2], INPUTS[case_id].args[2]):
            return "the returned hidden state is a_prev, the state before the first step."
        return "the returned hidden state is not the state after the last step."
    return None


SPEC = FunctionSpec(
    exercise=EXERCISES["optimize"],
    cases=cases,
    checks=(
        Check("returns the loss of the forward pass", 4, ALL, returns_loss),
        Check("returns the gradients clipped to [-5, 5]", 5, ALL, clipped_gradients),
        Check("updates the parameters in place with learning_rate", 6, ALL, updates_parameters),
        Check("returns the hidden state after the last step", 5, ALL, returns_last_state),
    ),
)
