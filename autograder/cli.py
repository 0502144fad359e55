"""Command line: ``python -m autograder {assign,grade,references,audit,demo,…} …``.

The CLI only parses arguments and dispatches; exit status 0 means the command did its job
(whatever the students scored), 2 means it was used wrongly or could not start, 3 means some
submissions could not be graded through no fault of theirs (listed on stderr; regrade them),
4 means a report could not be written where asked (stderr says where each went instead).
"""

import argparse
import sys
from pathlib import Path

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
    grade.add_argument(
        "--canvas",
        nargs=2,
        metavar=("ROSTER", "OUT"),
        help="also write OUT, grades to import into Canvas, from ROSTER (Canvas's gradebook export)",
    )
    grade.add_argument("--canvas-column", help="the roster's column for this assignment (default: found by name)")
    grade.add_argument(
        "--overwrite", action="store_true", help="replace --json/--csv files even if this grader did not write them"
    )
    grade.add_argument("--jobs", type=int, default=1, help="submissions graded at once here (default 1)")
    grade.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="grade on a Dask cluster: tls://HOST:PORT of a running scheduler, or local:N to start N workers here",
    )
    grade.add_argument("--tls-ca-file", metavar="FILE", help="a tls:// cluster's CA certificate")
    grade.add_argument("--tls-cert", metavar="FILE", help="this client's certificate for a tls:// cluster")
    grade.add_argument("--tls-key", metavar="FILE", help="this client's private key for a tls:// cluster")
    grade.add_argument(
        "--insecure-cluster", action="store_true", help="grade on a plain tcp:// cluster anyway (dangerous: see README)"
    )
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    grade.add_argument("--verbose", action="store_true", help="log each submission and function as it is graded")
    grade.add_argument("--only", nargs="+", choices=GRADED_FUNCTIONS, help="grade only these functions")

    references = commands.add_parser("references", help="recompute autograder/references/ from the solution")
    references.add_argument("--only", nargs="+", choices=GRADED_FUNCTIONS)

    audit = commands.add_parser(
        "audit", help="grade every catalogued mistake and correct style: are mistakes caught and named first?"
    )
    audit.add_argument("--only", nargs="+", choices=GRADED_FUNCTIONS)
    audit.add_argument("--jobs", type=int, default=2, help="versions graded at once (default 2)")

    commands.add_parser("demo", help="grade examples/submissions/ and print the table")

    canvas = commands.add_parser(
        "canvas", help="write grades to import into Canvas from an existing JSON report (no regrading)"
    )
    canvas.add_argument("report", help="the JSON report of `grade` (e.g. dino-grades.json)")
    canvas.add_argument("roster", help="Canvas's gradebook export (Grades → Export)")
    canvas.add_argument("out", help="where to write the file to import (Grades → Import)")
    canvas.add_argument("--canvas-column", help="the roster's column for this assignment (default: found by name)")

    similar = commands.add_parser("similarity", help="rank pairs of submissions by how alike their graded cells are")
    similar.add_argument("paths", nargs="+", help="notebooks, or folders searched for *.ipynb")
    similar.add_argument("--html", help="also write the report there: one offline page, shared rare lines side by side")
    similar.add_argument(
        "--against",
        nargs="+",
        default=[],
        metavar="DIR",
        help="also compare with earlier terms' archives or submissions and folders of known solutions (.ipynb, .py)",
    )
    similar.add_argument("--archive", metavar="DIR", help="keep this batch's normalised fingerprints in DIR")
    similar.add_argument("--top", type=int, default=20, help="pairs printed (default 20)")

    bundle = commands.add_parser("gradescope-bundle", help="write the autograder zip to upload to Gradescope")
    bundle.add_argument("out", help="where to write the zip, e.g. dinosaurus_autograder.zip")
    inside = commands.add_parser("gradescope-run", help="(run by the bundle's run_autograder) grade one upload")
    inside.add_argument("--root", default="/autograder", help="Gradescope's folder (default /autograder)")
    return parser


def print_table(results):
    from rich.console import Console

    from .grade.report import table

    Console().print(table(results))


