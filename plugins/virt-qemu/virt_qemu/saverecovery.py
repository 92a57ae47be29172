"""A QEMU host's save recovery: a save whose saving process died, finished or rolled back.

A save in progress is recorded in ``run/UUID/save`` under ``save.lock`` (see
:mod:`virt_qemu.saving`); a process that finds the record with its lock free
finishes the save QEMU completed, or rolls it back.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from virt_qemu.hoststate import DETACH_TIMEOUT, MIGRATION_RUNNING, Dom, HostState, wait_migration
from virt_qemu.paths import FileLock
from virt_qemu.runstates import RunStates
from virt_qemu.stopping import Stopping
from virtcore.errors import VirtError
from virtcore.types import DomainState, PausedReason, RunningReason

log = logging.getLogger("virt_qemu")


def _remove_temporary(record: dict[str, Any]) -> None:
    """Delete the temporary of an interrupted save, if it is still the file the saver created."""
    with contextlib.suppress(OSError, TypeError, ValueError):
        st = os.stat(record["tmp"], follow_symlinks=False)
        if [st.st_dev, st.st_ino] == list(record["file"]):
            os.unlink(record["tmp"])


class SaveRecovery:
    """Saves whose saver is gone: found, their temporaries removed, finished or rolled back."""

    def __init__(self, host: HostState, stopping: Stopping, runstates: RunStates) -> None:
        self.host = host
        self.stopping = stopping
        self.runstates = runstates

    # -- save / restore ----------------------------------------------------------------

    def save_in_progress(self, uuid: str) -> tuple[dict[str, Any], FileLock] | None:
        """A save of ``uuid`` whose saver is gone: its record and the save lock, now held by us.

        ``None`` when there is no save record, or its saver still holds the lock.
        """
        rd = self.host.run_dir(uuid)
        try:
            record = json.loads((rd / "save").read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable save record of %s: %s", uuid, exc)
            return None
        job = FileLock(rd / "save.lock")
        try:
            if not job.try_acquire():
                return None
        except (OSError, VirtError):
            return None
        if not isinstance(record, dict) or not {"tmp", "target", "paused", "file"} <= record.keys():
            log.warning("ignoring malformed save record of %s", uuid)
            with contextlib.suppress(OSError):
                os.unlink(rd / "save")
            job.release()
            return None
        return record, job

    def drop_unfinished_save(self, uuid: str) -> dict[str, Any] | None:
        """QEMU is gone: delete the temporary of a save whose saver died too; its record.

        ``None`` when no save was interrupted (or its saver lives and cleans up itself).
        """
        unfinished = self.save_in_progress(uuid)
        if unfinished is None:
            return None
        record, job = unfinished
        _remove_temporary(record)
        job.release()
        return record

    @staticmethod
    def save_committed(record: dict[str, Any]) -> bool:
        """Whether the interrupted save's temporary was renamed over its target (same inode)."""
        try:
            st = os.stat(record["target"], follow_symlinks=False)
        except (OSError, TypeError, ValueError):
            return False
        return [st.st_dev, st.st_ino] == list(record["file"])

    def recover_save(self, dom: Dom, record: dict[str, Any], job: FileLock) -> None:
        """Finish or roll back a save whose process died; QEMU runs and we hold its monitor.

        A migration QEMU completed is finished (the temporary renamed over the
        target if that had not happened yet, QEMU stopped: SHUTOFF/SAVED);
        anything less is rolled back (migration cancelled, temporary removed,
        the guest resumed if it was running before the save). A guest someone
        resumed since is left running, its stale image discarded.
        """
        rd = self.host.run_dir(dom.uuid)
        tmp = Path(record["tmp"])
        try:
            if not dom.job.acquire(timeout=DETACH_TIMEOUT):
                return
            try:
                mon = self.host.monitor_of(dom)
                status = mon.cmd("query-migrate", timeout=10).get("status", "none")
                if status in MIGRATION_RUNNING:
                    with contextlib.suppress(VirtError):
                        mon.cmd("migrate_cancel", timeout=10)
                    status = wait_migration(mon)
                if mon.cmd("query-status", timeout=10).get("running"):
                    status = "resumed"  # someone resumed the guest since: the image is stale
                if status == "completed" and not self.save_committed(record):
                    with contextlib.suppress(OSError):
                        fd = os.open(tmp, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
                        try:
                            st = os.fstat(fd)
                            os.fsync(fd)
                        finally:
                            os.close(fd)
                        if [st.st_dev, st.st_ino] == list(record["file"]):
                            os.replace(tmp, record["target"])
                if status == "completed" and self.save_committed(record):
                    log.info("finishing the interrupted save of '%s' to %s", dom.name, record["target"])
                    self.stopping.stop_process(dom, "saved")
                    return
                log.info("rolling back the interrupted save of '%s' to %s", dom.name, record["target"])
                _remove_temporary(record)
                if status == "resumed":
                    dom.state, dom.reason = DomainState.RUNNING, RunningReason.UNPAUSED
                elif record["paused"]:
                    dom.state, dom.reason = DomainState.PAUSED, PausedReason.USER
                else:
                    self.runstates.own(dom, mon, "cont", "RESUME", timeout=10)
                    dom.state, dom.reason = DomainState.RUNNING, RunningReason.SAVE_CANCELED
                with contextlib.suppress(OSError):
                    os.unlink(rd / "save")
                self.host.write_status(dom)
                self.host.bump()
            finally:
                dom.job.release()
        except VirtError as exc:
            log.warning("cannot recover the interrupted save of '%s': %s", dom.name, exc)
        finally:
            job.release()
