"""A real TCG guest managed through ``qemu+unix:///system?socket=...`` against the real libvirtd.

libvirtd's own QEMU driver runs the guest (virtcore's test guest: direct kernel
boot, a serial console to a file), inside the daemon's namespaces, with cgroups
off: nothing of the host's is touched, and the test checks it.
"""

from __future__ import annotations

import glob
from pathlib import Path

import pytest
from virt_remote.daemons import Libvirtd

import virtcore
from virtcore import DomainState
from virtcore.testing.support import wait_for

testguest = pytest.importorskip("virt_qemu.testguest", reason="the test guest's builder comes with virt-qemu")


@pytest.fixture(scope="module")
def guest_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    try:
        kernel = testguest.find_kernel()
    except Exception as exc:  # no kernel package: the guest cannot boot here
        pytest.skip(f"no kernel for the test guest: {exc}")
    return kernel, testguest.build_initramfs(kernel, cache_dir=tmp_path_factory.mktemp("initramfs"))


def test_a_tcg_guest_through_libvirtd(
    libvirtd: Libvirtd, guest_files: tuple[Path, Path], tmp_path: Path
) -> None:
    cgroups_before = set(glob.glob("/sys/fs/cgroup/*/machine*"))
    kernel, initrd = guest_files
    serial = tmp_path / "serial.log"
    with virtcore.open(libvirtd.uri("qemu", "/system")) as conn:
        assert conn.get_type() == "QEMU"
        events: list[str] = []
        conn.on_domain_event(lambda dom, event, detail: events.append(event.name))
        dom = conn.define_domain(testguest.guest_domain_xml("remote-tcg", kernel, initrd, serial_log=serial))
        try:
            dom.start()
            assert dom.state()[0] == DomainState.RUNNING and dom.id > 0
            wait_for(
                lambda: serial.exists() and "vc-tick" in serial.read_text(errors="replace"), 300, "the guest"
            )
            dom.suspend()
            assert dom.state()[0] == DomainState.PAUSED
            dom.resume()
            assert dom.state()[0] == DomainState.RUNNING
            assert "<name>remote-tcg</name>" in dom.xml_desc()
            dom.destroy()
            assert dom.state()[0] == DomainState.SHUTOFF
            wait_for(lambda: "STOPPED" in events, 30, "the STOPPED event")
            assert _in_order(events, ["STARTED", "SUSPENDED", "RESUMED", "STOPPED"]), events
        finally:
            if dom.is_active():
                dom.destroy()
            dom.undefine()
    assert set(glob.glob("/sys/fs/cgroup/*/machine*")) == cgroups_before


def _in_order(seen: list[str], wanted: list[str]) -> bool:
    """Whether ``wanted`` occurs in ``seen`` in this order (other events may come between)."""
    it = iter(seen)
    return all(any(x == w for x in it) for w in wanted)
