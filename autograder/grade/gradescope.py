"""Gradescope: an autograder bundle for its documented layout, and what runs inside it.

``python -m autograder gradescope-bundle OUT.zip`` writes the zip an instructor uploads as a
programming assignment's autograder.  Gradescope unpacks it into ``/autograder/source``, runs
``setup.sh`` once to build its image, then, for each submission, ``run_autograder`` with the
upload in ``/autograder/submission``; the grade goes to ``/autograder/results/results.json``.

``run_autograder`` calls ``python -m autograder gradescope-run``, which grades the uploaded
notebook with the same checks and sandbox as ``grade``.  A bad upload (no notebook, several, a
``.py``, an empty or corrupt file) is a score of 0 with a message saying what to upload, never a
crash; a failure of the grader itself exits non-zero, which Gradescope shows as an autograder
error that staff can rerun, never a 0 recorded as a grade.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import tomllib
import zipfile
from pathlib import Path

from ..paths import COURSE_MODULES, COURSE_ROOT, NOTEBOOK, RELEASE_DIR, SOURCE_DIR
from .report import to_gradescope, write_atomically

ROOT = Path("/autograder")
COURSE = "course"  # the folder of the bundle that holds the grader and the course's files
RUNTIME = ("numpy", "numba", "nbformat", "rich")  # what grading imports, pinned as in pyproject.toml
MAX_LISTED = 10  # names listed when an upload holds several notebooks

SETUP_SH = """\
#!/usr/bin/env bash
# Run once by Gradescope (as root) to build the autograder's image, on any Ubuntu base image it
# offers (22.04's Python is 3.10: the grader then installs 3.11 beside it, from Ubuntu's own
# universe, or else from the deadsnakes PPA) or on Debian.  AUTOGRADER_ROOT lets a test build
# the image somewhere other than /autograder, AUTOGRADER_SYSTEM_PYTHON stand in for python3.
set -euo pipefail
root="${AUTOGRADER_ROOT:-/autograder}"
export DEBIAN_FRONTEND=noninteractive
new_enough() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv ca-certificates
python="${AUTOGRADER_SYSTEM_PYTHON:-python3}"
if ! new_enough "$python"; then
    echo "python3 is older than 3.11: installing python3.11 beside it"
    if ! apt-get install -y --no-install-recommends python3.11 python3.11-venv; then
        apt-get install -y --no-install-recommends software-properties-common
        add-apt-repository -y ppa:deadsnakes/ppa
        apt-get update
        apt-get install -y --no-install-recommends python3.11 python3.11-venv
    fi
    python=python3.11
fi
new_enough "$python" || { echo "no Python 3.11 or newer could be installed" >&2; exit 1; }
"$python" -m venv "$root/venv"
"$root/venv/bin/pip" install --no-cache-dir -r "$root/source/requirements.txt"
# The answer key (references, solution notebook, checks) is for root only: the student's code
# runs under another uid, and Landlock, where the kernel has it, confines it further.
chmod -R go-rwx "$root/source"
chmod 755 "$root"
"""

RUN_AUTOGRADER = f"""\
#!/usr/bin/env bash
# Run by Gradescope for each submission.  AUTOGRADER_ROOT and AUTOGRADER_PYTHON let a test
# present the bundle somewhere other than /autograder.
set -uo pipefail
root="${{AUTOGRADER_ROOT:-/autograder}}"
cd "$root/source/{COURSE}"
exec "${{AUTOGRADER_PYTHON:-$root/venv/bin/python}}" -m autograder gradescope-run --root "$root"
"""


# ----------------------------------------------------------------------------
# Building the bundle
# ----------------------------------------------------------------------------


def requirements() -> str:
    """The pinned versions of what grading imports, read from pyproject.toml's groups."""
    groups = tomllib.loads((COURSE_ROOT / "pyproject.toml").read_text())["dependency-groups"]
    pins = {}
    for group in groups.values():
        for item in group:
            if isinstance(item, str) and "==" in item:
                name, version = item.split("==")
                pins[name.strip().lower()] = version.strip()
    return "".join(f"{name}=={pins[name]}\n" for name in RUNTIME)


