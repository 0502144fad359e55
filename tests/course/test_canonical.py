"""The 22,001-iteration training run prints exactly the canonical output, whatever the
BLAS kernel and whatever CPU features numpy may use."""

import os
import subprocess
import sys

import pytest

from autograder.paths import COURSE_ROOT

CONFIGURATIONS = {
    "default": {},
    # An old OpenBLAS kernel, and numpy without AVX2/AVX-512 code paths: both change the last
    # bits of np.dot and np.tanh, and must change nothing here.
    "prescott-no-avx": {
        "OPENBLAS_CORETYPE": "Prescott",
        "NPY_DISABLE_CPU_FEATURES": "AVX512_ICL AVX512_SPR X86_V4 X86_V3",
    },
    # What students run: utils without numba's compiled kernels.
    "numpy-only": {"DINO_PURE_NUMPY": "1"},
}


def environment(configuration):
    """This process's environment with exactly the configuration's overrides."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES", "DINO_PURE_NUMPY")
    }
    env.update(CONFIGURATIONS[configuration])
    return env


@pytest.mark.slow
@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_is_the_training_run_byte_for_byte_the_canonical_output(configuration, canonical_output):
    result = subprocess.run(
        [sys.executable, "-m", "autograder.solution", "22001"],
        cwd=COURSE_ROOT,
        env=environment(configuration),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == canonical_output


def test_does_the_configuration_really_change_numpy():
    """Guard for the test above: the second configuration must actually alter numpy's bits."""
    probe = (
        "import hashlib, numpy as np; x = np.linspace(-3, 3, 1000001); "
        "print(hashlib.sha256(np.tanh(x).tobytes() + np.exp(x).tobytes()).hexdigest())"
    )
    outputs = set()
    for configuration in CONFIGURATIONS:
        result = subprocess.run(
            [sys.executable, "-c", probe], env=environment(configuration), capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        outputs.add(result.stdout)
    if len(outputs) == 1:
        pytest.skip("this processor has no AVX2/AVX-512 for the configuration to switch off")
