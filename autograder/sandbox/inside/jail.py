"""Lock the student's process into a root of its own: the allowlist sandbox.

Runs inside the sandbox, in the process that is about to execute a student's code (the
grader's shared library folder holds a copy; it imports only the standard library).  The
supervisor (``supervisor.py``) has already put that process into a new PID namespace, of which
it is process 1, so ending it ends every process it ever started.  ``enter`` then

1. moves it into its cgroups (memory, pids and CPU caps for the whole run), when given;
2. unshares the mount, network, IPC and UTS namespaces: no network at all;
3. builds a new root on a small tmpfs that holds, read-only, only what a Python run needs
   (the interpreter, its libraries, the grader's runtime folder), a size-capped scratch
   tmpfs at ``/sandbox`` (``/tmp`` lives in it too), and a ``/dev`` with five harmless devices;
   no ``/proc`` (a fresh one would still show host paths: mountinfo, cgroup);
4. ``pivot_root``s into it and detaches the host's tree, so nothing else of the host
   (``/home``, ``/root``, ``/srv``, the course, other submissions, host sockets) exists;
5. sets rlimits, empties the capability bounding set, drops to a fresh uid (as root) and sets
   ``no_new_privs``;
6. installs the seccomp filter (``seccomp.py``): no new namespaces, mounts or network.

Where namespaces are refused (the "uid" and "none" rungs of sandbox/machine.py: a container's root
without CAP_SYS_ADMIN, an ordinary user without user namespaces), steps 2 to 4 give way to a
private scratch folder as the working folder and Landlock (``landlock.py``), which confines
the process to the same allowlist; the fresh uid, rlimits, no_new_privs and the filter hold
as above.

The supervisor, which computes on what the student's process sends, is confined too, once it
has forked that process (``confine_supervisor``).

This is what bubblewrap does, done in the forked process because a new interpreter per run
(bubblewrap must ``exec``) would cost more than most graded functions take.
"""

from __future__ import annotations

import ctypes
import os
import platform
import resource
import signal

from . import landlock, seccomp  # imported now, while the process may still read its library folder

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
MOUNT_FLAGS = {"noexec": MS_NOEXEC, "noatime": 1024, "nodiratime": 2048, "relatime": 1 << 21}
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 24, 36, 38
SUPERVISOR_FILES = 64  # open files: its pipes, its channel, the arena, and the modules it already imported
PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
DEVICES = ("null", "zero", "full", "random", "urandom")
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf")
SCRATCH, TMP = "/sandbox", "/tmp"

_libc = ctypes.CDLL(None, use_errno=True)


def _call(result, what):
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")


def _mount(source, target, kind, flags, options=None):
    encode = lambda text: text.encode() if isinstance(text, str) else text  # noqa: E731
    _call(_libc.mount(encode(source), encode(target), encode(kind), flags, encode(options)), f"mount {target}")


def unshare(flags: int, what: str) -> None:
    _call(_libc.unshare(flags), what)


# ----------------------------------------------------------------------------
# Run by the supervisor, before it forks the student's process
# ----------------------------------------------------------------------------


def new_pid_namespace(as_root: bool) -> None:
    """The next child of this process is process 1 of a new PID namespace.  Without root this
    needs a user namespace too, in which this process's uid is mapped to 0."""
    if as_root:
        unshare(CLONE_NEWPID, "new PID namespace")
        return
    uid, gid = os.geteuid(), os.getegid()
    unshare(CLONE_NEWUSER | CLONE_NEWPID, "new user and PID namespace")
    with open("/proc/self/setgroups", "w") as file:
        file.write("deny")
    with open("/proc/self/uid_map", "w") as file:
        file.write(f"0 {uid} 1")
    with open("/proc/self/gid_map", "w") as file:
        file.write(f"0 {gid} 1")


def adopt_orphans() -> None:
    """Make this process the reaper of its descendants' orphans (PR_SET_CHILD_SUBREAPER), so a
    process the student's code double-forks stays in this process's tree, where the grader
    counts its CPU time and memory and kills it when the run ends."""
    _call(_libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "child subreaper")


