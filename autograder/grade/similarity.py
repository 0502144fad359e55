"""``python -m autograder similarity PATH… [--against DIR…] [--archive DIR] [--html FILE]``.

Which submissions look copied — from a classmate, from an earlier term, or from a solution
found on the web.  In this assignment the graded regions are a few lines inside a scaffold that
everyone shares, and honest students converge on the obvious lines, so a plain share of common
code says little.  What is compared, and how:

1. **What the student wrote**: the lines of each graded cell that are not the release's
   (``difflib`` against the released cell), so the scaffold counts for nothing.
2. **Normalised**: comments and formatting dropped, every name a student chooses written ``V``
   (keywords, builtins, ``np`` and attribute names such as ``np.tanh`` kept: they are choices
   of method), every literal ``S`` or ``N``; renaming variables hides nothing.
3. **Fragments**: every run of ``FRAGMENT_TOKENS`` tokens, per function.
4. **Weighted by rarity**: a fragment counts as evidence for a pair by how few of the *other*
   students wrote it — fully when none did, not at all when ``COMMON_SHARE`` of them or more
   did.  What most of the class writes is evidence of nothing; an odd line two students share is.
5. **Score** of a pair: the evidence they share over what the smaller of the two wrote that
   could be evidence at all (at least ``LEAST_FRAGMENTS`` fragments' worth, so two submissions
   sharing one odd line do not score 100 %).

The result is a ranking for a person to read, with the shared rare lines side by side, not a
verdict.  ``--against`` compares the batch with earlier terms (archives written by ``--archive``,
which keep normalised fragments only, never a notebook) and with folders of known solutions
(notebooks or ``.py`` files); rarity is always the batch's own.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import hashlib
import html as markup
import json
import keyword
import re
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..paths import GRADED_FUNCTIONS
from .submission import find_graded_cells, find_notebooks, load_notebook, released_cells

if TYPE_CHECKING:
    from rich.table import Table

FRAGMENT_TOKENS = 8
COMMON_SHARE = 0.5  # a fragment that this share of the other students wrote is evidence of nothing
LEAST_FRAGMENTS = 10  # a score's denominator is at least this many fully rare fragments
ARCHIVE_FORMAT = 1
KEPT_NAMES = set(keyword.kwlist) | set(dir(builtins)) | {"np"}
TOKEN = re.compile(  # a string first, so that its prefix (r"…", b'…') is not read as a name
    r"""[rbfuRBFU]{0,2}("|')(?:\\.|(?!\1).)*\1|[A-Za-z_]\w*|\d[\d_]*\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?"""
    r"""|\*\*=?|//=?|==|!=|<=|>=|->|:=|[-+*/%@&|^<>]=?|\S"""
)


@dataclass
class Code:
    """What one student (or one known solution) wrote: per function, its lines and fragments."""

    name: str  # the student id, or "source/student" for an earlier term or a known solution
    lines: dict = field(default_factory=dict)  # {function: [the student's lines of the cell]}
    fragments: dict = field(default_factory=dict)  # {fragment hash: (function, {line index…}, normalised text)}
    in_batch: int = 0  # 1 for the batch's own submissions (rarity counts them), 0 for other sources


@dataclass
class Shared:
    function: str
    weight: float
    text: str  # the normalised fragment
    first_lines: set  # indices into each side's lines of that function
    second_lines: set


@dataclass
class Pair:
    first: str
    second: str
    similarity: float
    evidence: float  # the weight of the rare fragments they share
    shared: list = field(default_factory=list)  # [Shared], rarest first


# ----------------------------------------------------------------------------
# What a student wrote, normalised
# ----------------------------------------------------------------------------


def normalised_tokens(line: str) -> list[str]:
    """The tokens of one line of code: names written V, literals S or N, comments dropped."""
    tokens, previous = [], ""
    for match in TOKEN.finditer(line):
        token = match.group(0)
        if token.startswith("#"):
            break
        if match.group(1) or token[0] in "\"'":
            token = "S"
        elif token[0].isdigit() or (token[0] == "." and len(token) > 1):
            token = "N"
        elif token[0].isalpha() or token[0] == "_":
            token = "np" if token == "numpy" else token
            if previous != "." and token not in KEPT_NAMES:
                token = "V"
        tokens.append(token)
        previous = token
    return tokens


def own_lines(cell: str, released: str) -> list[str]:
    """The lines of ``cell`` that are not the released cell's (compared without their spacing)."""
    mine = cell.splitlines()
    matcher = difflib.SequenceMatcher(None, [line.strip() for line in released.splitlines()],
                                      [line.strip() for line in mine], autojunk=False)  # fmt: skip
    kept = []
    for tag, _, _, start, end in matcher.get_opcodes():
        if tag in ("replace", "insert"):
            kept += [line for line in mine[start:end] if line.strip() and not line.strip().startswith("#")]
    return kept


