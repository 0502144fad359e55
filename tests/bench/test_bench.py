"""bench/: the yardstick trains the same model, and the targets are computed and enforced as stated.

Timings themselves are not tested (they belong to ``python -m bench``); these tests check that
the baseline is a fair comparison and that the command reports what it measured."""

import contextlib
import io
import json

import numpy as np
import pytest

import bench.__main__ as bench_main
from autograder.solution import dinosaur_data, load_solution
from bench.baseline import train


def test_does_the_baseline_train_the_same_model_as_the_solution():
    """Same data order, initialisation and SGD: after 300 steps the weights agree to rounding."""
    names, ix_to_char, char_to_ix = dinosaur_data()
    with contextlib.redirect_stdout(io.StringIO()):
        ours, _ = load_solution()["model"](names, ix_to_char, char_to_ix, 300)
    theirs, lines = train(names, ix_to_char, char_to_ix, 300)
    assert sorted(ours) == sorted(theirs)
    for name in ours:
        assert np.allclose(ours[name], theirs[name], rtol=1e-9, atol=1e-12), name
        assert not np.array_equal(ours[name], np.zeros_like(ours[name])), name
    assert lines[0] == "Iteration: 0, Loss: 23.087336"  # the seed's first printed loss


COMPILED = "utils: training runs compiled by numba 0.68.1 (same numbers as plain numpy, faster)"
EXTRAS = {
    "canonical": {"canonical": True},
    "baseline": {"last_name": "x"},
    "grade": {"score": 100.0},
    "batch": {"scores": [100.0]},
    "dask": {"scores": [100.0]},
    "student-first": {"path": COMPILED},
    "student-again": {"path": COMPILED},
    "student-numpy": {"path": "utils: training runs in plain numpy, as DINO_PURE_NUMPY asks"},
    "student-baseline": {"path": ""},
    "blank-lines": {"found": ["clip"]},
}
# a/b 0.4, c/a 1.25, d/(8c) 0.5, g/f 1.1, s1/sb 0.83, s2/sb 0.33, h4/h1 4: every target met
MET = {"canonical": 4.0, "baseline": 10.0, "grade": 5.0, "batch": 20.0, "dask": 22.0,
       "student-first": 5.0, "student-again": 2.0, "student-numpy": 17.0, "student-baseline": 6.0,
       "blank-lines 1000000": 0.05, "blank-lines 4000000": 0.2}  # fmt: skip


def fake_measurements(seconds, log, extras=EXTRAS):
    def measure(what, *args):
        log.append(what)
        key = what if what in seconds else f"{what} {args[0]}"  # blank-lines is timed at two sizes
        return {"seconds": seconds[key], "rss_mb": 50.0, "children_rss_mb": 140.0, **extras[what]}

    return measure


@pytest.mark.parametrize(
    "changes, met",
    [
        ({}, True),
        ({"canonical": 6.0}, False),  # a/b 0.6
        ({"grade": 7.0}, False),  # c/a 1.75
        ({"batch": 30.0, "dask": 33.0}, False),  # d/(8c) 0.75
        ({"dask": 24.0}, False),  # g/f 1.2
        ({"student-first": 7.0}, False),  # s1/sb 1.17
        ({"student-again": 3.5}, False),  # s2/sb 0.58
        ({"blank-lines 4000000": 0.8}, False),  # h4/h1 16: quadratic
    ],
)
def test_are_the_ratios_computed_in_rounds_and_a_missed_target_a_failure(changes, met, monkeypatch, tmp_path):
    seconds = {**MET, **changes}
    log = []
    monkeypatch.setattr(bench_main, "measure", fake_measurements(seconds, log))
    out = tmp_path / "results.json"
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        status = bench_main.main(["--repeat", "3", "--json", str(out)])
    # interleaved rounds (e grades too; f is a batch)
    assert log == ["canonical", "baseline", "grade", "batch", "grade", "batch", "dask",
                   "student-first", "student-again", "student-numpy", "student-baseline", "blank-lines",
                   "blank-lines"] * 3  # fmt: skip
    result = json.loads(out.read_text())
    a, b, c, d, g = (seconds[k] for k in ("canonical", "baseline", "grade", "batch", "dask"))
    s1, s2, sn, sb = (seconds[k] for k in ("student-first", "student-again", "student-numpy", "student-baseline"))
    assert result["ratios"] == pytest.approx(
        {"a/b": a / b, "c/a": c / a, "d/(8c)": d / (8 * c), "g/f": g / d, "s1/sb": s1 / sb, "s2/sb": s2 / sb,
         "h4/h1": seconds["blank-lines 4000000"] / seconds["blank-lines 1000000"]}
    )  # fmt: skip
    # e is timed by the same fake "grade", f by the same fake "batch"
    assert result["reported_ratios"] == pytest.approx(
        {"e/a": c / a, "sn/sb": sn / sb, "dask_overhead_seconds_per_submission": (g - d) / 16}
    )
    assert status == (0 if met else 1)
    assert ("MISSED" in printed.getvalue()) == (not met)


def test_is_a_student_run_on_the_wrong_path_a_failure(monkeypatch, tmp_path):
    """Timings of a 'compiled' run that fell back to numpy would compare the wrong things."""
    extras = {**EXTRAS, "student-first": {"path": "utils: training runs in plain numpy (same numbers; …)"}}
    monkeypatch.setattr(bench_main, "measure", fake_measurements(MET, [], extras))
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        status = bench_main.main(["--repeat", "3", "--json", str(tmp_path / "r.json")])
    assert status == 1 and "student runs on the path they claim: False" in printed.getvalue()


def test_is_a_median_of_fewer_than_three_refused(tmp_path):
    with pytest.raises(SystemExit) as stopped, contextlib.redirect_stderr(io.StringIO()):
        bench_main.main(["--repeat", "2", "--json", str(tmp_path / "r.json")])
    assert stopped.value.code == 2
