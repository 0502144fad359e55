"""Which protections this machine allows: the isolation rung, tried once in a child process,
and what holds on it, in words (the README's "Isolation" section says it in full).

- **root** (root with CAP_SYS_ADMIN): the student's process is process 1 of a new PID
  namespace, inside a root of its own that holds only the interpreter, its libraries and the
  grader's runtime folder (``inside/jail.py``), with no network, a 64 MB scratch, a fresh
  unprivileged uid, in cgroups that cap the whole run's memory, processes and CPU;
- **userns** (an ordinary user, where the kernel allows unprivileged user namespaces): the
  same namespaces and root, but no cgroups and no separate uid;
- **uid** (root without CAP_SYS_ADMIN: a container's root, as in Docker, Gradescope and most
  Kubernetes pods): no namespaces; a fresh uid and gid, a private scratch folder, Landlock
  confining reads to the same allowlist (where the kernel has it), the kill sweep by uid;
- **none** (an ordinary user without user namespaces): Landlock where the kernel has it.

On every rung: no_new_privs, the seccomp filter, rlimits, and the grader's watch (``meter.py``).
"""

from __future__ import annotations

import functools
import os

from ..paths import NOTEBOOK, REFERENCES_DIR, SOURCE_DIR
from . import cgroups
from .inside import jail, landlock

UID_RANGE = (200_000, 900_000)  # fresh uids, unused by any account


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@functools.cache
def user_namespaces() -> bool:
    """Whether this kernel lets this user make a user and PID namespace (tried in a child)."""
    return _can_in_a_child(lambda: jail.new_pid_namespace(as_root=False))


def _can_in_a_child(attempt):
    """Whether ``attempt()`` succeeds in a forked child (so nothing here changes)."""
    pid = os.fork()
    if pid == 0:
        try:
            attempt()
            os._exit(0)
        except BaseException:  # noqa: B036 -- any failure means no
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _new_namespaces_as_root():
    jail.unshare(jail.CLONE_NEWPID | jail.CLONE_NEWNS | jail.CLONE_NEWNET, "new namespaces")


def _become_another_user():
    jail.become(UID_RANGE[0])


@functools.cache
def isolation_mode() -> str:
    """The strongest rung this machine allows: "root", "userns", "uid" or "none" (module docstring)."""
    if is_root():
        if _can_in_a_child(_new_namespaces_as_root):
            return "root"
        return "uid" if _can_in_a_child(_become_another_user) else "none"
    return "userns" if user_namespaces() else "none"


def answer_key_readable_by_others() -> bool:
    """Whether a fresh uid could read the references or the solution notebook (tried in a child)."""

    def read_the_key():
        _become_another_user()
        for path in (REFERENCES_DIR / "model.json", SOURCE_DIR / NOTEBOOK):
            with open(path, "rb") as file:
                file.read(1)

    return _can_in_a_child(read_the_key)


@functools.cache
def landlock_version() -> int:
    """The kernel's Landlock ABI as this process may use it (0: none, or a filter refuses it)."""
    return landlock.version()


def protections() -> list[str]:
    """What holds for the student's code on this machine, and what does not, in words."""
    mode = isolation_mode()
    watch = "CPU-time limit and memory cap on all its processes (watched by the grader)"
    if mode in ("uid", "none"):
        confined = (
            f"Landlock v{landlock_version()}: reads only the interpreter, its libraries and the runtime folder, "
            "writes only its scratch folder, no TCP"
            if landlock_version()
            else f"NO Landlock on this kernel: it can read whatever {'any user' if mode == 'uid' else 'this user'} "
            "can read (keep the course folder mode 700)"
        )
        first = (
            "namespaces refused (root without CAP_SYS_ADMIN, as in a container): fresh uid and gid"
            if mode == "uid"
            else "NOT isolated from this user (no root, no user namespaces): same uid as the grader"
        )
        if mode == "uid" and not landlock_version() and answer_key_readable_by_others():
            confined += "; WARNING: the answer key is readable by other users: chmod -R go-rwx the course folder"
        return [first, confined, "seccomp filter (no namespaces, mounts or network sockets)", "no_new_privs",
                "private scratch folder (files up to 16 MB each)", watch]  # fmt: skip
    held = ["own PID namespace", "allowlist root (interpreter, libraries, runtime folder)", "no /proc", "no network"]
    if mode == "root":
        held += ["fresh uid", "supervisor under its own uid in the run's cgroups"]
        groups = cgroups.available()
        held.append(f"cgroups {groups}" if groups else "no cgroups (rlimits per process only)")
    else:
        held.append("no cgroups and no separate uid without root (rlimits per process only)")
    return [*held, "seccomp filter", watch]
