"""An unchanged libvirt-python script gets a real QEMU guest's events through virt-libvirt on qemu:///embed.

``scenario_qemu_events.py`` runs libvirt's default event loop in a thread, as libvirt-python
programs do, and registers lifecycle and reboot callbacks before driving the guest. Every
change must arrive, from the loop's thread, with libvirt's event and detail numbers, in order.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import libvirt
import pytest
from compat_peer import clean_env
from virt_qemu import testguest

HERE = Path(__file__).parent

pytestmark = [
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86 is not installed"),
    pytest.mark.slow,
    pytest.mark.timeout(600),
]


def test_a_libvirt_python_script_gets_a_qemu_guests_events(tmp_path: Path) -> None:
    kernel = testguest.find_kernel()
    initrd = testguest.build_initramfs(kernel, cache_dir=tmp_path / "initramfs")
    root = tmp_path / "root"
    root.mkdir()
    log = tmp_path / "serial.log"
    xml = tmp_path / "guest.xml"
    xml.write_text(testguest.guest_domain_xml("evguest", kernel, initrd, serial_log=log))
    out = subprocess.run(
        [
            sys.executable,
            str(HERE / "scenario_qemu_events.py"),
            f"qemu:///embed?root={root}",
            str(xml),
            str(tmp_path / "g.save"),
            str(log),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=clean_env(),
    )
    assert out.returncode == 0, out.stderr[-3000:]
    events = json.loads(out.stdout)
    assert all(e[-1] is True for e in events), "a callback ran outside the event loop's thread"
    lv = libvirt
    expected = [
        ["lifecycle", "evguest", lv.VIR_DOMAIN_EVENT_DEFINED, lv.VIR_DOMAIN_EVENT_DEFINED_ADDED, "any"],
        ["lifecycle", "evguest", lv.VIR_DOMAIN_EVENT_STARTED, lv.VIR_DOMAIN_EVENT_STARTED_BOOTED, "any"],
        ["lifecycle", "evguest", lv.VIR_DOMAIN_EVENT_SUSPENDED, lv.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED, "any"],
        ["lifecycle", "evguest", lv.VIR_DOMAIN_EVENT_RESUMED, lv.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED, "any"],
        ["lifecycle", "evguest", lv.VIR_DOMAIN_EVENT_STOPPED, lv.VIR_DOMAIN_EVENT_STOPPED_SAVED, "any"],
        ["lifecycle", "evguest", lv.VIR_DOMAIN_EVENT_STARTED, lv.VIR_DOMAIN_EVENT_STARTED_RESTORED, "any"],
        ["reboot", "evguest", "rb"],
        ["lifecycle", "evguest", lv.VIR_DOMAIN_EVENT_STOPPED, lv.VIR_DOMAIN_EVENT_STOPPED_DESTROYED, "any"],
        ["lifecycle", "evguest", lv.VIR_DOMAIN_EVENT_UNDEFINED, lv.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED, "any"],
    ]
    got = [e[:-1] for e in events]
    # in this order; the save may pause the guest first (SUSPENDED) as libvirt's QEMU driver does
    it = iter(got)
    missing = [e for e in expected if e not in it]
    assert missing == [], got
    assert got[0] == expected[0] and got[-1] == expected[-1]
