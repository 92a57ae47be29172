"""Event registration of libvirt's API on a connection, delivered through the registered event loop.

``virConnect``'s event methods delegate here with the connection first
(``virConnect.domainEventRegisterAny(dom, eventID, cb, opaque)`` is
``domainEventRegisterAny(conn, dom, eventID, cb, opaque)``). As libvirt's
``object_event.c`` does, each connection keeps its callbacks and a queue:
the first registration adds a disabled timer to the registered event loop
(none registered: ``VIR_ERR_INTERNAL_ERROR``), virtcore's callbacks (on a
driver's thread, or the caller's) only queue the event and arm the timer
(timeout 0), and the loop's iteration runs the user's callbacks, in order,
with libvirt-python's signature for the event id
(``cb(conn, dom, event, detail, opaque)`` for the lifecycle,
``cb(conn, dom, utcoffset, opaque)`` for an RTC change, ...). The last
deregistration removes the timer and drops what was queued.

Every ``VIR_DOMAIN_EVENT_ID_*`` can be registered; those no driver produces
never fire. Network, storage pool and node device events go the same way, from
virtcore's ``Connection.on_object_event``, to ``cb(conn, net, event,
detail, opaque)`` for a lifecycle event and ``cb(conn, pool, opaque)`` for
the others (a pool's refresh, a device's update). Secret events are not
offered (``virConnectSecretEventRegisterAny`` is NO_SUPPORT, as on libvirt's
test driver, which has no secret driver): no driver of virtcore emits them.
Callback ids count from 0 per
connection, shared by every kind, as libvirt's per driver; the same
callback kind registered twice for the same id and domain is "event
callback already tracked" (libvirt-python passes one C callback per id).
"""

from __future__ import annotations

import sys
import threading
import traceback
import weakref
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from virt_libvirt import eventloop
from virt_libvirt.domain import virDomain
from virt_libvirt.errors import libvirtError, raise_error
from virtcore.connection import Connection, Domain
from virtcore.errors import InternalError, InvalidArgError, VirtError
from virtcore.events import DomainEventID
from virtcore.types import DomainRef

if TYPE_CHECKING:
    from virt_libvirt.connect import virConnect

__all__ = [
    "domainEventRegisterAny",
    "domainEventDeregisterAny",
    "domainEventRegister",
    "domainEventDeregister",
    "networkEventRegisterAny",
    "networkEventDeregisterAny",
    "storagePoolEventRegisterAny",
    "storagePoolEventDeregisterAny",
    "nodeDeviceEventRegisterAny",
    "nodeDeviceEventDeregisterAny",
    "registerCloseCallback",
    "unregisterCloseCallback",
    "payload",
    "holds_connection",
]

#: ``VIR_FROM_NONE``: where libvirt's object-event code reports its errors.
_FROM_NONE = 0

#: How many event ids each kind has in libvirt 9.0.0 (``VIR_*_EVENT_ID_LAST``).
_LAST = {"domain": len(DomainEventID), "network": 1, "storagePool": 2, "nodeDevice": 2}

#: libvirt-python's name of each object kind -> virtcore's ``ObjectKind`` value.
_OBJECT_KINDS = {
    "network": "network",
    "storagePool": "storage_pool",
    "nodeDevice": "node_device",
}


def payload(event_id: int, record: Any) -> tuple[Any, ...]:
    """The arguments between ``dom`` and ``opaque`` of libvirt-python's callback for ``event_id``."""
    e = DomainEventID
    if event_id == e.LIFECYCLE:
        return (int(record.event), int(record.detail))
    if event_id in (e.REBOOT, e.CONTROL_ERROR):
        return ()
    if event_id == e.RTC_CHANGE:
        return (record.utcoffset,)
    if event_id == e.WATCHDOG:
        return (int(record.action),)
    if event_id == e.IO_ERROR:
        return (record.src_path, record.dev_alias, int(record.action))
    if event_id == e.IO_ERROR_REASON:
        return (record.src_path, record.dev_alias, int(record.action), record.reason)
    if event_id == e.TRAY_CHANGE:
        return (record.dev_alias, int(record.reason))
    if event_id == e.DISK_CHANGE:
        return (record.old_src_path, record.new_src_path, record.dev_alias, int(record.reason))
    if event_id in (e.PMWAKEUP, e.PMSUSPEND, e.PMSUSPEND_DISK):
        return (int(record.reason),)
    if event_id == e.BALLOON_CHANGE:
        return (record.actual,)
    if event_id in (e.DEVICE_ADDED, e.DEVICE_REMOVED, e.DEVICE_REMOVAL_FAILED):
        return (record.dev_alias,)
    if event_id == e.AGENT_LIFECYCLE:
        return (int(record.state), int(record.reason))
    if event_id == e.METADATA_CHANGE:
        return (int(record.type), record.nsuri)
    raise ValueError(f"no driver produces domain event {event_id}")  # registered, never emitted


