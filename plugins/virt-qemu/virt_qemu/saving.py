"""Save and restore: a running guest migrated into a file, and started again from one.

A save image is a header (:data:`SAVE_MAGIC`, the domain XML, flags) padded to
a page, then QEMU's migration stream. While a save runs, ``run/UUID/save``
records it under ``run/UUID/save.lock``; the host finishes or rolls back a save
whose process died when it reattaches (:meth:`virt_qemu.saverecovery.SaveRecovery.recover_save`).
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from virt_qemu.connection import Part
from virt_qemu.hoststate import Dom, domain_event, wait_migration
from virt_qemu.launching import ImageLoadError
from virt_qemu.paths import FileLock
from virtcore import hookimpl
from virtcore.errors import (
    InvalidArgError,
    OperationFailedError,
    OperationInvalidError,
    OperationTimeoutError,
    SystemError_,
    VirtError,
    XMLError,
)
from virtcore.files import create_temporary, write_atomically
from virtcore.types import (
    DomainEventType,
    DomainRef,
    DomainState,
    PausedReason,
    RunningReason,
    StartedDetail,
    SuspendedDetail,
)
from virtcore.xml import format_domain, parse_domain

if TYPE_CHECKING:
    from virt_qemu.monitor import Monitor
    from virtcore.xml.domain import DomainDef

__all__ = ["SAVE_MAGIC", "TEST_HOLD_ENV", "Saving"]

SAVE_MAGIC = b"VirtcoreQemuSv01"
#: What a save image holds at its data offset: QEMU's migration stream magic and version 3.
_QEMU_STREAM_START = b"QEVM\x00\x00\x00\x03"
_SAVE_HEADER = struct.Struct("<16sIII")  # magic, xml length, flags, data offset
_SAVE_PAUSED = 1
#: Test hook: a process whose environment names a point (``save-paused``, ``save-migrated``,
#: ``save-renamed``) in this variable announces ``virt-qemu: holding at POINT`` on stderr on
#: reaching it and waits there forever, so a test can kill it at exactly that moment.
TEST_HOLD_ENV = "VIRT_QEMU_TEST_HOLD"


def test_hold(point: str) -> None:
    """Stop here forever when :data:`TEST_HOLD_ENV` names ``point`` (tests only)."""
    if os.environ.get(TEST_HOLD_ENV) == point:
        sys.stderr.write(f"virt-qemu: holding at {point}\n")
        sys.stderr.flush()
        threading.Event().wait()


class Saving(Part):
    """The hooks that save a running domain into a file and restore it."""

    @hookimpl
    def virt_domain_save(self, uuid: str, path: str, running: bool, paused: bool) -> bool:
        """Migrate the paused guest to ``path`` (after a header holding its XML), then stop it.

        The header says whether to restore it paused: as it is now, or as ``running`` /
        ``paused`` ask (libvirt's QEMU driver records VIR_DOMAIN_SAVE_RUNNING / _PAUSED so).

        Save a running domain to ``path`` through migration to a file, then stop it.

        The image is written to an unpredictable temporary beside ``path``
        (:func:`virtcore.files.create_temporary`) and renamed over it once
        QEMU has written everything. ``rd/save`` records the save in progress
        (temporary, target, whether the guest was paused) while ``rd/save.lock``
        is held, so a process that finds the lock free after the saver died
        finishes or rolls back the save (:meth:`virt_qemu.saverecovery.SaveRecovery.recover_save`).
        """
        h = self.host
        with h.active_job(uuid) as dom:
            mon = h.monitor_of(dom)
            rd = h.run_dir(dom.uuid)
            job = FileLock(rd / "save.lock")
            try:
                busy = not job.try_acquire()
            except OSError as exc:
                raise SystemError_(f"cannot save domain '{dom.name}': {exc.strerror}") from None
            if busy:
                raise OperationInvalidError(f"domain '{dom.name}' is being saved by another process")
            try:
                self._save(dom, mon, Path(os.path.abspath(path)), running=running, paused=paused)
            finally:
                job.release()
        return True

    def _save(self, dom: Dom, mon: Monitor, target: Path, *, running: bool, paused: bool) -> None:
        """The body of :meth:`virt_domain_save`; the caller holds ``dom.job`` and the save lock."""
        h = self.host
        rd = h.run_dir(dom.uuid)
        was_paused = dom.state == DomainState.PAUSED
        xml = format_domain(dom.definition).encode()
        flags = _SAVE_PAUSED if paused or (was_paused and not running) else 0
        offset = (_SAVE_HEADER.size + len(xml) + 4095) // 4096 * 4096
        fd_tmp, tmp_name = create_temporary(target, suffix=".partial")
        tmp = Path(tmp_name)
        ok = False
        try:
            st = os.fstat(fd_tmp)
            marker = {"tmp": tmp_name, "target": str(target), "paused": was_paused,
                      "file": [st.st_dev, st.st_ino]}  # fmt: skip
            write_atomically(rd / "save", json.dumps(marker).encode(), sync=False)
            head = _SAVE_HEADER.pack(SAVE_MAGIC, len(xml), flags, offset) + xml
            os.write(fd_tmp, head + b"\0" * (offset - len(head)))
            if not was_paused:
                h.runstates.own(dom, mon, "stop", "STOP")
                dom.state, dom.reason = DomainState.PAUSED, PausedReason.SAVE
            test_hold("save-paused")
            mon.cmd("migrate-set-parameters", {"max-bandwidth": 2**53})
            mon.send_fd(fd_tmp, "virtcore-save")
            mon.cmd("migrate", {"uri": "fd:virtcore-save"})
            if wait_migration(mon) != "completed":
                err = mon.cmd("query-migrate", timeout=10).get("error-desc", "migration failed")
                raise OperationFailedError(f"saving domain '{dom.name}' to {target} failed: {err}")
            test_hold("save-migrated")
            os.fsync(fd_tmp)
            os.replace(tmp, target)
            ok = True
        except OperationTimeoutError:
            with contextlib.suppress(VirtError):
                mon.cmd("migrate_cancel")
            raise OperationTimeoutError(f"saving domain '{dom.name}' to {target}") from None
        except OSError as exc:
            raise SystemError_(f"cannot write save file {target}: {exc.strerror}") from None
        finally:
            os.close(fd_tmp)
            if not ok:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                if not was_paused and dom.monitor is not None:
                    with contextlib.suppress(VirtError):
                        h.runstates.own(dom, dom.monitor, "cont", "RESUME")
                        dom.state, dom.reason = DomainState.RUNNING, RunningReason.SAVE_CANCELED
                with contextlib.suppress(OSError):
                    os.unlink(rd / "save")
        test_hold("save-renamed")
        h.stopping.stop_process(dom, "saved")

    @hookimpl
    def virt_domain_save_image_get_xml_desc(self, path: str) -> str:
        """The header's domain XML, checked as restore checks it; the file is only read."""
        fd = _open_save_file(path)
        try:
            d, _, _ = _read_header(fd, path)
        finally:
            os.close(fd)
        return format_domain(d)

    @hookimpl
    def virt_domain_restore(self, path: str, running: bool, paused: bool) -> DomainRef:
        """Start QEMU with an incoming migration from the save file, left paused as the header
        says or as ``running`` / ``paused`` ask (a guest left paused never runs)."""
        h = self.host
        fd = _open_save_file(path)
        try:
            d, flags, offset = _read_header(fd, path)
            os.lseek(fd, offset, os.SEEK_SET)
            h.sync()
            dom = h.claim(d)
            with dom.job:
                if dom.active:
                    raise OperationInvalidError(f"domain '{d.name}' is already active")
                paused = paused or (bool(flags & _SAVE_PAUSED) and not running)
                try:
                    self.launcher.launch(
                        dom, d, paused=False, reason=RunningReason.RESTORED, incoming=(fd, paused)
                    )
                except ImageLoadError as exc:
                    raise OperationFailedError(f"'{path}' is not a valid save image: {exc.detail}") from None
                finally:
                    h.unclaim(dom)
            h.emit(domain_event(dom.ref, DomainEventType.STARTED, StartedDetail.RESTORED))
            if paused:
                h.emit(domain_event(dom.ref, DomainEventType.SUSPENDED, SuspendedDetail.RESTORED))
            return dom.ref
        except OSError as exc:
            raise SystemError_(f"cannot read save file {path!r}: {exc.strerror}") from None
        finally:
            os.close(fd)


def _open_save_file(path: str) -> int:
    """A read-only descriptor of the save file at ``path`` (SYSTEM_ERROR naming it if it cannot be opened)."""
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise SystemError_(f"cannot open save file {path!r}: {exc.strerror}") from None


def _read_header(fd: int, path: str) -> tuple[DomainDef, int, int]:
    """The domain, flags and data offset of the save image open as ``fd`` (``InvalidArgError``: none)."""
    head = os.pread(fd, _SAVE_HEADER.size, 0)
    if len(head) < _SAVE_HEADER.size:
        raise InvalidArgError(f"'{path}' is not a valid save image: too short for a header")
    magic, xml_len, flags, offset = _SAVE_HEADER.unpack(head)
    if magic != SAVE_MAGIC:
        raise InvalidArgError(f"'{path}' is not a valid save image: no virt-qemu header")
    if xml_len > 16 * 1024 * 1024 or offset < _SAVE_HEADER.size + xml_len:
        raise InvalidArgError(
            f"'{path}' is not a valid save image: the header's XML length {xml_len} "
            f"and data offset {offset} do not fit"
        )
    xml = os.pread(fd, xml_len, _SAVE_HEADER.size)
    try:
        d = parse_domain(xml)
    except XMLError as exc:
        raise InvalidArgError(
            f"'{path}' is not a valid save image: its domain XML is invalid: {exc.detail}"
        ) from None
    if os.pread(fd, len(_QEMU_STREAM_START), offset) != _QEMU_STREAM_START:
        raise InvalidArgError(
            f"'{path}' is not a valid save image: no QEMU migration stream at offset {offset}"
        )
    return d, flags, offset
