"""The similarity ranking: a copy with renamed variables and moved lines stands out among
independently written submissions, and the release's own code counts for nothing."""

import subprocess
import sys

import nbformat

from autograder.authoring import factory
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


def renamed(code, names):
    for old, new in names.items():
        code = code.replace(old, new)
    return code


# The obvious solution, as four honest students each wrote it with their own names, and as two
# more wrote it but for one rare oddity they share: a softmax of their own instead of utils'.
OBVIOUS_NAMES = [
    {"clipped": "out", "key": "k", "indices": "idxs", "counter": "count"},
    {"clipped": "result", "key": "name", "indices": "sampled", "counter": "n"},
    {"clipped": "c", "key": "g", "indices": "chars", "counter": "t"},
    {"clipped": "new_grads", "key": "gname", "indices": "seq", "counter": "steps"},
]
ODDITY = """        z = np.dot(Wya, a) + by
        shifted = np.exp(z - np.max(z))
        y = shifted / np.sum(shifted, axis=0)
"""
ODD = ALICE.replace("        y = softmax(np.dot(Wya, a) + by)\n", ODDITY)


def test_in_a_class_that_converges_on_the_obvious_solution_a_shared_oddity_ranks_first(tmp_path):
    assert ODD != ALICE
    students = {f"honest{i}": renamed(ALICE, names) for i, names in enumerate(OBVIOUS_NAMES)}
    students["odd1"] = renamed(ODD, {"shifted": "ex", "indices": "picked"})
    students["odd2"] = renamed(ODD, {"clipped": "cl", "counter": "i"})
    for student, code in students.items():
        factory.write(submission(code), tmp_path / student / NOTEBOOK)
    pairs = compare([tmp_path])
    assert {pairs[0].first, pairs[0].second} == {"odd1", "odd2"}, [(p.first, p.second, p.similarity) for p in pairs]
    assert any("np . exp" in shared.text for shared in pairs[0].shared)
    honest_pairs = [p for p in pairs if "odd" not in p.first + p.second]
    assert all(p.similarity < 0.3 for p in honest_pairs)  # what everyone wrote is evidence of nothing


def test_a_copy_of_last_term_s_submission_is_found_through_its_archive(tmp_path):
    last_term = tmp_path / "2025"
    for student, code in (("zed", CAROL), ("yan", BOB)):
        factory.write(submission(code), last_term / student / NOTEBOOK)
    archive = tmp_path / "archive-2025"
    compare([last_term], archive=archive)
    stored = list(archive.glob("fingerprints-*.json"))
    assert len(stored) == 1 and "np.zeros" not in stored[0].read_text()  # normalised fragments, not code
    this_term = tmp_path / "2026"
    for student, code in (("alice", ALICE), ("mia", renamed(CAROL, {"letters": "out", "dist": "p", "inp": "v"}))):
        factory.write(submission(code), this_term / student / NOTEBOOK)
    pairs = compare([this_term], against=[archive])
    assert (pairs[0].first, pairs[0].second) == ("mia", "archive-2025/zed") and pairs[0].similarity >= 0.8
    assert all(p.similarity < 0.5 for p in pairs[1:])


def test_a_copy_of_a_known_solution_from_the_web_is_found(tmp_path):
    web = tmp_path / "web"
    web.mkdir()
    (web / "github_solution.py").write_text("import numpy as np\n" + BOB)
    for student, code in (("alice", ALICE), ("nina", renamed(BOB, {"state": "h", "probs": "p", "out": "res"}))):
        clip, sample = code.split("\n\n\ndef sample")
        cells = {"clip": clip, "sample": "def sample" + sample}
        factory.write(factory.notebook(cells), tmp_path / "class" / student / NOTEBOOK)
    pairs = compare([tmp_path / "class"], against=[web])
    assert (pairs[0].first, pairs[0].second) == ("nina", "web/github_solution.py") and pairs[0].similarity >= 0.8


def test_the_report_names_students_works_offline_and_escapes_what_they_wrote(tmp_path):
    hostile = '    print("</pre><script>alert(1)</script>", flush=True)\n'
    odd = ALICE.replace("    return clipped\n", hostile + "    return clipped\n")
    for student, code in (("<b>eve", odd), ("frank", odd), ("alice", ALICE)):
        factory.write(submission(code), tmp_path / "class" / student / NOTEBOOK)
    page_path = tmp_path / "out" / "report.html"
    page_path.parent.mkdir()
    compare([tmp_path / "class"], html=page_path)
    page = page_path.read_text()
    assert "&lt;b&gt;eve" in page and "frank" in page and "<b>eve" not in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "http://" not in page and "https://" not in page and "src=" not in page  # nothing fetched
    assert str(tmp_path) not in page and "/tmp" not in page


