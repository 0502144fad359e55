"""``python -m autograder grade``: grade many notebooks, in parallel, resumably.

Every finished submission is appended to ``OUT.json.partial.jsonl`` at once (resume.py: only
lines this grader wrote are trusted); a batch that is killed and started again regrades only
what is not in there (same file, same references).
The reports are written when the batch is done, each atomically.  Nothing computed is lost to
a full disk or a read-only folder: a failed append is noted and the batch goes on, and a report
that cannot be written where asked is written to the grader's private folder instead
(``BatchOutcome.undelivered`` says what went where).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import logging
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..paths import REFERENCES_DIR
from .cluster import CourseMismatch, DaskEngine
from .grading import Grader
from .report import NOT_GRADED, SubmissionResult, write_reports
from .resume import ResumeFile
from .submission import Seen, read_regular_file, scan, shown

log = logging.getLogger(__name__)


def references_digest() -> str:
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

    def advance(self, text: str) -> None:
        if self.bar:
            self.bar.update(self.task, advance=1, description=text)

    def __exit__(self, *exc):
        if self.bar:
            self.bar.stop()


def internal_error_result(path: Path, student: str, error: str) -> SubmissionResult:
    """The grader itself failed on this submission: say so, never invent a grade."""
    return SubmissionResult(shown(path), student, {}, [f"{NOT_GRADED}, please regrade: {error}"])


@dataclass
class BatchOutcome:
    results: list[SubmissionResult]  # one per notebook found, in order
    undelivered: list[str] = field(default_factory=list)  # what could not be written, and where it went
    shared_ids: dict[str, list[str]] = field(default_factory=dict)  # student id -> the paths that claim it (> 1)
    left_out: dict[str, str] = field(default_factory=dict)  # student id -> why some of their notebooks were not graded
    lost: list[str] = field(default_factory=list)  # reports written nowhere, not even to the rescue folder


def note_shared_ids(notebooks: list[tuple[Path, str]], results: list[SubmissionResult]) -> dict[str, list[str]]:
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


def note(result: SubmissionResult, sentence: str) -> None:
    """Add a batch-level remark to a result's errors (results read back from the resume file
    were stored before any remark, so a remark is never there twice)."""
    if sentence not in result.errors:
        result.errors.append(sentence)


class LocalEngine:
    """Grades in this process's threads (the default): ``jobs`` submissions at once."""

    def __init__(self, grader, jobs):
        self.grader, self.window = grader, 2 * jobs
        self.pool = ThreadPoolExecutor(max_workers=jobs)

    def submit(self, path: Path, student: str, data: bytes, digest: str, only: list[str] | None) -> Future:
        return self.pool.submit(self.grader.grade, path, student, only=only, data=data)

    def wait_any(self, futures: list[Future]) -> set[Future]:
        return concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_COMPLETED)[0]

    def result(self, future: Future) -> SubmissionResult:
        return future.result()

    def close(self) -> None:
        self.pool.shutdown()


