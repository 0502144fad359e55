"""Hidden checks of ``clip(gradients, maxValue)``."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from assignment import EXERCISES, VISIBLE_INPUTS

from .base import Case, Cause, Check, FunctionSpec, Observed, Verdict, partial, same

KEYS = ("dWax", "dWaa", "dWya", "db", "dby")


def gradients(seed: int | None, n_a: int, n_x: int, scale: float) -> dict[str, np.ndarray]:
    np.random.seed(seed)
    shapes = {"dWax": (n_a, n_x), "dWaa": (n_a, n_a), "dWya": (n_x, n_a), "db": (n_a, 1), "dby": (n_x, 1)}
    return {key: np.random.randn(*shape) * scale for key, shape in shapes.items()}


VISIBLE = VISIBLE_INPUTS["clip"]


def visible_gradients() -> dict[str, np.ndarray]:
    """The visible test's inputs (assignment.VISIBLE_INPUTS), drawn as public_tests draws them."""
    np.random.seed(VISIBLE["seed"])
    return {key: np.random.randn(*shape) * VISIBLE["scale"] for key, shape in VISIBLE["shapes"].items()}


def cases() -> list[Case]:
    high, low = VISIBLE["bounds"]
    return [
        Case("visible-10", (visible_gradients(), high), return_args=(0,)),
        Case("visible-5", (visible_gradients(), low), return_args=(0,)),
        Case("bound-1.5", (gradients(11, 7, 4, 3.0), 1.5), return_args=(0,)),
        Case("bound-tiny", (gradients(12, 3, 6, 0.01), 0.002), return_args=(0,)),
        Case("nothing-to-clip", (gradients(13, 4, 5, 1.0), 100), return_args=(0,)),
    ]


ALL = ("visible-10", "visible-5", "bound-1.5", "bound-tiny", "nothing-to-clip")
VISIBLE_CASES = ("visible-10", "visible-5")
INPUTS = {case.id: case for case in cases()}


def returns_all_gradients(student: Observed, expected: Observed) -> Verdict:
    for case_id in ALL:
        result = student[case_id].result
        if not isinstance(result, dict):
            return "clip must return a dictionary of gradients."
        missing = [key for key in KEYS if key not in result]
        if missing:
            return f"clip must return all five gradients; {', '.join(missing)} missing."
        for key in KEYS:
            shape = np.shape(expected[case_id].result[key])
            if np.shape(result[key]) != shape:
                return f"{key} came back with shape {np.shape(result[key])} instead of {shape}."
    return None


def right_keys(student: Observed, expected: Observed, case_ids: Iterable[str]) -> list[str]:
    """The gradients that came back exactly as expected on every one of ``case_ids``."""
    return [
        key
        for key in KEYS
        if all(same(student[c].result.get(key), expected[c].result[key], rtol=0, atol=0) for c in case_ids)
    ]


def fixed_bound(student: Observed) -> float | None:
    """The one number c such that every gradient came back as np.clip(g, -c, c) on every case,
    when c is not maxValue on some case: a constant written where the argument belongs.  c is
    read from the outputs (the largest magnitude left where a larger one went in), so any
    constant is recognised, not only the usual ones.  None when there is no such c."""
    bounds = set()
    for case_id in student:
        before, result = INPUTS[case_id].args[0], student[case_id].result
        largest_in = max(float(np.max(np.abs(before[key]))) for key in KEYS)
        largest_out = max(float(np.max(np.abs(np.asarray(result[key], dtype=float)))) for key in KEYS)
        if largest_out < largest_in:  # something was cut: at largest_out, if by a bound
            bounds.add(largest_out)
    if len(bounds) != 1:
        return None
    (bound,) = bounds
    if bound <= 0 or all(INPUTS[c].args[1] == bound for c in student):
        return None
    for case_id in student:
        before, result = INPUTS[case_id].args[0], student[case_id].result
        if not all(np.array_equal(np.asarray(result[key]), np.clip(before[key], -bound, bound)) for key in KEYS):
            return None
    return bound


