"""virt-test's snapshots against libvirt's own test driver, side by side.

The scenario (``snapshot_scenario.py``) runs on ``test:///default`` here with
virtcore and in Debian's ``/usr/bin/python3`` with python3-libvirt; every step
must give the same answer (names, parents, current, listings and their filters,
the XML fields that matter, domain states and reasons, error codes), except the
differences listed in :data:`DIFFERENCES`, each with its reason. Both sides of
each difference are pinned, so a change on either side shows.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import snapshot_scenario

HERE = Path(__file__).parent
SYSTEM_PYTHON = "/usr/bin/python3"

#: label -> (libvirt's outcome, virt-test's outcome, why they differ)
DIFFERENCES: dict[str, tuple[list[Any], list[Any], str]] = {
    "state after o2 running": (
        ["ok", [5, 7]],
        ["ok", [1, 4]],
        "libvirt's test driver queues STARTED for an inactive snapshot reverted with RUNNING but never"
        " starts the domain; virt-test starts it (running, reason FROM_SNAPSHOT)",
    ),
    "revert to o2 while running": (
        ["ok", None],
        ["err", 77],
        "follows from the step above: the domain really runs, and respawning it to start an inactive"
        " snapshot needs force (SNAPSHOT_REVERT_RISKY, as libvirt's own code says)",
    ),
    "a disk-only snapshot": (
        ["err", 8],
        ["ok", "d1"],
        "libvirt's test driver refuses VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY ('not implemented yet');"
        " virt-test takes it (external disks, no memory)",
    ),
    "delete o2, metadata only": (
        ["err", 8],
        ["ok", None],
        "libvirt's test driver refuses VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY; a test-driver snapshot is"
        " nothing but metadata, so virt-test deletes it",
    ),
    "a snapshot named with a slash": (
        ["ok", "a/b"],
        ["err", 27],
        "snapshot names become file names and arguments: virtcore refuses '/' (XML_ERROR naming it)",
    ),
    "a snapshot named with a leading dash": (
        ["ok", "-x"],
        ["err", 27],
        "a leading '-' reads as an option on a command line: virtcore refuses it",
    ),
    "test's snapshots at the end": (
        ["ok", ["-x", "a/b", "o2"]],
        ["ok", ["d1"]],
        "follows from the four steps above",
    ),
}


def run_libvirt_side(*args: str) -> Any:
    """Run snapshot_scenario.py under Debian's python3 (skip when it has no python3-libvirt)."""
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import libvirt"], capture_output=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip(
            f"{SYSTEM_PYTHON} cannot import libvirt (Debian's python3-libvirt): nothing to compare with"
        )
    out = subprocess.run(
        [SYSTEM_PYTHON, str(HERE / "snapshot_scenario.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_every_step_answers_as_libvirts_test_driver() -> None:
    theirs = [(label, outcome) for label, outcome in run_libvirt_side()]
    ours = [
        (label, json.loads(json.dumps(o)))
        for label, o in snapshot_scenario.play(snapshot_scenario.VirtcoreSide())
    ]
    assert [label for label, _ in ours] == [label for label, _ in theirs]
    mismatches = []
    for (label, mine), (_, their) in zip(ours, theirs, strict=True):
        expected = (their, their) if label not in DIFFERENCES else DIFFERENCES[label][:2]
        if (their, mine) != expected:
            mismatches.append(f"{label}: libvirt {their}, virt-test {mine}")
    assert mismatches == []


def test_the_differences_name_steps_of_the_scenario() -> None:
    labels = [label for label, _ in snapshot_scenario.steps(None)]
    assert set(DIFFERENCES) <= set(labels)
    assert len(labels) == len(set(labels))  # labels are unique


def test_node_file_snapshots_are_what_libvirts_test_driver_loads(tmp_path: Path) -> None:
    from test_snapshot_mock import node_with_snapshots

    uri = node_with_snapshots(tmp_path)
    theirs = run_libvirt_side("node", uri, "vm")
    ours = snapshot_scenario.node_snapshots(snapshot_scenario.VirtcoreSide(uri), "vm")
    assert ours == theirs == [["base", False, None, "shutoff"], ["child", True, "base", "running"]]
