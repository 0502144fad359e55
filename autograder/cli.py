"""Command line: ``python -m autograder {assign,demo} …``.

The CLI only parses arguments and dispatches to each subpackage's ``main``.
"""

import argparse
import sys


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("assign", help="build release/ from source/ with nbgrader and check it")
    commands.add_parser("demo", help="run the instructor notebook in a kernel and show the visible tests")
    return parser


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
    if args.command == "demo":
        from .demo import main as demo_main

        return demo_main()
    return 2
