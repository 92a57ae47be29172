"""Overlays written directly (virt_qemu.qcow2, virt_qemu.overlays): the bytes qemu-img writes.

Each overlay is compared byte for byte with what ``qemu-img create -f qcow2 -u -F FMT -b
BACKING`` makes for the same size and backing, read back by ``qemu-img check`` and
``qemu-img info``, and written through with ``qemu-io`` onto a real backing image; sizes
whose layout the module does not write go to ``qemu-img`` and still come out right. A full
disk mid-overlay is pinned by the guest tests (test_qemu_external_snapshots).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from snapshot_guests import make_image, qemu_io
from virt_qemu.overlays import create_overlay, virtual_size
from virt_qemu.qcow2 import overlay_image

from virtcore.errors import ConfigUnsupportedError, OperationFailedError

pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-utils is not installed")

MIB, GIB, TIB = 1 << 20, 1 << 30, 1 << 40


def _qemu_img_overlay(path: Path, size: int, backing: str, fmt: str) -> bytes:
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-u", "-F", fmt, "-b", backing, "--", str(path),
         str(size)],
        check=True,
    )  # fmt: skip
    return path.read_bytes()


def _info(path: Path) -> dict[str, object]:
    out = subprocess.run(
        ["qemu-img", "info", "-U", "--output=json", "--", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(out.stdout)
    assert isinstance(info, dict)
    return info


@pytest.mark.parametrize(
    "size", [512, 64 * 1024, 16 * MIB, 512 * MIB, 512 * MIB + 512, GIB, 100 * GIB, 4 * TIB]
)
@pytest.mark.parametrize(
    ("fmt", "backing"),
    [("qcow2", "/images/base.qcow2"), ("raw", "/images/" + "b" * 900), ("qcow2", "/a dir/with 'quotes'")],
    ids=["qcow2", "raw-long-name", "odd-name"],
)
def test_written_overlay_is_byte_for_byte_qemu_img_s(
    tmp_path: Path, size: int, fmt: str, backing: str
) -> None:
    want = _qemu_img_overlay(tmp_path / "theirs", size, backing, fmt)
    ours = tmp_path / "ours"
    create_overlay(str(ours), backing, fmt, size)
    assert ours.read_bytes() == want
    writes = overlay_image(size, backing, fmt)
    assert writes is not None  # written here, not by qemu-img


@pytest.mark.parametrize(
    ("size", "backing"),
    [(4 * TIB + 512 * MIB, "/images/base"), (16 * MIB + 1, "/images/base"), (16 * MIB, "/" + "n" * 1100)],
    ids=["l1-beyond-a-cluster", "not-whole-sectors", "name-too-long"],
)
def test_layouts_not_written_here_go_to_qemu_img(tmp_path: Path, size: int, backing: str) -> None:
    assert overlay_image(size, backing, "qcow2") is None
    ours = tmp_path / "ours"
    try:
        create_overlay(str(ours), backing, "qcow2", size)
    except OperationFailedError as exc:  # qemu-img's own refusal, named and nothing left
        assert str(ours) in str(exc) and not ours.exists()
        return
    info = _info(ours)
    assert info["backing-filename"] == backing and int(str(info["virtual-size"])) >= size


def test_written_overlay_passes_qemu_img_check_and_holds_writes_over_its_base(tmp_path: Path) -> None:
    base = make_image(tmp_path, "base.qcow2")
    assert qemu_io(base, "write -P 0x11 0 128k").returncode == 0
    top = tmp_path / "top.qcow2"
    create_overlay(str(top), str(base), "qcow2", virtual_size(str(base), "qcow2"))
    check = subprocess.run(["qemu-img", "check", "--", str(top)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    info = _info(top)
    assert info["virtual-size"] == 16 * MIB and info["backing-filename"] == str(base)
    assert info["backing-filename-format"] == "qcow2"
    assert qemu_io(top, "write -P 0x22 64k 64k").returncode == 0
    assert "failed" not in qemu_io(top, "read -P 0x11 0 64k").stdout  # the base shows through
    assert "failed" not in qemu_io(top, "read -P 0x22 64k 64k").stdout
    assert "failed" not in qemu_io(base, "read -P 0x11 64k 64k").stdout  # the base is untouched
    assert subprocess.run(["qemu-img", "check", "--", str(top)], capture_output=True).returncode == 0


def test_sizes_are_read_from_the_base_images(tmp_path: Path) -> None:
    qcow = make_image(tmp_path, "a.qcow2")
    raw = make_image(tmp_path, "a.raw", fmt="raw")
    subprocess.run(["qemu-img", "resize", "-q", "--", str(qcow), "48M"], check=True)
    assert virtual_size(str(qcow), "qcow2") == 48 * MIB
    assert virtual_size(str(raw), "raw") == 16 * MIB
    odd = tmp_path / "odd"  # not a qcow2 image at all: qemu-img's answer, as for any other format
    odd.write_bytes(b"x" * 4096)
    with pytest.raises(OperationFailedError):
        virtual_size(str(odd), "qcow2")


def test_an_existing_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    there = tmp_path / "there"
    there.write_bytes(b"keep")
    with pytest.raises(ConfigUnsupportedError, match="already exists"):
        create_overlay(str(there), "/images/base", "qcow2", 16 * MIB)
    assert there.read_bytes() == b"keep"
