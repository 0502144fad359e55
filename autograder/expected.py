"""``python -m autograder references``: the expected outputs of every hidden case, and the
signatures of the catalogued mistakes (faults/).

They are computed by running the instructor notebook's solution cells, and each catalogued
edit of them, through exactly the sandbox and cases a student's code goes through, and
stored in ``autograder/references/``.  Each file carries a fingerprint of the cases, the
solution and the catalogue it came from: when any changes, grading stops and asks for
``python -m autograder references``.
"""

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import faults
from .checks import SPECS
from .inside import wire
from .paths import REFERENCES_DIR
from .solution import compact, graded_cell_sources

TIMING_FILE = "timing.json"  # seconds of each reference run, machine-dependent, used for time limits
FAULTS_FILE = "faults.json"  # {function: {"fingerprint", "signatures": {mistake id: signature}}}


class StaleReferences(RuntimeError):
    """The stored references do not belong to the current cases or solution."""


@dataclass
class Expected:
    cases: dict  # {function: {case id: observed}}
    seconds: dict  # {function: seconds the reference took}
    signatures: dict = field(default_factory=dict)  # {function: {mistake id: signature}}


def fingerprint(spec, sources):
    digest = hashlib.sha256()
    digest.update(wire.dumps([case.as_task() for case in spec.cases()]).encode())
    for name in (spec.name, *spec.dependencies):
        digest.update(compact(sources[name]).encode())
    return digest.hexdigest()


def load_expected(directory=REFERENCES_DIR):
    sources = graded_cell_sources()
    cases, seconds, fingerprints = {}, {}, {}
    timing_path = Path(directory) / TIMING_FILE
    timing = json.loads(timing_path.read_text()) if timing_path.exists() else {}
    for name, spec in SPECS.items():
        path = Path(directory) / f"{name}.json"
        if not path.exists():
            raise StaleReferences(f"{path} is missing: run `python -m autograder references`")
        stored = json.loads(path.read_text())
        fingerprints[name] = fingerprint(spec, sources)
        if stored.get("fingerprint") != fingerprints[name]:
            raise StaleReferences(
                f"{path.name} was made for other cases or another solution: run `python -m autograder references`"
            )
        cases[name] = {case_id: wire.decode(observed) for case_id, observed in stored["cases"].items()}
        seconds[name] = float(timing.get(name, 0.0))
    return Expected(cases, seconds, load_signatures(directory, fingerprints))


def faults_fingerprint(spec, references_fingerprint):
    """Of the references' fingerprint (cases and solution) and every catalogued mistake of
    ``spec``'s function."""
    digest = hashlib.sha256(references_fingerprint.encode())
    for mistake in faults.catalogue()[spec.name]:
        digest.update(wire.dumps([mistake.id, mistake.explanation, list(mistake.edits)]).encode())
    return digest.hexdigest()


def load_signatures(directory, fingerprints):
    """{function: {mistake id: signature}}; ``fingerprints``: {function: its references' fingerprint}."""
    path = Path(directory) / FAULTS_FILE
    stored = json.loads(path.read_text()) if path.exists() else {}
    signatures = {}
    for name, spec in SPECS.items():
        entry = stored.get(name, {})
        if entry.get("fingerprint") != faults_fingerprint(spec, fingerprints[name]):
            raise StaleReferences(
                f"{FAULTS_FILE} was made for other cases, solution or mistakes of {name}: "
                "run `python -m autograder references`"
            )
        signatures[name] = {mistake_id: wire.decode(s) for mistake_id, s in entry["signatures"].items()}
    return signatures


def run_solution(spec, source, sources, wall_seconds, cases=None):
    """Run ``source`` (a version of ``spec``'s function) on its cases, with the reference versions
    of the functions it calls; returns the sandbox's Outcome.  ``cases``: spec.cases(), when
    already built (they are drawn from numpy's global random state: build them in one thread)."""
    from .sandbox import Limits, run_task

    task = {
        "function": spec.name,
        "student_source": source,
        "dependencies": {dep: compact(sources[dep]) for dep in spec.dependencies},
        "cases": [case.as_task() for case in cases or spec.cases()],
    }
    return run_task(task, Limits(wall_seconds=wall_seconds))


def compute(spec, sources):
    """Run the reference solution of ``spec`` on its cases; returns ({case: observed}, seconds)."""
    outcome = run_solution(spec, sources[spec.name], sources, wall_seconds=3600)
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


def mistake_signatures(spec, sources, reference_seconds, mistakes=None, jobs=None):
    """{mistake id: signature} of every catalogued mistake of ``spec``'s function (or of
    ``mistakes``), each run with the time a student's run gets."""
    base = compact(sources[spec.name])
    mistakes = faults.catalogue()[spec.name] if mistakes is None else mistakes
    wall = spec.wall_seconds(reference_seconds)
    cases = spec.cases()
    case_ids = [case.id for case in cases]

    def run(mistake):
        outcome = run_solution(spec, mistake.applied_to(base), sources, wall, cases)
        if outcome.define_error():
            raise RuntimeError(f"mistake {mistake.id!r} of {spec.name} could not be defined: {outcome.define_error()}")
        return mistake.id, faults.signature(case_ids, outcome.cases(), spec.printed)

    with ThreadPoolExecutor(jobs or os.cpu_count() or 1) as pool:
        return dict(pool.map(run, mistakes))


def generate(directory=REFERENCES_DIR, names=None, report=print):
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    sources = graded_cell_sources()
    timing_path = directory / TIMING_FILE
    timing = json.loads(timing_path.read_text()) if timing_path.exists() else {}
    faults_path = directory / FAULTS_FILE
    stored_faults = json.loads(faults_path.read_text()) if faults_path.exists() else {}
    for name, spec in SPECS.items():
        if names and name not in names:
            continue
        observed, seconds = compute(spec, sources)
        cases_and_solution = fingerprint(spec, sources)
        document = {
            "function": name,
            "fingerprint": cases_and_solution,
            "cases": {case_id: wire.encode(o) for case_id, o in observed.items()},
        }
        (directory / f"{name}.json").write_text(json.dumps(document, indent=1) + "\n")
        timing[name] = round(seconds, 3)
        report(f"{name}: {len(observed)} cases, reference ran {seconds:.2f} s")
        signatures = mistake_signatures(spec, sources, seconds)
        stored_faults[name] = {
            "fingerprint": faults_fingerprint(spec, cases_and_solution),
            "signatures": {mistake_id: wire.encode(s) for mistake_id, s in signatures.items()},
        }
        report(f"{name}: signatures of {len(signatures)} catalogued mistakes")
    timing_path.write_text(json.dumps(timing, indent=1, sort_keys=True) + "\n")
    faults_path.write_text(json.dumps(stored_faults, sort_keys=True, separators=(",", ":")) + "\n")


def main(names=None):
    generate(names=names)
    return 0
