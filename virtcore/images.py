"""Disk images as files: what any driver may read from an image's header without qemu-img.

Only what several drivers need and that needs no tool: the backing chain of a qcow2
image, which a hypervisor driver follows to tell which files a running guest reads
(:func:`virtcore.hookspecs.virt_domain_users_of_path`).
"""

from __future__ import annotations

import os
import struct

__all__ = ["MAX_CHAIN", "backing_chain"]

#: How deep a backing chain is followed (QEMU's own limit is 16 layers).
MAX_CHAIN = 16
_QCOW_MAGIC = b"QFI\xfb"


def backing_chain(path: str) -> list[str]:
    """The images under the qcow2 image ``path`` (its backing file, that one's...), nearest first.

    Reads the headers only; a file that is not qcow2, or cannot be read, ends the chain.
    A relative backing name is taken relative to the directory of the image naming it.
    """
    chain: list[str] = []
    current = path
    for _ in range(MAX_CHAIN):
        backing = _qcow2_backing(current)
        if backing is None:
            break
        if not os.path.isabs(backing):
            backing = os.path.join(os.path.dirname(current), backing)
        backing = os.path.realpath(backing)
        if backing in chain or backing == os.path.realpath(path):
            break  # a loop: qemu refuses it, nothing more to find
        chain.append(backing)
        current = backing
    return chain


def _qcow2_backing(path: str) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        head = os.pread(fd, 20, 0)
        if len(head) < 20 or head[:4] != _QCOW_MAGIC:
            return None
        offset, size = struct.unpack(">QI", head[8:20])
        if offset == 0 or size == 0 or size > 1023:
            return None
        name = os.pread(fd, size, offset)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(name) != size or b"\0" in name:
        return None
    return os.fsdecode(name)
