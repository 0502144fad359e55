"""Each protection of a run, alone.

The sandbox's layers overlap (a fork bomb meets the pids cgroup and RLIMIT_NPROC; the network
meets a namespace and the seccomp filter), so a test that only tries an attack passes as long
as any one layer holds.  Here each layer is seen by itself:

- from the host, while a run sleeps: its student's process and its supervisor, as the kernel
  shows them in /proc (namespaces, cgroups and their limits, uid, capabilities, no_new_privs,
  seccomp, rlimits, OOM score, what its root holds);
- with the other layers turned off, by giving the run a configuration without them: the pids
  cgroup without RLIMIT_NPROC, the CPU watch without RLIMIT_CPU, the memory watch without
  cgroups or RLIMIT_AS;
- the network namespace against the one thing the seccomp filter lets through: a unix socket
  in the host's abstract namespace.

The seccomp filter's own program is tested alone in ``test_seccomp.py``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import secrets
import signal
import socket
import threading
import time
from pathlib import Path

import pytest
from bodies import answer, holding_memory, run_body

from autograder.sandbox import cgroups, library, machine, meter, server
from autograder.sandbox import run as one_run
from autograder.sandbox.inside import jail
from autograder.sandbox.limits import Limits

as_root = pytest.mark.skipif(not machine.is_root(), reason="cgroups, namespaces and a fresh uid need root")
with_cgroups = pytest.mark.skipif(not cgroups.layout(), reason="this machine gives the grader no cgroups")


@pytest.fixture
def without(monkeypatch):
    """Turn layers of a run off: ``without(processes=ALL_PROCESSES)`` gives the jail that rlimit
    instead of the run's (``address_space_bytes=None`` sets none at all); ``groups=False``
    makes the run without cgroups.  The layer left is alone against the attack."""

    def turn_off(groups=True, **overrides):
        made = one_run.sandbox_config
        monkeypatch.setattr(one_run, "sandbox_config", lambda *args: {**made(*args), **overrides})
        if not groups:
            monkeypatch.setattr(one_run.cgroups, "create", lambda *args: [])

    return turn_off


NO_LIMIT = 1_000_000  # CPU seconds: never reached by a test
ALL_PROCESSES = resource.getrlimit(resource.RLIMIT_NPROC)[1]  # as many as the grader itself may have


# ----------------------------------------------------------------------------
# The run seen from the host while it sleeps
# ----------------------------------------------------------------------------

PROBE_LIMITS = Limits(cpu_seconds=40, memory_bytes=1024**3, processes=48, cpus=1.0)


def _status(pid):
    return dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())


def _rlimits(pid):
    """{"Max cpu time": soft limit as text, …} from /proc/PID/limits."""
    lines = Path(f"/proc/{pid}/limits").read_text().splitlines()[1:]
    return {line[:26].strip(): line[26:].split()[0] for line in lines}


LIMIT_FILES = ("memory.limit_in_bytes", "memory.max", "pids.max", "cpu.max", "cpu.cfs_quota_us", "cpu.cfs_period_us")


def _cgroup_files(pid):
    """{controller: (its folder, {limit file: its content})} for the cgroups (v1) or the cgroup
    (v2) the process is in, read while the run lives (its groups are removed after it)."""
    found = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else ["unified"]:
            folder = (cgroups.ROOT / controller if controllers else cgroups.ROOT) / path.lstrip("/")
            found[controller] = (
                folder,
                {n: (folder / n).read_text().strip() for n in LIMIT_FILES if (folder / n).exists()},
            )
    return found


def _what_it_sees(pid, folder=""):
    root = Path(f"/proc/{pid}/root{folder}")
    return sorted(os.listdir(root))


def _seen(pid):
    """What the host can read of the student's process (``pid``) and of its supervisor."""
    supervisor = int(_status(pid)["PPid"])
    facts = {}
    for who, process in (("student", pid), ("supervisor", supervisor)):
        facts[who] = {
            "status": {key: value.split() for key, value in _status(process).items()},
            "limits": _rlimits(process),
            "cgroups": _cgroup_files(process),
            "namespaces": {
                kind: os.readlink(f"/proc/{process}/ns/{kind}") for kind in ("pid", "net", "mnt", "ipc", "uts")
            },
            "oom_score_adj": Path(f"/proc/{process}/oom_score_adj").read_text().strip(),
        }
    facts["student"]["proc"] = _what_it_sees(pid, "/proc")
    facts["student"]["mounts"] = _mounts(pid)
    facts["student"]["root"] = {folder: _what_it_sees(pid, folder) for folder in _folders_on_the_way(ALLOWED)}
    return facts


