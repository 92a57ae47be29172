"""QMP jobs run to their end in one trip to the monitor's loop, woken by their events.

A job command (``block-commit``, ``snapshot-save``...) is sent with a
``JOB_STATUS_CHANGE`` listener already in place, so no transition is missed;
the coroutine then follows the job's events on the loop: ``ready`` (an active
commit) is answered with ``job-complete``, ``concluded`` with ``query-jobs``
(its error, its final progress) and ``job-dismiss``, then the commands asked to
follow it. No polling sleep stands between QEMU finishing and the caller
hearing of it, and the caller's thread is woken once. While no event comes for
:data:`POLL` seconds the job is queried, so a progress callback sees it advance
(called on the caller's thread, never the loop's).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from virt_qemu.hoststate import SAVE_TIMEOUT
from virt_qemu.monitor import MonitorClosedError
from virtcore.errors import OperationFailedError, OperationTimeoutError, VirtError

if TYPE_CHECKING:
    from virt_qemu.monitor import Monitor

__all__ = ["POLL", "JobRefusedError", "run_job"]


class JobRefusedError(OperationFailedError):
    """QEMU refused to start the job (nothing ran)."""


#: Seconds without an event of the job after which it is queried (its progress).
POLL = 0.1
#: ``progress(done, total)``, as :data:`virt_qemu.overlays.Progress`.
_Progress = Callable[[int, int], None]
_Calls = list[tuple[str, dict[str, Any] | None]]


def run_job(
    mon: Monitor, cmd: str, args: dict[str, Any], job_id: str, what: str, *, adopt: str | None = None,
    then: _Calls | None = None, progress: _Progress | None = None,
    started: Callable[[], None] | None = None, meanwhile: Callable[[], None] | None = None,
    timeout: float = SAVE_TIMEOUT,
) -> None:  # fmt: skip
    """Run QMP job command ``cmd`` (``args`` naming ``job_id`` as QEMU's job id) to its end and
    dismiss it; completing it (``job-complete``) when it becomes ready; then ``then``'s commands
    (best effort: their errors are ignored).

    :param adopt: a job of this type (``commit``) already running as ``job_id`` (a process
        that died started it) is waited for in place of one QEMU refuses to start again.
    :param progress: called as the job advances and with its final progress.
    :param started: called (on the loop) once QEMU accepted the job: a test's hold point.
    :param meanwhile: called on this thread once the job is sent, before waiting for it (work
        that overlaps QEMU's; the job is waited for even if it raises).
    :raises JobRefusedError: QEMU refused the job (``what`` prefixes its error).
    :raises OperationFailedError: the job failed (``what`` prefixes its error).
    :raises OperationTimeoutError: it did not end in ``timeout`` seconds (it is cancelled).
    """
    seen: list[tuple[int, int]] = []
    fut = mon.start(_run(mon, cmd, args, job_id, what, adopt, then or [], started, timeout, seen))
    try:
        if meanwhile is not None:
            meanwhile()
    finally:
        _wait(fut, job_id, what, progress, timeout, seen)


def _wait(
    fut: concurrent.futures.Future[None], job_id: str, what: str, progress: _Progress | None, timeout: float,
    seen: list[tuple[int, int]],
) -> None:  # fmt: skip
    """Wait for the job's coroutine, passing on its progress."""
    reported = 0
    try:
        while True:
            try:
                fut.result(POLL if progress is not None else timeout + 30)
                break
            except concurrent.futures.TimeoutError:
                if progress is None:
                    fut.cancel()
                    raise OperationTimeoutError(f"{what}: the QEMU job {job_id} did not finish") from None
            finally:
                if progress is not None:
                    for done, total in seen[reported:]:
                        progress(done, total)
                    reported = len(seen)
    except concurrent.futures.CancelledError:
        raise OperationFailedError(f"{what}: the QEMU job {job_id} was abandoned") from None


async def _run(
    mon: Monitor, cmd: str, args: dict[str, Any], job_id: str, what: str, adopt: str | None,
    then: _Calls, started: Callable[[], None] | None, timeout: float, seen: list[tuple[int, int]],
) -> None:  # fmt: skip
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    status: str | None = None
    with mon.listen("JOB_STATUS_CHANGE", lambda ev: _data(ev).get("id") == job_id) as events:
        try:
            await mon.execute(cmd, args)
        except MonitorClosedError:
            raise
        except OperationFailedError as exc:  # a job whose process died may still run: carry it on
            job = await _query(mon, job_id) if adopt is not None else None
            if job is None or job.get("type") != adopt:
                raise JobRefusedError(f"{what}: {exc}") from None
            status = str(job.get("status"))
        if started is not None:
            started()
        completing = False
        while True:
            if status is None:
                left = deadline - loop.time()
                if left <= 0:
                    with contextlib.suppress(VirtError):
                        await mon.execute("job-cancel", {"id": job_id})
                    raise OperationTimeoutError(f"{what}: the QEMU job {job_id} did not finish")
                try:
                    status = str(_data(await asyncio.wait_for(events.get(), min(POLL, left))).get("status"))
                except TimeoutError:
                    job = await _query(mon, job_id)
                    if job is None:
                        raise OperationFailedError(f"{what}: the QEMU job {job_id} disappeared") from None
                    _note(job, seen)
                    status = str(job.get("status"))
            if status == "ready" and not completing:
                await mon.execute("job-complete", {"id": job_id})
                completing = True
            elif status in ("concluded", "null"):
                break
            status = None
        job = await _query(mon, job_id)
    error = None
    if job is not None:
        _note(job, seen)
        error = job.get("error")
        with contextlib.suppress(VirtError):
            await mon.execute("job-dismiss", {"id": job_id})
    if error is not None:
        raise OperationFailedError(f"{what}: {error}")
    for name, more in then:
        with contextlib.suppress(VirtError):
            await mon.execute(name, more)


def _data(event: Any) -> dict[str, Any]:
    """An event's ``data`` (a QMP message maps like a dict)."""
    data = event.get("data")
    return data if isinstance(data, dict) else {}


async def _query(mon: Monitor, job_id: str) -> dict[str, Any] | None:
    for job in await mon.execute("query-jobs"):
        if job.get("id") == job_id:
            return dict(job)
    return None


def _note(job: dict[str, Any], seen: list[tuple[int, int]]) -> None:
    """Keep the job's progress for the caller's thread (appending is atomic)."""
    seen.append((int(job.get("current-progress", 0)), int(job.get("total-progress", 0))))