def fingerprint(name: str, cells: dict[str, str], released: dict[str, str]) -> Code:
    """The Code of one submission's graded cells ({function: source})."""
    code = Code(name)
    for function in GRADED_FUNCTIONS:
        if function not in cells:
            continue
        lines = own_lines(cells[function], released.get(function, ""))
        code.lines[function] = lines
        stream = [(token, index) for index, line in enumerate(lines) for token in normalised_tokens(line)]
        for start in range(len(stream) - FRAGMENT_TOKENS + 1):
            window = stream[start : start + FRAGMENT_TOKENS]
            text = " ".join(token for token, _ in window)
            digest = hashlib.blake2b(f"{function}\0{text}".encode(), digest_size=8).hexdigest()
            code.fragments.setdefault(digest, (function, set(), text))[1].update(index for _, index in window)
    return code


def notebook_code(path: Path, name: str, released: dict[str, str]) -> Code:
    notebook, _ = load_notebook(path)
    return fingerprint(name, find_graded_cells(notebook)[0] if notebook is not None else {}, released)


def python_file_code(path: Path, name: str, released: dict[str, str]) -> Code:
    """A known solution kept as a .py file: its functions named like the exercises."""
    try:
        source = Path(path).read_text(encoding="utf-8", errors="replace")
        tree = ast.parse(source)
    except (OSError, SyntaxError, ValueError):
        return Code(name)
    cells = {node.name: ast.get_source_segment(source, node) or "" for node in tree.body
             if isinstance(node, ast.FunctionDef) and node.name in GRADED_FUNCTIONS}  # fmt: skip
    return fingerprint(name, cells, released)


# ----------------------------------------------------------------------------
# Other sources: earlier terms and known solutions
# ----------------------------------------------------------------------------


