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
        real = h.discovery._rescan

        def slow_rescan() -> None:
            if not started.is_set():
                started.set()
                assert proceed.wait(30)
            real()
            looked.append(True)

        monkeypatch.setattr(h.discovery, "_rescan", slow_rescan)
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


def test_a_read_only_look_takes_the_published_state_while_a_writer_holds_the_domain_lock(
    tmp_path: Path,
) -> None:
    """A process without monitors reads ``status.xml`` (always whole: written by rename) even when
    another process holds the domain's lock longer than the look waits: it answers the last
    published state, not an older one kept in memory (or none at all)."""
    from virt_qemu.host import get_host
    from virt_qemu.paths import layout_for

    from virtcore.types import DomainState, PausedReason
    from virtcore.uri import URI

    uuid = "6f1d3f3a-5b2e-4c1d-9a7e-0123456789ab"
    layout = layout_for(URI.parse(f"qemu:///embed?root={tmp_path}"))
    layout.ensure()
    # A process standing in for QEMU: alive, and its command line names the domain's UUID.
    qemu = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", uuid])
    lock_path = layout.run / f"{uuid}.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from virt_qemu.paths import FileLock; import time; "
         f"l = FileLock(__import__('pathlib').Path({str(lock_path)!r})); l.acquire(); "
         "print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        rd = layout.run / uuid
        rd.mkdir()
        (rd / "status.xml").write_text(
            f"<domstatus state='{int(DomainState.PAUSED)}' reason='{int(PausedReason.USER)}' "
            f"pid='{qemu.pid}' id='7' monitors='3'>\n"
            f"<domain type='qemu'><name>held</name><uuid>{uuid}</uuid><memory>65536</memory>"
            "<os><type>hvm</type></os></domain></domstatus>\n"
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        h = get_host(layout)
        try:
            assert not h.monitored
            h.sync()
            dom = h.get(uuid)
            seen = (dom.name, dom.state, dom.reason, dom.id)
            assert seen == ("held", DomainState.PAUSED, PausedReason.USER, 7)
            assert h.seen_gen == -1  # the look was incomplete: the next one tries again
        finally:
            h.release()
        assert (rd / "status.xml").exists()  # nothing removed without the lock
    finally:
        for p in (holder, qemu):
            p.kill()
            p.wait(10)
