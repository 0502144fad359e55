"""What a sandboxed run costs while it runs: CPU time, time spent waiting for a CPU, memory.

A run's time limit is on the CPU its processes use, not on the clock, so that the same
notebook gets the same grade on a quiet machine and on one shared with other work.  The run's
processes are the supervisor and everything below it: the supervisor is the reaper of every
orphan of the run (``jail.adopt_orphans``), so the tree read from ``/proc`` holds them all,
whatever the rung of isolation.  For each process the kernel gives

- ``utime + stime`` (``/proc/PID/stat``): its own CPU time, and ``cutime + cstime``: the CPU
  time of the children it has reaped, so a process that lived between two readings still counts;
- ``run_delay`` (``/proc/PID/schedstat``): the time it was ready to run but waited while other
  programs held the CPUs — the part of the wall clock that is the machine's business, not the run's.

What a run pays (``Usage.charged``) is the CPU time of the student's processes, the CPU time
the supervisor spent on their calls of reference functions (which it reports itself, as
``spent`` events), and the time the student's process was idle: neither computing, nor waiting
for a CPU, nor waiting for the supervisor, so ``time.sleep`` cannot outlast the limit.  On a
quiet machine it is about the wall clock; on a busy one it is what the wall clock would have
been on a quiet one.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass

TICK = 1.0 / os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Usage:
    wall: float  # seconds since the run started
    cpu: float  # seconds of CPU used by all the run's processes, reaped ones included
    student_cpu: float  # the same, less the supervisor's own
    student_waited: float  # seconds the student's processes were ready to run and waited for a CPU
    supervisor_waited: float  # seconds the supervisor did (a call waits for it as long)
    work_cpu: float  # seconds of CPU the supervisor spent running the student's calls (its own report)
    serving: float  # seconds on the clock it spent on them, while the student's process waited
    rss: int  # bytes resident now, all the run's processes together
    processes: int  # how many are alive

    @property
    def idle(self) -> float:
        """Seconds the student's process neither computed, nor waited for a CPU, nor waited for
        the supervisor (to get a CPU, then to serve its call): it slept, or blocked on
        something of its own."""
        waiting = self.student_waited + self.supervisor_waited + self.serving
        return max(0.0, self.wall - self.student_cpu - waiting)

    def charged(self, waits_measured: bool = True) -> float:
        """What the run pays: the CPU time of the student's processes and of the calls it made
        to the supervisor, and (where the kernel reports waiting) the time it spent idle.  Not
        the supervisor's own CPU time: it waits awake for the next call of a call loop
        (refcall.SPIN_SECONDS), and what that burns depends on how busy the machine is."""
        return self.student_cpu + self.work_cpu + (self.idle if waits_measured else 0.0)


def _stat(pid):
    """(parent pid, start time, own CPU ticks, reaped children's CPU ticks, resident pages,
    whether it has ended but is not yet reaped) or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            data = file.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()  # after the command name, which may hold anything
    # fields[0] is stat's 3rd field (the state): the parent is the 4th, utime..cstime the 14th-17th,
    # the start time the 22nd, the resident pages the 24th
    own, reaped = int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])
    return int(fields[1]), int(fields[19]), own, reaped, int(fields[21]), fields[0] in (b"Z", b"X")


