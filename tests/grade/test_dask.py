"""Grading on Dask with real processes on 127.0.0.1: a scheduler and two workers started here
(``dask scheduler``, ``dask worker``, with TLS certificates made as the README says), graded
through ``--scheduler``, and compared with local grading; workers killed mid-batch; a worker
with another course copy; a scheduler that is not there; a plain tcp:// cluster refused; and
another local user (nobody) who tries to connect to either kind of cluster, and fails."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import worlds

from autograder.authoring import factory, styles
from autograder.grade.cluster import (
    SECOND_CHANCES,
    CourseMismatch,
    course_fingerprint,
    credentials,
    grade_on_worker,
    task_key,
)
from autograder.paths import COURSE_ROOT, EXAMPLES_DIR

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not shutil.which("openssl"), reason="needs openssl (certificates)")]
DASK = str(Path(sys.executable).with_name("dask"))
ALLOWED_FAILURES = 1  # a task survives one dying worker; the second death makes it KilledWorker


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args], cwd=COURSE_ROOT, capture_output=True, text=True, timeout=900
    )


CREDENTIALS = {}  # address -> (CA, certificate, key) files of the cluster started there


def make_certificates(folder):
    """The README's command: one self-signed certificate that the scheduler, the workers and the
    grader all present and trust, its key readable by its owner only."""
    pem, key = folder / "grader.pem", folder / "grader.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj",
                    "/CN=dinosaurus-grader", "-keyout", str(key), "-out", str(pem)],
                   check=True, capture_output=True)  # fmt: skip
    key.chmod(0o600)
    return pem, pem, key


def tls_arguments(files):
    ca, cert, key = map(str, files)
    return ["--tls-ca-file", ca, "--tls-cert", cert, "--tls-key", key]


def scheduler_arguments(address):
    """``--scheduler ADDRESS`` and the certificate options of the cluster there."""
    return ["--scheduler", address, *tls_arguments(CREDENTIALS[address])]


def start_cluster(folder, workers=2, course=COURSE_ROOT):
    """A scheduler and ``workers`` single-threaded workers (each with its nanny), all separate
    processes on 127.0.0.1, speaking TLS with the README's certificates; the workers import the
    course found at ``course``."""
    folder.mkdir(parents=True, exist_ok=True)
    files = make_certificates(folder)
    address_file = folder / "scheduler.json"
    env = {
        **os.environ,
        "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(ALLOWED_FAILURES),
        "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0",  # as the README says
        "PYTHONPATH": str(course),  # the scheduler unpickles tasks, the workers run them: both import the course
    }
    processes = [
        subprocess.Popen(
            [
                DASK,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(address_file),
                "--protocol",
                "tls",
                *tls_arguments(files),
            ],  # fmt: skip
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(folder / "scheduler.log", "wb"),  # noqa: SIM115 -- kept open by the process
        )
    ]
    for _ in range(300):
        if address_file.exists() and address_file.stat().st_size:
            break
        time.sleep(0.1)
    address = json.loads(address_file.read_text())["address"]
    for number in range(workers):
        processes.append(
            subprocess.Popen(
                [
                    DASK,
                    "worker",
                    address,
                    "--host",
                    "127.0.0.1",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--name",
                    f"w{number}",
                    *tls_arguments(files),
                ],  # fmt: skip
                env=env,
                cwd=folder,
                stdout=subprocess.DEVNULL,
                stderr=open(folder / f"worker{number}.log", "wb"),  # noqa: SIM115
            )
        )
    from distributed import Client

    CREDENTIALS[address] = files
    client = Client(address, timeout=30, security=credentials(files))
    client.wait_for_workers(workers, timeout=60)
    return address, client, processes


def stop_cluster(client, processes):
    client.close()
    for process in reversed(processes):
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


NANNIES = {}  # worker name -> pid of its `dask worker` process (the nanny)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    address, client, processes = start_cluster(tmp_path_factory.mktemp("dask"))
    NANNIES.update({f"w{number}": process.pid for number, process in enumerate(processes[1:])})
    yield address, client
    stop_cluster(client, processes)


@pytest.fixture(scope="module")
def submitted(tmp_path_factory):
    """Six students: right, typical mistakes, a wrong clip, one not a notebook, and one (dee)
    right but slow: their clip cell sleeps 3 s whenever it is run, so a test can kill a worker
    while it grades dee and be sure the task was still running."""
    root = tmp_path_factory.mktemp("class") / "submitted"
    notebooks = {
        "ada": factory.notebook(),
        "ben": json.loads((EXAMPLES_DIR / "mistakes.ipynb").read_text()),
        "cy": factory.notebook({"clip": styles.CLIP_NO_OUT}),
        "dee": factory.notebook({"clip": "import time\ntime.sleep(3)\n" + factory.solution("clip")}),
        "eve": json.loads((EXAMPLES_DIR / "mistakes.ipynb").read_text()),
    }
    for student, notebook in notebooks.items():
        factory.write(notebook, root / student / "dinosaurus_island" / "Dinosaurus_Island.ipynb")
    factory.write("{ not json", root / "fay" / "dinosaurus_island" / "Dinosaurus_Island.ipynb")
    return root


@pytest.fixture(scope="module")
def local_report(submitted, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "grades.json"
    done = cli("grade", str(submitted), "--json", str(out), "--jobs", "2")
    assert done.returncode == 0, done.stderr
    return comparable(out)


def comparable(path):
    """The report without timings (the only thing allowed to differ between two gradings)."""
    report = json.loads(Path(path).read_text())
    for submission in report["submissions"]:
        for function in submission["functions"].values():
            function.pop("seconds")
    return report


def graded_lines(stderr):
    """The students named by --verbose's 'graded' lines, one per result the client received."""
    return sorted(line.split(" INFO: ")[1].split(":")[0] for line in stderr.splitlines() if line.endswith("(graded)"))


