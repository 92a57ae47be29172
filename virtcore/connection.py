"""Connections and domains: the public API over the driver hooks.

A :class:`Connection` owns one :class:`pluggy.PluginManager` holding the
objects its driver returned for the URI. At connect time it compiles a
dispatch table: for every hook, either the single implementation bound
directly (no pluggy overhead on the hot path), the pluggy hook caller (when
several channels implement it or a wrapper is registered), a function that
raises ``NoSupportError`` (nobody implements it), or one that raises
``OperationDeniedError`` (a mutating hook on a read-only connection).

The manager stays private: the dispatch table is the only way to a hook, so
the read-only guard cannot be walked around. :meth:`Connection.driver_objects`
and :meth:`Connection.implementers` show what is registered (on a read-only
connection through views that refuse mutating hooks).
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any, NoReturn

import pluggy

from virtcore import hookspecs, limits
from virtcore.drivers import hook_names, load_driver
from virtcore.errors import (
    InvalidArgError,
    InvalidConnError,
    NoConnectError,
    NoSupportError,
    OperationDeniedError,
    OperationFailedError,
    XMLError,
)
from virtcore.types import (
    DomainEvent,
    DomainEventType,
    DomainInfo,
    DomainRef,
    DomainState,
    NodeInfo,
)
from virtcore.uri import DEFAULT_URI_ENV, URI, default_uri

__all__ = ["Connection", "Domain", "EventCallback", "open", "open_read_only", "OPERATIONS", "iter_operations"]


def _log_exception(message: str, *args: object) -> None:
    import logging  # only on the error path: keeps ``import virtcore`` light

    logging.getLogger("virtcore").exception(message, *args)


_PREFIX = "virt_"
#: Hooks a user never calls directly; they are not "operations".
_INTERNAL_HOOKS = frozenset({"virt_connect_open", "virt_connect_close", "virt_domain_event"})


#: Every operation name (hook name without ``virt_``) mapped to whether it mutates.
OPERATIONS: dict[str, bool] = {
    name[len(_PREFIX) :]: mutating
    for name, mutating in hookspecs.HOOKS.items()
    if name not in _INTERNAL_HOOKS
}

#: Signature of a domain event callback: ``callback(domain, event, detail)``.
EventCallback = Callable[["Domain", DomainEventType, int], None]


class _EventRelay:
    """The core's own plugin: passes driver events to the connection's callbacks."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @hookspecs.hookimpl
    def virt_domain_event(self, event: DomainEvent) -> None:
        self._conn._dispatch_event(event)


def _unsupported(op: str) -> Callable[..., NoReturn]:
    def call(**_: Any) -> NoReturn:
        raise NoSupportError(op)

    return call


def _denied(op: str) -> Callable[..., NoReturn]:
    def call(**_: Any) -> NoReturn:
        raise OperationDeniedError(f"read only access prevents {op}")

    return call


def _closed(op: str) -> Callable[..., NoReturn]:
    def call(**_: Any) -> NoReturn:
        raise InvalidConnError(f"{op}: the connection is closed")

    return call


def _direct(impl: pluggy.HookImpl, spec_args: tuple[str, ...]) -> Callable[..., Any]:
    fn = impl.function
    if tuple(impl.argnames) == spec_args:
        return fn
    wanted = tuple(impl.argnames)

    def call(**kwargs: Any) -> Any:
        return fn(*[kwargs[a] for a in wanted])

    return call


class _ReadOnlyView:
    """A driver object seen from a read-only connection: its mutating hooks are refused.

    Everything else is forwarded, and ``isinstance`` sees the wrapped class.
    """

    __slots__ = ("_target",)

    def __init__(self, target: object) -> None:
        object.__setattr__(self, "_target", target)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # makes isinstance() see the driver's class
        return type(self._target)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if hookspecs.HOOKS.get(name):
            return _denied(name[len(_PREFIX) :])
        return value

    def __setattr__(self, name: str, value: object) -> None:
        raise OperationDeniedError(f"read only access prevents changing {type(self._target).__name__}.{name}")

    def __repr__(self) -> str:
        return f"<read-only view of {self._target!r}>"


