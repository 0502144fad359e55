"""A seccomp filter that refuses the system calls a graded function has no use for.

Runs inside the sandbox, in the student's process, after no_new_privs and after the jail is
built, on every rung.  Like Docker's default profile it is a deny-list, answered with an
error (never a kill, so the student reads an ordinary OSError): no new namespaces (unshare,
setns, clone with a namespace flag; clone3 reads as absent, so the C library falls back to
clone), no mounts, no ptrace or reading other processes' memory, no kernel keyrings, bpf,
perf events, userfaultfd or io_uring, no modules, reboots or clock changes, and sockets of
the local (AF_UNIX) family only, so no network on any rung.  Standard library only.
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct

PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
LD_ABS, JEQ, JSET, RET = 0x20, 0x15, 0x45, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_JMP|JSET|K, BPF_RET|K
NR, ARCH, ARG0 = 0, 4, 16  # offsets in struct seccomp_data (the low half of args[0] on little-endian)
AF_UNIX = 1
NAMESPACE_FLAGS = 0x7E020080  # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME
X32_BIT = 0x40000000

# Per architecture: its AUDIT_ARCH value and the numbers of the calls refused, plus socket,
# clone and clone3, whose arguments decide.
DENIED_NAMES = (
    "unshare setns mount umount2 pivot_root chroot fsopen fsconfig fsmount move_mount open_tree fspick "
    "mount_setattr ptrace process_vm_readv process_vm_writev kcmp keyctl add_key request_key bpf "
    "perf_event_open userfaultfd io_uring_setup io_uring_enter io_uring_register kexec_load kexec_file_load "
    "init_module finit_module delete_module open_by_handle_at name_to_handle_at acct swapon swapoff reboot "
    "sethostname setdomainname quotactl syslog vhangup settimeofday clock_settime adjtimex"
).split()
ARCHITECTURES = {
    "x86_64": (
        0xC000003E,
        dict(zip(DENIED_NAMES, (
            272, 308, 165, 166, 155, 161, 430, 431, 432, 429, 428, 433, 442, 101, 310, 311, 312, 250, 248, 249,
            321, 298, 323, 425, 426, 427, 246, 320, 175, 313, 176, 304, 303, 163, 167, 168, 169, 170, 171, 179,
            103, 153, 164, 227, 159,
        ), strict=True)),
        {"socket": 41, "clone": 56, "clone3": 435},
    ),
    "aarch64": (
        0xC00000B7,
        dict(zip(DENIED_NAMES, (
            97, 268, 40, 39, 41, 51, 430, 431, 432, 429, 428, 433, 442, 117, 270, 271, 272, 219, 217, 218,
            280, 241, 282, 425, 426, 427, 104, 294, 105, 273, 106, 265, 264, 89, 224, 225, 142, 161, 162, 60,
            116, 58, 170, 112, 171,
        ), strict=True)),
        {"socket": 198, "clone": 220, "clone3": 435},
    ),
}  # fmt: skip

_libc = ctypes.CDLL(None, use_errno=True)


def supported() -> bool:
    return platform.machine() in ARCHITECTURES


def program(machine: str | None = None, network: bool = False) -> list[tuple[int, int, int, int]]:
    """The filter's BPF instructions, as (code, jump if true, jump if false, k) tuples.
    ``network``: let sockets of every family through (the filter that stands in for Docker's)."""
    arch, denied, special = ARCHITECTURES[machine or platform.machine()]
    refuse = RET_ERRNO | errno.EPERM
    code = [(LD_ABS, 0, 0, ARCH), (JEQ, 1, 0, arch), (RET, 0, 0, refuse), (LD_ABS, 0, 0, NR)]
    if arch == ARCHITECTURES["x86_64"][0]:
        code += [(JSET, 0, 1, X32_BIT), (RET, 0, 0, refuse)]  # the x32 numbering of the same calls
    for number in sorted(denied.values()):
        code += [(JEQ, 0, 1, number), (RET, 0, 0, refuse)]
    code += [(JEQ, 0, 1, special["clone3"]), (RET, 0, 0, RET_ERRNO | errno.ENOSYS)]
    code += [(JEQ, 0, 3, special["clone"]), (LD_ABS, 0, 0, ARG0), (JSET, 0, 1, NAMESPACE_FLAGS), (RET, 0, 0, refuse)]
    if not network:
        code += [(LD_ABS, 0, 0, NR), (JEQ, 0, 3, special["socket"]), (LD_ABS, 0, 0, ARG0)]
        code += [(JEQ, 1, 0, AF_UNIX), (RET, 0, 0, RET_ERRNO | errno.EAFNOSUPPORT)]
    code += [(RET, 0, 0, RET_ALLOW)]
    return code


def install(network: bool = False) -> None:
    """Install the filter on this process and every process it starts (no_new_privs, or
    CAP_SYS_ADMIN, must hold already)."""
    code = program(network=network)
    instructions = b"".join(struct.pack("=HBBI", *instruction) for instruction in code)
    buffer = ctypes.create_string_buffer(instructions, len(instructions))
    fprog = struct.pack("@HP", len(code), ctypes.addressof(buffer))  # struct sock_fprog, native alignment
    fprog_buffer = ctypes.create_string_buffer(fprog, len(fprog))
    if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, fprog_buffer, 0, 0) != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"seccomp filter: {__import__('os').strerror(number)}")
