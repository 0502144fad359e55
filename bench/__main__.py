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
    processes, started and stopped inside the time).
Each is timed in a fresh process, REPEAT times, in rounds (a, b, c, d, then again), so that a
slow spell of the machine touches every measurement alike; medians are compared.  Targets:
a/b <= 0.5 (with the canonical output unchanged), c/a <= 1.5, d/(8c) <= 0.6, g/f <= 1.15.
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
TARGETS = {"a/b": 0.5, "c/a": 1.5, "d/(8c)": 0.6, "g/f": 1.15}
DASK_BATCH = 16


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
    args = parser.parse_args(argv)
    if args.repeat < 3:
        parser.error("--repeat must be at least 3: a median needs three measurements")

    sys.path.insert(0, str(ROOT / "tests" / "grading"))
    import factory
    import styles

    work = Path(tempfile.mkdtemp(prefix="dino-bench-"))
    one = factory.write(factory.notebook(), work / "one" / "correct.ipynb")
    for i in range(8):
        shutil.copy(one, factory.write(factory.notebook(), work / "batch" / "submissions" / f"s{i}.ipynb"))
    (work / "batch16" / "submissions").mkdir(parents=True)
    for i in range(DASK_BATCH):
        shutil.copy(one, work / "batch16" / "submissions" / f"s{i}.ipynb")
    wrong = factory.write(factory.notebook({"model": styles.MODEL_RATE}), work / "wrong" / "wrong_model.ipynb")

    print("timing (each in a fresh process):")
    plan = {
        "a": ("canonical",),
        "b": ("baseline",),
        "c": ("grade", one),
        "d": ("batch", work / "batch"),
        "e": ("grade", wrong),
        "f": ("batch", work / "batch16"),
        "g": ("dask", work / "batch16"),
    }
    runs = interleaved(plan, args.repeat)
    shutil.rmtree(work, ignore_errors=True)
    median = {key: statistics.median(r["seconds"] for r in value) for key, value in runs.items()}
    ratios = {
        "a/b": median["a"] / median["b"],
        "c/a": median["c"] / median["a"],
        "d/(8c)": median["d"] / (8 * median["c"]),
        "g/f": median["g"] / median["f"],
    }
    memory = {
        "a_peak_rss_mb": max(r["rss_mb"] for r in runs["a"]),
        "c_grader_rss_mb": max(r["rss_mb"] for r in runs["c"]),
        "c_sandbox_peak_rss_mb": max(r["children_rss_mb"] for r in runs["c"]),
    }
    canonical = all(r["canonical"] for r in runs["a"])
    scores_ok = all(r["score"] == 100 for r in runs["c"]) and all(
        r["scores"] == [100] for key in ("d", "f", "g") for r in runs[key]
    )

    print(f"\n{'measure':28} {'median':>9}")
    for key, label in (
        ("a", "canonical run (utils)"),
        ("b", "plain np.dot baseline"),
        ("c", "grade one submission"),
        ("d", "grade 8, --jobs 2"),
        ("e", "grade one, model wrong"),
        ("f", f"grade {DASK_BATCH}, --jobs 2"),
        ("g", f"grade {DASK_BATCH}, Dask local:2"),
    ):
        print(f"{key}  {label:25} {median[key]:8.2f}s")
    print(f"\n{'ratio':10} {'value':>7} {'target':>8}")
    for name, value in ratios.items():
        print(
            f"{name:10} {value:7.2f} {'<= ' + str(TARGETS[name]):>8}  {'met' if value <= TARGETS[name] else 'MISSED'}"
        )
    reported = {"e/a": median["e"] / median["a"]}
    print(f"e/a        {reported['e/a']:7.2f}  (reported: a wrong model is graded twice)")
    reported["dask_overhead_seconds_per_submission"] = (median["g"] - median["f"]) / DASK_BATCH
    print(f"Dask's overhead per submission: {reported['dask_overhead_seconds_per_submission']:+.3f}s "
          "(g - f) / 16, cluster start-up included")  # fmt: skip
    print(f"\ncanonical output unchanged: {canonical}; correct submissions scored 100: {scores_ok}")
    for name, value in memory.items():
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
    met = canonical and scores_ok and all(ratios[k] <= TARGETS[k] for k in TARGETS)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
