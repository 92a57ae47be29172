"""virtcore.images: a qcow2 image's backing chain from its headers, on real images made by qemu-img."""

from __future__ import annotations

import subprocess
from pathlib import Path

from virtcore.images import MAX_CHAIN, backing_chain


def qcow2(path: Path, backing: str | None = None) -> Path:
    argv = ["qemu-img", "create", "-q", "-f", "qcow2"]
    if backing is not None:
        argv += ["-b", backing, "-F", "qcow2"]
    subprocess.run([*argv, "--", str(path), "1M"], check=True)
    return path


def test_the_backing_chain_is_followed_through_relative_and_absolute_names(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    base = qcow2(tmp_path / "base.qcow2")
    mid = qcow2(tmp_path / "sub" / "mid.qcow2", str(base))  # absolute
    top = qcow2(tmp_path / "sub" / "top.qcow2", "mid.qcow2")  # relative to its directory
    assert backing_chain(str(top)) == [str(mid), str(base)]
    assert backing_chain(str(base)) == []
    raw = tmp_path / "raw.img"
    raw.write_bytes(b"\0" * 4096)
    assert backing_chain(str(raw)) == []
    assert backing_chain(str(tmp_path / "missing.qcow2")) == []


def test_a_chain_deeper_than_qemu_allows_is_cut_at_its_limit(tmp_path: Path) -> None:
    images = [qcow2(tmp_path / "0.qcow2")]
    for i in range(1, MAX_CHAIN + 3):
        images.append(qcow2(tmp_path / f"{i}.qcow2", f"{i - 1}.qcow2"))
    chain = backing_chain(str(images[-1]))
    assert len(chain) == MAX_CHAIN
    assert chain == [str(p) for p in reversed(images[-MAX_CHAIN - 1 : -1])]
