"""virt-test's networks against libvirt's own test driver, side by side.

The scenario (``network_scenario.py``) runs on ``test:///default`` here with
virtcore and in Debian's ``/usr/bin/python3`` with python3-libvirt; every step
must give the same answer (names, UUIDs, flags, bridges, error codes),
except the differences listed in :data:`DIFFERENCES`, each with its reason.
Both sides of each difference are pinned, so a change on either side shows.
The node files' networks must be the same too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import network_scenario
from libvirt_peer import run_libvirt_side

#: label -> (libvirt's outcome, virt-test's outcome, why they differ)
DIFFERENCES: dict[str, tuple[list[Any], list[Any], str]] = {
    "destroy the stopped default": (
        ["ok", None],
        ["err", 55],
        "libvirt's test driver stops a stopped network silently; its network driver and the contract"
        " say OPERATION_INVALID \"network 'x' is not active\"",
    ),
    "default's inactive XML": (
        ["err", 8],
        ["ok", []],  # the hosts were added live only: stopping the network dropped them
        "libvirt's test driver refuses VIR_NETWORK_XML_INACTIVE;"
        " the contract gives the persistent definition",
    ),
    "default's leases": (
        ["err", 3],
        ["ok", []],
        "libvirt's test driver does not implement networkGetDHCPLeases;"
        " the mock has no DHCP server: no leases",
    ),
    "undefine the running default": (
        ["err", 55],
        ["ok", None],
        "libvirt's test driver refuses to undefine a running network; its network driver (and the contract)"
        " leave it running as transient",
    ),
    "default flags after undefine": (
        ["ok", [True, True, True]],
        ["ok", [True, False, False]],
        "follows from the undefine above (a transient network does not autostart)",
    ),
    "autostart a transient network": (
        ["ok", None],
        ["err", 55],
        "libvirt's test driver accepts it; its network driver and the contract say OPERATION_INVALID",
    ),
}


def test_every_step_answers_as_libvirts_test_driver() -> None:
    theirs = [(label, outcome) for label, outcome in run_libvirt_side("network_scenario.py")]
    ours = network_scenario.play(network_scenario.VirtcoreSide())
    assert [label for label, _ in ours] == [label for label, _ in theirs]
    mismatches = []
    for (label, mine), (_, their) in zip(ours, theirs, strict=True):
        expected = (their, their) if label not in DIFFERENCES else DIFFERENCES[label][:2]
        if (their, mine) != expected:
            mismatches.append(f"{label}: libvirt {their}, virt-test {mine}")
    assert mismatches == []


def test_the_differences_name_steps_of_the_scenario() -> None:
    labels = [label for label, _ in network_scenario.steps(None)]
    assert set(DIFFERENCES) <= set(labels)
    assert len(labels) == len(set(labels))  # labels are unique


def test_node_file_networks_are_what_libvirts_test_driver_loads(testdriver_dir: Path) -> None:
    theirs = run_libvirt_side("network_scenario.py", "nodes", str(testdriver_dir))
    ours = network_scenario.node_file_networks(network_scenario.VirtcoreSide, str(testdriver_dir))
    assert ours == theirs
    assert [n[0] for n in ours["testnode.xml"]] == ["default", "private"]
