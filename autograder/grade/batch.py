"""``python -m autograder grade``: grade many notebooks, in parallel, resumably.

Every finished submission is appended to ``OUT.json.partial.jsonl`` at once (resume.py: only
lines this grader wrote are trusted); a batch that is killed and started again regrades only
what is not in there (same file, same references).
The reports are written when the batch is done, each atomically.  Nothing computed is lost to
a full disk or a read-only folder: a failed append is noted and the batch goes on, and a report
that cannot be written where asked is written to the grader's private folder instead
(``BatchOutcome.undelivered`` says what went where).
"""

import concurrent.futures
import hashlib
import logging
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..paths import REFERENCES_DIR
from .cluster import CourseMismatch
from .grading import Grader
from .report import NOT_GRADED, SubmissionResult, write_reports
from .resume import ResumeFile
from .submission import read_regular_file, scan, shown

log = logging.getLogger(__name__)


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


class LocalEngine:
    """Grades in this process's threads (the default): ``jobs`` submissions at once."""

    def __init__(self, grader, jobs):
        self.grader, self.window = grader, 2 * jobs
        self.pool = ThreadPoolExecutor(max_workers=jobs)

    def submit(self, path, student, data, digest, only):
        return self.pool.submit(self.grader.grade, path, student, only=only, data=data)

    def wait_any(self, futures):
        return concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_COMPLETED)[0]

    def result(self, future):
        return future.result()

    def close(self):
        self.pool.shutdown()


class DaskEngine:
    """Grades on a Dask cluster, one task per submission (see cluster.py)."""

    def __init__(self, address, tls_files=None, insecure=False):
        from . import cluster

        self.cluster = cluster
        self.client = cluster.connect(address, tls_files, insecure)
        try:
            cluster.check_cluster(self.client)
        except BaseException:
            self.close()
            raise
        self.fingerprint = cluster.course_fingerprint()
        self.task, self.names = cluster.verified_task(), cluster.GRADING_CODE
        self.code = cluster.code_digest(self.names)
        threads = cluster.worker_threads(self.client)
        self.window = max(64, 4 * threads)  # bounds the notebooks' bytes held here
        self.tasks = {}  # future -> what it was submitted with, for a second chance
        log.info("grading on %s (%d worker threads)", address, threads)

    def submit(self, path, student, data, digest, only, attempt=0):
        key = self.cluster.task_key(path, digest) + (f"-again{attempt}" if attempt else "")
        future = self.client.submit(self.task, data, str(path), student, self.fingerprint, self.code, self.names, only,
                                    key=key, pure=False)  # fmt: skip
        self.tasks[future] = (path, student, data, digest, only, attempt)
        return future

    def wait_any(self, futures):
        from distributed import wait

        return wait(futures, return_when="FIRST_COMPLETED").done

    def result(self, future):
        """The SubmissionResult, or the future of a second try."""
        from distributed import KilledWorker

        path, student, data, digest, only, attempt = self.tasks.pop(future)
        try:
            return SubmissionResult.from_dict(future.result())
        except KilledWorker:
            if attempt < SECOND_CHANCES:  # it may only have shared a dying worker with the culprit
                log.warning("%s was on workers that died; graded again", shown(path))
                return self.submit(path, student, data, digest, only, attempt + 1)
            log.warning("%s killed its grading worker at every try; scored 0", shown(path))
            return killed_worker_result(path, student)

    def close(self):
        cluster = self.client.cluster
        self.client.close()
        if cluster is not None:
            cluster.close()


# Dask gives a task ``allowed-failures`` + 1 dying workers before it gives up on it (KilledWorker).
# A worker that dies takes every task it holds with it, so a task can collect those deaths by
# sharing workers with a submission that kills them; one more round of Dask's tries, under a new
# key, makes that vanishingly unlikely.  (Schedulers should also run with worker-saturation 1.0,
# so that a worker holds only the task it runs: README, "Grading on a cluster".)
SECOND_CHANCES = 1
KILLED_WORKER = (
    "grading this submission stopped the grading worker's process at every try (Dask's allowed-failures + 1 "
    "times), so it is scored 0; your instructor will look at it"
)


def killed_worker_result(path, student):
    """A submission whose grading killed worker after worker: 0 points, and why."""
    from ..checks import SPECS
    from .grading import all_failed

    functions = {name: all_failed(spec, KILLED_WORKER) for name, spec in SPECS.items()}
    return SubmissionResult(shown(path), student, functions, [KILLED_WORKER])


def grade_batch(paths, json_path, csv_path=None, gradescope_dir=None, jobs=1, progress=True, only=None, scheduler=None,
                tls_files=None, insecure_cluster=False):  # fmt: skip
    """Grade every notebook under ``paths`` (locally with ``jobs`` threads, or on the Dask cluster
    ``scheduler``) and write the reports; returns a BatchOutcome."""
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
    results = {}

    def finished(path, student, key, result, fresh):
        results[str(path)] = result
        if fresh and not only and result.graded:
            resume.append(key, result)
        log.info("%s: %s (%s)", result.student, f"{result.score:g}" if result.graded else "not graded",
                 "graded" if fresh else "from the resume file")  # fmt: skip
        bar.advance(f"{result.student}: {result.score:g}")

    def settle(future):
        path, student, key = running.pop(future)
        try:
            result = engine.result(future)
            if not isinstance(result, SubmissionResult):  # tried again, under a new future
                running[result] = (path, student, key)
                return
        except CourseMismatch:  # the cluster is set up wrongly: stop, say so, keep what is done
            raise
        except Exception as error:  # a bug of ours must not stop the class's batch
            result = internal_error_result(path, student, f"{type(error).__name__}: {error}")
            log.error("the grader failed on %s; it is listed for regrading", shown(path), exc_info=error)
        finished(path, student, key, result, True)

    def settle_some():
        """Wait for a task to end; settle every ended one, in the order they were sent."""
        ended = engine.wait_any(list(running))
        for future in [future for future in running if future in ended]:
            settle(future)

    running = {}  # future -> (path, student, key), in the order they were sent
    try:
        with Progress(len(notebooks), progress) as bar:
            for path, student in notebooks:
                data, problem = read_regular_file(path, seen=seen.get(path))  # the file the scan saw, or nothing
                digest = hashlib.sha256(data).hexdigest() if data is not None else problem
                key = (str(path), digest)
                if key in done:
                    finished(path, student, key, done[key], False)
                    continue
                if data is None:  # unreadable: the reason is known here, and the path is not read again
                    finished(path, student, key, grader.grade(path, student, only=only, unreadable=problem), True)
                    continue
                running[engine.submit(path, student, data, digest, only)] = (path, student, key)
                while len(running) >= engine.window:
                    settle_some()
            while running:
                settle_some()
    finally:
        engine.close()
        resume.close()

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
    if resume.ignored:
        outcome.undelivered.append(
            f"{resume.ignored} lines of {partial_path} were not written by this grader and were ignored "
            "(their submissions were graded again)"
        )
    return outcome


def rescue_folder():
    """Where reports go when they cannot be written where asked: the grader's private folder."""
    from ..sandbox.host import private_cache

    folder = private_cache() / "rescued" / time.strftime("%Y%m%d-%H%M%S")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
