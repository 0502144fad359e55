"""Grading on a Dask cluster: ``grade … --scheduler tls://HOST:8786`` or ``--scheduler local:N``.

A Dask scheduler runs whatever its clients send, as the user who started it, and the grader is
a client: anyone who can connect to a cluster can read the references and change grades.  So
the grader connects only with TLS and mutual certificates: ``local:N`` makes a fresh credential
for its own cluster (``Security.temporary()``, held in memory, never written), and
``tls://`` takes the instructor's certificate files (``--tls-ca-file``, ``--tls-cert``,
``--tls-key``, or Dask's ``distributed.comm.tls`` settings).  A plain ``tcp://`` cluster is
refused unless the instructor passes ``--insecure-cluster``, which says why it is dangerous.

One task per submission.  The task carries the notebook's bytes (workers never read the
client's disk) and the course fingerprint, a digest of everything that decides a grade (the
grader's code, the checks, the references, ``utils/``).  A worker whose own copy of the course
has another fingerprint refuses the task, so a class is never graded against two versions of
the references.  Each worker process grades with its own ``Grader`` and its own sandbox process
server, exactly as local grading does.

Faults are Dask's to handle: a task whose worker dies is run again on another worker, and a
task that has been running on ``allowed-failures`` + 1 dying workers (Dask's setting, 3 by
default) comes back as ``KilledWorker``; ``batch`` then scores that submission 0 with a message
and goes on.  ``DaskEngine`` is the batch's engine on a cluster (``batch.LocalEngine`` its twin
in this process's threads).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..paths import COURSE_ROOT, SOURCE_DIR
from .report import SubmissionResult
from .submission import shown

if TYPE_CHECKING:
    from distributed import Client, Future, Security

# What the fingerprint covers: every file that decides a grade.  (Not the release, the
# examples or the tests: they do not change what a submission scores.)
FINGERPRINTED = [("autograder", "**/*.py"), ("autograder/references", "*.json")]
CONNECT_SECONDS = 10
log = logging.getLogger(__name__)


class CourseMismatch(RuntimeError):
    """A worker's course copy differs from the client's: grading there would use other references."""


class SchedulerUnreachable(OSError):
    """``--scheduler`` names a cluster this client cannot reach (or an address it cannot parse)."""


@functools.cache
def course_fingerprint() -> str:
    """A digest of the grader, its checks and references, ``utils/`` (what students import) and
    ``assignment.py`` (the rule that finds graded cells).  Gradescope's results carry it too."""
    digest = hashlib.sha256()
    files = [path for folder, pattern in FINGERPRINTED for path in (COURSE_ROOT / folder).glob(pattern)]
    files += [*(SOURCE_DIR / "utils").glob("*.py"), SOURCE_DIR / "assignment.py"]  # which cell is graded
    for path in sorted(set(files)):
        if "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(COURSE_ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@functools.cache
def _worker_grader():
    from .grading import Grader

    return Grader()  # one per worker process; it starts that process's sandbox server on first use


def grade_on_worker(data: bytes, label: str, student: str, fingerprint: str, only: list[str] | None) -> dict:
    """The task: grade one notebook's bytes in this worker; returns ``SubmissionResult.to_dict()``."""
    mine = course_fingerprint()
    if fingerprint != mine:
        raise CourseMismatch(
            f"the worker on {socket.gethostname()} (pid {os.getpid()}, course copy {COURSE_ROOT}) has course "
            f"fingerprint {mine[:12]}, the client sent {fingerprint[:12]}: give every worker the client's "
            "version of the course (same commit, same autograder/references/)"
        )
    return _worker_grader().grade(label, student, only=only, data=data).to_dict()


# The code a task runs on a worker, as (module, qualified name): a worker whose live functions
# differ from the client's (swapped in its memory by whoever ran code there) refuses the task.
GRADING_CODE = [
    ("autograder.grade.cluster", "grade_on_worker"),
    ("autograder.grade.grading", "Grader.grade"),
    ("autograder.grade.grading", "Grader.grade_function"),
    ("autograder.grade.grading", "Grader._grade_once"),
    ("autograder.sandbox.run", "run_task"),
]