# ----------------------------------------------------------------------------
# The pieces, each alone
# ----------------------------------------------------------------------------

import pytest  # noqa: E402

from autograder.grade import similarity  # noqa: E402


@pytest.mark.parametrize(
    ("line", "tokens"),
    [
        ("total = np.sum(x) * 2.5  # sum it", ["V", "=", "np", ".", "sum", "(", "V", ")", "*", "N", ]),
        ("s = 'a#b' + \"c\"", ["V", "=", "S", "+", "S"]),
        ("y = numpy.exp(-x)", ["V", "=", "np", ".", "exp", "(", "-", "V", ")"]),
        ("for i in range(len(a)):", ["for", "V", "in", "range", "(", "len", "(", "V", ")", ")", ":"]),
        ("a **= .5e-3 // 7_000", ["V", "**=", "N", "//", "N"]),
        ("obj._private != None", ["V", ".", "_private", "!=", "None"]),
        ("f(r'raw', b\"b\")", ["V", "(", "S", ",", "S", ")"]),
        ("x[1:] -> y", ["V", "[", "N", ":", "]", "->", "V"]),
        ("# only a comment", []),
    ],
)  # fmt: skip
def test_a_line_is_normalised_to_its_shape(line, tokens):
    assert similarity.normalised_tokens(line) == tokens


def test_only_the_lines_a_student_added_or_changed_are_their_own():
    released = "def f(x):\n    ### START ###\n    y = None\n    ### END ###\n    return y\n"
    cell = (
        "def f(x):\n    ### START ###\n      y = x + 1  # mine\n\n    # a note\n    z = 2\n    ### END ###\n"
        "    return y\n"
    )
    assert similarity.own_lines(cell, released) == ["      y = x + 1  # mine", "    z = 2"]
    assert similarity.own_lines(released.replace("    ", "  "), released) == []  # spacing alone is not writing


@pytest.mark.parametrize(("held", "others", "weight"), [(0, 10, 1.0), (1, 10, 0.8), (5, 10, 0.0), (9, 10, 0.0),
                                                        (3, 0, 1.0), (2, 8, 0.5)])  # fmt: skip
def test_a_fragment_says_less_the_more_others_wrote_it(held, others, weight):
    assert similarity.rarity(held, others) == pytest.approx(weight)


def pair(first, second, similarity_, shared):
    return similarity.Pair(first, second, similarity_, 1.0, [None] * shared)


def test_the_ranking_table_shows_the_top_pairs_with_percentages(tmp_path):
    import io

    from rich.console import Console

    pairs = [pair("[red]ann", "bob", 0.875, 12), pair("cy", "dee", 0.5, 3), pair("eve", "fay", 0.25, 1)]
    console = Console(file=io.StringIO(), width=120, record=True)
    console.print(similarity.table(pairs, top=2))
    text = console.export_text()
    assert "Most similar submissions (top 2 of 3 pairs with rare code in common)" in " ".join(text.split())
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in text.splitlines() if line.startswith("│")]
    assert rows == [["[red]ann", "bob", "88%", "12"], ["cy", "dee", "50%", "3"]]
    header = next(line for line in text.splitlines() if "first" in line)
    assert header.replace("┃", " ").split() == ["first", "second", "similarity", "rare", "fragments"]
    row = next(line for line in text.splitlines() if "cy" in line).split("│")
    assert row[3].endswith("50% ") and row[1].startswith(" cy")  # numbers right-aligned, names left


def test_an_archive_round_trips_and_a_foreign_json_is_refused(tmp_path):
    code = similarity.Code("alice")
    code.fragments = {"d1": ("clip", {1, 2}, "V = V"), "d2": ("model", set(), "return V")}
    path = similarity.write_archive(tmp_path / "2025", [code])
    assert path.parent == tmp_path / "2025" and path.name.startswith("fingerprints-") and path.suffix == ".json"
    (back,) = similarity.read_archive(path)
    assert back.name == "2025/alice"
    assert back.fragments == {"d1": ("clip", set(), "V = V"), "d2": ("model", set(), "return V")}
    other = tmp_path / "fingerprints-x.json"
    other.write_text('{"format": 2, "students": {}}')
    with pytest.raises(ValueError, match="is not an archive of `similarity --archive`"):
        similarity.read_archive(other)


