"""utils: the helpers students import.  Gradients against finite differences, the fast
path against the plain per-step version bit for bit, the reproducible arithmetic against
numpy's, and the data set's published facts."""

import copy
import hashlib
import math
import os
from pathlib import Path

import numpy as np
import pytest

import utils
from utils import exact
from utils.rnn import PARAMETER_NAMES, one_hot

DINOS_SHA256 = "ad6465621cf56c08f71d4fbb40cf7eab763f9df42c54cc460d6c4d86e9c927fb"


def random_parameters(n_a, n_x, n_y, rng, scale=0.5):
    """Shapes as utils' initialize_parameters(n_a, n_x, n_y); values from ``rng``, times ``scale``."""
    return {
        "Wax": rng.standard_normal((n_a, n_x)) * scale,
        "Waa": rng.standard_normal((n_a, n_a)) * scale,
        "Wya": rng.standard_normal((n_y, n_a)) * scale,
        "b": rng.standard_normal((n_a, 1)) * scale,
        "by": rng.standard_normal((n_y, 1)) * scale,
    }


def random_example(rng, n_x, T):
    X = [None] + [int(i) for i in rng.integers(0, n_x, T - 1)]
    Y = [int(i) for i in rng.integers(0, n_x, T)]
    return X, Y


# --------------------------------------------------------------------------- plain reference


def plain_forward(X, Y, a0, parameters):
    """The textbook loop over rnn_step_forward."""
    n_x = parameters["Wax"].shape[1]
    x, a, y_hat = {}, {-1: np.copy(a0)}, {}
    loss = np.float64(0.0)
    for t in range(len(X)):
        x[t] = one_hot(X[t], n_x)
        a[t], y_hat[t] = utils.rnn_step_forward(parameters, a[t - 1], x[t])
        loss -= exact.log(y_hat[t][Y[t], 0])
    return loss, (y_hat, a, x)


def plain_backward(X, Y, parameters, cache):
    """The textbook loop over rnn_step_backward, from the last step to the first."""
    y_hat, a, x = cache
    gradients = {"d" + name: np.zeros_like(parameters[name]) for name in PARAMETER_NAMES}
    gradients["da_next"] = np.zeros_like(a[0])
    for t in reversed(range(len(X))):
        dy = np.copy(y_hat[t])
        dy[Y[t]] -= 1
        utils.rnn_step_backward(dy, gradients, parameters, x[t], a[t], a[t - 1])
    del gradients["da_next"]
    return gradients, a


@pytest.fixture(params=["numpy", "compiled"])
def training_path(request, monkeypatch):
    """Run a test through utils' numpy code and through its numba twins (when numba is there)."""
    from utils import rnn

    if request.param == "numpy":
        monkeypatch.setattr(rnn, "_COMPILED", [None])
    elif rnn.compiled() is None:
        pytest.skip("numba is not installed")
    return request.param


CASES = [
    (n_x, n_a, T, scale)
    for n_x, n_a, T in [(27, 50, 12), (27, 100, 6), (3, 1, 1), (5, 7, 30), (40, 130, 9)]
    for scale in (0.01, 0.5, 3.0)
]


@pytest.mark.parametrize("n_x, n_a, T, scale", CASES)
def test_is_the_fast_path_bit_for_bit_the_per_step_loop(n_x, n_a, T, scale, training_path):
    rng = np.random.default_rng(n_x * 1000 + n_a + T)
    parameters = random_parameters(n_a, n_x, n_x, rng, scale)
    X, Y = random_example(rng, n_x, T)
    a0 = rng.standard_normal((n_a, 1))

    loss_plain, cache_plain = plain_forward(X, Y, a0, parameters)
    grads_plain, a_plain = plain_backward(X, Y, parameters, cache_plain)
    loss_fast, cache_fast = utils.rnn_forward(X, Y, a0, parameters)
    grads_fast, a_fast = utils.rnn_backward(X, Y, parameters, cache_fast)

    assert np.float64(loss_fast).tobytes() == np.float64(loss_plain).tobytes()
    assert sorted(grads_fast) == sorted(grads_plain)
    for name in grads_plain:
        assert grads_fast[name].tobytes() == grads_plain[name].tobytes(), name
    assert sorted(a_fast) == sorted(a_plain)
    for t in a_plain:
        assert a_fast[t].tobytes() == a_plain[t].tobytes(), t


