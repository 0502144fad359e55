"""The stored expected outputs of every hidden case, and the signatures of the catalogued mistakes,
as the grader reads them from ``autograder/references/`` (``autograder.authoring.references`` makes them).

Each file carries a fingerprint of the cases, the solution and the catalogue it came from: when
any changes, grading stops with ``StaleReferences`` and asks for ``python -m autograder references``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from .. import faults
from ..checks import SPECS
from ..checks.base import FunctionSpec
from ..paths import REFERENCES_DIR
from ..sandbox.inside import wire
from ..sandbox.messages import Observation
from ..solution import compact, graded_cell_sources

TIMING_FILE = "timing.json"  # seconds of each reference run, machine-dependent, used for time limits
FAULTS_FILE = "faults.json"  # {function: {"fingerprint", "signatures": {mistake id: signature}}}


class StaleReferences(RuntimeError):
    """The stored references do not belong to the current cases or solution."""


@dataclass
class Expected:
    cases: dict  # {function: {case id: Observation}}
    seconds: dict  # {function: seconds the reference took}
    signatures: dict = field(default_factory=dict)  # {function: {mistake id: signature}}


def fingerprint(spec: FunctionSpec, sources: dict[str, str]) -> str:
    digest = hashlib.sha256()
    digest.update(wire.dumps([case.as_task() for case in spec.cases()]).encode())
    for name in (spec.name, *spec.dependencies):
        digest.update(compact(sources[name]).encode())
    return digest.hexdigest()


def load_expected(directory: Path | str = REFERENCES_DIR) -> Expected:
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
        cases[name] = {case_id: Observation.from_stored(wire.decode(o)) for case_id, o in stored["cases"].items()}
        seconds[name] = float(timing.get(name, 0.0))
    return Expected(cases, seconds, load_signatures(directory, fingerprints))


def faults_fingerprint(spec: FunctionSpec, references_fingerprint: str) -> str:
    """Of the references' fingerprint (cases and solution) and every catalogued mistake of
    ``spec``'s function."""
    digest = hashlib.sha256(references_fingerprint.encode())
    for mistake in faults.catalogue()[spec.name]:
        digest.update(wire.dumps([mistake.id, mistake.explanation, list(mistake.edits)]).encode())
    return digest.hexdigest()


def load_signatures(directory: Path | str, fingerprints: dict[str, str]) -> dict[str, dict[str, dict]]:
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
