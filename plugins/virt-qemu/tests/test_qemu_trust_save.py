"""Saving a real guest safely: planted links, a manager killed mid-save, leftovers, clear errors.

The kill tests run the save in a second process with ``VIRT_QEMU_TEST_HOLD`` set
(see :data:`virt_qemu.saving.TEST_HOLD_ENV`): it stops at the named point of the
save, the test kills it with SIGKILL there, and a new connection must finish
or roll back what was left.
"""

from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import sys
import uuid as uuidlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from virt_qemu import console_log
from virt_qemu.saving import SAVE_MAGIC, TEST_HOLD_ENV
from virt_qemu.testguest import last_tick, wait_for, wait_marker

import virtcore
from virtcore.errors import InvalidArgError, OperationFailedError, VirtError
from virtcore.types import DomainState, RunningReason, ShutoffReason

needs_qemu = pytest.mark.skipif(
    shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86 is not installed"
)

SAVER = r"""
import sys, virtcore
conn = virtcore.open(sys.argv[1])
conn.lookup_domain(sys.argv[2]).save(sys.argv[3])
print("saved", flush=True)
"""


@pytest.fixture
def booted(uri: str, guest_xml: Callable[..., str]) -> Iterator[Callable[[str], virtcore.Domain]]:
    """``booted(name)``: define and start a guest, wait for its boot marker, close the connection.

    The guest keeps running with nobody managing it; every guest still running at
    the end of the test is destroyed.
    """

    def boot(name: str) -> virtcore.Domain:
        with virtcore.open(uri) as conn:
            dom = conn.define_domain(guest_xml(name))
            dom.start()
            wait_marker(console_log(dom))
            wait_for(lambda: last_tick(console_log(dom)) >= 1, 30, "a tick")
            return dom

    yield boot
    with virtcore.open(uri) as conn:
        for dom in conn.list_domains(active=True):
            try:
                dom.destroy()
            except VirtError:
                pass


def _qemu_pid(root: Path, uuid: str) -> int:
    return int((root / "run" / uuid / "pid").read_text())


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return True
    return data[data.rfind(b")") + 2 :][:1] in (b"Z", b"X")