@pytest.mark.parametrize("name", PARAMETER_NAMES)
def test_do_the_gradients_match_finite_differences(name, training_path):
    rng = np.random.default_rng(7)
    n_x, n_a = 6, 5
    parameters = random_parameters(n_a, n_x, n_x, rng)
    X, Y = random_example(rng, n_x, 5)
    a0 = rng.standard_normal((n_a, 1)) * 0.3
    loss, cache = utils.rnn_forward(X, Y, a0, parameters)
    gradients, _ = utils.rnn_backward(X, Y, parameters, cache)

    numeric = np.zeros_like(parameters[name])
    eps = 1e-6
    for index in np.ndindex(numeric.shape):
        shifted = copy.deepcopy(parameters)
        shifted[name][index] += eps
        up, _ = utils.rnn_forward(X, Y, a0, shifted)
        shifted[name][index] -= 2 * eps
        down, _ = utils.rnn_forward(X, Y, a0, shifted)
        numeric[index] = (up - down) / (2 * eps)
    analytic = gradients["d" + name]
    assert np.linalg.norm(analytic - numeric) / np.linalg.norm(analytic + numeric) < 1e-7


def test_are_the_hidden_states_returned_keyed_by_time_step():
    rng = np.random.default_rng(3)
    parameters = random_parameters(3, 4, 4, rng)
    X, Y = random_example(rng, 4, 5)
    a0 = rng.standard_normal((3, 1))
    _, cache = utils.rnn_forward(X, Y, a0, parameters)
    _, a = utils.rnn_backward(X, Y, parameters, cache)
    assert sorted(a) == [-1, 0, 1, 2, 3, 4]
    assert np.array_equal(a[-1], a0)
    assert a[len(X) - 1].shape == (3, 1)


def test_is_the_vocabulary_size_taken_from_the_parameters():
    rng = np.random.default_rng(11)
    parameters = random_parameters(4, 9, 9, rng)  # 9 symbols, not 27
    loss, cache = utils.rnn_forward([None, 8, 2], [8, 2, 0], np.zeros((4, 1)), parameters)
    gradients, _ = utils.rnn_backward([None, 8, 2], [8, 2, 0], parameters, cache)
    assert np.isfinite(loss)
    assert gradients["dWax"].shape == (4, 9)


# --------------------------------------------------------------------------- arithmetic


def ulps(got, want):
    return np.max(np.abs(got - want) / np.spacing(np.maximum(np.abs(want), np.finfo(float).tiny)))


def test_are_exp_tanh_and_log_within_a_few_ulps_of_numpy():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-700, 700, 20000), rng.uniform(-2, 2, 20000), [0.0, 0.6, 1e-12]])
    assert ulps(exact.exp(x), np.exp(x)) <= 2
    assert ulps(exact.tanh(x), np.tanh(x)) <= 4
    p = np.concatenate([rng.uniform(1e-300, 1, 20000), 10.0 ** rng.uniform(-300, 300, 20000)])
    assert ulps(exact.log(p), np.log(p)) <= 4


def test_do_the_special_values_come_out_as_ieee_says():
    assert exact.exp(np.array([0.0]))[0] == 1.0
    assert exact.exp(np.array([-np.inf]))[0] == 0.0
    with np.errstate(over="ignore"):
        assert exact.exp(np.array([1000.0]))[0] == np.inf
    assert list(exact.tanh(np.array([np.inf, -np.inf]))) == [1.0, -1.0]
    assert np.signbit(exact.tanh(np.array([-0.0]))[0])
    logs = exact.log(np.array([1.0, 0.0, np.inf, -1.0]))
    assert logs[0] == 0.0 and logs[1] == -np.inf and logs[2] == np.inf and np.isnan(logs[3])


def test_is_the_arithmetic_element_wise_whatever_the_batch():
    """The same number gives the same bits alone or in a batch: batching cannot change results."""
    rng = np.random.default_rng(2)
    x = rng.uniform(-5, 5, 300)
    for function in (exact.exp, exact.tanh):
        batch = function(x.reshape(30, 10))
        alone = np.array([function(np.array([[v]]))[0, 0] for v in x])
        assert batch.ravel().tobytes() == alone.tobytes()
    p = rng.uniform(0, 1, 300)
    assert exact.log(p).tobytes() == np.array([exact.log(np.array([v]))[0] for v in p]).tobytes()


