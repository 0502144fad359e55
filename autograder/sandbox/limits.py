"""How much one sandboxed run may use, fitted to the machine (a container's memory limit)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

MAPPED_BEFORE_STUDENT_CODE = 384 * 1024**2
BACKSTOP_FACTOR, BACKSTOP_EXTRA = 10.0, 30.0  # the wall clock's backstop: this many times the CPU limit, and more


@dataclass(frozen=True)
class Limits:
    cpu_seconds: float = 60.0  # CPU time of all the run's processes together (see meter.py)
    memory_bytes: int = 2 * 1024**3  # resident memory of all the run's processes together
    file_bytes: int = 16 * 1024**2
    output_bytes: int = 256 * 1024  # what we keep of the process's own stdout/stderr
    stdout_per_case: int = 512 * 1024  # what the runner keeps of prints during one call
    result_bytes: int = 16 * 1024**2  # the largest answer to one case
    answer_bytes: int = 64 * 1024**2  # all the answers of a run together: what the grader keeps and decodes
    scratch_bytes: int = 64 * 1024**2  # the run's writable tmpfs (/sandbox and /tmp)
    processes: int = 64
    cpus: float = 1.0  # the CPU share of a whole run, where cgroups hold

    def backstop_seconds(self) -> float:
        """The wall-clock time after which a run that is still under its CPU limit is given up:
        the machine gave it less than a tenth of a CPU (or, where the kernel does not report
        waiting, the code may have been waiting for something)."""
        return BACKSTOP_FACTOR * self.cpu_seconds + BACKSTOP_EXTRA

    def address_space_bytes(self) -> int:
        """RLIMIT_AS of each process: the memory cap on top of what the process has mapped before
        the student's code runs (326 MB measured: the interpreter, numpy, utils' compiled
        kernels), so a single allocation past the cap fails at once with a MemoryError, before
        the grader's watch (or a container's OOM killer) would have to step in."""
        return self.memory_bytes + MAPPED_BEFORE_STUDENT_CODE


HEADROOM_BYTES = 256 * 1024**2  # kept free for the grader inside a container's memory limit
LEAST_MEMORY_BYTES = 256 * 1024**2


def container_memory_limit(
    membership: Path = Path("/proc/self/cgroup"), hierarchy: Path = Path("/sys/fs/cgroup")
) -> tuple[int, int] | None:
    """The memory limit of the cgroup this process is in, and of every one above it (a Docker
    or Gradescope container's limit, seen from inside), as (limit, in use) bytes; None if none.
    ``membership`` and ``hierarchy``: where the kernel shows them (tests give others)."""
    found = []
    try:
        lines = membership.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # cgroup v2
            base, names = hierarchy, ("memory.max", "memory.current")
        elif "memory" in controllers.split(","):
            base, names = hierarchy / "memory", ("memory.limit_in_bytes", "memory.usage_in_bytes")
        else:
            continue
        folder = base / path.lstrip("/")
        while True:
            try:
                limit, used = ((folder / name).read_text().strip() for name in names)
                if limit.isdigit() and int(limit) < 2**60:
                    found.append((int(limit), int(used)))
            except OSError:
                pass
            if folder == base:
                break
            folder = folder.parent
    return min(found) if found else None


@functools.cache
def default_limits() -> Limits:
    """Limits() fitted to this machine: inside a container whose memory limit would not hold a
    run's 2 GiB next to the grader, the run gets what is free, less some headroom, so the
    sandbox stops a memory hog and says so before the container's OOM killer ends the grader."""
    container = container_memory_limit()
    limits = Limits()
    if container is None:
        return limits
    limit, used = container
    room = max(LEAST_MEMORY_BYTES, limit - used - HEADROOM_BYTES)
    return Limits(memory_bytes=min(limits.memory_bytes, room))
