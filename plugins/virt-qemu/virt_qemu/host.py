"""The QEMU driver's state for one URI: domains, their QEMU processes, monitors and files.

One :class:`Host` exists per process and state directory; every connection
to the same URI in a process shares it (as libvirt's clients share one
daemon). Processes share the directories and coordinate through file locks
and a generation counter (see :mod:`virt_qemu.paths`).

Files (``L`` = the :class:`~virt_qemu.paths.Layout`)::

    L.config/UUID.xml            persistent definition (atomic writes)
    L.config/autostart/UUID      autostart mark
    L.run/UUID.lock              the domain's cross-process lock
    L.run/UUID.last              why it last stopped (read by other processes)
    L.run/UUID/status.xml        running domain: state, pid, id, live XML (rewritten on every
                                 pause/resume, so processes without a monitor read the state)
    L.run/UUID/pid               QEMU's pidfile
    L.run/UUID/monN.sock         QMP sockets (one per managing process), monN.lock
    L.run/UUID/save              a save in progress (held under save.lock; see virt_qemu.saving)
    L.log/UUID.log               QEMU's stderr; L.log/UUID-console.log the serial log

Monitors belong to read-write clients: a process holds QMP monitor slots only
while it has a read-write connection to the URI, so read-only clients can
never take a slot a read-write one needs. A process with only read-only
connections reads running domains from ``status.xml`` at each call that
follows a change (the shared generation tells, also looked at every
:data:`FOLLOW_INTERVAL` by the event worker) and delivers the events of the
changes it finds then. See the README's "Events across processes" for what a
watcher can rely on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
from collections.abc import Iterator

from virt_qemu import argv as argvmod
from virt_qemu.discovery import Discovery
from virt_qemu.hoststate import FOLLOW_INTERVAL, Dom, HostState, Starter
from virt_qemu.monitors import Monitors
from virt_qemu.paths import FileLock, Layout
from virt_qemu.qmpevents import Events
from virt_qemu.runstates import RunStates
from virt_qemu.saverecovery import SaveRecovery
from virt_qemu.stopping import Stopping
from virtcore.errors import (
    ConfigUnsupportedError,
    NoDomainError,
    OperationFailedError,
    OperationInvalidError,
    SystemError_,
    VirtError,
)
from virtcore.files import write_atomically
from virtcore.types import DomainRef, DomainState
from virtcore.xml import DomainDef, format_domain

__all__ = ["Host", "get_host"]

log = logging.getLogger("virt_qemu")

_hosts: dict[str, Host] = {}
_hosts_lock = threading.Lock()


def get_host(layout: Layout) -> Host:
    """The process-wide :class:`Host` for ``layout`` (created on first use), with a new reference."""
    with _hosts_lock:
        h = _hosts.get(layout.key)
        if h is None or h.closed:
            h = Host(layout)
            _hosts[layout.key] = h
        h.refs += 1
        return h


class Host(HostState):
    """Every domain of one state directory, as seen by this process.

    The shared state is :class:`~virt_qemu.hoststate.HostState`'s; each concern is a part
    of its own, wired here on that state: :attr:`discovery` (other processes' changes),
    :attr:`monitors` (QMP connections), :attr:`events` (QMP events), :attr:`runstates`
    (the live state), :attr:`stopping` and :attr:`saves` (interrupted saves).
    """

    def __init__(self, layout: Layout) -> None:
        super().__init__(layout)
        self._autostart_checked = False
        self.monitors = Monitors(
            self, lambda dom, token, name, data: self.events.on_event(dom, token, name, data)
        )
        self.stopping = Stopping(self, self.monitors, lambda uuid: self.saves.drop_unfinished_save(uuid))
        self.runstates = RunStates(self, self.monitors, self.stopping)
        self.events = Events(self, self.runstates)
        self.saves = SaveRecovery(self, self.stopping, self.runstates)
        self.discovery = Discovery(self, self.monitors, self.stopping, self.saves)
        self._worker = threading.Thread(target=self._work_loop, name="virt-qemu-events", daemon=True)
        self._worker.start()
        self.sync(force=True)

    # -- plumbing ---------------------------------------------------------------

    def sync(self, force: bool = False) -> None:
        """Reload what other processes changed (cheap when nothing did): :meth:`Discovery.sync`."""
        self.discovery.sync(force)

    def _work_loop(self) -> None:
        while True:
            try:
                job = self.work.get(timeout=FOLLOW_INTERVAL)
            except queue.Empty:
                job = self._follow
            if job is None:
                return
            try:
                job()
            except VirtError as exc:
                log.debug("event handling: %s", exc)
            except Exception:
                log.exception("event handling failed")

    def _follow(self) -> None:
        """Without monitors, catch up with other processes' changes so that callbacks
        waiting for events get them without calling anything (one shared-memory read
        when nothing changed)."""
        if not self.monitored and self.emitters and not self.closed:
            self.sync()

    def open_client(self, read_only: bool, starter: Starter) -> None:
        """Account for a new connection; a read-write one takes monitors and autostarts guests.

        Only a read-write client may autostart (once per host boot, see
        :meth:`Starter.autostart`), and only a read-write client holds monitor slots:
        a read-only one can never take a slot a read-write one needs.
        """
        with self.lock:
            self._starters.append(starter)
        if read_only:
            return
        with self.lock:
            self.rw_refs += 1
            first = self.rw_refs == 1
            if first:
                self.seen_gen = -1
        if first:
            self.sync()  # reattach with monitors what was followed through status files
        if not self._autostart_checked:
            self._autostart_checked = True
            self.discovery.remove_leftovers()  # a read-only client changes nothing on disk
            starter.autostart()

    def close_client(self, read_only: bool, starter: Starter | None = None) -> None:
        """Undo :meth:`open_client` (``starter``: the one it was given): the last read-write
        client gives the monitor slots back (even while read-only clients stay)."""
        with self.lock:
            if starter in self._starters:
                self._starters.remove(starter)
        if read_only:
            return
        with self.lock:
            self.rw_refs -= 1
            drop = self.rw_refs == 0
            if drop:
                self.seen_gen = -1  # follow running guests through status files from now on
                doms = list(self.doms.values())
        if drop:
            for dom in doms:
                self.monitors.detach_monitor(dom)

    def release(self) -> None:
        """Drop one reference; the last one closes monitors (guests keep running)."""
        with _hosts_lock:
            self.refs -= 1
            if self.refs > 0:
                return
            self.closed = True
            if _hosts.get(self.layout.key) is self:
                del _hosts[self.layout.key]
        with self.lock:
            doms = list(self.doms.values())
        for dom in doms:
            self.monitors.detach_monitor(dom)
        self.work.put(None)
        self._worker.join(2.0)
        if self._loop is not None:
            self._loop.stop()
        self.gen.close()

    # -- lookups -----------------------------------------------------------------

    def get(self, uuid: str) -> Dom:
        dom = self.doms.get(uuid)
        if dom is None:
            self.sync()
            dom = self.doms.get(uuid)
            if dom is None:
                raise NoDomainError(f"no domain with matching uuid '{uuid}'")
        return dom

    def by_name_get(self, name: str) -> Dom:
        self.sync()
        dom = self.by_name.get(name)
        if dom is None:
            raise NoDomainError(f"no domain with matching name '{name}'")
        return dom

    def current(self, uuid: str) -> Dom:
        """The domain with its state brought up to date with other processes' changes.

        With monitors, QMP events keep running domains current; without them
        (only read-only connections here), the shared generation says when
        ``status.xml`` must be read again.
        """
        dom = self.doms.get(uuid)
        if dom is None or dom.state == DomainState.SHUTOFF or not self.monitored:
            self.sync()
            dom = self.get(uuid)
        return dom

    def still_known(self, dom: Dom) -> None:
        """Check, after other processes' changes, that ``dom`` still exists.

        :raises NoDomainError: another process undefined (and stopped) it since it was looked up.
        """
        self.sync()
        if self.doms.get(dom.uuid) is not dom:
            raise NoDomainError(f"domain '{dom.name}' is no longer defined")

    def config_of(self, dom: Dom) -> DomainDef:
        """The persistent definition of ``dom``, checked against other processes' changes.

        :raises NoDomainError: another process undefined it since it was looked up.
        """
        self.still_known(dom)
        if dom.config is None:
            raise NoDomainError(f"domain '{dom.name}' is no longer defined")
        return dom.config

    def list_refs(self, active: bool | None) -> list[DomainRef]:
        self.sync()
        with self.lock:
            doms = list(self.doms.values())
        return [d.ref for d in doms if active is None or d.active == active]

    # -- definitions ---------------------------------------------------------------

    def validate(self, d: DomainDef) -> None:
        if d.type not in ("qemu", "kvm"):
            raise ConfigUnsupportedError(
                f"<domain type='{d.type}'>: the QEMU driver runs type 'qemu' and 'kvm'"
            )
        spec = argvmod.LaunchSpec(pidfile="/nonexistent", monitor_fds=(3,))
        argvmod.build_argv(d, emulator=d.emulator or "qemu", machine=d.os.machine or "pc", spec=spec)

    def check_conflicts(self, d: DomainDef) -> Dom | None:
        other = self.by_name.get(d.name)
        if other is not None and other.uuid != d.uuid:
            raise OperationFailedError(f"domain '{d.name}' already exists with uuid {other.uuid}")
        same = self.doms.get(d.uuid)
        if same is not None and same.name != d.name:
            if same.active:
                raise OperationFailedError(
                    f"domain '{same.name}' is already active with uuid {d.uuid} (cannot rename to '{d.name}')"
                )
            if same.config is not None:
                raise OperationFailedError(f"domain '{same.name}' already exists with uuid {d.uuid}")
        return same

    def claim(self, d: DomainDef) -> Dom:
        """The domain ``d`` will run as, registered under its name (create and restore).

        :raises OperationInvalidError: that domain is already active.
        :raises OperationFailedError: the name or UUID belongs to another domain.
        """
        with self.lock:
            same = self.check_conflicts(d)
            if same is not None and same.active:
                raise OperationInvalidError(f"domain '{d.name}' is already active")
            dom = same or Dom(d.uuid, d.name)
            self.doms[d.uuid] = dom
            self.rename(dom, d.name)
        return dom

    def unclaim(self, dom: Dom) -> None:
        """Forget a domain :meth:`claim` registered when it did not start (a transient one)."""
        with self.lock:
            if dom.config is None and not dom.active:
                self.forget(dom)

    # -- running domains -------------------------------------------------------------

    def require_active(self, uuid: str) -> Dom:
        dom = self.get(uuid)
        if not dom.active:
            raise OperationInvalidError(f"domain '{dom.name}' is not running")
        if dom.monitor is None:
            self.sync(force=True)
            if dom.monitor is None:
                raise OperationFailedError(f"no monitor connection to domain '{dom.name}'")
        return dom

    @contextlib.contextmanager
    def active_job(self, uuid: str) -> Iterator[Dom]:
        """``uuid``'s running domain with its job held, still running once the job is ours."""
        dom = self.require_active(uuid)
        with dom.job:
            if not dom.active:
                raise OperationInvalidError(f"domain '{dom.name}' is not running")
            yield dom

    # -- information -------------------------------------------------------------------

    def save_config(self, dom: Dom, d: DomainDef, prepared: str | None = None) -> None:
        """Make ``d`` the persistent definition of ``dom`` (written atomically and synced).

        ``prepared``: a synced temporary already holding ``d`` (on this filesystem, outside
        ``config/``), renamed into place; the caller then syncs ``layout.config``
        (:func:`virtcore.files.sync_directory`), so a write can be made ahead of the change it records.
        """
        path = self.layout.config / f"{dom.uuid}.xml"
        with FileLock(self.layout.config / ".lock").held():  # see remove_leftovers
            if prepared is None:
                write_atomically(path, format_domain(d).encode())
            else:
                try:
                    os.replace(prepared, path)
                except OSError as exc:
                    raise SystemError_(f"cannot write '{path}': {exc.strerror}") from None
        dom.config = d
        with contextlib.suppress(OSError):
            dom.config_mtime = path.stat().st_mtime_ns
        self.bump()
