"""An unchanged libvirt-python script drives a real QEMU guest through virt-libvirt on qemu:///embed."""

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
]


@pytest.fixture(scope="session")
def guest_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(kernel, initrd)`` of virt-qemu's test guest (as its tests' fixture builds them)."""
    kernel = testguest.find_kernel()
    initrd = testguest.build_initramfs(kernel, cache_dir=tmp_path_factory.mktemp("initramfs"))
    return kernel, initrd


def test_a_libvirt_python_script_drives_a_qemu_guest(tmp_path: Path, guest_files: tuple[Path, Path]) -> None:
    kernel, initrd = guest_files
    root = tmp_path / "root"
    root.mkdir()
    log = tmp_path / "serial.log"
    xml = tmp_path / "guest.xml"
    xml.write_text(testguest.guest_domain_xml("compat", kernel, initrd, serial_log=log))
    uri = f"qemu:///embed?root={root}"
    out = subprocess.run(
        [
            sys.executable,
            str(HERE / "scenario_qemu_guest.py"),
            uri,
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
    got = json.loads(out.stdout)
    running, paused, shutoff = (
        libvirt.VIR_DOMAIN_RUNNING,
        libvirt.VIR_DOMAIN_PAUSED,
        libvirt.VIR_DOMAIN_SHUTOFF,
    )
    assert got["type"] == "QEMU"
    assert got["defined"] == ["compat", 0, 1, shutoff]
    assert got["started"] == [1, running, True]
    assert got["info"] == [running, 128 * 1024, 1, True]
    assert (got["paused"], got["resumed"]) == (paused, running)
    assert got["save"] == 0 and got["saved"] == [shutoff, 0, ["compat"]]
    assert got["restore"] == 0 and got["restored"] == [running, 1]
    assert got["same boot"] is True
    assert (got["save paused"], got["restore as saved"], got["restored paused"]) == (0, 0, paused)
    assert (got["restore running"], got["restored running"]) == (0, running)
    assert got["save both"] == [libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_FROM_DOMAIN, running]
    assert got["destroy"] == 0 and got["destroyed"] == [shutoff, -1, []]
    assert got["suspend inactive"] == libvirt.VIR_ERR_OPERATION_INVALID
    assert got["undefine"] == 0 and got["gone"] == libvirt.VIR_ERR_NO_DOMAIN
