"""The same numbers on every numpy a student may have (crosscheck/matrix.py): the notebook's
printed output, utils' exp/tanh/log and the training run, in each environment of the matrix,
with the numpy path and the compiled one, equal to this project's own environment's (and, for
the 22,001-step runs, to the canonical file).  Built once, cached in /var/cache/dinosaurus-island."""

import pytest

from crosscheck.matrix import ENVIRONMENTS, compare, missing

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=[environment.name for environment in ENVIRONMENTS])
def test_does_every_supported_environment_print_the_same_numbers(environment):
    reason = missing(environment)
    if reason:
        pytest.skip(reason)
    results = compare(environment, log=lambda _: None)
    differing = [f"{label}: {difference}" for label, equal, difference in results if not equal]
    assert differing == [], "\n".join(differing)
    ran = {label.split(": ")[-1] for label, _, _ in results}
    assert ran == {"notebook", "exp/tanh/log", f"{22001 if environment.full else 2001}-step training"}
    assert len(results) == (6 if environment.numba else 3)  # both paths where numba is installed
