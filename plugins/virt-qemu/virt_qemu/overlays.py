"""Overlay images of external snapshots: made, switched to and merged back.

An overlay is an empty qcow2 image on the current image, its bytes written
directly (:mod:`virt_qemu.qcow2`, what ``qemu-img create`` writes). A guest that
is off: ``qemu-img commit`` merges one back and ``qemu-img rebase -u`` points
the layer above at the merged base. A running guest: each overlay is added as a
block node (``blockdev-add``, its backing left open), and one QMP
``transaction`` of ``blockdev-snapshot`` actions puts all of them on top of
their disks at once; ``block-commit`` merges an overlay back (an active commit
completed with ``job-complete`` for the top layer), run to its end in one trip to
the monitor's loop (:mod:`virt_qemu.qmpjob`). An overlay's size is its base's,
read from the base itself (a qcow2 header's size field, a raw image's length):
no ``qemu-img info`` and no QMP query stands before the overlay is made. Paths reach ``qemu-img``
only as absolute paths after ``--`` (or the value of ``-b``), formats only from
a fixed list, so nothing a user wrote is read as an option.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from virt_qemu.hoststate import SAVE_TIMEOUT
from virt_qemu.qcow2 import overlay_image
from virt_qemu.qmpjob import run_job
from virt_qemu.saving import test_hold
from virtcore.errors import ConfigUnsupportedError, OperationFailedError, VirtError

if TYPE_CHECKING:
    from virt_qemu.monitor import Monitor

__all__ = [
    "BASE_FORMATS",
    "JOB_ID",
    "Progress",
    "add_overlay_node",
    "blocks_using",
    "check_path",
    "commit_live",
    "commit_offline",
    "create_overlay",
    "delete_nodes",
    "format_nodes",
    "formats_of",
    "image_size",
    "overlay_node",
    "node_name",
    "rebase_unsafe",
    "stands_alone",
    "switch_live",
    "top_nodes",
    "virtual_size",
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


def _qemu_img(args: list[str], what: str, meanwhile: Callable[[], None] | None = None) -> str:
    """Run ``qemu-img args``; its output. ``meanwhile`` is called while it runs."""
    try:
        proc = subprocess.Popen(
            ["qemu-img", *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
    except OSError as exc:
        raise OperationFailedError(f"{what}: {exc}") from None
    with proc:
        try:
            if meanwhile is not None:
                meanwhile()
        finally:
            try:
                out, err = proc.communicate(timeout=SAVE_TIMEOUT)
            except subprocess.TimeoutExpired as exc:
                proc.kill()
                proc.communicate()
                raise OperationFailedError(f"{what}: {exc}") from None
    if proc.returncode != 0:
        err = err.strip().removeprefix("qemu-img: ") or f"exit status {proc.returncode}"
        raise OperationFailedError(f"{what}: {err}")
    return out


def image_size(path: str, fmt: str) -> int:
    """The virtual size of image ``path`` (read without taking its lock: QEMU may hold it)."""
    out = _qemu_img(["info", "-U", "--output=json", "--", _img_arg(path, fmt)], f"cannot read '{path}'")
    try:
        return int(json.loads(out)["virtual-size"])
    except (ValueError, KeyError, TypeError):
        raise OperationFailedError(f"cannot read the size of '{path}'") from None


def virtual_size(path: str, fmt: str) -> int:
    """The virtual size of image ``path``, read from the image: a qcow2 header's size field (QEMU
    rewrites it on a resize), a raw image's length; :func:`image_size` for anything else."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return image_size(path, fmt)
    try:
        if fmt == "raw":
            return os.lseek(fd, 0, os.SEEK_END)
        head = os.pread(fd, 32, 0)
        if fmt == "qcow2" and len(head) == 32 and head[:4] == b"QFI\xfb":
            return int.from_bytes(head[24:32], "big")
    except OSError:
        pass
    finally:
        os.close(fd)
    return image_size(path, fmt)


