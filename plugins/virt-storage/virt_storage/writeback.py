"""Getting a new volume's data to disk while ``qemu-img`` is still writing it.

A volume is durable when its create or clone returns: its data is synced before
its name appears (:mod:`virt_storage.volumes`). ``qemu-img convert`` writes
through the page cache and syncs nothing, so a sync after it would wait for the
whole copy to reach the disk: a second pass over the data, after the first.
:func:`fill_durably` overlaps the two: while the file is being written, a thread
asks the kernel every few milliseconds to start writing out the pages written
so far (``sync_file_range`` with ``SYNC_FILE_RANGE_WRITE``: start, never wait),
so the final ``fdatasync`` waits only for the tail.

Starting write-out early changes when the data reaches the disk, never what
reaches it: durability rests on the final ``fdatasync`` alone. Where
``sync_file_range`` does not exist (not Linux), nothing starts early and the
final sync does it all.
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
from collections.abc import Callable

__all__ = ["fill_durably"]

#: ``SYNC_FILE_RANGE_WRITE`` (linux/fs.h): start writing out dirty pages, do not wait for them.
_START_WRITE = 2
#: How often the pages written so far are handed to the disk while the file is written (s).
#: Measured on a 32 MiB clone on a loaded 2-core machine, 41 rounds: 2 ms and 5 ms alike
#: (1.29x and 1.26x bare qemu-img), 10 and 20 ms worse (1.37x, 1.43x), syncing only at
#: the end 1.53x. Each start costs CPU the copy also wants; 5 ms asks half as often as 2.
_EVERY = 0.005

StartWrite = Callable[[int], object]


@functools.cache
def _start_write() -> StartWrite | None:
    """``start(fd)``: start writing out every dirty page of ``fd`` (``None``: not on this system)."""
    try:
        sync_file_range = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    sync_file_range.restype = ctypes.c_int

    def start(fd: int) -> object:
        return sync_file_range(fd, 0, 0, _START_WRITE)  # a write error shows in the final fdatasync

    return start


def _write_out_until(stop: threading.Event, fd: int, start: StartWrite) -> None:
    while not stop.wait(_EVERY):
        start(fd)


def fill_durably(path: str, fill: Callable[[], None], *, early: bool = True) -> None:
    """Run ``fill()``, which writes the existing file at ``path``; return once its data is on disk.

    ``early``: write the data out while ``fill`` runs (a thread; worth its start,
    which waits for a turn on the CPU, when ``fill`` leaves much data unsynced,
    as ``qemu-img convert`` does, not when it syncs what it wrote itself, as
    ``qemu-img create`` does).

    The data (and what reading it back needs: size, block map) is synced
    through a descriptor opened before ``fill`` runs, so a write-out error that
    happened meanwhile is reported too. An exception from ``fill`` stops the
    write-out and propagates; nothing is synced then.

    :raises OSError: ``path`` cannot be opened or its data cannot be written.
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        start = _start_write() if early else None
        stop = threading.Event()
        thread = None
        if start is not None:
            thread = threading.Thread(
                target=_write_out_until, args=(stop, fd, start), name="virt-storage-writeback", daemon=True
            )
            thread.start()
        try:
            fill()
        finally:
            stop.set()
            if thread is not None:
                thread.join()
        _sync_data(fd, path)
    finally:
        os.close(fd)


def _sync_data(fd: int, path: str) -> None:
    """fdatasync the file ``fd`` opened at ``path``, or whatever now has that name if ``fill`` replaced it."""
    mine, there = os.fstat(fd), os.stat(path, follow_symlinks=False)
    if (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino):
        os.fdatasync(fd)
        return
    other = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        os.fdatasync(other)
    finally:
        os.close(other)
