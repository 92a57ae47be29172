"""What the QEMU driver says a running domain uses (virt_qemu.inuse), on real image files.

Real qcow2 chains made by qemu-img; no guest: the live definitions are parsed XML and the
record of resolved volumes is the file the launcher writes.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from virt_qemu.inuse import VOLUMES_FILE, paths_in_use, record_volumes
from virt_qemu.volumes import ResolvedVolume

from virtcore.errors import OperationFailedError
from virtcore.xml import parse_domain


def qcow2(path: Path, backing: str | None = None) -> Path:
    argv = ["qemu-img", "create", "-q", "-f", "qcow2"]
    if backing is not None:
        argv += ["-b", backing, "-F", "qcow2"]
    subprocess.run([*argv, "--", str(path), "1M"], check=True)
    return path


def domain(disks: str) -> str:
    return (
        "<domain type='qemu'><name>g</name><memory>65536</memory>"
        "<os><type arch='x86_64'>hvm</type></os>"
        f"<devices>{disks}</devices></domain>"
    )


def test_paths_in_use_cover_file_disks_resolved_volume_disks_and_their_chains(tmp_path: Path) -> None:
    base = qcow2(tmp_path / "base.qcow2")
    overlay = qcow2(tmp_path / "overlay.qcow2", str(base))
    data = tmp_path / "data.img"
    data.write_bytes(b"\0" * 4096)
    link = tmp_path / "data-link.img"
    link.symlink_to(data)
    run = tmp_path / "run"
    run.mkdir()
    live = parse_domain(
        domain(
            f"<disk type='file'><source file='{link}'/><target dev='vda'/></disk>"
            "<disk type='volume'><source pool='images' volume='overlay.qcow2'/><target dev='vdb'/></disk>"
            "<disk type='volume'><source pool='images' volume='gone.qcow2'/><target dev='vdc'/></disk>"
        )
    )
    # Before the launcher records where the volumes resolved, only the file disk is known.
    assert paths_in_use(live, run) == {str(data)}
    record_volumes(run, {"vdb": ResolvedVolume(str(overlay), "qcow2")})
    assert (run / VOLUMES_FILE).exists()
    assert paths_in_use(live, run) == {str(data), str(overlay), str(base)}
    # A hot-plug adds to the record; a device no longer in the live definition does not count.
    record_volumes(run, {"vdx": ResolvedVolume(str(tmp_path / "unplugged.img"), "raw")})
    assert paths_in_use(live, run) == {str(data), str(overlay), str(base)}


def test_an_unreadable_record_is_an_error_not_a_guess(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    live = parse_domain(domain("<disk type='volume'><source pool='p' volume='v'/><target dev='vda'/></disk>"))
    for bad in ("not json", '["a list"]', '{"vda": 3}'):
        (run / VOLUMES_FILE).write_text(bad)
        with pytest.raises(OperationFailedError, match=VOLUMES_FILE):
            paths_in_use(live, run)
