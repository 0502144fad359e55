"""The same class graded on each rung of isolation a grading machine allows (sandbox/host.py):

- **root**: full root, as on a course's own server;
- **uid**: root without CAP_SYS_ADMIN (``capsh --drop=cap_sys_admin``), what Docker, Gradescope
  and most Kubernetes pods give a container's root;
- **none**: an ordinary user (``nobody``) whose namespace creation a seccomp filter refuses, as
  Docker's default profile does for a container's non-root user.

The class: the three example submissions and five attacks (the answer key planted world-readable
elsewhere, the course's own answer key, a TCP connection out, a double-forked process left
behind, signals to the grader).  Every rung must give every student the grade full root gives,
and contain every attack as far as its rung promises (Landlock is on this kernel: no file
outside the allowlist, no TCP, no signal leaves the run)."""

import json
import os
import shutil
import socket
import tempfile
import threading
from pathlib import Path

import pytest
import worlds

from autograder.authoring import factory
from autograder.paths import ASSIGNMENT, COURSE_ROOT, EXAMPLES_DIR, NOTEBOOK, REFERENCES_DIR
from autograder.sandbox import machine

pytestmark = [
    pytest.mark.skipif(not machine.is_root(), reason="needs root (to drop capabilities and become nobody)"),
    pytest.mark.skipif(not all(map(shutil.which, ("capsh", "setpriv", "unshare"))), reason="needs capsh, util-linux"),
    pytest.mark.slow,
]


class Listener:
    """A TCP server on 127.0.0.1 that notes every connection made to it."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.5)
        self.port, self.reached, self.running = self.server.getsockname()[1], [], True
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while self.running:
            try:
                connection, _ = self.server.accept()
                self.reached.append(connection.recv(100))
                connection.close()
            except OSError:
                continue

    def close(self):
        self.running = False
        self.server.close()


def renamed(function, new_name):
    return factory.solution(function).replace(f"def {function}(", f"def {new_name}(", 1)


def attacks(planted, course_view, port):
    """{student: {function: source}}: each graded cell attacks, then (but for the stolen model)
    does the exercise right, so only a breach changes a grade."""
    return {
        "planted-key": {"model": factory.stolen_model([f"{planted}/model.json"])},
        "course-key": {
            "model": factory.stolen_model(
                [f"{course_view}/autograder/references/model.json", f"{COURSE_ROOT}/autograder/references/model.json"]
            )
        },  # fmt: skip
        "network": {
            "clip": renamed("clip", "right_clip")
            + f"""
def clip(gradients, maxValue):
    import socket
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"hidden cases")
    except OSError:
        pass
    return right_clip(gradients, maxValue)
"""
        },
        "left-behind": {
            "sample": renamed("sample", "right_sample")
            + """
def sample(parameters, char_to_ix, seed):
    import os, time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            while True:
                time.sleep(0.5)
        os._exit(0)
    return right_sample(parameters, char_to_ix, seed)
"""
        },
        "signals": {
            "optimize": renamed("optimize", "right_optimize")
            + """
def optimize(X, Y, a_prev, parameters, learning_rate=0.01):
    import os, signal
    for target in (os.getppid(), -1):
        if target not in (0, 1, os.getpid()):
            try:
                os.kill(target, signal.SIGKILL)
            except OSError:
                pass
    return right_optimize(X, Y, a_prev, parameters, learning_rate)
