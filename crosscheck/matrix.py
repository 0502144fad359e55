"""``python -m crosscheck.matrix``: the same numbers on every numpy a student may have.

Students keep the numpy their Colab, Anaconda or JupyterHub gives them, so the notebook must
print the same numbers with each.  For every environment of ``ENVIRONMENTS`` (a Python, a numpy,
numba or not) this runs, with the numpy path and, where numba is installed, the compiled one:

1. what the notebook prints, cell by cell (``crosscheck/notebook_cells.py``): the visible
   tests' values, the sampled names, the sonnets;
2. utils' exp, tanh and log over ~1.2 million inputs (``crosscheck/probe.py``);
3. the canonical training run for 2,001 steps, or all 22,001 (``FULL``) against the canonical file;

and compares each with the same program under this project's own environment.  Python 3.11
environments are virtual environments of this interpreter; Python 3.13 runs from a Debian
trixie root made with ``debootstrap`` (as ``root.py`` makes the arm64 one), started through its
own loader, so no chroot.  Everything is built once and kept in ``CACHE``; wheels come from
pip's cache after the first download.  Exit 0 when every comparison is equal.
"""

import argparse
import fcntl
import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from crosscheck.root import CACHE, COURSE_ROOT, MIRROR

NOTEBOOK_FOLDER = COURSE_ROOT / "source" / "dinosaurus_island"
CANONICAL = COURSE_ROOT / "tests" / "files" / "model_22001_canonical_output.txt"
TRIXIE_PACKAGES = ("python3.13-minimal", "libpython3.13-stdlib")
NUMBA, LLVMLITE = "0.68.1", "0.50.0"


@dataclass(frozen=True)
class Environment:
    python: str  # "3.11": a virtual environment of this interpreter; "3.13": the trixie root
    numpy: str
    numba: bool  # installed (then both paths run) or not (utils falls back to numpy by itself)
    full: bool = False  # also the 22,001-step run, against the canonical file

    @property
    def name(self):
        return f"python{self.python}-numpy{self.numpy}-{'numba' if self.numba else 'no-numba'}"


ENVIRONMENTS = (
    Environment("3.11", "1.26.4", numba=False),  # the oldest numpy (Anaconda, many JupyterHubs), numba absent
    Environment("3.11", "1.26.4", numba=True, full=True),  # the oldest
    Environment("3.11", "2.0.2", numba=True),  # Colab's
    Environment("3.11", "2.2.6", numba=True),
    Environment("3.11", "2.3.5", numba=True),
    Environment("3.13", "2.1.3", numba=True),  # the first numpy with wheels for 3.13
    Environment("3.13", "2.4.6", numba=True, full=True),  # the newest
)
PATHS = {"numpy": {"DINO_PURE_NUMPY": "1"}, "numba": {}}


def missing(environment):
    """Why ``environment`` cannot be built here, or None."""
    if sys.platform != "linux" or os.uname().machine != "x86_64":
        return "needs Linux on x86-64"
    if environment.python == "3.13":
        if not shutil.which("debootstrap") or not shutil.which("dpkg-deb"):
            return "needs debootstrap (Debian: apt-get install debootstrap; make test does)"
        if os.geteuid() != 0:
            return "needs root (debootstrap)"
    elif sys.version_info[:2] != (3, 11):
        return "the 3.11 environments are made from a Python 3.11 interpreter"
    return None


# ----------------------------------------------------------------------------
# Building, once
# ----------------------------------------------------------------------------


def _cached(name, build):
    """CACHE/name, built by ``build(folder)`` the first time (one builder at a time)."""
    folder = CACHE / name
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock-matrix", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".ready").exists():
            scratch = Path(tempfile.mkdtemp(prefix="building-", dir=CACHE))
            try:
                build(scratch)
                (scratch / ".ready").touch()
                shutil.rmtree(folder, ignore_errors=True)
                scratch.rename(folder)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    return folder


def _pins(environment):
    return [f"numpy=={environment.numpy}", *([f"numba=={NUMBA}", f"llvmlite=={LLVMLITE}"] if environment.numba else [])]


def _virtual_environment(environment, folder):
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, capture_output=True)
    subprocess.run([str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", "--only-binary=:all:",
                    *_pins(environment)], check=True, capture_output=True)  # fmt: skip


def _trixie_root(folder):
    subprocess.run(
        ["debootstrap", "--arch=amd64", "--foreign", "--variant=minbase", "--include=" + ",".join(TRIXIE_PACKAGES),
         "trixie", str(folder / "root"), MIRROR],
        check=True, capture_output=True,
    )  # fmt: skip
    archives = folder / "root" / "var" / "cache" / "apt" / "archives"
    for deb in sorted(archives.glob("*.deb")):  # debootstrap's second stage, minus the scripts: nothing runs
        subprocess.run(["dpkg-deb", "-x", str(deb), str(folder / "root")], check=True, capture_output=True)
        deb.unlink()