def _proportional_bytes(pid):
    """The process's share of the memory it uses (Pss: a page shared by n processes counts 1/n)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as file:
            for line in file:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def _waited(pid):
    """Nanoseconds ``pid`` spent on a run queue, waiting for a CPU (0 where the kernel does not say)."""
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as file:
            return int(file.read().split()[1])
    except (OSError, IndexError, ValueError):
        return 0


@functools.cache
def waiting_is_measured() -> bool:
    """Whether this kernel reports run-queue delays (CONFIG_SCHED_INFO): without them a run's
    charged time is its CPU time only, and waiting cannot be told apart from sleeping."""
    start = time.process_time()
    while time.process_time() - start < 0.002:
        pass
    try:
        with open("/proc/self/schedstat", "rb") as file:
            return int(file.read().split()[0]) > 0
    except (OSError, IndexError, ValueError):
        return False


class RunMeter:
    """Reads the cost of the process tree below ``root`` (the run's supervisor); ``reports``: the
    dict where the grader keeps the supervisor's last ``spent`` report (work_cpu, serving)."""

    def __init__(self, root, start, reports=None):
        self.root, self.start, self.reports = root, start, reports if reports is not None else {}
        # A pid is a process only with its start time: once the run's supervisor is reaped, the
        # kernel may give its pid (or a child's) to a process of another run (pid_max is often
        # 32,768), which this meter must neither measure nor have killed.
        stat = _stat(root)
        self.root_started = stat[1] if stat else None
        self.seen = set()  # (pid, start time) of every process ever seen in the tree
        self.living = {}  # (pid, start time) -> (own ticks, children's ticks, waited ns, parent pid)
        self.gone_cpu = 0  # ticks of processes that ended and were reaped outside the tree
        self.gone_waited = 0
        self.supervisor = (0, 0)  # its own ticks and waited ns, as last read

    def members(self) -> dict[tuple[int, int], tuple]:
        """{(pid, start time): (parent, own ticks, children's ticks, rss pages, ended)} of the tree below root."""
        table = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                stat = _stat(int(name))
                if stat is not None:
                    table[int(name)] = stat
        by_parent = {}
        for pid, stat in table.items():
            by_parent.setdefault(stat[0], []).append(pid)
        root = table.get(self.root)
        if root is None or (self.root_started is not None and root[1] != self.root_started):
            return {}  # the supervisor has ended; its pid is free, or another process's now
        self.root_started = root[1]
        tree, wanted = {}, [self.root]
        while wanted:
            pid = wanted.pop()
            if pid in table:
                parent, started, *rest = table[pid]
                tree[(pid, started)] = (parent, *rest)
                wanted += by_parent.get(pid, ())
        self.seen.update(tree)
        return tree

    def taken_by_another(self, pid: int) -> bool:
        """Whether ``pid`` now names a process this meter never saw in the run's tree (its pid
        was reused): a kill by that pid would hit another run, or anything else."""
        stat = _stat(pid)
        return stat is not None and (pid, stat[1]) not in self.seen

    def sample(self) -> Usage:
        tree = self.members()
        alive_pids = {pid for pid, _ in tree}
        for key, (own, reaped, waited, parent) in list(self.living.items()):
            if key not in tree:  # ended and reaped: by a process of the tree (its CPU is now in
                del self.living[key]  # that one's children's ticks) or from outside (counted here)
                self.gone_waited += waited
                if parent not in alive_pids:
                    self.gone_cpu += own + reaped
        cpu, waited_ns, rss = self.gone_cpu, self.gone_waited, 0
        for key, (parent, own, reaped, pages, _ended) in tree.items():
            waited = max(_waited(key[0]), self.living.get(key, (0, 0, 0, 0))[2])
            self.living[key] = (own, reaped, waited, parent)
            cpu += own + reaped
            waited_ns += waited
            rss += pages
            if key[0] == self.root:
                self.supervisor = (own, waited)
        work_cpu, serving = self.reports.get("spent", (0.0, 0.0))
        return Usage(
            wall=time.perf_counter() - self.start,
            cpu=cpu * TICK,
            student_cpu=(cpu - self.supervisor[0]) * TICK,
            student_waited=(waited_ns - self.supervisor[1]) / 1e9,
            supervisor_waited=self.supervisor[1] / 1e9,
            work_cpu=work_cpu,
            serving=serving,
            rss=rss * PAGE,
            processes=len(tree),
        )

    def living_pids(self) -> list[int]:
        """The pids of the tree's processes that have not ended (the root's included)."""
        return [pid for (pid, _), stat in self.members().items() if not stat[-1]]

    def proportional_memory(self) -> int:
        """Bytes of memory the tree uses, each shared page divided among its users (read only
        when the cheaper sum of resident sizes, which counts a shared page in every process,
        is over the cap: the run's processes share numpy's pages with the process server)."""
        return sum(_proportional_bytes(pid) for pid in self.living_pids())
