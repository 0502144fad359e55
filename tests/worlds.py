"""Machines as graders meet them, made on this one without changing it: a private mount
namespace in which the interpreter and the course can be reached by other users (on this
machine the interpreter may live under a mode-700 /root, shown there through a tmpfs of mode
755, as a container image's /usr would be), entered by ``unshare -m`` from a shell script."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

from autograder.paths import COURSE_MODULES, COURSE_ROOT, SOURCE_DIR

NOBODY = 65534


def copy_of_the_course(root, parts):
    """The course's ``parts`` (folders and files) copied into ``root``, with its links to the
    course code (paths.COURSE_MODULES) made again there, as a clone has them."""
    import shutil

    for part in parts:
        source = COURSE_ROOT / part
        if source.is_dir():
            shutil.copytree(source, root / part, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, root / part)
    for name in COURSE_MODULES:
        os.symlink((SOURCE_DIR / name).relative_to(COURSE_ROOT), root / name)
    return root


def reachable_by_others(path):
    """The topmost folder above ``path`` that other users cannot enter, and its child on the way."""
    parts = Path(path).resolve().parts
    for depth in range(1, len(parts)):
        folder = Path(*parts[:depth])
        if not os.stat(folder).st_mode & 0o001:
            return folder, parts[depth]
    return None


def script(tmp, commands):
    """Shell lines: the view described above, the course bound at ``tmp``/course (the working
    folder), then ``commands``."""
    lines = ["set -e"]
    blocked = reachable_by_others(sys.base_prefix)
    if blocked:
        folder, child = blocked
        lines += [
            f"mkdir -p {tmp}/keep",
            f"mount --bind {shlex.quote(str(folder / child))} {tmp}/keep",
            f"mount -t tmpfs -o mode=755 tmpfs {shlex.quote(str(folder))}",
            f"mkdir -p {shlex.quote(str(folder / child))}",
            f"mount --bind {tmp}/keep {shlex.quote(str(folder / child))}",
        ]
    course = shlex.quote(str(COURSE_ROOT))
    lines += [f"mkdir -p {tmp}/course", f"mount --bind {course} {tmp}/course", f"cd {tmp}/course"]
    return "\n".join(lines + list(commands))


def run(tmp, commands, timeout=900):
    """Run ``commands`` (shell lines) in that view; returns the CompletedProcess."""
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script(tmp, commands)],
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def python():
    """The course's interpreter, as a path inside the bound course when it is the course's .venv."""
    return ".venv/bin/python" if Path(sys.prefix) == COURSE_ROOT / ".venv" else sys.executable


# Docker's default seccomp profile, as far as it matters here: no new namespaces.  Installed by
# root (which may install a filter without no_new_privs), inherited by everything started after.
SECCOMP_THEN = (
    "import os, sys; from autograder.sandbox.inside import seccomp; "
    "seccomp.install(network=True); os.execvp(sys.argv[1], sys.argv[1:])"
)


def under_dockers_seccomp(command):
    """``command`` (a shell word list, as text) started under the filter."""
    return f"{python()} -c {shlex.quote(SECCOMP_THEN)} {command}"
