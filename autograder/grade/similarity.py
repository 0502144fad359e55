"""``python -m autograder similarity PATH… --html report.html``: which submissions look copied.

The graded cells of every submission are compared pairwise with copydetect (winnowed k-gram
fingerprints over tokens, with names and literals normalised, so renamed variables do not
hide a copy and moved lines only break the k-grams at their edges).  The release's own cells
(signatures, comments, the code the student was given) are boilerplate: what every submission
shares by construction is not evidence.  The result is a ranking for a person to read, not a
verdict.
"""

import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..paths import GRADED_FUNCTIONS, NOTEBOOK, RELEASE_DIR
from .report import folder_name
from .submission import find_graded_cells, find_notebooks, load_notebook

NOISE_TOKENS = 15  # shorter shared runs are never reported (a loop header, a return line)
GUARANTEE_TOKENS = 20  # shared runs this long are always found


@dataclass
class Pair:
    first: str  # student ids
    second: str
    similarity: float  # the larger of the two shares of each one's code found in the other
    tokens: int  # tokens in common


def graded_code(path):
    """The graded cells of a notebook as one Python file, in the exercises' order ("" if none)."""
    notebook, _ = load_notebook(path)
    if notebook is None:
        return ""
    cells, _ = find_graded_cells(notebook)
    return "\n\n".join(cells[name] for name in GRADED_FUNCTIONS if name in cells) + "\n"


def compare(paths, html=None):
    """The pairs of submissions found under ``paths``, most similar first; ``html``: also write
    copydetect's side-by-side report there."""
    from copydetect import CopyDetector

    notebooks = find_notebooks(paths)
    with tempfile.TemporaryDirectory(prefix="dino-similarity-") as work:
        submissions, boilerplate = Path(work) / "submissions", Path(work) / "release"
        submissions.mkdir()
        boilerplate.mkdir()
        (boilerplate / "release.py").write_text(graded_code(RELEASE_DIR / NOTEBOOK))
        students = {}
        for index, (path, student) in enumerate(notebooks):
            name = f"{index:05d}_{folder_name(student)}.py"
            (submissions / name).write_text(graded_code(path), errors="backslashreplace")
            students[name] = student
        detector = CopyDetector(
            test_dirs=[str(submissions)], boilerplate_dirs=[str(boilerplate)], extensions=["py"],
            noise_t=NOISE_TOKENS, guarantee_t=GUARANTEE_TOKENS, display_t=0.0, autoopen=False, silent=True,
            out_file=str(html) if html else str(Path(work) / "report.html"),
        )  # fmt: skip
        detector.run()
        pairs, seen = [], set()
        for first_share, second_share, first, second, *_rest, tokens in detector.get_copied_code_list():
            key = frozenset((first, second))
            if first != second and key not in seen:
                seen.add(key)
                share = float(max(first_share, second_share))
                pairs.append(Pair(students[Path(first).name], students[Path(second).name], share, int(tokens)))
        if html:
            detector.generate_html_report()
    return sorted(pairs, key=lambda pair: (-pair.similarity, pair.first, pair.second))


def table(pairs, top):
    from rich.table import Table
    from rich.text import Text

    grid = Table(title=f"Most similar submissions (top {min(top, len(pairs))} of {len(pairs)} pairs)")
    for name, justify in (("first", "left"), ("second", "left"), ("similarity", "right"), ("tokens", "right")):
        grid.add_column(name, justify=justify)
    for pair in pairs[:top]:
        grid.add_row(Text(pair.first), Text(pair.second), f"{pair.similarity:.0%}", str(pair.tokens))
    return grid
