"""The Gradescope bundle, unpacked and run as Gradescope runs it (its root presented elsewhere
through the documented AUTOGRADER_ROOT override, the interpreter through AUTOGRADER_PYTHON)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

from autograder.authoring import factory
from autograder.checks import SPECS
from autograder.grade import gradescope
from autograder.paths import NOTEBOOK, RELEASE_DIR
from autograder.sandbox import machine

# Gradescope's documented keys of results.json, and of each test in it.
RESULT_KEYS = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
               "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}  # fmt: skip
TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
             "visibility", "extra_data"}  # fmt: skip


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gradescope")
    gradescope.build_bundle(folder / "autograder.zip")
    with zipfile.ZipFile(folder / "autograder.zip") as archive:
        names = archive.namelist()
        archive.extractall(folder / "source")
        for name in ("setup.sh", "run_autograder"):  # zipfile drops modes: restore those recorded
            os.chmod(folder / "source" / name, archive.getinfo(name).external_attr >> 16 & 0o777)
    assert {"setup.sh", "run_autograder", "requirements.txt"} <= set(names)
    return folder / "source"


def run_upload(bundle, tmp_path, files):
    """Present the bundle at a fresh root with ``files`` ({name: bytes}) as the upload; run it."""
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "source").symlink_to(bundle)
    for name, data in files.items():
        (root / "submission" / name).write_bytes(data)
    done = subprocess.run(
        [str(bundle / "run_autograder")],
        env={**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    assert set(results) <= RESULT_KEYS and all(set(test) <= TEST_KEYS for test in results["tests"])
    assert results["extra_data"]["course_fingerprint"]
    return results


# A clip that raises on every case: all of clip's 20 points lost, nothing else.
CLIP_RAISES = factory.edited("clip", "out=gradients[name])", "out=name)")


def notebook_bytes(cells=None):
    return nbformat.writes(factory.notebook(cells)).encode()


def test_does_the_bundle_pin_what_grading_imports(bundle):
    pins = (bundle / "requirements.txt").read_text().split()
    assert sorted(p.split("==")[0] for p in pins) == sorted(gradescope.RUNTIME) and all("==" in p for p in pins)
    assert "apt-get install" in (bundle / "setup.sh").read_text()


@pytest.mark.slow
def test_are_a_correct_and_a_mistaken_upload_graded_as_by_the_cli(bundle, tmp_path):
    correct = run_upload(bundle, tmp_path / "a", {"my_work.ipynb": notebook_bytes()})
    assert correct["score"] == 100 and all(test["status"] == "passed" for test in correct["tests"])
    assert all(test["visibility"] == "visible" and test["max_score"] > 0 for test in correct["tests"])
    mistaken = run_upload(bundle, tmp_path / "b", {NOTEBOOK: notebook_bytes({"clip": CLIP_RAISES})})
    assert mistaken["score"] == 80
    failed = [test for test in mistaken["tests"] if test["status"] == "failed"]
    assert failed and all(test["name"].startswith("clip: ") and test["output"] for test in failed)


def test_does_the_release_as_students_get_it_read_not_implemented_yet_on_gradescope(bundle, tmp_path):
    """The bundle carries the released notebook, so an untouched exercise is named as such there too."""
    results = run_upload(bundle, tmp_path, {NOTEBOOK: (RELEASE_DIR / NOTEBOOK).read_bytes()})
    assert results["score"] == 0
    assert {test["output"].split(" is not implemented yet:")[0] for test in results["tests"]} == set(SPECS)


@pytest.mark.parametrize(
    "files, says",
    [
        ({}, "empty"),
        ({"solution.py": b"def clip(): pass\n"}, "no notebook"),
        ({"a.ipynb": notebook_bytes(), "b.ipynb": notebook_bytes()}, "2 notebooks"),
        ({NOTEBOOK: b""}, "not valid JSON"),
        ({NOTEBOOK: b"\x89PNG\r\n\x1a\n\x00\x00"}, "not UTF-8"),
    ],
    ids=["nothing", "a .py", "two notebooks", "empty file", "corrupt file"],
)
def test_is_a_bad_upload_a_zero_with_a_clear_message(bundle, tmp_path, files, says):
    results = run_upload(bundle, tmp_path, files)
    assert results["score"] == 0
    assert says in results["output"]


# ----------------------------------------------------------------------------
# The image as Gradescope builds it, and grading inside Gradescope's default limits
# ----------------------------------------------------------------------------

CONTAINER_MEMORY = 768 * 1024**2  # Gradescope's default container
HOG = """
def clip(gradients, maxValue):
    import numpy as np
    kept = []
    while True:  # 16 MB more at each turn, all of it touched
        kept.append(np.ones(2 * 1024**2))
