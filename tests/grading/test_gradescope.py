"""The Gradescope bundle, unpacked and run as Gradescope runs it (its root presented elsewhere
through the documented AUTOGRADER_ROOT override, the interpreter through AUTOGRADER_PYTHON)."""

import json
import os
import subprocess
import sys
import zipfile

import nbformat
import pytest

from autograder.build import factory, styles
from autograder.grade import gradescope
from autograder.paths import NOTEBOOK

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


def notebook_bytes(cells=None):
    return nbformat.writes(factory.notebook(cells)).encode()


def test_does_the_bundle_pin_what_grading_imports(bundle):
    pins = (bundle / "requirements.txt").read_text().split()
    assert sorted(p.split("==")[0] for p in pins) == sorted(gradescope.RUNTIME) and all("==" in p for p in pins)
    assert "apt-get install" in (bundle / "setup.sh").read_text()


def test_are_a_correct_and_a_mistaken_upload_graded_as_by_the_cli(bundle, tmp_path):
    correct = run_upload(bundle, tmp_path / "a", {"my_work.ipynb": notebook_bytes()})
    assert correct["score"] == 100 and all(test["status"] == "passed" for test in correct["tests"])
    assert all(test["visibility"] == "visible" and test["max_score"] > 0 for test in correct["tests"])
    mistaken = run_upload(bundle, tmp_path / "b", {NOTEBOOK: notebook_bytes({"clip": styles.CLIP_WRONG_RANGE})})
    assert mistaken["score"] == 80
    failed = [test for test in mistaken["tests"] if test["status"] == "failed"]
    assert failed and all(test["name"].startswith("clip: ") and test["output"] for test in failed)


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