def live_code() -> Callable[[list[tuple[str, str]]], tuple[str, list[Callable]]]:
    """A function ``(names) -> (digest, functions)`` of the live code of ``names``: their bytecode,
    names and constants, recursively (not their file names, which differ between machines).  It
    is defined inside this function, so that Dask's pickle carries it by value, with the task."""

    def digest_of(names):
        import hashlib as hashing
        import importlib

        def of(code):
            parts = [code.co_code, repr(code.co_names).encode(), repr(code.co_varnames).encode()]
            for const in code.co_consts:
                parts.append(of(const) if hasattr(const, "co_code") else repr(const).encode())
            return hashing.sha256(b"\0".join(parts)).digest()

        found, functions = hashing.sha256(), []
        for module, qualified in names:
            value = importlib.import_module(module)
            for part in qualified.split("."):
                value = getattr(value, part)
            found.update(of(value.__code__))
            functions.append(value)
        return found.hexdigest(), functions

    return digest_of


def code_digest(names: list[tuple[str, str]] = GRADING_CODE) -> str:
    """The client's digest of its own grading code (see live_code)."""
    return live_code()(names)[0]


def verified_task() -> Callable[..., dict]:
    """The task as it travels to a worker.  It is defined inside this function, so Dask's pickle
    carries its code by value rather than by name: a function swapped into the worker's module
    cannot stand in for it.  On the worker it digests the live grading code with ``live_code``
    (also carried by value) and runs ``grade_on_worker`` only if the digest is the client's."""
    digest_of = live_code()

    def run(data, label, student, fingerprint, digest, names, only):
        found, functions = digest_of(names)
        if found != digest:
            import importlib
            import socket

            raise importlib.import_module("autograder.grade.cluster").CourseMismatch(
                f"the worker on {socket.gethostname()} runs other grading code than this client (a function in "
                "its memory was replaced): stop that worker, and check who can reach the cluster"
            )
        return functions[0](data, label, student, fingerprint, only)

    return run


def task_key(path: Path, digest: str) -> str:
    """The Dask key of a submission's task: stable, unique per file and content, and not the
    student's id (which the cluster's dashboard would show)."""
    return "grade-" + hashlib.sha256(f"{path}\0{digest}".encode()).hexdigest()[:24]


INSECURE_WARNING = (
    "warning: --insecure-cluster: this Dask cluster takes connections without credentials; anyone who can "
    "reach its port can run code as the user who runs the scheduler and its workers, read the references and "
    "change grades. Use tls:// (README, 'Grading on a cluster')."
)


class InsecureCluster(SchedulerUnreachable):
    """``--scheduler tcp://…`` without ``--insecure-cluster``."""


def credentials(tls_files: tuple[str | None, str | None, str | None] | None = None) -> Security | None:
    """A ``distributed.Security`` for a tls:// cluster: the (CA, certificate, key) files given,
    or else Dask's own TLS settings (``distributed.comm.tls``)."""
    from distributed import Security

    if tls_files and all(tls_files):
        ca, cert, key = map(str, tls_files)
        return Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key, require_encryption=True)
    if tls_files and any(tls_files):
        raise SchedulerUnreachable("a tls:// cluster needs all three of --tls-ca-file, --tls-cert and --tls-key")
    security = Security(require_encryption=True)
    if not security.tls_ca_file:
        raise SchedulerUnreachable(
            "a tls:// cluster needs its certificate files: --tls-ca-file, --tls-cert and --tls-key "
            "(README, 'Grading on a cluster', shows how to make them)"
        )
    return security