def test_grading_on_a_dask_cluster_gives_the_local_report(cluster, submitted, local_report, tmp_path):
    address, _ = cluster
    out = tmp_path / "grades.json"
    done = cli("grade", str(submitted), "--json", str(out), *scheduler_arguments(address), "--verbose", "--csv",
               str(tmp_path / "grades.csv"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert comparable(out) == local_report
    assert {s["student"]: s["score"] for s in local_report["submissions"]}["ada"] == 100.0
    assert graded_lines(done.stderr) == ["ada", "ben", "cy", "dee", "eve", "fay"]
    assert not out.with_name("grades.json.partial.jsonl").exists()  # finished: nothing left to resume
    assert (tmp_path / "grades.csv").read_text().count("\n") == 7


def worker_process(client, address):
    """The pid of the live worker process listening at ``address``: the child that its nanny (a
    ``dask worker`` process of ours, named w0, w1, …) spawned.  The scheduler may still list a
    worker that has just died, whose nanny has already started another process: that one,
    listening elsewhere, is not it."""
    import psutil

    name = client.scheduler_info()["workers"][address]["name"]
    port = int(address.rsplit(":", 1)[1])
    for child in psutil.Process(NANNIES[name]).children():
        try:
            listening = {c.laddr.port for c in child.net_connections("tcp") if c.status == psutil.CONN_LISTEN}
        except psutil.Error:  # a worker that has just died
            continue
        if port in listening:
            return child.pid
    raise ProcessLookupError(f"no live worker process of {name} listens at {address}")


def kill_worker_running(client, wanted, until=lambda: False):
    """SIGKILL the process of the worker running the task ``wanted`` (or a second try of it);
    returns that task's key, or None if no worker was seen running it within 60 s (or before
    ``until()`` held)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not until():
        for address, keys in client.processing().items():
            keys = [k for k in keys if k.startswith(wanted)]
            if keys:
                try:
                    os.kill(worker_process(client, address), signal.SIGKILL)
                except (KeyError, ProcessLookupError):  # it has just died or left: look again
                    continue
                return keys[0]
        time.sleep(0.05)
    return None


def slow_task(submitted):
    path = submitted / "dee" / "dinosaurus_island" / "Dinosaurus_Island.ipynb"
    return path, task_key(str(path), hashlib.sha256(path.read_bytes()).hexdigest())


def test_a_worker_killed_mid_batch_loses_nothing_and_grades_nothing_twice(cluster, submitted, local_report, tmp_path):
    address, client = cluster
    out = tmp_path / "grades.json"
    command = [sys.executable, "-m", "autograder", "grade", str(submitted), "--json", str(out),
               *scheduler_arguments(address), "--verbose"]  # fmt: skip
    batch = subprocess.Popen(command, cwd=COURSE_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = kill_worker_running(client, slow_task(submitted)[1])
    stdout, stderr = batch.communicate(timeout=600)
    assert killed is not None, "no worker was ever seen running dee's task"
    assert batch.returncode == 0, stderr
    assert comparable(out) == local_report  # every submission, once, with the grade it gets anywhere
    assert graded_lines(stderr) == ["ada", "ben", "cy", "dee", "eve", "fay"]
    client.wait_for_workers(2, timeout=60)  # the nanny restarted the killed worker


def test_a_submission_that_kills_every_worker_it_runs_on_scores_0_and_the_batch_goes_on(
    cluster, submitted, local_report, tmp_path
):
    address, client = cluster
    path, poison = slow_task(submitted)
    out = tmp_path / "grades.json"
    command = [sys.executable, "-m", "autograder", "grade", str(submitted), "--json", str(out),
               *scheduler_arguments(address)]  # fmt: skip
    batch = subprocess.Popen(command, cwd=COURSE_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Every run of it dies, however many runs Dask makes (a death that Dask does not charge to the
    # task, as when a worker dies before it took the task up, only earns the task another run).
    kills, give_up = [], time.monotonic() + 600
    while batch.poll() is None and time.monotonic() < give_up:
        key = kill_worker_running(client, poison, until=lambda: batch.poll() is not None)
        kills += [key] if key else []
    stdout, stderr = batch.communicate(timeout=600)
    tries = (SECOND_CHANCES + 1) * (ALLOWED_FAILURES + 1)
    assert len(kills) >= tries and len(set(kills)) == SECOND_CHANCES + 1, stderr
    assert batch.returncode == 0, stderr
    report = {s["student"]: s for s in json.loads(out.read_text())["submissions"]}
    assert report["dee"]["score"] == 0.0
    assert "stopped the grading worker's process at every try" in report["dee"]["errors"][-1]
    assert "scored 0, its grading killed the worker" in stderr and str(path) in stderr
    expected = {s["student"]: s for s in local_report["submissions"]}
    for student in ("ada", "ben", "cy", "eve", "fay"):  # the others graded as anywhere else
        assert report[student]["score"] == expected[student]["score"]
    client.wait_for_workers(2, timeout=60)


def test_a_worker_with_another_course_copy_refuses_and_the_batch_stops_with_exit_2(submitted, tmp_path):
    copy = worlds.copy_of_the_course(tmp_path / "course", ("autograder", "source"))
    checks = copy / "autograder" / "checks" / "clip.py"
    checks.write_text(checks.read_text() + "\n# an instructor's later edit\n")
    address, client, processes = start_cluster(tmp_path / "dask", workers=1, course=copy)
    try:
        done = cli("grade", str(submitted), "--json", str(tmp_path / "g.json"), *scheduler_arguments(address))
    finally:
        stop_cluster(client, processes)
    assert done.returncode == 2
    assert "another course fingerprint" in done.stderr and "give every worker the client's version" in done.stderr
    assert not (tmp_path / "g.json").exists()


def test_the_fingerprint_check_refuses_a_task_from_another_course_version():
    with pytest.raises(CourseMismatch, match="the client sent 000000000000"):
        grade_on_worker(b"{}", "x.ipynb", "x", "0" * 64, None)
    assert len(course_fingerprint()) == 64


def test_a_scheduler_that_cannot_be_reached_is_one_line_and_exit_2(tmp_path):
    notebook = tmp_path / "a.ipynb"
    factory.write(factory.notebook(), notebook)
    with socket_bound() as port:  # a port where nothing answers
        done = cli("grade", str(notebook), "--json", str(tmp_path / "g.json"), "--scheduler",
                   f"tcp://127.0.0.1:{port}", "--insecure-cluster")  # fmt: skip
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [errors[0]] and f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in errors[0]
    assert "warning: --insecure-cluster" in done.stderr
    assert "Traceback" not in done.stderr
    bad = cli("grade", str(notebook), "--json", str(tmp_path / "g.json"), "--scheduler", "local:0")
    assert bad.returncode == 2 and "N ≥ 1" in bad.stderr


class socket_bound:
    """A loopback port that is bound (so no one else takes it) but never accepts."""

    def __enter__(self):
        import socket

        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        return self.socket.getsockname()[1]

    def __exit__(self, *exc):
        self.socket.close()


def test_a_plain_tcp_cluster_is_refused_without_insecure_cluster(tmp_path):
    notebook = factory.write(factory.notebook(), tmp_path / "a.ipynb")
    with socket_bound() as port:
        done = cli("grade", str(notebook), "--json", str(tmp_path / "g.json"), "--scheduler", f"tcp://127.0.0.1:{port}")
    assert done.returncode == 2 and not (tmp_path / "g.json").exists()
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "plain tcp:// cluster" in errors[0] and "--insecure-cluster" in errors[0]


TRY_TO_CONNECT = """
import json, sys
from distributed import Client, Security
tried = {}
for address, files in json.loads(sys.argv[1]).items():
    attempts = {"no credentials": (address, None), "as tcp": (address.replace("tls://", "tcp://"), None)}
    if files:
        attempts["the course's files"] = (address, files)
    for name, (where, files) in attempts.items():
        try:
            security = files and Security(tls_ca_file=files[0], tls_client_cert=files[1], tls_client_key=files[2],
                                          require_encryption=True)
            with Client(where, timeout=5, security=security) as client:
                tried[f"{address} {name}"] = client.run_on_scheduler(lambda: "ran code on the scheduler")
        except Exception as error:
            tried[f"{address} {name}"] = "refused: " + type(error).__name__
print(json.dumps(tried))
"""


def test_another_local_user_cannot_connect_to_either_kind_of_cluster(cluster):
    """nobody, on this machine, tries the README's tls:// cluster (without credentials, as tcp://,
    and with the paths of its certificate files, which it cannot read) and the grader's own
    local:N cluster; every attempt fails, while the grader's own client runs code there."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv, to become nobody")

    from autograder.grade.cluster import connect

    address, client = cluster
    world = Path(tempfile.mkdtemp(prefix="dino-dask-"))
    world.chmod(0o755)
    own = connect("local:1")
    try:
        assert own.run_on_scheduler(lambda: "ours") == "ours" and client.run_on_scheduler(lambda: "ours") == "ours"
        targets = {address: [str(f) for f in CREDENTIALS[address]], own.scheduler.address: None}
        assert all(target.startswith("tls://") for target in targets)
        (world / "try.py").write_text(TRY_TO_CONNECT)
        as_nobody = (f"setpriv --reuid={worlds.NOBODY} --regid={worlds.NOBODY} --clear-groups env HOME=/tmp "
                     f"{worlds.python()} {world}/try.py '{json.dumps(targets)}'")  # fmt: skip
        done = worlds.run(world, [as_nobody], timeout=300)
    finally:
        own.close()
        shutil.rmtree(world, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-3000:]
    tried = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(tried) == 5 and all(outcome.startswith("refused: ") for outcome in tried.values()), tried


def test_a_worker_whose_task_function_was_swapped_refuses_and_the_batch_stops(cluster, submitted, tmp_path):
    address, client = cluster

    def forge():  # what someone who could run code on a worker did (nested: it travels by value)
        import autograder.grade.cluster as module

        module.real_grade_on_worker = getattr(module, "real_grade_on_worker", module.grade_on_worker)
        module.grade_on_worker = lambda *args: {"forged": "100 for everyone"}

    def unforge():
        import autograder.grade.cluster as module

        module.grade_on_worker = module.real_grade_on_worker

    client.run(forge)
    try:
        done = cli("grade", str(submitted), "--json", str(tmp_path / "g.json"), *scheduler_arguments(address))
    finally:
        client.run(unforge)
    assert done.returncode == 2 and not (tmp_path / "g.json").exists(), done.stderr[-2000:]
    assert "runs other grading code than this client" in done.stderr