class Batch:
    """One batch under way: what is graded, what is still running on the engine, and what is
    kept in the resume file as it finishes."""

    def __init__(self, grader: Grader, engine, resume: ResumeFile, only: list[str] | None, bar: Progress):
        self.grader, self.engine, self.resume, self.only, self.bar = grader, engine, resume, only, bar
        self.results: dict[str, SubmissionResult] = {}
        self.running = {}  # future -> (path, student, key), in the order they were sent

    def grade_all(
        self, notebooks: list[tuple[Path, str]], seen: dict[Path, Seen], done: dict[tuple[str, str], SubmissionResult]
    ) -> None:
        """Grade each (path, student) of ``notebooks``, taking a result from ``done`` (the resume
        file's) when the same file was graded before, with ``engine.window`` tasks at most in flight."""
        for path, student in notebooks:
            data, problem = read_regular_file(path, seen=seen.get(path))  # the file the scan saw, or nothing
            digest = hashlib.sha256(data).hexdigest() if data is not None else problem
            key = (str(path), digest)
            if key in done:
                self.finished(path, key, done[key], fresh=False)
            elif data is None:  # unreadable: the reason is known here, and the path is not read again
                self.finished(path, key, self.grader.grade(path, student, only=self.only, unreadable=problem))
            else:
                self.running[self.engine.submit(path, student, data, digest, self.only)] = (path, student, key)
                while len(self.running) >= self.engine.window:
                    self.settle_some()
        while self.running:
            self.settle_some()

    def finished(self, path: Path, key: tuple[str, str], result: SubmissionResult, fresh: bool = True) -> None:
        self.results[str(path)] = result
        if fresh and not self.only and result.graded:
            self.resume.append(key, result)
        log.info("%s: %s (%s)", result.student, f"{result.score:g}" if result.graded else "not graded",
                 "graded" if fresh else "from the resume file")  # fmt: skip
        self.bar.advance(f"{result.student}: {result.score:g}")

    def settle_some(self) -> None:
        """Wait for a task to end; settle every ended one, in the order they were sent."""
        ended = self.engine.wait_any(list(self.running))
        for future in [future for future in self.running if future in ended]:
            self.settle(future)

    def settle(self, future: Future) -> None:
        path, student, key = self.running.pop(future)
        try:
            result = self.engine.result(future)
            if not isinstance(result, SubmissionResult):  # tried again, under a new future
                self.running[result] = (path, student, key)
                return
        except CourseMismatch:  # the cluster is set up wrongly: stop, say so, keep what is done
            raise
        except Exception as error:  # a bug of ours must not stop the class's batch
            result = internal_error_result(path, student, f"{type(error).__name__}: {error}")
            log.error("the grader failed on %s; it is listed for regrading", shown(path), exc_info=error)
        self.finished(path, key, result)


def grade_batch(
    paths: list[Path | str],
    *,
    json_path: Path | str,
    csv_path: Path | str | None = None,
    gradescope_dir: Path | str | None = None,
    jobs: int = 1,
    progress: bool = True,
    only: list[str] | None = None,
    scheduler: str | None = None,
    tls_files: tuple[str | None, str | None, str | None] | None = None,
    insecure_cluster: bool = False,
) -> BatchOutcome:
    """Grade every notebook under ``paths`` (locally with ``jobs`` threads, or on the Dask cluster
    ``scheduler``) and write the reports (JSON; CSV and Gradescope's results when asked)."""
    notebooks, left_out, seen = scan(paths)
    if not notebooks:
        raise FileNotFoundError("no notebooks found in " + ", ".join(str(p) for p in paths))
    json_path = Path(json_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)  # fail now, not after an hour of grading
    partial_path = json_path.with_name(json_path.name + ".partial.jsonl")
    grader = Grader()
    resume = ResumeFile(partial_path, references_digest())  # refused in one line if it is not ours
    done = resume.done() if not only else {}
    try:
        engine = DaskEngine(scheduler, tls_files, insecure_cluster) if scheduler else LocalEngine(grader, max(1, jobs))
    except BaseException:
        resume.close()
        raise
    try:
        with Progress(len(notebooks), progress) as bar:
            batch = Batch(grader, engine, resume, only, bar)
            batch.grade_all(notebooks, seen, done)
    finally:
        engine.close()
        resume.close()

    ordered = [batch.results[str(path)] for path, _ in notebooks]
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
    if resume.ignored:
        outcome.undelivered.append(
            f"{resume.ignored} lines of {partial_path} were not written by this grader and were ignored "
            "(their submissions were graded again)"
        )
    return outcome


def rescue_folder() -> Path:
    """Where reports go when they cannot be written where asked: the grader's private folder."""
    from ..sandbox.library import private_cache

    folder = private_cache() / "rescued" / time.strftime("%Y%m%d-%H%M%S")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