def connect(
    address: str, tls_files: tuple[str | None, str | None, str | None] | None = None, insecure: bool = False
) -> Client:
    """A ``distributed.Client`` for ``tls://HOST:PORT`` (an existing scheduler, with the
    instructor's certificates), ``local:N`` (a cluster of N single-threaded worker processes
    started here, on 127.0.0.1, with a fresh credential) or, with ``insecure``, ``tcp://``."""
    import dask
    from distributed import Client, LocalCluster, Security

    if address.startswith("local:"):
        count = address.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise SchedulerUnreachable(f"--scheduler local:N needs a number of workers N ≥ 1, not {count!r}")
        security = Security.temporary()  # in memory only: no other user can read it, or connect
        with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):  # see batch.SECOND_CHANCES
            cluster = LocalCluster(n_workers=int(count), threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None, protocol="tls://", security=security)  # fmt: skip
        return Client(cluster, security=security)
    if address.startswith("tcp://") and not insecure:
        raise InsecureCluster(
            f"{address} is a plain tcp:// cluster: anyone who can reach it can run code there and change grades. "
            "Use tls:// with certificates, or --scheduler local:N; --insecure-cluster grades there anyway"
        )
    if not address.startswith(("tls://", "tcp://")):
        raise SchedulerUnreachable(f"--scheduler takes tls://HOST:PORT or local:N, not {address!r}")
    try:
        security = credentials(tls_files) if address.startswith("tls://") else None
        return Client(address, timeout=CONNECT_SECONDS, security=security)
    except (OSError, TimeoutError, ValueError) as error:
        if isinstance(error, SchedulerUnreachable):
            raise
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SchedulerUnreachable(f"cannot reach the Dask scheduler at {address}: {reason}") from None


def check_cluster(client: Client) -> None:
    """Before any task: the scheduler and every worker must import this course, the same version
    (the scheduler unpickles each task, so it needs the course too).  Workers that join later are
    checked by each task they run."""
    mine = course_fingerprint()
    try:
        theirs = {"the scheduler": client.run_on_scheduler(course_fingerprint)}
        theirs.update(client.run(course_fingerprint))
    except Exception as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CourseMismatch(
            f"the cluster cannot import this course ({reason}): start the scheduler and each worker with the "
            "course folder on PYTHONPATH (README, 'Grading on a cluster')"
        ) from None
    wrong = sorted(name for name, fingerprint in theirs.items() if fingerprint != mine)
    if wrong:
        raise CourseMismatch(
            f"{', '.join(wrong)} ha{'s' if len(wrong) == 1 else 've'} another course fingerprint than this client "
            f"({mine[:12]}): give every worker the client's version of the course (same commit, same "
            "autograder/references/)"
        )


def worker_threads(client: Client) -> int:
    """How many tasks the cluster runs at once now (it may grow later)."""
    return sum(worker.get("nthreads", 1) for worker in client.scheduler_info()["workers"].values())


class DaskEngine:
    """Grades on a Dask cluster, one task per submission (see cluster.py)."""

    def __init__(self, address, tls_files=None, insecure=False):
        self.client = connect(address, tls_files, insecure)
        try:
            check_cluster(self.client)
        except BaseException:
            self.close()
            raise
        self.fingerprint = course_fingerprint()
        self.task, self.names = verified_task(), GRADING_CODE
        self.code = code_digest(self.names)
        threads = worker_threads(self.client)
        self.window = max(64, 4 * threads)  # bounds the notebooks' bytes held here
        self.tasks = {}  # future -> what it was submitted with, for a second chance
        log.info("grading on %s (%d worker threads)", address, threads)

    def submit(
        self, path: Path, student: str, data: bytes, digest: str, only: list[str] | None, attempt: int = 0
    ) -> Future:
        key = task_key(path, digest) + (f"-again{attempt}" if attempt else "")
        future = self.client.submit(self.task, data, str(path), student, self.fingerprint, self.code, self.names, only,
                                    key=key, pure=False)  # fmt: skip
        self.tasks[future] = (path, student, data, digest, only, attempt)
        return future

    def wait_any(self, futures: list[Future]) -> set[Future]:
        from distributed import wait

        return wait(futures, return_when="FIRST_COMPLETED").done

    def result(self, future: Future) -> SubmissionResult | Future:
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

    def close(self) -> None:
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


def killed_worker_result(path: Path, student: str) -> SubmissionResult:
    """A submission whose grading killed worker after worker: 0 points, and why."""
    from ..checks import SPECS
    from .rubric import all_failed

    functions = {name: all_failed(spec, KILLED_WORKER) for name, spec in SPECS.items()}
    return SubmissionResult(shown(path), student, functions, [KILLED_WORKER])
