"""The rubric pays for work: an answer that does nothing the exercise asks scores 0.

Every check that a trivial answer passes (the right shapes, indices that end with the newline,
calls made with the right learning rate) is worth points only together with a check of the
function's central result (``Check.stands_alone``).  The trivial answers are the ones a student
could write without reading the exercise: return nothing, return the input, return zeros or a
constant, call the helpers on junk.
"""

import pytest

from autograder.authoring import factory
from autograder.checks import SPECS
from autograder.grade.grading import Grader

TRIVIAL = {
    "clip": [
        "def clip(gradients, maxValue):\n    return None\n",
        "def clip(gradients, maxValue):\n    return gradients\n",
        "def clip(gradients, maxValue):\n    return {k: np.zeros_like(v) for k, v in gradients.items()}\n",
        "def clip(gradients, maxValue):\n    return {k: np.clip(v * 0 + maxValue, -maxValue, maxValue)"
        " for k, v in gradients.items()}\n",
    ],
    "sample": [
        "def sample(parameters, char_to_ix, seed):\n    return []\n",
        "def sample(parameters, char_to_ix, seed):\n    return [char_to_ix['\\n']]\n",
        "def sample(parameters, char_to_ix, seed):\n    return [0] * 50 + [char_to_ix['\\n']]\n",
    ],
    "optimize": [
        "def optimize(X, Y, a_prev, parameters, learning_rate=0.01):\n    return None\n",
        "def optimize(X, Y, a_prev, parameters, learning_rate=0.01):\n    return 0.0, {}, a_prev\n",
    ],
    "model": [
        "def model(data_x, ix_to_char, char_to_ix, num_iterations=35000, n_a=50, dino_names=7,"
        " vocab_size=27, verbose=False):\n    return None\n",
        "def model(data_x, ix_to_char, char_to_ix, num_iterations=35000, n_a=50, dino_names=7,"
        " vocab_size=27, verbose=False):\n"
        "    parameters = initialize_parameters(n_a, vocab_size, vocab_size)\n"
        "    a_prev = np.zeros((n_a, 1))\n"
        "    for _ in range(3):\n"
        "        optimize([None, 1], [1, 0], a_prev, parameters, 0.01)\n"
        "    return parameters, '\\n'\n",
    ],
}


@pytest.fixture(scope="module")
def grader():
    return Grader()


@pytest.mark.parametrize("name, source", [(name, source) for name, sources in TRIVIAL.items() for source in sources])
def test_a_trivial_answer_scores_zero(grader, tmp_path, name, source):
    path = factory.write(factory.notebook({name: source}), tmp_path / "x.ipynb")
    result = grader.grade(path, only=(name,)).functions[name]
    paying = [check.name for check in result.checks if check.points > 0]
    assert result.score == 0, f"{name}: a trivial answer is paid by {paying}"


def test_every_function_has_a_check_of_its_central_result():
    for spec in SPECS.values():
        alone = [check for check in spec.checks if check.stands_alone]
        assert alone, f"{spec.name} has no check that pays on its own"
