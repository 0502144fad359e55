"""Grading on a Dask cluster: ``grade … --scheduler tcp://HOST:8786`` or ``--scheduler local:N``.

One task per submission.  The task carries the notebook's bytes (workers never read the
client's disk) and the course fingerprint, a digest of everything that decides a grade (the
grader's code, the checks, the references, ``utils/``).  A worker whose own copy of the course
has another fingerprint refuses the task, so a class is never graded against two versions of
the references.  Each worker process grades with its own ``Grader`` and its own sandbox process
server, exactly as local grading does.

Faults are Dask's to handle: a task whose worker dies is run again on another worker, and a
task that has been running on ``allowed-failures`` + 1 dying workers (Dask's setting, 3 by
default) comes back as ``KilledWorker``; ``batch`` then scores that submission 0 with a message
and goes on.
"""

import functools
import hashlib
import os
import socket

from ..paths import COURSE_ROOT, SOURCE_DIR

# What the fingerprint covers: every file that decides a grade.  (Not the release, the
# examples or the tests: they do not change what a submission scores.)
FINGERPRINTED = [("autograder", "**/*.py"), ("autograder/references", "*.json")]
CONNECT_SECONDS = 10


class CourseMismatch(RuntimeError):
    """A worker's course copy differs from the client's: grading there would use other references."""


class SchedulerUnreachable(OSError):
    """``--scheduler`` names a cluster this client cannot reach (or an address it cannot parse)."""


@functools.cache
def course_fingerprint():
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


def grade_on_worker(data, label, student, fingerprint, only):
    """The task: grade one notebook's bytes in this worker; returns ``SubmissionResult.to_dict()``."""
    mine = course_fingerprint()
    if fingerprint != mine:
        raise CourseMismatch(
            f"the worker on {socket.gethostname()} (pid {os.getpid()}, course copy {COURSE_ROOT}) has course "
            f"fingerprint {mine[:12]}, the client sent {fingerprint[:12]}: give every worker the client's "
            "version of the course (same commit, same autograder/references/)"
        )
    return _worker_grader().grade(label, student, only=only, data=data).to_dict()


def task_key(path, digest):
    """The Dask key of a submission's task: stable, unique per file and content, and not the
    student's id (which the cluster's dashboard would show)."""
    return "grade-" + hashlib.sha256(f"{path}\0{digest}".encode()).hexdigest()[:24]


def connect(address):
    """A ``distributed.Client`` for ``tcp://HOST:PORT`` (an existing scheduler) or ``local:N``
    (a cluster of N single-threaded worker processes started here, on 127.0.0.1)."""
    import dask
    from distributed import Client, LocalCluster

    if address.startswith("local:"):
        count = address.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise SchedulerUnreachable(f"--scheduler local:N needs a number of workers N ≥ 1, not {count!r}")
        with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):  # see batch.SECOND_CHANCES
            cluster = LocalCluster(
                n_workers=int(count), threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
            )
        return Client(cluster)
    try:
        return Client(address, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SchedulerUnreachable(f"cannot reach the Dask scheduler at {address}: {reason}") from None


def check_cluster(client):
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


def worker_threads(client):
    """How many tasks the cluster runs at once now (it may grow later)."""
    return sum(worker.get("nthreads", 1) for worker in client.scheduler_info()["workers"].values())
