"""An arm64 Debian root to run utils under QEMU's user-mode emulation, built once and cached.

``debootstrap --foreign`` downloads and unpacks Debian bookworm's arm64 base and Python 3.11
(20 s); unpacking the Python packages ourselves with ``dpkg-deb -x`` replaces debootstrap's
second stage, which would run every package's scripts under emulation (minutes) for nothing we
need.  numpy and numba come from PyPI as the pinned manylinux aarch64 wheels, installed on the
host with ``pip --target --platform``.  QEMU runs the arm64 interpreter with ``-L ROOT``, which
makes the root's loader and libraries the ones found, so no binfmt registration and no chroot
are needed: it works in containers too.
"""

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

SUITE, MIRROR = "bookworm", "http://deb.debian.org/debian"
PYTHON_PACKAGES = ("python3.11-minimal", "libpython3.11-stdlib")  # debootstrap adds what they depend on
WHEELS = ("numpy", "numba")  # at the course group's pins (llvmlite comes with numba)
TOOLS = ("debootstrap", "dpkg-deb", "qemu-aarch64-static")
CACHE = Path(os.environ.get("DINO_CROSS_CACHE", "/var/cache/dinosaurus-island"))
COURSE_ROOT = Path(__file__).resolve().parent.parent


def missing():
    """Why the emulated root cannot be built or run here, or None."""
    if sys.platform != "linux":
        return "needs Linux"
    absent = [tool for tool in TOOLS if not shutil.which(tool)]
    if absent:
        return f"needs {', '.join(absent)} (Debian: apt-get install debootstrap qemu-user-static; make test does)"
    if os.geteuid() != 0:
        return "needs root (debootstrap)"
    return None


def wheel_pins():
    """The exact versions the project runs with (the course group's pins; students get ranges)."""
    groups = tomllib.loads((COURSE_ROOT / "pyproject.toml").read_text())["dependency-groups"]
    return sorted(pin for pin in groups["course"] if isinstance(pin, str) and pin.split("==")[0] in WHEELS)


class Arm64Root:
    """The cached root: ``folder/root`` (Debian arm64) and ``folder/site`` (the wheels)."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.root, self.site = self.folder / "root", self.folder / "site"

    def python(self, cpu=None):
        """The command line that starts the arm64 Python (on emulated CPU model ``cpu``)."""
        qemu = [shutil.which("qemu-aarch64-static"), *(["-cpu", cpu] if cpu else []), "-L", str(self.root)]
        return [*qemu, str(self.root / "usr" / "bin" / "python3.11")]

    def environment(self, course, numba_cache):
        return {
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": os.pathsep.join([str(self.site), str(course)]),
            "PYTHONNOUSERSITE": "1",
            "NUMBA_CACHE_DIR": str(numba_cache),
            "LANG": "C.UTF-8",
        }


def ensure_root(log=print):
    """The cached root for the current pins, built if it is not there yet (about a minute)."""
    pins = wheel_pins()
    key = hashlib.sha256(" ".join([SUITE, *PYTHON_PACKAGES, *pins]).encode()).hexdigest()[:12]
    folder = CACHE / f"arm64-{SUITE}-{key}"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time; the others then find it ready
        if not (folder / ".ready").exists():
            log(f"building the arm64 root in {folder} (cached for later runs)")
            build(folder, pins)
    return Arm64Root(folder)


def build(folder, pins):
    scratch = Path(tempfile.mkdtemp(prefix="building-", dir=CACHE))
    try:
        root = scratch / "root"
        subprocess.run(
            ["debootstrap", "--arch=arm64", "--foreign", "--variant=minbase",
             "--include=" + ",".join(PYTHON_PACKAGES), SUITE, str(root), MIRROR],
            check=True, capture_output=True,
        )  # fmt: skip
        archives = root / "var" / "cache" / "apt" / "archives"
        for deb in sorted(archives.glob("*.deb")):  # the second stage's work, minus the scripts
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True, capture_output=True)
            deb.unlink()
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(scratch / "site"),
             "--only-binary=:all:", "--implementation", "cp", "--python-version", "3.11",
             "--platform", "manylinux_2_28_aarch64", "--platform", "manylinux_2_17_aarch64",
             "--platform", "manylinux2014_aarch64", *pins, "llvmlite==" + llvmlite_pin()],
            check=True, capture_output=True,
        )  # fmt: skip
        (scratch / ".ready").touch()
        shutil.rmtree(folder, ignore_errors=True)
        scratch.rename(folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def llvmlite_pin():
    """llvmlite at the host's version (numba's pin of it is exact, so the host's is the one)."""
    from importlib.metadata import version

    return version("llvmlite")
