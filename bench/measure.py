"""One measurement in a fresh process: ``python -m bench.measure {canonical,baseline,grade,batch} [ARG]``.

Prints one JSON line: the seconds of the measured call (start-up and imports excluded) and
the peak resident memory of this process and of its children, in MB.
"""

import contextlib
import io
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def peak_mb(who):
    return resource.getrusage(who).ru_maxrss / 1024


def canonical():
    """The notebook's training cell as ``autograder.solution.canonical_run`` prints it, compared
    whole (names, losses, last name and the parameters' hash) with the canonical file."""
    from autograder.solution import canonical_run
    from utils.rnn import compiled

    compiled()  # imports numba, as b has imported numpy; loading the kernels on first call stays timed
    output = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(output):
        canonical_run()
    seconds = time.perf_counter() - start
    expected = (ROOT / "tests" / "files" / "model_22001_canonical_output.txt").read_text()
    return seconds, {"canonical": output.getvalue() == expected}


def baseline():
    from autograder.solution import dinosaur_data
    from bench.baseline import train

    names, ix_to_char, char_to_ix = dinosaur_data()
    start = time.perf_counter()
    _, lines = train(names, ix_to_char, char_to_ix, 22001)
    return time.perf_counter() - start, {"last_name": lines[-1]}


def grade(path):
    """Everything ``python -m autograder grade`` does for one notebook: load the references,
    start the sandboxes' process server, grade, stop the server (so that its peak memory and
    its children's count in this process's RUSAGE_CHILDREN)."""
    from autograder.grade.grading import grade_notebook
    from autograder.sandbox.server import shutdown_server

    start = time.perf_counter()
    result = grade_notebook(path)
    shutdown_server()
    return time.perf_counter() - start, {"score": result.score}


def batch(folder, scheduler=None):
    """``grade`` of a folder with --jobs 2, or (``scheduler``) on Dask, from the call to the
    reports written: a Dask cluster is started, and stopped, inside the time."""
    from autograder.grade.batch import grade_batch
    from autograder.sandbox.server import shutdown_server

    out = Path(folder) / "out" / "grades.json"
    start = time.perf_counter()
    outcome = grade_batch([Path(folder) / "submissions"], json_path=out, jobs=2, progress=False, scheduler=scheduler)
    shutdown_server()
    return time.perf_counter() - start, {"scores": sorted({r.score for r in outcome.results})}


def dask(folder):
    """The same batch through ``--scheduler local:2``: two Dask worker processes, one task each."""
    return batch(folder, scheduler="local:2")


def student_first(template, folder):
    """The training cell in a fresh copy of the notebook's folder: numba's cache starts empty."""
    import shutil

    from bench.student import training_cell_seconds

    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(template, folder)
    return training_cell_seconds(folder)


def student_again(folder):
    """The training cell once more, in a new kernel, in the folder a first run left."""
    from bench.student import training_cell_seconds

    return training_cell_seconds(folder)


def student_numpy(folder):
    from bench.student import training_cell_seconds

    return training_cell_seconds(folder, numpy_only=True)


def student_baseline(folder):
    from bench.student import training_cell_seconds

    return training_cell_seconds(folder)


def blank_lines(lines):
    """Finding the graded cells in a cell of ``lines`` empty lines before its def (a submission
    built to make a backtracking pattern take quadratic time)."""
    from autograder.grade.submission import find_graded_cells

    notebook = {"cells": [{"cell_type": "code", "source": "#" + "\n" * int(lines) + "def clip(g, m):\n    pass"}]}
    start = time.perf_counter()
    cells, _ = find_graded_cells(notebook)
    return time.perf_counter() - start, {"found": sorted(cells)}


if __name__ == "__main__":
    what, *args = sys.argv[1:]
    measurements = {
        "canonical": canonical,
        "baseline": baseline,
        "grade": grade,
        "batch": batch,
        "dask": dask,
        "student-first": student_first,
        "student-again": student_again,
        "student-numpy": student_numpy,
        "student-baseline": student_baseline,
        "blank-lines": blank_lines,
    }
    seconds, extra = measurements[what](*args)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rss_mb": peak_mb(resource.RUSAGE_SELF),
                "children_rss_mb": peak_mb(resource.RUSAGE_CHILDREN),
                **extra,
            }
        )
    )
