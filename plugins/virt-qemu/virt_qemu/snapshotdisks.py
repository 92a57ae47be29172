"""What a snapshot does to a domain's images: which disks take one (internal, or external
layers), and the tools of internal ones.

``qemu-img snapshot`` for the images of a guest that is off (each image named as
``json:`` after ``--``, so nothing a user wrote is read as an option), QMP jobs for a
running one (``snapshot-save``/``-load``/``-delete``, waited for and dismissed), and
the block nodes QEMU has the images open under.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from virt_qemu import qmpjob
from virt_qemu.hoststate import SAVE_TIMEOUT, Dom
from virtcore.errors import ConfigUnsupportedError, OperationFailedError, OperationTimeoutError, VirtError

if TYPE_CHECKING:
    from virt_qemu.monitor import Monitor
    from virtcore.xml import DomainDef, SnapshotDef
    from virtcore.xml.snapshot import SnapshotDisk

__all__ = [
    "JOB_ID",
    "Layer",
    "block_nodes",
    "disk_images",
    "disk_plan",
    "hardware_changed",
    "image_arg",
    "nodes_or_none",
    "overlay_path",
    "qemu_img_snapshot",
    "run_job",
    "tags",
    "wait_job",
]

#: The QMP job id of this driver's snapshot jobs (one at a time per guest, under ``dom.job``).
JOB_ID = "virtcore-snapshot"


def image_arg(path: str) -> str:
    """``path`` as a qemu-img image argument that pins the format and is never an option."""
    return "json:" + json.dumps({"driver": "qcow2", "file": {"driver": "file", "filename": path}})


def qemu_img_snapshot(op: str, name: str, path: str) -> None:
    """``qemu-img snapshot -c|-a|-d NAME`` on the qcow2 image ``path`` (of a guest that is off).

    :raises OperationFailedError: qemu-img failed; its message, the snapshot and the image named.
    """
    what = {"-c": "create", "-a": "apply", "-d": "delete"}[op]
    try:
        out = subprocess.run(
            ["qemu-img", "snapshot", "-q", op, name, "--", image_arg(path)],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=SAVE_TIMEOUT,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OperationFailedError(f"cannot {what} snapshot '{name}' of '{path}': {exc}") from None
    if out.returncode != 0:
        err = out.stderr.strip().removeprefix("qemu-img: ") or f"exit status {out.returncode}"
        raise OperationFailedError(f"cannot {what} snapshot '{name}' of '{path}': {err}")


def run_job(
    mon: Monitor, cmd: str, args: dict[str, Any], what: str, meanwhile: Callable[[], None] | None = None
) -> None:
    """Start QMP job ``cmd`` as :data:`JOB_ID`, wait for it to conclude (woken by its events,
    :mod:`virt_qemu.qmpjob`), dismiss it; ``meanwhile`` is called while it runs.

    :raises OperationFailedError: QEMU refused it or the job failed (its error, prefixed by ``what``).
    :raises OperationTimeoutError: it still runs after :data:`~virt_qemu.host.SAVE_TIMEOUT` seconds.
    """
    qmpjob.run_job(mon, cmd, {"job-id": JOB_ID, **args}, JOB_ID, what, meanwhile=meanwhile)


def wait_job(mon: Monitor) -> str | None:
    """Wait for :data:`JOB_ID` to conclude and dismiss it; its error (None: it succeeded or is gone)."""
    deadline = time.monotonic() + SAVE_TIMEOUT
    delay = 0.005
    while True:
        jobs = mon.cmd("query-jobs", timeout=10)
        job = next((j for j in jobs if j.get("id") == JOB_ID), None)
        if job is None:
            return None
        if job.get("status") in ("concluded", "null"):
            with contextlib.suppress(VirtError):
                mon.cmd("job-dismiss", {"id": JOB_ID}, timeout=10)
            err = job.get("error")
            return None if err is None else str(err)
        if time.monotonic() > deadline:
            raise OperationTimeoutError(f"the QEMU job {JOB_ID} did not finish")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


class Layer(NamedTuple):
    """One disk of an external snapshot: the image it freezes and the overlay put on it."""

    target: str
    base: str
    #: the base image's format
    fmt: str
    overlay: str


def overlay_path(base: str, name: str) -> str:
    """libvirt's name for snapshot ``name``'s overlay on ``base``: its suffix replaced by the name
    (``disk.qcow2`` -> ``disk.NAME``), or the name appended when it has none."""
    head, _, tail = base.rpartition("/")
    stem = tail.rpartition(".")[0] if "." in tail.lstrip(".") else tail
    return f"{head}/{stem}.{name}"


def disk_plan(
    d: DomainDef, snap: SnapshotDef, name: str, external: bool = False
) -> tuple[tuple[SnapshotDisk, ...], list[str], list[Layer]]:
    """The snapshot's disks in the domain's order (each disk listed, as libvirt aligns them), the
    qcow2 images that take an internal snapshot and the layers of the external ones.

    ``external``: disks not named default to an external snapshot (disk-only or memory in a
    file), else to an internal one.

    :raises ConfigUnsupportedError: a disk named twice or unknown, an internal snapshot of a disk
        that is not a qcow2 file, an external one of a disk that is not a file or into another
        format than qcow2 or onto an existing file, internal and external disks mixed.
    """
    import attrs

    from virt_qemu.overlays import BASE_FORMATS, check_path
    from virtcore.xml.snapshot import SnapshotDisk, SnapshotDiskSource, SnapshotDriver

    given: dict[str, SnapshotDisk] = {}
    by_source = {x.source: x.target_dev for x in d.disks if x.source}
    for disk in snap.disks:
        assert disk.name is not None  # the model requires it
        target = disk.name if any(x.target_dev == disk.name for x in d.disks) else by_source.get(disk.name)
        if target is None:
            raise ConfigUnsupportedError(f"no disk named '{disk.name}' in domain '{d.name}'")
        if target in given:
            raise ConfigUnsupportedError(f"disk '{target}' specified twice in snapshot '{name}'")
        given[target] = attrs.evolve(disk, name=target)
    out: list[SnapshotDisk] = []
    images: list[str] = []
    layers: list[Layer] = []
    for x in d.disks:
        usable = not (x.device == "cdrom" or x.readonly or x.source is None)
        default = "no" if not usable else "external" if external else "internal"
        disk = given.get(x.target_dev) or SnapshotDisk(name=x.target_dev, snapshot=default)
        if disk.snapshot is None:
            disk = attrs.evolve(disk, snapshot=default)
        fmt = x.driver_type or "raw"
        if disk.snapshot == "external":
            if x.type != "file" or x.source is None or disk.type != "file":
                raise ConfigUnsupportedError(
                    f"external snapshot for disk {x.target_dev} unsupported for storage type {x.type}"
                )
            new_fmt = "qcow2" if disk.driver is None or disk.driver.type is None else disk.driver.type
            if new_fmt != "qcow2":
                raise ConfigUnsupportedError(
                    f"external snapshot format for disk {x.target_dev} is unsupported: {new_fmt}"
                )
            if fmt not in BASE_FORMATS:
                raise ConfigUnsupportedError(
                    f"external snapshot of disk {x.target_dev} unsupported on a {fmt} image"
                )
            target = disk.file or overlay_path(x.source, name)
            check_path(target, f"external snapshot file for disk {x.target_dev}")
            if os.path.lexists(target) or any(o.overlay == target for o in layers):
                raise ConfigUnsupportedError(
                    f"external snapshot file for disk {x.target_dev} already exists and is not a "
                    f"block device: {target}"
                )
            layers.append(Layer(x.target_dev, x.source, fmt, target))
            disk = attrs.evolve(
                disk, type="file", source=SnapshotDiskSource(file=target), driver=SnapshotDriver(type="qcow2")
            )
        elif disk.snapshot == "internal":
            if x.type not in ("file", "block") or x.source is None:
                raise ConfigUnsupportedError(
                    f"internal snapshot for disk {x.target_dev} unsupported for storage type {x.type}"
                )
            if fmt != "qcow2":
                raise ConfigUnsupportedError(
                    f"internal snapshot for disk {x.target_dev} unsupported for storage type {fmt}"
                )
            images.append(x.source)
        out.append(disk)
    if images and layers:
        raise ConfigUnsupportedError(
            "mixing internal and external targets for a snapshot is not yet supported"
        )
    if external and not layers:
        raise ConfigUnsupportedError(
            "disk-only snapshots require at least one disk to be selected for snapshot"
        )
    return tuple(out), images, layers


def block_nodes(mon: Monitor, images: list[str], dom: Dom) -> list[str]:
    """The top block nodes of the guest's ``images`` (``query-block``), in that order.

    :raises OperationFailedError: QEMU has one of them open under no node.
    """
    nodes = []
    for path, node in zip(images, nodes_or_none(mon, images), strict=True):
        if node is None:
            raise OperationFailedError(f"domain '{dom.name}' has no block node for '{path}' in QEMU")
        nodes.append(node)
    return nodes


def hardware_changed(recorded: DomainDef | None, live: DomainDef | None) -> bool:
    """Whether the guest's memory size or devices differ from those its snapshot's memory was
    saved with (QEMU could not load that memory into this guest)."""
    from virtcore.xml import format_domain

    if recorded is None or live is None:
        return False
    a, b = format_domain(recorded), format_domain(live)
    return (
        recorded.memory != live.memory
        or a[a.find("<devices>") : a.rfind("</devices>")] != b[b.find("<devices>") : b.rfind("</devices>")]
    )


def disk_images(snap: SnapshotDef, d: DomainDef | None) -> list[str]:
    """The images holding ``snap``'s internal disk snapshots (from the definition it recorded)."""
    if d is None:
        return []
    modes = {disk.name: disk.snapshot for disk in snap.disks}
    return [x.source for x in d.disks if x.source and modes.get(x.target_dev) == "internal"]


def nodes_or_none(mon: Monitor, images: list[str]) -> list[str | None]:
    """The top block node QEMU has each of ``images`` open under (``query-block``), None where none."""
    found: dict[str, str] = {}
    for dev in mon.cmd("query-block", timeout=10):
        ins = dev.get("inserted") or {}
        if ins.get("file") and ins.get("node-name"):
            found.setdefault(os.path.realpath(str(ins["file"])), str(ins["node-name"]))
    return [found.get(os.path.realpath(p)) for p in images]


def tags(path: str) -> set[str]:
    """The snapshot names in the qcow2 image ``path`` (empty when it cannot be read)."""
    try:
        out = subprocess.run(
            ["qemu-img", "info", "-U", "--output=json", "--", image_arg(path)],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        info = json.loads(out.stdout) if out.returncode == 0 else {}
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return set()
    return {str(s.get("name")) for s in info.get("snapshots", [])}
