"""What the snapshot tests of real guests share: the XML they take, the images they make and read.

The fixtures over these (``qcow2_guest``, ``full_fs``) are in ``conftest.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path

from virt_qemu import console_log
from virt_qemu.testguest import last_tick, wait_for, wait_marker

import virtcore

__all__ = ["boot", "disk_xml", "fill_fs", "image_tags", "make_image", "qemu_io", "snap_xml"]


def snap_xml(name: str) -> str:
    """A new snapshot called ``name``."""
    return f"<domainsnapshot><name>{name}</name></domainsnapshot>"


def disk_xml(path: Path, fmt: str = "qcow2") -> str:
    """Disk ``vda`` on the image ``path`` of format ``fmt``."""
    return (
        f"<disk type='file' device='disk'><driver name='qemu' type='{fmt}'/>"
        f"<source file='{path}'/><target dev='vda' bus='virtio'/></disk>"
    )


def make_image(tmp_path: Path, name: str = "disk.qcow2", fmt: str = "qcow2") -> Path:
    """A 16 MiB image made by qemu-img in ``tmp_path``."""
    path = tmp_path / name
    subprocess.run(["qemu-img", "create", "-q", "-f", fmt, str(path), "16M"], check=True)
    return path


def image_tags(path: Path) -> dict[str, int]:
    """The image's snapshots: name -> size of the VM state they hold."""
    out = subprocess.run(
        ["qemu-img", "info", "-U", "--output=json", str(path)], check=True, capture_output=True, text=True
    )
    return {s["name"]: s["vm-state-size"] for s in json.loads(out.stdout).get("snapshots", [])}


def qemu_io(path: Path, command: str) -> subprocess.CompletedProcess[str]:
    """``qemu-io -c COMMAND`` on the qcow2 image ``path``."""
    return subprocess.run(
        ["qemu-io", "-f", "qcow2", "-c", command, str(path)], capture_output=True, text=True, check=False
    )


def boot(dom: virtcore.Domain) -> Path:
    """Start the ticker guest and wait for two ticks; its console log."""
    dom.start()
    log = console_log(dom)
    wait_marker(log)
    wait_for(lambda: last_tick(log) >= 2, 30, "two ticks")
    return log


def fill_fs(directory: Path) -> None:
    """Fill the file system of ``directory`` until writes fail."""
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 4096, 1):  # down to the last byte
            try:
                while os.write(fd, b"\xff" * size):
                    pass
            except OSError:
                pass
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
