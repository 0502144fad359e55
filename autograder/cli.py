"""Command line: ``python -m autograder {assign,grade,references,demo} …``.

The CLI only parses arguments and dispatches; exit status 0 means the command did its job
(whatever the students scored), 2 means it was used wrongly or could not start, 3 means some
submissions could not be graded through no fault of theirs (listed on stderr; regrade them),
4 means a report could not be written where asked (stderr says where each went instead).
"""

import argparse
import sys

from .paths import GRADED_FUNCTIONS


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("assign", help="build release/ from source/ with nbgrader and check it")

    grade = commands.add_parser("grade", help="grade notebooks (files, folders, or nbgrader's submitted/)")
    grade.add_argument("paths", nargs="+", help="notebooks, or folders searched for *.ipynb")
    grade.add_argument("--json", required=True, help="where to write the JSON report")
    grade.add_argument("--csv", help="also write a CSV gradebook, one row per student")
    grade.add_argument("--gradescope", metavar="DIR", help="also write DIR/<student>/results.json for Gradescope")
    grade.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    grade.add_argument("--only", nargs="+", choices=GRADED_FUNCTIONS, help="grade only these functions")

    references = commands.add_parser("references", help="recompute autograder/references/ from the solution")
    references.add_argument("--only", nargs="+", choices=GRADED_FUNCTIONS)

    commands.add_parser("demo", help="grade examples/submissions/ and print the table")
    return parser


def print_table(results):
    from rich.console import Console

    from .report import table

    Console().print(table(results))


def run_grade(args):
    from .batch import grade_batch
    from .expected import StaleReferences

    if args.jobs < 1:
        print("error: --jobs must be at least 1", file=sys.stderr)
        return 2
    from .sandbox import protections

    print("sandbox: " + "; ".join(protections()), file=sys.stderr)
    try:
        outcome = grade_batch(
            args.paths,
            args.json,
            args.csv,
            args.gradescope,
            args.jobs,
            progress=not args.no_progress and sys.stderr.isatty(),
            only=args.only,
        )
    except (OSError, StaleReferences) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    results = outcome.results
    print_table(results)
    print(
        f"Wrote {args.json}"
        + (f", {args.csv}" if args.csv else "")
        + (f" and {args.gradescope}/<student>/results.json" if args.gradescope else "")
        + (" (but see below)" if outcome.undelivered else "")
    )
    for student, paths in outcome.shared_ids.items():
        print(f"one student id, {len(paths)} notebooks (all in the reports, none sent to Gradescope): "
              f"{student}: {', '.join(paths)}", file=sys.stderr)  # fmt: skip
    failed = [r for r in results if not r.graded]
    for result in failed:
        print(f"not graded (regrade it): {result.path}: {result.errors[-1]}", file=sys.stderr)
    for sentence in outcome.undelivered:
        print(f"error: {sentence}", file=sys.stderr)
    if outcome.undelivered and any("nor rescued" in s for s in outcome.undelivered) and args.json:
        from .report import to_json

        print(to_json(results))  # the last place left: every grade computed, on standard output
    return 4 if outcome.undelivered else 3 if failed else 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "assign":
        from .assign import ReleaseError
        from .assign import main as assign_main

        try:
            return assign_main()
        except ReleaseError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    if args.command == "grade":
        return run_grade(args)
    if args.command == "references":
        from .expected import main as references_main

        return references_main(args.only)
    if args.command == "demo":
        from .paths import EXAMPLES_DIR

        return run_grade(
            build_parser().parse_args(
                [
                    "grade",
                    str(EXAMPLES_DIR),
                    "--json",
                    "out/examples.json",
                    "--csv",
                    "out/examples.csv",
                    "--jobs",
                    "2",
                ]
            )
        )
    return 2
