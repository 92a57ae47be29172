"""Trust (issue 8): who may autostart, who holds monitors, races between processes, events.

Real TCG guests and real separate processes on one ``qemu:///embed`` root.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from virt_qemu.host import Host, get_host
from virt_qemu.hoststate import Dom
from virt_qemu.paths import layout_for
from virt_qemu.testguest import wait_for

import virtcore
from virtcore.errors import NoDomainError, OperationInvalidError
from virtcore.types import DomainEventType, DomainState, RunningReason
from virtcore.uri import URI

pytestmark = [
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86 is not installed"),
    pytest.mark.slow,
]

#: A client process driven line by line on stdin: ``STATE`` prints the domain's state and
#: the lifecycle events this process received for it, ``EVENTS`` only the events (no call
#: to the library); any other word is a Domain method.
CLIENT = r"""
import sys, threading, virtcore
mode, uri, name = sys.argv[1:4]
conn = virtcore.open_read_only(uri) if mode == "ro" else virtcore.open(uri)
events, lock = [], threading.Lock()

def cb(dom, event, detail):
    if dom.name == name:
        with lock:
            events.append(event.name)

conn.on_domain_event(cb)
dom = conn.lookup_domain(name)
print("ready", dom.state()[0].name, flush=True)
for line in sys.stdin:
    word = line.strip()
    if word == "quit":
        break
    try:
        if word == "EVENTS":  # what arrived without this process calling anything
            with lock:
                print(",".join(events) or "-", flush=True)
        elif word == "STATE":
            state = dom.state()[0].name
            with lock:
                print(state, ",".join(events) or "-", flush=True)
        elif word.startswith("block_stats "):
            print("stats", *dom.block_stats(word.split()[1]), flush=True)
        else:
            getattr(dom, word)()
            try:
                print("ok", dom.state()[0].name, flush=True)
            except virtcore.errors.NoDomainError:  # a transient domain is gone once stopped
                print("ok gone", flush=True)
    except Exception as exc:
        print("error", type(exc).__name__, str(exc).replace("\n", " "), flush=True)