DEVICES = [f"/dev/{name}" for name in (*jail.DEVICES, "fd", "stdin", "stdout", "stderr")]
ALLOWED = {*jail.SYSTEM_PATHS, *jail.SYSTEM_FILES, *library.allowlist(), *DEVICES, "/proc", jail.SCRATCH, jail.TMP}


def _folders_on_the_way(paths):
    """Every folder from / down to each of ``paths`` (not the paths themselves, nor any
    folder that is itself bound whole, or the run's own scratch)."""
    folders = {""}
    for path in paths:
        parts = Path(path).parts[1:-1]
        folders |= {"/" + "/".join(parts[: i + 1]) for i in range(len(parts))}
    return sorted(folder for folder in folders if not any(folder == p or folder.startswith(p + "/") for p in paths))


def _mounts(pid):
    """{mount point: (its options, its file system's options)} in the process's mount namespace."""
    mounts = {}
    for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines():
        fields = line.split()
        after = fields.index("-")
        mounts[fields[4]] = set(fields[5].split(",")), set(fields[after + 3].split(","))
    return mounts


def _find_by_name(name, deadline):
    while time.monotonic() < deadline:
        for entry in os.listdir("/proc"):
            try:
                if entry.isdigit() and Path(f"/proc/{entry}/comm").read_text().strip() == name:
                    return int(entry)
            except OSError:
                continue
        time.sleep(0.05)
    raise AssertionError(f"no process named {name} appeared: the run never reached the student's code")


@contextlib.contextmanager
def core_files_allowed():
    """A process server started where core files are allowed (most machines allow none by
    default, which would hide a jail that sets no RLIMIT_CORE of its own)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    server.shutdown_server()
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))
        server.shutdown_server()


@pytest.fixture(scope="module")
def probed():
    """Start a run whose student code names its process and sleeps; read it and its supervisor
    from /proc, then kill it.  Returns (facts, the run's Outcome, the host's namespaces)."""
    name = "probe" + secrets.token_hex(4)
    body = f"""
import ctypes, time
ctypes.CDLL(None).prctl(15, {name.encode()!r}, 0, 0, 0)  # PR_SET_NAME: the host finds it by this
for _ in range(1200):  # a minute: the host finds it long before
    time.sleep(0.05)
