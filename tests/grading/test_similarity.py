"""The similarity ranking: a copy with renamed variables and moved lines stands out among
independently written submissions, and the release's own code counts for nothing."""

import subprocess
import sys

import nbformat

from autograder.build import factory
from autograder.grade.similarity import compare
from autograder.paths import COURSE_ROOT, NOTEBOOK, RELEASE_DIR

# Three students' own clip and sample, written independently of each other.
ALICE = """
def clip(gradients, maxValue):
    clipped = {}
    for key in gradients:
        clipped[key] = np.clip(gradients[key], -maxValue, maxValue)
    return clipped


def sample(parameters, char_to_ix, seed):
    Waa, Wax, Wya, by, b = (parameters[k] for k in ("Waa", "Wax", "Wya", "by", "b"))
    vocab_size, n_a = by.shape[0], Waa.shape[1]
    x = np.zeros((vocab_size, 1))
    a_prev = np.zeros((n_a, 1))
    indices, idx, counter = [], -1, 0
    newline_character = char_to_ix["\\n"]
    while idx != newline_character and counter != 50:
        a = np.tanh(np.dot(Wax, x) + np.dot(Waa, a_prev) + b)
        y = softmax(np.dot(Wya, a) + by)
        np.random.seed(counter + seed)
        idx = np.random.choice(range(vocab_size), p=y.ravel())
        indices.append(idx)
        x = np.zeros((vocab_size, 1))
        x[idx] = 1
        a_prev = a
        seed += 1
        counter += 1
    if counter == 50:
        indices.append(newline_character)
    return indices
"""

BOB = """
def clip(gradients, maxValue):
    return {name: np.minimum(np.maximum(value, -maxValue), maxValue) for name, value in gradients.items()}


def sample(parameters, char_to_ix, seed):
    vocab = len(char_to_ix)
    hidden = parameters["Waa"].shape[0]
    state = np.zeros((hidden, 1))
    one_hot = np.zeros((vocab, 1))
    out = []
    for step in range(50):
        state = np.tanh(parameters["Wax"] @ one_hot + parameters["Waa"] @ state + parameters["b"])
        probs = softmax(parameters["Wya"] @ state + parameters["by"])
        np.random.seed(seed + 2 * step)
        choice = int(np.random.choice(vocab, p=probs[:, 0]))
        out.append(choice)
        if choice == char_to_ix["\\n"]:
            return out
        one_hot = np.eye(vocab)[:, [choice]]
    return out + [char_to_ix["\\n"]]
"""

CAROL = """
def _bounded(array, limit):
    array[array > limit] = limit
    array[array < -limit] = -limit
    return array


def clip(gradients, maxValue):
    result = dict()
    for k, g in list(gradients.items()):
        result[k] = _bounded(g.copy(), maxValue)
    return result


def sample(parameters, char_to_ix, seed):
    end = char_to_ix.get("\\n")
    h = np.zeros_like(parameters["b"])
    letters = []
    inp = np.zeros((parameters["Wax"].shape[1], 1))
    while len(letters) < 50:
        h = np.tanh(parameters["Waa"].dot(h) + parameters["Wax"].dot(inp) + parameters["b"])
        dist = softmax(parameters["Wya"].dot(h) + parameters["by"]).flatten()
        np.random.seed(seed + len(letters))
        letters.append(np.random.choice(len(dist), p=dist))
        if letters[-1] == end:
            break
        inp = np.zeros_like(inp)
        inp[letters[-1], 0] = 1.0
    else:
        letters.append(end)
    return letters
"""

# Alice's code, its names changed and its independent lines moved.
MALLORY = (
    ALICE.replace("clipped", "bounded_grads").replace("key", "nm").replace("indices", "picked")
    .replace("counter", "steps").replace("newline_character", "stop_ix")
    .replace("    x = np.zeros((vocab_size, 1))\n    a_prev = np.zeros((n_a, 1))\n",
             "    a_prev = np.zeros((n_a, 1))\n    x = np.zeros((vocab_size, 1))\n")
    .replace("        seed += 1\n        steps += 1\n", "        steps += 1\n        seed += 1\n")
)  # fmt: skip


def submission(clip_and_sample):
    """A notebook with these clip and sample, and optimize and model as released (boilerplate)."""
    released = nbformat.read(RELEASE_DIR / NOTEBOOK, as_version=4)
    stubs = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in released.cells}
    return factory.notebook(
        {"clip": clip_and_sample, "sample": "", "optimize": stubs["optimize"], "model": stubs["model"]}
    )


def test_is_a_disguised_copy_the_most_similar_pair(tmp_path):
    assert MALLORY.count("picked") > 3 and "a_prev = np.zeros((n_a, 1))\n    x = " in MALLORY
    for student, code in (("alice", ALICE), ("bob", BOB), ("carol", CAROL), ("mallory", MALLORY)):
        factory.write(submission(code), tmp_path / "submitted" / student / "dinosaurus_island" / NOTEBOOK)
    pairs = compare([tmp_path / "submitted"], html=tmp_path / "report.html")
    assert {pairs[0].first, pairs[0].second} == {"alice", "mallory"}
    assert pairs[0].similarity > 0.8 and all(pair.similarity < 0.5 for pair in pairs[1:])
    assert "mallory" in (tmp_path / "report.html").read_text()


def test_do_submissions_that_only_hold_the_release_look_alike_in_nothing(tmp_path):
    released = (RELEASE_DIR / NOTEBOOK).read_bytes()
    for student in ("dora", "emil"):
        factory.write(released, tmp_path / student / NOTEBOOK)
    assert [pair.similarity for pair in compare([tmp_path])] in ([], [0.0])


def test_does_the_command_print_the_ranking_and_write_the_report(tmp_path):
    for student, code in (("alice", ALICE), ("mallory", MALLORY)):
        factory.write(submission(code), tmp_path / student / NOTEBOOK)
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "similarity", str(tmp_path), "--html", str(tmp_path / "r.html")],
        cwd=COURSE_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "alice" in done.stdout and "mallory" in done.stdout and (tmp_path / "r.html").exists()
