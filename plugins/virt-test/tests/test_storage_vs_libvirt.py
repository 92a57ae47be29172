"""virt-test's storage against libvirt's own test driver, side by side.

The scenario (``storage_scenario.py``) runs on ``test:///default`` here with
virtcore and in Debian's ``/usr/bin/python3`` with python3-libvirt; every step
must give the same answer (names, keys, paths, info tuples, error codes),
except the differences listed in :data:`DIFFERENCES`, each with its reason.
Both sides of each difference are pinned, so a change on either side shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import storage_scenario
from libvirt_peer import run_libvirt_side

#: label -> (libvirt's outcome, virt-test's outcome, why they differ)
DIFFERENCES: dict[str, tuple[list[Any], list[Any], str]] = {
    "create it again": (
        ["err", 9],
        ["err", 90],
        "libvirt's test driver says OPERATION_FAILED; its storage driver and the contract STORAGE_VOL_EXIST",
    ),
    "more than the free space": (
        ["err", 1],
        ["err", 9],
        "libvirt's test driver says INTERNAL_ERROR; the contract OPERATION_FAILED, as the storage driver",
    ),
    "clone": (
        ["ok", ["clone", "/default-pool/clone", "/default-pool/clone", [0, 10, 5]]],
        ["ok", ["clone", "/default-pool/clone", "/default-pool/clone", [0, 1000000, 5]]],
        "a clone holds its source's data: at least the source's capacity, as libvirt's storage driver does",
    ),
    "resize": (["err", 3], ["ok", None], "libvirt's test driver does not implement storageVolResize"),
    "wipe": (["err", 3], ["ok", None], "libvirt's test driver does not implement storageVolWipe"),
    "autostart a transient pool": (
        ["err", 8],
        ["err", 55],
        "the contract: a transient pool is in the wrong state (OPERATION_INVALID), not a bad argument",
    ),
    "unknown pool type": (
        ["err", 27],
        ["err", 67],
        "the contract: a pool type the driver does not offer is CONFIG_UNSUPPORTED naming the type",
    ),
    "volume name with a slash": (
        ["ok", ["a/b", "/default-pool/a/b", "/default-pool/a/b", [0, 1, 1]]],
        ["err", 27],
        "a volume name may not leave its pool's directory",
    ),
    "volume name ..": (
        ["ok", ["..", "/default-pool/..", "/default-pool/..", [0, 1, 1]]],
        ["err", 27],
        "a volume name may not leave its pool's directory",
    ),
    "volume name with a leading dash": (
        ["ok", ["-x", "/default-pool/-x", "/default-pool/-x", [0, 1, 1]]],
        ["err", 27],
        "a volume name may not read as a tool's option",
    ),
}


@pytest.fixture(scope="module")
def libvirt_outcomes() -> list[tuple[str, list[Any]]]:
    return [(label, outcome) for label, outcome in run_libvirt_side("storage_scenario.py")]


def test_every_step_answers_as_libvirts_test_driver(libvirt_outcomes: list[tuple[str, list[Any]]]) -> None:
    ours = storage_scenario.play(storage_scenario.VirtcoreSide())
    assert [label for label, _ in ours] == [label for label, _ in libvirt_outcomes]
    mismatches = []
    for (label, mine), (_, theirs) in zip(ours, libvirt_outcomes, strict=True):
        expected_theirs, expected_mine = (
            (theirs, theirs) if label not in DIFFERENCES else DIFFERENCES[label][:2]
        )
        if (theirs, mine) != (expected_theirs, expected_mine):
            mismatches.append(f"{label}: libvirt {theirs}, virt-test {mine}")
    assert mismatches == []


def test_node_file_pools_hold_what_libvirts_test_driver_loads(testdriver_dir: Path) -> None:
    theirs = run_libvirt_side("storage_scenario.py", "nodes", str(testdriver_dir))
    ours = storage_scenario.node_file_pools(storage_scenario.virtcore_pools, str(testdriver_dir))
    assert ours["testnodeinline.xml"] == theirs["testnodeinline.xml"]
    # testnode.xml's pool comes from testpool.xml (file=) and holds <volume file='testvol.xml'/>:
    # libvirt 9.0's test driver loses the volume (it looks for it in the pool's file, where it
    # is not); virt-test loads it, as the inline file has it. Everything else is the same.
    [[name, uuid, info, flags, vols]] = theirs["testnode.xml"]
    assert vols == []
    volume = ["default-vol", "/default-pool/default-vol", "/default-pool/default-vol", [0, 1000000, 50000]]
    assert ours["testnode.xml"] == [[name, uuid, [info[0], info[1], 50000, info[3] - 50000], flags, [volume]]]


def test_the_differences_name_steps_of_the_scenario() -> None:
    labels = {label for label, _ in storage_scenario.steps(_NoSide())}
    assert set(DIFFERENCES) <= labels
    assert len(labels) == len(storage_scenario.steps(_NoSide()))  # labels are unique


class _NoSide:
    """Lists the steps without running them."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a step ran while listing: {name}")