return "not killed"
"""
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.setdefault("run", run_body(body, PROBE_LIMITS)))
    with core_files_allowed():
        runner.start()
        try:
            pid = _find_by_name(name, time.monotonic() + 120)
            facts = _seen(pid)
            os.kill(pid, signal.SIGKILL)
        finally:
            runner.join(timeout=120)
    host = {kind: os.readlink(f"/proc/self/ns/{kind}") for kind in ("pid", "net", "mnt", "ipc", "uts")}
    return facts, outcome["run"], host


@as_root
def test_the_probed_run_was_ended_by_the_probe_not_by_its_own_end(probed):
    _, outcome, _ = probed
    assert "only" not in outcome.cases() and not outcome.timed_out, outcome


@as_root
@pytest.mark.parametrize("kind", ["pid", "net", "mnt", "ipc", "uts"])
def test_the_student_process_has_namespaces_of_its_own(probed, kind):
    facts, _, host = probed
    assert facts["student"]["namespaces"][kind] != host[kind], (
        f"the student's process shares the host's {kind} namespace"
    )


@as_root
def test_the_student_process_is_pid_1_of_its_pid_namespace(probed):
    facts, _, _ = probed
    assert facts["student"]["status"]["NSpid"][-1] == "1", "the student's process is not PID 1 of its own PID namespace"


@as_root
def test_the_student_and_the_supervisor_run_under_fresh_uids_of_their_own(probed):
    facts, _, _ = probed
    student, supervisor = (facts[who]["status"]["Uid"] for who in ("student", "supervisor"))
    low, high = machine.UID_RANGE
    assert len(set(student)) == 1 and low <= int(student[0]) < high, f"the student's process runs as uid {student}"
    assert len(set(supervisor)) == 1 and low <= int(supervisor[0]) < high, f"the supervisor runs as uid {supervisor}"
    assert student != supervisor, "the supervisor shares the student's uid"


@as_root
@pytest.mark.parametrize("who", ["student", "supervisor"])
def test_no_capabilities_no_new_privileges_and_a_seccomp_filter(probed, who):
    status = probed[0][who]["status"]
    assert int(status["CapBnd"][0], 16) == 0, f"the {who}'s capability bounding set is not empty"
    assert int(status["CapEff"][0], 16) == 0, f"the {who} holds capabilities"
    assert status["NoNewPrivs"] == ["1"], f"the {who} may gain privileges (no_new_privs not set)"
    assert status["Seccomp"] == ["2"], f"the {who} has no seccomp filter"


@as_root
def test_the_student_process_is_the_first_the_oom_killer_ends(probed):
    assert probed[0]["student"]["oom_score_adj"] == "1000", "the student's process's oom_score_adj is not 1000"


RLIMITS = {  # /proc/PID/limits' names and soft values, from the run's Limits (jail._set_limits, confine_supervisor)
    "student": {
        "Max cpu time": str(int(PROBE_LIMITS.cpu_seconds) + 5),
        "Max file size": str(PROBE_LIMITS.file_bytes),
        "Max processes": str(PROBE_LIMITS.processes),
        "Max open files": "256",
        "Max address space": str(PROBE_LIMITS.address_space_bytes()),
        "Max core file size": "0",
    },
    "supervisor": {
        "Max cpu time": str(2 * (int(PROBE_LIMITS.cpu_seconds) + 5) + 10),
        "Max open files": str(jail.SUPERVISOR_FILES),
        "Max processes": "8",
        "Max address space": str(PROBE_LIMITS.address_space_bytes()),
        "Max core file size": "0",
    },
}


@as_root
@pytest.mark.parametrize("who", RLIMITS)
def test_each_rlimit_of_the_student_process_and_of_the_supervisor(probed, who):
    limits = probed[0][who]["limits"]
    for name, value in RLIMITS[who].items():
        assert limits[name] == value, f"the {who}'s rlimit {name!r} is {limits[name]}, not {value}"


def _run_cgroup(facts, who, controller):
    """(folder, {limit file: content}) of the run's cgroup of ``controller`` that ``who`` is in."""
    folder, files = facts[who]["cgroups"].get(controller, (Path("/"), {}))
    assert folder.name.startswith("run-"), f"the {who} is not in a {controller} cgroup of its run"
    return folder, files


@as_root
@with_cgroups
def test_the_run_s_cgroups_cap_memory_processes_and_cpu(probed):
    facts, v2 = probed[0], cgroups.layout() == "v2"
    memory, processes, cpu = (_run_cgroup(facts, "student", kind)[1] for kind in
                              (("unified",) * 3 if v2 else ("memory", "pids", "cpu")))  # fmt: skip
    memory_cap = memory["memory.max" if v2 else "memory.limit_in_bytes"]
    assert memory_cap == str(PROBE_LIMITS.memory_bytes), f"the run's memory cgroup caps it at {memory_cap}"
    assert processes["pids.max"] == str(PROBE_LIMITS.processes), f"the run's pids.max is {processes['pids.max']}"
    quota, period = cpu["cpu.max"].split() if v2 else (cpu["cpu.cfs_quota_us"], cpu["cpu.cfs_period_us"])
    assert int(quota) == int(PROBE_LIMITS.cpus * int(period)), f"the run's CPU quota is {quota} of {period} µs"


