"""``python -m autograder references``: the expected outputs of every hidden case.

They are computed by running the instructor notebook's solution cells through exactly the
sandbox and cases a student's code goes through, and stored in ``autograder/references/``.
Each file carries a fingerprint of the cases and of the solution it came from: when
either changes, grading stops and asks for ``python -m autograder references``.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from . import wire
from .checks import SPECS
from .paths import REFERENCES_DIR
from .reference import graded_cell_sources

TIMING_FILE = "timing.json"  # seconds of each reference run, machine-dependent, used for time limits


class StaleReferences(RuntimeError):
    """The stored references do not belong to the current cases or solution."""


@dataclass
class Expected:
    cases: dict  # {function: {case id: observed}}
    seconds: dict  # {function: seconds the reference took}


def fingerprint(spec, sources):
    from .grading import compact

    digest = hashlib.sha256()
    digest.update(wire.dumps([case.as_task() for case in spec.cases()]).encode())
    for name in (spec.name, *spec.dependencies):
        digest.update(compact(sources[name]).encode())
    return digest.hexdigest()


def load_expected(directory=REFERENCES_DIR):
    sources = graded_cell_sources()
    cases, seconds = {}, {}
    timing_path = Path(directory) / TIMING_FILE
    timing = json.loads(timing_path.read_text()) if timing_path.exists() else {}
    for name, spec in SPECS.items():
        path = Path(directory) / f"{name}.json"
        if not path.exists():
            raise StaleReferences(f"{path} is missing: run `python -m autograder references`")
        stored = json.loads(path.read_text())
        if stored.get("fingerprint") != fingerprint(spec, sources):
            raise StaleReferences(
                f"{path.name} was made for other cases or another solution: run `python -m autograder references`"
            )
        cases[name] = {case_id: wire.decode(observed) for case_id, observed in stored["cases"].items()}
        seconds[name] = float(timing.get(name, 0.0))
    return Expected(cases, seconds)


def compute(spec, sources):
    """Run the reference solution of ``spec`` on its cases; returns ({case: observed}, seconds)."""
    from .grading import compact
    from .sandbox import Limits, run_task

    task = {
        "function": spec.name,
        "student_source": sources[spec.name],
        "dependencies": {dep: compact(sources[dep]) for dep in spec.dependencies},
        "cases": [case.as_task() for case in spec.cases()],
    }
    outcome = run_task(task, Limits(wall_seconds=3600))
    if outcome.define_error():
        raise RuntimeError(f"the reference {spec.name} could not be defined: {outcome.define_error()}")
    observed = outcome.cases()
    for case in spec.cases():
        if case.id not in observed or not observed[case.id]["ok"]:
            raise RuntimeError(
                f"the reference {spec.name} failed on case {case.id}: {observed.get(case.id)}\n{outcome.output[-2000:]}"
            )
    seconds = sum(o["seconds"] for o in observed.values())
    return {case_id: {k: v for k, v in o.items() if k != "seconds"} for case_id, o in observed.items()}, seconds


def generate(directory=REFERENCES_DIR, names=None, report=print):
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    sources = graded_cell_sources()
    timing_path = directory / TIMING_FILE
    timing = json.loads(timing_path.read_text()) if timing_path.exists() else {}
    for name, spec in SPECS.items():
        if names and name not in names:
            continue
        observed, seconds = compute(spec, sources)
        document = {
            "function": name,
            "fingerprint": fingerprint(spec, sources),
            "cases": {case_id: wire.encode(o) for case_id, o in observed.items()},
        }
        (directory / f"{name}.json").write_text(json.dumps(document, indent=1) + "\n")
        timing[name] = round(seconds, 3)
        report(f"{name}: {len(observed)} cases, reference ran {seconds:.2f} s")
    timing_path.write_text(json.dumps(timing, indent=1, sort_keys=True) + "\n")


def main(names=None):
    generate(names=names)
    return 0
