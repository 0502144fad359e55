"""The seccomp filter's program (``sandbox/inside/seccomp.py``), alone.

The filter runs in the kernel, in the student's process and the supervisor; whether it is
installed is seen from the host (``test_layers.py``: Seccomp 2 in /proc/PID/status).  What it
refuses is tested here, without a sandbox: its BPF program is run in a small interpreter against
each call of its deny-list (and their x32 numbers), each namespace flag of ``clone``, ``clone3``,
each socket family and other architectures, and its x86_64 numbers are checked against the
kernel's own headers.
"""

import ctypes
import errno
import json
import os
import re
import socket
from pathlib import Path

import pytest

from autograder.sandbox.inside import seccomp

X86_64, AARCH64 = seccomp.ARCHITECTURES["x86_64"][0], seccomp.ARCHITECTURES["aarch64"][0]


def filtered(call: int, arch: int = X86_64, arg0: int = 0, network: bool = False) -> int:
    """What the filter answers to one system call: a classic BPF interpreter over the fields of
    struct seccomp_data the program reads (nr, arch, the low half of args[0])."""
    data = {seccomp.NR: call, seccomp.ARCH: arch, seccomp.ARG0: arg0 & 0xFFFFFFFF}
    code = seccomp.program("x86_64", network=network)
    accumulator, at = 0, 0
    while True:
        op, if_true, if_false, k = code[at]
        if op == seccomp.RET:
            return k
        if op == seccomp.LD_ABS:
            accumulator = data[k]
            at += 1
        elif op in (seccomp.JEQ, seccomp.JSET):
            hit = accumulator == k if op == seccomp.JEQ else bool(accumulator & k)
            at += 1 + (if_true if hit else if_false)
        else:
            raise AssertionError(f"an instruction the interpreter does not know: {op:#x}")


ALLOW, REFUSE = seccomp.RET_ALLOW, seccomp.RET_ERRNO | errno.EPERM
_, NUMBERS, SPECIAL = seccomp.ARCHITECTURES["x86_64"]  # the deny-list's numbers; socket, clone, clone3
HEADER = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
ORDINARY = {"read": 0, "write": 1, "mmap": 9, "futex": 202, "wait4": 61, "kill": 62, "getpid": 39}


def kernel_numbers() -> dict[str, str]:
    """{name: number} of x86_64's system calls, from the kernel's headers."""
    return dict(re.findall(r"#define __NR_(\w+) (\d+)", HEADER.read_text()))


@pytest.mark.parametrize("name", seccomp.DENIED_NAMES)
def test_the_filter_refuses_each_call_of_its_deny_list(name):
    assert filtered(NUMBERS[name]) == REFUSE, f"the seccomp filter lets {name} through"
    assert filtered(NUMBERS[name] | seccomp.X32_BIT) == REFUSE, f"the seccomp filter lets {name} through as x32"


@pytest.mark.skipif(not HEADER.exists(), reason="no kernel headers (linux-libc-dev) to check the numbers against")
def test_the_filter_s_x86_64_numbers_are_the_kernel_s():
    kernel = kernel_numbers()
    ours = NUMBERS | SPECIAL | ORDINARY
    wrong = {name: number for name, number in ours.items() if kernel.get(name) != str(number)}
    assert not wrong, f"these system call numbers are not x86_64's: {wrong}"


@pytest.mark.parametrize("call", ORDINARY)
def test_the_filter_lets_ordinary_calls_through(call):
    for first in (0, 1, 0x34567000, 0xFFFFFFFF):  # an fd, an address whose low half has namespace bits, -1
        assert filtered(ORDINARY[call], arg0=first) == ALLOW, f"the seccomp filter refuses {call}({first:#x}, …)"


@pytest.mark.parametrize("family, answer", [(socket.AF_UNIX, ALLOW), (socket.AF_INET, None), (socket.AF_INET6, None),
                                            (socket.AF_NETLINK, None), (socket.AF_PACKET, None)])  # fmt: skip
def test_the_filter_allows_sockets_of_the_local_family_only(family, answer):
    socket_call = SPECIAL["socket"]
    refused = seccomp.RET_ERRNO | errno.EAFNOSUPPORT
    assert filtered(socket_call, arg0=family) == (answer or refused), f"socket family {family!r}"
    assert filtered(socket_call, arg0=family, network=True) == ALLOW, f"the network filter refuses family {family!r}"