class _Callback:
    __slots__ = ("cb", "event_id", "key", "kind", "legacy", "opaque")

    def __init__(self, kind: str, event_id: int, key: str | None, cb: Any, opaque: Any, legacy: bool) -> None:
        self.kind, self.event_id, self.key, self.cb, self.opaque, self.legacy = (
            kind,
            event_id,
            key,
            cb,
            opaque,
            legacy,
        )


class _State:
    """One connection's callbacks, event queue and timer (libvirt's ``virObjectEventState``)."""

    def __init__(self, conn: virConnect) -> None:
        self.conn = weakref.ref(conn)
        self.lock = threading.RLock()
        self.callbacks: dict[int, _Callback] = {}
        self.next_id = 0
        self.timer = -1
        self.queue: deque[tuple[str, int, Any, Any]] = deque()
        #: virtcore registrations: (kind, event id) -> virtcore's callback id.
        self.core: dict[tuple[str, int], int] = {}
        #: ``domainEventRegister``'s callbacks (libvirt-python's ``domainEventCallbacks``).
        self.legacy: dict[Any, Any] | None = None
        self.legacy_id = -1
        self.close_cb: tuple[Any, Any] | None = None

    # -- registration ----------------------------------------------------------

    def add(
        self, kind: str, event_id: int, key: str | None, cb: Any, opaque: Any, legacy: bool = False
    ) -> int:
        with self.lock:
            for c in self.callbacks.values():
                if (c.kind, c.event_id, c.key, c.legacy) == (kind, event_id, key, legacy):
                    raise_error(InvalidArgError, "event callback already tracked", _FROM_NONE)
            if self.timer == -1:
                timer = eventloop.add_timeout(-1, self._flush, None)
                if timer < 0:
                    raise_error(InternalError, "could not initialize domain event timer", _FROM_NONE)
                self.timer = timer
            if (kind, event_id) not in self.core:
                try:
                    self.core[kind, event_id] = self._watch(kind, event_id)
                except BaseException:
                    self._unwatch(event_id, kind)  # the timer too, if nothing else needs it
                    raise
            cid = self.next_id
            self.next_id += 1
            self.callbacks[cid] = _Callback(kind, event_id, key, cb, opaque, legacy)
            return cid

    def _watch(self, kind: str, event_id: int) -> int:
        conn = self.conn()
        if conn is None:
            raise_error(InternalError, "the connection is gone", _FROM_NONE)
        queue, arm = self.queue, self._arm

        def queued(obj: Any, record: Any) -> None:  # on the thread that saw the event
            queue.append((kind, event_id, obj, record))
            arm()

        try:
            if kind == "domain":
                return conn._conn.on_domain_event_any(event_id, queued)
            return conn._conn.on_object_event(_OBJECT_KINDS[kind], event_id, queued)
        except VirtError as exc:
            from virt_libvirt.errors import raise_from

            raise_from(exc)

    def _arm(self) -> None:
        timer = self.timer
        if timer != -1:
            eventloop.update_timeout(timer, 0)

    def remove(self, cid: int, kind: str) -> None:
        with self.lock:
            c = self.callbacks.get(cid)
            if c is None:
                raise_error(InvalidArgError, f"could not find event callback {cid} for deletion", _FROM_NONE)
            del self.callbacks[cid]
            self._unwatch(c.event_id, c.kind)
        if c.kind != kind:
            # libvirt removes an id of any kind; libvirt-python then misses it in its dictionary of this kind
            raise KeyError(cid)

    def _unwatch(self, event_id: int, kind: str) -> None:
        """Drop virtcore's registration of ``event_id`` and the timer when nothing needs them."""
        if not any(c.kind == kind and c.event_id == event_id for c in self.callbacks.values()):
            core = self.core.pop((kind, event_id), None)
            conn = self.conn()
            if core is not None and conn is not None:
                try:
                    conn._conn.remove_event(core)
                except VirtError:
                    pass  # the connection is closed: nothing fires any more
        if not self.callbacks and self.timer != -1:
            eventloop.remove_timeout(self.timer)
            self.timer = -1
            self.queue.clear()

    # -- delivery (on the event loop) ------------------------------------------

    def _flush(self, timer: int, opaque: Any) -> None:
        eventloop.update_timeout(timer, -1)
        conn = self.conn()
        while self.queue:
            try:
                kind, event_id, obj, record = self.queue.popleft()
            except IndexError:
                return
            if conn is None:
                continue
            with self.lock:
                targets = [c for c in self.callbacks.values() if c.kind == kind and c.event_id == event_id]
                legacy = (
                    dict(self.legacy)
                    if self.legacy and kind == "domain" and event_id == DomainEventID.LIFECYCLE
                    else {}
                )
            if not targets:
                continue
            if kind == "domain":
                self._deliver(conn, event_id, obj, record, targets, legacy)
            else:
                _deliver_object(conn, kind, obj, record, targets)

    @staticmethod
    def _deliver(
        conn: virConnect,
        event_id: int,
        dom: Any,
        record: Any,
        targets: list[_Callback],
        legacy: dict[Any, Any],
    ) -> None:
        args = payload(event_id, record)
        wrapped: virDomain | None = None
        for c in targets:
            if c.key is not None and c.key != dom.uuid:
                continue
            if wrapped is None:
                wrapped = virDomain(conn, _EventDomain(dom.connection, record.domain))
            if c.legacy:  # libvirt-python's one C callback for every domainEventRegister callback
                for cb, opaque in legacy.items():
                    _run(cb, conn, wrapped, *args, opaque)
            else:
                _run(c.cb, conn, wrapped, *args, c.opaque)


