"""The instructor notebook runs top to bottom in a real kernel, every visible test passes,
and what each test prints is exactly the expected output shown to students."""

import pytest
from notebooks import copy_assignment, errors, execute, expected_output_after, grade_id, stream_text

from autograder.paths import GRADED_FUNCTIONS, NOTEBOOK, SOURCE_DIR


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    folder = copy_assignment(SOURCE_DIR, tmp_path_factory.mktemp("instructor") / "dinosaurus_island")
    return execute(folder / NOTEBOOK, timeout=900)


@pytest.mark.slow
def test_does_every_cell_run_without_error(executed):
    for index, cell in enumerate(executed.cells):
        if cell.cell_type == "code":
            assert not errors(cell), f"cell {index} raised: {errors(cell)}"


@pytest.mark.slow
@pytest.mark.parametrize("function", GRADED_FUNCTIONS)
def test_does_each_visible_test_print_its_expected_output(executed, function):
    index = next(i for i, c in enumerate(executed.cells) if grade_id(c) == f"{function}_test")
    printed = stream_text(executed.cells[index])
    assert printed.rstrip("\n") == expected_output_after(executed, index).rstrip("\n")
    assert f"✓ {function}: all visible tests passed." in printed


@pytest.mark.slow
def test_does_the_training_cell_print_the_canonical_run(executed, canonical_output):
    body = canonical_output.rsplit("\n'Trodonosaurus\\n'\n", 1)[0]
    index = next(i for i, c in enumerate(executed.cells) if grade_id(c) == "model_test")
    assert stream_text(executed.cells[index]).startswith(body)


def test_does_a_notebook_opened_without_its_folder_say_so_in_one_line(tmp_path):
    """The usual mistake: the notebook downloaded alone.  Its imports cell says what to do, in one
    line, instead of a ModuleNotFoundError's traceback."""
    import nbformat

    from autograder.paths import RELEASE_DIR

    alone = tmp_path / NOTEBOOK
    nb = nbformat.read(RELEASE_DIR / NOTEBOOK, as_version=4)
    first = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")
    nb.cells = nb.cells[: first + 1]  # the imports cell and what comes before it
    nbformat.write(nb, alone)
    done = execute(alone, allow_errors=True)
    [error] = errors(done.cells[first])
    assert error["ename"] == "FolderMissing"
    assert error["traceback"] == [
        "public_tests is not beside this notebook: download the whole dinosaurus_island folder and open the "
        "notebook from inside it."
    ]
