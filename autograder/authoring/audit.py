"""``python -m autograder audit``: do the hidden checks catch every catalogued mistake, name it
first, and give every correct version kept in the project full marks?

For instructors who edit the assignment (cases, checks, solution or catalogue).  Every mistake
of autograder/faults/ and every correct style of authoring/styles.py is graded, as a student's cell
would be, with the stored references; then, per function, a table:

- each mistake: the points it loses, whether the first failed check names it, and the hidden
  cases on which it behaves differently from the solution;
- each hidden case: how many mistakes it exposes (a case that exposes none is dead weight; a
  mistake that only one case exposes hangs on that case);
- each correct style: its score.

Exit status 1 when a mistake is not caught or not named first, or a correct version loses a point.
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .. import faults
from ..checks import SPECS
from ..grade.grading import Grader
from ..solution import compact, graded_cell_sources
from . import factory, independent, styles


@dataclass
class MistakeRow:
    id: str
    explanation: str
    lost: float  # points the mistake costs
    named_first: bool  # the first failed check's feedback is its explanation
    exposed_by: list  # the hidden cases on which it differs from the solution
    first_feedback: str = ""


@dataclass
class FunctionAudit:
    name: str
    max_score: float
    mistakes: list = field(default_factory=list)
    styles: list = field(default_factory=list)  # [(label, score)]
    cases: dict = field(default_factory=dict)  # {case id: mistakes it exposes}

    def problems(self):
        found = []
        for row in self.mistakes:
            if row.lost == 0:
                found.append(f"{self.name}: mistake {row.id!r} is not caught (it loses no points)")
            elif not row.named_first:
                found.append(
                    f"{self.name}: mistake {row.id!r} is caught but not named first; "
                    f"the student reads: {row.first_feedback!r}"
                )
        for label, score in self.styles:
            if score != self.max_score:
                found.append(f"{self.name}: the correct version {label!r} scores {score:g} of {self.max_score:g}")
        return found


def audit_function(grader, spec, jobs):
    base = compact(graded_cell_sources()[spec.name])
    case_ids = [case.id for case in grader.cases[spec.name]]
    solution_signature = faults.signature(case_ids, grader.expected.cases[spec.name], spec.printed)
    stored = grader.expected.signatures[spec.name]
    mistakes = grader.mistakes[spec.name]
    correct = [("the instructor's", factory.solution(spec.name))]
    correct += [(f"style {i}", source) for i, source in enumerate(styles.CORRECT.get(spec.name, ()), start=1)]

    with ThreadPoolExecutor(jobs) as pool:
        graded = list(
            pool.map(lambda source: grader.grade_function(spec, source), [m.applied_to(base) for m in mistakes])
        )
        graded_styles = list(pool.map(lambda item: grader.grade_function(spec, item[1]), correct))

    result = FunctionAudit(spec.name, float(spec.points))
    for mistake, outcome in zip(mistakes, graded, strict=True):
        failed = [check.feedback for check in outcome.checks if not check.passed and not check.withheld]
        result.mistakes.append(
            MistakeRow(
                mistake.id,
                mistake.explanation,
                outcome.max_score - outcome.score,
                bool(failed) and failed[0] == mistake.explanation and outcome.diagnosis == mistake.explanation,
                faults.differing_cases(stored[mistake.id], solution_signature),
                failed[0] if failed else "",
            )
        )
    result.styles = [(label, outcome.score) for (label, _), outcome in zip(correct, graded_styles, strict=True)]
    result.cases = {c: sum(c in row.exposed_by for row in result.mistakes) for c in case_ids}
    return result


@dataclass
class IndependentRow:
    function: str
    id: str
    score: float
    max_score: float
    named_first: bool
    misleading: list  # the failing messages that blame what this submission does right
    near_miss: bool
    first_feedback: str = ""


def first_failing(outcome):
    return next((c.feedback for c in outcome.checks if not c.passed and not c.withheld), "")


def audit_independent(grader, names=None, jobs=2):
    """Each mistake of authoring/independent.py graded, and judged by its own patterns."""
    import re

    chosen = [m for m in independent.MISTAKES if not names or m.function in names]
    with ThreadPoolExecutor(jobs) as pool:
        graded = list(pool.map(lambda m: grader.grade_function(SPECS[m.function], m.source), chosen))
    rows = []
    for mistake, outcome in zip(chosen, graded, strict=True):
        first = first_failing(outcome)
        failing = [c.feedback for c in outcome.checks if not c.passed and not c.withheld]
        blamed = [text for text in failing if any(re.search(p, text) for p in mistake.not_blamed)]
        named = bool(re.search(mistake.names, first))
        rows.append(IndependentRow(mistake.function, mistake.id, outcome.score, outcome.max_score, named, blamed,
                                   mistake.near_miss, first))  # fmt: skip
    return rows


def run(names=None, jobs=2, grader=None):
    grader = grader or Grader()
    return [audit_function(grader, spec, jobs) for name, spec in SPECS.items() if not names or name in names]


def tables(audits):
    from rich.table import Table
    from rich.text import Text

    for audit in audits:
        grid = Table(title=f"{audit.name}: {len(audit.mistakes)} catalogued mistakes", title_justify="left")
        for column in ("mistake", "points lost", "named first", "exposed by hidden cases"):
            grid.add_column(column)
        for row in audit.mistakes:
            named = "yes" if row.named_first else "NO"
            grid.add_row(Text(row.id), f"{row.lost:g}/{audit.max_score:g}", named, Text(", ".join(row.exposed_by)))
        yield grid
        cases = Table(title=f"{audit.name}: hidden cases", title_justify="left")
        cases.add_column("case")
        cases.add_column("mistakes it exposes", justify="right")
        cases.add_column("the only case exposing")
        for case_id, count in audit.cases.items():
            alone = [row.id for row in audit.mistakes if row.exposed_by == [case_id]]
            cases.add_row(Text(case_id), str(count), Text(", ".join(alone)))
        yield cases
        correct = Table(title=f"{audit.name}: correct versions", title_justify="left")
        correct.add_column("version")
        correct.add_column("score", justify="right")
        for label, score in audit.styles:
            correct.add_row(Text(label), f"{score:g}/{audit.max_score:g}")
        yield correct


def independent_table(rows):
    from rich.table import Table
    from rich.text import Text

    grid = Table(title=f"{len(rows)} mistakes written apart from the catalogue", title_justify="left")
    for column in ("function", "mistake", "score", "named first", "misleading", "first message"):
        grid.add_column(column)
    for row in rows:
        grid.add_row(row.function, Text(row.id), f"{row.score:g}/{row.max_score:g}", "yes" if row.named_first else "NO",
                     str(len(row.misleading)), Text(row.first_feedback[:160]))  # fmt: skip
    return grid


def main(names=None, jobs=2, grader=None):
    from rich.console import Console
    from rich.text import Text

    grader = grader or Grader()
    audits = run(names, jobs, grader)
    console = Console()
    for table in tables(audits):
        console.print(table)
    rows = audit_independent(grader, names, jobs)
    console.print(independent_table(rows))
    named_apart = sum(row.named_first for row in rows)
    misleading = sum(bool(row.misleading) for row in rows)
    near = [row for row in rows if row.near_miss]
    console.print(
        f"written apart from the catalogue: {named_apart}/{len(rows)} named first, {misleading} with a misleading "
        f"message; near misses keeping part of their points: {sum(0 < r.score < r.max_score for r in near)}/{len(near)}"
    )
    problems = [problem for audit in audits for problem in audit.problems()]
    caught = sum(row.lost > 0 for audit in audits for row in audit.mistakes)
    named = sum(row.named_first for audit in audits for row in audit.mistakes)
    total = sum(len(audit.mistakes) for audit in audits)
    styles_ok = sum(score == audit.max_score for audit in audits for _, score in audit.styles)
    styles_total = sum(len(audit.styles) for audit in audits)
    console.print(
        f"{caught}/{total} mistakes caught, {named}/{total} named first; "
        f"{styles_ok}/{styles_total} correct versions at full marks"
    )
    problems += [f"{row.function}: independent mistake {row.id!r} is not named first: {row.first_feedback!r}"
                 for row in rows if not row.named_first]  # fmt: skip
    problems += [f"{row.function}: independent mistake {row.id!r} is told something untrue: {row.misleading[0]!r}"
                 for row in rows if row.misleading]  # fmt: skip
    for problem in problems:
        console.print(Text(problem, style="red"))
    return 1 if problems else 0
