"""``python -m autograder grade``: grade many notebooks, in parallel, resumably.

Every finished submission is appended to ``OUT.json.partial.jsonl`` at once; a batch that is
killed and started again regrades only what is not in there (same file, same references).
The reports are written when the batch is done, each atomically.  Nothing computed is lost to
a full disk or a read-only folder: a failed append is noted and the batch goes on, and a report
that cannot be written where asked is written to the grader's private folder instead
(``BatchOutcome.undelivered`` says what went where).
"""

import hashlib
import json
import logging
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .grading import Grader
from .paths import REFERENCES_DIR
from .report import NOT_GRADED, SubmissionResult, write_reports
from .submission import find_notebooks_with_notes, read_regular_file, shown

log = logging.getLogger("autograder.batch")


def references_digest():
    digest = hashlib.sha256()
    for path in sorted(REFERENCES_DIR.glob("*.json")):
        if path.name != "timing.json":
            digest.update(path.read_bytes())
    return digest.hexdigest()


class Progress:
    """A rich progress bar, or nothing."""

    def __init__(self, total, enabled):
        self.bar = None
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("grading"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
            )
            self.task = self.bar.add_task("", total=total)

    def __enter__(self):
        if self.bar:
            self.bar.start()
        return self

    def advance(self, text):
        if self.bar:
            self.bar.update(self.task, advance=1, description=text)

    def __exit__(self, *exc):
        if self.bar:
            self.bar.stop()


def load_partial(path, references):
    """{(path, digest): SubmissionResult} from an interrupted run (a torn last line is ignored)."""
    done = {}
    if not path.exists():
        return done
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
            if entry["references"] == references:
                done[(entry["path"], entry["digest"])] = SubmissionResult.from_dict(entry["result"])
        except (ValueError, KeyError, TypeError):
            continue
    return done


def internal_error_result(path, student, error):
    """The grader itself failed on this submission: say so, never invent a grade."""
    return SubmissionResult(shown(path), student, {}, [f"{NOT_GRADED}, please regrade: {error}"])


@dataclass
class BatchOutcome:
    results: list  # one SubmissionResult per notebook found, in order
    undelivered: list = field(default_factory=list)  # sentences: what could not be written, and where it went
    shared_ids: dict = field(default_factory=dict)  # student id -> the paths that claim it, when more than one
    left_out: dict = field(default_factory=dict)  # student id -> why some of their notebooks were not graded
    lost: list = field(default_factory=list)  # reports written nowhere, not even to the rescue folder


def note_shared_ids(notebooks, results):
    """Two notebooks that claim one student id are both reported, each told of the other."""
    claims = defaultdict(list)
    for (_, student), result in zip(notebooks, results, strict=True):
        claims[student].append(result.path)
    shared = {student: paths for student, paths in claims.items() if len(paths) > 1}
    for result in results:
        if result.student in shared:
            paths = shared[result.student]
            note(result, f"{len(paths)} notebooks claim the student id {result.student}: " + ", ".join(paths))
    return shared


def note(result, sentence):
    """Add a batch-level remark to a result's errors (results read back from the resume file
    were stored before any remark, so a remark is never there twice)."""
    if sentence not in result.errors:
        result.errors.append(sentence)


class ResumeFile:
    """The ``.partial.jsonl`` file; a failed append (disk full) is noted, never fatal."""

    def __init__(self, path, references):
        self.path, self.references, self.lock, self.failure = path, references, threading.Lock(), None

    def append(self, key, result):
        line = json.dumps({"path": key[0], "digest": key[1], "references": self.references, "result": result.to_dict()})
        with self.lock:
            try:
                with self.path.open("a") as file:
                    file.write(line + "\n")
            except OSError as error:
                self.failure = (
                    self.failure or f"the resume file {self.path} could not be appended to ({error.strerror})"
                )


def grade_batch(paths, json_path, csv_path=None, gradescope_dir=None, jobs=1, progress=True, only=None):
    notebooks, left_out = find_notebooks_with_notes(paths)
    if not notebooks:
        raise FileNotFoundError("no notebooks found in " + ", ".join(str(p) for p in paths))
    json_path = Path(json_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)  # fail now, not after an hour of grading
    partial_path = json_path.with_name(json_path.name + ".partial.jsonl")
    grader = Grader()
    references = references_digest()
    done = load_partial(partial_path, references) if not only else {}
    partial_path.touch()
    resume = ResumeFile(partial_path, references)
    results = {}

    def grade_one(path, student):
        data, problem = read_regular_file(path)
        key = (str(path), hashlib.sha256(data).hexdigest() if data is not None else problem)
        if key in done:
            return key, done[key], False
        try:
            result = grader.grade(path, student, only=only, data=data)
        except Exception as error:  # a bug of ours must not stop the class's batch
            result = internal_error_result(path, student, f"{type(error).__name__}: {error}")
            log.exception("the grader failed on %s; it is listed for regrading", shown(path))
        return key, result, True

    with Progress(len(notebooks), progress) as bar, ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(grade_one, path, student) for path, student in notebooks]
        for future in as_completed(futures):
            key, result, fresh = future.result()
            results[key[0]] = result
            if fresh and not only and result.graded:
                resume.append(key, result)
            log.info("%s: %s (%s)", result.student, f"{result.score:g}" if result.graded else "not graded",
                     "graded" if fresh else "from the resume file")  # fmt: skip
            bar.advance(f"{result.student}: {result.score:g}")

    ordered = [results[str(path)] for path, _ in notebooks]
    outcome = BatchOutcome(ordered, shared_ids=note_shared_ids(notebooks, ordered), left_out=left_out)
    for result in ordered:
        if result.student in left_out:
            note(result, left_out[result.student])
    if resume.failure:
        outcome.undelivered.append(resume.failure)
    sentences, outcome.lost = write_reports(
        ordered, json_path, csv_path, gradescope_dir, skip=set(outcome.shared_ids), rescue=rescue_folder
    )
    outcome.undelivered += sentences
    if not outcome.undelivered:
        partial_path.unlink(missing_ok=True)
    return outcome


def rescue_folder():
    """Where reports go when they cannot be written where asked: the grader's private folder."""
    from .sandbox import private_cache

    folder = private_cache() / "rescued" / time.strftime("%Y%m%d-%H%M%S")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