def test_is_matvec_the_specified_sum_of_products():
    rng = np.random.default_rng(4)
    W, v = rng.standard_normal((7, 50)), rng.standard_normal((50, 1))
    assert exact.matvec(W, v).tobytes() == (W * v.T).sum(axis=1, keepdims=True).tobytes()
    assert np.allclose(exact.matvec(W, v), W @ v, rtol=1e-13)
    u = rng.standard_normal((7, 1))
    assert np.allclose(exact.matvec_t(W, u), W.T @ u, rtol=1e-13)


def test_does_the_tanh_series_take_over_exactly_at_its_limit():
    y_limit = exact.TANH_SERIES_LIMIT / 2
    x = np.array([np.nextafter(y_limit, 0), y_limit, np.nextafter(y_limit, 1)])
    assert ulps(exact.tanh(x), np.tanh(x)) <= 4


def test_are_the_compiled_exp_and_tanh_exact_py_bit_for_bit_everywhere():
    """The kernels scale by 2^k with a multiplication instead of ldexp where 2^k is a float64, and
    fall back to ldexp elsewhere; both must give exact.py's bits, specials and extremes included."""
    from utils import rnn

    kernels = rnn.compiled()
    if kernels is None:
        pytest.skip("numba is not installed")
    rng = np.random.default_rng(9)
    specials = [0.0, -0.0, np.nan, np.inf, -np.inf, 0.6, -0.6, np.nextafter(0.6, 1), 5e-324, 350.0, 700.0, 1e300]
    for x in [
        rng.uniform(-3, 3, 64),
        rng.uniform(-800, 800, 64),
        -(10.0 ** rng.uniform(-3, 3.2, 64)),  # softmax's arguments, down to where e^x is 0
        -rng.uniform(707, 744, 64),  # e^x subnormal: 2^k is not a float64 below k = -1022
        np.array(specials + [-s for s in specials[2:]]),
    ]:
        n = x.size
        out, scratch = np.empty(n), [np.empty(n) for _ in range(4)]
        bits = np.empty(n, np.int64)
        with np.errstate(over="ignore", invalid="ignore"):
            kernels._exp_into(x, out, scratch[0], scratch[1], bits)
            assert out.tobytes() == exact.exp(x).tobytes()
            kernels._tanh_into(x, out, *scratch, bits)
            assert out.tobytes() == exact.tanh(x).tobytes()


# --------------------------------------------------------------------------- helpers


def test_does_softmax_give_probability_columns():
    z = np.array([[1.0, 1000.0], [2.0, 1000.0], [3.0, -1000.0]])
    p = utils.softmax(z)
    assert np.allclose(p.sum(axis=0), 1.0)
    assert np.allclose(p[:, 0], np.exp(z[:, 0]) / np.exp(z[:, 0]).sum())
    assert np.allclose(p[:, 1], [0.5, 0.5, 0.0])


def test_does_initialize_parameters_draw_wax_waa_wya_in_that_order():
    parameters = utils.initialize_parameters(4, 3, 2)
    np.random.seed(1)
    assert np.array_equal(parameters["Wax"], np.random.randn(4, 3) * 0.01)
    assert np.array_equal(parameters["Waa"], np.random.randn(4, 4) * 0.01)
    assert np.array_equal(parameters["Wya"], np.random.randn(2, 4) * 0.01)
    assert not parameters["b"].any() and parameters["b"].shape == (4, 1)
    assert not parameters["by"].any() and parameters["by"].shape == (2, 1)


def test_does_update_parameters_change_the_arrays_in_place():
    parameters = {name: np.ones((2, 2)) for name in PARAMETER_NAMES}
    arrays = dict(parameters)
    gradients = {"d" + name: np.full((2, 2), 3.0) for name in PARAMETER_NAMES}
    utils.update_parameters(parameters, gradients, 0.1)
    for name in PARAMETER_NAMES:
        assert parameters[name] is arrays[name]
        assert np.allclose(parameters[name], 1 - 0.1 * 3.0)


def test_do_the_loss_helpers_follow_their_formulas():
    assert math.isclose(utils.get_initial_loss(27, 7), 7 * math.log(27), rel_tol=1e-15)
    assert utils.smooth(10.0, 20.0) == 10.0 * 0.999 + 20.0 * 0.001


