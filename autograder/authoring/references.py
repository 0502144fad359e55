"""``python -m autograder references``: the expected outputs of every hidden case, and the
signatures of the catalogued mistakes (faults/).

They are computed by running the instructor notebook's solution cells, and each catalogued
edit of them, through exactly the sandbox and cases a student's code goes through, and stored
in ``autograder/references/`` with the fingerprints that ``autograder.grade.expected`` checks.
"""

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .. import faults
from ..checks import SPECS
from ..grade.expected import FAULTS_FILE, TIMING_FILE, faults_fingerprint, fingerprint
from ..grade.grading import build_task
from ..paths import REFERENCES_DIR
from ..sandbox.inside import wire
from ..sandbox.limits import Limits
from ..sandbox.run import run_task
from ..solution import compact, graded_cell_sources


def run_solution(spec, source, sources, cpu_seconds, cases=None):
    """Run ``source`` (a version of ``spec``'s function) on its cases, with the reference versions
    of the functions it calls; returns the sandbox's Outcome.  ``cases``: spec.cases(), when
    already built (they are drawn from numpy's global random state: build them in one thread)."""
    references = {dep: compact(sources[dep]) for dep in spec.dependencies}
    task = build_task(spec, source, references, cases or spec.cases())
    return run_task(task, Limits(cpu_seconds=cpu_seconds))


def compute(spec, sources):
    """Run the reference solution of ``spec`` on its cases; returns ({case id: Observation}, the
    run's charged seconds: the measure its time limit is on, see sandbox/meter.py)."""
    outcome = run_solution(spec, sources[spec.name], sources, cpu_seconds=3600)
    if outcome.define_error():
        raise RuntimeError(f"the reference {spec.name} could not be defined: {outcome.define_error()}")
    observed = outcome.cases()
    for case in spec.cases():
        if case.id not in observed or not observed[case.id].ok:
            raise RuntimeError(
                f"the reference {spec.name} failed on case {case.id}: {observed.get(case.id)}\n{outcome.output[-2000:]}"
            )
    return observed, outcome.charged_seconds


NEAR_THE_LIMIT = 0.5  # a mutant that needs more of its time limit may run out of it on a busy machine


def timing_warning(function, mistake_id, seconds, timed_out, cpu_seconds):
    """A line for the instructor when a mutant's signature depends on the machine's load, else None."""
    if timed_out:
        return (
            f"{function}: mistake {mistake_id!r} ran out of its {cpu_seconds:.0f} s and is stored as never "
            "finishing: right for a loop that never ends; an edit that would finish, given time, should be "
            "made cheaper"
        )
    if seconds > NEAR_THE_LIMIT * cpu_seconds:
        return (
            f"{function}: mistake {mistake_id!r} took {seconds:.0f} s of its {cpu_seconds:.0f} s of CPU time: "
            "the same code costs more CPU on a busier machine (shared caches), so it may run out of time there "
            "and no longer match its signature; make the edit cheaper"
        )
    return None


def mistake_signatures(spec, sources, reference_seconds, mistakes=None, jobs=None, report=None):
    """{mistake id: signature} of every catalogued mistake of ``spec``'s function (or of
    ``mistakes``), each run with the time a student's run gets; ``report`` gets a line for
    each mutant whose signature could depend on the machine's load (see timing_warning)."""
    base = compact(sources[spec.name])
    mistakes = faults.catalogue()[spec.name] if mistakes is None else mistakes
    limit = spec.cpu_seconds(reference_seconds)
    cases = spec.cases()
    case_ids = [case.id for case in cases]

    def run(mistake):
        outcome = run_solution(spec, mistake.applied_to(base), sources, limit, cases)
        if outcome.define_error():
            raise RuntimeError(f"mistake {mistake.id!r} of {spec.name} could not be defined: {outcome.define_error()}")
        if outcome.machine_busy:
            raise RuntimeError(f"the machine was too busy to run mistake {mistake.id!r} of {spec.name}: run it again")
        warning = timing_warning(spec.name, mistake.id, outcome.charged_seconds, outcome.timed_out, limit)
        if warning and report:
            report(warning)
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
            "cases": {case_id: wire.encode(o.stored()) for case_id, o in observed.items()},
        }
        (directory / f"{name}.json").write_text(json.dumps(document, indent=1) + "\n")
        timing[name] = round(seconds, 3)
        report(f"{name}: {len(observed)} cases, reference ran {seconds:.2f} s")
        signatures = mistake_signatures(spec, sources, seconds, report=report)
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
