"""Which files a running guest has open: what the storage driver asks before a volume goes.

A running domain uses the sources of its live definition's ``file`` and
``block`` disks, the paths its ``type='volume'`` disks resolved to when they
were started or hot-plugged (recorded beside ``status.xml`` as
``volumes.json``, so every process sharing the state knows them), and the
backing chains of those images as far as their qcow2 headers name them.
:func:`paths_in_use` answers from that; :class:`~virt_qemu.connection.QemuConnection`
serves :func:`virtcore.hookspecs.virt_domain_users_of_path` with it.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
from collections.abc import Mapping
from pathlib import Path

from virt_qemu.volumes import ResolvedVolume
from virtcore.errors import OperationFailedError
from virtcore.files import write_atomically
from virtcore.xml import DomainDef

__all__ = ["VOLUMES_FILE", "backing_chain", "paths_in_use", "record_volumes"]

#: The file, in a running domain's run directory, naming where its volume disks resolved.
VOLUMES_FILE = "volumes.json"
#: How deep a backing chain is followed (qemu's own limit is 16 layers).
MAX_CHAIN = 16
_QCOW_MAGIC = b"QFI\xfb"


def record_volumes(run_dir: Path, volumes: Mapping[str, ResolvedVolume]) -> None:
    """Add ``volumes`` (by target device) to the record of ``run_dir``'s domain.

    :raises SystemError_: the record cannot be written, naming it.
    :raises OperationFailedError: the record there cannot be read.
    """
    if not volumes:
        return
    known = _recorded(run_dir)
    known.update({dev: vol.path for dev, vol in volumes.items()})
    write_atomically(run_dir / VOLUMES_FILE, json.dumps(known, sort_keys=True).encode(), sync=False)


def _recorded(run_dir: Path) -> dict[str, str]:
    """The record of ``run_dir`` (none yet: empty).

    :raises OperationFailedError: it cannot be read or is not a record: who uses what cannot be told.
    """
    path = run_dir / VOLUMES_FILE
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise OperationFailedError(
            f"cannot read where the volume disks resolved from '{path}': {exc}"
        ) from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise OperationFailedError(f"'{path}' is not a record of volume disks")
    return data


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


def paths_in_use(live: DomainDef, run_dir: Path) -> set[str]:
    """The real paths the running domain of live definition ``live`` uses (see the module doc).

    :raises OperationFailedError: the record of its volume disks cannot be read.
    """
    volumes = _recorded(run_dir)
    direct: list[str] = []
    for disk in live.disks:
        if disk.type in ("file", "block") and disk.source:
            direct.append(disk.source)
        elif disk.type == "volume":
            path = volumes.get(disk.target_dev)
            if path is not None:
                direct.append(path)
    used: set[str] = set()
    for path in direct:
        real = os.path.realpath(path)
        used.add(real)
        with contextlib.suppress(OSError):
            used.update(backing_chain(real))
    return used