@as_root
@with_cgroups
def test_the_supervisor_shares_the_run_s_memory_and_process_caps_but_not_its_cpu_quota(probed):
    facts = probed[0]
    for controller in ("memory", "pids") if cgroups.layout() == "v1" else ("unified",):
        shared = _run_cgroup(facts, "supervisor", controller)[0] == _run_cgroup(facts, "student", controller)[0]
        assert shared, f"the supervisor is not in the student's {controller} cgroup"
    if cgroups.layout() == "v1":
        cpu_group = facts["supervisor"]["cgroups"]["cpu"][0]
        assert not cpu_group.name.startswith("run-"), "the supervisor is in the run's cpu cgroup"


@as_root
def test_the_student_s_root_holds_the_allowlist_and_nothing_else(probed):
    seen = probed[0]["student"]["root"]
    assert "" in seen and "/dev" in seen, sorted(seen)
    for folder, names in seen.items():
        allowed = {
            Path(path).parts[len(Path(folder or "/").parts)] for path in ALLOWED if path.startswith(folder + "/")
        }
        extra = sorted(set(names) - allowed)
        assert not extra, f"the student's root shows {extra} in {folder or '/'}, outside the allowlist"


@as_root
def test_the_student_s_root_has_no_proc(probed):
    seen = probed[0]["student"]["proc"]
    assert seen == [], f"/proc is mounted in the student's root: it shows {seen[:5]}"
    assert "/proc" not in probed[0]["student"]["mounts"], "/proc is mounted in the student's root"


@as_root
def test_every_mount_of_the_student_s_root_is_read_only_but_its_scratch(probed):
    mounts = probed[0]["student"]["mounts"]
    assert mounts, "the student's process has no mounts"
    writable = sorted(point for point, (options, _) in mounts.items() if "ro" not in options)
    assert writable == sorted([jail.SCRATCH, jail.TMP]), f"writable mounts in the student's root: {writable}"
    setuid = sorted(point for point, (options, _) in mounts.items() if "nosuid" not in options)
    assert not setuid, f"mounts that honour setuid bits in the student's root: {setuid}"


@as_root
def test_the_scratch_is_a_tmpfs_of_the_run_s_size(probed):
    options, filesystem = probed[0]["student"]["mounts"][jail.SCRATCH]
    size = f"size={PROBE_LIMITS.scratch_bytes // 1024}k"
    assert size in filesystem, f"the scratch tmpfs is mounted with {sorted(filesystem)}, not {size}"


# ----------------------------------------------------------------------------
# One layer at a time
# ----------------------------------------------------------------------------

FORK_UNTIL_REFUSED = """
import os, time
children = []
try:
    for _ in range(200):
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        children.append(pid)
except OSError:
    pass
for pid in children:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
return len(children)
"""


@as_root
@with_cgroups
def test_the_pids_cgroup_alone_stops_a_fork_loop_at_the_run_s_process_count(without):
    """RLIMIT_NPROC turned off: the cgroup still holds the run (the student's process and the
    supervisor, its threads included) to ``processes`` tasks."""
    without(processes=ALL_PROCESSES)
    started = answer(run_body(FORK_UNTIL_REFUSED, Limits(cpu_seconds=30, processes=24)))
    assert 24 - 12 <= started < 24, f"{started} processes were started under a pids cgroup of 24"


@as_root
def test_rlimit_nproc_alone_stops_a_fork_loop(without):
    """The run's cgroups turned off: RLIMIT_NPROC of the student's uid still holds."""
    without(groups=False)
    started = answer(run_body(FORK_UNTIL_REFUSED, Limits(cpu_seconds=30, processes=24)))
    assert started == 24 - 1, f"{started} processes were started under RLIMIT_NPROC 24 (the student's process is one)"


