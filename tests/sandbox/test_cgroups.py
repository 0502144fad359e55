"""The run's cgroups (``sandbox/cgroups.py``) on hierarchies made here: cgroup v1 (this
machine's kind) and v2 (Gradescope's, most clouds'), with each limit written where the kernel
reads it, the groups of graders that died removed, and no cgroups where a controller is missing.

A real hierarchy turns each write into a limit; here the files keep what was written, which is
what these tests read (``test_layers.py`` reads a real run's limits from the kernel)."""

import os
import re

import pytest

from autograder.sandbox import cgroups, machine

pytestmark = pytest.mark.skipif(not machine.is_root(), reason="the grader makes cgroups only as root")
MB = 1024**2
DEAD = 2**22 + 7  # above the largest pid_max the kernel allows (2**22): no process has this pid


@pytest.fixture
def hierarchy(tmp_path, monkeypatch):
    """An empty folder standing for /sys/fs/cgroup; the layout is read afresh for it, and again after."""
    monkeypatch.setattr(cgroups, "ROOT", tmp_path)
    cgroups.layout.cache_clear()
    yield tmp_path
    cgroups.layout.cache_clear()


def v1(root):
    for kind in ("memory", "pids", "cpu"):
        (root / kind).mkdir()
    return root


def v2(root, controllers="cpuset cpu io memory hugetlb pids rdma misc"):
    (root / "cgroup.controllers").write_text(controllers + "\n")
    (root / "cgroup.subtree_control").write_text("")
    return root


def assert_limit(path, value):
    written = path.read_text() if path.exists() else None
    assert written == value, f"the run's cgroup {path.parent.parent.name}/{path.name} holds {written!r}, not {value!r}"


def test_a_v1_hierarchy_gets_a_group_per_controller_with_its_limit(hierarchy):
    v1(hierarchy)
    assert cgroups.layout() == "v1" and cgroups.available() == "v1 (memory, pids, cpu)"
    groups = [hierarchy / path for path in cgroups.create(512 * MB, 24, 0.5)]
    assert [group.parent for group in groups] == [
        hierarchy / kind / cgroups.GROUP for kind in ("memory", "pids", "cpu")
    ]
    assert len({group.name for group in groups}) == 1
    name = groups[0].name  # the grader's pid in it: see the orphans' test
    assert re.fullmatch(rf"run-{os.getpid()}-[0-9a-f]{{8}}", name), name
    memory, pids, cpu = groups
    assert_limit(memory / "memory.limit_in_bytes", str(512 * MB))
    assert_limit(pids / "pids.max", "24")
    assert_limit(cpu / "cpu.cfs_period_us", "100000")
    assert_limit(cpu / "cpu.cfs_quota_us", "50000")


def test_two_runs_get_two_groups(hierarchy):
    v1(hierarchy)
    first, second = cgroups.create(MB, 8, 1.0), cgroups.create(MB, 8, 1.0)
    assert len(set(first) | set(second)) == 6


def test_a_v2_hierarchy_gets_one_group_with_every_limit_and_the_controllers_handed_down(hierarchy):
    v2(hierarchy)
    assert cgroups.layout() == "v2" and cgroups.available() == "v2 (memory.max, pids.max, cpu.max)"
    for folder in (hierarchy, hierarchy / cgroups.GROUP):
        assert (folder / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    (group,) = map(hierarchy.joinpath, cgroups.create(2048 * MB, 64, 1.0))
    assert group.parent == hierarchy / cgroups.GROUP and group.name.startswith(f"run-{os.getpid()}-")
    assert_limit(group / "memory.max", str(2048 * MB))
    assert_limit(group / "pids.max", "64")
    assert_limit(group / "cpu.max", "100000 100000")


def test_a_v2_parent_group_another_grader_made_is_used(hierarchy):
    v2(hierarchy)
    (hierarchy / cgroups.GROUP).mkdir()
    (hierarchy / cgroups.GROUP / "cgroup.subtree_control").write_text("")
    assert cgroups.layout() == "v2" and len(cgroups.create(MB, 8, 1.0)) == 1


def test_the_groups_of_v2_graders_that_died_are_removed(hierarchy):
    v2(hierarchy)
    cgroups.layout()
    dead = hierarchy / cgroups.GROUP / f"run-{DEAD}-0a1b2c3d"
    dead.mkdir()
    cgroups.create(MB, 8, 1.0)
    assert not dead.exists(), "the group of a grader that died was left"


def test_without_cgroups_nothing_in_the_hierarchy_is_touched(hierarchy):
    orphan = hierarchy / "memory" / cgroups.GROUP / f"run-{DEAD}-0a1b2c3d"
    orphan.mkdir(parents=True)
    assert cgroups.layout() is None and cgroups.create(MB, 8, 1.0) == []
    assert orphan.exists()


@pytest.mark.parametrize("controllers", ["cpu io memory", "memory pids", "cpu pids hugetlb"])
def test_a_v2_hierarchy_without_one_of_the_three_controllers_gives_no_cgroups(hierarchy, controllers):
    v2(hierarchy, controllers)
    assert cgroups.layout() is None and cgroups.available() == "" and cgroups.create(MB, 8, 1.0) == []


@pytest.mark.parametrize("cpu", ["missing", "a file"])  # a file is writable, but no hierarchy
def test_a_v1_hierarchy_without_a_cpu_controller_gives_no_cgroups(hierarchy, cpu):
    (hierarchy / "memory").mkdir()
    (hierarchy / "pids").mkdir()
    if cpu == "a file":
        (hierarchy / "cpu").write_text("")
    assert cgroups.layout() is None and cgroups.create(MB, 8, 1.0) == []


def test_the_groups_of_graders_that_died_are_removed_and_the_living_ones_kept(hierarchy):
    v1(hierarchy)
    planted = {}
    for kind in ("memory", "pids", "cpu"):
        parent = hierarchy / kind / cgroups.GROUP
        for name in (f"run-{DEAD}-0a1b2c3d", f"run-{os.getpid()}-0a1b2c3d", "run-x-0a1b2c3d", "kept"):
            (parent / name).mkdir(parents=True)
            planted[kind, name] = parent / name
    busy = hierarchy / "memory" / cgroups.GROUP / f"run-{DEAD}-ffffffff"
    busy.mkdir()
    (busy / "cgroup.procs").write_text("4242")  # still has a process: rmdir fails, left for later
    cgroups.create(MB, 8, 1.0)
    gone = sorted(str(path.relative_to(hierarchy)) for path in planted.values() if not path.exists())
    assert gone == [f"{kind}/{cgroups.GROUP}/run-{DEAD}-0a1b2c3d" for kind in ("cpu", "memory", "pids")]
    assert busy.exists()


def test_a_run_s_groups_are_removed_once_empty_and_one_already_gone_is_no_error(hierarchy):
    v1(hierarchy)
    groups = cgroups.create(MB, 8, 1.0)
    for group in groups:  # what the kernel does when the run's last process ends
        for entry in os.scandir(group):
            os.unlink(entry.path)
    os.rmdir(groups[1])
    cgroups.remove(groups)
    assert not any(os.path.exists(group) for group in groups)
