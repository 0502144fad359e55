"""The grader run by an ordinary user: unprivileged user namespaces stand in for root.

The test (as root) starts the grader as user ``nobody`` in a private mount namespace in which
the interpreter and the course are reachable by other users (on a developer's machine they
usually are; here the interpreter may live under a mode-700 /root, which is then shown
through a tmpfs of mode 755).  Nothing of the host is changed.
"""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import worlds

from autograder.authoring import factory
from autograder.paths import COURSE_ROOT, NOTEBOOK
from autograder.sandbox import machine

NOBODY = worlds.NOBODY
pytestmark = pytest.mark.skipif(
    not machine.is_root() or not shutil.which("setpriv") or not shutil.which("unshare"),
    reason="needs root (to become nobody in a private mount namespace) and util-linux",
)

INSIDE = """
import json, os, sys, textwrap
sys.path[:0] = [os.getcwd()]
from autograder.authoring import factory
from autograder.sandbox import library, machine, server
from autograder.sandbox.inside import jail
from autograder.sandbox.limits import Limits
from autograder.sandbox.messages import Task
from autograder.sandbox.run import run_task

def run_body(body):
    source = "def f():\\n" + textwrap.indent(textwrap.dedent(body).strip("\\n"), "    ") + "\\n"
    task = Task(function="f", student_source=source, cases=[{"id": "only", "args": [], "kwargs": {}}])
    return run_task(task, Limits(cpu_seconds=60)).cases()["only"].stored()

allowed = [*jail.SYSTEM_PATHS, *jail.SYSTEM_FILES, *library.allowlist()]
walk = run_body(factory.walk_outside_allowlist(allowed)
               + 'return outside, os.getuid(), os.getpid()\\n')
escape = run_body('''
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(60)
    os._exit(0)
return True
''')
ours = {os.getpid(), server.fork_server().process.pid}
# The runs' processes still alive: forked from this grader's process server, they carry its command
# line, which names its own folder (another grader of the same user, e.g. a test running beside this
# one, has a folder of its own).
home = str(server.fork_server().home)
left = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        command = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
        if int(pid) not in ours and os.stat(f"/proc/{pid}").st_uid == os.getuid() and home in command:
            left.append(command)
    except OSError:
        pass
on_the_way = sorted({str(parent) for path in allowed for parent in __import__("pathlib").Path(path).parents})
print(json.dumps({"mode": machine.isolation_mode(), "walk": walk, "escape": escape, "left": left,
                  "on_the_way": on_the_way}))
"""


def as_nobody(tmp, commands):
    """A shell script: the world view of ``worlds.py``, then ``commands`` run as nobody."""
    user = (
        f"setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups "
        f"env -u XDG_CACHE_HOME HOME={tmp}/home PATH=/usr/bin:/bin"
    )  # their own cache, not this user's
    return worlds.script(tmp, [f"{user} {command}" for command in commands])


@pytest.fixture
def world(tmp_path):
    tmp = Path(tempfile.mkdtemp(prefix="dino-nobody-"))
    tmp.chmod(0o755)
    (tmp / "home").mkdir(mode=0o777)
    (tmp / "home").chmod(0o777)
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


def test_without_root_the_student_is_still_walled_in_and_the_batch_says_what_holds(world):
    if not all(os.stat(path).st_mode & 0o005 == 0o005 for path in (COURSE_ROOT, COURSE_ROOT / "autograder")):
        pytest.skip("the course folder is not readable by other users (cloned with umask 077?)")
    submitted = world / "submitted"
    factory.write(factory.notebook(), submitted / "alice" / "dinosaurus_island" / NOTEBOOK)
    (world / "out").mkdir(mode=0o777)
    for path in [submitted, *submitted.rglob("*"), world / "out"]:
        path.chmod(0o777 if path.is_dir() else 0o644)
    (world / "inside.py").write_text(INSIDE)
    python = worlds.python()
    script = as_nobody(
        world,
        [
            f"{python} {world}/inside.py > {world}/out/inside.json",
            f"{python} -m autograder grade {submitted} --json {world}/out/grades.json --only clip sample"
            f" --no-progress 2> {world}/out/stderr.txt",
        ],
    )
    done = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    inside = json.loads((world / "out" / "inside.json").read_text())
    if inside["mode"] == "none":
        pytest.skip("this kernel gives ordinary users no user namespaces")
    assert inside["mode"] == "userns"
    outside, uid_inside, pid_inside = inside["walk"]["result"]
    assert [p for p in outside if p not in inside["on_the_way"] and not p.startswith("/dev/")] == []
    assert uid_inside == 0 and pid_inside == 1  # root of its own user namespace, process 1 of its PID namespace
    assert inside["escape"]["ok"] and inside["left"] == []  # the double-forked sleeper ended with the run
    scores = {s["student"]: s["score"] for s in json.loads((world / "out" / "grades.json").read_text())["submissions"]}
    assert scores == {"alice": 50}
    said = (world / "out" / "stderr.txt").read_text()
    assert "no cgroups and no separate uid without root" in said and "own PID namespace" in said
