"""``python -m bench``: the speed and memory targets of the project, as ratios measured in one run.

(a) the canonical 22,001-iteration run through utils and the reference solution;
(b) the same training written the usual way (np.dot, np.tanh, np.exp), bench/baseline.py;
(c) the autograder grading one correct submission;
(d) a batch of 8 copies of it with --jobs 2;
(e) grading one submission whose model is wrong (learning rate 0.05): its model is run twice,
    first with the student's own helpers, then with the references served from outside the
    student's process (22,001 remote calls of optimize).  Reported, with no target.
(f) a batch of 16 copies of the correct submission with --jobs 2;
(g) the same 16 through ``--scheduler local:2`` (a Dask cluster of two single-threaded worker
    processes, started and stopped inside the time);
(h1, h4) finding the graded cells of a cell with 1 and 4 million empty lines before its def:
    the patterns are linear, so h4/h1 is near 4 (a backtracking pattern would give 16).
Each is timed in a fresh process, REPEAT times, in rounds (a, b, c, d, then again), so that a
slow spell of the machine touches every measurement alike; medians are compared.  Targets:
a/b <= 0.5 (with the canonical output unchanged), c/a <= 1.5, d/(8c) <= 0.6, g/f <= 1.15,
h4/h1 <= 6.
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"a/b": 0.5, "c/a": 1.5, "d/(8c)": 0.6, "g/f": 1.15, "s1/sb": 1.0, "s2/sb": 0.5, "h4/h1": 6.0}
BLANK_LINES = 1_000_000
DASK_BATCH = 16
LABELS = {
    "a": "canonical run (utils)",
    "b": "plain np.dot baseline",
    "c": "grade one submission",
    "d": "grade 8, --jobs 2",
    "e": "grade one, model wrong",
    "f": f"grade {DASK_BATCH}, --jobs 2",
    "g": f"grade {DASK_BATCH}, Dask local:2",
    "s1": "student: first run",
    "s2": "student: second run",
    "sn": "student: numpy only",
    "sb": "student: np.dot cell",
    "h1": "graded cells, 1M blank",
    "h4": "graded cells, 4M blank",
}


def ratio_values(median):
    """Every ratio whose measurements were taken: (targets, reported)."""
    formulas = {
        "a/b": ("a", "b", lambda m: m["a"] / m["b"]),
        "c/a": ("c", "a", lambda m: m["c"] / m["a"]),
        "d/(8c)": ("d", "c", lambda m: m["d"] / (8 * m["c"])),
        "g/f": ("g", "f", lambda m: m["g"] / m["f"]),
        "s1/sb": ("s1", "sb", lambda m: m["s1"] / m["sb"]),
        "s2/sb": ("s2", "sb", lambda m: m["s2"] / m["sb"]),
        "h4/h1": ("h4", "h1", lambda m: m["h4"] / m["h1"]),
        "e/a": ("e", "a", lambda m: m["e"] / m["a"]),
        "sn/sb": ("sn", "sb", lambda m: m["sn"] / m["sb"]),
        "dask_overhead_seconds_per_submission": ("g", "f", lambda m: (m["g"] - m["f"]) / DASK_BATCH),
    }
    values = {name: f(median) for name, (x, y, f) in formulas.items() if x in median and y in median}
    return {k: v for k, v in values.items() if k in TARGETS}, {k: v for k, v in values.items() if k not in TARGETS}


def measure(what, *args):
    done = subprocess.run(
        [sys.executable, "-m", "bench.measure", what, *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.measure {what} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def interleaved(plan, repeat):
    """Run every measurement of ``plan`` ({key: (what, *args)}) once per round, ``repeat`` rounds."""
    runs = {key: [] for key in plan}
    for round_number in range(1, repeat + 1):
        for key, (what, *args) in plan.items():
            runs[key].append(measure(what, *args))
        print(f"  round {round_number}: " + "  ".join(f"{k} {runs[k][-1]['seconds']:.2f}s" for k in plan), flush=True)
    return runs


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="rounds of measurements (at least 3)")
    parser.add_argument("--json", default="bench/results.json", help="where to write the results")
    parser.add_argument("--only", nargs="+", choices=LABELS, help="take only these measurements (and their ratios)")
    args = parser.parse_args(argv)
    if args.repeat < 3:
        parser.error("--repeat must be at least 3: a median needs three measurements")
    if args.only and {"s2", "sn"} & set(args.only) and "s1" not in args.only:
        parser.error("s2 and sn run in the folder that s1 prepares: add s1 to --only")

    from autograder.authoring import factory, styles
    from bench.student import write_folder

    work = Path(tempfile.mkdtemp(prefix="dino-bench-"))
    one = factory.write(factory.notebook(), work / "one" / "correct.ipynb")
    for i in range(8):
        shutil.copy(one, factory.write(factory.notebook(), work / "batch" / "submissions" / f"s{i}.ipynb"))
    (work / "batch16" / "submissions").mkdir(parents=True)
    for i in range(DASK_BATCH):
        shutil.copy(one, work / "batch16" / "submissions" / f"s{i}.ipynb")
    wrong = factory.write(factory.notebook({"model": styles.MODEL_RATE}), work / "wrong" / "wrong_model.ipynb")
    template = write_folder(factory.notebook(), work / "student-template")
    np_dot = write_folder(factory.notebook(), work / "student-np-dot", baseline=True)

    print("timing (each in a fresh process):")
    plan = {
        "a": ("canonical",),
        "b": ("baseline",),
        "c": ("grade", one),
        "d": ("batch", work / "batch"),
        "e": ("grade", wrong),
        "f": ("batch", work / "batch16"),
        "g": ("dask", work / "batch16"),
        "s1": ("student-first", template, work / "student"),
        "s2": ("student-again", work / "student"),
        "sn": ("student-numpy", work / "student"),
        "sb": ("student-baseline", np_dot),
        "h1": ("blank-lines", BLANK_LINES),
        "h4": ("blank-lines", 4 * BLANK_LINES),
    }
    if args.only:
        plan = {key: value for key, value in plan.items() if key in args.only}
    runs = interleaved(plan, args.repeat)
    shutil.rmtree(work, ignore_errors=True)
    median = {key: statistics.median(r["seconds"] for r in value) for key, value in runs.items()}
    ratios, reported = ratio_values(median)
    memory = {
        "a_peak_rss_mb": max((r["rss_mb"] for r in runs.get("a", [])), default=None),
        "c_grader_rss_mb": max((r["rss_mb"] for r in runs.get("c", [])), default=None),
        "c_sandbox_peak_rss_mb": max((r["children_rss_mb"] for r in runs.get("c", [])), default=None),
    }
    canonical = all(r["canonical"] for r in runs.get("a", []))
    scores_ok = all(r["score"] == 100 for r in runs.get("c", [])) and all(
        r["scores"] == [100] for key in ("d", "f", "g") for r in runs.get(key, [])
    )
    compiled = all("compiled by numba" in r["path"] for key in ("s1", "s2") for r in runs.get(key, []))
    compiled = compiled and all("plain numpy" in r["path"] for r in runs.get("sn", []))
    cells_found = all(r["found"] == ["clip"] for key in ("h1", "h4") for r in runs.get(key, []))

    print(f"\n{'measure':28} {'median':>9}")
    for key in median:
        print(f"{key:3} {LABELS[key]:24} {median[key]:8.2f}s")
    print(f"\n{'ratio':10} {'value':>7} {'target':>8}")
    for name, value in ratios.items():
        print(
            f"{name:10} {value:7.2f} {'<= ' + str(TARGETS[name]):>8}  {'met' if value <= TARGETS[name] else 'MISSED'}"
        )
    notes = {
        "e/a": "reported: a wrong model is graded twice",
        "sn/sb": "reported: the student's training cell without numba",
        "dask_overhead_seconds_per_submission": f"reported: (g - f) / {DASK_BATCH}, cluster start-up included",
    }
    for name, value in reported.items():
        print(f"{name:10} {value:7.2f}  ({notes[name]})")
    print(f"\ncanonical output unchanged: {canonical}; correct submissions scored 100: {scores_ok}; "
          f"student runs on the path they claim: {compiled}; hostile cells' def found: {cells_found}")  # fmt: skip
    for name, value in memory.items():
        if value is not None:
            print(f"{name}: {value:.0f} MB")

    result = {
        "median_seconds": median,
        "ratios": ratios,
        "reported_ratios": reported,
        "targets": TARGETS,
        "memory_mb": memory,
        "canonical_output_unchanged": canonical,
        "runs": runs,
    }
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    met = (
        canonical and scores_ok and compiled and cells_found and all(value <= TARGETS[k] for k, value in ratios.items())
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
