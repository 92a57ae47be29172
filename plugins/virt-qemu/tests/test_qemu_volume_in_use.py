"""A real guest running from a qcow2 overlay volume keeps it, and its base, from being deleted.

The host storage driver knows no domains: it asks the QEMU driver through the core's
``users_of_path`` (issue 10). One TCG guest runs a script from its overlay volume and
stays up; while it runs, deleting the overlay, its base (the backing chain) or stopping
their pool is refused naming the domain and the volume; a volume it does not use goes;
after the guest is destroyed, both go.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from virt_qemu import console_log, testguest
from virt_qemu.testguest import read, wait_for

import virtcore
from virtcore.errors import ResourceBusyError

MIB = 1 << 20
SCRIPT = """
echo vc-inuse-ready
while :; do sleep 5; done
"""


def test_a_running_guests_volumes_are_not_deleted_until_it_is_destroyed(
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
        raw = tmp_path / "image.raw"
        raw.write_bytes(testguest.disk_script_image(SCRIPT, 4 * MIB))
        subprocess.run(
            ["qemu-img", "convert", "-f", "raw", "-O", "qcow2", "--", str(raw), str(pool_dir / "base.qcow2")],
            check=True,
        )
        pool.refresh()
        base = pool.lookup_volume("base.qcow2")
        overlay = pool.create_volume(
            "<volume><name>overlay.qcow2</name><capacity unit='MiB'>4</capacity>"
            "<target><format type='qcow2'/></target>"
            f"<backingStore><path>{base.path}</path><format type='qcow2'/></backingStore></volume>"
        )
        spare = pool.create_volume(
            "<volume><name>spare.img</name><capacity unit='MiB'>1</capacity>"
            "<target><format type='raw'/></target></volume>"
        )
        disk = (
            "<disk type='volume' device='disk'><driver name='qemu' type='qcow2'/>"
            "<source pool='images' volume='overlay.qcow2'/><target dev='vda' bus='virtio'/></disk>"
        )
        dom = conn.define_domain(
            testguest.guest_domain_xml(
                "inuse-guest",
                kernel,
                initrd,
                mode="disk",
                extra_devices=disk,
                serial_log=tmp_path / "serial.log",
            )
        )
        try:
            dom.start()
            wait_for(
                lambda: "vc-inuse-ready" in read(console_log(dom)),
                120,
                "the guest to run its volume's script",
            )

            with pytest.raises(
                ResourceBusyError, match=r"'overlay\.qcow2' .*running domain 'inuse-guest'"
            ) as exc:
                overlay.delete()
            assert exc.value.code == 87
            with pytest.raises(ResourceBusyError, match=r"'base\.qcow2' .*running domain 'inuse-guest'"):
                base.delete()  # the guest reads it through the overlay's backing chain
            with pytest.raises(ResourceBusyError, match=r"cannot wipe it: .*'overlay\.qcow2'.*'inuse-guest'"):
                overlay.wipe()
            with pytest.raises(ResourceBusyError, match=r"cannot stop storage pool 'images'.*'inuse-guest'"):
                pool.destroy()
            # another connection (as another tool would open) sees the same guest
            with virtcore.open(uri) as other, pytest.raises(ResourceBusyError, match="'inuse-guest'"):
                other.lookup_storage_volume_by_path(overlay.path).delete()
            assert Path(overlay.path).exists() and Path(base.path).exists() and pool.is_active()
            spare.delete()  # nothing uses it
            assert not (pool_dir / "spare.img").exists()
        finally:
            if dom.is_active():
                dom.destroy()
        overlay.delete()
        base.delete()
        assert sorted(p.name for p in pool_dir.iterdir()) == []
        dom.undefine()
        pool.destroy()