"""
        },
    }


@pytest.fixture(scope="module")
def world():
    tmp = Path(tempfile.mkdtemp(prefix="dino-rungs-"))
    tmp.chmod(0o755)
    planted = Path(tempfile.mkdtemp(prefix="last-term-", dir="/srv" if os.access("/srv", os.W_OK) else None))
    shutil.copytree(REFERENCES_DIR, planted / "references")
    listener = Listener()
    submitted = tmp / "submitted"
    for example in sorted(EXAMPLES_DIR.glob("*.ipynb")):
        target = submitted / example.stem / ASSIGNMENT / NOTEBOOK
        target.parent.mkdir(parents=True)
        shutil.copy(example, target)
    for student, cells in attacks(planted / "references", tmp / "course", listener.port).items():
        factory.write(factory.notebook(cells), submitted / student / ASSIGNMENT / NOTEBOOK)
    (tmp / "home").mkdir()
    for path in [tmp / "home", planted, *planted.rglob("*"), submitted, *submitted.rglob("*")]:
        path.chmod(0o777 if path.is_dir() else 0o644)  # readable by everyone: only the sandbox may stop a read
    yield tmp, listener
    listener.close()
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(planted, ignore_errors=True)


def processes_started_in(folder, owned):
    """The pids of processes still running (an ended one waiting to be reaped does nothing) whose
    real uid ``owned(uid)`` accepts and whose command line names ``folder`` (the class's world:
    other tests may be grading beside this one)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as status:
                fields = dict(line.split(":", 1) for line in status)
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        running = not fields["State"].strip().startswith(("Z", "X"))
        if running and owned(int(fields["Uid"].split()[0])) and str(folder).encode() in command:
            found.append(pid)
    return found


def grade_on(rung, world):
    """Grade the class on ``rung``: {student: {function: score}}, the sandbox line, results."""
    tmp, _ = world
    out = Path(tempfile.mkdtemp(prefix=f"out-{rung}-", dir=tmp))
    out.chmod(0o777)
    grade = (f"{worlds.python()} -m autograder grade {tmp}/submitted --json {out}/grades.json --jobs 2 --no-progress"
             f" 2> {out}/stderr.txt")  # fmt: skip
    command = {
        "root": grade,
        "uid": f"capsh --drop=cap_sys_admin -- -c '{grade}'",
        "none": worlds.under_dockers_seccomp(
            f"setpriv --reuid={worlds.NOBODY} --regid={worlds.NOBODY} --clear-groups "
            f"env -u XDG_CACHE_HOME HOME={tmp}/home PATH=/usr/bin:/bin sh -c '{grade}'"
        ),
    }[rung]
    done = worlds.run(tmp, [command])
    said = (out / "stderr.txt").read_text() if (out / "stderr.txt").exists() else ""
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:] + said[-3000:]
    report = json.loads((out / "grades.json").read_text())
    scores = {s["student"]: {name: f["score"] for name, f in s["functions"].items()} for s in report["submissions"]}
    return scores, said.splitlines()[0], report


@pytest.fixture(scope="module")
def on_full_root(world):
    return grade_on("root", world)


@pytest.mark.parametrize("rung", ["root", "uid", "none"])
def test_every_rung_grades_the_class_as_full_root_does_and_contains_the_attacks(world, on_full_root, rung):
    tmp, listener = world
    if rung == "root":
        scores, first_line, _ = on_full_root
        assert first_line.startswith("sandbox: own PID namespace"), first_line
    else:
        scores, first_line, _ = grade_on(rung, world)
        assert scores == on_full_root[0]
    if rung == "uid":
        assert "namespaces refused (root without CAP_SYS_ADMIN" in first_line and "fresh uid" in first_line
    if rung == "none":
        assert "NOT isolated from this user" in first_line and "Landlock v" in first_line
    assert scores["correct"] == {"clip": 20, "sample": 30, "optimize": 20, "model": 30}
    assert sum(scores["crash"].values()) == 0
    for student, stolen in (("planted-key", "model"), ("course-key", "model")):
        assert scores[student][stolen] == 0 and sum(scores[student].values()) == 70, (student, scores[student])
    for student in ("network", "left-behind", "signals"):  # the attack done, the exercise right
        assert sum(scores[student].values()) == 100, (student, scores[student])
    assert listener.reached == []
    low, high = machine.UID_RANGE
    left = processes_started_in(tmp, lambda uid: low <= uid < high or uid == worlds.NOBODY)
    assert left == [], [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in left]
