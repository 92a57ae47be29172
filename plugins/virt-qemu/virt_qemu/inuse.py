"""Which files a running guest has open: what the storage driver asks before a volume goes.

A running domain uses the sources of its live definition's ``file`` and
``block`` disks, the paths its ``type='volume'`` disks resolved to when they
were started or hot-plugged (recorded beside ``status.xml`` as
``volumes.json``, so every process sharing the state knows them), and the
backing chains of those images as far as their qcow2 headers name them
(:func:`virtcore.images.backing_chain`).
:func:`paths_in_use` answers from that; :class:`~virt_qemu.connection.QemuConnection`
serves :func:`virtcore.hookspecs.virt_domain_users_of_path` with it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from virt_qemu.volumes import ResolvedVolume
from virtcore.errors import OperationFailedError
from virtcore.files import write_atomically
from virtcore.images import backing_chain
from virtcore.xml import DomainDef

__all__ = ["VOLUMES_FILE", "paths_in_use", "record_volumes"]

#: The file, in a running domain's run directory, naming where its volume disks resolved.
VOLUMES_FILE = "volumes.json"


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
