"""A real guest boots from a qcow2 overlay volume on a base image, named by the domain XML's
``<source pool= volume=>``, under the QEMU driver with the host storage driver (issue 10).

The base image holds the test image: a shell script that the test guest (``vc.mode=disk``)
runs from its first disk. The script says it ran, writes a marker to the disk and powers
the guest off. The base must come out unchanged and the overlay holding the marker.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from virt_qemu import console_log, testguest
from virt_qemu.testguest import read, wait_for

import virtcore
from virtcore.errors import NoStorageVolError
from virtcore.types import DomainState
from virtcore.xml import parse_domain

MIB = 1 << 20
#: Where in the disk the guest writes its marker (past the script, zeros in the base).
MARK_AT = 2 * MIB
MARK = b"VC-OVERLAY-WRITE"
SCRIPT = f"""
echo vc-disk-boot from-the-base-image
printf {MARK.decode()} | dd of=/dev/vda bs=512 seek={MARK_AT // 512} conv=notrunc 2>/dev/null
sync
echo vc-disk-done
poweroff -f
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def guest_view(image: Path, tmp: Path) -> bytes:
    """The bytes a guest sees on ``image`` (its backing chain included), through qemu-img."""
    out = tmp / f"{image.name}.view.raw"
    subprocess.run(
        ["qemu-img", "convert", "-f", "qcow2", "-O", "raw", "--", str(image), str(out)], check=True
    )
    return out.read_bytes()


def test_a_guest_boots_from_a_qcow2_overlay_volume_on_a_base_image(
    uri: str, tmp_path: Path, guest_files: tuple[Path, Path]
) -> None:
    kernel, initrd = guest_files
    pool_dir = tmp_path / "images"
    with virtcore.open(uri) as conn:
        pool = conn.define_storage_pool(
            f"<pool type='dir'><name>images</name><target><path>{pool_dir}</path></target></pool>"
        )
        pool.build()
        pool.start()
        # The base: the test image, made outside virtcore and found by a refresh.
        raw = tmp_path / "image.raw"
        raw.write_bytes(testguest.disk_script_image(SCRIPT, 4 * MIB))
        base_path = pool_dir / "base.qcow2"
        subprocess.run(
            ["qemu-img", "convert", "-f", "raw", "-O", "qcow2", "--", str(raw), str(base_path)], check=True
        )
        pool.refresh()
        base = pool.lookup_volume("base.qcow2")
        overlay = pool.create_volume(
            "<volume><name>overlay.qcow2</name><capacity unit='MiB'>4</capacity>"
            "<target><format type='qcow2'/></target>"
            f"<backingStore><path>{base.path}</path><format type='qcow2'/></backingStore></volume>"
        )
        overlay_path = Path(overlay.path)
        info = json.loads(
            subprocess.run(
                ["qemu-img", "info", "--output=json", "-U", "--", str(overlay_path)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        assert info["format"] == "qcow2" and info["backing-filename"] == base.path
        base_before = sha256(base_path)
        before = guest_view(overlay_path, tmp_path)
        assert before[MARK_AT : MARK_AT + len(MARK)] == b"\0" * len(MARK)

        disk = (
            "<disk type='volume' device='disk'><source pool='images' volume='overlay.qcow2'/>"
            "<target dev='vda' bus='virtio'/></disk>"
        )
        xml = testguest.guest_domain_xml(
            "overlay-guest",
            kernel,
            initrd,
            mode="disk",
            extra_devices=disk,
            serial_log=tmp_path / "serial.log",
        )
        dom = conn.define_domain(xml)
        try:
            dom.start()
            live = parse_domain(dom.xml_desc()).disks[0]
            assert (live.type, live.source_pool, live.source) == ("volume", "images", "overlay.qcow2")
            log = console_log(dom)
            wait_for(lambda: "vc-disk-done" in read(log), 120, "the guest to run the image's script")
            wait_for(lambda: dom.state()[0] == DomainState.SHUTOFF, 30, "the guest to power off")
        finally:
            if dom.is_active():
                dom.destroy()
        console = read(log)
        assert "vc-disk-boot from-the-base-image" in console  # the image came through the overlay

        assert sha256(base_path) == base_before  # the base is unchanged
        after = guest_view(overlay_path, tmp_path)
        assert after[MARK_AT : MARK_AT + len(MARK)] == MARK  # the overlay holds the guest's write
        assert after[: MIB // 2] == before[: MIB // 2]  # and still shows the base's image
        # The real storage driver's unknown volume: named, and the domain does not start.
        lost = conn.define_domain(
            testguest.guest_domain_xml(
                "lost-guest", kernel, initrd, extra_devices=disk.replace("overlay", "gone")
            )
        )
        with pytest.raises(NoStorageVolError, match=r"'gone\.qcow2'"):
            lost.start()
        assert lost.state()[0] == DomainState.SHUTOFF
        lost.undefine()
        dom.undefine()
        overlay.delete()
        pool.destroy()
