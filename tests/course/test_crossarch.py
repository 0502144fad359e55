"""The same bits on arm64: utils' arithmetic and a shortened canonical run, here and under QEMU.

Builds (once; cached in /var/cache/dinosaurus-island) an arm64 Debian root with the pinned
numpy and numba wheels, and runs the same programs in it under user-mode emulation.
``make crosscheck`` runs the full 22,001 steps against the canonical file."""

import pytest

from crosscheck.__main__ import Comparison
from crosscheck.root import ensure_root, missing

pytestmark = [pytest.mark.slow, pytest.mark.skipif(missing() is not None, reason=f"arm64 emulation: {missing()}")]
STEPS = 2001


@pytest.fixture(scope="module")
def arm():
    return ensure_root(log=lambda _: None)


def test_do_exp_tanh_and_log_give_the_same_bits_on_arm64(arm):
    here, there = Comparison(arm, cpu="neoverse-n1").math()
    lines = here.decode().splitlines()
    assert [line.split()[:2] for line in lines] == [[f, p] for p in ("numpy", "numba") for f in ("exp", "tanh", "log")]
    assert all(int(line.split()[2]) > 1_000_000 for line in lines)
    assert there == here


@pytest.mark.parametrize("path", ["numpy", "numba"])
def test_does_a_shortened_canonical_run_give_the_same_bytes_on_arm64(arm, path, canonical_output):
    here, there = Comparison(arm).training(STEPS, path)
    printed = here.decode().splitlines()
    canonical = canonical_output.splitlines()
    assert "Iteration: 0, Loss: 23.087336" in printed  # the seed's first printed loss
    # the first 2,001 steps print what the full run prints for them; then the last name and the hash
    assert printed[:-2] == canonical[: len(printed) - 2] and "Iteration: 2000, Loss: 27.884160" in printed
    assert printed[-1].startswith("params-sha256 ")
    assert there == here
