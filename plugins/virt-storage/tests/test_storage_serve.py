"""Real volumes (files made by qemu-img) uploaded and downloaded by Debian's virsh through ``virtcore serve``.

virsh -> libvirt's C remote driver -> STREAM messages -> virtcore serve -> virt-storage -> the file.
As libvirt's, the bytes are the volume file's own (a qcow2 volume's are its image file's).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from serve_support import VIRSH, Served, virsh

pytestmark = [
    pytest.mark.skipif(VIRSH is None, reason="Debian's virsh (libvirt-clients) is not installed"),
    pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-utils is not installed"),
]


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_virsh_streams_a_volume_both_ways(tmp_path: Path) -> None:
    root, sockets = tmp_path / "root", tmp_path / "sockets"
    root.mkdir()
    sockets.mkdir()
    # libvirt's clients send no /embed URI to a daemon: the embedded root is served as storage:///system
    server = Served(
        sockets, [], read_only_socket=False, aliases={"storage:///system": f"storage:///embed?root={root}"}
    )
    try:
        uri = server.uri("storage:///system")
        target = root / "pool"
        data = os.urandom(2 * 1024 * 1024 + 5)
        src, out = tmp_path / "data.bin", tmp_path / "out.bin"
        src.write_bytes(data)
        ok(virsh(uri, f"pool-define-as p dir --target {target}; pool-build p; pool-start p"))
        ok(virsh(uri, "vol-create-as", "p", "a.img", "8M", "--format", "raw"))
        ok(virsh(uri, "vol-upload", "a.img", str(src), "--pool", "p", "--offset", "4096"))
        on_disk = (target / "a.img").read_bytes()
        assert on_disk[4096 : 4096 + len(data)] == data and on_disk[:4096] == bytes(4096)
        info = json.loads(
            subprocess.run(
                ["qemu-img", "info", "--output=json", str(target / "a.img")], check=True, capture_output=True
            ).stdout
        )
        assert info["format"] == "raw" and info["virtual-size"] == 8 * 1024 * 1024
        length = str(len(data))
        ok(
            virsh(
                uri, "vol-download", "a.img", str(out), "--pool", "p", "--offset", "4096", "--length", length
            )
        )
        assert out.read_bytes() == data
        ok(virsh(uri, "vol-create-as", "p", "b.qcow2", "8M", "--format", "qcow2"))
        ok(virsh(uri, "vol-download", "b.qcow2", str(out), "--pool", "p", "--length", "4"))
        assert out.read_bytes() == b"QFI\xfb"  # a qcow2 volume's bytes are its image file's
        ok(virsh(uri, "vol-delete", "a.img", "--pool", "p"))
        assert not (target / "a.img").exists()
    finally:
        log = server.stop()
    assert "Traceback" not in log, log