"""
as_root_on_debian = pytest.mark.skipif(
    not machine.is_root() or not shutil.which("apt-get") or not shutil.which("capsh"),
    reason="needs root, apt-get and capsh (to build the image and drop CAP_SYS_ADMIN)",
)


def old_python(folder):
    """A stand-in for Ubuntu 22.04's python3: it answers what setup.sh asks as Python 3.10.12."""
    script = folder / "python3"
    script.write_text(
        f"""#!/bin/sh
case "$1" in
  --version) echo "Python 3.10.12" ;;
  -c) exec {sys.executable} -c "import sys; sys.version_info = (3, 10, 12, 'final', 0)
$2" ;;
  *) echo "stand-in python3: only --version and -c" >&2; exit 2 ;;
esac
"""
    )
    script.chmod(0o755)
    return script


@contextmanager
def memory_cgroup(limit):
    """A cgroup whose memory limit is ``limit``: the container Gradescope runs the grader in."""
    v2 = Path("/sys/fs/cgroup/cgroup.controllers").exists()
    base = Path("/sys/fs/cgroup") if v2 else Path("/sys/fs/cgroup/memory")
    group = base / f"dino-container-{os.getpid()}"
    group.mkdir()
    try:
        (group / ("memory.max" if v2 else "memory.limit_in_bytes")).write_text(str(limit))
        if v2 and (group / "memory.swap.max").exists():
            (group / "memory.swap.max").write_text("0")
        yield group
    finally:
        for _ in range(100):
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)


@pytest.fixture(scope="module")
def image(bundle):
    """/autograder as setup.sh leaves it, on a machine whose python3 is 3.10, made elsewhere."""
    root = Path(tempfile.mkdtemp(prefix="autograder-", dir="/srv" if os.access("/srv", os.W_OK) else None))
    root.chmod(0o755)
    shutil.copytree(bundle, root / "source")
    stand_in = old_python(root)
    environment = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_SYSTEM_PYTHON": str(stand_in)}
    done = subprocess.run(["bash", str(root / "source" / "setup.sh")], capture_output=True, text=True, timeout=1200,
                          env=environment)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "python3 is older than 3.11: installing python3.11 beside it" in done.stdout
    yield root, done.stdout
    shutil.rmtree(root, ignore_errors=True)


def run_in_the_container(root, files):
    """run_autograder as Gradescope runs it: as root without CAP_SYS_ADMIN, in a 768 MB container."""
    shutil.rmtree(root / "submission", ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    (root / "submission").mkdir()
    for name, data in files.items():
        (root / "submission" / name).write_bytes(data)
    with memory_cgroup(CONTAINER_MEMORY) as group:
        enter = f"set -e; echo $$ > {group}/cgroup.procs"
        command = f"{enter}; exec capsh --drop=cap_sys_admin -- -c {root}/source/run_autograder"
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=900,
                              env={**os.environ, "AUTOGRADER_ROOT": str(root)})  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    assert set(results) <= RESULT_KEYS and all(set(test) <= TEST_KEYS for test in results["tests"])
    assert results["output_format"] == results["test_output_format"] == "text"
    assert isinstance(results["execution_time"], int) and results["execution_time"] >= 0
    assert all((test["status"] == "passed") == (test["score"] == test["max_score"]) for test in results["tests"])
    return results


@as_root_on_debian
@pytest.mark.slow
def test_the_image_builds_on_an_old_python_and_grades_inside_gradescopes_limits(image):
    root, _ = image
    assert (root / "source").stat().st_mode & 0o077 == 0  # the answer key: root's only
    correct = run_in_the_container(root, {"mine.ipynb": notebook_bytes()})
    assert correct["score"] == 100, [test["output"] for test in correct["tests"] if test["status"] != "passed"][:2]
    assert "namespaces refused (root without CAP_SYS_ADMIN" in correct["output"]  # the rung, said at the top
    mistaken = run_in_the_container(root, {NOTEBOOK: notebook_bytes({"clip": CLIP_RAISES})})
    assert mistaken["score"] == 80
    hog = run_in_the_container(root, {NOTEBOOK: notebook_bytes({"clip": HOG})})
    assert hog["score"] == 80  # clip's 20 lost, the grader alive, the other functions graded
    clip_tests = [test for test in hog["tests"] if test["name"].startswith("clip: ")]
    assert clip_tests and all(test["status"] == "failed" for test in clip_tests)
    assert "memory" in clip_tests[0]["output"], clip_tests[0]["output"]


def test_a_check_that_pays_nothing_is_never_shown_as_passed():
    from autograder.grade.report import CheckResult, FunctionResult, SubmissionResult, to_gradescope

    unpaid = CheckResult("uses the learning rate", True, "passed, but a trivial answer passes it too", 0.0, 2.0)
    paid = CheckResult("returns the loss", True, "passed", 3.0, 3.0)
    result = SubmissionResult("a.ipynb", "a", {"model": FunctionResult("model", 3.0, 5.0, [unpaid, paid], 1.0)}, [])
    tests = {test["name"]: test for test in json.loads(to_gradescope(result))["tests"]}
    assert tests["model: uses the learning rate"]["status"] == "failed"
    assert tests["model: returns the loss"]["status"] == "passed"