def _wheels_for_313(environment, folder):
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(folder / "site"),
         "--only-binary=:all:", "--implementation", "cp", "--python-version", "3.13",
         "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64",
         "--platform", "manylinux2014_x86_64", *_pins(environment)],
        check=True, capture_output=True,
    )  # fmt: skip


class Interpreter:
    """How to start the Python of one environment, and with what environment variables."""

    def __init__(self, command, variables):
        self.command, self.variables = command, variables

    def run(self, arguments, extra=(), cwd=COURSE_ROOT, numba_cache=None):
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONNOUSERSITE": "1", **self.variables, **dict(extra)}
        paths = [*filter(None, [env.get("PYTHONPATH")]), str(COURSE_ROOT), str(NOTEBOOK_FOLDER)]
        env["PYTHONPATH"] = os.pathsep.join(paths)
        if numba_cache:
            env["NUMBA_CACHE_DIR"] = str(numba_cache)
        done = subprocess.run([*self.command, *arguments], cwd=cwd, env=env, capture_output=True, timeout=3600)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(arguments)} failed:\n{done.stderr.decode(errors='replace')[-2000:]}")
        return done.stdout


def interpreter(environment):
    """The environment's Interpreter, built the first time."""
    if environment.python == "3.11":
        folder = _cached(f"venv-{environment.name}", lambda f: _virtual_environment(environment, f))
        return Interpreter([str(folder / "bin" / "python")], {})
    root = _cached(f"trixie-{_key(TRIXIE_PACKAGES)}", _trixie_root) / "root"
    site = _cached(f"site-{environment.name}", lambda f: _wheels_for_313(environment, f)) / "site"
    libraries = [root / "lib" / "x86_64-linux-gnu", root / "usr" / "lib" / "x86_64-linux-gnu"]
    loader = root / "lib64" / "ld-linux-x86-64.so.2"
    command = [str(loader), "--library-path", os.pathsep.join(map(str, libraries)), str(root / "usr/bin/python3.13")]
    return Interpreter(command, {"PYTHONHOME": str(root / "usr"), "PYTHONPATH": str(site)})


def _key(parts):
    return hashlib.sha256(" ".join(parts).encode()).hexdigest()[:12]


HERE = Interpreter([sys.executable], {})  # this project's own environment: what every other one must print


# ----------------------------------------------------------------------------
# Comparing
# ----------------------------------------------------------------------------


def programs(environment):
    """{label: (arguments, working folder)} of what runs in ``environment``."""
    steps = "22001" if environment.full else "2001"
    return {
        "notebook": ([str(COURSE_ROOT / "crosscheck" / "notebook_cells.py")], NOTEBOOK_FOLDER),
        "exp/tanh/log": ([str(COURSE_ROOT / "crosscheck" / "probe.py")], COURSE_ROOT),
        f"{steps}-step training": (["-m", "autograder.solution", steps], COURSE_ROOT),
    }


@functools.cache
def here(arguments, path, cwd):
    """What ``arguments`` print in this project's own environment (once per process: the same for
    every environment they are compared with)."""
    with tempfile.TemporaryDirectory(prefix="dino-matrix-here-") as scratch:
        return comparable(HERE.run(list(arguments), PATHS[path], cwd, Path(scratch) / "numba"))


def comparable(output):
    """What must be equal: all of it but the line utils prints about which path it took."""
    return b"\n".join(line for line in output.splitlines() if not line.startswith(b"utils: "))


def compare(environment, log=print):
    """[(label, equal, first difference or "")] for every program and path in ``environment``."""
    there = interpreter(environment)
    results = []
    with tempfile.TemporaryDirectory(prefix="dino-matrix-") as scratch:  # one numba cache for its programs
        for path, extra in PATHS.items():
            if path == "numba" and not environment.numba:
                continue
            for label, (arguments, cwd) in programs(environment).items():
                if label == "exp/tanh/log":
                    arguments = [*arguments, path]
                theirs = comparable(there.run(arguments, extra, cwd, Path(scratch) / "numba"))
                if label.startswith("22001"):  # the canonical file is that run's output, byte for byte
                    mine = comparable(CANONICAL.read_bytes())
                else:
                    mine = here(tuple(arguments), path, cwd)
                name = f"{environment.name}, {path} path: {label}"
                results.append((name, theirs == mine, _first_difference(mine, theirs)))
                log(f"{'same' if results[-1][1] else 'DIFFERENT'}: {results[-1][0]}")
    return results


def _first_difference(mine, theirs):
    for ours, other in zip(mine.splitlines(), theirs.splitlines(), strict=False):
        if ours != other:
            return f"here: {ours.decode(errors='replace')} / there: {other.decode(errors='replace')}"
    return "" if len(mine) == len(theirs) else "one output is longer"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m crosscheck.matrix", description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", help="environment names to run (default: all)")
    args = parser.parse_args(argv)
    same = True
    for environment in ENVIRONMENTS:
        if args.only and environment.name not in args.only:
            continue
        reason = missing(environment)
        if reason:
            print(f"skipped: {environment.name}: {reason}")
            continue
        same &= all(equal for _, equal, _ in compare(environment))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
