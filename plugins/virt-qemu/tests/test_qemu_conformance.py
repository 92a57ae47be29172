"""The core's driver conformance suite (tests/conformance), run on ``qemu:///embed`` with real guests.

The suite lives in the core's tree and is parametrized by URI; this test runs
it in a child pytest with the QEMU test guest as the domain template, so the
QEMU driver's conformance is checked wherever the plugin's tests run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from virt_qemu import testguest

SUITE = Path(__file__).resolve().parents[3] / "tests" / "conformance"

pytestmark = [
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86 is not installed"),
    pytest.mark.skipif(not SUITE.is_dir(), reason="the core's conformance suite is not in this tree"),
    pytest.mark.slow,
]


def test_conformance_suite_passes_on_qemu_embed(tmp_path: Path) -> None:
    template = tmp_path / "template.xml"
    template.write_text(testguest.conformance_template())
    out = subprocess.run(
        [
            sys.executable, "-m", "pytest", str(SUITE), "-q", "-p", "no:cacheprovider",
            "--driver-uri", "qemu:///embed?root={tmp}", "--domain-template", str(template),
            "--shutdown-timeout", "60", "--rootdir", str(SUITE.parents[1]),
        ],
        capture_output=True, text=True, timeout=900, cwd=SUITE.parents[1], env=dict(os.environ),
    )  # fmt: skip
    tail = "\n".join(out.stdout.splitlines()[-30:])
    assert out.returncode == 0, tail + out.stderr[-2000:]
    m = re.search(r"(\d+) passed", out.stdout)
    assert m and int(m.group(1)) >= 20, tail
