"""Confine a process to a few folders with Landlock, the kernel's unprivileged sandbox.

Runs inside the sandbox, in the student's process, on the rungs where namespaces are refused
(a container's root without CAP_SYS_ADMIN, an ordinary user without user namespaces).  After
``restrict`` the process and everything it starts can only read the folders it was given,
write only in its scratch folder, open no TCP connection and signal no process outside its
own domain (kernel ABI 6 and later); everything else of the file system, the answer key and
the course among it, is refused with EACCES whatever the files' modes.  Standard library only.
"""

from __future__ import annotations

import ctypes
import os
import struct

CREATE_RULESET, ADD_RULE, RESTRICT_SELF = 444, 445, 446  # the same numbers on x86-64 and arm64
ASK_VERSION = 1  # landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)
RULE_PATH_BENEATH = 1

# What a process may do to files (bit values of the kernel's LANDLOCK_ACCESS_FS_*).
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
MAKE_AND_REMOVE = sum(1 << bit for bit in range(4, 13))  # remove dir/file, make char/dir/reg/sock/fifo/block/sym
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # the rights a rule on a file may carry
TCP_BIND, TCP_CONNECT = 1, 2
SCOPE_ABSTRACT_UNIX, SCOPE_SIGNAL = 1, 2

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def version() -> int:
    """The kernel's Landlock ABI version, 0 when it has none (or a filter refuses the call)."""
    result = _libc.syscall(CREATE_RULESET, None, 0, ASK_VERSION)
    return max(int(result), 0)


def handled_file_rights(abi: int) -> int:
    rights = EXECUTE | WRITE_FILE | READ_FILE | READ_DIR | MAKE_AND_REMOVE
    rights |= REFER if abi >= 2 else 0
    rights |= TRUNCATE if abi >= 3 else 0
    rights |= IOCTL_DEV if abi >= 5 else 0
    return rights


def _check(result, what):
    if result < 0:
        number = ctypes.get_errno()
        raise OSError(number, f"landlock {what}: {os.strerror(number)}")
    return int(result)


def restrict(readable: list[str], writable: list[str]) -> list[str]:
    """Confine this process: read (and run) beneath ``readable``, read and write beneath
    ``writable``, nothing else.  Needs no_new_privs set first.  Returns what now holds, in words."""
    abi = version()
    if abi < 1:
        raise OSError("this kernel has no Landlock")
    handled = handled_file_rights(abi)
    fields = [handled]
    if abi >= 4:
        fields.append(TCP_BIND | TCP_CONNECT)  # handled with no rule: no TCP at all
    if abi >= 6:
        fields.append(SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL)
    attributes = struct.pack(f"={len(fields)}Q", *fields)
    ruleset = _check(_libc.syscall(CREATE_RULESET, attributes, len(attributes), 0), "ruleset")
    try:
        read = EXECUTE | READ_FILE | READ_DIR
        for paths, rights in ((readable, read), (writable, handled)):
            for path in paths:
                _allow(ruleset, path, rights)
        _check(_libc.syscall(RESTRICT_SELF, ruleset, 0), "restrict_self")
    finally:
        os.close(ruleset)
    held = [f"landlock v{abi} (files)"]
    held += ["no TCP"] if abi >= 4 else []
    held += ["no signals outside the run"] if abi >= 6 else []
    return held


def _allow(ruleset, path, rights):
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # nothing there to allow
    try:
        if not os.path.isdir(path):
            rights &= FILE_ONLY
        rule = struct.pack("=Qi", rights, fd)  # struct landlock_path_beneath_attr is packed
        _check(_libc.syscall(ADD_RULE, ruleset, RULE_PATH_BENEATH, rule, 0), f"rule for {path}")
    finally:
        os.close(fd)