def stands_alone(path: str, fmt: str) -> bool:
    """Whether image ``path`` has no backing image (a raw image, a qcow2 header naming none);
    False when that cannot be read."""
    if fmt == "raw":
        return True
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return False
    return len(head) == 16 and head[:4] == b"QFI\xfb" and head[8:16] == b"\0" * 8


def create_overlay(
    path: str, backing: str, fmt: str, size: int, meanwhile: Callable[[], None] | None = None
) -> None:
    """Make a qcow2 overlay at ``path`` on ``backing`` (of format ``fmt``), failing if it exists:
    written directly (:mod:`virt_qemu.qcow2`) and synced, or by ``qemu-img`` for a layout that
    module does not write. ``meanwhile`` is called before the overlay is synced (or while
    ``qemu-img`` makes it).

    :raises OperationFailedError: it cannot be written (a full disk, say); nothing is left at ``path``.
    """
    assert fmt in BASE_FORMATS
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        raise ConfigUnsupportedError(f"external snapshot file '{path}' already exists") from None
    except OSError as exc:
        raise OperationFailedError(f"cannot create overlay '{path}': {exc.strerror}") from None
    what = f"cannot create overlay '{path}' on '{backing}'"
    writes = overlay_image(size, backing, fmt)
    try:
        try:
            if writes is not None:
                for offset, data in writes:
                    _pwrite_all(fd, data, offset)
                if meanwhile is not None:
                    meanwhile()
                os.fdatasync(fd)
        except OSError as exc:
            raise OperationFailedError(f"{what}: {exc.strerror}") from None
        finally:
            os.close(fd)
        if writes is None:
            _qemu_img(
                ["create", "-q", "-f", "qcow2", "-u", "-F", fmt, "-b", backing, "--", path, str(size)],
                what,
                meanwhile,
            )
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    done = 0
    while done < len(data):
        done += os.pwrite(fd, data[done:], offset + done)


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


def top_nodes(blocks: list[dict[str, Any]], paths: list[str]) -> list[str]:
    """The top block node of each disk (in ``blocks``, QEMU's ``query-block`` answer) that runs
    on one of ``paths``, in that order.

    :raises OperationFailedError: no disk of the guest has one of them on top.
    """
    found: dict[str, str] = {}
    for dev in blocks:
        ins = dev.get("inserted") or {}
        if ins.get("file") and ins.get("node-name"):
            found.setdefault(os.path.realpath(str(ins["file"])), str(ins["node-name"]))
    out = []
    for path in paths:
        top = found.get(os.path.realpath(path))
        if top is None:
            raise OperationFailedError(f"QEMU has no disk on top of '{path}'")
        out.append(top)
    return out


def blocks_using(blocks: list[dict[str, Any]], path: str) -> tuple[str, bool] | None:
    """The root node of the disk (in ``blocks``, QEMU's ``query-block`` answer) whose backing
    chain holds ``path``, and whether ``path`` is its top layer; None when no disk uses it."""
    want = os.path.realpath(path)
    for dev in blocks:
        ins = dev.get("inserted") or {}
        image = ins.get("image") or {}
        depth = 0
        while image:
            if os.path.realpath(str(image.get("filename", ""))) == want and ins.get("node-name"):
                return str(ins["node-name"]), depth == 0
            image = image.get("backing-image") or {}
            depth += 1
    return None


def format_nodes(mon: Monitor) -> dict[str, str]:
    """The format (not protocol) block nodes QEMU has open: real path -> node name."""
    return formats_of(mon.cmd("query-named-block-nodes", {"flat": True}, timeout=10))


def formats_of(named: list[dict[str, Any]]) -> dict[str, str]:
    """The format block nodes in ``named`` (QEMU's ``query-named-block-nodes`` answer): real
    path -> node name."""
    found: dict[str, str] = {}
    for node in named:
        if node.get("drv") in BASE_FORMATS and node.get("file") and node.get("node-name"):
            found.setdefault(os.path.realpath(str(node["file"])), str(node["node-name"]))
    return found


