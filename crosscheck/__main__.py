"""``python -m crosscheck``: does utils give the same bits on arm64 as here?

Compares, between this machine and an emulated arm64 one (QEMU user mode, a cached Debian
bookworm root with the pinned numpy/numba wheels; see root.py):

1. utils' exp, tanh and log over ~1.1 million inputs (crosscheck/probe.py), numpy and numba;
2. the canonical training run (``python -m autograder.solution STEPS``: every printed loss and
   name, the last name and the parameters' sha256), with the numpy path and with the numba path.

With 22,001 steps (the default, ``make crosscheck``) the output is also compared with the
canonical file.  The test suite runs 2,001 steps (tests/course/test_crossarch.py).  Exit 0 when every
comparison is equal, 1 when one differs, 2 when the emulated machine cannot be had here.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from crosscheck.root import COURSE_ROOT, ensure_root, missing

CANONICAL = COURSE_ROOT / "tests" / "files" / "model_22001_canonical_output.txt"
PATHS = {"numpy": {"DINO_PURE_NUMPY": "1"}, "numba": {}}
# Emulated CPU models: ARMv8.0 (a57), v8.2 (a76, neoverse-n1), SVE (a64fx), and everything QEMU
# can emulate (max).  Models the installed QEMU does not know are left out and said so.
CPUS = ("cortex-a57", "cortex-a76", "neoverse-n1", "a64fx", "max")


def known_cpus():
    listing = subprocess.run(["qemu-aarch64-static", "-cpu", "help"], capture_output=True, text=True).stdout
    return [cpu for cpu in CPUS if cpu in listing.split()]


def run(command, env, timeout=3600):
    done = subprocess.run(command, cwd=COURSE_ROOT, env=env, capture_output=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[-3:])} failed:\n{done.stderr.decode(errors='replace')[-2000:]}")
    return done.stdout


def host_environment(extra=()):
    env = {k: v for k, v in os.environ.items() if k not in ("DINO_PURE_NUMPY", "PYTHONPATH")}
    return {**env, "PYTHONPATH": str(COURSE_ROOT), **dict(extra)}


class Comparison:
    """Runs one program here and under emulation (numba's arm64 cache in a folder of its own,
    removed afterwards, so the emulated side always compiles afresh)."""

    def __init__(self, arm, cpu=None):
        self.arm, self.cpu = arm, cpu

    def both(self, arguments, extra=()):
        here = run([sys.executable, *arguments], host_environment(extra))
        with tempfile.TemporaryDirectory(prefix="dino-crosscheck-") as scratch:
            env = {**self.arm.environment(COURSE_ROOT, Path(scratch) / "numba-arm64"), **dict(extra)}
            there = run([*self.arm.python(self.cpu), *arguments], env)
        return here, there

    def math(self):
        return self.both([str(COURSE_ROOT / "crosscheck" / "probe.py")])

    def training(self, steps, path):
        return self.both(["-m", "autograder.solution", str(steps)], PATHS[path])


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m crosscheck", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=22001, help="training steps to compare (default 22001)")
    parser.add_argument("--cpu", nargs="+", default=["max"], choices=CPUS, help="emulated CPU models for training")
    parser.add_argument("--math-cpus", nargs="+", choices=CPUS, help="CPU models for the grid (default: all known)")
    args = parser.parse_args(argv)
    reason = missing()
    if reason:
        print(f"crosscheck: cannot emulate arm64 here: {reason}", file=sys.stderr)
        return 2
    arm = ensure_root()
    same = True
    cpus = args.math_cpus or known_cpus()
    unknown = sorted(set(CPUS) - set(known_cpus()))
    if unknown and not args.math_cpus:
        print(f"(this QEMU does not emulate {', '.join(unknown)})")
    for cpu in cpus:
        here, there = Comparison(arm, cpu).math()
        same &= report(f"exp/tanh/log grid, {cpu}", here, there)
    for cpu in args.cpu:
        for path in PATHS:
            start = time.perf_counter()
            here, there = Comparison(arm, cpu).training(args.steps, path)
            label = f"{args.steps}-step training, {path} path, {cpu} ({time.perf_counter() - start:.0f} s)"
            same &= report(label, here, there)
            if args.steps == 22001:
                same &= report(f"{label} against the canonical file", CANONICAL.read_bytes(), there)
    return 0 if same else 1


def report(label, here, there):
    equal = here == there
    print(f"{'same bits' if equal else 'DIFFERENT'}: {label}", flush=True)
    if not equal:
        for mine, theirs in zip(here.splitlines(), there.splitlines(), strict=False):
            if mine != theirs:
                print(f"  first difference:\n  x86-64: {mine.decode()}\n  arm64:  {theirs.decode()}")
                break
    return equal


if __name__ == "__main__":
    sys.exit(main())