def _deliver_object(conn: virConnect, kind: str, obj: Any, record: Any, targets: list[_Callback]) -> None:
    """Run the callbacks of a network's, pool's or node device's event: ``cb(conn, handle,
    event, detail, opaque)`` for a lifecycle event, ``cb(conn, handle, opaque)`` for the others."""
    from virt_libvirt.network import virNetwork
    from virt_libvirt.objects import virNodeDevice
    from virt_libvirt.storage import virStoragePool

    wrap = {
        "network": virNetwork,
        "storagePool": virStoragePool,
        "nodeDevice": virNodeDevice,
    }[kind]
    key = obj.name if kind == "nodeDevice" else obj.uuid
    args = (int(record.event), int(record.detail)) if hasattr(record, "event") else ()
    handle: Any = None
    for c in targets:
        if c.key is not None and c.key != key:
            continue
        if handle is None:
            handle = wrap(conn, obj)
        _run(c.cb, conn, handle, *args, c.opaque)


class _EventDomain(Domain):
    """The domain as the event saw it: its id is the one it had then, as in libvirt, whose event
    carries a domain object of name, UUID and id (a callback may run after the domain stopped or
    is gone, and ``dom.ID()`` still says what it was). Everything else asks the driver."""

    __slots__ = ("_event_id",)

    def __init__(self, conn: Connection, ref: DomainRef) -> None:
        super().__init__(conn, ref)
        self._event_id = ref.id

    @property
    def id(self) -> int:
        """The hypervisor id the domain had when the event happened."""
        return self._event_id


def _run(cb: Callable[..., object], *args: Any) -> None:
    """Run a user's callback; an exception is printed and the others still run (libvirt-python's)."""
    try:
        cb(*args)
    except Exception:
        sys.stderr.write("libvirt: exception in an event callback:\n")
        traceback.print_exc()


_states: weakref.WeakKeyDictionary[Any, _State] = weakref.WeakKeyDictionary()
_states_lock = threading.Lock()


def _state(conn: virConnect) -> _State:
    with _states_lock:
        st = _states.get(conn)
        if st is None:
            st = _states[conn] = _State(conn)
        return st


def holds_connection(conn: virConnect) -> bool:
    """Whether event callbacks are registered on ``conn`` (each holds it open, as in libvirt)."""
    with _states_lock:
        st = _states.get(conn)
    return st is not None and bool(st.callbacks)


def _check_id(kind: str, event_id: object, function: str) -> int:
    """libvirt-python's check: an id it has no callback for fails without an error of libvirt's."""
    if isinstance(event_id, bool) or not isinstance(event_id, int):
        raise TypeError(f"{function}: eventID must be an integer")
    if not 0 <= event_id < _LAST[kind]:
        raise libvirtError(f"{function}() failed")
    return event_id


def _key(obj: Any, what: str) -> str | None:
    """What identifies ``obj`` in its events: a node device's name, any other object's UUID."""
    if obj is None:
        return None
    try:
        return str(obj.name()) if what == "nodeDevice" else str(obj.UUIDString())
    except AttributeError:
        raise_error(InvalidArgError, f"{what} must be a libvirt object of its kind or None", _FROM_NONE)


def _no_callback(function: str) -> NoReturn:
    raise_error(InvalidArgError, f"cb in {function} must not be NULL", _FROM_NONE)


# -- domains -------------------------------------------------------------------------------