def _check_hooks(plugin: object, driver: str) -> None:
    """Refuse ``plugin`` if a ``virt_*`` method of it matches no hook (see :func:`hook_names`)."""
    try:
        hook_names(plugin)
    except OperationFailedError as exc:
        raise OperationFailedError(f"driver {driver!r} {exc.detail}") from None


def _register(pm: pluggy.PluginManager, plugin: object, name: str | None, driver: str) -> None:
    """Register a checked ``plugin``; pluggy's validation errors become VirtErrors, and leave nothing."""
    try:
        pm.register(plugin, name=name)
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        if pm.is_registered(plugin):
            pm.unregister(plugin)
        raise OperationFailedError(
            f"driver {driver!r} plugin {type(plugin).__name__}: {' '.join(str(exc).split())}"
        ) from None


class Connection:
    """A connection to one hypervisor driver. Open it with :func:`virtcore.open`.

    Use it as a context manager, or call :meth:`close` (idempotent). Domains
    keep running when their connection closes.
    """

    def __init__(self, uri: str | URI, read_only: bool = False) -> None:
        parsed = uri if isinstance(uri, URI) else URI.parse(uri)
        self._uri = parsed
        self._read_only = bool(read_only)
        self._closed = False
        self._callbacks: dict[int, EventCallback] = {}
        self._callback_ids = itertools.count(1)
        self._lock = threading.Lock()
        factory = load_driver(parsed.driver, parsed.text)
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        objects = factory(parsed, self._read_only)
        if not objects:
            raise NoConnectError(f"URI {parsed.text!r} (driver {parsed.driver!r} declined it)")
        for obj in objects:
            _check_hooks(obj, parsed.driver)
        try:
            for obj in objects:
                _register(self._pm, obj, None, parsed.driver)
        except BaseException:
            self._safe_close_plugins()  # what the factory opened for the ones registered
            raise
        self._pm.register(_EventRelay(self), name="virtcore.events")
        self._ops: Any = SimpleNamespace()
        self._implemented: frozenset[str] = frozenset()
        self._relay_only = True
        self._compile()
        try:
            self._pm.hook.virt_connect_open(uri=parsed, read_only=self._read_only, emit=self._emit)
        except BaseException:
            self._safe_close_plugins()
            raise

    # -- plumbing ----------------------------------------------------------

    def _compile(self) -> None:
        """Build the dispatch table from the registered implementations."""
        ops = SimpleNamespace()
        implemented = set()
        for op, mutating in OPERATIONS.items():
            caller = getattr(self._pm.hook, _PREFIX + op)
            impls = caller.get_hookimpls()
            plain = [i for i in impls if not (i.hookwrapper or i.wrapper)]
            if not plain:
                setattr(ops, op, _unsupported(op))
                continue
            implemented.add(op)
            if mutating and self._read_only:
                setattr(ops, op, _denied(op))
            elif len(impls) == 1:
                spec_args = tuple(caller.spec.argnames) if caller.spec else ()
                setattr(ops, op, _direct(plain[0], spec_args))
            else:
                setattr(ops, op, caller)
        self._ops = ops
        self._implemented = frozenset(implemented)
        observers = self._pm.hook.virt_domain_event.get_hookimpls()
        self._relay_only = len(observers) == 1 and isinstance(observers[0].plugin, _EventRelay)

    def register_plugin(self, plugin: object, name: str | None = None) -> None:
        """Register an extra plugin object (an observer, a wrapper, a channel).

        The dispatch table is rebuilt, so a ``hookwrapper`` registered here sees
        every later call.
        """
        _check_hooks(plugin, self._uri.driver)
        _register(self._pm, plugin, name, self._uri.driver)
        self._compile()

    def _expose(self, plugin: object) -> object:
        return _ReadOnlyView(plugin) if self._read_only else plugin

    def driver_objects(self) -> tuple[object, ...]:
        """The objects serving this connection, in registration order (the driver's, then
        those added with :meth:`register_plugin`), for introspection and white-box tests.

        On a read-only connection each is a view whose mutating hooks raise
        ``OperationDeniedError``; ``isinstance`` still sees the object's class.
        """
        plugins = (p for _, p in self._pm.list_name_plugin() if p is not None)
        return tuple(self._expose(p) for p in plugins if not isinstance(p, _EventRelay))

    def implementers(self, operation: str) -> tuple[object, ...]:
        """The objects implementing ``operation``, in the order they are asked (first first).

        Views as in :meth:`driver_objects`. ``operation`` is ``"domain_suspend"``
        or ``"virt_domain_suspend"``.
        """
        if operation.startswith(_PREFIX):
            operation = operation[len(_PREFIX) :]
        if operation not in OPERATIONS:
            raise InvalidArgError(f"unknown operation {operation!r}")
        impls = getattr(self._pm.hook, _PREFIX + operation).get_hookimpls()
        # pluggy asks the last of its list first
        return tuple(self._expose(i.plugin) for i in reversed(impls) if not (i.hookwrapper or i.wrapper))

    def _emit(self, event: DomainEvent) -> None:
        # With no observer plugin besides the core's relay, skip pluggy.
        if self._relay_only:
            self._dispatch_event(event)
        else:
            self._pm.hook.virt_domain_event(event=event)

    def _dispatch_event(self, event: DomainEvent) -> None:
        if not self._callbacks:
            return
        with self._lock:
            callbacks = list(self._callbacks.values())
        dom = Domain(self, event.domain)
        for cb in callbacks:
            try:
                cb(dom, event.event, event.detail)
            except Exception:  # a user's callback must not break the driver
                _log_exception("domain event callback %r failed", cb)

    def _declined(self, op: str) -> NoReturn:
        raise NoSupportError(f"{op} (every driver channel declined)")

    def _safe_close_plugins(self) -> None:
        try:
            self._pm.hook.virt_connect_close()
        except Exception:
            _log_exception("closing driver of %s failed", self._uri.text)

    # -- connection --------------------------------------------------------

    def close(self) -> None:
        """Close the connection; idempotent. Later calls raise ``VirtError`` (INVALID_CONN)."""
        if self._closed:
            return
        self._closed = True
        self._safe_close_plugins()
        closed = SimpleNamespace()
        for op in OPERATIONS:
            setattr(closed, op, _closed(op))
        self._ops = closed
        with self._lock:
            self._callbacks.clear()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("read-only" if self._read_only else "open")
        return f"<virtcore.Connection {self._uri.text!r} {state}>"

    @property
    def uri(self) -> str:
        """The URI this connection was opened with."""
        return self._uri.text

    @property
    def parsed_uri(self) -> URI:
        """The URI, parsed."""
        return self._uri

    @property
    def read_only(self) -> bool:
        """Whether mutating operations are refused."""
        return self._read_only

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def is_alive(self) -> bool:
        """True until the connection is closed."""
        return not self._closed

    def supports(self, operation: str) -> bool:
        """Whether a driver implements ``operation`` (``"domain_suspend"`` or ``"virt_domain_suspend"``).

        A read-only connection still *supports* mutating operations; it refuses them.
        """
        if operation.startswith(_PREFIX):
            operation = operation[len(_PREFIX) :]
        if operation not in OPERATIONS:
            raise InvalidArgError(f"unknown operation {operation!r}")
        return operation in self._implemented

    def supported_operations(self) -> frozenset[str]:
        """Names of every operation some registered driver object implements."""
        return self._implemented

    def get_type(self) -> str:
        """The hypervisor type: ``"TEST"``, ``"QEMU"``, ``"Xen"``."""
        r: str | None = self._ops.connect_get_type()
        return r if r is not None else self._declined("connect_get_type")

    def get_version(self) -> int:
        """The hypervisor version, ``major * 1_000_000 + minor * 1_000 + release``."""
        r: int | None = self._ops.connect_get_version()
        return r if r is not None else self._declined("connect_get_version")

    def hostname(self) -> str:
        """The host's name."""
        r: str | None = self._ops.connect_get_hostname()
        return r if r is not None else self._declined("connect_get_hostname")

    def capabilities_xml(self) -> str:
        """libvirt's capabilities XML for the host and its guests."""
        r: str | None = self._ops.connect_get_capabilities()
        return r if r is not None else self._declined("connect_get_capabilities")

    def node_info(self) -> NodeInfo:
        """The host's CPUs and memory (KiB)."""
        r: NodeInfo | None = self._ops.node_get_info()
        return r if r is not None else self._declined("node_get_info")

    # -- domains -----------------------------------------------------------

    def list_domains(self, active: bool | None = None) -> list[Domain]:
        """Domains: all (``None``), only active (``True``) or only inactive (``False``)."""
        refs: list[DomainRef] | None = self._ops.connect_list_all_domains(active=active)
        if refs is None:
            self._declined("connect_list_all_domains")
        return [Domain(self, r) for r in refs]

    def lookup_domain(self, name: str) -> Domain:
        """The domain called ``name``; ``NoDomainError`` if there is none."""
        r: DomainRef | None = self._ops.domain_lookup_by_name(name=name)
        return Domain(self, r) if r is not None else self._declined("domain_lookup_by_name")

    def lookup_domain_by_uuid(self, uuid: str) -> Domain:
        """The domain with this UUID (any common spelling); ``NoDomainError`` if none."""
        r: DomainRef | None = self._ops.domain_lookup_by_uuid(uuid=_canonical_uuid(uuid))
        return Domain(self, r) if r is not None else self._declined("domain_lookup_by_uuid")

    def lookup_domain_by_id(self, id: int) -> Domain:  # noqa: A002 - libvirt's name
        """The active domain with this hypervisor id; ``NoDomainError`` if none."""
        if isinstance(id, bool) or not isinstance(id, int) or id < 0:
            raise InvalidArgError(f"domain id must be a non-negative integer, not {id!r}")
        r: DomainRef | None = self._ops.domain_lookup_by_id(id=id)
        return Domain(self, r) if r is not None else self._declined("domain_lookup_by_id")

    def define_domain(self, xml: str) -> Domain:
        """Define a persistent domain from libvirt domain XML (not started)."""
        r: DomainRef | None = self._ops.domain_define_xml(xml=_xml_arg(xml))
        return Domain(self, r) if r is not None else self._declined("domain_define_xml")

    def create_domain(self, xml: str) -> Domain:
        """Create and start a transient domain from XML."""
        r: DomainRef | None = self._ops.domain_create_xml(xml=_xml_arg(xml))
        return Domain(self, r) if r is not None else self._declined("domain_create_xml")

    def restore_domain(self, path: str | os.PathLike[str]) -> Domain:
        """Start a domain from a file written by :meth:`Domain.save`."""
        r: DomainRef | None = self._ops.domain_restore(path=_path_arg(path))
        return Domain(self, r) if r is not None else self._declined("domain_restore")

    # -- events ------------------------------------------------------------

    def on_domain_event(self, callback: EventCallback) -> int:
        """Call ``callback(domain, event, detail)`` on every lifecycle event.

        Returns an id for :meth:`remove_domain_event`. Callbacks run in the
        thread that observed the event (a driver's monitor thread for real
        hypervisors); an exception in a callback is logged, not raised.
        """
        if not callable(callback):
            raise InvalidArgError("callback must be callable")
        with self._lock:
            cid = next(self._callback_ids)
            self._callbacks[cid] = callback
        return cid

    def remove_domain_event(self, callback_id: int) -> None:
        """Stop calling the callback registered under ``callback_id``."""
        with self._lock:
            if self._callbacks.pop(callback_id, None) is None:
                raise InvalidArgError(f"no domain event callback with id {callback_id}")


