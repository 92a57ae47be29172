"""Overlay images of external snapshots: made, switched to and merged back.

A guest that is off: ``qemu-img create`` makes a qcow2 overlay on the current
image, ``qemu-img commit`` merges one back and ``qemu-img rebase -u`` points
the layer above at the merged base. A running guest: each overlay is added as a
block node (``blockdev-add``, its backing left open), and one QMP
``transaction`` of ``blockdev-snapshot`` actions puts all of them on top of
their disks at once; ``block-commit`` merges an overlay back (an active commit
completed with ``job-complete`` for the top layer). Paths reach ``qemu-img``
only as absolute paths after ``--`` (or the value of ``-b``), formats only from
a fixed list, so nothing a user wrote is read as an option.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
import uuid as uuidlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from virt_qemu.host import SAVE_TIMEOUT
from virt_qemu.saving import test_hold
from virtcore.errors import ConfigUnsupportedError, OperationFailedError, OperationTimeoutError, VirtError

if TYPE_CHECKING:
    from virt_qemu.monitor import Monitor

__all__ = [
    "BASE_FORMATS",
    "JOB_ID",
    "Progress",
    "add_overlay_node",
    "check_path",
    "commit_live",
    "commit_offline",
    "create_overlay",
    "delete_nodes",
    "format_nodes",
    "image_size",
    "rebase_unsafe",
    "switch_live",
    "top_nodes",
]

#: The QMP job id of a merge (one at a time per guest, under ``dom.job``).
JOB_ID = "virtcore-commit"
#: The image formats an overlay may sit on.
BASE_FORMATS = ("qcow2", "raw")
#: ``progress(done, total)``: how far a merge is (QEMU's job progress; 0 total when unknown).
Progress = Callable[[int, int], None]


def check_path(path: str, what: str) -> str:
    """``path`` when it is an absolute path with no control character, else a ConfigUnsupportedError."""
    if not path.startswith("/") or not path.isprintable():
        raise ConfigUnsupportedError(f"{what} '{path}' must be an absolute path without control characters")
    return path


def _img_arg(path: str, fmt: str) -> str:
    return "json:" + json.dumps({"driver": fmt, "file": {"driver": "file", "filename": path}})


def _qemu_img(args: list[str], what: str) -> str:
    try:
        out = subprocess.run(
            ["qemu-img", *args], stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=SAVE_TIMEOUT,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OperationFailedError(f"{what}: {exc}") from None
    if out.returncode != 0:
        err = out.stderr.strip().removeprefix("qemu-img: ") or f"exit status {out.returncode}"
        raise OperationFailedError(f"{what}: {err}")
    return out.stdout


def image_size(path: str, fmt: str) -> int:
    """The virtual size of image ``path`` (read without taking its lock: QEMU may hold it)."""
    out = _qemu_img(["info", "-U", "--output=json", "--", _img_arg(path, fmt)], f"cannot read '{path}'")
    try:
        return int(json.loads(out)["virtual-size"])
    except (ValueError, KeyError, TypeError):
        raise OperationFailedError(f"cannot read the size of '{path}'") from None


def create_overlay(path: str, backing: str, fmt: str, size: int) -> None:
    """Make a qcow2 overlay at ``path`` on ``backing`` (of format ``fmt``), failing if it exists.

    :raises OperationFailedError: qemu-img failed (a full disk, say); nothing is left at ``path``.
    """
    assert fmt in BASE_FORMATS
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        raise ConfigUnsupportedError(f"external snapshot file '{path}' already exists") from None
    except OSError as exc:
        raise OperationFailedError(f"cannot create overlay '{path}': {exc.strerror}") from None
    os.close(fd)
    try:
        _qemu_img(
            ["create", "-q", "-f", "qcow2", "-u", "-F", fmt, "-b", backing, "--", path, str(size)],
            f"cannot create overlay '{path}' on '{backing}'",
        )
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise


def commit_offline(path: str, base: str, progress: Progress | None) -> None:
    """Merge the qcow2 overlay ``path`` into its backing image (``qemu-img commit``; the guest is off)."""
    if progress is not None:
        progress(0, 1)
    _qemu_img(["commit", "-q", "-d", "--", _img_arg(path, "qcow2")], f"cannot merge '{path}' into '{base}'")
    if progress is not None:
        progress(1, 1)


def rebase_unsafe(path: str, backing: str, fmt: str) -> None:
    """Point the qcow2 image ``path`` at ``backing`` (same content: ``qemu-img rebase -u``)."""
    assert fmt in BASE_FORMATS
    _qemu_img(
        ["rebase", "-u", "-F", fmt, "-b", backing, "--", _img_arg(path, "qcow2")],
        f"cannot point '{path}' at '{backing}'",
    )


# -- a running guest -------------------------------------------------------------------------


def top_nodes(mon: Monitor, paths: list[str]) -> list[tuple[str, int]]:
    """The top block node and the virtual size of each disk of the guest that runs on one of
    ``paths`` (``query-block``), in that order.

    :raises OperationFailedError: no disk of the guest has one of them on top.
    """
    found: dict[str, tuple[str, int]] = {}
    for dev in mon.cmd("query-block", timeout=10):
        ins = dev.get("inserted") or {}
        size = (ins.get("image") or {}).get("virtual-size")
        if ins.get("file") and ins.get("node-name") and isinstance(size, int):
            found.setdefault(os.path.realpath(str(ins["file"])), (str(ins["node-name"]), size))
    out = []
    for path in paths:
        top = found.get(os.path.realpath(path))
        if top is None:
            raise OperationFailedError(f"QEMU has no disk on top of '{path}'")
        out.append(top)
    return out


def format_nodes(mon: Monitor) -> dict[str, str]:
    """The format (not protocol) block nodes QEMU has open: real path -> node name."""
    found: dict[str, str] = {}
    for node in mon.cmd("query-named-block-nodes", {"flat": True}, timeout=10):
        if node.get("drv") in BASE_FORMATS and node.get("file") and node.get("node-name"):
            found.setdefault(os.path.realpath(str(node["file"])), str(node["node-name"]))
    return found


def add_overlay_node(mon: Monitor, path: str) -> str:
    """``blockdev-add`` the qcow2 overlay ``path`` with its backing left open; its node name."""
    node = "vcsnap-" + uuidlib.uuid4().hex[:16]
    mon.cmd("blockdev-add", {
        "driver": "qcow2", "node-name": node, "backing": None,
        "file": {"driver": "file", "filename": path, "node-name": node + "-f"},
    })  # fmt: skip
    return node


def delete_nodes(mon: Monitor, nodes: list[str]) -> None:
    """``blockdev-del`` the overlay nodes (best effort: rolling back)."""
    for node in nodes:
        with contextlib.suppress(VirtError):
            mon.cmd("blockdev-del", {"node-name": node}, timeout=10)


def switch_live(mon: Monitor, pairs: list[tuple[str, str]]) -> None:
    """Put each overlay node on top of its disk's node, all at once (one ``transaction``).

    :param pairs: ``(top node, overlay node)`` per disk.
    """
    actions = [{"type": "blockdev-snapshot", "data": {"node": top, "overlay": new}} for top, new in pairs]
    mon.cmd("transaction", {"actions": actions})


def commit_live(
    mon: Monitor, device: str, top: str, base: str, active: bool, progress: Progress | None, what: str
) -> None:
    """``block-commit`` node ``top`` into ``base`` under the disk whose root node is ``device``.

    An active commit (``top`` is the disk's top layer) is completed with ``job-complete`` once
    QEMU reports it ready, which pivots the disk onto ``base``; an intermediate one ends by
    itself, QEMU pointing the layer above at ``base``. ``progress`` is called with the job's
    progress as it runs.

    :raises OperationFailedError: QEMU refused or the job failed (``what`` prefixes its error).
    :raises OperationTimeoutError: it did not finish in :data:`~virt_qemu.host.SAVE_TIMEOUT` seconds.
    """
    args: dict[str, Any] = {
        "job-id": JOB_ID, "device": device, "base-node": base, "auto-dismiss": False, "auto-finalize": True,
    }  # fmt: skip
    if not active:
        args["top-node"] = top
    try:
        mon.cmd("block-commit", args)
    except VirtError as exc:  # a merge whose process died may still run: carry it on
        jobs = mon.cmd("query-jobs", timeout=10)
        if not any(j.get("id") == JOB_ID and j.get("type") == "commit" for j in jobs):
            raise OperationFailedError(f"{what}: {exc}") from None
    test_hold("snapshot-merging")
    deadline = time.monotonic() + SAVE_TIMEOUT
    delay = 0.005
    completing = False
    while True:
        jobs = mon.cmd("query-jobs", timeout=10)
        job = next((j for j in jobs if j.get("id") == JOB_ID), None)
        if job is None:
            raise OperationFailedError(f"{what}: the QEMU job disappeared")
        if progress is not None:
            progress(int(job.get("current-progress", 0)), int(job.get("total-progress", 0)))
        status = job.get("status")
        if status == "ready" and not completing:
            mon.cmd("job-complete", {"id": JOB_ID}, timeout=10)
            completing = True
        elif status in ("concluded", "null"):
            with contextlib.suppress(VirtError):
                mon.cmd("job-dismiss", {"id": JOB_ID}, timeout=10)
            if job.get("error") is not None:
                raise OperationFailedError(f"{what}: {job['error']}")
            return
        if time.monotonic() > deadline:
            with contextlib.suppress(VirtError):
                mon.cmd("job-cancel", {"id": JOB_ID}, timeout=10)
            raise OperationTimeoutError(f"{what}: the QEMU job {JOB_ID} did not finish")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