def configure_logging(verbose):
    """The autograder's log on stderr: warnings always, each step with --verbose."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s", "%H:%M:%S"))
    logger = logging.getLogger("autograder")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO if verbose else logging.WARNING)


def run_grade(args):
    from .grade.batch import grade_batch
    from .grade.cluster import KILLED_WORKER, CourseMismatch
    from .grade.expected import StaleReferences

    if args.jobs < 1:
        print("error: --jobs must be at least 1", file=sys.stderr)
        return 2
    configure_logging(getattr(args, "verbose", False))
    from .grade.report import foreign_reports
    from .sandbox.machine import protections

    for path in [] if args.overwrite else foreign_reports(args.json, args.csv):
        print(f"error: {path} exists and was not written by this grader (`nbgrader export` writes grades.csv, "
              "for one): choose another name, or pass --overwrite to replace it", file=sys.stderr)  # fmt: skip
        return 2
    roster = None
    if args.canvas:  # checked now, not after an hour of grading
        roster = read_canvas_roster(*args.canvas, args.canvas_column)
        if roster is None:
            return 2
    print("sandbox: " + "; ".join(protections()), file=sys.stderr)
    if args.insecure_cluster and (args.scheduler or "").startswith("tcp://"):
        from .grade.cluster import INSECURE_WARNING

        print(INSECURE_WARNING, file=sys.stderr)
    try:
        outcome = grade_batch(
            args.paths,
            json_path=args.json,
            csv_path=args.csv,
            gradescope_dir=args.gradescope,
            jobs=args.jobs,
            progress=not args.no_progress and sys.stderr.isatty(),
            only=args.only,
            scheduler=args.scheduler,
            tls_files=(args.tls_ca_file, args.tls_cert, args.tls_key),
            insecure_cluster=args.insecure_cluster,
        )
    except (OSError, StaleReferences, CourseMismatch) as error:
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
    for sentence in sorted(set(outcome.left_out.values())):
        print(f"not all graded: {sentence}", file=sys.stderr)
    for student, paths in outcome.shared_ids.items():
        print(f"one student id, {len(paths)} notebooks (all in the reports, none sent to Gradescope): "
              f"{student}: {', '.join(paths)}", file=sys.stderr)  # fmt: skip
    for result in results:
        if KILLED_WORKER in result.errors:
            print(f"scored 0, its grading killed the worker at every try (look at it): {result.path}", file=sys.stderr)
    failed = [r for r in results if not r.graded]
    for result in failed:
        print(f"not graded (regrade it): {result.path}: {result.errors[-1]}", file=sys.stderr)
    if roster is not None:
        outcome.undelivered += write_canvas(roster, results, args.canvas[1], args.canvas_column)
    for sentence in outcome.undelivered:
        print(f"error: {sentence}", file=sys.stderr)
    if Path(args.json) in outcome.lost:
        from .grade.report import to_json

        print(to_json(results))  # the last place left: every grade computed, on standard output
    return 4 if outcome.undelivered else 3 if failed else 0


def read_canvas_roster(roster_path, out, column):
    """The roster's text, once it is known to be a gradebook export that OUT would not replace;
    None (the reason on stderr) otherwise."""
    from .grade.canvas import RosterError, assignment_column, read_roster

    if Path(roster_path).resolve() == Path(out).resolve():
        print(f"error: {out} would replace the roster {roster_path}: give it another name", file=sys.stderr)
        return None
    try:
        roster = open(roster_path, encoding="utf-8").read()
        assignment_column(read_roster(roster).header, column)
    except (OSError, UnicodeDecodeError, RosterError) as error:
        print(f"error: {roster_path}: {error}", file=sys.stderr)
        return None
    return roster


def run_canvas(args):
    """``canvas REPORT ROSTER OUT``: the Canvas import from grades already computed."""
    import json

    from .grade.report import SubmissionResult

    try:
        data = json.loads(Path(args.report).read_text(encoding="utf-8"))
        results = [SubmissionResult.from_dict(entry) for entry in data["submissions"]]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as error:
        print(f"error: {args.report} is not a JSON report written by `grade` ({error})", file=sys.stderr)
        return 2
    roster = read_canvas_roster(args.roster, args.out, args.canvas_column)
    if roster is None:
        return 2
    undelivered = write_canvas(roster, results, args.out, args.canvas_column)
    for sentence in undelivered:
        print(f"error: {sentence}", file=sys.stderr)
    return 4 if undelivered else 0


def write_canvas(roster, results, out, column):
    """Write the Canvas import file; list on stderr each submission it does not carry."""
    from .grade.canvas import canvas_csv
    from .grade.report import write_atomically

    text, problems = canvas_csv(roster, results, column)
    for problem in problems:
        print(f"canvas: {problem}", file=sys.stderr)
    try:
        write_atomically(out, text)
    except OSError as error:
        return [f"{out} could not be written ({error.strerror or error})"]
    print(f"Wrote {out} (import it in Canvas: Grades → Import)")
    return []


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "assign":
        from .authoring.releasing import ReleaseError
        from .authoring.releasing import main as assign_main

        try:
            return assign_main()
        except ReleaseError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    if args.command == "grade":
        return run_grade(args)
    if args.command == "canvas":
        return run_canvas(args)
    if args.command == "references":
        from .authoring.references import main as references_main

        return references_main(args.only)
    if args.command == "audit":
        from .authoring.audit import main as audit_main
        from .grade.expected import StaleReferences

        try:
            return audit_main(args.only, max(1, args.jobs))
        except StaleReferences as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    if args.command == "similarity":
        from rich.console import Console

        from .grade.similarity import compare, table

        try:
            pairs = compare(args.paths, args.html, args.against, args.archive)
        except (OSError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        Console().print(table(pairs, args.top))
        if args.html:
            print(f"Wrote {args.html}")
        if args.archive:
            print(f"Stored this batch's fingerprints in {args.archive}")
        return 0
    if args.command == "gradescope-bundle":
        from .grade.gradescope import build_bundle

        count = build_bundle(args.out)
        print(f"Wrote {args.out} ({count} files): upload it as the assignment's autograder on Gradescope")
        return 0
    if args.command == "gradescope-run":
        from .grade.gradescope import run

        return run(args.root)
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
