"""The library folder: the code that runs in the sandbox (the package ``inside/`` and the
course's ``utils/``), copied once per version into this user's private cache, read-only, with
utils' numba kernels compiled beside it; and the environment a sandboxed process starts with."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

from ..paths import SOURCE_DIR

INSIDE = Path(__file__).resolve().parent / "inside"  # the package that runs in the sandbox
ENTRY = "inside/__main__.py"  # its one entry point, as a path in the library folder
NUMBA_CACHE = ".numba_cache"
KEEP_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "NPY_DISABLE_CPU_FEATURES")


def allowlist() -> list[str]:
    """Host folders the student's process sees, read-only, besides the system's (jail.py)."""
    return sorted({sys.base_prefix, sys.prefix, str(shared_library())})


def clean_environment(home: str) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }
    env.update({k: os.environ[k] for k in KEEP_ENV if k in os.environ})
    return env


def library_files() -> dict[str, Path]:
    """{path in the library folder: the file it is copied from}: every module of ``inside/``
    (caches and all else left out) and of utils/."""
    files = {f"inside/{path.name}": path for path in sorted(INSIDE.glob("*.py"))}
    for path in sorted((SOURCE_DIR / "utils").glob("*.py")):
        files[f"utils/{path.name}"] = path
    return files


def private_cache() -> Path:
    """This user's cache folder for the grader, mode 700 and owned by this user: a folder that
    another user made or can write to is refused, never trusted because it exists."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = base / "dinosaurus-grader"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = folder.lstat()
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise PermissionError(f"{folder} must be a folder of this user's with mode 700; remove it or fix it")
    return folder


@functools.cache
def shared_library() -> Path:
    """A read-only folder with the code that runs in the sandbox (``library_files``), made
    once per version of those files, with utils' numba kernels compiled into .numba_cache."""
    files = library_files()
    digest = hashlib.sha256(sys.version.encode())
    for name, path in files.items():
        digest.update(name.encode() + path.read_bytes())
    library = private_cache() / f"lib-{digest.hexdigest()[:16]}"
    ready = library / ".ready"
    try:
        library.mkdir()  # whoever creates the folder builds it; the others wait for .ready
    except FileExistsError:
        for _ in range(1200):
            if ready.exists():
                return library
            time.sleep(0.5)
        raise RuntimeError(f"{library} was never finished; delete it and try again") from None
    for name, path in files.items():
        (library / name).parent.mkdir(exist_ok=True)
        shutil.copy2(path, library / name)
    env = clean_environment(str(library))
    env["NUMBA_CACHE_DIR"] = str(library / NUMBA_CACHE)
    subprocess.run([sys.executable, "-I", str(library / ENTRY), "warm-up"], env=env, capture_output=True, timeout=600)
    for path in [library, *library.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    ready.touch()
    return library