def test_the_cpu_watch_alone_stops_an_endless_loop_at_its_limit(without):
    """RLIMIT_CPU turned off: the grader's watch ends the run, as out of time, not as a busy machine."""
    without(cpu_seconds=NO_LIMIT)
    outcome = run_body("while True:\n    pass", Limits(cpu_seconds=2))
    assert outcome.timed_out and not outcome.machine_busy, f"the CPU watch did not stop the loop: {outcome}"
    assert outcome.exit_code == -signal.SIGKILL and outcome.charged_seconds >= 2, outcome


@pytest.mark.skipif(not meter.waiting_is_measured(), reason="this kernel does not report run-queue delays")
def test_sleeping_is_charged_as_the_run_s_time(without):
    without(cpu_seconds=NO_LIMIT)
    outcome = run_body("import time\ntime.sleep(600)", Limits(cpu_seconds=2))
    assert outcome.timed_out and not outcome.machine_busy, f"a sleeping run was not charged its idle time: {outcome}"


def test_the_memory_watch_alone_stops_processes_that_pass_the_cap_together(without):
    """No cgroups and no RLIMIT_AS: three processes of 200 MB, under a cap of 400 MB for the run."""
    without(groups=False, address_space_bytes=None)
    body = holding_memory(processes=3, megabytes=200, seconds=20)
    outcome = run_body(body, Limits(cpu_seconds=30, memory_bytes=400 * 1024**2))
    assert outcome.memory_exceeded and "only" not in outcome.cases(), (
        f"the memory watch did not stop the run: {outcome}"
    )


DAEMON = """
import os, time
read, write = os.pipe()
child = os.fork()
if child == 0:
    os.setsid()
    if os.fork() == 0:
        os.write(write, str(os.getpid()).encode())
        os.close(write)
        time.sleep(300)  # a daemon: left behind when the function returns
    os._exit(0)
os.close(write)
os.waitpid(child, 0)
return int(os.read(read, 32))  # its pid: a container's root gives the run no PID namespace
"""


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@as_root
def test_the_uid_sweep_alone_ends_a_daemon_a_container_s_root_run_leaves(monkeypatch):
    """As a container's root (no namespaces: monkeypatched here on a machine that has them), a
    process the student's code double-forks out of the supervisor's tree, left sleeping when the
    function returns, is ended by the kill of every process of the run's uid."""
    monkeypatch.setattr(one_run, "isolation_mode", lambda: "uid")
    daemon = answer(run_body(DAEMON, Limits(cpu_seconds=30)))
    for _ in range(50):
        if not _alive(daemon):
            break
        time.sleep(0.1)
    assert not _alive(daemon), f"the daemon (pid {daemon}) of the run's uid outlived the run"


@as_root
def test_the_network_namespace_alone_hides_the_host_s_abstract_unix_sockets():
    """seccomp lets unix sockets through; only the network namespace keeps the host's away."""
    name = b"\0dinosaurus-probe-" + secrets.token_hex(4).encode()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(name)
    listener.listen(1)
    try:
        body = f"""
import socket
client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    client.connect({name!r})
    return "connected"
except OSError as error:
    return error.errno
"""
        assert answer(run_body(body, Limits(cpu_seconds=30))) == errno.ECONNREFUSED, (
            "the student's process reached a unix socket of the host's network namespace"
        )
    finally:
        listener.close()


def test_the_private_cache_is_refused_when_others_may_write_it_or_another_user_made_it(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = library.private_cache()
    assert folder.stat().st_mode & 0o777 == 0o700
    folder.chmod(0o770)
    with pytest.raises(PermissionError, match="must be a folder of this user's with mode 700"):
        library.private_cache()
    folder.chmod(0o700)
    if machine.is_root():
        os.chown(folder, 65534, 65534)
        with pytest.raises(PermissionError, match="must be a folder of this user's with mode 700"):
            library.private_cache()
