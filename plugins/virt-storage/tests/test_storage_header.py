"""The header probe agrees with qemu-img info, or defers to it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from virt_storage.header import quick_probe


def qemu_img_info(path: Path) -> tuple[str, int]:
    out = subprocess.run(
        ["qemu-img", "info", "--output=json", "-U", str(path)], capture_output=True, text=True, check=True
    ).stdout
    data = json.loads(out)
    return data["format"], data["virtual-size"]


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("raw", []),
        ("qcow2", []),
        ("qcow2", ["-o", "compat=0.10"]),
        ("qcow", []),
        ("qed", []),
        ("vmdk", []),
        ("vmdk", ["-o", "subformat=monolithicFlat"]),
        ("vdi", []),
        ("vpc", []),
        ("vpc", ["-o", "subformat=fixed"]),
        ("vhdx", []),
        ("parallels", []),
    ],
)
def test_quick_probe_agrees_with_qemu_img_or_defers(tmp_path: Path, fmt: str, options: list[str]) -> None:
    path = tmp_path / "image"
    subprocess.run(["qemu-img", "create", "-q", "-f", fmt, *options, str(path), "3M"], check=True)
    found = quick_probe(str(path))
    if fmt in ("raw", "qcow2"):
        assert found == qemu_img_info(path)
    else:
        assert found is None


def test_a_raw_size_is_rounded_up_to_sectors_as_qemu_reports_it(tmp_path: Path) -> None:
    path = tmp_path / "odd"
    path.write_bytes(b"x" * 5000)
    assert quick_probe(str(path)) == qemu_img_info(path) == ("raw", 5120)
