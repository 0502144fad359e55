"""``python -m bench.profile [--iterations N] [--numpy] [--top K]``: where the training run spends its time.

Runs ``model`` of the instructor's solution under cProfile (the compiled kernels are loaded
and warmed first, so their one-off start-up does not hide the loop) and prints the functions
with the most time of their own.  ``--numpy`` profiles the numpy-only path students get.
"""

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=22001)
    parser.add_argument("--numpy", action="store_true", help="profile utils without numba (DINO_PURE_NUMPY=1)")
    parser.add_argument("--top", type=int, default=20, help="how many functions to list")
    args = parser.parse_args(argv)
    if args.numpy:
        os.environ["DINO_PURE_NUMPY"] = "1"

    from autograder.solution import dinosaur_data, load_solution

    model = load_solution()["model"]
    names, ix_to_char, char_to_ix = dinosaur_data()
    with contextlib.redirect_stdout(io.StringIO()):
        model(names, ix_to_char, char_to_ix, 3)  # loads numba and its cached kernels, when there
        profiler = cProfile.Profile()
        profiler.runcall(model, names, ix_to_char, char_to_ix, args.iterations)
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.strip_dirs().sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
