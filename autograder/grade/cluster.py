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


# The code a task runs on a worker, as (module, qualified name): a worker whose live functions
# differ from the client's (swapped in its memory by whoever ran code there) refuses the task.
GRADING_CODE = [
    ("autograder.grade.cluster", "grade_on_worker"),
    ("autograder.grade.grading", "Grader.grade"),
    ("autograder.grade.grading", "Grader.grade_function"),
    ("autograder.grade.grading", "Grader._grade_once"),
    ("autograder.sandbox.host", "run_task"),
]


def live_code():
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


def code_digest(names=GRADING_CODE):
    """The client's digest of its own grading code (see live_code)."""
    return live_code()(names)[0]


def verified_task():
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


def task_key(path, digest):
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


def credentials(tls_files=None):
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


def connect(address, tls_files=None, insecure=False):
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