def test_does_get_sample_capitalise_the_name(capsys):
    ix_to_char = dict(enumerate("\nabcdefghijklmnopqrstuvwxyz"))
    indices = [20, 18, 15, 4, 15, 14, 15, 19, 1, 21, 18, 21, 19, 0]
    assert utils.get_sample(indices, ix_to_char) == "Trodonosaurus\n"
    assert utils.get_sample([], ix_to_char) == ""
    utils.print_sample(indices, ix_to_char)
    assert capsys.readouterr().out == "Trodonosaurus\n"


def test_is_the_public_api_what_students_are_told():
    assert sorted(utils.__all__) == sorted(
        [
            "softmax",
            "smooth",
            "get_initial_loss",
            "initialize_parameters",
            "rnn_step_forward",
            "rnn_step_backward",
            "rnn_forward",
            "rnn_backward",
            "update_parameters",
            "get_sample",
            "print_sample",
            "training_path",
        ]
    )


# --------------------------------------------------------------------------- data


def test_is_the_data_set_the_published_one(dino_data):
    from autograder.paths import RELEASE_DIR, SOURCE_DIR

    for folder in (SOURCE_DIR, RELEASE_DIR):
        raw = (folder / "dinos.txt").read_bytes()
        assert len(raw) == 19909
        assert hashlib.sha256(raw).hexdigest() == DINOS_SHA256
    names, ix_to_char, char_to_ix = dino_data
    assert len(char_to_ix) == 27 and len(names) == 1536
    examples = [name.strip() for name in names]
    np.random.seed(0)
    np.random.shuffle(examples)
    assert examples[0] == "turiasaurus"


def test_does_one_optimization_step_reproduce_the_published_numbers(solution):
    """The seed's optimize check: same numbers to the digits that do not depend on the machine."""
    np.random.seed(1)
    a_prev = np.random.randn(100, 1)
    shapes = [("Wax", (100, 27)), ("Waa", (100, 100)), ("Wya", (27, 100)), ("b", (100, 1)), ("by", (27, 1))]
    parameters = {name: np.random.randn(*shape) for name, shape in shapes}
    loss, gradients, a_last = solution["optimize"](
        [12, 3, 5, 11, 22, 3], [4, 14, 11, 22, 25, 26], a_prev, parameters, learning_rate=0.01
    )
    assert math.isclose(loss, 126.50397572165389, rel_tol=1e-11)
    assert math.isclose(gradients["dWaa"][1][2], 0.19470931534713587, rel_tol=1e-11)
    assert math.isclose(gradients["dWya"][1][2], -0.007773876032002162, rel_tol=1e-11)
    assert np.argmax(gradients["dWax"]) == 93
    assert np.allclose(gradients["db"][4], -0.06809825) and np.allclose(gradients["dby"][1], 0.01538192)
    assert np.allclose(a_last[4], -1.0)


@pytest.mark.parametrize("X, Y", [([None, 1, 2], [1, 2]), ([None, 1, 7], [1, 2, 0]), ([None, 1, 2], [1, 2, 9])])
def test_are_bad_indices_an_index_error_not_a_crash(X, Y, training_path):
    """A student's Y without its final label must raise, in numpy and in the compiled code alike."""
    parameters = utils.initialize_parameters(5, 4, 4)
    with pytest.raises(IndexError):
        utils.rnn_forward(X, Y, np.zeros((5, 1)), parameters)


@pytest.mark.parametrize("Y_backward", [[1, 2, 9], [1, 2]])
def test_does_backward_check_a_y_other_than_the_one_forward_saw(Y_backward, training_path):
    """rnn_backward reuses the indices rnn_forward checked only for that same example."""
    parameters = utils.initialize_parameters(5, 4, 4)
    _, cache = utils.rnn_forward([None, 1, 2], [1, 2, 0], np.zeros((5, 1)), parameters)
    with pytest.raises(IndexError):
        utils.rnn_backward([None, 1, 2], Y_backward, parameters, cache)


# --------------------------------------------------------------------------- the compiled path's cache

CACHE_PROBE = """
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import numba
from utils.rnn import compiled, initialize_parameters, rnn_forward, training_path
parameters = initialize_parameters(50, 27, 27)
loss, _ = rnn_forward([None, 3, 1, 4, 1], [3, 1, 4, 1, 0], np.zeros((50, 1)), parameters)
forward = compiled().forward
print(training_path())
print(float(loss).hex(), numba.config.CACHE_DIR or "-", sum(forward.stats.cache_hits.values()),
      sum(forward.stats.cache_misses.values()))
"""


