"""The resume file of a batch, ``OUT.json.partial.jsonl``: one finished submission per line.

A batch that is killed and started again regrades only what is not in there.  The file sits
beside the report, in a folder that other local users may be able to write, so the grader
trusts it only as far as it can prove that it wrote it:

- it is opened without following a link, and must be a regular file of this user's (mode 600
  once opened): a link, a FIFO, a device or another user's file in its place is refused in one
  line, and nothing is read from it or appended to it;
- each line carries an HMAC-SHA256 of its content under a key kept in the grader's private
  folder (``private_cache()``, mode 700), so a line that anyone else wrote or edited, even with
  the right references digest, is ignored with a warning.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import stat
import threading

from .report import SubmissionResult

log = logging.getLogger(__name__)
KEY_FILE = "resume.key"
KEY_BYTES = 32


class ResumeFileRefused(OSError):
    """Something other than this grader's own resume file lies where it should be."""


def resume_key() -> bytes:
    """This user's key for the resume files, made once, readable by this user only."""
    from ..sandbox.library import private_cache

    path = private_cache() / KEY_FILE
    for _ in range(2):
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            except FileExistsError:  # another grader made it just now: read theirs
                continue
            with os.fdopen(descriptor, "wb") as file:
                key = secrets.token_bytes(KEY_BYTES)
                file.write(key)
                return key
        with os.fdopen(descriptor, "rb") as file:
            key = file.read(KEY_BYTES + 1)
        if len(key) == KEY_BYTES:
            return key
        raise ResumeFileRefused(f"{path} is not a resume key this grader made: remove it")
    raise ResumeFileRefused(f"{path} could not be read")


def _open_own(path):
    """A descriptor for appending to and reading ``path``, which must be this user's regular file."""
    flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        descriptor = os.open(path, flags, 0o600)
    except OSError as error:
        if os.path.islink(path):
            why = f"the resume file {path} is a link: remove it (nothing was read or written)"
            raise ResumeFileRefused(why) from None
        raise ResumeFileRefused(f"the resume file {path} cannot be opened: {error.strerror}") from error
    info = os.fstat(descriptor)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = "is not a regular file (a FIFO, a device or a socket)"
    elif info.st_uid != os.geteuid():
        problem = f"belongs to another user (uid {info.st_uid})"
    if problem:
        os.close(descriptor)
        raise ResumeFileRefused(f"the resume file {path} {problem}: remove it (nothing was read or written)")
    os.fchmod(descriptor, 0o600)
    os.set_blocking(descriptor, True)
    return descriptor


class ResumeFile:
    """One batch's resume file: its lines read back (``done``), new ones appended as results come.
    A failed append (disk full) is noted in ``failure``, never fatal."""

    def __init__(self, path, references):
        self.path, self.references = path, references
        self.key = resume_key()
        self.descriptor = _open_own(path)
        self.lock, self.failure, self.ignored = threading.Lock(), None, 0

    def _mac(self, entry):
        text = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()
        return hmac.new(self.key, text, hashlib.sha256).hexdigest()

    def done(self) -> dict[tuple[str, str], SubmissionResult]:
        """{(path, digest): SubmissionResult} of this grader's lines for these references (a torn
        last line is ignored; so is a line it did not write, with a warning)."""
        chunks = []
        while chunk := os.pread(self.descriptor, 1 << 20, sum(map(len, chunks))):
            chunks.append(chunk)
        found = {}
        for line in b"".join(chunks).decode("utf-8", "replace").splitlines():
            try:
                signed = json.loads(line)
                entry, mac = signed["entry"], signed["mac"]
                if not hmac.compare_digest(str(mac), self._mac(entry)):
                    self.ignored += 1
                    continue
                if entry["references"] == self.references:
                    found[(entry["path"], entry["digest"])] = SubmissionResult.from_dict(entry["result"])
            except (ValueError, KeyError, TypeError):
                continue
        if self.ignored:
            log.warning("%s: %d lines were not written by this grader and are ignored", self.path, self.ignored)
        return found

    def append(self, key: tuple[str, str], result: SubmissionResult) -> None:
        entry = {"path": key[0], "digest": key[1], "references": self.references, "result": result.to_dict()}
        line = json.dumps({"mac": self._mac(entry), "entry": entry}) + "\n"
        with self.lock:
            try:
                data = memoryview(line.encode())
                while data:
                    data = data[os.write(self.descriptor, data) :]
            except OSError as error:
                problem = f"the resume file {self.path} could not be appended to ({error.strerror})"
                self.failure = self.failure or problem

    def close(self, remove: bool = False) -> None:
        os.close(self.descriptor)
        if remove:
            self.path.unlink(missing_ok=True)