def _xml_arg(xml: object) -> str:
    if isinstance(xml, bytes):
        try:
            return xml.decode("utf-8")
        except UnicodeDecodeError:
            raise XMLError("domain XML is not valid UTF-8") from None
    if not isinstance(xml, str):
        raise InvalidArgError(f"XML must be a string, not {type(xml).__name__}")
    return xml


def _path_arg(path: object) -> str:
    """A file path argument as text; anything else is :class:`InvalidArgError` naming it."""
    if isinstance(path, (str, os.PathLike)):
        text = os.fspath(path)
        if isinstance(text, str) and text and "\0" not in text:
            return text
        raise InvalidArgError(f"path must be a non-empty file name without NUL bytes, not {text!r}")
    raise InvalidArgError(f"path must be a file name (str or os.PathLike), not {type(path).__name__}")


def _canonical_uuid(text: str) -> str:
    if isinstance(text, (bytes, bytearray)) and len(text) == 16:
        import uuid as _uuid

        return str(_uuid.UUID(bytes=bytes(text)))
    if not isinstance(text, str):
        raise InvalidArgError(f"UUID must be a string, not {type(text).__name__}")
    s = text.strip().lower()
    if len(s) == 36 and s[8] == s[13] == s[18] == s[23] == "-":
        return s
    import uuid as _uuid

    try:
        return str(_uuid.UUID(s))
    except ValueError:
        raise InvalidArgError(f"malformed UUID {text!r}") from None


