"""Connections and domains: the public API over the driver hooks.

A :class:`Connection` holds the objects its driver returned for the URI, in
pluggy's terms: when every hook has at most one plain implementation and
pluggy accepted those classes before (:mod:`virtcore._hookcache`), the
connection binds them itself and pluggy is not even imported; otherwise, or
as soon as a caller needs it, a :class:`pluggy.PluginManager` holds them. At
connect time it compiles a dispatch table: for every hook, either the single
implementation bound directly (no pluggy overhead on the hot path), the pluggy
hook caller (when several channels implement it or a wrapper is registered), a
function that raises ``NoSupportError`` (nobody implements it), or one that
raises ``OperationDeniedError`` (a mutating hook on a read-only connection).

The table is keyed by the hookspec functions themselves, and typed so that
``self._ops[hookspecs.virt_domain_suspend]`` has that hookspec's signature:
every public method reaches its hook in one typed step, and mypy rejects a
misspelled operation, argument or result type. The hookspec is the single
source of an operation's name and signature.

The manager stays private: the dispatch table is the only way to a hook, so
the read-only guard cannot be walked around. :meth:`Connection.driver_objects`
and :meth:`Connection.implementers` show what is registered (on a read-only
connection through views that refuse mutating hooks).
"""

from __future__ import annotations

import _thread  # not threading: saves ~1 ms of a cold open (threading's own import)
import functools
import itertools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn, cast

from virtcore import _hookcache, errors, hookspecs, limits, network, types
from virtcore._dispatch import (
    OPERATIONS,
    PREFIX,
    SPECS,
    Answers,
    Table,
    canonical_uuid,
    declined,
    path_arg,
    xml_arg,
)
from virtcore.checkpoint import DomainCheckpointAPI
from virtcore.drivers import (
    DriverFactory,
    declared_plugin_classes,
    declared_secondary,
    hook_names,
    installed_drivers,
    load_driver,
)
from virtcore.errors import (
    InvalidArgError,
    InvalidConnError,
    NoConnectError,
    NoSupportError,
    OperationDeniedError,
    OperationFailedError,
    OperationInvalidError,
    SystemError_,
    VirtError,
)
from virtcore.interface import InterfaceAPI
from virtcore.network import NetworkAPI, lease_addresses, wait_for_addresses
from virtcore.nodedev import NodeDevice, NodeDeviceAPI, NodeDeviceRef
from virtcore.secret import Secret, SecretAPI, SecretRef
from virtcore.snapshot import DomainSnapshotAPI
from virtcore.storage import StorageAPI, StoragePool
from virtcore.tunables import DomainTunablesAPI
from virtcore.types import (
    DomainInfo,
    DomainRef,
    DomainState,
    NodeInfo,
)
from virtcore.uri import DEFAULT_URI_ENV, REMOTE_DRIVER, URI, default_uri

if TYPE_CHECKING:
    import pluggy

    from virtcore.agent import DomainAgent
    from virtcore.auth import Auth
    from virtcore.events import AnyDomainEvent
    from virtcore.network import DomainInterface, InterfaceAddressSource, IPAddrType
    from virtcore.objevents import AnyObjectEvent
    from virtcore.types import (
        ControlInfo,
        DomainEvent,
        DomainEventType,
        DomainMetadataType,
        SecurityModel,
        VcpuInfo,
    )

__all__ = [
    "Connection",
    "Domain",
    "EventCallback",
    "AnyEventCallback",
    "open",
    "open_read_only",
    "OPERATIONS",
    "iter_operations",
    "domain_xml_to_native",
    "domain_xml_from_native",
]


def _log_exception(message: str, *args: object) -> None:
    import logging  # saves ~8 ms of ``import virtcore``: only the error path logs

    logging.getLogger("virtcore").exception(message, *args)


#: Signature of a domain event callback: ``callback(domain, event, detail)``.
EventCallback = Callable[["Domain", "DomainEventType", int], None]
#: Signature of a callback of :meth:`Connection.on_domain_event_any`: ``callback(domain, record)``
#: (a :class:`~virtcore.types.DomainEvent` or a record of :mod:`virtcore.events`).
AnyEventCallback = Callable[["Domain", Any], None]
#: Signature of a callback of :meth:`Connection.on_object_event`: ``callback(obj, record)``
#: (a network, pool, node device or secret, and a record of :mod:`virtcore.objevents`).
ObjectEventCallback = Callable[[Any, Any], None]


