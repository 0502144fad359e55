"""The resume file, alone: only lines this grader signed, for these references, are trusted;
anything but this user's regular file in its place is refused with the reason; a failed append
is noted, never fatal.  The batch tests (test_cli.py) show the same through `grade`."""

import errno
import json
import os
import stat

import pytest

from autograder.grade import resume
from autograder.grade.report import FunctionResult, SubmissionResult
from autograder.grade.resume import ResumeFile, ResumeFileRefused


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """A private cache of this test's own, so the key made here is not the machine's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def result(student="ada", score=15.0):
    return SubmissionResult(f"{student}.ipynb", student, {"clip": FunctionResult("clip", score, 20.0, [], 1.0)}, [])


def test_lines_this_grader_wrote_for_these_references_come_back(tmp_path):
    path = tmp_path / "g.json.partial.jsonl"
    first = ResumeFile(path, "refs-1")
    first.append(("a.ipynb", "d1"), result("ada"))
    first.append(("b.ipynb", "d2"), result("bob", 5.0))
    first.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = ResumeFile(path, "refs-1")
    done = again.done()
    assert list(done) == [("a.ipynb", "d1"), ("b.ipynb", "d2")] and done[("b.ipynb", "d2")].score == 5.0
    assert again.ignored == 0 and again.failure is None
    assert ResumeFile(path, "refs-2").done() == {}  # other references: nothing is reused


def test_a_resume_file_others_could_read_is_made_private(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text("")
    path.chmod(0o644)
    ResumeFile(path, "r").close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_forged_or_altered_line_is_ignored_and_counted_and_a_torn_one_skipped(tmp_path):
    path = tmp_path / "p.jsonl"
    honest = ResumeFile(path, "r")
    honest.append(("a.ipynb", "d"), result("ada", 1.0))
    honest.close()
    line = json.loads(path.read_text())
    line["entry"]["result"]["functions"]["clip"]["score"] = 20.0  # the grade raised after signing
    forged = {"mac": "0" * 64, "entry": {**line["entry"], "path": "b.ipynb"}}
    with open(path, "a") as file:
        file.write(json.dumps(line) + "\n" + json.dumps(forged) + "\n" + "not json \xff\n" + '{"mac": 1}\n')
    later = ResumeFile(path, "r")
    later.append(("c.ipynb", "d"), result("cy", 2.0))  # a good line after the bad ones is still read
    later.close()
    with open(path, "a") as file:
        file.write('{"entr')  # torn by a crash
    reader = ResumeFile(path, "r")
    assert list(reader.done()) == [("a.ipynb", "d"), ("c.ipynb", "d")] and reader.done()[("a.ipynb", "d")].score == 1.0
    assert reader.ignored == 4  # the altered and the forged line, counted each time done() reads them


def test_a_resume_file_larger_than_one_read_comes_back_whole(tmp_path):
    path = tmp_path / "p.jsonl"
    writer = ResumeFile(path, "r")
    errors = ["e" * 2000] * 100  # ~200 KB a line
    big = SubmissionResult("x.ipynb", "x", {}, errors)
    for number in range(8):
        writer.append((f"{number}.ipynb", "d"), big)
    writer.close()
    assert os.path.getsize(path) > 1 << 20
    assert len(ResumeFile(path, "r").done()) == 8


def test_ignored_lines_are_said_once_with_the_file_s_name(tmp_path, caplog):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"mac": "0" * 64, "entry": {"path": "x", "digest": "d", "references": "r"}}) + "\n")
    with caplog.at_level("WARNING", logger="autograder.grade.resume"):
        ResumeFile(path, "r").done()
    assert caplog.messages == [f"{path}: 1 lines were not written by this grader and are ignored"]


def test_a_link_planted_as_the_key_is_never_followed(tmp_path):
    from autograder.sandbox.library import private_cache

    target = tmp_path / "chosen-key"
    target.write_bytes(b"k" * resume.KEY_BYTES)
    (private_cache() / resume.KEY_FILE).symlink_to(target)
    with pytest.raises(OSError) as raised:
        resume.resume_key()
    assert raised.value.errno == errno.ELOOP, raised.value  # O_NOFOLLOW refused the link itself
    assert target.read_bytes() == b"k" * resume.KEY_BYTES


def test_a_key_this_grader_did_not_make_is_refused(tmp_path):
    from autograder.sandbox.library import private_cache

    key = private_cache() / resume.KEY_FILE
    key.write_bytes(b"short")
    with pytest.raises(ResumeFileRefused, match="is not a resume key this grader made: remove it"):
        resume.resume_key()
    key.unlink()
    made = resume.resume_key()
    assert len(made) == resume.KEY_BYTES and resume.resume_key() == made  # made once, then read
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600


@pytest.mark.parametrize("planted", ["link", "fifo", "folder", "another user's"])
def test_anything_but_this_user_s_regular_file_is_refused_and_left_alone(tmp_path, planted):
    path = tmp_path / "p.jsonl"
    if planted == "link":
        (tmp_path / "victim").write_text("precious\n")
        path.symlink_to(tmp_path / "victim")
        says = f"the resume file {path} is a link: remove it (nothing was read or written)"
    elif planted == "fifo":
        os.mkfifo(path)
        says = f"the resume file {path} is not a regular file (a FIFO, a device or a socket): remove it"
    elif planted == "folder":
        path.mkdir()
        says = f"the resume file {path} cannot be opened: Is a directory"
    else:
        if os.geteuid() != 0:
            pytest.skip("only root can give a file to another user")
        path.write_text("")
        os.chown(path, 65534, 65534)
        says = f"the resume file {path} belongs to another user (uid 65534): remove it"
    with pytest.raises(ResumeFileRefused) as refused:
        ResumeFile(path, "r")
    assert str(refused.value).startswith(says)
    if planted == "link":
        assert (tmp_path / "victim").read_text() == "precious\n"


def test_a_failed_append_is_noted_once_and_the_batch_goes_on(tmp_path, monkeypatch):
    file = ResumeFile(tmp_path / "p.jsonl", "r")

    def full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    file.append(("a.ipynb", "d"), result())
    file.append(("b.ipynb", "d"), result())
    monkeypatch.undo()
    assert file.failure == f"the resume file {tmp_path / 'p.jsonl'} could not be appended to (No space left on device)"
    file.close()


def test_a_line_with_bytes_that_are_not_utf8_is_skipped_not_fatal(tmp_path):
    path = tmp_path / "p.jsonl"
    writer = ResumeFile(path, "r")
    writer.append(("a.ipynb", "d"), result())
    writer.close()
    with open(path, "ab") as file:
        file.write(b'{"mac": "\xff\xfe", "entry": {}}\n')
    assert list(ResumeFile(path, "r").done()) == [("a.ipynb", "d")]


def test_closing_with_remove_deletes_the_file_even_if_it_is_already_gone(tmp_path):
    path = tmp_path / "p.jsonl"
    first = ResumeFile(path, "r")
    path.unlink()  # removed by someone else meanwhile
    first.close(remove=True)
    second = ResumeFile(path, "r")
    second.close(remove=True)
    assert not path.exists()