def write_archive(folder: Path | str, codes: list[Code]) -> Path:
    """This term's normalised fragments (never a notebook, never a line as written), for next year."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    students = {code.name: {digest: [function, text] for digest, (function, _, text) in code.fragments.items()}
                for code in codes}  # fmt: skip
    path = folder / f"fingerprints-{stamp}.json"
    path.write_text(json.dumps({"format": ARCHIVE_FORMAT, "written": stamp, "students": students}) + "\n")
    return path


def read_archive(path: Path) -> list[Code]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if data.get("format") != ARCHIVE_FORMAT:
        raise ValueError(f"{path} is not an archive of `similarity --archive`")
    codes = []
    for student, fragments in data["students"].items():
        code = Code(f"{Path(path).parent.name}/{student}")
        code.fragments = {digest: (function, set(), text) for digest, (function, text) in fragments.items()}
        codes.append(code)
    return codes


def other_sources(folders: list[Path | str], released: dict[str, str]) -> list[Code]:
    """The Codes of every archive, notebook and .py file below ``folders``, named by where they came from."""
    codes = []
    for folder in map(Path, folders):
        if not folder.exists():
            raise OSError(f"{folder} does not exist")
        for archive in sorted(folder.rglob("fingerprints-*.json")) if folder.is_dir() else []:
            codes += read_archive(archive)
        for path, student in find_notebooks([folder]):
            codes.append(notebook_code(path, f"{folder.name}/{student}", released))
        if folder.is_dir():
            for path in sorted(folder.rglob("*.py")):
                codes.append(python_file_code(path, f"{folder.name}/{path.relative_to(folder)}", released))
        elif folder.suffix == ".py":
            codes.append(python_file_code(folder, folder.name, released))
    return [code for code in codes if code.fragments]


# ----------------------------------------------------------------------------
# Comparing
# ----------------------------------------------------------------------------


def rarity(held_by_others: int, others: int) -> float:
    """How much a fragment that ``held_by_others`` of ``others`` students also wrote says."""
    if others == 0:
        return 1.0
    return max(0.0, 1.0 - held_by_others / (COMMON_SHARE * others))


class Rarity:
    """Fragment weights for the pairs of one batch.  ``held_by``: {fragment: how many of the
    batch's ``students`` wrote it}.  For a pair, the other students are the batch less the
    pair's members in it, so a fragment's weight leaves out the pair's own copies."""

    def __init__(self, held_by, students):
        self.held_by, self.students = held_by, students
        self.bases = {}

    def weight(self, digest: str, own_copies: int, others: int) -> float:
        return rarity(self.held_by.get(digest, 0) - own_copies, others)

    def worth(self, code: Code, others: int) -> float:
        """What ``code`` could be evidence of, as if its partner shared none of it (cached per
        code; a pair corrects it for what the two share)."""
        key = (id(code), others)
        if key not in self.bases:
            self.bases[key] = sum(self.weight(digest, code.in_batch, others) for digest in code.fragments)
        return self.bases[key]


def compare_two(first: Code, second: Code, rarity_of: Rarity) -> Pair:
    """The Pair of two Codes (``first`` is in the batch; ``second`` may be from elsewhere)."""
    in_batch = first.in_batch + second.in_batch
    others = rarity_of.students - in_batch
    worth = [rarity_of.worth(first, others), rarity_of.worth(second, others)]
    shared = []
    for digest in first.fragments.keys() & second.fragments.keys():
        w = rarity_of.weight(digest, in_batch, others)  # every copy the pair holds is its own
        for side, code in enumerate((first, second)):
            worth[side] += w - rarity_of.weight(digest, code.in_batch, others)
        if w > 0:
            function, first_lines, text = first.fragments[digest]
            shared.append(Shared(function, w, text, first_lines, second.fragments[digest][1]))
    evidence = sum(s.weight for s in shared)
    similarity = min(1.0, evidence / max(min(worth), LEAST_FRAGMENTS)) if evidence else 0.0
    shared.sort(key=lambda s: (-s.weight, s.function, s.text))
    return Pair(first.name, second.name, similarity, evidence, shared)


def compare(
    paths: list[Path | str],
    html: Path | str | None = None,
    against: Collection[Path | str] = (),
    archive: Path | str | None = None,
) -> list[Pair]:
    """The pairs of submissions found under ``paths`` (and of each with the sources ``against``),
    most similar first.  ``html``: also write the report there; ``archive``: also store
    this batch's fingerprints in that folder."""
    released = released_cells()
    batch = [notebook_code(path, student, released) for path, student in find_notebooks(paths)]
    for code in batch:
        code.in_batch = 1
    outside = other_sources(against, released)
    held_by = {}
    for code in batch:
        for digest in code.fragments:
            held_by[digest] = held_by.get(digest, 0) + 1
    rarity_of, pairs = Rarity(held_by, len(batch)), []
    for index, first in enumerate(batch):
        for second in [*batch[index + 1 :], *outside]:
            pairs.append(compare_two(first, second, rarity_of))
    pairs = [pair for pair in pairs if pair.evidence > 0]  # the others share nothing rare
    pairs.sort(key=lambda pair: (-pair.similarity, -pair.evidence, pair.first, pair.second))
    if html:
        codes = {code.name: code for code in [*batch, *outside]}
        Path(html).write_text(report_html(pairs, codes), encoding="utf-8")
    if archive:
        write_archive(archive, batch)
    return pairs


# ----------------------------------------------------------------------------
# What a person reads
# ----------------------------------------------------------------------------


def table(pairs: list[Pair], top: int) -> Table:
    from rich.table import Table
    from rich.text import Text

    shown = min(top, len(pairs))
    grid = Table(title=f"Most similar submissions (top {shown} of {len(pairs)} pairs with rare code in common)")
    for name, justify in (("first", "left"), ("second", "left"), ("similarity", "right"), ("rare fragments", "right")):
        grid.add_column(name, justify=justify)
    for pair in pairs[:top]:
        grid.add_row(Text(pair.first), Text(pair.second), f"{pair.similarity:.0%}", str(len(pair.shared)))
    return grid


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table.rank td, table.rank th { padding: 0.2em 0.8em; text-align: left; }
section { border-top: 1px solid #ccc; margin-top: 2em; }
.side { display: flex; gap: 1em; } .side > div { flex: 1; min-width: 0; }
pre { background: #f6f6f6; padding: 0.5em; overflow-x: auto; font-size: 0.85em; }
mark { background: #ffe08a; }
"""


def report_html(pairs: list[Pair], codes: list[Code], top: int = 50) -> str:
    """One page, offline (no external resource), with the students' names and, per pair, the
    lines behind its rare shared fragments side by side; everything students wrote escaped."""
    escape = markup.escape
    rows = "".join(
        f"<tr><td><a href='#pair{i}'>{escape(p.first)}</a></td><td>{escape(p.second)}</td>"
        f"<td>{p.similarity:.0%}</td><td>{len(p.shared)}</td></tr>"
        for i, p in enumerate(pairs[:top])
    )
    sections = "".join(_pair_section(i, pair, codes) for i, pair in enumerate(pairs[:top]))
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Similarity</title>"
        f"<style>{STYLE}</style></head><body><h1>Similarity of the graded code</h1>"
        "<p>Pairs ranked by the rare code they share (what most of the class wrote counts for nothing). "
        "A ranking to read, not a verdict.</p>"
        "<table class='rank'><tr><th>first</th><th>second</th><th>similarity</th><th>rare fragments</th></tr>"
        f"{rows}</table>{sections}</body></html>\n"
    )


def _pair_section(index, pair, codes):
    escape = markup.escape
    parts = [f"<section id='pair{index}'><h2>{escape(pair.first)} and {escape(pair.second)}: "
             f"{pair.similarity:.0%}</h2>"]  # fmt: skip
    for function in GRADED_FUNCTIONS:
        mine = [s for s in pair.shared if s.function == function]
        if not mine:
            continue
        parts.append(f"<h3>{function}</h3><div class='side'>")
        for name, which in ((pair.first, "first_lines"), (pair.second, "second_lines")):
            marked = set().union(*(getattr(s, which) for s in mine))
            lines = codes[name].lines.get(function)
            if lines:
                body = "\n".join(f"<mark>{escape(line)}</mark>" if i in marked else escape(line)
                                 for i, line in enumerate(lines))  # fmt: skip
            else:  # an archive keeps no lines: the normalised fragments stand for them
                body = "\n".join(escape(s.text) for s in mine)
            parts.append(f"<div><b>{escape(name)}</b><pre>{body}</pre></div>")
        parts.append("</div>")
    return "".join(parts) + "</section>"