def node_name(path: str) -> str:
    """The node name this driver gives the overlay ``path`` in QEMU: derived from its real path,
    so a merge can name it without asking QEMU."""
    return "vcsnap-" + hashlib.blake2b(os.path.realpath(path).encode(), digest_size=8).hexdigest()


def overlay_node(path: str) -> tuple[str, dict[str, Any]]:
    """The node name of the qcow2 overlay ``path`` (:func:`node_name`) and the ``blockdev-add``
    arguments that open it under that name with its backing left open."""
    node = node_name(path)
    return node, {
        "driver": "qcow2", "node-name": node, "backing": None,
        "file": {"driver": "file", "filename": path, "node-name": node + "-f"},
    }  # fmt: skip


def add_overlay_node(mon: Monitor, path: str) -> str:
    """``blockdev-add`` the qcow2 overlay ``path`` with its backing left open; its node name."""
    node, args = overlay_node(path)
    mon.cmd("blockdev-add", args)
    return node


def delete_nodes(mon: Monitor, nodes: list[str]) -> None:
    """``blockdev-del`` the overlay nodes (best effort: rolling back)."""
    for node in nodes:
        with contextlib.suppress(VirtError):
            mon.cmd("blockdev-del", {"node-name": node}, timeout=10)


def switch_live(
    mon: Monitor, pairs: list[tuple[str, str]], adding: list[dict[str, Any]] | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> None:  # fmt: skip
    """Put each overlay node on top of its disk's node, all at once (one ``transaction``);
    ``adding``: the ``blockdev-add`` arguments of overlay nodes to add first, in the same trip
    to the monitor; ``meanwhile`` called while QEMU does it.

    :param pairs: ``(top node, overlay node)`` per disk.
    """
    actions = [{"type": "blockdev-snapshot", "data": {"node": top, "overlay": new}} for top, new in pairs]
    calls: list[tuple[str, dict[str, Any] | None]] = [("blockdev-add", a) for a in adding or []]
    mon.cmds([*calls, ("transaction", {"actions": actions})], meanwhile=meanwhile)


def commit_live(
    mon: Monitor, device: str, top: str, base: str | None, active: bool, progress: Progress | None, what: str,
    then: list[tuple[str, dict[str, Any] | None]] | None = None, meanwhile: Callable[[], None] | None = None,
) -> None:  # fmt: skip
    """``block-commit`` node ``top`` into ``base`` under the disk whose root node is ``device``;
    ``then``: commands to run after it (best effort), in the same trip to the monitor;
    ``meanwhile``: called (on this thread) while QEMU runs the job.

    An active commit (``top`` is the disk's top layer) is completed with ``job-complete`` once
    QEMU reports it ready, which pivots the disk onto ``base``; an intermediate one ends by
    itself, QEMU pointing the layer above at ``base``. ``progress`` is called with the job's
    progress as it runs. A commit job a process that died started is carried on.

    :raises JobRefusedError: QEMU refused to start it (``what`` prefixes its error).
    :raises OperationFailedError: the job failed (``what`` prefixes its error).
    :raises OperationTimeoutError: it did not finish in :data:`~virt_qemu.host.SAVE_TIMEOUT` seconds.
    """
    args: dict[str, Any] = {"job-id": JOB_ID, "device": device, "auto-dismiss": False, "auto-finalize": True}
    if base is not None:  # else the bottom of the chain
        args["base-node"] = base
    if not active:
        args["top-node"] = top
    run_job(
        mon, "block-commit", args, JOB_ID, what, adopt="commit", then=then, progress=progress,
        started=lambda: test_hold("snapshot-merging"), meanwhile=meanwhile,
    )  # fmt: skip
