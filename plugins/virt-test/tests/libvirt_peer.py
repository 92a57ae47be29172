"""The libvirt side of the side-by-side tests: a scenario script run by Debian's python3.

``test_storage_vs_libvirt.py`` and ``test_network_vs_libvirt.py`` play a scenario on
virt-test here and the same scenario on libvirt's own test driver through
python3-libvirt, which only Debian's ``/usr/bin/python3`` can import. Test
modules are imported by bare name, so this shared helper has a name no other
test directory uses.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
#: The interpreter that has python3-libvirt (Debian's).
SYSTEM_PYTHON = "/usr/bin/python3"


def run_libvirt_side(script: str, *args: str) -> Any:
    """Run ``script`` (a file next to this one) under Debian's python3; what it prints, as JSON.

    Skips the calling test when that python3 cannot import libvirt: there is nothing to compare with.
    """
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import libvirt"], capture_output=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip(
            f"{SYSTEM_PYTHON} cannot import libvirt (Debian's python3-libvirt): nothing to compare with"
        )
    out = subprocess.run(
        [SYSTEM_PYTHON, str(HERE / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout)
