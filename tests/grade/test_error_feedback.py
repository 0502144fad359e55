"""What a student reads of their own code's exception: its type (when it is a name), its line,
and at most 160 characters of its message, on one line, quoted, with control characters shown
as codes, so a message cannot pass for the grader's words or carry a long payload."""

from autograder.grade.grading import STUDENT_TEXT, error_feedback, students_words
from autograder.sandbox.limits import Limits
from autograder.sandbox.messages import StudentError


def test_the_student_s_words_are_cut_to_the_limit_and_marked_as_cut():
    assert STUDENT_TEXT == 160  # the README's promise
    assert students_words("a" * 161) == '"' + "a" * 160 + '…"'
    assert students_words("a" * 160) == '"' + "a" * 160 + '"'


def test_the_student_s_words_are_one_line_with_control_characters_escaped():
    assert students_words("one\ntwo\t three\x1b[31m") == '"one two three\\x1b[31m"'


def test_an_exception_is_named_with_its_line_its_code_and_its_message():
    error = StudentError("RuntimeError", "the loop went wrong", 7, "raise RuntimeError('the loop went wrong')")
    assert error_feedback("sample", error, Limits()) == (
        "sample raised RuntimeError at line 7 of your cell (\"raise RuntimeError('the loop went wrong')\"); its "
        'message, as your code\'s process gave it: "the loop went wrong"'
    )


def test_a_long_message_and_a_long_line_are_cut():
    error = StudentError("RuntimeError", "m" * 1000, 3, "c" * 1000)
    text = error_feedback("clip", error, Limits())
    assert '("' + "c" * 120 + '…")' in text and '"' + "m" * 160 + '…"' in text and "m" * 161 not in text


def test_a_type_that_is_not_a_name_is_not_repeated():
    error = StudentError("Error: your grade is 100 <b>", "", None, "")
    assert error_feedback("model", error, Limits()).startswith("model raised an exception")


def test_a_memory_error_says_how_much_the_grader_allows():
    text = error_feedback("model", StudentError("MemoryError"), Limits(memory_bytes=2 * 1024**3))
    assert "The grader allows 2.0 GB of memory." in text
