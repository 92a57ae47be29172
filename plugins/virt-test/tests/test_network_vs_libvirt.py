"""virt-test's networks against libvirt's own test driver, side by side.

The scenario (``network_scenario.py``) runs on ``test:///default`` here with
virtcore and in Debian's ``/usr/bin/python3`` with python3-libvirt; every step
must give the same answer (names, UUIDs, flags, bridges, error codes). The
node files' networks must be the same too.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import network_scenario
import pytest

HERE = Path(__file__).parent
SYSTEM_PYTHON = "/usr/bin/python3"


def run_libvirt_side(*args: str) -> Any:
    """Run network_scenario.py under Debian's python3 (skip when it has no python3-libvirt)."""
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import libvirt"], capture_output=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip(
            f"{SYSTEM_PYTHON} cannot import libvirt (Debian's python3-libvirt): nothing to compare with"
        )
    out = subprocess.run(
        [SYSTEM_PYTHON, str(HERE / "network_scenario.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout)


def test_every_step_answers_as_libvirts_test_driver() -> None:
    theirs = [(label, outcome) for label, outcome in run_libvirt_side()]
    ours = network_scenario.play(network_scenario.VirtcoreSide())
    assert [label for label, _ in ours] == [label for label, _ in theirs]
    mismatches = [
        f"{label}: libvirt {t}, virt-test {m}"
        for (label, m), (_, t) in zip(ours, theirs, strict=True)
        if m != t
    ]
    assert mismatches == []


def test_node_file_networks_are_what_libvirts_test_driver_loads(testdriver_dir: Path) -> None:
    theirs = run_libvirt_side("nodes", str(testdriver_dir))
    ours = network_scenario.node_file_networks(network_scenario.VirtcoreSide, str(testdriver_dir))
    assert ours == theirs
    assert [n[0] for n in ours["testnode.xml"]] == ["default", "private"]
