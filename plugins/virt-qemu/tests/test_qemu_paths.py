"""State-directory primitives: cross-process locks and the shared generation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from virt_qemu.paths import FileLock, Generation

from virtcore.errors import OperationTimeoutError


def test_lock_held_by_another_process_times_out(tmp_path: Path) -> None:
    lock_path = tmp_path / "x.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from virt_qemu.paths import FileLock; import time; "
         f"l = FileLock(__import__('pathlib').Path({str(lock_path)!r})); l.acquire(); "
         "print('held', flush=True); "
         "time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        lock = FileLock(lock_path)
        assert not lock.try_acquire()
        with pytest.raises(OperationTimeoutError, match=r"x\.lock"):
            lock.acquire(timeout=0.2)
    finally:
        holder.kill()
        holder.wait(10)
    with FileLock(lock_path).held(timeout=5):  # free again once the holder died
        pass


def test_generation_is_shared_between_instances(tmp_path: Path) -> None:
    a, b = Generation(tmp_path), Generation(tmp_path)
    start = a.value()
    assert b.bump() == start + 1
    assert a.value() == start + 1
    out = subprocess.run(
        [sys.executable, "-c", f"from virt_qemu.paths import Generation; import pathlib; "
         f"print(Generation(pathlib.Path({str(tmp_path)!r})).bump())"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert int(out.stdout) == start + 2 == a.value()


def test_a_sync_never_returns_while_another_threads_look_is_unfinished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only process's follower thread is rescanning when the caller asks for a state:
    the caller must wait for that look, not take the generation as seen and read the old state
    (CI: a read-only watcher answered RUNNING for a guest paused a moment before)."""
    import threading

    from virt_qemu.host import get_host
    from virt_qemu.paths import layout_for

    from virtcore.uri import URI

    h = get_host(layout_for(URI.parse(f"qemu:///embed?root={tmp_path}")))
    try:
        started, proceed = threading.Event(), threading.Event()
        looked: list[bool] = []
        real = h._rescan

        def slow_rescan() -> None:
            if not started.is_set():
                started.set()
                assert proceed.wait(30)
            real()
            looked.append(True)

        monkeypatch.setattr(h, "_rescan", slow_rescan)
        h.gen.bump()  # another process changed something
        follower = threading.Thread(target=h.sync)
        follower.start()
        assert started.wait(30)
        seen_when_returned: list[int] = []
        caller = threading.Thread(target=lambda: (h.sync(), seen_when_returned.append(len(looked))))
        caller.start()
        caller.join(0.5)  # the old code returned here at once, before the follower's look ended
        proceed.set()
        follower.join(30)
        caller.join(30)
        assert seen_when_returned == [1]
    finally:
        h.release()
