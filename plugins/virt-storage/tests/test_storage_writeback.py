"""Writing a new volume's data out while it is being made (virt_storage.writeback), on real files."""

from __future__ import annotations

import fcntl
import os
import struct
import threading
import time
from pathlib import Path

import pytest
from virt_storage.writeback import fill_durably

MiB = 1 << 20
#: ``FS_IOC_FIEMAP`` and the extent flag of data still only in the page cache (linux/fiemap.h).
FS_IOC_FIEMAP = 0xC020660B
FIEMAP_EXTENT_DELALLOC = 0x4
_EXTENTS = 64


def _extent_flags(path: Path) -> list[int]:
    """The flags of the file's extents, as the file system maps them (FIEMAP)."""
    request = bytearray(struct.pack("=QQIIII", 0, (1 << 64) - 1, 0, 0, _EXTENTS, 0) + bytes(56 * _EXTENTS))
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, FS_IOC_FIEMAP, request)
    finally:
        os.close(fd)
    (mapped,) = struct.unpack_from("=I", request, 20)
    return [struct.unpack_from("=I", request, 32 + 56 * i + 40)[0] for i in range(mapped)]


def _only_in_memory(path: Path) -> bool:
    """Whether some of the file's data is not written out yet (delayed allocation)."""
    return any(flags & FIEMAP_EXTENT_DELALLOC for flags in _extent_flags(path))


def _write(path: Path, data: bytes) -> None:
    with open(path, "r+b") as f:
        f.write(data)


def test_the_data_goes_to_disk_while_the_file_is_still_being_filled(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_bytes(os.urandom(4 * MiB))
    try:
        if not _only_in_memory(plain):
            pytest.skip("this file system shows no delayed allocation (FIEMAP) to tell written-out data by")
    except OSError as exc:
        pytest.skip(f"this file system has no FIEMAP: {exc.strerror}")
    target = tmp_path / "volume"
    target.touch()
    seen: list[bool] = []

    def fill() -> None:
        _write(target, os.urandom(4 * MiB))
        deadline = time.monotonic() + 20  # far below the kernel's own 30 s before it writes dirty data out
        while _only_in_memory(target) and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append(_only_in_memory(target))

    fill_durably(str(target), fill)
    assert seen == [False]  # written out before fill returned, not by the final sync


def test_the_data_is_synced_through_the_file_after_it_is_filled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "volume"
    target.touch()
    events: list[str] = []
    real = os.fdatasync

    def fdatasync(fd: int) -> None:
        assert os.fstat(fd).st_ino == target.stat().st_ino
        events.append("synced")
        real(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    fill_durably(str(target), lambda: (_write(target, b"x" * MiB), events.append("filled")))
    assert events == ["filled", "synced"]
    assert target.read_bytes() == b"x" * MiB


def test_a_file_the_filler_replaced_is_synced_under_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "volume"
    target.touch()
    synced: list[int] = []
    real = os.fdatasync

    def fdatasync(fd: int) -> None:
        synced.append(os.fstat(fd).st_ino)
        real(fd)

    def replace() -> None:  # as a tool that writes a new file and renames it over the old one
        new = tmp_path / "new"
        new.write_bytes(b"y" * MiB)
        os.replace(new, target)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    fill_durably(str(target), replace)
    assert synced == [target.stat().st_ino]


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_a_fill_that_fails_stops_the_write_out_and_syncs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "volume"
    target.touch()
    synced: list[int] = []
    monkeypatch.setattr(os, "fdatasync", synced.append)
    before = _open_fds()

    def fail() -> None:
        _write(target, b"z" * MiB)
        raise RuntimeError("qemu-img failed")

    with pytest.raises(RuntimeError, match="qemu-img failed"):
        fill_durably(str(target), fail)
    assert synced == []
    assert _open_fds() == before
    assert not [t for t in threading.enumerate() if t.name == "virt-storage-writeback"]


def test_a_missing_file_is_an_os_error_before_anything_runs(tmp_path: Path) -> None:
    ran: list[bool] = []
    with pytest.raises(FileNotFoundError):
        fill_durably(str(tmp_path / "gone"), lambda: ran.append(True))
    assert ran == []


def test_without_early_write_out_no_thread_runs_and_the_data_is_still_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "volume"
    target.touch()
    events: list[str] = []
    real = os.fdatasync

    def fdatasync(fd: int) -> None:
        events.append("synced")
        real(fd)

    def fill() -> None:
        _write(target, b"w" * MiB)
        events.append("filled")
        assert not [t for t in threading.enumerate() if t.name == "virt-storage-writeback"]

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    fill_durably(str(target), fill, early=False)
    assert events == ["filled", "synced"]
