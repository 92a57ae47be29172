"""virt-test's node devices, host interfaces and secrets against libvirt's own test driver, side by side.

The scenario (``hostobject_scenario.py``) runs on ``test:///default`` here with
virtcore and in Debian's ``/usr/bin/python3`` with python3-libvirt; every step
must give the same answer (names, parents, capabilities, XML as a canonical
tree, MACs, states, error codes), except the differences listed in
:data:`DIFFERENCES`, each with its reason; both sides of each are pinned. The
node files' devices and interfaces must be the same too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hostobject_scenario
import pytest
import virt_test
from libvirt_peer import run_libvirt_side

#: label -> (libvirt's outcome, virt-test's outcome, why they differ)
DIFFERENCES: dict[str, tuple[list[Any], list[Any], str]] = {
    "secrets": (
        ["err", 3],
        ["ok", []],
        "libvirt's test driver has no secret driver (NO_SUPPORT); virt-test keeps secrets in memory"
        " with libvirt's secret driver rules, so code handling secrets can be tested",
    ),
    "define a secret": (
        ["err", 3],
        ["ok", [1, "/a.img"]],
        "as above: a volume secret's usage type (VIR_SECRET_USAGE_TYPE_VOLUME) and id",
    ),
}


@pytest.fixture(autouse=True)
def fresh_default() -> None:
    virt_test.reset_default_node()


def test_every_step_answers_as_libvirts_test_driver() -> None:
    theirs = [(label, outcome) for label, outcome in run_libvirt_side("hostobject_scenario.py")]
    ours = json.loads(json.dumps(hostobject_scenario.play(hostobject_scenario.VirtcoreSide())))
    assert [label for label, _ in ours] == [label for label, _ in theirs]
    mismatches = []
    for (label, mine), (_, their) in zip(ours, theirs, strict=True):
        expected = (their, their) if label not in DIFFERENCES else DIFFERENCES[label][:2]
        if (their, mine) != expected:
            mismatches.append(f"{label}: libvirt {their}, virt-test {mine}")
    assert mismatches == []
    # the scenario is not vacuous: these steps answer, and these refuse, on both sides
    outcome = dict(ours)
    assert outcome["create a vHBA"] == ["ok", ["scsi_host12", "scsi_host2"]]
    assert outcome["look up a missing device"] == ["err", 53]
    assert outcome["missing interface"] == ["err", 57]
    assert outcome["stop it again"] == ["err", 55]


def test_the_differences_name_steps_of_the_scenario() -> None:
    labels = [label for label, _ in hostobject_scenario.play(hostobject_scenario.VirtcoreSide())]
    assert set(DIFFERENCES) <= set(labels)
    assert len(labels) == len(set(labels))


def test_node_file_devices_and_interfaces_are_what_libvirts_test_driver_loads(testdriver_dir: Path) -> None:
    theirs = run_libvirt_side("hostobject_scenario.py", "nodes", str(testdriver_dir))
    ours = json.loads(
        json.dumps(
            hostobject_scenario.node_file_devices(hostobject_scenario.VirtcoreSide, str(testdriver_dir))
        )
    )
    assert ours == theirs
    assert ours["testnode.xml"][0] == ["ok", [["File_test_device", None, ["system"]]]]


def test_the_default_domains_xml_is_libvirts_live_and_inactive() -> None:
    theirs = run_libvirt_side("hostobject_scenario.py", "domxml")
    ours = json.loads(json.dumps(hostobject_scenario.default_domain_xml(hostobject_scenario.VirtcoreSide())))
    assert ours == theirs
    live = ours[0]
    nic = next(d for d in live[3][-1][3] if d[0] == "interface")
    assert ["target", [["dev", "testnet0"]], "", []] in nic[3]
    assert [
        ["bus", "0x00"],
        ["domain", "0x0000"],
        ["function", "0x0"],
        ["slot", "0x01"],
        ["type", "pci"],
    ] in [c[1] for c in nic[3] if c[0] == "address"]