def domainEventRegisterAny(  # noqa: N802
    conn: virConnect, dom: virDomain | None, event_id: int, cb: Any, opaque: Any
) -> int:
    """Call ``cb`` on events ``event_id`` of ``dom`` (None: every domain); the callback id.

    :raises libvirtError: no event loop is registered (INTERNAL_ERROR), the
        same registration exists (INVALID_ARG), or ``event_id`` is none of
        libvirt's (no error code, as libvirt-python).
    """
    event_id = _check_id("domain", event_id, "virConnectDomainEventRegisterAny")
    if not callable(cb):
        _no_callback("virConnectDomainEventRegisterAny")
    return _state(conn).add("domain", event_id, _key(dom, "dom"), cb, opaque)


def domainEventDeregisterAny(conn: virConnect, callbackID: int) -> None:  # noqa: N802, N803
    """Forget the domain event callback ``callbackID``.

    :raises libvirtError: INVALID_ARG, no such callback on this connection.
    """
    _state(conn).remove(callbackID, "domain")


def domainEventRegister(conn: virConnect, cb: Any, opaque: Any) -> None:  # noqa: N802
    """Call ``cb(conn, dom, event, detail, opaque)`` on lifecycle events of every domain (the legacy form).

    Registering the same ``cb`` again replaces its ``opaque`` (libvirt-python's dictionary).
    """
    if not callable(cb):
        _no_callback("virConnectDomainEventRegister")
    st = _state(conn)
    with st.lock:
        if st.legacy is None:
            st.legacy_id = st.add("domain", DomainEventID.LIFECYCLE, None, None, None, legacy=True)
            st.legacy = {}
        st.legacy[cb] = opaque


def domainEventDeregister(conn: virConnect, cb: Any) -> None:  # noqa: N802
    """Forget a callback of :func:`domainEventRegister` (none registered at all: nothing happens).

    :raises KeyError: others are registered, ``cb`` is not (libvirt-python's behaviour).
    """
    st = _state(conn)
    with st.lock:
        if st.legacy is None:
            return
        del st.legacy[cb]
        if not st.legacy:
            st.legacy = None
            st.remove(st.legacy_id, "domain")
            st.legacy_id = -1


# -- networks, storage pools, node devices ---------------------------------------------------


def _register_other(
    kind: str, function: str, conn: virConnect, obj: Any, event_id: int, cb: Any, opaque: Any
) -> int:
    event_id = _check_id(kind, event_id, function)
    if not callable(cb):
        _no_callback(function)
    return _state(conn).add(kind, event_id, _key(obj, kind), cb, opaque)


def networkEventRegisterAny(conn: virConnect, net: Any, eventID: int, cb: Any, opaque: Any) -> int:  # noqa: N802, N803
    """Call ``cb`` on events ``eventID`` of network ``net`` (None: of every network); the callback id."""
    return _register_other("network", "virConnectNetworkEventRegisterAny", conn, net, eventID, cb, opaque)


def networkEventDeregisterAny(conn: virConnect, callbackID: int) -> None:  # noqa: N802, N803
    """Forget a network event callback (INVALID_ARG if unknown)."""
    _state(conn).remove(callbackID, "network")


def storagePoolEventRegisterAny(conn: virConnect, pool: Any, eventID: int, cb: Any, opaque: Any) -> int:  # noqa: N802, N803
    """Call ``cb`` on events ``eventID`` of storage pool ``pool`` (None: of every pool); the callback id."""
    return _register_other(
        "storagePool", "virConnectStoragePoolEventRegisterAny", conn, pool, eventID, cb, opaque
    )


def storagePoolEventDeregisterAny(conn: virConnect, callbackID: int) -> None:  # noqa: N802, N803
    """Forget a storage pool event callback (INVALID_ARG if unknown)."""
    _state(conn).remove(callbackID, "storagePool")


def nodeDeviceEventRegisterAny(conn: virConnect, dev: Any, eventID: int, cb: Any, opaque: Any) -> int:  # noqa: N802, N803
    """Call ``cb`` on events ``eventID`` of node device ``dev`` (None: of every device); the callback id."""
    return _register_other(
        "nodeDevice", "virConnectNodeDeviceEventRegisterAny", conn, dev, eventID, cb, opaque
    )


def nodeDeviceEventDeregisterAny(conn: virConnect, callbackID: int) -> None:  # noqa: N802, N803
    """Forget a node device event callback (INVALID_ARG if unknown)."""
    _state(conn).remove(callbackID, "nodeDevice")


def registerCloseCallback(conn: virConnect, cb: Any, opaque: Any) -> int:  # noqa: N802
    """Remember ``cb`` for the connection's closing; 0. virtcore's drivers are in-process and
    never close a connection by themselves, so it never fires (libvirt's local drivers likewise)."""
    if not callable(cb):
        _no_callback("virConnectRegisterCloseCallback")
    _state(conn).close_cb = (cb, opaque)
    return 0


def unregisterCloseCallback(conn: virConnect) -> None:  # noqa: N802
    """Forget the close callback."""
    _state(conn).close_cb = None