conn.close()
"""


class Client:
    """A separate Python process holding one connection (``mode`` ``ro`` or ``rw``) to ``name``."""

    def __init__(self, uri: str, mode: str, name: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CLIENT, mode, uri, name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        first = self._line()
        assert first.startswith("ready "), first
        self.ready_state = first.split()[1]

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise AssertionError(f"client process ended: {err}")
        return line.strip()

    def ask(self, word: str) -> str:
        """Send one command; its one-line answer."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(word + "\n")
        self.proc.stdin.flush()
        return self._line()

    def state(self) -> tuple[str, list[str]]:
        """``(state name, [event names])`` as this process sees them now."""
        state, evs = self.ask("STATE").split(" ", 1)
        return state, [] if evs == "-" else evs.split(",")

    def events(self) -> list[str]:
        """The events this process received so far, asking the library nothing."""
        evs = self.ask("EVENTS")
        return [] if evs == "-" else evs.split(",")

    def close(self) -> None:
        """Ask the process to quit (kill it when it does not)."""
        if self.proc.poll() is None:
            try:
                if self.proc.stdin is not None:
                    self.proc.stdin.write("quit\n")
                    self.proc.stdin.close()
                self.proc.wait(30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture
def clients() -> Iterator[Callable[[str, str, str], Client]]:
    """``clients(uri, mode, name)`` starts a :class:`Client`; all are closed at the end."""
    made: list[Client] = []

    def make(uri: str, mode: str, name: str) -> Client:
        c = Client(uri, mode, name)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture
def cleanup(uri: str) -> Iterator[None]:
    """Destroy every guest left running under the test's root."""
    yield
    with virtcore.open(uri) as conn:
        for dom in conn.list_domains(active=True):
            try:
                dom.destroy()
            except virtcore.errors.VirtError:
                pass


def _lifecycle(events: list[str]) -> list[str]:
    return [e for e in events if e in ("SUSPENDED", "RESUMED")]


def _assert_consistent(events: list[str], final: str, most: int) -> None:
    """Suspend/resume events that never contradict the state: alternating, ending on ``final``."""
    run = _lifecycle(events)
    assert run, "no suspend/resume event at all"
    assert len(run) <= most, run
    for a, b in itertools.pairwise(run):
        assert a != b, f"two {a} events in a row (an invented transition): {run}"
    assert run[-1] == final, run


# --------------------------------------------------------------------------- item 3


def test_read_only_open_never_autostarts(
    uri: str, root: Path, guest_xml: Callable[..., str], cleanup: None
) -> None:
    with virtcore.open(uri) as conn:
        auto = conn.define_domain(guest_xml("ro-auto"))
        auto.autostart = True
        uuid = auto.uuid
    (root / "run" / "autostarted").unlink()  # a host reboot, as the autostart tests simulate it
    with virtcore.open_read_only(uri) as ro:
        assert ro.lookup_domain("ro-auto").state()[0] == DomainState.SHUTOFF
        assert not (root / "run" / uuid).exists()
        assert not (root / "run" / "autostarted").exists()  # the boot is still owed its autostart
        # A read-write open does it, even while this process keeps its read-only connection.
        with virtcore.open(uri) as rw:
            assert rw.lookup_domain("ro-auto").state() == (DomainState.RUNNING, RunningReason.BOOTED)
            assert ro.lookup_domain("ro-auto").state()[0] == DomainState.RUNNING


# --------------------------------------------------------------------------- item 4


def test_read_only_processes_never_starve_read_write_ones(
    uri: str,
    tmp_path: Path,
    guest_xml: Callable[..., str],
    clients: Callable[[str, str, str], Client],
    cleanup: None,
) -> None:
    disk = tmp_path / "disk.raw"
    disk.write_bytes(b"\0" * (1 << 20))
    extra = (
        f"<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{disk}'/>"
        "<target dev='vda' bus='virtio'/></disk>"
    )
    with virtcore.open(uri) as conn:
        conn.define_domain(guest_xml("starve", extra_devices=extra)).start()
    # The starter has gone; three processes now hold read-only connections to the guest.
    holders = [clients(uri, "ro", "starve") for _ in range(3)]
    assert [h.ready_state for h in holders] == ["RUNNING"] * 3
    with virtcore.open(uri) as conn:
        dom = conn.lookup_domain("starve")
        dom.suspend()
        assert dom.state()[0] == DomainState.PAUSED
        # Read-only processes still see the truth, as soon as the change has been made.
        assert [h.state()[0] for h in holders] == ["PAUSED"] * 3
        # A second read-write process is not starved either.
        other = clients(uri, "rw", "starve")
        assert other.ask("resume") == "ok RUNNING"
        assert other.ask("suspend") == "ok PAUSED"
        assert [h.state()[0] for h in holders] == ["PAUSED"] * 3
        wait_for(lambda: dom.state()[0] == DomainState.PAUSED, 30, "the other process's suspend here")
        dom.resume()
        assert [h.state()[0] for h in holders] == ["RUNNING"] * 3
        # Queries that need QEMU still work read-only: a monitor slot is borrowed for each.
        for h in holders:
            stats = h.ask("block_stats vda").split()
            assert stats[0] == "stats" and len(stats) == 6, stats


def test_a_late_look_at_qemu_never_writes_over_a_newer_state(
    uri: str, guest_xml: Callable[..., str], clients: Callable[[str, str, str], Client], cleanup: None
) -> None:
    """This process learns of a pause late and asks QEMU; another process resumes the guest
    between that answer and its publication. ``status.xml`` (what read-only processes read)
    must end with the newer state, RUNNING, not this process's older answer."""
    with virtcore.open(uri) as conn:
        dom = conn.define_domain(guest_xml("late"))
        dom.start()
        h = _host_of(uri)
        d = h.get(dom.uuid)
        other = clients(uri, "rw", "late")
        reader = clients(uri, "ro", "late")
        with d.job:  # this process's own reconciliation waits: it lags behind the other process
            assert other.ask("suspend") == "ok PAUSED"
            assert d.state == DomainState.RUNNING
            assert d.monitor is not None
            real_cmd = d.monitor.cmd
            answers: list[str] = []
            resumer = threading.Thread(target=lambda: answers.append(other.ask("resume")))

            def late_cmd(name: str, *args: object, **kwargs: object) -> object:
                out = real_cmd(name, *args, **kwargs)  # type: ignore[arg-type]
                if name == "query-status":
                    resumer.start()  # the other process resumes while this answer is in flight
                    resumer.join(1.0)
                return out

            d.monitor.cmd = late_cmd  # type: ignore[method-assign]
            try:
                h.runstates.refresh_run_state(d)
            finally:
                d.monitor.cmd = real_cmd  # type: ignore[method-assign]
            resumer.join(30)
            assert answers == ["ok RUNNING"]
            assert real_cmd("query-status", timeout=5)["status"] == "running"
            assert reader.state()[0] == "RUNNING"


def test_a_process_left_with_read_only_connections_gives_its_monitor_back(
    uri: str, guest_xml: Callable[..., str], clients: Callable[[str, str, str], Client], cleanup: None
) -> None:
    ro = virtcore.open_read_only(uri)
    try:
        with virtcore.open(uri) as rw:
            rw.define_domain(guest_xml("handback")).start()
        # Only a read-only connection is left here: every slot is for read-write processes.
        others = [clients(uri, "rw", "handback") for _ in range(3)]
        assert others[0].ask("suspend") == "ok PAUSED"
        assert others[1].ask("resume") == "ok RUNNING"
        assert others[2].ask("suspend") == "ok PAUSED"
        assert ro.lookup_domain("handback").state()[0] == DomainState.PAUSED
    finally:
        ro.close()


# --------------------------------------------------------------------------- item 9


def _host_of(uri: str) -> Host:
    return get_host(layout_for(URI.parse(uri)))


def test_start_after_another_process_undefined_and_stopped_it_is_no_domain(
    conn: virtcore.Connection, uri: str, guest_xml: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dom = conn.define_domain(guest_xml("vanish"))
    dom.start()
    other = Client(uri, "rw", "vanish")
    try:
        assert other.ask("undefine").startswith("ok")  # running, now transient
        conn.list_domains()  # this process has seen that
        assert not dom.is_persistent()
        h = _host_of(uri)
        try:
            real_get = h.get

            def racing_get(uuid: str) -> Dom:
                """Between this process's lookup and its start, the other process destroys it."""
                found = real_get(uuid)
                monkeypatch.setattr(h, "get", real_get)
                assert other.ask("destroy") == "ok gone"
                wait_for(lambda: not found.active, 30, "this process to see the guest stop")
                return found

            monkeypatch.setattr(h, "get", racing_get)
            with pytest.raises(NoDomainError, match="vanish"):
                dom.start()
        finally:
            h.release()
    finally:
        other.close()
    with pytest.raises(NoDomainError, match="vanish"):
        conn.lookup_domain("vanish")


UNDEFINE = "import sys, virtcore; virtcore.open(sys.argv[1]).lookup_domain(sys.argv[2]).undefine()"


def test_operations_on_a_domain_another_process_undefined_are_no_domain(
    conn: virtcore.Connection, uri: str, guest_xml: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inactive-definition setters and XML after the definition vanished between lookup and use."""
    xml = guest_xml("gone")
    h = _host_of(uri)
    try:
        real_get = h.get

        def racing_get(uuid: str) -> Dom:
            found = real_get(uuid)
            subprocess.run([sys.executable, "-c", UNDEFINE, uri, "gone"], check=True, timeout=60)
            h.sync()  # this process has seen the other's change before it goes on
            return found

        for call in (
            lambda d: d.set_max_memory(256 * 1024),
            lambda d: d.set_memory(64 * 1024),
            lambda d: d.set_vcpus(1),
            lambda d: setattr(d, "autostart", True),
            lambda d: d.undefine(),
        ):
            dom = conn.define_domain(xml)
            monkeypatch.setattr(h, "get", racing_get)
            with pytest.raises(NoDomainError, match="gone"):
                call(dom)
            monkeypatch.setattr(h, "get", real_get)
    finally:
        h.release()


# --------------------------------------------------------------------------- item 11


def test_cross_process_events_keep_their_documented_guarantee(
    conn: virtcore.Connection,
    uri: str,
    guest_xml: Callable[..., str],
    clients: Callable[[str, str, str], Client],
) -> None:
    events: list[str] = []
    lock = threading.Lock()

    def cb(d: virtcore.Domain, ev: DomainEventType, detail: int) -> None:
        if d.name == "watched":
            with lock:
                events.append(ev.name)

    conn.on_domain_event(cb)
    dom = conn.define_domain(guest_xml("watched"))
    dom.start()
    watchers = [clients(uri, "ro", "watched") for _ in range(3)]
    actor = clients(uri, "rw", "watched")
    cycles = 12
    for _ in range(cycles):
        assert actor.ask("suspend") == "ok PAUSED"
        assert actor.ask("resume") == "ok RUNNING"
    assert actor.ask("suspend") == "ok PAUSED"
    made = 2 * cycles + 1
    # 1. A process receives every transition it makes itself, once, in order.
    state, own = actor.state()
    assert state == "PAUSED"
    assert _lifecycle(own) == ["SUSPENDED", "RESUMED"] * cycles + ["SUSPENDED"]

    # 2. A read-write watcher follows another process as QEMU's events arrive: coalesced
    #    maybe, never invented, and it ends on the real state and the event that says so.
    def caught_up() -> bool:
        with lock:
            last = _lifecycle(events)[-1:]
        return dom.state()[0] == DomainState.PAUSED and last == ["SUSPENDED"]

    wait_for(caught_up, 60, "the read-write watcher to follow the actor")
    with lock:
        seen = list(events)
    _assert_consistent(seen, "SUSPENDED", made)
    # 3. Read-only watchers: the real state at their next call, with the events up to it.
    for w in watchers:
        state, evs = w.state()
        assert state == "PAUSED"
        _assert_consistent(evs, "SUSPENDED", made)
    # 4. This process's own transitions: exactly these events, delivered before the call returns.
    with lock:
        before = len(events)
    dom.resume()
    dom.suspend()
    dom.resume()
    with lock:
        assert _lifecycle(events[before:]) == ["RESUMED", "SUSPENDED", "RESUMED"]
    for w in watchers:
        state, evs = w.state()
        assert state == "RUNNING"
        _assert_consistent(evs, "RESUMED", made + 3)


def test_watchers_see_starts_and_stops_made_by_another_process(
    conn: virtcore.Connection,
    uri: str,
    guest_xml: Callable[..., str],
    clients: Callable[[str, str, str], Client],
) -> None:
    dom = conn.define_domain(guest_xml("elsewhere"))
    ro = clients(uri, "ro", "elsewhere")
    rw = clients(uri, "rw", "elsewhere")
    assert ro.ready_state == rw.ready_state == "SHUTOFF"
    dom.start()
    for w in (ro, rw):  # at their next call, with the event of it
        state, evs = w.state()
        assert (state, evs) == ("RUNNING", ["STARTED"])
    dom.suspend()
    # A read-only watcher that calls nothing still hears of it (its worker follows the generation).
    wait_for(lambda: ro.events() == ["STARTED", "SUSPENDED"], 30, "the read-only watcher's event")
    assert ro.state() == ("PAUSED", ["STARTED", "SUSPENDED"])
    dom.destroy()
    assert ro.state() == ("SHUTOFF", ["STARTED", "SUSPENDED", "STOPPED"])
    wait_for(lambda: rw.state()[0] == "SHUTOFF", 30, "the read-write watcher to see the destroy")
    assert rw.state()[1][0] == "STARTED" and rw.state()[1][-1] == "STOPPED"


def test_a_stale_view_never_invents_events_or_resumes_a_running_guest(
    conn: virtcore.Connection,
    uri: str,
    guest_xml: Callable[..., str],
    clients: Callable[[str, str, str], Client],
) -> None:
    """This process still believes the guest paused when another process has resumed it."""
    events: list[str] = []
    conn.on_domain_event(lambda d, ev, detail: events.append(ev.name) if d.name == "stale" else None)
    dom = conn.define_domain(guest_xml("stale"))
    dom.start()
    other = clients(uri, "rw", "stale")
    assert other.ask("suspend") == "ok PAUSED"
    wait_for(lambda: dom.state()[0] == DomainState.PAUSED, 30, "this process to see the pause")
    h = _host_of(uri)
    try:
        # Hold this process's event worker so that the other's resume is not handled yet.
        gate, drained = threading.Event(), threading.Event()
        h.work.put(gate.wait)
        assert other.ask("resume") == "ok RUNNING"
        with pytest.raises(OperationInvalidError, match="stale"):
            dom.resume()  # it is running: QEMU's status, not the stale view, decides
        gate.set()
        h.work.put(drained.set)
        assert drained.wait(60)
    finally:
        h.release()
    assert dom.state()[0] == DomainState.RUNNING
    # Exactly the two transitions the other process made: nothing invented, nothing twice.
    assert _lifecycle(events) == ["SUSPENDED", "RESUMED"]