def fixed_bound_feedback(bound: float) -> Cause:
    return Cause(
        f"clip always clips to [-{bound:g}, {bound:g}], whatever maxValue is: the number {bound:g} is written "
        "where the argument belongs. Clip to -maxValue and maxValue."
    )


def within_bounds(student: Observed, expected: Observed) -> Verdict:
    outside = set()
    for case_id in ALL:
        bound = INPUTS[case_id].args[1]
        for key in KEYS:
            value = np.asarray(student[case_id].result.get(key, np.nan), dtype=float)
            if not np.all(np.abs(value) <= bound):
                outside.add(key)
    if not outside:
        return None
    bound = fixed_bound(student)
    if bound is not None:
        return fixed_bound_feedback(bound)
    names = "all five gradients" if outside == set(KEYS) else names_of(outside)
    feedback = f"{names} came back with values outside [-maxValue, maxValue]."
    return partial(len(KEYS) - len(outside), len(KEYS), feedback)


def exact_values(student: Observed, expected: Observed) -> Verdict:
    """Which values differ on the visible inputs: those inside the bounds, or those beyond them;
    each gradient right earns its share."""
    inside_changed, beyond_wrong = [], []
    for case_id in VISIBLE_CASES:
        bound = INPUTS[case_id].args[1]
        for key in KEYS:
            before = INPUTS[case_id].args[0][key]
            mine = np.asarray(student[case_id].result[key], dtype=float)
            inside = np.abs(before) <= bound
            if not np.array_equal(mine[inside], before[inside]):
                inside_changed.append(key)
            if not np.array_equal(mine[~inside], np.sign(before[~inside]) * bound):
                beyond_wrong.append(key)
    if not inside_changed and not beyond_wrong:
        return None
    bound = fixed_bound(student)
    if bound is not None:
        return fixed_bound_feedback(bound)
    facts = []
    if inside_changed:
        facts.append(f"values already inside [-maxValue, maxValue] changed ({names_of(inside_changed)})")
    if beyond_wrong:
        facts.append(
            f"values beyond the bounds did not become exactly -maxValue or maxValue ({names_of(beyond_wrong)})"
        )
    text = "; ".join(facts)
    right = len(right_keys(student, expected, VISIBLE_CASES))
    return partial(right, len(KEYS), text[:1].upper() + text[1:] + ".")


def names_of(keys: Iterable[str]) -> str:
    return ", ".join(key for key in KEYS if key in keys)


def uses_max_value(student: Observed, expected: Observed) -> Verdict:
    right = right_keys(student, expected, ALL)
    if len(right) == len(KEYS):
        return None
    bound = fixed_bound(student)
    if bound is not None:
        return fixed_bound_feedback(bound)
    if len(right_keys(student, expected, VISIBLE_CASES)) > len(right):
        feedback = "clip is right for the bounds 10 and 5 but gives other values for other bounds."
    else:
        feedback = f"clip is not yet right for the bounds 10 and 5 either ({names_of(set(KEYS) - set(right))})."
    return partial(len(right), len(KEYS), feedback)


def leaves_input_alone(student: Observed, expected: Observed) -> Verdict:
    for case_id in ALL:
        if not same(student[case_id].args_after[0], INPUTS[case_id].args[0], rtol=0, atol=0):
            return (
                "clip changed the arrays of the dictionary it was given; the caller's gradients must stay as they "
                "were (the first line copies every array)."
            )
    return None


SPEC = FunctionSpec(
    exercise=EXERCISES["clip"],
    cases=cases,
    checks=(
        Check("returns all five gradients with their shapes", 2, ALL, returns_all_gradients, stands_alone=False),
        Check("every gradient lies in [-maxValue, maxValue]", 8, ALL, within_bounds, stands_alone=False),
        Check(
            "values are clipped element-wise, the rest unchanged",
            4,
            VISIBLE_CASES,
            exact_values,
        ),
        Check("uses maxValue for any bound", 4, ALL, uses_max_value),
        Check("leaves the gradients passed in unchanged", 2, ALL, leaves_input_alone, stands_alone=False),
    ),
)