class Domain:
    """A handle on one domain (virtual machine) of a connection.

    Get one from a lookup, :meth:`Connection.list_domains`, ``define_domain``
    or ``create_domain``. A handle stays valid while the domain exists; after
    it is undefined (and stopped), calls raise ``NoDomainError``.
    """

    __slots__ = ("_conn", "name", "uuid")

    def __init__(self, conn: Connection, ref: DomainRef) -> None:
        self._conn = conn
        #: The domain's name.
        self.name: str = ref.name
        #: The canonical UUID string.
        self.uuid: str = ref.uuid

    def __repr__(self) -> str:
        return f"<virtcore.Domain {self.name!r} {self.uuid}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Domain) and other._conn is self._conn and other.uuid == self.uuid

    def __hash__(self) -> int:
        return hash(self.uuid)

    @property
    def connection(self) -> Connection:
        """The connection this handle belongs to."""
        return self._conn

    @property
    def _live(self) -> Any:
        # The connection may have been closed since this handle was made.
        return self._conn._ops

    @property
    def id(self) -> int:
        """The hypervisor id while active, ``-1`` while inactive (asked of the driver each time)."""
        r: DomainRef | None = self._live.domain_lookup_by_uuid(uuid=self.uuid)
        return r.id if r is not None else self._conn._declined("domain_lookup_by_uuid")

    def _act(self, op: str) -> None:
        if getattr(self._live, op)(uuid=self.uuid) is None:
            self._conn._declined(op)

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        """Start (boot) the defined, inactive domain."""
        self._act("domain_create")

    def shutdown(self) -> None:
        """Ask the guest to power off; returns before it has on real hypervisors."""
        self._act("domain_shutdown")

    def reboot(self) -> None:
        """Ask the guest to reboot."""
        self._act("domain_reboot")

    def destroy(self) -> None:
        """Stop the domain at once."""
        self._act("domain_destroy")

    def suspend(self) -> None:
        """Pause the domain's vCPUs."""
        self._act("domain_suspend")

    def resume(self) -> None:
        """Resume a paused domain."""
        self._act("domain_resume")

    def undefine(self) -> None:
        """Remove the persistent definition (an active domain becomes transient)."""
        self._act("domain_undefine")

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save the domain's state to ``path`` and stop it; see :meth:`Connection.restore_domain`."""
        if self._live.domain_save(uuid=self.uuid, path=_path_arg(path)) is None:
            self._conn._declined("domain_save")

    # -- state -------------------------------------------------------------

    def info(self) -> DomainInfo:
        """``(state, max_memory KiB, memory KiB, nr_virt_cpu, cpu_time ns)``."""
        r: DomainInfo | None = self._live.domain_get_info(uuid=self.uuid)
        return r if r is not None else self._conn._declined("domain_get_info")

    def state(self) -> tuple[DomainState, int]:
        """``(state, reason)``; the reason is from the enum for that state."""
        r: tuple[DomainState, int] | None = self._live.domain_get_state(uuid=self.uuid)
        return r if r is not None else self._conn._declined("domain_get_state")

    def is_active(self) -> bool:
        """Whether the domain is running, paused or otherwise not shut off."""
        return self.state()[0] not in (DomainState.SHUTOFF, DomainState.NOSTATE, DomainState.CRASHED)

    def is_persistent(self) -> bool:
        """Whether the domain has a persistent definition."""
        r: bool | None = self._live.domain_is_persistent(uuid=self.uuid)
        return r if r is not None else self._conn._declined("domain_is_persistent")

    def xml_desc(self, inactive: bool = False) -> str:
        """The domain XML: live, or the persistent definition when ``inactive``."""
        r: str | None = self._live.domain_get_xml_desc(uuid=self.uuid, inactive=inactive)
        return r if r is not None else self._conn._declined("domain_get_xml_desc")

    # -- resources ---------------------------------------------------------

    def set_memory(self, kib: int) -> None:
        """Set the current memory (balloon target), KiB.

        :raises InvalidArgError: when ``kib`` is not 1 .. :data:`virtcore.limits.MAX_MEMORY_KIB`.
        """
        limits.check_memory(kib, where="memory")
        if self._live.domain_set_memory(uuid=self.uuid, memory=kib) is None:
            self._conn._declined("domain_set_memory")

    def set_max_memory(self, kib: int) -> None:
        """Set the maximum memory, KiB.

        :raises InvalidArgError: when ``kib`` is not 1 .. :data:`virtcore.limits.MAX_MEMORY_KIB`.
        """
        limits.check_memory(kib, where="max memory")
        if self._live.domain_set_max_memory(uuid=self.uuid, memory=kib) is None:
            self._conn._declined("domain_set_max_memory")

    def set_vcpus(self, count: int) -> None:
        """Set the number of active vCPUs.

        :raises InvalidArgError: when ``count`` is not 1 .. :data:`virtcore.limits.MAX_VCPUS`.
        """
        limits.check_vcpus(count, where="vcpu count")
        if self._live.domain_set_vcpus(uuid=self.uuid, count=count) is None:
            self._conn._declined("domain_set_vcpus")

    @property
    def autostart(self) -> bool:
        """Whether the domain starts with the host; assign to change it."""
        r: bool | None = self._live.domain_get_autostart(uuid=self.uuid)
        return r if r is not None else self._conn._declined("domain_get_autostart")

    @autostart.setter
    def autostart(self, value: bool) -> None:
        if self._live.domain_set_autostart(uuid=self.uuid, autostart=bool(value)) is None:
            self._conn._declined("domain_set_autostart")

    def attach_device(self, xml: str) -> None:
        """Attach the device described by one device element."""
        if self._live.domain_attach_device(uuid=self.uuid, xml=_xml_arg(xml)) is None:
            self._conn._declined("domain_attach_device")

    def detach_device(self, xml: str) -> None:
        """Detach the device matching one device element."""
        if self._live.domain_detach_device(uuid=self.uuid, xml=_xml_arg(xml)) is None:
            self._conn._declined("domain_detach_device")

    def block_stats(self, device: str) -> tuple[int, int, int, int, int]:
        """``(rd_req, rd_bytes, wr_req, wr_bytes, errs)`` of the disk with target ``device``."""
        r = self._live.domain_block_stats(uuid=self.uuid, device=device)
        return r if r is not None else self._conn._declined("domain_block_stats")  # type: ignore[no-any-return]

    def interface_stats(self, device: str) -> tuple[int, int, int, int, int, int, int, int]:
        """Traffic counters of the interface with target ``device`` (or that MAC)."""
        r = self._live.domain_interface_stats(uuid=self.uuid, device=device)
        return r if r is not None else self._conn._declined("domain_interface_stats")  # type: ignore[no-any-return]


def open(uri: str | None = None) -> Connection:  # noqa: A001 - libvirt's name
    """Open a read-write connection to the driver serving ``uri``.

    With no URI, ``$VIRTCORE_DEFAULT_URI`` is used.

    :raises InvalidArgError: the URI is malformed.
    :raises NoConnectError: no installed driver serves it.
    """
    return Connection(_default_uri(uri), read_only=False)


def open_read_only(uri: str | None = None) -> Connection:
    """Open a read-only connection: mutating operations raise ``OperationDeniedError``."""
    return Connection(_default_uri(uri), read_only=True)


def _default_uri(uri: str | None) -> str:
    if uri is None:
        uri = default_uri()
        if uri is None:
            raise InvalidArgError(f"no URI given and ${DEFAULT_URI_ENV} is not set")
    return uri


def iter_operations() -> Iterator[tuple[str, bool]]:
    """``(operation, mutating)`` for every driver operation, sorted by name."""
    return iter(sorted(OPERATIONS.items()))
