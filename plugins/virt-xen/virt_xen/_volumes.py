"""Volume disks under Xen: ``<disk type='volume'>`` resolved to the file or block device xl gets,
and which running domains use a path (what the host storage driver asks).

xl knows no storage pools: before ``xl create`` every ``<source pool=... volume=...>`` is
resolved through the connection's ``resolve_volume``
(:func:`virtcore.hookspecs.virt_connect_open`) into a ``file`` disk (or a ``block`` disk
for a block device), which is what the xl config describes. The live XML keeps the
volume disk, as libvirt's does; where each resolved is kept in the domain's runtime
status (``volumes``, by target device), so :func:`paths_in_use` can answer for domains
any process started (backing chains included, :func:`virtcore.images.backing_chain`).
"""

from __future__ import annotations

import copy
import os
import stat
from collections.abc import Callable, Mapping
from typing import Any

from lxml import etree

from virtcore.errors import (
    ConfigUnsupportedError,
    SystemError_,
)
from virtcore.images import backing_chain
from virtcore.storage import VolumeResolver, resolve_volume_path
from virtcore.xml import DomainDef, parse_domain

__all__ = ["PLACEHOLDER", "Resolve", "for_checking", "paths_in_use", "resolve_volume_disks"]

#: A connection's ``resolve_volume(pool, volume) -> path``.
Resolve = VolumeResolver


def _resolve_one(disk: Any, resolve: Resolve | None, domain: str) -> str:
    tgt = disk.find("target")
    where = f"disk '{tgt.get('dev') if tgt is not None else '?'}' of domain '{domain}'"
    src = disk.find("source")
    pool = src.get("pool") if src is not None else None
    volume = src.get("volume") if src is not None else None
    return resolve_volume_path(resolve, pool, volume, where)


#: What a volume disk stands as while a definition is only checked (nothing is resolved).
PLACEHOLDER = "/nonexistent/virtcore-volume"


def _rewrite(d: DomainDef, where: Callable[[Any], tuple[str, str]]) -> tuple[DomainDef, dict[str, str]]:
    """``d`` with each volume disk made a ``file``/``block`` disk at ``where(disk)`` -> (kind, path)."""
    if d.raw is None or not any(disk.type == "volume" for disk in d.disks):
        return d, {}
    root = copy.deepcopy(d.raw)
    paths: dict[str, str] = {}
    for disk in root.findall("devices/disk"):
        if disk.get("type") != "volume":
            continue
        kind, path = where(disk)
        src = disk.find("source")
        if src is None:
            src = etree.SubElement(disk, "source")
        disk.set("type", kind)
        for name in list(src.attrib):
            del src.attrib[name]
        src.set("dev" if kind == "block" else "file", path)
        tgt = disk.find("target")
        paths[tgt.get("dev", "") if tgt is not None else ""] = path
    return parse_domain(etree.tostring(root, encoding="unicode")), paths


def for_checking(d: DomainDef) -> DomainDef:
    """``d`` with its volume disks as placeholder files: what checks a definition xl must express."""
    return _rewrite(d, lambda disk: ("file", PLACEHOLDER))[0]


def resolve_volume_disks(d: DomainDef, resolve: Resolve | None) -> tuple[DomainDef, dict[str, str]]:
    """``d`` with every volume disk turned into the file or block disk it resolves to, and the
    resolved paths by target device (``d`` itself and ``{}`` when it has no volume disk).

    :raises NoStoragePoolError, NoStorageVolError: the pool or volume is unknown, naming it,
        the disk and the domain.
    :raises NoSupportError: the connection has no storage driver.
    :raises ConfigUnsupportedError: a ``<source>`` lacks its pool or volume, or the volume
        is neither a local file nor a block device.
    :raises SystemError_: the volume cannot be looked at.
    """

    def where(disk: Any) -> tuple[str, str]:
        path = _resolve_one(disk, resolve, d.name)
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            raise SystemError_(
                f"cannot look at volume {path!r} of domain '{d.name}': {exc.strerror}"
            ) from None
        if stat.S_ISBLK(mode):
            return "block", path
        if stat.S_ISREG(mode):
            return "file", path
        raise ConfigUnsupportedError(
            f"volume {path!r} of domain '{d.name}' is neither a file nor a block device"
        )

    return _rewrite(d, where)


def paths_in_use(live_xml: str, volumes: Mapping[str, str]) -> set[str]:
    """The real paths a running domain uses: its live file and block disk sources, where its
    volume disks resolved when it started (``volumes``, by target device), and the qcow2
    backing chains of those images."""
    live = parse_domain(live_xml)
    direct: list[str] = []
    for disk in live.disks:
        if disk.type in ("file", "block") and disk.source:
            direct.append(disk.source)
        elif disk.type == "volume" and disk.target_dev in volumes:
            direct.append(volumes[disk.target_dev])
    used: set[str] = set()
    for path in direct:
        real = os.path.realpath(path)
        used.add(real)
        used.update(backing_chain(real))
    return used
