"""The generated constants and method table: current with libvirt's API description, and libvirt-python's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import libvirt
import libvirt_qemu
import pytest

ROOT = Path(__file__).resolve().parents[3]
API_DIR = Path("/usr/share/libvirt/api")

#: Every VIR_* name of a module with its value, as JSON.
CONSTANTS = """
import json, sys
mod = __import__(sys.argv[1])
print(json.dumps({n: getattr(mod, n) for n in dir(mod) if n.startswith("VIR_")}))
"""


@pytest.mark.skipif(
    not (API_DIR / "libvirt-api.xml").exists(), reason="libvirt-dev's libvirt-api.xml is not installed"
)
def test_the_generated_files_are_what_the_api_description_gives() -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "gen_libvirt_compat.py"),
            "--check",
            "--api-dir",
            str(API_DIR),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr


def test_every_constant_has_libvirt_pythons_value(side_by_side) -> None:
    theirs, ours = side_by_side.run(CONSTANTS, "libvirt")
    assert len(theirs) > 1000
    assert ours == theirs


def test_every_qemu_constant_has_libvirt_pythons_value(side_by_side) -> None:
    theirs, ours = side_by_side.run(CONSTANTS, "libvirt_qemu")
    assert theirs
    assert ours == theirs


def test_constants_are_plain_ints_and_strings() -> None:
    assert type(libvirt.VIR_DOMAIN_RUNNING) is int and libvirt.VIR_DOMAIN_RUNNING == 1
    assert libvirt.VIR_ERR_NO_DOMAIN == 42 and libvirt.VIR_FROM_DOMAIN == 20
    assert libvirt.VIR_DOMAIN_SCHEDULER_WEIGHT == "weight"
    assert libvirt.VIR_DOMAIN_AFFECT_CONFIG == 2
    assert libvirt_qemu.VIR_DOMAIN_QEMU_AGENT_COMMAND_BLOCK == -2
