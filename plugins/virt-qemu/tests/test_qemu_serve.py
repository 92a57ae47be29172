"""A real TCG guest managed by Debian's virsh and python3-libvirt through ``virtcore serve`` (issue 14).

virsh -> libvirt's C remote driver -> unix socket -> virtcore serve -> virt-qemu -> QEMU.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from serve_support import SYSTEM_PYTHON, VIRSH, Served, has_python3_libvirt, virsh
from virt_qemu.testguest import MARKER, last_tick, read, wait_for, wait_marker

pytestmark = [
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86 is not installed"),
    pytest.mark.skipif(VIRSH is None, reason="Debian's virsh (libvirt-clients) is not installed"),
    pytest.mark.slow,
]


@pytest.fixture
def served(root: Path, tmp_path: Path) -> Iterator[Served]:
    sockets = tmp_path / "sockets"
    sockets.mkdir()
    # libvirt's clients refuse to send an /embed URI to a daemon: the embedded root is served as qemu:///system
    server = Served(
        sockets, [], read_only_socket=False, aliases={"qemu:///system": f"qemu:///embed?root={root}"}
    )
    try:
        yield server
    finally:
        # destroy anything left running, then stop the server
        uri = server.uri("qemu:///system")
        for name in virsh(uri, "list", "--name").stdout.split():
            virsh(uri, "destroy", name)
        log = server.stop()
        assert "Traceback" not in log, log


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


PY_CLIENT = r"""
import sys, libvirt
conn = libvirt.open(sys.argv[1])
dom = conn.lookupByName("served")
print(dom.info()[0], dom.info()[1], dom.ID() > 0)
dom.suspend(); print(dom.state()[0])
dom.resume(); print(dom.state()[0])
print(conn.getType())
"""


def test_virsh_and_python3_libvirt_manage_a_tcg_guest(
    served: Served, guest_xml: Callable[..., str], tmp_path: Path
) -> None:
    uri = served.uri("qemu:///system")
    serial = tmp_path / "served-serial.log"
    xml = tmp_path / "served.xml"
    xml.write_text(guest_xml("served", serial_log=serial))
    ok(virsh(uri, "define", str(xml)))
    assert ok(virsh(uri, "domstate", "served")).strip() == "shut off"

    assert VIRSH is not None
    watcher = subprocess.Popen(
        [VIRSH, "-q", "-c", uri, "event", "--loop", "--event", "lifecycle", "--timeout", "600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []

    def read_events() -> None:
        assert watcher.stdout is not None
        for line in watcher.stdout:
            lines.append(line.strip())

    reader = threading.Thread(target=read_events, daemon=True)
    reader.start()
    try:
        ok(virsh(uri, "start", "served"))
        wait_marker(serial, timeout=120)
        info = dict(
            line.split(":", 1) for line in ok(virsh(uri, "dominfo", "served")).splitlines() if ":" in line
        )
        assert info["State"].strip() == "running" and info["Max memory"].strip() == "131072 KiB"
        assert info["OS Type"].strip() == "hvm"
        assert "<name>served</name>" in ok(virsh(uri, "dumpxml", "served"))

        ok(virsh(uri, "suspend", "served"))
        assert ok(virsh(uri, "domstate", "served")).strip() == "paused"
        ok(virsh(uri, "resume", "served"))
        wait_for(lambda: last_tick(serial) >= 2, 30, "two ticks")

        image = tmp_path / "served.save"
        ok(virsh(uri, "save", "served", str(image)))
        assert ok(virsh(uri, "domstate", "served")).strip() == "shut off"
        tick_at_save = last_tick(serial)
        ok(virsh(uri, "restore", str(image)))
        assert ok(virsh(uri, "domstate", "served")).strip() == "running"
        wait_for(lambda: last_tick(serial) > tick_at_save, 30, "ticks after restore")
        assert read(serial).count(MARKER) == 1  # the same boot carried on

        if has_python3_libvirt():
            py = subprocess.run(
                [SYSTEM_PYTHON, "-c", PY_CLIENT, uri], capture_output=True, text=True, timeout=120
            )
            assert py.returncode == 0, py.stderr
            assert py.stdout.split() == ["1", "131072", "True", "3", "1", "QEMU"]

        ok(virsh(uri, "destroy", "served"))
        wait_for(lambda: "event 'lifecycle' for domain 'served': Stopped Destroyed" in lines, 30, "the event")
    finally:
        watcher.kill()
        watcher.wait()
    assert "event 'lifecycle' for domain 'served': Started Booted" in lines
    assert "event 'lifecycle' for domain 'served': Suspended Paused" in lines
    assert "event 'lifecycle' for domain 'served': Stopped Saved" in lines
    assert "event 'lifecycle' for domain 'served': Started Restored" in lines
    ok(virsh(uri, "undefine", "served"))
    assert ok(virsh(uri, "list", "--all", "--name")).split() == []
