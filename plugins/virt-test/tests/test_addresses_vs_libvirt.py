"""virt-test's interface addresses against libvirt's own test driver, side by side.

The scenario (``address_scenario.py``) runs on ``test:///default`` here with
virtcore and in Debian's ``/usr/bin/python3`` with python3-libvirt; every
step must give the same answer: the invented addresses (IPv4, IPv6, a
netmask instead of a prefix, interfaces not on a network), the host-side
names (``testnetN``, which a start writes into the live and persistent
XML), and the error codes of a stopped guest, a missing network and an
unknown guest.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import address_scenario
import pytest

HERE = Path(__file__).parent
SYSTEM_PYTHON = "/usr/bin/python3"


def run_libvirt_side() -> Any:
    """Run address_scenario.py under Debian's python3 (skip when it has no python3-libvirt)."""
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import libvirt"], capture_output=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip(
            f"{SYSTEM_PYTHON} cannot import libvirt (Debian's python3-libvirt): nothing to compare with"
        )
    out = subprocess.run(
        [SYSTEM_PYTHON, str(HERE / "address_scenario.py")],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout)


def test_every_step_answers_as_libvirts_test_driver() -> None:
    theirs = [(label, outcome) for label, outcome in run_libvirt_side()]
    ours = address_scenario.play(address_scenario.VirtcoreSide())
    assert ours == theirs


def test_the_scenario_reaches_every_kind_of_answer() -> None:
    outcomes = dict(address_scenario.play(address_scenario.VirtcoreSide()))
    web = outcomes["web's addresses from lease"][1]
    assert {a[0] for _, _, addrs in web for a in addrs} == {0, 1}  # IPv4 and IPv6
    assert ["err", 55] in outcomes.values()
    assert ["err", 43] in outcomes.values()
    assert ["err", 42] in outcomes.values()
