"""virt-xen's tests.

``dom0/`` holds integration tests that need a real Xen toolstack and XenStore:
they are collected only inside a Xen dom0 (where the harness in ``xenhost/``
runs them); on any other machine ``test_real_xen.py`` boots Xen under QEMU and
runs them there.
"""

from __future__ import annotations

from pathlib import Path


def _in_dom0() -> bool:
    try:
        return "control_d" in Path("/proc/xen/capabilities").read_text()
    except OSError:
        return False


collect_ignore = [] if _in_dom0() else ["dom0"]

# the fake-xl fixtures, shared with test_devices_fake_xl
from test_driver_fake_xl import conn, fake  # noqa: E402, F401