def environment(changes):
    """os.environ with ``changes``; a change to None removes the variable."""
    merged = {**os.environ, **(changes or {})}
    return {name: value for name, value in merged.items() if value is not None}


def run_cache_probe(folder, wrapper=(), env=None):
    import subprocess
    import sys

    done = subprocess.run(
        [*wrapper, sys.executable, "-c", CACHE_PROBE, str(folder)],
        capture_output=True, text=True, timeout=300, env=environment(env),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    sentence, numbers = done.stdout.strip().splitlines()
    loss, cache_dir, hits, misses = numbers.split()
    return sentence, float.fromhex(loss), cache_dir, int(hits), int(misses)


def numpy_path_loss():
    from utils import rnn
    from utils.rnn import initialize_parameters, rnn_forward

    saved = rnn._COMPILED[:]
    rnn._COMPILED[:] = [None]
    try:
        loss, _ = rnn_forward([None, 3, 1, 4, 1], [3, 1, 4, 1, 0], np.zeros((50, 1)), initialize_parameters(50, 27, 27))
    finally:
        rnn._COMPILED[:] = saved
    return loss


@pytest.fixture
def utils_copy(tmp_path):
    import shutil

    if utils.rnn.compiled() is None:
        pytest.skip("numba is not installed")
    shutil.copytree(
        Path(utils.__file__).parent, tmp_path / "course" / "utils", ignore=shutil.ignore_patterns("__pycache__")
    )
    return tmp_path / "course"


def test_is_the_first_compile_kept_next_to_utils_for_the_next_kernel(utils_copy):
    own_choice = {"NUMBA_CACHE_DIR": None}  # numba's own choice, as on a student's machine
    first = run_cache_probe(utils_copy, env=own_choice)
    again = run_cache_probe(utils_copy, env=own_choice)
    assert first[0].startswith("utils: training runs compiled by numba")
    assert first[3:] == (0, 1) and again[3:] == (1, 0)  # compiled once, then loaded
    assert list((utils_copy / "utils" / "__pycache__").glob("_compiled.forward-*.nbi"))
    assert first[1] == again[1] == numpy_path_loss()


def test_does_a_read_only_utils_folder_still_train_compiled(utils_copy, tmp_path):
    """utils/ and the home folder mounted read-only (a lab machine, a shared course folder):
    numba finds nowhere to keep its cache, so it compiles into a temporary folder."""
    import shutil

    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and util-linux unshare, to mount folders read-only")
    home = tmp_path / "home"
    home.mkdir()
    mounts = f'mount --bind -o ro {utils_copy} {utils_copy} && mount --bind -o ro {home} {home} && exec "$@"'
    wrapper = ("unshare", "--mount", "--propagation", "private", "sh", "-c", mounts, "sh")
    read_only = {"NUMBA_CACHE_DIR": None, "HOME": str(home), "XDG_CACHE_HOME": None}
    sentence, loss, cache_dir, hits, misses = run_cache_probe(utils_copy, wrapper, read_only)
    assert sentence.startswith("utils: training runs compiled by numba")
    assert Path(cache_dir).name.startswith("dino-numba-") and misses == 1
    assert not (utils_copy / "utils" / "__pycache__").exists()
    assert loss == numpy_path_loss()


def test_does_training_path_say_when_numpy_runs():
    import subprocess
    import sys

    code = "import utils; print(utils.training_path())"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "DINO_PURE_NUMPY": "1"},
        cwd=Path(utils.__file__).parent.parent,
    )  # fmt: skip
    assert done.stdout.startswith("utils: training runs in plain numpy, as DINO_PURE_NUMPY asks")


def test_are_sizes_beyond_one_summation_block_left_to_the_numpy_code():
    """The kernels sum at most 128 terms (one block of numpy's pairwise summation); wider
    layers train with the numpy code, whose sums halve as numpy's do."""
    from utils import rnn

    if rnn.compiled() is None:
        pytest.skip("numba is not installed")
    for n_a, n_y, compiled in [(50, 27, True), (128, 128, True), (3, 2, True), (129, 27, False), (50, 129, False)]:
        parameters = rnn.initialize_parameters(n_a, n_y, n_y)
        assert (rnn.kernels_for(parameters) is not None) == compiled, (n_a, n_y)
