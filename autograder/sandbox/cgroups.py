"""Caps for a whole sandboxed run (all its processes together): memory, processes and CPU.

A cgroup per run, made by the grader (as root) before the run and removed after it.  The
student's process joins it itself, before any student code runs (``jail.enter``).  Both
cgroup versions are served: v2 (``memory.max``, ``pids.max``, ``cpu.max``) where the machine
has a unified hierarchy with those controllers, else the v1 ``memory``, ``pids`` and ``cpu``
hierarchies.  Where neither can be written, runs keep their per-process rlimits only.
"""

from __future__ import annotations

import functools
import os
import secrets
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
GROUP = "dinosaurus-grader"
PERIOD_US = 100_000


def _writable(path):
    return path.is_dir() and os.access(path, os.W_OK)


@functools.cache
def layout() -> str | None:
    """ "v2", "v1" or None: which hierarchy the grader can make its cgroups in."""
    if os.geteuid() != 0:
        return None
    if (ROOT / "cgroup.controllers").exists():
        wanted = {"memory", "pids", "cpu"}
        if wanted <= set((ROOT / "cgroup.controllers").read_text().split()) and _v2_parent() is not None:
            return "v2"
        return None
    if all(_writable(ROOT / name) for name in ("memory", "pids", "cpu")):
        return "v1"
    return None


def _v2_parent():
    """Our parent group, with the controllers handed down to the runs' groups."""
    parent = ROOT / GROUP
    try:
        parent.mkdir(exist_ok=True)
        for folder in (ROOT, parent):
            (folder / "cgroup.subtree_control").write_text("+memory +pids +cpu")
    except OSError:
        return None
    return parent


def available() -> str:
    """A short description for the start of a batch, or '' when cgroups cannot be used."""
    return {"v2": "v2 (memory.max, pids.max, cpu.max)", "v1": "v1 (memory, pids, cpu)"}.get(layout(), "")


def create(memory_bytes: int, processes: int, cpus: float) -> list[str]:
    """Make one run's cgroups with their limits; returns their folders (empty without cgroups)."""
    name = f"run-{os.getpid()}-{secrets.token_hex(4)}"
    version = layout()
    _remove_orphans(version)
    if version == "v2":
        group = ROOT / GROUP / name
        group.mkdir()
        (group / "memory.max").write_text(str(memory_bytes))
        if (group / "memory.swap.max").exists():
            (group / "memory.swap.max").write_text("0")
        (group / "pids.max").write_text(str(processes))
        (group / "cpu.max").write_text(f"{int(cpus * PERIOD_US)} {PERIOD_US}")
        return [str(group)]
    if version == "v1":
        groups = {kind: ROOT / kind / GROUP / name for kind in ("memory", "pids", "cpu")}
        for group in groups.values():
            group.mkdir(parents=True)
        (groups["memory"] / "memory.limit_in_bytes").write_text(str(memory_bytes))
        (groups["pids"] / "pids.max").write_text(str(processes))
        (groups["cpu"] / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (groups["cpu"] / "cpu.cfs_quota_us").write_text(str(int(cpus * PERIOD_US)))
        return [str(group) for group in groups.values()]
    return []


def remove(groups: list[str]) -> None:
    """Remove a run's cgroups once its processes are gone (they are killed before this)."""
    for group in groups:
        for _ in range(50):
            try:
                os.rmdir(group)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.02)  # the last process is still being reaped


def _parents(version):
    if version == "v2":
        return [ROOT / GROUP]
    return [ROOT / kind / GROUP for kind in ("memory", "pids", "cpu")] if version == "v1" else []


def _remove_orphans(version):
    """Remove the empty groups of graders that no longer run (killed before their clean-up:
    a group is named after the grader's pid)."""
    for parent in _parents(version):
        for group in parent.glob("run-*-*"):
            pid = group.name.split("-")[1]
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                try:
                    os.rmdir(group)
                except OSError:  # still has processes: left for a later sweep
                    pass