def bundle_files() -> dict[str, Path]:
    """{name in the zip: path on disk} of the course files grading needs (links resolved)."""
    files = {}
    sources = [
        (COURSE_ROOT / "autograder", "autograder"),
        (SOURCE_DIR / "utils", f"source/{SOURCE_DIR.name}/utils"),  # copied into each sandbox
        # the course code, at the root as the course's links put it (`import utils`, `import assignment`)
        *((SOURCE_DIR / name, name) for name in COURSE_MODULES),
    ]
    for source, name in sources:
        if source.is_file():
            files[f"{COURSE}/{name}"] = source
            continue
        for path in sorted(source.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and not path.name.endswith(".pyc"):
                files[f"{COURSE}/{name}/{path.relative_to(source)}"] = path
    # the solution, the data set, and the assignment's facts (the rule that finds graded cells)
    for path in (SOURCE_DIR / NOTEBOOK, SOURCE_DIR / "dinos.txt", SOURCE_DIR / "assignment.py"):
        files[f"{COURSE}/source/{SOURCE_DIR.name}/{path.name}"] = path
    # the notebook as students get it: an exercise left as released reads "not implemented yet"
    files[f"{COURSE}/release/{RELEASE_DIR.name}/{NOTEBOOK}"] = RELEASE_DIR / NOTEBOOK
    return files


def build_bundle(out: Path | str) -> int:
    """Write the autograder zip to ``out``; returns the number of files in it."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp")
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFREG | 0o755) << 16  # executable once unpacked
            bundle.writestr(info, text)
        bundle.writestr("requirements.txt", requirements())
        files = bundle_files()
        for name, path in files.items():
            bundle.write(path, name)
    os.replace(temporary, out)
    return len(files) + 3


# ----------------------------------------------------------------------------
# Grading one upload, inside Gradescope's container
# ----------------------------------------------------------------------------


def find_upload(folder: Path) -> tuple[Path | None, str | None]:
    """(the notebook to grade, None) or (None, what the student should upload instead)."""
    from .submission import shown

    entries = []
    for directory, subfolders, names in os.walk(folder):  # links are not followed
        subfolders[:] = [s for s in subfolders if s != ".ipynb_checkpoints" and not s.startswith("__MACOSX")]
        entries += [Path(directory, name) for name in names]
    notebooks = sorted(path for path in entries if path.name.endswith(".ipynb"))
    advice = f"Upload your notebook, {NOTEBOOK} (in Jupyter: File → Download), and nothing else."
    if not notebooks:
        kinds = sorted({path.suffix or path.name for path in entries})
        found = f"The upload holds {', '.join(shown(k) for k in kinds[:MAX_LISTED])}, but no notebook." if kinds else (
            "The upload is empty.")  # fmt: skip
        return None, f"{found} {advice}"
    if len(notebooks) == 1:
        return notebooks[0], None
    named = [path for path in notebooks if path.name == NOTEBOOK]
    if len(named) == 1:
        return named[0], None
    listed = ", ".join(shown(path.relative_to(folder)) for path in notebooks[:MAX_LISTED])
    return None, f"The upload holds {len(notebooks)} notebooks ({listed}); it is unclear which to grade. {advice}"


def run(root: Path = ROOT) -> int:
    """Grade the upload in ``root``/submission into ``root``/results/results.json."""
    from ..sandbox.machine import protections
    from .cluster import course_fingerprint
    from .grading import grade_notebook

    root = Path(root)
    results = root / "results" / "results.json"
    fingerprint = {"course_fingerprint": course_fingerprint()}
    path, problem = find_upload(root / "submission")
    if problem:
        write_atomically(results, json.dumps({"score": 0.0, "output": problem, "tests": [],
                                              "extra_data": fingerprint}, indent=2) + "\n")  # fmt: skip
        return 0
    try:
        result = grade_notebook(path, student=path.stem)
    except Exception as error:  # the grader's fault: Gradescope shows an error that staff can rerun
        print(f"the autograder failed on this submission ({type(error).__name__}: {error})", file=sys.stderr)
        return 1
    if not result.graded:  # the machine, not the student: an autograder error that staff can rerun
        print(f"not graded (rerun it): {result.errors[-1]}", file=sys.stderr)
        return 1
    graded = json.loads(to_gradescope(result, preamble="Your code ran in a sandbox: " + "; ".join(protections())))
    graded["extra_data"] = fingerprint
    write_atomically(results, json.dumps(graded, indent=2) + "\n")
    return 0
