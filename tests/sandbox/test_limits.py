"""How much a run may use, and what it is charged, from the formulas, without a sandbox: the
limits fitted to a container's memory limit (read from fake cgroup trees, v1 and v2), the wall
clock's backstop, each process's address-space cap, and the charge."""

import pytest

from autograder.sandbox import limits
from autograder.sandbox.limits import Limits
from autograder.sandbox.meter import Usage

GIB, MIB = 1024**3, 1024**2
UNLIMITED_V1 = "9223372036854771712"  # what cgroup v1 writes for "no limit"


def tree(root, membership, files):
    """A fake /proc/self/cgroup (``membership`` lines) and cgroup hierarchy ({path: text})."""
    (root / "cgroup").write_text("\n".join(membership) + "\n")
    for path, text in files.items():
        (root / "fs" / path).parent.mkdir(parents=True, exist_ok=True)
        (root / "fs" / path).write_text(text + "\n")
    return root / "cgroup", root / "fs"


def test_a_v2_container_s_limit_is_read_from_the_nearest_folder_above_that_has_one(tmp_path):
    found = tree(tmp_path, ["0::/docker/abc"], {
        "docker/abc/memory.max": "max", "docker/abc/memory.current": "5",  # no limit of its own
        "docker/memory.max": str(GIB), "docker/memory.current": str(300 * MIB),
    })  # fmt: skip
    assert limits.container_memory_limit(*found) == (GIB, 300 * MIB)


def test_the_smallest_limit_on_the_way_up_counts(tmp_path):
    found = tree(tmp_path, ["0::/a/b"], {
        "a/b/memory.max": str(2 * GIB), "a/b/memory.current": "1",
        "a/memory.max": str(GIB), "a/memory.current": "2",
        "memory.max": str(4 * GIB), "memory.current": "3",  # the root of the hierarchy is read too
    })  # fmt: skip
    assert limits.container_memory_limit(*found) == (GIB, 2)


def test_a_v1_memory_controller_is_found_among_others(tmp_path):
    found = tree(tmp_path, ["4:cpu,cpuacct:/x", "7:hugetlb,memory:/kube/pod"], {
        "memory/kube/pod/memory.limit_in_bytes": UNLIMITED_V1, "memory/kube/pod/memory.usage_in_bytes": "9",
        "memory/kube/memory.limit_in_bytes": str(512 * MIB), "memory/kube/memory.usage_in_bytes": str(MIB),
    })  # fmt: skip
    assert limits.container_memory_limit(*found) == (512 * MIB, MIB)


@pytest.mark.parametrize(
    ("membership", "files"),
    [
        (["4:cpu:/x"], {}),  # no memory controller
        (["0::/a"], {"a/memory.max": "max", "a/memory.current": "1"}),  # no limit anywhere
        (["0::/a"], {}),  # nothing readable
    ],
)
def test_no_limit_is_none(tmp_path, membership, files):
    assert limits.container_memory_limit(*tree(tmp_path, membership, files)) is None


def test_without_the_kernel_s_cgroup_file_there_is_no_limit(tmp_path):
    assert limits.container_memory_limit(tmp_path / "missing", tmp_path) is None


@pytest.mark.parametrize(
    ("container", "memory"),
    [
        (None, 2 * GIB),  # no container: the default
        ((16 * GIB, GIB), 2 * GIB),  # a large container: still the default
        ((2 * GIB, 512 * MIB), 2 * GIB - 512 * MIB - 256 * MIB),  # what is free, less the grader's headroom
        ((GIB, 900 * MIB), 256 * MIB),  # never less than 256 MB
    ],
)
def test_a_run_gets_what_the_container_leaves_free(monkeypatch, container, memory):
    monkeypatch.setattr(limits, "container_memory_limit", lambda: container)
    limits.default_limits.cache_clear()
    try:
        fitted = limits.default_limits()
    finally:
        limits.default_limits.cache_clear()
    assert fitted == Limits(memory_bytes=memory)


def test_the_backstop_and_the_address_space_cap_follow_their_formulas():
    assert Limits(cpu_seconds=60).backstop_seconds() == 10 * 60 + 30
    assert Limits(cpu_seconds=2).backstop_seconds() == 50
    assert Limits(memory_bytes=GIB).address_space_bytes() == GIB + 384 * MIB


def usage(**fields):
    base = dict(wall=10.0, cpu=6.0, student_cpu=4.0, student_waited=1.0, supervisor_waited=0.5, work_cpu=1.5,
                serving=2.0, rss=0, processes=1)  # fmt: skip
    return Usage(**(base | fields))


def test_a_run_is_charged_its_own_cpu_its_calls_and_its_idle_time_never_the_supervisor_s_waits():
    # idle = wall - student_cpu - (student_waited + supervisor_waited + serving) = 10 - 4 - 3.5
    assert usage().idle == pytest.approx(2.5)
    assert usage().charged() == pytest.approx(4.0 + 1.5 + 2.5)
    assert usage().charged(waits_measured=False) == pytest.approx(4.0 + 1.5)  # no waits known: CPU time only
    assert usage(wall=5.0).idle == 0.0  # never negative


@pytest.mark.parametrize("limit", [UNLIMITED_V1, str(2**60)], ids=["v1-unlimited", "2**60"])
def test_a_limit_that_is_no_limit_is_none(tmp_path, limit):
    found = tree(tmp_path, ["9:memory:/a"], {"memory/a/memory.limit_in_bytes": limit,
                                             "memory/a/memory.usage_in_bytes": "1"})  # fmt: skip
    assert limits.container_memory_limit(*found) is None


def test_a_cgroup_path_may_hold_a_colon(tmp_path):
    found = tree(tmp_path, ["0::/pod:web/c"], {"pod:web/c/memory.max": str(GIB), "pod:web/c/memory.current": "7"})
    assert limits.container_memory_limit(*found) == (GIB, 7)