class _EventRelay:
    """The core's own plugin: passes driver events to the connection's callbacks."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @hookspecs.hookimpl
    def virt_domain_event(self, event: AnyDomainEvent | AnyObjectEvent) -> None:
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


def _direct(fn: Callable[..., Any], wanted: tuple[str, ...], spec: tuple[str, ...]) -> Callable[..., Any]:
    """``fn`` called with the arguments named ``wanted`` of a hook whose specification takes ``spec``."""
    if wanted == spec:
        return fn

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
            return _denied(name[len(PREFIX) :])
        return value

    def __setattr__(self, name: str, value: object) -> None:
        raise OperationDeniedError(f"read only access prevents changing {type(self._target).__name__}.{name}")

    def __repr__(self) -> str:
        return f"<read-only view of {self._target!r}>"


def _check_hooks(plugin: object, driver: str) -> frozenset[str]:
    """The hooks ``plugin`` implements; refuse it if a ``virt_*`` method matches no hook (see
    :func:`hook_names`)."""
    try:
        return hook_names(plugin)
    except OperationFailedError as exc:
        raise OperationFailedError(f"driver {driver!r} {exc.detail}") from None


def _secondary_objects(
    factory: DriverFactory, uri: URI, read_only: bool
) -> list[tuple[str, object, frozenset[str]]]:
    """``(scheme, object, its hooks)`` of the secondary drivers ``factory`` declares, for ``uri``
    in their schemes.

    A secondary driver that is not installed, or declines the URI, is left out: its
    operations are then unsupported on this connection.
    """
    found: list[tuple[str, object, frozenset[str]]] = []
    if not uri.is_local:
        return found
    for scheme in declared_secondary(factory):
        text = scheme + uri.text[uri.text.index(":") :]
        try:
            secondary = load_driver(scheme, text)
            objects = secondary(uri._replace(driver=scheme, transport=None, text=text), read_only)
        except NoConnectError:
            continue
        found += [(scheme, obj, _check_hooks(obj, scheme)) for obj in objects]
    return found


def _serving_scheme(uri: URI) -> str:
    """The driver serving ``uri``: the remote driver for a remote URI (libvirt's routing), else its own."""
    return REMOTE_DRIVER if uri.is_remote else uri.driver


def _load_serving_driver(scheme: str, uri: URI) -> DriverFactory:
    """:func:`load_driver` for ``scheme``; a remote URI with no remote driver installed says so.

    Never the local driver of the URI's scheme instead: a script that meant the
    daemon's state must not silently get another one.
    """
    try:
        return load_driver(scheme, uri.text)
    except NoConnectError:
        if scheme != REMOTE_DRIVER:
            raise
        raise NoConnectError(
            f"URI {uri.text!r} names a transport or a host, which only the {REMOTE_DRIVER!r} "
            "driver serves, and it is not installed (the virt-remote distribution)"
        ) from None


class Connection(StorageAPI, NetworkAPI, NodeDeviceAPI, InterfaceAPI, SecretAPI):
    """A connection to one hypervisor driver. Open it with :func:`virtcore.open`.

    Use it as a context manager, or call :meth:`close` (idempotent). Domains
    keep running when their connection closes.
    """

    def __init__(self, uri: str | URI, read_only: bool = False, auth: Auth | None = None) -> None:
        parsed = uri if isinstance(uri, URI) else URI.parse(uri)
        self._uri = parsed
        self._read_only = bool(read_only)
        self._closed = False
        #: Callbacks of :meth:`on_domain_event_any` (event id) and of :meth:`on_object_event`
        #: ((kind, event id)) -> {callback id: callback}.
        self._listeners: dict[object, dict[int, Any]] = {}
        self._callback_ids = itertools.count(1)
        self._lock = _thread.allocate_lock()
        serving = _serving_scheme(parsed)
        factory = _load_serving_driver(serving, parsed)
        #: pluggy's manager, built only when needed (see :attr:`_pm`), once, under its lock.
        self._manager: pluggy.PluginManager | None = None
        self._manager_lock = _thread.allocate_lock()
        #: The registered plugins and their names, in registration order.
        self._plugins: list[tuple[object, str | None]] = []
        #: Each hook's one implementation, bound, while the connection runs without pluggy.
        self._lean: dict[str, _hookcache.Binding] | None = None
        objects = factory(parsed, self._read_only)
        if not objects:
            raise NoConnectError(f"URI {parsed.text!r} (driver {serving!r} declined it)")
        own = [(serving, obj, _check_hooks(obj, serving)) for obj in objects]
        try:
            # Secondary drivers first: pluggy asks the last registered first, so the
            # hypervisor driver's own implementations answer before theirs.
            checked = [*_secondary_objects(factory, parsed, self._read_only), *own]
            ordered = [(scheme, obj) for scheme, obj, _ in checked]
            relay = _EventRelay(self)
            self._lean = _hookcache.bind([(obj, hooks) for _, obj, hooks in checked], relay)
            if self._lean is None:
                self._register_with_pluggy(ordered, relay)
            else:
                self._plugins = [(obj, None) for _, obj in ordered] + [(relay, "virtcore.events")]
        except BaseException:
            self._safe_close_plugins()  # what the factories opened for the ones registered
            raise
        self._ops: Table = Answers()
        self._implemented: frozenset[str] = frozenset()
        self._relay_only = True
        self._compile()
        try:
            self._broadcast(
                "virt_connect_open",
                uri=parsed,
                read_only=self._read_only,
                emit=self._emit,
                resolve_volume=self._resolve_volume,
                users_of_path=self._users_of_path,
                resolve_network=self._resolve_network,
                auth=auth,
            )
        except BaseException:
            self._safe_close_plugins()
            raise

    # -- plumbing ----------------------------------------------------------

    def _register_with_pluggy(self, ordered: list[tuple[str, object]], relay: _EventRelay) -> None:
        """Register ``ordered`` (driver name, plugin) and ``relay`` into pluggy's manager, and
        record in the hook cache what pluggy accepted, for the next open to bind without it."""
        from virtcore import _pluginmanager  # saves pluggy's import on every open the hook cache binds

        pm = self._manager = _pluginmanager.new_manager()
        for scheme, obj in ordered:
            _pluginmanager.register(pm, obj, None, scheme)
            self._plugins.append((obj, None))
        pm.register(relay, name="virtcore.events")
        self._plugins.append((relay, "virtcore.events"))
        _hookcache.remember({obj: _pluginmanager.common_case_hooks(pm, obj) for obj, _ in self._plugins})

    @property
    def _pm(self) -> pluggy.PluginManager:
        """pluggy's manager of this connection, built on first use by registering the same plugins
        in the same order (the connection then dispatches through it)."""
        with self._manager_lock:
            if self._manager is None:
                from virtcore import _pluginmanager  # saves pluggy's import until a caller needs its manager

                pm = _pluginmanager.new_manager()
                for obj, name in self._plugins:
                    pm.register(obj, name=name)
                self._manager, self._lean = pm, None
            return self._manager

    def _broadcast(self, hook: str, **kwargs: Any) -> list[Any]:
        """Call a broadcast ``hook``: its results that are not ``None``, last registered first, as pluggy."""
        if self._lean is None:
            return [] if self._manager is None else list(getattr(self._manager.hook, hook)(**kwargs))
        bound = self._lean.get(hook)
        if bound is None:
            return []
        _, fn, wanted = bound
        result = fn(*[kwargs[a] for a in wanted])
        return [] if result is None else [result]

    def _compile(self) -> None:
        """Build the dispatch table from the registered implementations."""
        if self._lean is not None:
            self._compile_lean(self._lean)
            return
        ops: Answers = {}
        implemented = set()
        for spec, op in SPECS.items():
            caller = getattr(self._pm.hook, PREFIX + op)
            impls = caller.get_hookimpls()
            plain = [i for i in impls if not (i.hookwrapper or i.wrapper)]
            if not plain:
                ops[spec] = _unsupported(op)
                continue
            implemented.add(op)
            if OPERATIONS[op] and self._read_only:
                ops[spec] = _denied(op)
            elif len(impls) == 1:
                spec_args = tuple(caller.spec.argnames) if caller.spec else ()
                ops[spec] = _direct(plain[0].function, tuple(plain[0].argnames), spec_args)
            else:
                ops[spec] = caller
        self._ops = ops
        self._implemented = frozenset(implemented)
        observers = self._pm.hook.virt_domain_event.get_hookimpls()
        self._relay_only = len(observers) == 1 and isinstance(observers[0].plugin, _EventRelay)

    def _compile_lean(self, lean: dict[str, _hookcache.Binding]) -> None:
        """:meth:`_compile` for hooks of one plain implementation each, bound without pluggy."""
        ops: Answers = {}
        implemented = set()
        for spec, op in SPECS.items():
            bound = lean.get(PREFIX + op)
            if bound is None:
                ops[spec] = _unsupported(op)
                continue
            implemented.add(op)
            if OPERATIONS[op] and self._read_only:
                ops[spec] = _denied(op)
            else:
                ops[spec] = _direct(bound[1], bound[2], _hookcache.spec_args(PREFIX + op))
        self._ops = ops
        self._implemented = frozenset(implemented)
        observer = lean.get("virt_domain_event")
        self._relay_only = observer is not None and isinstance(observer[0], _EventRelay)

    def register_plugin(self, plugin: object, name: str | None = None) -> None:
        """Register an extra plugin object (an observer, a wrapper, a channel).

        The dispatch table is rebuilt, so a ``hookwrapper`` registered here sees
        every later call.
        """
        from virtcore import _pluginmanager  # saves pluggy's import unless a plugin is added

        scheme = _serving_scheme(self._uri)
        _check_hooks(plugin, scheme)
        _pluginmanager.register(self._pm, plugin, name, scheme)
        self._plugins.append((plugin, name))
        self._compile()

    def _expose(self, plugin: object) -> object:
        return _ReadOnlyView(plugin) if self._read_only else plugin

    def driver_objects(self) -> tuple[object, ...]:
        """The objects serving this connection, in registration order (the driver's, then
        those added with :meth:`register_plugin`), for introspection and white-box tests.

        On a read-only connection each is a view whose mutating hooks raise
        ``OperationDeniedError``; ``isinstance`` still sees the object's class.
        """
        if self._manager is None:
            plugins: Iterator[object] = (p for p, _ in self._plugins)
        else:
            plugins = (p for _, p in self._manager.list_name_plugin() if p is not None)
        return tuple(self._expose(p) for p in plugins if not isinstance(p, _EventRelay))

    def implementers(self, operation: str) -> tuple[object, ...]:
        """The objects implementing ``operation``, in the order they are asked (first first).

        Views as in :meth:`driver_objects`. ``operation`` is ``"domain_suspend"``
        or ``"virt_domain_suspend"``.
        """
        if operation.startswith(PREFIX):
            operation = operation[len(PREFIX) :]
        if operation not in OPERATIONS:
            raise InvalidArgError(f"unknown operation {operation!r}")
        if self._lean is not None:
            bound = self._lean.get(PREFIX + operation)
            return () if bound is None else (self._expose(bound[0]),)
        impls = getattr(self._pm.hook, PREFIX + operation).get_hookimpls()
        # pluggy asks the last of its list first
        return tuple(self._expose(i.plugin) for i in reversed(impls) if not (i.hookwrapper or i.wrapper))

    def _emit(self, event: AnyDomainEvent | AnyObjectEvent) -> None:
        # With no observer plugin besides the core's relay, skip pluggy.
        if self._relay_only:
            self._dispatch_event(event)
        else:
            self._pm.hook.virt_domain_event(event=event)

    def _users_of_path(self, path: str) -> list[str]:
        """Who uses ``path``: what drivers get as ``users_of_path`` (every implementation asked)."""
        names: set[str] = set()
        for answer in self._broadcast("virt_domain_users_of_path", path=path):
            names.update(answer)
        return sorted(names)

    def _dispatch_event(self, event: AnyDomainEvent | AnyObjectEvent) -> None:
        if not self._listeners:
            return
        if isinstance(event, types.DomainEvent):
            ids: tuple[int, ...] = (0,)  # DomainEventID.LIFECYCLE
        else:
            from virtcore.objevents import event_key  # saves its enums and records on open

            key = event_key(event)
            if key is not None:
                self._dispatch_object_event(key, event)
                return
            from virtcore.events import (
                event_ids,
            )  # saves its enums and records on open: only non-lifecycle events

            ids = event_ids(event)
        with self._lock:
            listeners = [cb for i in ids for cb in self._listeners.get(i, {}).values()]
        if not listeners:
            return
        dom = Domain(self, cast("AnyDomainEvent", event).domain)
        for cb in listeners:
            try:
                cb(dom, event)
            except Exception:  # a user's callback must not break the driver
                _log_exception("domain event callback %r failed", cb)

    def _dispatch_object_event(self, key: tuple[Any, int], event: Any) -> None:
        with self._lock:
            listeners = list(self._listeners.get(key, {}).values())
        if not listeners:
            return
        obj = _event_object(self, event[0])
        for cb in listeners:
            try:
                cb(obj, event)
            except Exception:  # a user's callback must not break the driver
                _log_exception("%s event callback %r failed", key[0].value, cb)

    def _safe_close_plugins(self) -> None:
        try:
            self._broadcast("virt_connect_close")
        except Exception:
            _log_exception("closing driver of %s failed", self._uri.text)

    # -- connection --------------------------------------------------------

    def close(self) -> None:
        """Close the connection; idempotent. Later calls raise ``VirtError`` (INVALID_CONN)."""
        if self._closed:
            return
        self._closed = True
        self._safe_close_plugins()
        closed: Answers = {spec: _closed(op) for spec, op in SPECS.items()}
        self._ops = closed
        with self._lock:
            self._listeners.clear()

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
        if operation.startswith(PREFIX):
            operation = operation[len(PREFIX) :]
        if operation not in OPERATIONS:
            raise InvalidArgError(f"unknown operation {operation!r}")
        return operation in self._implemented

    def supported_operations(self) -> frozenset[str]:
        """Names of every operation some registered driver object implements."""
        return self._implemented

    def get_type(self) -> str:
        """The hypervisor type: ``"TEST"``, ``"QEMU"``, ``"Xen"``."""
        spec = hookspecs.virt_connect_get_type
        r = self._ops[spec]()
        return r if r is not None else declined(spec)

    def get_version(self) -> int:
        """The hypervisor version, ``major * 1_000_000 + minor * 1_000 + release``."""
        spec = hookspecs.virt_connect_get_version
        r = self._ops[spec]()
        return r if r is not None else declined(spec)

    def hostname(self) -> str:
        """The host's name."""
        spec = hookspecs.virt_connect_get_hostname
        r = self._ops[spec]()
        return r if r is not None else declined(spec)

    def max_vcpus(self, type: str | None = None) -> int:  # noqa: A002 - libvirt's name
        """The most vCPUs a guest of the virtualization ``type`` (None: the default) may have."""
        spec = hookspecs.virt_connect_get_max_vcpus
        r = self._ops[spec](type=None if type is None else _text_arg(type, "domain type"))
        return r if r is not None else declined(spec)

    def sysinfo_xml(self) -> str:
        """The host's system information (SMBIOS) as libvirt's ``<sysinfo>`` XML."""
        spec = hookspecs.virt_connect_get_sysinfo
        r = self._ops[spec]()
        return r if r is not None else declined(spec)

    def capabilities_xml(self) -> str:
        """libvirt's capabilities XML for the host and its guests."""
        spec = hookspecs.virt_connect_get_capabilities
        r = self._ops[spec]()
        return r if r is not None else declined(spec)

    def node_info(self) -> NodeInfo:
        """The host's CPUs and memory (KiB)."""
        spec = hookspecs.virt_node_get_info
        r = self._ops[spec]()
        return r if r is not None else declined(spec)

    def cpu_stats(self, cpu: int = -1) -> dict[str, int]:
        """The host's CPU time counters in nanoseconds (``user``, ``kernel``, ``idle``, ``iowait``...)
        of logical CPU ``cpu``, or summed over all of them (-1)."""
        if isinstance(cpu, bool) or not isinstance(cpu, int) or cpu < -1:
            raise InvalidArgError(f"cpu must be a CPU number or -1 for all of them, not {cpu!r}")
        spec = hookspecs.virt_node_get_cpu_stats
        r = self._ops[spec](cpu=cpu)
        return r if r is not None else declined(spec)

    def cpu_map(self) -> list[bool]:
        """The host's logical CPUs, CPU 0 first: online (True) or not."""
        spec = hookspecs.virt_node_get_cpu_map
        r = self._ops[spec]()
        return r if r is not None else declined(spec)

    def free_memory(self) -> int:
        """The host's free memory, in bytes (libvirt's ``virNodeGetFreeMemory``; the test driver: its
        cells' free amounts, as libvirt's)."""
        spec = hookspecs.virt_node_get_free_memory
        r = self._ops[spec]()
        return r if r is not None else declined(spec)

    def cells_free_memory(self, start_cell: int, max_cells: int) -> list[int]:
        """The free memory of NUMA cells ``start_cell``... (at most ``max_cells`` of them), as libvirt's
        ``virNodeGetCellsFreeMemory``; ``InvalidArgError`` for a cell the host does not have."""
        for value, what, least in ((start_cell, "start cell", 0), (max_cells, "max cells", 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise InvalidArgError(f"{what} must be an integer >= {least}, not {value!r}")
        spec = hookspecs.virt_node_get_cells_free_memory
        r = self._ops[spec](start_cell=start_cell, max_cells=max_cells)
        return r if r is not None else declined(spec)

    def security_model(self) -> SecurityModel:
        """The host's security driver and its DOI (libvirt's ``virNodeGetSecurityModel``)."""
        spec = hookspecs.virt_node_get_security_model
        r = self._ops[spec]()
        return r if r is not None else declined(spec)

    def baseline_cpu(self, xml_cpus: Sequence[str], expand_features: bool = False) -> str:
        """The ``<cpu>`` definition every CPU of ``xml_cpus`` (``<cpu>`` documents) can run, as libvirt's
        ``virConnectBaselineCPU``; ``expand_features`` lists every feature of the model."""
        if isinstance(xml_cpus, (str, bytes)):
            raise InvalidArgError("xml_cpus must be a list of <cpu> documents, not one string")
        cpus = [xml_arg(x, "CPU definition") for x in xml_cpus]
        if not cpus:
            raise InvalidArgError("no CPUs given")
        spec = hookspecs.virt_connect_baseline_cpu
        r = self._ops[spec](xml_cpus=cpus, expand_features=bool(expand_features))
        return r if r is not None else declined(spec)

    # -- domains -----------------------------------------------------------

    def list_domains(self, active: bool | None = None) -> list[Domain]:
        """Domains: all (``None``), only active (``True``) or only inactive (``False``)."""
        spec = hookspecs.virt_connect_list_all_domains
        refs = self._ops[spec](active=active)
        return [Domain(self, r) for r in refs] if refs is not None else declined(spec)

    def lookup_domain(self, name: str) -> Domain:
        """The domain called ``name``; ``NoDomainError`` if there is none."""
        spec = hookspecs.virt_domain_lookup_by_name
        r = self._ops[spec](name=name)
        return Domain(self, r) if r is not None else declined(spec)

    def lookup_domain_by_uuid(self, uuid: str) -> Domain:
        """The domain with this UUID (any common spelling); ``NoDomainError`` if none."""
        spec = hookspecs.virt_domain_lookup_by_uuid
        r = self._ops[spec](uuid=canonical_uuid(uuid, "DOMAIN"))
        return Domain(self, r) if r is not None else declined(spec)

    def lookup_domain_by_id(self, id: int) -> Domain:  # noqa: A002 - libvirt's name
        """The active domain with this hypervisor id; ``NoDomainError`` if none."""
        if isinstance(id, bool) or not isinstance(id, int) or id < 0:
            raise InvalidArgError(f"domain id must be a non-negative integer, not {id!r}")
        spec = hookspecs.virt_domain_lookup_by_id
        r = self._ops[spec](id=id)
        return Domain(self, r) if r is not None else declined(spec)

    def define_domain(self, xml: str) -> Domain:
        """Define a persistent domain from libvirt domain XML (not started)."""
        spec = hookspecs.virt_domain_define_xml
        r = self._ops[spec](xml=xml_arg(xml))
        return Domain(self, r) if r is not None else declined(spec)

    def create_domain(self, xml: str) -> Domain:
        """Create and start a transient domain from XML."""
        spec = hookspecs.virt_domain_create_xml
        r = self._ops[spec](xml=xml_arg(xml))
        return Domain(self, r) if r is not None else declined(spec)

    def save_image_xml_desc(self, path: str | os.PathLike[str]) -> str:
        """The domain XML a file written by :meth:`Domain.save` holds (``virDomainSaveImageGetXMLDesc``)."""
        spec = hookspecs.virt_domain_save_image_get_xml_desc
        r = self._ops[spec](path=path_arg(path))
        return r if r is not None else declined(spec)

    def restore_domain(
        self, path: str | os.PathLike[str], *, running: bool = False, paused: bool = False
    ) -> Domain:
        """Start a domain from a file written by :meth:`Domain.save`.

        It comes back in the state it was saved in (or the one :meth:`Domain.save` was
        told to record); ``running`` / ``paused`` choose instead (libvirt's
        ``virDomainRestoreFlags`` with ``VIR_DOMAIN_SAVE_RUNNING`` / ``_PAUSED``).

        :raises InvalidArgError: ``running`` and ``paused`` together.
        :raises ArgumentUnsupportedError: ``running`` or ``paused`` on a driver that cannot choose.
        """
        if running and paused:
            raise InvalidArgError("running and paused are mutually exclusive")
        spec = hookspecs.virt_domain_restore
        r = self._ops[spec](path=path_arg(path), running=bool(running), paused=bool(paused))
        return Domain(self, r) if r is not None else declined(spec)

    # -- native configuration formats ---------------------------------------

    def domain_xml_to_native(self, format: str, xml: str) -> str:  # noqa: A002 - libvirt's name
        """Convert domain XML to the driver's native config format ``format`` (``"xen-xl"``...).

        libvirt's ``virConnectDomainXMLToNative``: refused on a read-only connection.

        :raises NoSupportError: the driver converts no native format.
        :raises InvalidArgError: it does not write ``format``.
        :raises XMLError, ConfigUnsupportedError: the XML is not a domain the format can express.
        """
        fmt = _format_arg(format)
        r = self._ops[hookspecs.virt_connect_domain_xml_to_native](native_format=fmt, xml=xml_arg(xml))
        return (
            r
            if r is not None
            else _unsupported_format(fmt, f"the driver of {self.uri!r} does not convert it")
        )

    def domain_xml_from_native(self, format: str, config: str) -> str:  # noqa: A002 - libvirt's name
        """Convert a native config in ``format`` (``"xen-xl"``, ``"xen-sxpr"``...) to domain XML.

        libvirt's ``virConnectDomainXMLFromNative``: refused on a read-only connection.

        :raises NoSupportError: the driver converts no native format.
        :raises InvalidArgError: it does not read ``format``.
        :raises ConfSyntaxError, XMLError, ConfigUnsupportedError: the config is not a valid domain.
        """
        fmt = _format_arg(format)
        text = _text_arg(config, "native config")
        r = self._ops[hookspecs.virt_connect_domain_xml_from_native](native_format=fmt, config=text)
        return (
            r
            if r is not None
            else _unsupported_format(fmt, f"the driver of {self.uri!r} does not convert it")
        )

    # -- events ------------------------------------------------------------

    def on_domain_event(self, callback: EventCallback) -> int:
        """Call ``callback(domain, event, detail)`` on every lifecycle event.

        Returns an id for :meth:`remove_event`. Callbacks run in the
        thread that observed the event (a driver's monitor thread for real
        hypervisors); an exception in a callback is logged, not raised.
        """
        if not callable(callback):
            raise InvalidArgError("callback must be callable")
        return self._listen(0, functools.partial(_call_lifecycle, callback))  # DomainEventID.LIFECYCLE

    def on_domain_event_any(self, event_id: int, callback: AnyEventCallback) -> int:
        """Call ``callback(domain, record)`` on every event of kind ``event_id``.

        libvirt: ``virConnectDomainEventRegisterAny``. ``event_id`` is a
        :class:`~virtcore.events.DomainEventID` (``VIR_DOMAIN_EVENT_ID_*``);
        ``record`` is a :class:`~virtcore.types.DomainEvent` for ``LIFECYCLE``
        and the record of :mod:`virtcore.events` of that kind otherwise. Ids
        the driver never produces are accepted and never fire. Returns an id
        for :meth:`remove_event`; callbacks run as with
        :meth:`on_domain_event`.

        :raises InvalidArgError: ``event_id`` is no event id libvirt defines,
            or ``callback`` is not callable.
        """
        from virtcore.events import DomainEventID  # saves its enums and records on open

        if (
            isinstance(event_id, bool)
            or not isinstance(event_id, int)
            or event_id not in DomainEventID._value2member_map_
        ):
            raise InvalidArgError(f"unsupported event ID {event_id!r}")
        if not callable(callback):
            raise InvalidArgError("callback must be callable")
        return self._listen(int(event_id), callback)

    def _listen(self, event_id: object, callback: Any) -> int:
        with self._lock:
            cid = next(self._callback_ids)
            self._listeners.setdefault(event_id, {})[cid] = callback
        return cid

    def on_object_event(
        self, kind: Any, event_id: int, callback: ObjectEventCallback, obj: object = None
    ) -> int:
        """Call ``callback(obj, record)`` on every event ``event_id`` of objects of ``kind``
        (of ``obj`` only, when given).

        libvirt: ``virConnectNetworkEventRegisterAny``,
        ``virConnectStoragePoolEventRegisterAny``, ``virConnectNodeDeviceEventRegisterAny``,
        ``virConnectSecretEventRegisterAny``. ``kind`` is a
        :class:`~virtcore.objevents.ObjectKind` (or its value, ``"network"``...),
        ``event_id`` one of that kind's ids (``NetworkEventID``...); ``obj`` is the
        :class:`Network`, :class:`StoragePool`, :class:`NodeDevice` or :class:`Secret`
        the event is about (it may be gone by then), ``record`` the event's record
        of :mod:`virtcore.objevents`. An ``obj`` given is an object of that kind;
        its events are told apart by UUID (a node device's: by name), as libvirt's.
        Returns an id for :meth:`remove_event`; callbacks run as with
        :meth:`on_domain_event`.

        :raises InvalidArgError: ``kind`` or ``event_id`` is none of libvirt's,
            ``callback`` is not callable, or ``obj`` is no object of ``kind``.
        """
        from virtcore.objevents import ObjectKind, event_ids  # saves its enums and records on open

        try:
            k = ObjectKind(kind)
        except ValueError:
            raise InvalidArgError(f"unsupported object event kind {kind!r}") from None
        if (
            isinstance(event_id, bool)
            or not isinstance(event_id, int)
            or event_id not in event_ids(k)._value2member_map_
        ):
            raise InvalidArgError(f"unsupported {k.value} event ID {event_id!r}")
        if not callable(callback):
            raise InvalidArgError("callback must be callable")
        if obj is not None:
            handle = {
                ObjectKind.NETWORK: network.Network,
                ObjectKind.STORAGE_POOL: StoragePool,
                ObjectKind.NODE_DEVICE: NodeDevice,
                ObjectKind.SECRET: Secret,
            }[k]
            if not isinstance(obj, handle):
                raise InvalidArgError(f"a {k.value} event's object must be a {handle.__name__}, not {obj!r}")
            callback = functools.partial(_only_of, _identity(obj), callback)
        return self._listen((k, int(event_id)), callback)

    def remove_event(self, callback_id: int) -> None:
        """Stop calling the callback registered under ``callback_id`` by any ``on_*event*`` method.

        libvirt: ``virConnectDomainEventDeregisterAny``, ``virConnectNetworkEventDeregisterAny``
        and the other object kinds' (libvirt's ids, too, are one sequence across every kind).

        :raises InvalidArgError: no callback is registered under ``callback_id``.
        """
        if not self._remove_listener(callback_id, domain_only=False):
            raise InvalidArgError(f"no event callback with id {callback_id}")

    def remove_domain_event(self, callback_id: int) -> None:
        """Stop calling the domain event callback registered under ``callback_id``.

        An alias of :meth:`remove_event` for the ids of :meth:`on_domain_event` and
        :meth:`on_domain_event_any` only: an object event's id is not a domain
        event callback's, so it is refused (and its callback kept).

        :raises InvalidArgError: no domain event callback is registered under ``callback_id``.
        """
        if not self._remove_listener(callback_id, domain_only=True):
            raise InvalidArgError(f"no domain event callback with id {callback_id}")

    def _remove_listener(self, callback_id: int, *, domain_only: bool) -> bool:
        """Drop the listener ``callback_id`` (a domain event's only, if ``domain_only``); whether it was."""
        with self._lock:
            for event_id, callbacks in self._listeners.items():
                if domain_only and not isinstance(event_id, int):
                    continue  # an object event: keyed (kind, id)
                if callbacks.pop(callback_id, None) is not None:
                    if not callbacks:
                        del self._listeners[event_id]
                    return True
        return False


def _event_object(conn: Connection, ref: Any) -> Any:
    """The handle an object event's callback gets: a network, pool, node device or secret."""
    if isinstance(ref, NodeDeviceRef):
        return NodeDevice(conn, ref)
    if isinstance(ref, SecretRef):
        return Secret(conn, ref)
    from virtcore._storagetypes import StoragePoolRef  # saves a module on open: only a pool event needs it

    if isinstance(ref, StoragePoolRef):
        return StoragePool(conn, ref)
    return network.Network(conn, ref)


def _identity(obj: Any) -> str:
    """What tells an object's events apart: a node device's name, any other's UUID (libvirt's)."""
    return str(obj.name if isinstance(obj, NodeDevice) else obj.uuid)


def _only_of(identity: str, callback: ObjectEventCallback, obj: Any, record: Any) -> None:
    """An :meth:`Connection.on_object_event` callback for one object: the others' events pass it by."""
    if _identity(obj) == identity:
        callback(obj, record)


def _call_lifecycle(callback: EventCallback, dom: Domain, event: DomainEvent) -> None:
    """An :meth:`Connection.on_domain_event` callback, called with a lifecycle record's parts."""
    callback(dom, event.event, event.detail)


def _text_arg(text: object, what: str) -> str:
    """A text argument (``str``, or UTF-8 ``bytes``); anything else is ``InvalidArgError`` naming ``what``."""
    if isinstance(text, bytes):
        try:
            return text.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidArgError(f"{what} is not valid UTF-8") from None
    if not isinstance(text, str):
        raise InvalidArgError(f"{what} must be a string, not {type(text).__name__}")
    return text


def _format_arg(fmt: object) -> str:
    if not isinstance(fmt, str) or not fmt:
        raise InvalidArgError(f"native config format must be a non-empty string, not {fmt!r}")
    return fmt


def _unsupported_format(fmt: str, why: str) -> NoReturn:
    # libvirt's drivers: VIR_ERR_INVALID_ARG "unsupported config type %s"
    raise InvalidArgError(f"unsupported config type {fmt!r} ({why})")


class Domain(DomainSnapshotAPI, DomainCheckpointAPI, DomainTunablesAPI):
    """A handle on one domain (virtual machine) of a connection.

    Get one from a lookup, :meth:`Connection.list_domains`, ``define_domain``
    or ``create_domain``. A handle stays valid while the domain exists; after
    it is undefined (and stopped), calls raise ``NoDomainError``. Its snapshots:
    :class:`~virtcore.snapshot.DomainSnapshotAPI` (``create_snapshot``, ``list_snapshots``...).
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
    def id(self) -> int:
        """The hypervisor id while active, ``-1`` while inactive (asked of the driver each time)."""
        spec = hookspecs.virt_domain_lookup_by_uuid
        r = self._conn._ops[spec](uuid=self.uuid)
        return r.id if r is not None else declined(spec)

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        """Start (boot) the defined, inactive domain."""
        spec = hookspecs.virt_domain_create
        if self._conn._ops[spec](uuid=self.uuid) is None:
            declined(spec)

    def shutdown(self) -> None:
        """Ask the guest to power off; returns before it has on real hypervisors."""
        spec = hookspecs.virt_domain_shutdown
        if self._conn._ops[spec](uuid=self.uuid) is None:
            declined(spec)

    def reboot(self) -> None:
        """Ask the guest to reboot."""
        spec = hookspecs.virt_domain_reboot
        if self._conn._ops[spec](uuid=self.uuid) is None:
            declined(spec)

    def reset(self) -> None:
        """Reset the guest at once, as the reset button would (libvirt's ``virDomainReset``)."""
        spec = hookspecs.virt_domain_reset
        if self._conn._ops[spec](uuid=self.uuid) is None:
            declined(spec)

    def inject_nmi(self) -> None:
        """Send a non-maskable interrupt to the guest (libvirt's ``virDomainInjectNMI``)."""
        spec = hookspecs.virt_domain_inject_nmi
        if self._conn._ops[spec](uuid=self.uuid) is None:
            declined(spec)

    def destroy(self) -> None:
        """Stop the domain at once."""
        spec = hookspecs.virt_domain_destroy
        if self._conn._ops[spec](uuid=self.uuid) is None:
            declined(spec)

    def suspend(self) -> None:
        """Pause the domain's vCPUs."""
        spec = hookspecs.virt_domain_suspend
        if self._conn._ops[spec](uuid=self.uuid) is None:
            declined(spec)

    def resume(self) -> None:
        """Resume a paused domain."""
        spec = hookspecs.virt_domain_resume
        if self._conn._ops[spec](uuid=self.uuid) is None:
            declined(spec)

    def undefine(self, *, snapshots_metadata: bool = False) -> None:
        """Remove the persistent definition (an active domain becomes transient).

        An inactive domain with snapshots is refused (``OperationInvalidError``) unless
        ``snapshots_metadata`` says to forget their metadata too.
        """
        spec = hookspecs.virt_domain_undefine
        if self._conn._ops[spec](uuid=self.uuid, snapshots_metadata=bool(snapshots_metadata)) is None:
            declined(spec)

    def save(self, path: str | os.PathLike[str], *, running: bool = False, paused: bool = False) -> None:
        """Save the domain's state to ``path`` and stop it; see :meth:`Connection.restore_domain`.

        ``running`` / ``paused``: the file says to restore it running or paused, whatever
        its state now (libvirt's ``virDomainSaveFlags`` with ``VIR_DOMAIN_SAVE_RUNNING`` / ``_PAUSED``).

        :raises InvalidArgError: ``running`` and ``paused`` together.
        :raises ArgumentUnsupportedError: ``running`` or ``paused`` on a driver whose image cannot say.
        """
        if running and paused:
            raise InvalidArgError("running and paused are mutually exclusive")
        spec = hookspecs.virt_domain_save
        r = self._conn._ops[spec](
            uuid=self.uuid, path=path_arg(path), running=bool(running), paused=bool(paused)
        )
        if r is None:
            declined(spec)

    def managed_save(self) -> None:
        """Save the domain's state into the driver's own image and stop it; the next :meth:`start`
        resumes from it (libvirt's ``virDomainManagedSave``)."""
        spec = hookspecs.virt_domain_managed_save
        if self._conn._ops[spec](uuid=self.uuid) is None:
            declined(spec)

    def has_managed_save_image(self) -> bool:
        """Whether :meth:`managed_save` left an image the next start resumes from."""
        spec = hookspecs.virt_domain_has_managed_save_image
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    def managed_save_remove(self) -> None:
        """Drop the managed save image, if any: the next start boots afresh."""
        spec = hookspecs.virt_domain_managed_save_remove
        if self._conn._ops[spec](uuid=self.uuid) is None:
            declined(spec)

    # -- state -------------------------------------------------------------

    def info(self) -> DomainInfo:
        """``(state, max_memory KiB, memory KiB, nr_virt_cpu, cpu_time ns)``."""
        spec = hookspecs.virt_domain_get_info
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    def state(self) -> tuple[DomainState, int]:
        """``(state, reason)``; the reason is from the enum for that state."""
        spec = hookspecs.virt_domain_get_state
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    def control_info(self) -> ControlInfo:
        """What the interface controlling the running domain is doing (libvirt's
        ``virDomainGetControlInfo``); ``OperationInvalidError`` when it is not running."""
        spec = hookspecs.virt_domain_get_control_info
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    def is_active(self) -> bool:
        """Whether the domain is running, paused or otherwise not shut off."""
        return self.state()[0] not in (DomainState.SHUTOFF, DomainState.NOSTATE, DomainState.CRASHED)

    def is_persistent(self) -> bool:
        """Whether the domain has a persistent definition."""
        spec = hookspecs.virt_domain_is_persistent
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    def is_updated(self) -> bool:
        """Whether the hypervisor flags the definition as updated (``virDomainIsUpdated``)."""
        spec = hookspecs.virt_domain_is_updated
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    def xml_desc(self, inactive: bool = False) -> str:
        """The domain XML: live, or the persistent definition when ``inactive``."""
        spec = hookspecs.virt_domain_get_xml_desc
        r = self._conn._ops[spec](uuid=self.uuid, inactive=inactive)
        return r if r is not None else declined(spec)

    # -- resources ---------------------------------------------------------

    def set_memory(self, kib: int) -> None:
        """Set the current memory (balloon target), KiB.

        :raises InvalidArgError: when ``kib`` is not 1 .. :data:`virtcore.limits.MAX_MEMORY_KIB`.
        """
        limits.check_memory(kib, where="memory")
        spec = hookspecs.virt_domain_set_memory
        if self._conn._ops[spec](uuid=self.uuid, memory=kib) is None:
            declined(spec)

    def set_memory_stats_period(self, seconds: int, *, live: bool = False, config: bool = False) -> None:
        """Set the balloon statistics period (``virDomainSetMemoryStatsPeriod``); 0 turns it off.

        :raises InvalidArgError: ``seconds`` is negative or above a C ``int``.
        """
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= 2**31 - 1:
            raise InvalidArgError(
                f"period in virDomainSetMemoryStatsPeriod must not be negative: {seconds!r}"
            )
        spec = hookspecs.virt_domain_set_memory_stats_period
        if self._conn._ops[spec](uuid=self.uuid, period=seconds, live=live, config=config) is None:
            declined(spec)

    def set_max_memory(self, kib: int) -> None:
        """Set the maximum memory, KiB.

        :raises InvalidArgError: when ``kib`` is not 1 .. :data:`virtcore.limits.MAX_MEMORY_KIB`.
        """
        limits.check_memory(kib, where="max memory")
        spec = hookspecs.virt_domain_set_max_memory
        if self._conn._ops[spec](uuid=self.uuid, memory=kib) is None:
            declined(spec)

    def set_vcpus(self, count: int) -> None:
        """Set the number of active vCPUs.

        :raises InvalidArgError: when ``count`` is not 1 .. :data:`virtcore.limits.MAX_VCPUS`.
        """
        limits.check_vcpus(count, where="vcpu count")
        spec = hookspecs.virt_domain_set_vcpus
        if self._conn._ops[spec](uuid=self.uuid, count=count) is None:
            declined(spec)

    @property
    def autostart(self) -> bool:
        """Whether the domain starts with the host; assign to change it."""
        spec = hookspecs.virt_domain_get_autostart
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    @autostart.setter
    def autostart(self, value: bool) -> None:
        spec = hookspecs.virt_domain_set_autostart
        if self._conn._ops[spec](uuid=self.uuid, autostart=bool(value)) is None:
            declined(spec)

    def attach_device(self, xml: str) -> None:
        """Attach the device described by one device element."""
        spec = hookspecs.virt_domain_attach_device
        if self._conn._ops[spec](uuid=self.uuid, xml=xml_arg(xml)) is None:
            declined(spec)

    def detach_device(self, xml: str) -> None:
        """Detach the device matching one device element."""
        spec = hookspecs.virt_domain_detach_device
        if self._conn._ops[spec](uuid=self.uuid, xml=xml_arg(xml)) is None:
            declined(spec)

    def block_stats(self, device: str) -> tuple[int, int, int, int, int]:
        """``(rd_req, rd_bytes, wr_req, wr_bytes, errs)`` of the disk with target ``device``."""
        spec = hookspecs.virt_domain_block_stats
        r = self._conn._ops[spec](uuid=self.uuid, device=device)
        return r if r is not None else declined(spec)

    def block_info(self, device: str) -> tuple[int, int, int]:
        """``(capacity, allocation, physical)`` in bytes of the disk with target (or source) ``device``."""
        spec = hookspecs.virt_domain_get_block_info
        r = self._conn._ops[spec](uuid=self.uuid, device=_text_arg(device, "disk"))
        return r if r is not None else declined(spec)

    def interface_stats(self, device: str) -> tuple[int, int, int, int, int, int, int, int]:
        """Traffic counters of the interface with target ``device`` (or that MAC)."""
        spec = hookspecs.virt_domain_interface_stats
        r = self._conn._ops[spec](uuid=self.uuid, device=device)
        return r if r is not None else declined(spec)

    def scheduler_type(self) -> tuple[str, int]:
        """``(scheduler, number of parameters)`` of the domain's CPU scheduler (``("fair", 1)``)."""
        spec = hookspecs.virt_domain_get_scheduler_type
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    def scheduler_parameters(self) -> dict[str, int]:
        """The CPU scheduler's parameters by name (``{"weight": 50}``)."""
        spec = hookspecs.virt_domain_get_scheduler_parameters
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    def set_scheduler_parameters(self, params: Mapping[str, int]) -> None:
        """Change some scheduler parameters (names as :meth:`scheduler_parameters` gives them).

        :raises InvalidArgError: a value that is not an integer from 0 up (or not a mapping).
        :raises ArgumentUnsupportedError: a parameter the scheduler does not have.
        """
        if not isinstance(params, Mapping):
            raise InvalidArgError(f"scheduler parameters must be a mapping, not {type(params).__name__}")
        checked: dict[str, int] = {}
        for name, value in params.items():
            if (
                not isinstance(name, str)
                or isinstance(value, bool)
                or not isinstance(value, int)
                or not 0 <= value <= limits.UINT_MAX
            ):
                raise InvalidArgError(
                    f"scheduler parameter {name!r} must be an integer from 0 to {limits.UINT_MAX}: {value!r}"
                )
            checked[name] = value
        spec = hookspecs.virt_domain_set_scheduler_parameters
        if self._conn._ops[spec](uuid=self.uuid, params=checked) is None:
            declined(spec)

    def memory_parameters(self) -> dict[str, int]:
        """The memory tunables by libvirt's names (``hard_limit``, ``soft_limit``...), in KiB."""
        spec = hookspecs.virt_domain_get_memory_parameters
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    def set_memory_parameters(self, params: Mapping[str, int]) -> None:
        """Change some memory tunables (names as :meth:`memory_parameters` gives them).

        :raises InvalidArgError: an unknown name, or a value that is not an unsigned 64-bit integer.
        """
        if not isinstance(params, Mapping):
            raise InvalidArgError(f"memory parameters must be a mapping, not {type(params).__name__}")
        checked: dict[str, int] = {}
        for name, value in params.items():
            if name not in ("hard_limit", "soft_limit", "swap_hard_limit"):
                raise InvalidArgError(f"argument unsupported: parameter '{name}' not supported")
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limits.ULLONG_MAX:
                raise InvalidArgError(
                    f"memory parameter {name!r} must be an unsigned 64-bit integer: {value!r}"
                )
            checked[name] = value
        spec = hookspecs.virt_domain_set_memory_parameters
        if self._conn._ops[spec](uuid=self.uuid, params=checked) is None:
            declined(spec)

    def screenshot(self, target: BinaryIO, screen: int = 0) -> str:
        """Write a picture of display ``screen`` into ``target`` (streamed in chunks); its MIME type.

        libvirt: ``virDomainScreenshot`` (whose bytes come over a ``virStream``).
        """
        if isinstance(screen, bool) or not isinstance(screen, int) or not 0 <= screen <= limits.UINT_MAX:
            raise InvalidArgError(f"screen must be an integer from 0 up, not {screen!r}")
        spec = hookspecs.virt_domain_screenshot
        r = self._conn._ops[spec](uuid=self.uuid, screen=screen)
        if r is None:
            declined(spec)
        mime, src = r
        try:
            while data := src.read(1 << 16):
                try:
                    target.write(data)
                except OSError as exc:
                    raise SystemError_(f"screenshot target: {exc.strerror or exc}") from None
        finally:
            src.close()
        return mime

    def metadata(
        self,
        kind: DomainMetadataType | int,
        uri: str | None = None,
        *,
        live: bool = False,
        config: bool = False,
    ) -> str:
        """The domain's description, title, or the metadata element of namespace ``uri`` (as XML).

        ``live``/``config``: which definition (neither: the current one).

        :raises NoDomainMetadataError: there is none.
        :raises InvalidArgError: an unknown kind; ``uri`` missing for ``ELEMENT`` or given for the others.
        """
        k = _metadata_kind(kind)
        _check_metadata_uri(k, uri, None, "virDomainGetMetadata")
        spec = hookspecs.virt_domain_get_metadata
        r = self._conn._ops[spec](uuid=self.uuid, kind=k, uri=uri, live=bool(live), config=bool(config))
        return r if r is not None else declined(spec)

    def set_metadata(
        self,
        kind: DomainMetadataType | int,
        metadata: str | None,
        key: str | None = None,
        uri: str | None = None,
        *,
        live: bool = False,
        config: bool = False,
    ) -> None:
        """Set (or with ``metadata`` None, remove) the description, the title, or an application's element.

        For ``ELEMENT``, ``metadata`` is one XML element, stored in namespace ``uri`` with prefix
        ``key``. ``live``/``config``: which definition (neither: the current one).

        :raises InvalidArgError: an unknown kind, a title with a newline, ``key``/``uri`` missing
            for ``ELEMENT`` or given for the others.
        :raises XMLError: ``metadata`` is not one well-formed element.
        """
        k = _metadata_kind(kind)
        _check_metadata_uri(k, uri, key, "virDomainSetMetadata", setting=metadata is not None)
        if metadata is not None and not isinstance(metadata, str):
            raise InvalidArgError(f"metadata must be a string or None, not {type(metadata).__name__}")
        if k == types.DomainMetadataType.TITLE and metadata is not None and "\n" in metadata:
            raise InvalidArgError("metadata title can't contain newlines", domain=errors.ErrorDomain.DOMAIN)
        spec = hookspecs.virt_domain_set_metadata
        r = self._conn._ops[spec](
            uuid=self.uuid, kind=k, metadata=metadata, key=key, uri=uri, live=bool(live), config=bool(config)
        )
        if r is None:
            declined(spec)

    def memory_stats(self) -> dict[str, int]:
        """The running guest's memory statistics by name (``actual``, ``unused``, ``rss``...: KiB).

        libvirt: ``virDomainMemoryStats``; the names are :data:`virtcore.types.MEMORY_STAT_NAMES`.
        """
        spec = hookspecs.virt_domain_memory_stats
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    def vcpus(self) -> tuple[list[VcpuInfo], list[tuple[bool, ...]]]:
        """The running guest's vCPUs and each one's host CPU affinity (libvirt-python's ``vcpus()``)."""
        spec = hookspecs.virt_domain_get_vcpus
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    def cpu_stats(self, total: bool = True) -> list[dict[str, int]]:
        """CPU time in nanoseconds: ``[totals]`` (``cpu_time``, ``user_time``, ``system_time``) or,
        with ``total=False``, one dict per host CPU (``cpu_time``, ``vcpu_time``)."""
        spec = hookspecs.virt_domain_get_cpu_stats
        r = self._conn._ops[spec](uuid=self.uuid, total=bool(total))
        return r if r is not None else declined(spec)

    def hostname(self) -> str:
        """The guest's host name, as the guest reports it; ``OperationInvalidError`` if it is not running."""
        spec = hookspecs.virt_domain_get_hostname
        r = self._conn._ops[spec](uuid=self.uuid)
        return r if r is not None else declined(spec)

    @property
    def agent(self) -> DomainAgent:
        """The domain's guest agent (:class:`virtcore.agent.DomainAgent`): ping, exec, files,
        guest info, passwords, freeze and thaw. Every call talks to the guest."""
        from virtcore.agent import DomainAgent  # saves json/base64 on open: only agent users need it

        return DomainAgent(self)

    def interface_addresses(self, source: str | InterfaceAddressSource = "lease") -> list[DomainInterface]:
        """The guest's interfaces with their addresses, as ``source`` knows them.

        ``source`` is ``"lease"`` (the virtual networks' DHCP leases), ``"agent"``
        (the guest agent) or ``"arp"`` (the host's neighbour table), or an
        :class:`~virtcore.network.InterfaceAddressSource`. libvirt:
        ``virDomainInterfaceAddresses``. An interface with no address known to
        the source is left out: ``[]`` means "none yet".

        ``"lease"`` is answered by the driver when it knows better (the test
        driver invents addresses); otherwise the core derives it from the
        leases of the networks the domain's ``<interface type='network'>`` are
        on (:func:`~virtcore.network.lease_addresses`), for every hypervisor.

        :raises InvalidArgError: an unknown source.
        :raises OperationInvalidError: the domain is not running.
        """
        return self._addresses(self._checked_source(source))

    def _checked_source(self, source: object) -> InterfaceAddressSource:
        src = _address_source(source)
        if src == network.InterfaceAddressSource.AGENT and self._conn._read_only:
            # libvirt: the agent is privileged, so its source needs a read-write connection
            raise OperationDeniedError("read only access prevents domain_interface_addresses from the agent")
        return src

    def _addresses(self, source: InterfaceAddressSource) -> list[DomainInterface]:
        spec = hookspecs.virt_domain_interface_addresses
        r = None
        if (
            source is not network.InterfaceAddressSource.LEASE
            or "domain_interface_addresses" in self._conn._implemented
        ):
            r = self._conn._ops[spec](uuid=self.uuid, source=source)
        if r is None and source is network.InterfaceAddressSource.LEASE:
            if not self.is_active():
                raise OperationInvalidError(f"domain '{self.name}' is not running")
            return lease_addresses(self._conn, self.name, self.xml_desc())
        return r if r is not None else declined(spec)

    def wait_for_addresses(
        self,
        timeout: float = 60.0,
        source: str | InterfaceAddressSource | None = None,
        family: str | IPAddrType | None = None,
    ) -> list[DomainInterface]:
        """Wait until the guest has an address; the interfaces that have one.

        Returns as soon as *at least one* interface has an address (of
        ``family``: ``"ipv4"``/``"ipv6"`` or an :class:`~virtcore.network.IPAddrType`;
        ``None``: any) as ``source`` knows it: what tools built on libvirt wait
        for before they connect to a new guest (its first DHCP lease). With no
        ``source``, each round asks the leases, then the neighbour table, then
        the guest agent, and answers from the first that knows an address;
        sources the driver lacks are skipped, and a guest agent not up yet
        counts as "not yet". Polls every quarter second.

        :raises OperationTimeoutError: no address after ``timeout`` seconds (names the domain).
        :raises OperationInvalidError: the domain is not running (or stops while waiting).
        :raises InvalidArgError: an unknown source or family, or a negative timeout.
        """
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout >= 0:
            raise InvalidArgError(f"timeout must be a number of seconds from 0 up, not {timeout!r}")
        if source is not None:
            sources: tuple[InterfaceAddressSource, ...] = (self._checked_source(source),)
        elif self._conn._read_only:  # the agent needs a read-write connection: ask the others
            sources = tuple(s for s in network.ANY_SOURCE if s is not network.InterfaceAddressSource.AGENT)
        else:
            sources = network.ANY_SOURCE
        return wait_for_addresses(
            self._addresses,
            self.name,
            timeout=float(timeout),
            sources=sources,
            family=_address_family(family),
        )


def _metadata_kind(kind: object) -> DomainMetadataType:
    try:
        if isinstance(kind, bool) or not isinstance(kind, int):
            raise ValueError
        return types.DomainMetadataType(kind)
    except ValueError:
        raise InvalidArgError(f"unknown metadata type '{kind}'", domain=errors.ErrorDomain.DOMAIN) from None


def _check_metadata_uri(
    kind: DomainMetadataType, uri: object, key: object, where: str, setting: bool = False
) -> None:
    """libvirt's rules: ``ELEMENT`` needs ``uri`` (and ``key`` to set one); the others take neither."""
    dom = errors.ErrorDomain.DOMAIN
    if kind == types.DomainMetadataType.ELEMENT:
        if not isinstance(uri, str) or not uri:
            raise InvalidArgError(f"uri in {where} must not be NULL", domain=dom)
        if setting and (not isinstance(key, str) or not key):
            raise InvalidArgError(f"key in {where} must not be NULL", domain=dom)
        if isinstance(key, str) and not key.replace("_", "a").replace("-", "a").replace(".", "a").isalnum():
            raise InvalidArgError(f"key '{key}' in {where} is not a valid XML namespace prefix", domain=dom)
        return
    if uri is not None:
        raise InvalidArgError(f"uri in {where} must be NULL", domain=dom)
    if key is not None:
        raise InvalidArgError(f"key in {where} must be NULL", domain=dom)


def _address_source(source: object) -> InterfaceAddressSource:
    if isinstance(source, network.InterfaceAddressSource):
        return source
    if isinstance(source, str):
        try:
            return network.InterfaceAddressSource[source.upper()]
        except KeyError:
            pass
    raise InvalidArgError(f"unknown interface address source {source!r} (lease, agent or arp)")


def _address_family(family: object) -> IPAddrType | None:
    if family is None or isinstance(family, network.IPAddrType):
        return family
    if isinstance(family, str):
        try:
            return network.IPAddrType[family.upper()]
        except KeyError:
            pass
    raise InvalidArgError(f"unknown address family {family!r} (ipv4 or ipv6)")


def open(uri: str | None = None, *, auth: Auth | None = None) -> Connection:  # noqa: A001 - libvirt's name
    """Open a read-write connection to the driver serving ``uri``.

    With no URI, ``$VIRTCORE_DEFAULT_URI`` is used. ``auth`` answers the driver's
    questions when it needs credentials (:class:`virtcore.auth.Auth`: libvirt's
    ``virConnectOpenAuth``), e.g. a test node file with ``<auth>`` users.

    :raises InvalidArgError: the URI is malformed; or the driver needs credentials
        and ``auth`` is ``None`` (``"Missing authentication credentials"``).
    :raises AuthFailedError: the credentials are wrong, or ``auth`` cannot give them.
    :raises NoConnectError: no installed driver serves it.
    """
    return Connection(_default_uri(uri), read_only=False, auth=auth)


def open_read_only(uri: str | None = None, *, auth: Auth | None = None) -> Connection:
    """Open a read-only connection: mutating operations raise ``OperationDeniedError``.

    ``auth`` as for :func:`open` (libvirt asks for credentials read-only too).
    """
    return Connection(_default_uri(uri), read_only=True, auth=auth)


def _default_uri(uri: str | None) -> str:
    if uri is None:
        uri = default_uri()
        if uri is None:
            raise InvalidArgError(f"no URI given and ${DEFAULT_URI_ENV} is not set")
    return uri


# -- native formats without a connection --------------------------------------

#: The hooks a connection-independent plugin class may implement (and nothing else).
_NATIVE_HOOKS = frozenset({"virt_connect_domain_xml_to_native", "virt_connect_domain_xml_from_native"})


def _offline_converters() -> pluggy.PluginManager:
    """A plugin manager holding one instance of every installed driver's converter class.

    A converter class is a plugin class a driver declares (``describe_driver``)
    that implements only the native-format hooks; it is made without arguments.
    Drivers that fail to load are left out (logged): they convert nothing here.
    """
    from virtcore import _pluginmanager  # saves pluggy's import on every path but offline conversion

    pm = _pluginmanager.new_manager()
    for driver in installed_drivers():
        try:
            factory = load_driver(driver.scheme, f"{driver.scheme}:///")
        except VirtError:
            _log_exception("driver %r failed to load; its native formats are not offered", driver.scheme)
            continue
        for cls in declared_plugin_classes(factory) or ():
            hooks = hook_names(cls)
            if not hooks or not hooks <= _NATIVE_HOOKS:
                continue
            try:
                converter = cls()
            except TypeError as exc:
                raise OperationFailedError(
                    f"driver {driver.scheme!r}: converter class {cls.__name__} must take no "
                    f"constructor arguments ({exc})"
                ) from None
            _pluginmanager.register(pm, converter, None, driver.scheme)
    return pm


def _convert_offline(spec: Callable[..., str | None], fmt: str, **payload: str) -> str:
    caller = getattr(_offline_converters().hook, spec.__name__)
    if not caller.get_hookimpls():
        raise NoSupportError(f"{SPECS[spec]} (no installed driver converts native config formats)")
    r: str | None = caller(native_format=fmt, **payload)
    return r if r is not None else _unsupported_format(fmt, "no installed driver converts it")


def domain_xml_to_native(format: str, xml: str) -> str:  # noqa: A002 - libvirt's name
    """:meth:`Connection.domain_xml_to_native` without a connection (``virtcore domxml-to-native``
    with no URI): asks the converter classes every installed driver declares.

    :raises NoSupportError: no installed driver declares a converter.
    :raises InvalidArgError: none of them writes ``format``.
    """
    fmt = _format_arg(format)
    return _convert_offline(hookspecs.virt_connect_domain_xml_to_native, fmt, xml=xml_arg(xml))


def domain_xml_from_native(format: str, config: str) -> str:  # noqa: A002 - libvirt's name
    """:meth:`Connection.domain_xml_from_native` without a connection; see :func:`domain_xml_to_native`."""
    fmt = _format_arg(format)
    return _convert_offline(
        hookspecs.virt_connect_domain_xml_from_native, fmt, config=_text_arg(config, "native config")
    )


def iter_operations() -> Iterator[tuple[str, bool]]:
    """``(operation, mutating)`` for every driver operation, sorted by name."""
    return iter(sorted(OPERATIONS.items()))