def end_orphans() -> None:
    """Kill and reap every process still below this one: the orphans it adopted (a process the
    student's code double-forked and left running) and theirs, before this process ends and
    they would pass to the machine's init.  Where the student's process was process 1 of its
    own PID namespace they have already died with it."""
    for _ in range(10_000):  # each round ends at least one process; a process count limit bounds them
        for pid in _children():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.wait()  # one ended child; its children, if any, are ours now
        except ChildProcessError:
            return


def _children():
    me = os.getpid()
    return [pid for pid, parent, _ in _processes() if parent == me]


def _processes():
    """(pid, parent pid, real uid) of every process this one can see in /proc."""
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{name}/stat", "rb") as file:
                data = file.read()
            owner = os.stat(f"/proc/{name}").st_uid
        except OSError:
            continue
        yield int(name), int(data[data.rfind(b")") + 2 :].split()[1]), owner  # the parent: stat's 4th field


def confine_supervisor(config: dict) -> bool:
    """After the supervisor has forked the student's process: put the supervisor inside the run's
    bounds too, since it computes on what the student's process sends.  It joins the run's
    memory and process-count cgroups (not the CPU one: its CPU time is charged by the grader's
    meter), takes rlimits on its address space, CPU time, files and processes, and, where it is
    root, drops to a uid of its own (``supervisor_uid``: neither root nor the student's) with an
    empty capability bounding set; then no_new_privs and the seccomp filter, as for the student.
    Returns whether it changed uid (it can then no longer kill the student's processes: the
    grader does)."""
    for group in config.get("cgroups", []):
        if os.path.basename(os.path.dirname(os.path.dirname(group))) != "cpu":  # v1's cpu/GROUP/run-…
            with open(os.path.join(group, "cgroup.procs"), "w") as file:
                file.write("0")
    _limit(resource.RLIMIT_AS, config.get("address_space_bytes"))
    _limit(resource.RLIMIT_CPU, 2 * config.get("cpu_seconds", 0) + 10)  # it spins while it waits: see refcall
    _limit(resource.RLIMIT_NOFILE, SUPERVISOR_FILES)
    _limit(resource.RLIMIT_CORE, 0)
    uid = config.get("supervisor_uid")
    if uid is not None:
        drop_bounding_set()
        become(uid)
        _limit(resource.RLIMIT_NPROC, 8)  # its threads count too; forking nothing
    _call(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    if seccomp.supported():
        seccomp.install()
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    return uid is not None


def drop_bounding_set() -> None:
    """Empty the capability bounding set (needs CAP_SETPCAP): no later exec, of anything, can
    bring a capability back."""
    for capability in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 and ctypes.get_errno() == 22:  # EINVAL: no such one
            break


# ----------------------------------------------------------------------------
# Run in the student's process, before any of its code
# ----------------------------------------------------------------------------


def enter(config: dict) -> list[str]:
    """Lock this process in as its rung allows (``config["mode"]``, see sandbox/machine.py); returns the
    list of protections that hold."""
    held = []
    _first_to_go_when_memory_runs_out()
    for group in config.get("cgroups", []):  # before the host's /sys disappears
        with open(os.path.join(group, "cgroup.procs"), "w") as file:
            file.write("0")
    if config.get("cgroups"):
        held.append("cgroups")
    if config["mode"] in ("root", "userns"):
        unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS, "new mount and network namespaces")
        _build_root(config["root"], config["allowlist"], config["scratch_bytes"], config.get("uid"))
        held += ["pid namespace", "allowlist root", "no /proc", "no network", f"scratch {config['scratch_bytes']}"]
    else:
        os.chdir(config["root"])  # the run's own scratch folder, mode 700
    _set_limits(config)
    held.append("rlimits")
    uid = config.get("uid")
    if uid is not None or config["mode"] == "userns":  # root, or root of its own user namespace
        drop_bounding_set()
        held.append("empty capability bounding set")
    if uid is not None:
        become(uid)
        held.append(f"uid {uid}")
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "no_new_privs")
    held.append("no-new-privileges")
    if config["mode"] in ("uid", "none") and config.get("landlock"):
        held += landlock.restrict([*SYSTEM_PATHS, *SYSTEM_FILES, *config["allowlist"]], [config["root"]])
    if seccomp.supported():
        seccomp.install()
        held.append("seccomp")
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after setuid, which clears it
    return held