def _kill_saver_at(point: str, uri: str, name: str, image: Path) -> None:
    """Run a save of ``name`` in another process and SIGKILL it once it holds at ``point``."""
    env = {**os.environ, TEST_HOLD_ENV: point}
    proc = subprocess.Popen(
        [sys.executable, "-c", SAVER, uri, name, str(image)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if f"holding at {point}" in line:
                break
        else:
            pytest.fail(f"the saver never reached {point}: {''.join(seen)}")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(30)


def _leftovers(directory: Path) -> list[str]:
    return sorted(n for n in os.listdir(directory) if n.startswith("."))


# --------------------------------------------------------------------------- item 2


@needs_qemu
def test_save_never_follows_a_planted_symlink(
    uri: str, booted: Callable[[str], virtcore.Domain], tmp_path: Path
) -> None:
    dom = booted("planted")
    images = tmp_path / "images"
    images.mkdir()
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    other = tmp_path / "other-victim"
    other.write_bytes(b"also precious")
    image = images / "planted.img"
    # The temporary's old, predictable name, and the target itself, both point at victims.
    (images / ".planted.img.partial").symlink_to(victim)
    image.symlink_to(other)
    with virtcore.open(uri) as conn:
        conn.lookup_domain(dom.name).save(image)
        assert conn.lookup_domain(dom.name).state() == (DomainState.SHUTOFF, ShutoffReason.SAVED)
    assert victim.read_bytes() == b"precious"
    assert other.read_bytes() == b"also precious"
    assert not image.is_symlink() and image.read_bytes()[:16] == SAVE_MAGIC
    assert (images / ".planted.img.partial").resolve() == victim  # left as it was
    assert sorted(os.listdir(images)) == [".planted.img.partial", "planted.img"]


# --------------------------------------------------------------------------- item 7


@needs_qemu
def test_manager_killed_before_the_migration_rolls_back(
    uri: str, root: Path, booted: Callable[[str], virtcore.Domain], tmp_path: Path
) -> None:
    dom = booted("rollback")
    image = tmp_path / "rollback.img"
    _kill_saver_at("save-paused", uri, dom.name, image)
    assert _leftovers(tmp_path)  # the killed saver left its temporary behind
    with virtcore.open(uri) as conn:
        d = conn.lookup_domain(dom.name)
        assert d.state() == (DomainState.RUNNING, RunningReason.SAVE_CANCELED)
        log = console_log(d)
        tick = last_tick(log)
        wait_for(lambda: last_tick(log) > tick, 30, "the guest to run again")
        d.suspend()  # and it is managed from here
        d.resume()
    assert not image.exists() and _leftovers(tmp_path) == []
    assert not (root / "run" / dom.uuid / "save").exists()


@needs_qemu
def test_manager_killed_after_the_migration_finishes_the_save(
    uri: str, root: Path, booted: Callable[[str], virtcore.Domain], tmp_path: Path
) -> None:
    dom = booted("finish")
    pid = _qemu_pid(root, dom.uuid)
    image = tmp_path / "finish.img"
    _kill_saver_at("save-migrated", uri, dom.name, image)
    assert not image.exists() and _leftovers(tmp_path)
    with virtcore.open(uri) as conn:
        d = conn.lookup_domain(dom.name)
        assert d.state() == (DomainState.SHUTOFF, ShutoffReason.SAVED)
        assert _gone(pid) and _leftovers(tmp_path) == []
        tick = last_tick(console_log(d))
        conn.restore_domain(image)  # the finished image is complete
        assert d.state() == (DomainState.RUNNING, RunningReason.RESTORED)
        wait_for(lambda: last_tick(console_log(d)) > tick, 30, "ticks after the restore")


STATE = r"""
import sys, virtcore
conn = virtcore.open(sys.argv[1])
state, reason = conn.lookup_domain(sys.argv[2]).state()
print(state.name, int(reason))
"""


@needs_qemu
def test_a_guest_resumed_after_the_saver_died_is_not_saved_later(
    uri: str, root: Path, booted: Callable[[str], virtcore.Domain], tmp_path: Path
) -> None:
    dom = booted("resumed")
    pid = _qemu_pid(root, dom.uuid)
    image = tmp_path / "resumed.img"
    with virtcore.open(uri) as conn:  # a process that watched the save
        d = conn.lookup_domain(dom.name)
        _kill_saver_at("save-migrated", uri, dom.name, image)
        wait_for(lambda: d.state()[0] == DomainState.PAUSED, 10, "the saver's pause to show")
        d.resume()
        out = subprocess.run(
            [sys.executable, "-c", STATE, uri, dom.name], capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["RUNNING", str(int(RunningReason.UNPAUSED))]
        assert not _gone(pid) and d.state()[0] == DomainState.RUNNING
    assert not image.exists() and _leftovers(tmp_path) == []


@needs_qemu
def test_destroying_a_guest_whose_saver_died_removes_the_temporary(
    uri: str, booted: Callable[[str], virtcore.Domain], tmp_path: Path
) -> None:
    dom = booted("dropped")
    with virtcore.open(uri) as conn:  # a process that watched the save
        d = conn.lookup_domain(dom.name)
        _kill_saver_at("save-paused", uri, dom.name, tmp_path / "dropped.img")
        assert _leftovers(tmp_path)
        d.destroy()
        assert d.state() == (DomainState.SHUTOFF, ShutoffReason.DESTROYED)
    assert _leftovers(tmp_path) == [] and not (tmp_path / "dropped.img").exists()


@needs_qemu
@pytest.mark.parametrize("qemu_dies_too", [False, True], ids=["qemu-alive", "qemu-killed"])
def test_manager_killed_after_the_rename_reports_saved(
    uri: str, root: Path, booted: Callable[[str], virtcore.Domain], tmp_path: Path, qemu_dies_too: bool
) -> None:
    dom = booted("renamed")
    pid = _qemu_pid(root, dom.uuid)
    image = tmp_path / "renamed.img"
    _kill_saver_at("save-renamed", uri, dom.name, image)
    if qemu_dies_too:
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: _gone(pid), 10, "QEMU to die")
    with virtcore.open(uri) as conn:
        d = conn.lookup_domain(dom.name)
        assert d.state() == (DomainState.SHUTOFF, ShutoffReason.SAVED)
        assert _gone(pid) and image.read_bytes()[:16] == SAVE_MAGIC and _leftovers(tmp_path) == []
    with virtcore.open(uri) as conn:  # and the next process agrees
        assert conn.lookup_domain(dom.name).state() == (DomainState.SHUTOFF, ShutoffReason.SAVED)


@needs_qemu
def test_a_new_process_reports_a_completed_save_as_saved(
    uri: str, booted: Callable[[str], virtcore.Domain], tmp_path: Path
) -> None:
    dom = booted("done")
    with virtcore.open(uri) as conn:
        conn.lookup_domain(dom.name).save(tmp_path / "done.img")
    with virtcore.open(uri) as conn:
        assert conn.lookup_domain(dom.name).state() == (DomainState.SHUTOFF, ShutoffReason.SAVED)


# --------------------------------------------------------------------------- item 10


def _run_leftovers(root: Path, uuid: str) -> list[str]:
    return sorted(n for n in os.listdir(root / "run") if n.startswith(uuid))


def test_orphan_config_temporaries_are_removed_at_open(uri: str, root: Path) -> None:
    with virtcore.open(uri):
        pass
    etc = root / "etc"
    uuid = str(uuidlib.uuid4())
    orphans = [f".{uuid}.xml.k3j_x9ab", f".{uuid}.xml.{'0123456789abcdef'}"]
    for name in orphans:
        (etc / name).write_text("<domain>half a defin")
    (etc / "README.user").write_text("not ours")  # anything else stays
    with virtcore.open(uri):
        pass
    assert not any((etc / name).exists() for name in orphans)
    assert (etc / "README.user").read_text() == "not ours"


def test_orphan_stop_records_and_locks_are_removed_at_open(uri: str, root: Path) -> None:
    with virtcore.open(uri):
        pass
    uuid = str(uuidlib.uuid4())
    (root / "run" / f"{uuid}.last").write_text("crashed")
    (root / "run" / f"{uuid}.lock").write_text("")
    with virtcore.open(uri):
        pass
    assert _run_leftovers(root, uuid) == []


@needs_qemu
def test_undefine_removes_the_stop_record_and_the_lock(
    uri: str, root: Path, guest_xml: Callable[..., str]
) -> None:
    with virtcore.open(uri) as conn:
        dom = conn.define_domain(guest_xml("leaky"))
        dom.start()
        dom.destroy()
        assert _run_leftovers(root, dom.uuid)  # while defined, the stop record is kept
        dom.undefine()
        assert _run_leftovers(root, dom.uuid) == []
        dom = conn.define_domain(guest_xml("leaky"))  # and the name works again
        dom.start()
        assert dom.state()[0] == DomainState.RUNNING
        dom.destroy()


# --------------------------------------------------------------------------- item 16


@needs_qemu
def test_bad_save_images_say_what_is_wrong(
    uri: str, booted: Callable[[str], virtcore.Domain], tmp_path: Path
) -> None:
    dom = booted("images")
    image = tmp_path / "good.img"
    with virtcore.open(uri) as conn:
        conn.lookup_domain(dom.name).save(image)
    data = image.read_bytes()
    offset = struct.unpack_from("<I", data, 24)[0]
    wrong_offset = bytearray(data)
    struct.pack_into("<I", wrong_offset, 24, offset + 4096)
    corrupt = bytearray(data)
    for i in range(offset + 4096, offset + 4096 + 200_000):
        corrupt[i] ^= 0x5A
    cases = {
        "wrong-offset.img": (bytes(wrong_offset), InvalidArgError, "no QEMU migration stream at offset"),
        "truncated.img": (data[: offset + 6], InvalidArgError, "no QEMU migration stream at offset"),
        "cut.img": (data[: offset + 100_000], OperationFailedError, "QEMU could not load"),
        "corrupt.img": (bytes(corrupt), OperationFailedError, "QEMU could not load"),
    }
    with virtcore.open(uri) as conn:
        for name, (content, error, why) in cases.items():
            bad = tmp_path / name
            bad.write_bytes(content)
            with pytest.raises(error) as exc:
                conn.restore_domain(bad)
            message = str(exc.value)
            assert f"'{bad}' is not a valid save image" in message and why in message, message
            assert "pidfile" not in message and "monitor" not in message, message
            assert conn.lookup_domain(dom.name).state()[0] == DomainState.SHUTOFF
        conn.restore_domain(image)  # the good one still restores
        assert conn.lookup_domain(dom.name).state() == (DomainState.RUNNING, RunningReason.RESTORED)


@pytest.mark.parametrize("driver", ["test", "qemu"])
def test_save_and_restore_of_none_name_the_argument(
    driver: str, uri: str, guest_xml: Callable[..., str]
) -> None:
    with virtcore.open("test:///default" if driver == "test" else uri) as conn:
        with pytest.raises(InvalidArgError, match="path"):
            conn.restore_domain(None)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgError, match="path"):
            conn.restore_domain(42)  # type: ignore[arg-type]
        dom = conn.lookup_domain("test") if driver == "test" else conn.define_domain(guest_xml("nopath"))
        with pytest.raises(InvalidArgError, match="path"):
            dom.save(None)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgError, match="path"):
            dom.save("")