NAMESPACE_FLAGS = {"NEWNS": 0x20000, "NEWCGROUP": 0x2000000, "NEWUTS": 0x4000000, "NEWIPC": 0x8000000,
                   "NEWUSER": 0x10000000, "NEWPID": 0x20000000, "NEWNET": 0x40000000, "NEWTIME": 0x80}  # fmt: skip


@pytest.mark.parametrize("flag", NAMESPACE_FLAGS)
def test_the_filter_refuses_clone_with_each_namespace_flag_and_clone3(flag):
    clone = SPECIAL["clone"]
    thread_flags = 0x3D0F00  # what pthread_create passes: VM, FS, FILES, SIGHAND, THREAD, SYSVSEM, SETTLS, …
    assert filtered(clone, arg0=thread_flags) == ALLOW, "the filter refuses a thread"
    assert filtered(clone, arg0=thread_flags | NAMESPACE_FLAGS[flag]) == REFUSE, (
        f"clone with CLONE_{flag} is let through"
    )
    assert filtered(SPECIAL["clone3"]) == seccomp.RET_ERRNO | errno.ENOSYS


def test_the_filter_refuses_every_call_of_another_architecture():
    assert filtered(39, arch=AARCH64) == REFUSE, "an aarch64 call is let through on x86_64"
    assert filtered(0, arch=0x40000003) == REFUSE, "an i386 call is let through"


def test_the_filter_is_well_formed_for_the_kernel():
    """Each architecture's program checks its own AUDIT_ARCH first; jumps stay inside it, only
    jumps carry jump offsets, it ends in a return, and it fits the kernel's 4,096 instructions."""
    for machine_name, (arch, _, _) in seccomp.ARCHITECTURES.items():
        for network in (False, True):
            code = seccomp.program(machine_name, network=network)
            assert code[:2] == [(seccomp.LD_ABS, 0, 0, seccomp.ARCH), (seccomp.JEQ, 1, 0, arch)], machine_name
            assert len(code) < 4096 and code[-1][0] == seccomp.RET
            for at, (op, if_true, if_false, _) in enumerate(code):
                if op in (seccomp.RET, seccomp.LD_ABS):
                    assert (if_true, if_false) == (0, 0), f"a jump offset on a load or return at {at}"
                else:
                    assert at + 1 + max(if_true, if_false) < len(code), f"a jump past the end at {at}"


def _errno_of(call):
    try:
        call()
    except OSError as error:
        return error.errno
    return 0


def _probe_calls():
    libc = ctypes.CDLL(None, use_errno=True)

    def unshare_user():
        if libc.unshare(0x10000000) != 0:  # CLONE_NEWUSER
            raise OSError(ctypes.get_errno(), "unshare")

    def inet():
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()

    def unix():
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close()

    return {"unshare(CLONE_NEWUSER)": _errno_of(unshare_user), "socket(AF_INET)": _errno_of(inet),
            "socket(AF_UNIX)": _errno_of(unix)}  # fmt: skip


def _in_a_filtered_child():
    """Fork; the child sets no_new_privs, installs the filter, forks a grandchild, and reports
    what both were allowed (the filter is inherited)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            ctypes.CDLL(None).prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
            seccomp.install()
            mine = _probe_calls()
            inner_read, inner_write = os.pipe()
            if os.fork() == 0:
                os.write(inner_write, json.dumps(_probe_calls()).encode())
                os._exit(0)
            os.close(inner_write)
            theirs = json.loads(os.read(inner_read, 4096))
            os.write(write, json.dumps([mine, theirs]).encode())
        finally:
            os._exit(0)
    os.close(write)
    report = os.read(read, 4096)
    os.waitpid(pid, 0)
    return json.loads(report)


@pytest.mark.skipif(not seccomp.supported(), reason="no seccomp filter for this architecture")
def test_the_installed_filter_refuses_namespaces_and_network_in_a_process_and_its_children():
    for who, seen in zip(("the process", "its child"), _in_a_filtered_child(), strict=True):
        assert seen == {"unshare(CLONE_NEWUSER)": errno.EPERM, "socket(AF_INET)": errno.EAFNOSUPPORT,
                        "socket(AF_UNIX)": 0}, f"with the filter installed, {who} got {seen}"  # fmt: skip