def become(uid: int) -> None:
    """Drop to ``uid`` as user and group, with no supplementary groups (needs root's CAP_SETUID/SETGID)."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def _first_to_go_when_memory_runs_out():
    """When a container runs out of memory, its OOM killer ends this process, not the grader."""
    try:
        with open("/proc/self/oom_score_adj", "w") as file:
            file.write("1000")
    except OSError:
        pass


def _build_root(root, allowlist, scratch_bytes, uid):
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    # The scratch (and /tmp in it) first: an allowlisted folder under /tmp (a grader whose
    # home or virtual environment is there) is then bound on top of it, not hidden by it.
    scratch = root + SCRATCH
    os.makedirs(scratch)
    _mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, f"size={scratch_bytes},mode=700")
    os.makedirs(scratch + "/.tmp")
    os.makedirs(root + TMP)
    _mount(scratch + "/.tmp", root + TMP, None, MS_BIND)
    for path in [*SYSTEM_PATHS, *allowlist]:
        _bind(root, path)
    for path in SYSTEM_FILES:
        if os.path.isfile(path):
            _bind(root, path)
    _make_dev(root)
    if uid is not None:
        os.chown(scratch, uid, uid)
        os.chown(scratch + "/.tmp", uid, uid)
    os.makedirs(root + "/proc")
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.chdir(root)
    _call(_libc.syscall(PIVOT_ROOT[platform.machine()], b".", b"."), "pivot_root")
    _call(_libc.umount2(b".", MNT_DETACH), "detach the host's root")
    os.chdir("/")
    _read_only_everywhere(keep=(SCRATCH, TMP, "/proc"))
    _call(_libc.umount2(b"/proc", MNT_DETACH), "remove /proc")  # it showed host paths (mountinfo, cgroup)
    os.chdir(SCRATCH)


def _bind(root, path):
    """Bind the host's ``path`` at the same place under ``root`` (a link stays a link)."""
    if not os.path.lexists(path):
        return
    target = root + path
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.islink(path):
        if not os.path.lexists(target):
            os.symlink(os.readlink(path), target)
        return
    if os.path.isdir(path):
        os.makedirs(target, exist_ok=True)
    else:
        open(target, "w").close()
    _mount(path, target, None, MS_BIND | MS_REC)


def _make_dev(root):
    os.makedirs(root + "/dev")
    for name in DEVICES:
        _bind(root, "/dev/" + name)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "fd/0"), ("stdout", "fd/1"), ("stderr", "fd/2")):
        os.symlink(target, f"{root}/dev/{name}")


def _read_only_everywhere(keep):
    """Remount every mount of the new root read-only, but the writable ones in ``keep``."""
    with open("/proc/self/mountinfo") as file:
        mounts = [(fields[4], fields[5].split(",")) for fields in (line.split() for line in file)]
    for point, options in mounts:
        if point in keep or point.startswith("/proc/"):
            continue
        # A user namespace may add restrictions to a host mount but never drop its flags, so
        # each remount keeps the flags the mount has.
        flags = MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | (0 if point == "/" else MS_BIND)
        flags |= sum(bit for name, bit in MOUNT_FLAGS.items() if name in options)
        _mount(None, point, None, flags)


def _limit(which, value):
    """Set both limits of ``which`` to ``value``; None sets none (0 is a limit: no core files)."""
    if value is not None:
        resource.setrlimit(which, (int(value), int(value)))


def _set_limits(config):
    _limit(resource.RLIMIT_AS, config.get("address_space_bytes"))
    _limit(resource.RLIMIT_CPU, config.get("cpu_seconds"))
    _limit(resource.RLIMIT_FSIZE, config.get("file_bytes"))
    _limit(resource.RLIMIT_NOFILE, 256)
    _limit(resource.RLIMIT_CORE, 0)
    if config.get("uid") is not None:
        _limit(resource.RLIMIT_NPROC, config.get("processes", 64))
    elif config["mode"] == "none":  # the grader's own uid: the limit counts its processes too, so allow as many more
        _limit(resource.RLIMIT_NPROC, _processes_of_this_user() + config.get("processes", 64))


def _processes_of_this_user():
    uid = os.getuid()
    return sum(owner == uid for _, _, owner in _processes())