def test_other_sources_are_named_by_where_they_came_from_and_a_missing_one_is_refused(tmp_path):
    known = tmp_path / "web"
    known.mkdir()
    (known / "answer.py").write_text(
        "def clip(gradients, maxValue):\n    return {k: v for k, v in gradients.items()}\n"
    )
    (known / "empty.py").write_text("x = 1\n")  # no exercise in it: no fragments, left out
    codes = similarity.other_sources([known], {})
    assert [code.name for code in codes] == ["web/answer.py"]
    single = similarity.other_sources([known / "answer.py"], {})
    assert [code.name for code in single] == ["answer.py"]
    with pytest.raises(OSError, match="does not exist"):
        similarity.other_sources([tmp_path / "nowhere"], {})


def test_the_report_page_says_what_it_is_and_shows_each_pair_s_lines_side_by_side_marking_the_shared_ones():
    first, second = similarity.Code("ann"), similarity.Code("bob")
    first.lines = {"clip": ["a = 1", "b = <2>", "c = 3"]}
    second.lines = {"clip": ["x = 9", "b = <2>"]}
    shared = similarity.Shared("clip", 1.0, "V = N", {1}, {1})
    pairs = [similarity.Pair("ann", "bob", 0.5, 1.0, [shared]), similarity.Pair("bob", "ann", 0.25, 1.0, [])]
    page = similarity.report_html(pairs, {"ann": first, "bob": second}, top=1)
    assert page.startswith("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Similarity</title><style>")
    assert ("</style></head><body><h1>Similarity of the graded code</h1><p>Pairs ranked by the rare code they share "
            "(what most of the class wrote counts for nothing). A ranking to read, not a verdict.</p><table "
            "class='rank'><tr><th>first</th><th>second</th><th>similarity</th><th>rare fragments</th></tr><tr><td>"
            "<a href='#pair0'>ann</a></td><td>bob</td><td>50%</td><td>1</td></tr></table>") in page  # fmt: skip
    assert ("<section id='pair0'><h2>ann and bob: 50%</h2><h3>clip</h3><div class='side'><div><b>ann</b><pre>a = 1\n"
            "<mark>b = &lt;2&gt;</mark>\nc = 3</pre></div><div><b>bob</b><pre>x = 9\n<mark>b = &lt;2&gt;</mark></pre>"
            "</div></div></section></body></html>\n") in page  # fmt: skip
    assert "pair1" not in page  # only the top pairs
    archived = similarity.Code("2025/cy")  # an archive keeps fragments, not lines
    page = similarity.report_html([similarity.Pair("ann", "2025/cy", 0.5, 1.0, [shared])],
                                  {"ann": first, "2025/cy": archived})  # fmt: skip
    assert "<div><b>2025/cy</b><pre>V = N</pre></div>" in page


def test_an_archive_is_made_where_asked_even_twice_and_stamped(tmp_path):
    import json
    import re

    code = similarity.Code("alice")
    code.fragments = {"d": ("clip", set(), "V")}
    first = similarity.write_archive(tmp_path / "a" / "b", [code])
    second = similarity.write_archive(tmp_path / "a" / "b", [code])
    data = json.loads(second.read_text())
    assert re.fullmatch(r"fingerprints-\d{8}-\d{6}\.json", first.name)
    assert data["format"] == 1 and re.fullmatch(r"\d{8}-\d{6}", data["written"])
    assert data["students"] == {"alice": {"d": ["clip", "V"]}}


def test_a_known_solution_file_is_read_whatever_its_bytes_and_a_broken_one_gives_nothing(tmp_path):
    odd = tmp_path / "odd.py"
    odd.write_bytes(b"# caf\xe9\ndef clip(gradients, maxValue):\n    return {k: -v for k, v in gradients.items()}\n")
    code = similarity.python_file_code(odd, "odd", {})
    assert code.name == "odd" and code.fragments and code.lines["clip"][0].startswith("def clip")
    broken = tmp_path / "broken.py"
    broken.write_text("def clip(:\n")
    assert similarity.python_file_code(broken, "broken", {}).fragments == {}
