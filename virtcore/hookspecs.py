"""The driver contract: one hook specification per driver entry point.

A virtcore driver is a set of plain Python objects whose methods, marked with
:data:`virtcore.hookimpl`, implement some of the hooks below. The core
registers them into a per-connection :class:`pluggy.PluginManager` (or, when
pluggy accepted the same classes before, binds them itself); whatever
no object implements is *unsupported* on that connection, and calling it
raises :class:`~virtcore.errors.NoSupportError` naming the operation.

Writing a driver
================

1. Write a class with ``@virtcore.hookimpl`` methods named as below. Accept
   the keyword arguments you need (pluggy passes arguments by name; you may
   leave out ones you do not use).
2. Write a function ``open_connection(uri, read_only)`` that
   returns a list of such objects for this connection (or raises a
   :class:`~virtcore.errors.VirtError`, e.g. ``NoConnectError`` for a URI it
   does not serve).
3. At the end of the module, make the entry point: ``open_connection`` and
   the classes of every object it may return, so ``virtcore drivers`` and
   the support matrix show what the driver implements without opening a
   connection::

       driver = describe_driver(open_connection, plugin_classes=[MyDriver])

   (:func:`virtcore.drivers.describe_driver`; add ``default_uri=`` if some
   URI is cheap and safe to open.)

4. Declare it in your distribution's metadata::

       [project.entry-points."virtcore.drivers"]
       mydrv = "my_package:driver"     # serves mydrv:///... URIs

A ``virt_*`` method that matches none of the hooks below, or that is not
marked ``@hookimpl``, is an error naming it when the driver is described and
when a connection is opened: a misspelled hook never just leaves an
operation unsupported.

The conventions every hook follows:

* **Addressing.** Domains are addressed by ``uuid``: the canonical lowercase
  36-character string that your lookups returned in a
  :class:`~virtcore.types.DomainRef`.
* **Answering and declining.** Hooks other than the broadcast ones
  (:func:`virt_connect_open`, :func:`virt_connect_close`,
  :func:`virt_domain_event`, :func:`virt_domain_users_of_path`) are
  *first-result* hooks. A driver may register
  several objects (channels) for one connection; they are asked in pluggy's
  order (``tryfirst``/``trylast``, then last registered first) and the first
  that returns something other than ``None`` answers. Return ``None`` to
  decline and let the next channel answer. Hooks with no natural result
  return ``True`` when they did the work. If every implementation declines,
  the caller gets ``NoSupportError``.
* **Errors.** Raise :mod:`virtcore.errors` classes, with libvirt's meaning:
  ``NoDomainError`` for an unknown domain, ``OperationInvalidError`` for an
  operation in the wrong state, ``InvalidArgError`` for bad values,
  ``XMLError`` for bad XML, ``OperationFailedError`` when the hypervisor
  refused. Never let a ``KeyError`` or an ``OSError`` escape.
* **Read-only connections.** Each hook below is tagged *read-only safe* or
  *mutating*. The core refuses mutating hooks on a read-only connection with
  ``OperationDeniedError`` before your code runs: drivers never check it.
* **Threads.** The core does not serialize calls; a driver that keeps state
  shared between threads or connections locks it itself.
* **Events.** :func:`virt_connect_open` hands you ``emit``; call
  ``emit(DomainEvent(...))`` whenever a domain's lifecycle changes, and
  ``emit(record)`` with a record of :mod:`virtcore.events` for every other
  kind of domain event (reboot, RTC change, watchdog, I/O error, device
  added/removed, agent lifecycle...), from any thread. It reaches
  :func:`virt_domain_event` implementations and the callbacks users
  registered with ``Connection.on_domain_event`` (lifecycle) and
  ``Connection.on_domain_event_any`` (by libvirt's event id).

* **Storage.** Pools are addressed by ``uuid`` (canonical string, as
  domains), volumes by ``key`` (what your lookups returned in a
  :class:`~virtcore.storage.StorageVolRef`: stable for the life of the
  volume, unique on the host; for file volumes libvirt's key is the path).
  Storage is usually served by a *secondary driver* (a distribution whose
  entry point serves ``storage:///...`` URIs) that a hypervisor driver names
  in :func:`~virtcore.drivers.describe_driver`'s ``secondary=``; a driver
  may also implement these hooks itself, as the test driver does.
* **Networks.** Virtual networks are addressed by ``uuid`` like domains and
  pools, and may likewise be served by a secondary driver or by the
  hypervisor driver itself.
* **Host devices, interfaces, secrets.** Node devices and host interfaces are
  addressed by ``name`` (libvirt's handles carry only the name), secrets by
  ``uuid``. Unknown ones are ``NoNodeDeviceError``, ``NoInterfaceError``,
  ``NoSecretError``.
* **Snapshots.** A domain's snapshots are addressed by the domain's ``uuid``
  and the snapshot's ``name``; drivers answer lookups with a
  :class:`~virtcore.snapshot.SnapshotRef`. A snapshot ``name`` that does not
  exist is ``NoDomainSnapshotError`` (``"no domain snapshot with matching
  name 'x'"``). Snapshot names never hold ``/``, control characters or a
  leading ``-`` (the XML model refuses them), so a driver may use them in file
  names and as command arguments.

The hooks are grouped by lifecycle: connection, native configuration formats,
node, domain discovery, domain lifecycle, domain resources, the guest agent,
storage pools, storage volumes, virtual networks, domain snapshots, host devices,
host interfaces, secrets, events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from virtcore.auth import Auth
    from virtcore.events import AnyDomainEvent
    from virtcore.interface import InterfaceRef
    from virtcore.network import (
        DomainInterface,
        InterfaceAddressSource,
        NetworkDHCPLease,
        NetworkRef,
        NetworkSection,
        NetworkUpdateCommand,
    )
    from virtcore.nodedev import NodeDeviceRef
    from virtcore.objevents import AnyObjectEvent
    from virtcore.secret import SecretRef, SecretUsageType
    from virtcore.snapshot import SnapshotRef
    from virtcore.storage import (
        DownloadSource,
        StoragePoolInfo,
        StoragePoolRef,
        StorageVolInfo,
        StorageVolRef,
        UploadSink,
    )
    from virtcore.types import (
        ControlInfo,
        DomainInfo,
        DomainRef,
        DomainState,
        NodeInfo,
        SecurityModel,
        VcpuInfo,
    )
    from virtcore.uri import URI

__all__ = ["hookspec", "hookimpl", "PROJECT", "MUTATING_ATTR", "HOOKS", "OPERATIONS"]

PROJECT = "virtcore"

#: Attribute set on every hookspec function: True when the hook mutates state.
MUTATING_ATTR = "virtcore_mutating"

_F = TypeVar("_F", bound=Callable[..., object])


class _SpecMarker:
    """``pluggy.HookspecMarker(PROJECT)`` without importing pluggy: the same ``virtcore_spec`` dict.

    Saves importing pluggy (its ``inspect`` and ``TypedDict`` configuration) on
    ``import virtcore``; tests/test_hookspec_markers.py compares what it writes with pluggy's own marker.
    """

    __slots__ = ()

    @overload
    def __call__(
        self,
        function: _F,
        firstresult: bool = ...,
        historic: bool = ...,
        warn_on_impl: Warning | None = ...,
        warn_on_impl_args: Mapping[str, Warning] | None = ...,
    ) -> _F: ...

    @overload
    def __call__(
        self,
        function: None = ...,
        firstresult: bool = ...,
        historic: bool = ...,
        warn_on_impl: Warning | None = ...,
        warn_on_impl_args: Mapping[str, Warning] | None = ...,
    ) -> Callable[[_F], _F]: ...

    def __call__(
        self,
        function: _F | None = None,
        firstresult: bool = False,
        historic: bool = False,
        warn_on_impl: Warning | None = None,
        warn_on_impl_args: Mapping[str, Warning] | None = None,
    ) -> _F | Callable[[_F], _F]:
        """Mark ``function`` (or, without one, return a decorator) as a hook specification."""
        plain = function is None and warn_on_impl is None and warn_on_impl_args is None
        if plain and type(firstresult) is bool and type(historic) is bool:
            # The contract's own ``@hookspec(firstresult=True)``: one decorator per option set
            # rather than a closure per hook saves ~0.3M instructions of ``import virtcore``.
            return _plain_spec_marks[firstresult, historic]
        mark = _spec_mark(
            {
                "firstresult": firstresult,
                "historic": historic,
                "warn_on_impl": warn_on_impl,
                "warn_on_impl_args": warn_on_impl_args,
            }
        )
        return mark if function is None else mark(function)


class _ImplMarker:
    """``pluggy.HookimplMarker(PROJECT)`` without importing pluggy: the same ``virtcore_impl`` dict.

    A driver may use pluggy's own marker instead; both write the same attribute.
    """

    __slots__ = ()

    @overload
    def __call__(
        self,
        function: _F,
        hookwrapper: bool = ...,
        optionalhook: bool = ...,
        tryfirst: bool = ...,
        trylast: bool = ...,
        specname: str | None = ...,
        wrapper: bool = ...,
    ) -> _F: ...

    @overload
    def __call__(
        self,
        function: None = ...,
        hookwrapper: bool = ...,
        optionalhook: bool = ...,
        tryfirst: bool = ...,
        trylast: bool = ...,
        specname: str | None = ...,
        wrapper: bool = ...,
    ) -> Callable[[_F], _F]: ...

    def __call__(
        self,
        function: _F | None = None,
        hookwrapper: bool = False,
        optionalhook: bool = False,
        tryfirst: bool = False,
        trylast: bool = False,
        specname: str | None = None,
        wrapper: bool = False,
    ) -> _F | Callable[[_F], _F]:
        """Mark ``function`` (or, without one, return a decorator) as a hook implementation."""
        opts: dict[str, Any] = {
            "wrapper": wrapper,
            "hookwrapper": hookwrapper,
            "optionalhook": optionalhook,
            "tryfirst": tryfirst,
            "trylast": trylast,
            "specname": specname,
        }
        if function is not None:
            # A bare ``@hookimpl`` marks at once: no closure per method saves a cold open ~0.3M
            # instructions (the test driver alone has 159 of them).
            setattr(function, _IMPL_ATTR, opts)
            return function

        def mark(func: _F) -> _F:
            setattr(func, _IMPL_ATTR, dict(opts))
            return func

        return mark


_SPEC_ATTR = PROJECT + "_spec"
_IMPL_ATTR = PROJECT + "_impl"


def _spec_mark(opts: dict[str, Any]) -> Callable[[_F], _F]:
    """The decorator that marks a function as a hook specification with ``opts``, as pluggy's does."""

    def mark(func: _F) -> _F:
        if opts["historic"] and opts["firstresult"]:
            raise ValueError("cannot have a historic firstresult hook")
        setattr(func, _SPEC_ATTR, dict(opts))
        return func

    return mark


#: ``hookspec(firstresult=..., historic=...)`` with no warning options, by ``(firstresult, historic)``.
_plain_spec_marks = {
    (first, historic): _spec_mark(
        {"firstresult": first, "historic": historic, "warn_on_impl": None, "warn_on_impl_args": None}
    )
    for first in (False, True)
    for historic in (False, True)
}

#: Marks a hook specification (what ``pluggy.HookspecMarker("virtcore")`` marks).
hookspec = _SpecMarker()
#: Marks a driver's hook implementation (what ``pluggy.HookimplMarker("virtcore")`` marks).
hookimpl = _ImplMarker()


def _mutating(fn: _F) -> _F:
    setattr(fn, MUTATING_ATTR, True)
    return fn


def _read_only_safe(fn: _F) -> _F:
    setattr(fn, MUTATING_ATTR, False)
    return fn


# ---------------------------------------------------------------------------
# Connection
# ---------------------------------------------------------------------------


@_read_only_safe
@hookspec
def virt_connect_open(
    uri: URI,
    read_only: bool,
    emit: Callable[[AnyDomainEvent | AnyObjectEvent], None],
    resolve_volume: Callable[[str, str], str],
    users_of_path: Callable[[str], list[str]],
    resolve_network: Callable[[str], str],
    auth: Auth | None,
) -> None:
    """Open the connection: called once on every registered object, right after registration.

    libvirt: ``connectOpen``. Read-only safe.

    :param uri: the parsed URI the user asked for (a secondary driver gets the
        same URI with its own scheme: ``storage:///embed?root=...`` for
        ``qemu:///embed?root=...``).
    :param read_only: whether the user opened the connection read-only; a
        channel that needs write access may still serve reads.
    :param emit: call it with a :class:`~virtcore.types.DomainEvent` to report
        lifecycle changes, or with a record of :mod:`virtcore.events`
        (:class:`~virtcore.events.RebootEvent`, ...) to report the other kinds
        of domain event, or with a record of :mod:`virtcore.objevents` to
        report a network's, storage pool's, node device's or secret's event
        (thread-safe; keep a reference).
    :param resolve_volume: ``resolve_volume(pool, volume)`` is the path of
        volume ``volume`` in storage pool ``pool`` (both names), asked of
        whatever storage driver serves this connection: what a hypervisor
        driver calls for a disk's ``<source pool=... volume=...>``. It raises
        ``NoStoragePoolError``, ``NoStorageVolError``, or ``NoSupportError``
        when the connection has no storage.
    :param users_of_path: ``users_of_path(path)`` is the sorted names of the
        active domains whose live definition uses the file or block device
        ``path``, asked of every :func:`virt_domain_users_of_path`
        implementation on this connection (``[]`` when none implements it):
        what a storage driver calls before deleting, wiping, uploading to or
        shrinking a volume, or stopping its pool. It raises what they raise.
    :param resolve_network: ``resolve_network(name)`` is the host bridge of
        the active virtual network ``name``, asked of whatever network driver
        serves this connection: what a hypervisor driver calls for an
        ``<interface type='network'>``. It raises ``NoNetworkError``,
        ``OperationInvalidError`` (``network 'x' is not active``), or
        ``NoSupportError`` when the connection has no networks.
    :param auth: the caller's credentials (:class:`~virtcore.auth.Auth`: the credential
        types it answers and its callback), or ``None``. A driver that needs a user
        and password asks with :func:`virtcore.auth.ask_username` and
        :func:`~virtcore.auth.ask_password` (libvirt's ``connectAuthenticate``).
    :returns: nothing.
    :raises NoConnectError: the object cannot serve this URI.
    :raises AuthFailedError, OperationFailedError: opening failed; the core
        then closes the objects already opened and re-raises.
    """


@_read_only_safe
@hookspec
def virt_connect_close() -> None:
    """Release what the connection holds: called once on every object when it closes.

    libvirt: ``connectClose``. Read-only safe. Must not raise; guests keep
    running (closing a connection never stops a domain). Afterwards no other
    hook is called on the object.

    :returns: nothing.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_connect_get_type() -> str | None:
    """The hypervisor's name, as ``virConnectGetType``: ``"TEST"``, ``"QEMU"``, ``"Xen"``.

    libvirt: ``connectGetType``. Read-only safe.

    :returns: the type string, or ``None`` to let another channel answer.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_connect_get_version() -> int | None:
    """The hypervisor's version as ``major * 1_000_000 + minor * 1_000 + release``.

    libvirt: ``connectGetVersion``. Read-only safe.

    :returns: the encoded version, or ``None`` to let another channel answer.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_connect_get_max_vcpus(type: str | None) -> int | None:  # noqa: A002 - libvirt's name
    """The most vCPUs a guest of the virtualization ``type`` may have.

    libvirt: ``connectGetMaxVcpus``. Read-only safe.

    :param type: the domain type (``"kvm"``, ``"test"``...), or None for the driver's default.
    :raises InvalidArgError: a type the driver does not know.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_connect_get_sysinfo() -> str | None:
    """The host's system information (SMBIOS) as libvirt's ``<sysinfo>`` XML.

    libvirt: ``connectGetSysinfo``. Read-only safe.

    :returns: the ``<sysinfo>`` XML document.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_connect_get_hostname() -> str | None:
    """The host's name, as ``virConnectGetHostname``.

    libvirt: ``connectGetHostname``. Read-only safe.

    :returns: the host name, or ``None`` to let another channel answer.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_connect_get_capabilities() -> str | None:
    """The host and guest capabilities as libvirt's capabilities XML (``<capabilities>``).

    libvirt: ``connectGetCapabilities``. Read-only safe. The document must
    validate against libvirt's ``capability.rng``.

    :returns: the XML document as a string.
    """


# ---------------------------------------------------------------------------
# Native configuration formats
# ---------------------------------------------------------------------------


@_mutating
@hookspec(firstresult=True)
def virt_connect_domain_xml_to_native(native_format: str, xml: str) -> str | None:
    """Convert libvirt domain XML to the hypervisor's native config format ``native_format``.

    libvirt: ``connectDomainXMLToNative`` (``virsh domxml-to-native``). Mutating.
    Nothing changes on the host, but libvirt refuses the call on a read-only
    connection (``virConnectDomainXMLToNative`` checks for write access), and so
    does the core.

    A class implementing only the two native-format hooks is *connection
    independent*: declare it in ``describe_driver`` and give it a constructor
    without arguments, and the command line converts with it offline (no URI,
    no connection opened; :func:`virtcore.connection.domain_xml_to_native`).

    :param native_format: the format's libvirt name (``"xen-xl"``, ``"xen-xm"``...).
    :param xml: the domain XML, untrusted: parse it with ``virtcore.xml``.
    :returns: the native config text, or ``None`` when this object does not
        write ``native_format`` (when every object declines, the caller gets
        ``InvalidArgError``: "unsupported config type").
    :raises XMLError: the XML is not a valid domain.
    :raises ConfigUnsupportedError: the domain cannot be expressed in the format.
    """


@_mutating
@hookspec(firstresult=True)
def virt_connect_domain_xml_from_native(native_format: str, config: str) -> str | None:
    """Convert a native config in ``native_format`` to libvirt domain XML.

    libvirt: ``connectDomainXMLFromNative`` (``virsh domxml-from-native``). Mutating.
    Refused on a read-only connection as libvirt does (see
    :func:`virt_connect_domain_xml_to_native`, also for offline use).

    :param native_format: the format's libvirt name (``"xen-xl"``, ``"xen-sxpr"``...).
    :param config: the native config text, untrusted.
    :returns: the domain XML, or ``None`` when this object does not read
        ``native_format`` (every object declining is ``InvalidArgError``).
    :raises ConfSyntaxError: the config does not parse.
    :raises XMLError, ConfigUnsupportedError: it does not describe a valid domain.
    """


# ---------------------------------------------------------------------------
# Node
# ---------------------------------------------------------------------------


@_read_only_safe
@hookspec(firstresult=True)
def virt_node_get_info() -> NodeInfo | None:
    """The host's CPU and memory summary as a :class:`~virtcore.types.NodeInfo`.

    libvirt: ``nodeGetInfo``. Read-only safe. ``memory`` is KiB; ``cpus`` the
    number of active logical CPUs.

    :returns: a :class:`~virtcore.types.NodeInfo`.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_node_get_cpu_stats(cpu: int) -> dict[str, int] | None:
    """The host's CPU time counters, in nanoseconds (``user``, ``kernel``, ``idle``, ``iowait``...).

    libvirt: ``nodeGetCPUStats``. Read-only safe.

    :param cpu: the logical CPU, or -1 for the sum over every CPU (the core checked it is >= -1).
    :raises InvalidArgError: no such CPU.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_node_get_cpu_map() -> list[bool] | None:
    """The host's logical CPUs, one flag each: online or not.

    libvirt: ``nodeGetCPUMap``. Read-only safe.

    :returns: one ``bool`` per CPU the host has (online: True), CPU 0 first.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_node_get_free_memory() -> int | None:
    """The host's free memory.

    libvirt: ``nodeGetFreeMemory``. Read-only safe. A real host answers in
    bytes (its ``MemFree``); libvirt's test driver answers its cells' free
    amounts summed as they are, and virt-test does the same.

    :returns: the free memory, a non-negative int.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_node_get_cells_free_memory(start_cell: int, max_cells: int) -> list[int] | None:
    """The free memory of the host's NUMA cells ``start_cell``, ``start_cell + 1``... (at most ``max_cells``).

    libvirt: ``nodeGetCellsFreeMemory``. Read-only safe. The core checked
    ``start_cell >= 0`` and ``max_cells > 0``. A host without NUMA cells has
    one cell, 0, holding all its memory.

    :param start_cell: the first cell.
    :param max_cells: the most cells to answer for.
    :returns: one amount per cell from ``start_cell`` on, in bytes (the test driver: its cells' sizes).
    :raises InvalidArgError: ``start_cell`` is not a cell of the host ("Range exceeds available cells").
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_node_get_security_model() -> SecurityModel | None:
    """The security driver guests of this connection run under, as a :class:`~virtcore.types.SecurityModel`.

    libvirt: ``nodeGetSecurityModel``. Read-only safe. A host without one
    answers ``SecurityModel("", "")``; a QEMU host whose security driver is
    off answers ``"none"``.

    :returns: ``(model, doi)``.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_connect_baseline_cpu(xml_cpus: list[str], expand_features: bool) -> str | None:
    """The best CPU definition every CPU of ``xml_cpus`` can run, as ``<cpu>`` XML.

    libvirt: ``connectBaselineCPU``. Read-only safe. The core checked that
    ``xml_cpus`` holds at least one string.

    :param xml_cpus: host CPU definitions (``<cpu>`` documents, as in capabilities), untrusted.
    :param expand_features: ``VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES``: list every feature of the model.
    :returns: the ``<cpu mode='custom' match='exact'>`` document.
    :raises XMLError: a definition does not parse, or lacks its ``<arch>`` or ``<model>``.
    :raises OperationUnsupportedError: the driver cannot compute a baseline of these CPUs.
    """


# ---------------------------------------------------------------------------
# Domain discovery
# ---------------------------------------------------------------------------


@_read_only_safe
@hookspec(firstresult=True)
def virt_connect_list_all_domains(active: bool | None) -> list[DomainRef] | None:
    """The domains this connection sees.

    libvirt: ``connectListAllDomains``. Read-only safe.

    :param active: ``None`` for all domains, ``True`` for active ones (running,
        paused, ...), ``False`` for inactive (shut off, defined) ones.
    :returns: a list (possibly empty) of :class:`~virtcore.types.DomainRef`,
        active domains with their id, inactive ones with id ``-1``. The order
        is the driver's; the core does not sort.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_lookup_by_name(name: str) -> DomainRef | None:
    """The domain called ``name``.

    libvirt: ``domainLookupByName``. Read-only safe.

    :raises NoDomainError: no such domain (message names it:
        ``"Domain not found: no domain with matching name 'x'"``). A channel
        that only sees some domains (e.g. only running ones) returns ``None``
        instead, so the next channel is asked.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_lookup_by_uuid(uuid: str) -> DomainRef | None:
    """The domain with this UUID (canonical lowercase form).

    libvirt: ``domainLookupByUUID``. Read-only safe.

    :raises NoDomainError: no such domain (or decline with ``None``, as for
        :func:`virt_domain_lookup_by_name`).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_lookup_by_id(id: int) -> DomainRef | None:  # noqa: A002 - libvirt's name
    """The active domain with hypervisor id ``id``.

    libvirt: ``domainLookupByID``. Read-only safe.

    :raises NoDomainError: no active domain has this id.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_is_persistent(uuid: str) -> bool | None:
    """Whether the domain has a persistent definition (survives shutdown).

    libvirt: ``domainIsPersistent``. Read-only safe.

    :raises NoDomainError: unknown ``uuid``.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_is_updated(uuid: str) -> bool | None:
    """Whether the domain's definition was updated in a way its hypervisor flags as such.

    libvirt: ``domainIsUpdated``. Read-only safe. libvirt's test driver
    keeps no such flag and answers ``False`` for any domain, without looking
    it up; a driver that tracks it answers from its own record.

    :returns: ``True`` when the definition is flagged as updated.
    :raises NoDomainError: unknown ``uuid`` (a driver that looks it up).
    """


# ---------------------------------------------------------------------------
# Domain lifecycle
# ---------------------------------------------------------------------------


@_mutating
@hookspec(firstresult=True)
def virt_domain_define_xml(xml: str) -> DomainRef | None:
    """Define (or redefine) a persistent domain from libvirt domain XML; do not start it.

    libvirt: ``domainDefineXML``. Mutating. Redefining an existing domain
    (same name and UUID) replaces its persistent definition; a running domain
    keeps running with its old live definition. Emits DEFINED (ADDED or
    UPDATED).

    :param xml: the ``<domain>`` document.
    :returns: the domain's :class:`~virtcore.types.DomainRef`.
    :raises XMLError: malformed or invalid XML (parse with
        :func:`virtcore.xml.parse_domain`, which raises it for you).
    :raises OperationFailedError: another domain has this name with another
        UUID (``"domain 'x' already exists with uuid ..."``), or this UUID with
        another name.
    :raises ConfigUnsupportedError: valid XML this driver cannot run.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_create_xml(xml: str) -> DomainRef | None:
    """Create and start a *transient* domain from XML: it vanishes when it stops.

    libvirt: ``domainCreateXML``. Mutating. Emits STARTED (BOOTED).

    :param xml: the ``<domain>`` document.
    :returns: the new domain's :class:`~virtcore.types.DomainRef` (with its id).
    :raises XMLError, ConfigUnsupportedError: as for :func:`virt_domain_define_xml`.
    :raises OperationInvalidError: this domain (same name and UUID) is already active.
    :raises OperationFailedError: the name belongs to a domain with another UUID, or
        the UUID to a domain with another name. (An inactive persistent domain with the
        same name and UUID is started with this XML as its live definition.)
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_undefine(uuid: str, snapshots_metadata: bool) -> bool | None:
    """Remove the persistent definition.

    libvirt: ``domainUndefine`` (``domainUndefineFlags``). Mutating. An inactive
    domain disappears; an active one becomes transient and disappears when it
    stops. Emits UNDEFINED (REMOVED).

    :param snapshots_metadata: also forget the metadata of the domain's snapshots
        (libvirt's ``VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA``); without it an inactive
        domain that has snapshots is refused. A driver without snapshots ignores it.
    :returns: True.
    :raises NoDomainError: unknown ``uuid``.
    :raises OperationInvalidError: the domain is already transient, or it is inactive and has
        snapshots (``"cannot delete inactive domain with 2 snapshots"``).
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_create(uuid: str) -> bool | None:
    """Start a defined, inactive domain.

    libvirt: ``domainCreate``. Mutating. The domain gets a fresh id; state
    RUNNING (BOOTED). Emits STARTED (BOOTED).

    :returns: True.
    :raises OperationInvalidError: the domain is already active
        (``"domain is already running"``), or the class the driver's libvirt
        counterpart raises there (libvirt's test driver: ``InternalError``).
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_suspend(uuid: str) -> bool | None:
    """Pause a running domain's vCPUs; it keeps its memory.

    libvirt: ``domainSuspend``. Mutating. State PAUSED (USER). Emits
    SUSPENDED (PAUSED).

    :raises OperationInvalidError: the domain is not running (inactive or
        already paused), or the class the driver's libvirt counterpart raises
        there (libvirt's test driver: ``InternalError``).
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_resume(uuid: str) -> bool | None:
    """Resume a paused domain.

    libvirt: ``domainResume``. Mutating. State RUNNING (UNPAUSED). Emits
    RESUMED (UNPAUSED).

    :raises OperationInvalidError: the domain is not paused, or the class the
        driver's libvirt counterpart raises there (libvirt's test driver:
        ``InternalError``, ``"domain 'x' not paused"``).
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_shutdown(uuid: str) -> bool | None:
    """Ask the guest to power off (ACPI power button or equivalent).

    libvirt: ``domainShutdown``. Mutating. May return before the guest is
    off; when it is, the state becomes SHUTOFF (SHUTDOWN) and SHUTDOWN then
    STOPPED (SHUTDOWN) are emitted. A driver with no guest to ask (the test
    driver) applies ``on_poweroff`` at once.

    :raises OperationInvalidError: the domain is not active, or the class the
        driver's libvirt counterpart raises there (libvirt's test driver:
        ``InternalError``).
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_reboot(uuid: str) -> bool | None:
    """Ask the guest to reboot; the domain stays active (``on_reboot`` permitting).

    libvirt: ``domainReboot``. Mutating. Whether the id survives is the
    hypervisor's: QEMU and the test driver keep it, Xen builds a new domain
    with a new id (as libvirt's libxl driver reports). Return once the
    domain can be looked up again.

    :raises OperationInvalidError: the domain is not active.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_reset(uuid: str) -> bool | None:
    """Reset the guest at once, as the reset button would, without asking it.

    libvirt: ``domainReset``. Mutating. The domain stays active with the
    same id; ``on_reboot`` does not apply (the guest did not ask for it) and
    no lifecycle event is emitted. A driver with no guest (the test driver)
    only checks that the domain is active, as libvirt's does.

    :raises OperationInvalidError: the domain is not active.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_inject_nmi(uuid: str) -> bool | None:
    """Send a non-maskable interrupt to the guest's processors.

    libvirt: ``domainInjectNMI``. Mutating. What the guest does with it is
    its own (a Linux guest may panic or log it); the domain's state does not
    change here. A driver with no guest (the test driver) only checks that
    the domain is active, as libvirt's does.

    :raises OperationInvalidError: the domain is not active.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_destroy(uuid: str) -> bool | None:
    """Stop the domain at once, as pulling the plug would.

    libvirt: ``domainDestroy``. Mutating. State SHUTOFF (DESTROYED), id -1; a
    transient domain is removed. Emits STOPPED (DESTROYED).

    :raises OperationInvalidError: the domain is not active.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_save(uuid: str, path: str, running: bool, paused: bool) -> bool | None:
    """Save the active domain's state to the file ``path`` and stop it.

    libvirt: ``domainSave`` / ``domainSaveFlags``. Mutating. The file holds everything
    :func:`virt_domain_restore` needs, the domain XML included. State
    SHUTOFF (SAVED); a transient domain is removed. Emits STOPPED (SAVED).
    The file is written completely or not at all.

    :param running: the file says to restore the domain running, whatever its state now
        (``VIR_DOMAIN_SAVE_RUNNING``).
    :param paused: it says to restore it paused (``_PAUSED``); never both (the core refuses that).
    :raises OperationInvalidError: the domain is not active.
    :raises SystemError_: the file cannot be written.
    :raises ArgumentUnsupportedError: ``running`` or ``paused``, where the driver's image
        cannot record them.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_save_image_get_xml_desc(path: str) -> str | None:
    """The domain XML a save file written by :func:`virt_domain_save` holds.

    libvirt: ``domainSaveImageGetXMLDesc``. Read-only safe. The file is only
    read: nothing is started, defined or changed.

    :param path: the save file.
    :returns: the saved domain's XML, as the driver formats it.
    :raises SystemError_: the file cannot be read.
    :raises InvalidArgError: the file is not a save image of this driver.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_restore(path: str, running: bool, paused: bool) -> DomainRef | None:
    """Start a domain from a file written by :func:`virt_domain_save`.

    libvirt: ``domainRestore`` / ``domainRestoreFlags``. Mutating. The domain's state is
    RUNNING (RESTORED), or PAUSED if it was paused when saved or the file says so;
    ``running`` / ``paused`` override both. Emits STARTED (RESTORED), then SUSPENDED
    (RESTORED) when it is left paused.

    :param path: the save file.
    :param running: leave it running (``VIR_DOMAIN_SAVE_RUNNING``).
    :param paused: leave it paused, never having run (``_PAUSED``); never both.
    :returns: the restored domain's :class:`~virtcore.types.DomainRef`.
    :raises SystemError_: the file cannot be read.
    :raises InvalidArgError: the file is not a save image of this driver.
    :raises OperationInvalidError: the domain is already active.
    :raises ArgumentUnsupportedError: ``running`` or ``paused``, where the driver cannot
        choose the state it restores into.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_managed_save(uuid: str) -> bool | None:
    """Save a running domain's state where the driver keeps it (its *managed save image*) and stop it.

    libvirt: ``domainManagedSave``. Mutating. The next start resumes from the image and
    drops it; an undefine is refused while it exists.

    :raises OperationInvalidError: the domain is not running (``"domain is not running"``).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_has_managed_save_image(uuid: str) -> bool | None:
    """Whether the domain has a managed save image.

    libvirt: ``domainHasManagedSaveImage``. Read-only safe.

    :returns: True or False.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_managed_save_remove(uuid: str) -> bool | None:
    """Drop the domain's managed save image (none: nothing to do); the next start boots afresh.

    libvirt: ``domainManagedSaveRemove``. Mutating.

    :returns: True.
    """


# ---------------------------------------------------------------------------
# Domain state and resources
# ---------------------------------------------------------------------------


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_get_info(uuid: str) -> DomainInfo | None:
    """State, memory, vCPUs and CPU time as a :class:`~virtcore.types.DomainInfo`.

    libvirt: ``domainGetInfo``. Read-only safe. This is a hot path: answer from
    memory when you can.

    :raises NoDomainError: unknown ``uuid``.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_get_state(uuid: str) -> tuple[DomainState, int] | None:
    """``(state, reason)``: the reason is from the enum matching the state
    (:class:`~virtcore.types.RunningReason` for RUNNING, ...).

    libvirt: ``domainGetState``. Read-only safe. Hot path.

    :raises NoDomainError: unknown ``uuid``.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_get_control_info(uuid: str) -> ControlInfo | None:
    """What the interface controlling the domain (the QEMU monitor...) is doing, as a
    :class:`~virtcore.types.ControlInfo`.

    libvirt: ``domainGetControlInfo``. Read-only safe.

    :returns: ``(state, details, state_time)``, ``state_time`` in milliseconds.
    :raises NoDomainError: unknown ``uuid``.
    :raises OperationInvalidError: the domain is not running.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_get_xml_desc(uuid: str, inactive: bool) -> str | None:
    """The domain's XML: the live definition, or the persistent one when ``inactive``.

    libvirt: ``domainGetXMLDesc`` (``inactive`` is ``VIR_DOMAIN_XML_INACTIVE``).
    Read-only safe. An active domain's XML carries ``id='N'``.

    :returns: the ``<domain>`` document as a string.
    :raises NoDomainError: unknown ``uuid``.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_set_memory(uuid: str, memory: int) -> bool | None:
    """Set the current memory (balloon target) of the domain, in KiB.

    libvirt: ``domainSetMemory``. Mutating.

    :raises InvalidArgError: ``memory`` is above the maximum
        (``"cannot set memory higher than max memory"``) or not positive.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_set_memory_stats_period(uuid: str, period: int, live: bool, config: bool) -> bool | None:
    """Set how often the guest's balloon driver updates its memory statistics.

    libvirt: ``domainSetMemoryStatsPeriod``. Mutating. The period is the
    memballoon's ``<stats period>`` in the definition(s) changed.

    :param period: seconds between updates; 0 turns them off (the core
        refuses a negative one).
    :param live: change the running domain (``VIR_DOMAIN_AFFECT_LIVE``).
    :param config: change the persistent definition (``VIR_DOMAIN_AFFECT_CONFIG``);
        neither: the current one.
    :raises InvalidArgError: both ``live`` and ``config`` (libvirt changes one definition).
    :raises OperationInvalidError: ``live`` on an inactive or ``config`` on a transient domain.
    :raises InternalError: the definition has no memory balloon (libvirt's code).
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_set_max_memory(uuid: str, memory: int) -> bool | None:
    """Set the maximum memory of the domain, in KiB.

    libvirt: ``domainSetMaxMemory``. Mutating. Drivers may refuse this for an
    active domain with ``OperationInvalidError``.

    :param memory: the new maximum, KiB.
    :raises InvalidArgError: ``memory`` is not positive.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_set_vcpus(uuid: str, count: int) -> bool | None:
    """Set the number of active vCPUs.

    libvirt: ``domainSetVcpus``. Mutating.

    :raises InvalidArgError: ``count`` is below 1 or above the maximum
        (``"requested cpu amount exceeds maximum supported amount (N > M)"``).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_get_autostart(uuid: str) -> bool | None:
    """Whether the domain starts when the host (or driver) starts.

    libvirt: ``domainGetAutostart``. Read-only safe.

    :returns: the flag (a transient domain's is ``False``).
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_set_autostart(uuid: str, autostart: bool) -> bool | None:
    """Mark the persistent domain to start (or not) with the host.

    libvirt: ``domainSetAutostart``. Mutating.

    :param autostart: the new value of the flag.
    :raises OperationInvalidError: the domain is transient
        (``"cannot set autostart for transient domain"``).
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_attach_device(uuid: str, xml: str) -> bool | None:
    """Add a device, given as one device element (``<disk>``, ``<interface>``...).

    libvirt: ``domainAttachDevice``. Mutating. On an active domain the device
    is hot-plugged into the live definition; on an inactive one it is added
    to the persistent definition.

    :param xml: one device element.
    :raises XMLError: malformed device XML.
    :raises ConfigUnsupportedError: a device this driver cannot attach.
    :raises OperationFailedError: the target is already in use.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_detach_device(uuid: str, xml: str) -> bool | None:
    """Remove the device matching ``xml`` (matched by target, MAC or alias).

    libvirt: ``domainDetachDevice``. Mutating.

    :raises OperationFailedError: no device matches (``"device not found"``).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_block_stats(uuid: str, device: str) -> tuple[int, int, int, int, int] | None:
    """``(rd_req, rd_bytes, wr_req, wr_bytes, errs)`` for the disk with target ``device``.

    libvirt: ``domainBlockStats``. Read-only safe.

    :raises OperationInvalidError: the domain is not active.
    :raises InvalidArgError: no disk with that target.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_get_block_info(uuid: str, device: str) -> tuple[int, int, int] | None:
    """``(capacity, allocation, physical)`` in bytes of the disk with target (or source) ``device``.

    libvirt: ``domainGetBlockInfo``. Read-only safe.

    :raises InvalidArgError: no disk with that target or source, or the disk has no source.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_interface_stats(
    uuid: str, device: str
) -> tuple[int, int, int, int, int, int, int, int] | None:
    """``(rx_bytes, rx_packets, rx_errs, rx_drop, tx_bytes, tx_packets, tx_errs, tx_drop)``.

    libvirt: ``domainInterfaceStats``. Read-only safe. ``device`` is the
    interface's target device name or MAC address.

    :raises OperationInvalidError: the domain is not active.
    :raises InvalidArgError: no such interface.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_interface_addresses(
    uuid: str, source: InterfaceAddressSource
) -> list[DomainInterface] | None:
    """The guest's interfaces and the addresses ``source`` knows for them.

    libvirt: ``domainInterfaceAddresses``. Read-only safe. Answer only for the
    sources you know and decline (``None``) the others, so that another
    channel may answer them (a driver's guest-agent part answers
    ``AGENT`` while its network part answers ``LEASE`` and ``ARP``). An
    interface with no address known to that source is left out (libvirt's
    answer), so an empty list means "none yet".

    ``LEASE`` may be left to the core: when no implementation answers it,
    :meth:`virtcore.Domain.interface_addresses` derives it from the DHCP
    leases of the networks the domain's ``<interface type='network'>`` are on
    (:func:`virtcore.network.lease_addresses`, as libvirt's QEMU driver does),
    so a hypervisor driver answers ``LEASE`` only when it knows better.

    :raises OperationInvalidError: the domain is not active.
    :raises VirtError: with code ``AGENT_UNRESPONSIVE`` (86) when ``AGENT`` is asked
        and no agent answers.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_get_scheduler_type(uuid: str) -> tuple[str, int] | None:
    """The domain's CPU scheduler and how many parameters it has (``("fair", 1)``).

    libvirt: ``domainGetSchedulerType``. Read-only safe.

    :returns: ``(scheduler name, number of parameters)``.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_get_scheduler_parameters(uuid: str) -> dict[str, int] | None:
    """The domain's CPU scheduler parameters by name (``{"weight": 50}``).

    libvirt: ``domainGetSchedulerParameters``. Read-only safe.

    :returns: a dict of unsigned integers, libvirt's typed parameters of the scheduler.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_set_scheduler_parameters(uuid: str, params: dict[str, int]) -> bool | None:
    """Change some of the domain's CPU scheduler parameters.

    libvirt: ``domainSetSchedulerParameters``. Mutating.

    :param params: parameter name -> new value (the core checked they are non-negative integers).
    :raises ArgumentUnsupportedError: a parameter the scheduler does not have
        (``"parameter 'x' not supported"``).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_get_memory_parameters(uuid: str) -> dict[str, int] | None:
    """The domain's memory tunables (``<memtune>``) by libvirt's typed-parameter names, in KiB.

    libvirt: ``domainGetMemoryParameters``. Read-only safe.

    :returns: ``hard_limit``, ``soft_limit``, ``swap_hard_limit``; a limit not set is
        ``VIR_DOMAIN_MEMORY_PARAM_UNLIMITED`` (``limits.MEMORY_PARAM_UNLIMITED``).
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_set_memory_parameters(uuid: str, params: dict[str, int]) -> bool | None:
    """Change some of the domain's memory tunables (``<memtune>``).

    libvirt: ``domainSetMemoryParameters``. Mutating.

    :param params: some of ``hard_limit``, ``soft_limit``, ``swap_hard_limit`` (KiB; the core
        checked the names and that the values are unsigned integers).
    :raises InvalidArgError: ``hard_limit`` would exceed ``swap_hard_limit``.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_get_blkio_parameters(uuid: str, live: bool, config: bool) -> dict[str, int | str] | None:
    """The domain's block I/O tunables (``<blkiotune>``) by libvirt's typed-parameter names.

    libvirt: ``domainGetBlkioParameters``. Read-only safe.

    :param live: read the running definition (``VIR_DOMAIN_AFFECT_LIVE``).
    :param config: read the persistent definition (``VIR_DOMAIN_AFFECT_CONFIG``); neither:
        the current one (the core refuses both).
    :returns: ``weight`` (an int, 0 when not set) and the per-device strings
        ``device_weight``, ``device_read_iops_sec``, ``device_write_iops_sec``,
        ``device_read_bytes_sec``, ``device_write_bytes_sec`` (``"path,value,path,value"``,
        the devices that have a non-zero value; empty when none).
    :raises OperationInvalidError: ``live`` of a shut-off domain, ``config`` of a transient one.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_set_blkio_parameters(
    uuid: str, params: dict[str, int | str], live: bool, config: bool
) -> bool | None:
    """Change some block I/O tunables (``<blkiotune>``) of the one definition the flags pick.

    libvirt: ``domainSetBlkioParameters``. Mutating.

    :param live: change the running definition; ``config``: the persistent one (neither:
        the current one).
    :param params: some of the names :func:`virt_domain_get_blkio_parameters` gives (the core
        checked names and types); a device string merges into the devices already there.
    :raises InvalidArgError: a device string that is not ``path,value`` pairs, or a bad value.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_get_numa_parameters(uuid: str, live: bool, config: bool) -> dict[str, int | str] | None:
    """The domain's NUMA memory policy (``<numatune><memory>``): ``numa_mode``, ``numa_nodeset``.

    libvirt: ``domainGetNumaParameters``. Read-only safe. ``numa_mode`` is a
    ``virDomainNumatuneMemMode`` (strict when not set), ``numa_nodeset`` a node set
    (``"0-1,3"``; empty when not set).

    :param live: read the running definition; ``config``: the persistent one (neither: the
        current one).
    :returns: ``{"numa_mode": int, "numa_nodeset": str}``.
    :raises OperationInvalidError: ``live`` of a shut-off domain, ``config`` of a transient one.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_set_numa_parameters(
    uuid: str, params: dict[str, int | str], live: bool, config: bool
) -> bool | None:
    """Change the NUMA memory mode and/or node set of the one definition the flags pick.

    libvirt: ``domainSetNumaParameters``. Mutating.

    :param params: ``numa_mode`` and/or ``numa_nodeset`` (the core checked names and types).
    :param live: change the running definition; ``config``: the persistent one.
    :raises InvalidArgError: an unknown mode, a node set that does not parse.
    :raises OperationInvalidError: an empty node set; changing the mode of a running domain.
    :raises ConfigUnsupportedError: a static placement left without a node set.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_get_vcpu_pin_info(uuid: str, live: bool, config: bool) -> list[tuple[bool, ...]] | None:
    """On which host CPUs each vCPU may run, by the definition the flags pick.

    libvirt: ``domainGetVcpuPinInfo``. Read-only safe.

    :param live: read the running definition; ``config``: the persistent one.
    :returns: one tuple per vCPU up to the maximum, with one flag per host CPU: the vCPU's
        ``<vcpupin>``, else the domain's ``<vcpu cpuset>``, else every host CPU.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_pin_vcpu(uuid: str, vcpu: int, cpumap: tuple[bool, ...]) -> bool | None:
    """Pin one online vCPU of the running domain to the host CPUs set in ``cpumap``.

    libvirt: ``domainPinVcpu`` (``domainPinVcpuFlags`` with no flags). Mutating.

    :raises OperationInvalidError: the domain is not running.
    :raises InvalidArgError: ``vcpu`` is not an online vCPU.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_get_emulator_pin_info(uuid: str, live: bool, config: bool) -> tuple[bool, ...] | None:
    """On which host CPUs the domain's emulator threads may run (one flag per host CPU).

    libvirt: ``domainGetEmulatorPinInfo``. Read-only safe.

    :param live: read the running definition; ``config``: the persistent one.
    :returns: ``<emulatorpin>``, else ``<vcpu cpuset>``, else every host CPU.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_pin_emulator(uuid: str, cpumap: tuple[bool, ...], live: bool, config: bool) -> bool | None:
    """Pin the emulator threads to the host CPUs set in ``cpumap`` (``<emulatorpin>``).

    libvirt: ``domainPinEmulator``. Mutating.

    :param live: change the running definition; ``config``: the persistent one.
    :raises InvalidArgError: ``cpumap`` sets no CPU.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_get_block_io_tune(
    uuid: str, disk: str, live: bool, config: bool
) -> dict[str, int | str] | None:
    """One disk's I/O throttling (its ``<iotune>``) by libvirt's typed-parameter names.

    libvirt: ``domainGetBlockIoTune``. Read-only safe.

    :param disk: the disk's target (``vda``) or source path.
    :param live: read the running definition; ``config``: the persistent one (neither: the
        current one).
    :returns: every name of :data:`virtcore.tunables.BLOCK_IOTUNE_PARAMETERS`: the limits
        (0 when not set) and ``group_name`` (empty when not set).
    :raises InvalidArgError: no disk of that name in the definition.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_set_block_io_tune(
    uuid: str, disk: str, params: dict[str, int | str], live: bool, config: bool
) -> bool | None:
    """Change some of one disk's I/O throttling (``<iotune>``) in the definition the flags pick.

    libvirt: ``domainSetBlockIoTune``. Mutating.

    :param disk: the disk's target (``vda``) or source path.
    :param params: some of :data:`virtcore.tunables.BLOCK_IOTUNE_PARAMETERS` (the core
        checked names and types).
    :param live: change the running definition; ``config``: the persistent one.
    :raises InvalidArgError: no such disk; a total limit set with a read or write one; a
        limit above its burst maximum.
    :raises ArgumentUnsupportedError: a limit above what the driver can throttle.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_get_io_thread_info(
    uuid: str, live: bool, config: bool
) -> list[tuple[int, tuple[bool, ...]]] | None:
    """The domain's I/O threads (``<iothreadids>``) and on which host CPUs each may run.

    libvirt: ``domainGetIOThreadInfo``. Read-only safe.

    :param live: read the running definition; ``config``: the persistent one (neither: the
        current one).
    :returns: ``(iothread id, one flag per host CPU)`` per I/O thread: its ``<iothreadpin>``,
        else ``<vcpu cpuset>``, else the driver's default.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_add_io_thread(uuid: str, iothread_id: int, live: bool, config: bool) -> bool | None:
    """Add I/O thread ``iothread_id`` (> 0) to the definition the flags pick.

    libvirt: ``domainAddIOThread``. Mutating.

    :param live: change the running definition; ``config``: the persistent one.
    :raises InvalidArgError: an I/O thread of that id exists.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_del_io_thread(uuid: str, iothread_id: int, live: bool, config: bool) -> bool | None:
    """Remove I/O thread ``iothread_id`` (and its pinning) from the definition the flags pick.

    libvirt: ``domainDelIOThread``. Mutating.

    :param live: change the running definition; ``config``: the persistent one.
    :raises InvalidArgError: no I/O thread of that id, or a disk or controller uses it.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_pin_io_thread(
    uuid: str, iothread_id: int, cpumap: tuple[bool, ...], live: bool, config: bool
) -> bool | None:
    """Pin I/O thread ``iothread_id`` to the host CPUs set in ``cpumap`` (``<iothreadpin>``).

    libvirt: ``domainPinIOThread``. Mutating.

    :param live: change the running definition; ``config``: the persistent one.
    :raises InvalidArgError: ``cpumap`` sets no CPU; no I/O thread of that id.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_set_io_thread_params(
    uuid: str, iothread_id: int, params: dict[str, int], live: bool
) -> bool | None:
    """Change a running I/O thread's polling (``poll_max_ns``, ``poll_grow``, ``poll_shrink``).

    libvirt: ``domainSetIOThreadParams``. Mutating.

    :param iothread_id: the I/O thread (> 0).
    :param live: the running domain (the only definition the polling has).
    :param params: some of :data:`virtcore.tunables.IOTHREAD_PARAMETERS` (the core checked
        names and types).
    :raises InvalidArgError: no I/O thread of that id.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_get_io_thread_stats(uuid: str) -> list[tuple[int, dict[str, int]]] | None:
    """The running domain's I/O threads and their polling, as bulk statistics report them.

    libvirt: ``connectGetAllDomainStats`` (its ``iothread`` group). Read-only safe.

    :returns: ``(iothread id, {"poll-max-ns", "poll-grow", "poll-shrink"})`` per I/O thread.
    :raises OperationInvalidError: the domain is not running (the group is left out).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_get_interface_parameters(
    uuid: str, device: str, live: bool, config: bool
) -> dict[str, int] | None:
    """One interface's rate limits (its ``<bandwidth>``) by libvirt's typed-parameter names.

    libvirt: ``domainGetInterfaceParameters``. Read-only safe.

    :param device: the interface's MAC address or target device name.
    :param live: read the running definition; ``config``: the persistent one (neither: the
        current one).
    :returns: every name of :data:`virtcore.tunables.INTERFACE_PARAMETERS` (0 when not set).
    :raises InvalidArgError: no interface of that MAC address or name.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_set_interface_parameters(
    uuid: str, device: str, params: dict[str, int], live: bool, config: bool
) -> bool | None:
    """Change one interface's rate limits in the definition the flags pick.

    libvirt: ``domainSetInterfaceParameters``. Mutating. A direction whose ``average``
    (inbound: or ``floor``) is given as 0 is cleared.

    :param device: the interface's MAC address or target device name.
    :param params: some of :data:`virtcore.tunables.INTERFACE_PARAMETERS` (checked by the core).
    :param live: change the running definition; ``config``: the persistent one.
    :raises InvalidArgError: no interface of that MAC address or name.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_get_hostname(uuid: str) -> str | None:
    """The guest's host name, as the guest reports it.

    libvirt: ``domainGetHostname``. Read-only safe.

    :raises OperationInvalidError: the domain is not running.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_screenshot(uuid: str, screen: int) -> tuple[str, DownloadSource] | None:
    """A picture of the domain's display ``screen`` (0: the first).

    libvirt: ``domainScreenshot``. Read-only safe. The image's bytes are streamed
    (libvirt sends them over a ``virStream``): the core reads them from the
    returned source in chunks and closes it.

    :returns: ``(MIME type, source of the image's bytes)``, e.g. ``("image/png", ...)``.
    :raises OperationInvalidError: the domain is not running (drivers with a real display).
    :raises InvalidArgError: no such screen.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_get_metadata(uuid: str, kind: int, uri: str | None, live: bool, config: bool) -> str | None:
    """One piece of the domain's metadata: its description, its title, or an application's element.

    libvirt: ``domainGetMetadata``. Read-only safe.

    :param kind: a :class:`~virtcore.types.DomainMetadataType` (``DESCRIPTION``, ``TITLE``,
        ``ELEMENT``).
    :param uri: the namespace of the ``ELEMENT`` asked for (``None`` for the others).
    :param live: read the running definition; ``config``: the persistent one (neither: the
        current one).
    :returns: the text, or the element's XML (in no namespace, as libvirt gives it back).
    :raises NoDomainMetadataError: the domain has none of that
        (``"Requested metadata element is not present"``).
    :raises OperationInvalidError: ``live`` on a shut-off or ``config`` on a transient domain.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_set_metadata(
    uuid: str, kind: int, metadata: str | None, key: str | None, uri: str | None, live: bool, config: bool
) -> bool | None:
    """Set or (``metadata`` None) remove a piece of the domain's metadata.

    libvirt: ``domainSetMetadata``. Mutating.

    :param kind: a :class:`~virtcore.types.DomainMetadataType`.
    :param metadata: the text, or for ``ELEMENT`` one XML element (written in namespace
        ``uri`` with prefix ``key``); ``None`` removes it.
    :param key: the namespace prefix of an ``ELEMENT``.
    :param uri: the namespace of an ``ELEMENT``.
    :param live: change the running definition; ``config``: the persistent one (neither:
        the current one, as libvirt's ``VIR_DOMAIN_AFFECT_CURRENT``).
    :raises XMLError: ``metadata`` is not one well-formed element.
    :raises OperationInvalidError: ``live`` on a shut-off or ``config`` on a transient domain.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_memory_stats(uuid: str) -> dict[str, int] | None:
    """The running guest's memory statistics (KiB, and counts), by libvirt-python's names.

    libvirt: ``domainMemoryStats``. Read-only safe. The names are those of
    :data:`virtcore.types.MEMORY_STAT_NAMES` (``actual``, ``unused``, ``available``,
    ``rss``...); a driver gives the ones it knows (none without a balloon).

    :raises OperationInvalidError: the domain is not running.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_get_vcpus(uuid: str) -> tuple[list[VcpuInfo], list[tuple[bool, ...]]] | None:
    """The running guest's vCPUs, and on which host CPUs each may run.

    libvirt: ``domainGetVcpus``. Read-only safe.

    :returns: a :class:`~virtcore.types.VcpuInfo` per online vCPU, and per vCPU a tuple
        with one flag per host CPU (its affinity), as libvirt-python's ``vcpus()``.
    :raises OperationInvalidError: the domain is not running.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_get_cpu_stats(uuid: str, total: bool) -> list[dict[str, int]] | None:
    """The running guest's CPU time: in total (one dict) or per host CPU (one dict each).

    libvirt: ``domainGetCPUStats``. Read-only safe. Totals are ``cpu_time``,
    ``user_time``, ``system_time``; per CPU ``cpu_time`` and ``vcpu_time`` (nanoseconds).

    :param total: the domain's totals rather than one entry per host CPU.
    :raises OperationInvalidError: the domain is not running.
    """


# ---------------------------------------------------------------------------
# Guest agent
# ---------------------------------------------------------------------------
#
# What these hooks share (a driver serving a guest agent, e.g. QEMU's
# ``qemu-guest-agent`` over a ``virtio-serial`` channel named
# ``org.qemu.guest_agent.0``):
#
# * ``OperationInvalidError`` when the domain is not running;
#   ``AgentUnresponsiveError`` (86) when it has no agent channel, the agent
#   is not connected, or the agent does not answer the resynchronisation;
#   ``AgentCommandTimeoutError`` (112) when a command gets no answer in time;
#   ``AgentCommandFailedError`` (113) when the agent answers with an error.
# * An agent call never waits for, nor blocks, the domain's other
#   operations (its own lock/queue, not the domain's job), and a call that
#   times out leaves the channel so that the next call resynchronises.
# * ``timeout`` is in seconds (> 0): nothing waits longer.


@_mutating
@hookspec(firstresult=True)
def virt_domain_qemu_agent_command(uuid: str, command: str, timeout: float) -> str | None:
    """Pass one JSON command to the guest agent and return its JSON answer (the whole reply
    object, ``{"return": ...}``) as text.

    libvirt: ``domainQemuAgentCommand`` (libvirt-qemu). Mutating. The core
    builds the agent operations without a libvirt entry point of their own
    (ping, exec, file read/write) on this hook.

    :param command: one JSON object (the core checked it parses).
    :param timeout: seconds to wait for the answer.
    :returns: the reply object as JSON text.
    :raises AgentCommandFailedError: the agent answered with an error (its
        class and description in the message).
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_get_guest_info(uuid: str, types: int) -> dict[str, str | int] | None:
    """What the guest agent tells about the guest, as libvirt's typed-parameter keys.

    libvirt: ``domainGetGuestInfo``. Mutating. (It talks to the guest agent.)
    ``types`` is a mask of :class:`virtcore.agent.GuestInfoTypes` (0: every
    type). Keys and values as libvirt's: ``os.id``, ``os.name``... ``hostname``,
    ``timezone.name``, ``timezone.offset``, ``user.count``, ``user.0.name``...,
    ``fs.count``, ``fs.0.mountpoint``..., ``if.count``, ``if.0.name``...
    A type the agent does not support is left out, as libvirt does.

    :returns: the keys and values (``str`` or ``int``).
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_set_user_password(uuid: str, user: str, password: str, crypted: bool) -> bool | None:
    """Set ``user``'s password inside the guest (``crypted``: ``password`` is already a crypt(3) hash).

    libvirt: ``domainSetUserPassword``. Mutating. The ``password`` never
    reaches a command line or a log.

    :returns: ``True`` once set.
    :raises AgentCommandFailedError: the guest refused (e.g. no such ``user``).
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_fs_freeze(uuid: str, mountpoints: list[str] | None) -> int | None:
    """Freeze the guest's file systems (``mountpoints``, or all when ``None``).

    libvirt: ``domainFSFreeze``. Mutating.

    :returns: how many file systems were frozen.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_fs_thaw(uuid: str, mountpoints: list[str] | None) -> int | None:
    """Thaw the guest's frozen file systems (``mountpoints``, or all when ``None``).

    libvirt: ``domainFSThaw``. Mutating.

    :returns: how many file systems were thawed.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_get_time(uuid: str) -> tuple[int, int] | None:
    """The guest's clock as ``(seconds, nanoseconds)`` since the epoch.

    libvirt: ``domainGetTime``. Mutating. (It talks to the guest agent.)

    :returns: ``(seconds, nanoseconds)``.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_set_time(uuid: str, seconds: int | None, nseconds: int, sync: bool) -> bool | None:
    """Set the guest's clock to ``seconds``/``nseconds``, or (``sync``, ``seconds`` None)
    from its hardware clock.

    libvirt: ``domainSetTime``. Mutating.

    :returns: ``True`` once set.
    """


# ---------------------------------------------------------------------------
# Storage pools
# ---------------------------------------------------------------------------


@_read_only_safe
@hookspec(firstresult=True)
def virt_connect_list_all_storage_pools(active: bool | None) -> list[StoragePoolRef] | None:
    """Pools: all (``active`` None), only active (True) or only inactive (False).

    libvirt: ``connectListAllStoragePools``. Read-only safe.

    :returns: a :class:`~virtcore.storage.StoragePoolRef` per pool.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_storage_pool_lookup_by_name(name: str) -> StoragePoolRef | None:
    """The pool called ``name``.

    libvirt: ``storagePoolLookupByName``. Read-only safe.

    :raises NoStoragePoolError: no such pool (``"no storage pool with matching name 'x'"``).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_storage_pool_lookup_by_uuid(uuid: str) -> StoragePoolRef | None:
    """The pool with this canonical UUID.

    libvirt: ``storagePoolLookupByUUID``. Read-only safe.

    :raises NoStoragePoolError: no such pool.
    """


@_mutating
@hookspec(firstresult=True)
def virt_storage_pool_define_xml(xml: str) -> StoragePoolRef | None:
    """Define (or redefine) a persistent, inactive pool from ``<pool>`` XML (``xml``).

    libvirt: ``storagePoolDefineXML``. Mutating. Nothing is created on the
    host: :func:`virt_storage_pool_build` does that.

    :raises XMLError: malformed or invalid XML.
    :raises ConfigUnsupportedError: a pool type this driver does not offer
        (the message names the type).
    :raises OperationFailedError: the name or UUID belongs to another pool,
        or another pool has the same target or source.
    """


@_mutating
@hookspec(firstresult=True)
def virt_storage_pool_create_xml(xml: str, build: bool) -> StoragePoolRef | None:
    """Create and start a *transient* pool from ``xml``: it vanishes when destroyed.

    libvirt: ``storagePoolCreateXML``. Mutating. With ``build``, build it
    first (``VIR_STORAGE_POOL_CREATE_WITH_BUILD``).

    :raises XMLError, ConfigUnsupportedError, OperationFailedError: as for
        :func:`virt_storage_pool_define_xml`.
    """


@_mutating
@hookspec(firstresult=True)
def virt_storage_pool_build(uuid: str, overwrite: bool | None) -> bool | None:
    """Make the pool's storage on the host: create the target directory, format and mount, make the VG.

    libvirt: ``storagePoolBuild``. Mutating. ``overwrite`` is ``None`` for
    the default, ``True`` for ``VIR_STORAGE_POOL_BUILD_OVERWRITE`` and
    ``False`` for ``NO_OVERWRITE`` (refuse when the source already holds a
    filesystem or volume group).

    :returns: True.
    :raises OperationInvalidError: the pool is active.
    :raises StoragePoolBuiltError: ``overwrite=False`` and the source holds data.
    """


@_mutating
@hookspec(firstresult=True)
def virt_storage_pool_create(uuid: str) -> bool | None:
    """Start an inactive pool (mount, activate) and scan its volumes.

    libvirt: ``storagePoolCreate``. Mutating.

    :returns: True.
    :raises OperationInvalidError: the pool is already active
        (``"storage pool 'x' is already active"``).
    """


@_mutating
@hookspec(firstresult=True)
def virt_storage_pool_destroy(uuid: str) -> bool | None:
    """Stop an active pool (unmount, deactivate); its data stays. A transient pool vanishes.

    libvirt: ``storagePoolDestroy``. Mutating.

    :raises OperationInvalidError: the pool is not active.
    :raises ResourceBusyError: a running domain uses one of its volumes.
    """


@_mutating
@hookspec(firstresult=True)
def virt_storage_pool_delete(uuid: str) -> bool | None:
    """Remove what :func:`virt_storage_pool_build` made (the reverse of build).

    libvirt: ``storagePoolDelete``. Mutating. Refused while the pool is
    active; a directory that still holds files is not removed.

    :raises OperationInvalidError: the pool is active.
    """


@_mutating
@hookspec(firstresult=True)
def virt_storage_pool_undefine(uuid: str) -> bool | None:
    """Remove an inactive pool's persistent definition (its storage stays).

    libvirt: ``storagePoolUndefine``. Mutating.

    :raises OperationInvalidError: the pool is active.
    """


@_mutating
@hookspec(firstresult=True)
def virt_storage_pool_refresh(uuid: str) -> bool | None:
    """Rescan the pool: volumes made or removed outside virtcore appear or vanish.

    libvirt: ``storagePoolRefresh``. Mutating.

    :raises OperationInvalidError: the pool is not active.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_storage_pool_get_info(uuid: str) -> StoragePoolInfo | None:
    """The pool's state and sizes in bytes.

    libvirt: ``storagePoolGetInfo``. Read-only safe.

    :returns: a :class:`~virtcore.storage.StoragePoolInfo`.
    :raises NoStoragePoolError: unknown ``uuid``.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_storage_pool_get_xml_desc(uuid: str, inactive: bool) -> str | None:
    """The pool's ``<pool>`` XML (with ``inactive``, the persistent definition).

    libvirt: ``storagePoolGetXMLDesc``. Read-only safe.

    :returns: the document, formatted from the pool's model.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_storage_pool_get_autostart(uuid: str) -> bool | None:
    """Whether the pool starts when the host (or driver) starts.

    libvirt: ``storagePoolGetAutostart``. Read-only safe.

    :returns: True or False.
    """


@_mutating
@hookspec(firstresult=True)
def virt_storage_pool_set_autostart(uuid: str, autostart: bool) -> bool | None:
    """Set (``autostart`` True) or clear autostart.

    libvirt: ``storagePoolSetAutostart``. Mutating.

    :raises OperationInvalidError: the pool is transient.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_storage_pool_is_persistent(uuid: str) -> bool | None:
    """Whether the pool has a persistent definition.

    libvirt: ``storagePoolIsPersistent``. Read-only safe.

    :returns: True or False.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_storage_pool_list_all_volumes(uuid: str) -> list[StorageVolRef] | None:
    """Every volume of an active pool.

    libvirt: ``storagePoolListAllVolumes``. Read-only safe.

    :raises OperationInvalidError: the pool is not active.
    """


# ---------------------------------------------------------------------------
# Storage volumes
# ---------------------------------------------------------------------------


@_read_only_safe
@hookspec(firstresult=True)
def virt_storage_vol_lookup_by_name(pool_uuid: str, name: str) -> StorageVolRef | None:
    """The volume called ``name`` in the pool ``pool_uuid``.

    libvirt: ``storageVolLookupByName``. Read-only safe.

    :raises OperationInvalidError: the pool is not active.
    :raises NoStorageVolError: no such volume
        (``"no storage vol with matching name 'x'"``).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_storage_vol_lookup_by_key(key: str) -> StorageVolRef | None:
    """The volume whose key is ``key``, in any active pool.

    libvirt: ``storageVolLookupByKey``. Read-only safe.

    :raises NoStorageVolError: no such volume.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_storage_vol_lookup_by_path(path: str) -> StorageVolRef | None:
    """The volume at ``path`` (as given, or after resolving symlinks), in any active pool.

    libvirt: ``storageVolLookupByPath``. Read-only safe.

    :raises NoStorageVolError: no volume has that path.
    """


@_mutating
@hookspec(firstresult=True)
def virt_storage_vol_create_xml(pool_uuid: str, xml: str, prealloc_metadata: bool) -> StorageVolRef | None:
    """Create a volume in the active pool ``pool_uuid`` from ``<volume>`` XML (``xml``).

    libvirt: ``storageVolCreateXML``. Mutating. ``prealloc_metadata`` is
    ``VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA``. A create that fails or is
    interrupted leaves no volume that claims to be complete.

    :raises XMLError: malformed or invalid XML; a name with ``/``, NUL, a
        leading ``-`` or that is ``.``/``..``.
    :raises StorageVolExistError: the pool has a volume of that name.
    :raises OperationInvalidError: the pool is not active.
    :raises OperationFailedError: not enough free space, an unreadable backing
        store, the tool that makes it failed (its message included).
    """


@_mutating
@hookspec(firstresult=True)
def virt_storage_vol_create_xml_from(
    pool_uuid: str, xml: str, source_key: str, prealloc_metadata: bool
) -> StorageVolRef | None:
    """Create a volume in pool ``pool_uuid`` from ``xml`` holding a copy of volume ``source_key``.

    libvirt: ``storageVolCreateXMLFrom``. Mutating. Format conversion as the
    new volume's ``<target><format>`` says.

    :param prealloc_metadata: as for :func:`virt_storage_vol_create_xml`.
    :raises NoStorageVolError: no source volume.
    :raises: as :func:`virt_storage_vol_create_xml` otherwise.
    """


@_mutating
@hookspec(firstresult=True)
def virt_storage_vol_delete(key: str) -> bool | None:
    """Delete the volume ``key`` and its data.

    libvirt: ``storageVolDelete``. Mutating.

    :raises ResourceBusyError: a running domain uses it (naming the domain).
    """


@_mutating
@hookspec(firstresult=True)
def virt_storage_vol_wipe(key: str, algorithm: int) -> bool | None:
    """Overwrite the data of volume ``key`` (``algorithm``: a ``StorageVolWipeAlgorithm``).

    libvirt: ``storageVolWipe`` / ``storageVolWipePattern``. Mutating.

    :raises ArgumentUnsupportedError: an algorithm the driver does not offer.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_storage_vol_get_info(key: str) -> StorageVolInfo | None:
    """The type, capacity and allocation in bytes of volume ``key``.

    libvirt: ``storageVolGetInfo``. Read-only safe.

    :returns: a :class:`~virtcore.storage.StorageVolInfo`.
    :raises NoStorageVolError: unknown ``key`` (the volume was deleted).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_storage_vol_get_xml_desc(key: str) -> str | None:
    """The ``<volume>`` XML of volume ``key``, with current capacity and allocation.

    libvirt: ``storageVolGetXMLDesc``. Read-only safe.

    :raises NoStorageVolError: unknown ``key``.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_storage_vol_get_path(key: str) -> str | None:
    """The path on the host of volume ``key``.

    libvirt: ``storageVolGetPath``. Read-only safe.

    :raises NoStorageVolError: unknown ``key``.
    """


@_mutating
@hookspec(firstresult=True)
def virt_storage_vol_resize(
    key: str, capacity: int, delta: bool, allocate: bool, shrink: bool
) -> bool | None:
    """Change the capacity of volume ``key`` to ``capacity`` bytes (with ``delta``, by that much).

    libvirt: ``storageVolResize`` (flags DELTA, ALLOCATE, SHRINK). Mutating.

    :raises InvalidArgError: a smaller capacity without ``shrink``, or more
        than the pool's free space (with ``allocate``).
    """


@_mutating
@hookspec(firstresult=True)
def virt_storage_vol_upload(key: str, offset: int, length: int) -> UploadSink | None:
    """A sink writing raw bytes into volume ``key`` from ``offset`` (``length`` 0: to the end).

    libvirt: ``storageVolUpload`` (the data then flows through a stream).
    Mutating. The core writes chunks and calls ``finish()`` (or ``abort()``
    if the user's source failed); until ``finish()`` the volume may hold a
    partial copy, never one that claims to be complete.

    :raises ResourceBusyError: a running domain uses the volume.
    """


@_mutating
@hookspec(firstresult=True)
def virt_storage_vol_download(key: str, offset: int, length: int) -> DownloadSource | None:
    """A source reading raw bytes of volume ``key`` from ``offset`` (``length`` 0: to the end).

    libvirt: ``storageVolDownload``. Mutating. (It changes nothing, but is
    refused on read-only connections as libvirt does: it exposes guest data.)

    :returns: a :class:`~virtcore.storage.DownloadSource` whose ``size`` is
        the number of bytes it will deliver.
    :raises InvalidArgError: ``offset`` beyond the end of the volume.
    """


# ---------------------------------------------------------------------------
# Virtual networks
# ---------------------------------------------------------------------------


@_read_only_safe
@hookspec(firstresult=True)
def virt_connect_list_all_networks(active: bool | None) -> list[NetworkRef] | None:
    """Networks: all (``active`` None), only active (True) or only inactive (False).

    libvirt: ``connectListAllNetworks``. Read-only safe.

    :returns: a :class:`~virtcore.network.NetworkRef` per network.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_network_lookup_by_name(name: str) -> NetworkRef | None:
    """The network called ``name``.

    libvirt: ``networkLookupByName``. Read-only safe.

    :raises NoNetworkError: no such network (``"no network with matching name 'x'"``).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_network_lookup_by_uuid(uuid: str) -> NetworkRef | None:
    """The network with this canonical UUID.

    libvirt: ``networkLookupByUUID``. Read-only safe.

    :raises NoNetworkError: no such network (``"no network with matching uuid 'u'"``).
    """


@_mutating
@hookspec(firstresult=True)
def virt_network_define_xml(xml: str) -> NetworkRef | None:
    """Define (or redefine) a persistent network from ``<network>`` XML (``xml``).

    libvirt: ``networkDefineXML``. Mutating. A new network is inactive;
    redefining an active one keeps the new definition for its next start.

    :raises XMLError: malformed or invalid XML.
    :raises OperationFailedError: the name belongs to a network with another
        UUID (``"network 'x' is already defined with uuid u"``), or the UUID
        to a network with another name.
    """


@_mutating
@hookspec(firstresult=True)
def virt_network_create_xml(xml: str) -> NetworkRef | None:
    """Create and start a *transient* network from ``xml``: it vanishes when destroyed.

    libvirt: ``networkCreateXML``. Mutating.

    :raises OperationInvalidError: a network of that name is already active
        (``"network is already active as 'x'"``).
    :raises XMLError: as :func:`virt_network_define_xml`.
    """


@_mutating
@hookspec(firstresult=True)
def virt_network_create(uuid: str) -> bool | None:
    """Start an inactive network.

    libvirt: ``networkCreate``. Mutating.

    :raises OperationInvalidError: the network is already active
        (``"network 'x' is already active"``).
    """


@_mutating
@hookspec(firstresult=True)
def virt_network_destroy(uuid: str) -> bool | None:
    """Stop an active network; a transient network vanishes.

    libvirt: ``networkDestroy``. Mutating.

    :raises OperationInvalidError: the network is not active (``"network 'x' is not active"``).
    """


@_mutating
@hookspec(firstresult=True)
def virt_network_undefine(uuid: str) -> bool | None:
    """Remove a network's persistent definition; an active one runs on as transient.

    libvirt: ``networkUndefine``. Mutating.

    :raises OperationInvalidError: the network is transient (``"network 'x' is not persistent"``).
    """


@_mutating
@hookspec(firstresult=True)
def virt_network_update(
    uuid: str,
    command: NetworkUpdateCommand,
    section: NetworkSection,
    parent_index: int,
    xml: str,
    live: bool,
    config: bool,
) -> bool | None:
    """Change one part of a network's definition (a DHCP host, a DNS record...) without restarting it.

    libvirt: ``networkUpdate``. Mutating.

    :param command: a :class:`~virtcore.network.NetworkUpdateCommand` (add, modify, delete).
    :param section: the :class:`~virtcore.network.NetworkSection` the ``xml`` element belongs to.
    :param parent_index: which ``<ip>`` (for the DHCP sections) counts, ``-1`` for the first that fits.
    :param xml: the one element to add, modify or delete (``<host mac=... ip=.../>``).
    :param live: change the running network (libvirt's ``VIR_NETWORK_UPDATE_AFFECT_LIVE``).
    :param config: change the persistent definition (``VIR_NETWORK_UPDATE_AFFECT_CONFIG``);
        neither ``live`` nor ``config``: the current one.
    :raises ArgumentUnsupportedError: a section or command the driver does not update.
    :raises OperationInvalidError: ``live`` on an inactive or ``config`` on a transient network.
    :raises XMLError: ``xml`` is not such an element, or the change conflicts (an existing host).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_network_get_xml_desc(uuid: str, inactive: bool) -> str | None:
    """The network's ``<network>`` XML (with ``inactive``, the persistent definition).

    libvirt: ``networkGetXMLDesc``. Read-only safe.

    :returns: the document, formatted from the network's model.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_network_get_autostart(uuid: str) -> bool | None:
    """Whether the network starts when the host (or driver) starts.

    libvirt: ``networkGetAutostart``. Read-only safe.

    :returns: True or False.
    """


@_mutating
@hookspec(firstresult=True)
def virt_network_set_autostart(uuid: str, autostart: bool) -> bool | None:
    """Set (``autostart`` True) or clear autostart.

    libvirt: ``networkSetAutostart``. Mutating.

    :raises OperationInvalidError: the network is transient
        (``"cannot set autostart for transient network"``).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_network_is_active(uuid: str) -> bool | None:
    """Whether the network is running.

    libvirt: ``networkIsActive``. Read-only safe.

    :returns: True or False.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_network_is_persistent(uuid: str) -> bool | None:
    """Whether the network has a persistent definition.

    libvirt: ``networkIsPersistent``. Read-only safe.

    :returns: True or False.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_network_get_bridge_name(uuid: str) -> str | None:
    """The name of the network's host bridge (``virbr0``).

    libvirt: ``networkGetBridgeName``. Read-only safe.

    :raises InternalError: the network has no bridge name (``"network 'x' does not have a bridge name."``).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_network_get_dhcp_leases(uuid: str, mac: str | None) -> list[NetworkDHCPLease] | None:
    """The DHCP leases the network's server handed out and that have not expired.

    libvirt: ``networkGetDHCPLeases``. Read-only safe.

    :param mac: only the leases of this MAC address (lowercase ``52:54:00:..``), or ``None`` for all.
    :returns: a :class:`~virtcore.network.NetworkDHCPLease` per lease (empty when there are none).
    """


# ---------------------------------------------------------------------------
# Domain snapshots
# ---------------------------------------------------------------------------


@_mutating
@hookspec(firstresult=True)
def virt_domain_snapshot_create_xml(
    uuid: str,
    xml: str,
    disk_only: bool,
    quiesce: bool,
    live: bool,
    redefine: bool,
    current: bool,
    no_metadata: bool,
    halt: bool,
    atomic: bool,
    reuse_ext: bool,
) -> SnapshotRef | None:
    """Take a snapshot of the domain described by ``<domainsnapshot>`` XML, or redefine one.

    libvirt: ``domainSnapshotCreateXML``. Mutating. A new snapshot records the
    domain's state (``running``, ``paused``, ``shutoff``...) and a copy of its
    definition, is named after its creation time when the XML gives no name,
    becomes a child of the current snapshot and then the current one itself.
    Drivers read ``xml`` with :func:`virtcore.xml.parse_snapshot` (``redefine``
    as given).

    :param xml: the ``<domainsnapshot>`` document.
    :param disk_only: the disks only (external), no memory (``VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY``).
    :param quiesce: freeze the guest's file systems through its agent first (``_QUIESCE``).
    :param live: keep the guest running while its memory is saved (``_LIVE``).
    :param redefine: ``xml`` is the full metadata of a snapshot to restore (``_REDEFINE``): nothing
        is taken; a snapshot of that name is replaced.
    :param current: with ``redefine``, make it the current snapshot (``_CURRENT``).
    :param no_metadata: take the snapshot without keeping its metadata (``_NO_METADATA``).
    :param halt: stop the domain once the snapshot is taken (``_HALT``).
    :param atomic: all disks or none (``_ATOMIC``).
    :param reuse_ext: external files named in ``xml`` exist already and are reused (``_REUSE_EXT``).
    :returns: the new snapshot's :class:`~virtcore.snapshot.SnapshotRef`.
    :raises XMLError: malformed XML or an invalid snapshot name.
    :raises OperationFailedError: a snapshot of that name exists (``"domain moment s1 already exists"``).
    :raises OperationInvalidError: ``halt`` on a transient domain.
    :raises InvalidArgError: a flag the driver does not support (``"unsupported flags (0x10) ..."``).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_list_all_snapshots(
    uuid: str,
    roots: bool,
    leaves: bool | None,
    metadata: bool | None,
    states: frozenset[str] | None,
    location: str | None,
    topological: bool,
) -> list[SnapshotRef] | None:
    """The domain's snapshots, filtered as libvirt's ``VIR_DOMAIN_SNAPSHOT_LIST_*`` flags filter.

    libvirt: ``domainListAllSnapshots``. Read-only safe. Listed oldest first
    (so every parent comes before its children, which ``topological`` asks for).

    :param roots: only snapshots without a parent (``_ROOTS``).
    :param leaves: True: only those without children (``_LEAVES``); False: only those with
        (``_NO_LEAVES``); None: both.
    :param metadata: True: only those with metadata (``_METADATA``); False: only those
        without (``_NO_METADATA``); None: both.
    :param states: ``None`` or some of ``inactive`` (taken of a shut-off domain), ``active``
        (with memory) and ``disk-only``: only snapshots of those kinds.
    :param location: ``None``, ``internal`` or ``external`` (``_INTERNAL``, ``_EXTERNAL``).
    :param topological: parents before children (``_TOPOLOGICAL``).
    :returns: a :class:`~virtcore.snapshot.SnapshotRef` per snapshot.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_snapshot_list_all_children(
    uuid: str,
    name: str,
    descendants: bool,
    leaves: bool | None,
    metadata: bool | None,
    states: frozenset[str] | None,
    location: str | None,
    topological: bool,
) -> list[SnapshotRef] | None:
    """The children of snapshot ``name`` (``descendants``: its whole subtree), filtered.

    libvirt: ``domainSnapshotListAllChildren``. Read-only safe. The filters
    ``leaves``, ``metadata``, ``states``, ``location`` and ``topological`` are
    those of :func:`virt_domain_list_all_snapshots`.

    :param name: the snapshot.
    :param descendants: all descendants, not only children (``VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS``).
    :returns: a :class:`~virtcore.snapshot.SnapshotRef` per snapshot.
    :raises NoDomainSnapshotError: no snapshot ``name``.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_snapshot_lookup_by_name(uuid: str, name: str) -> SnapshotRef | None:
    """The domain's snapshot called ``name``.

    libvirt: ``domainSnapshotLookupByName``. Read-only safe.

    :raises NoDomainSnapshotError: no such snapshot (``"no domain snapshot with matching name 'x'"``).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_has_current_snapshot(uuid: str) -> bool | None:
    """Whether the domain has a current snapshot.

    libvirt: ``domainHasCurrentSnapshot``. Read-only safe.

    :returns: True or False.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_snapshot_current(uuid: str) -> SnapshotRef | None:
    """The domain's current snapshot: the one it last took or reverted to.

    libvirt: ``domainSnapshotCurrent``. Read-only safe.

    :raises NoDomainSnapshotError: none (``"the domain does not have a current snapshot"``).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_snapshot_get_parent(uuid: str, name: str) -> SnapshotRef | None:
    """The parent of snapshot ``name``.

    libvirt: ``domainSnapshotGetParent``. Read-only safe.

    :raises NoDomainSnapshotError: no snapshot ``name``, or it is a root
        (``"snapshot 'x' does not have a parent"``).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_snapshot_get_xml_desc(uuid: str, name: str, secure: bool) -> str | None:
    """Snapshot ``name``'s ``<domainsnapshot>`` XML, with the definition it was taken of.

    libvirt: ``domainSnapshotGetXMLDesc``. Read-only safe.

    :param secure: include secrets (passwords) of the embedded definition
        (``VIR_DOMAIN_SNAPSHOT_XML_SECURE``); the core refuses it on read-only connections.
    :returns: the document (state, parent, creationTime, memory, disks, domain).
    :raises NoDomainSnapshotError: no snapshot ``name``.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_snapshot_is_current(uuid: str, name: str) -> bool | None:
    """Whether snapshot ``name`` is the domain's current snapshot.

    libvirt: ``domainSnapshotIsCurrent``. Read-only safe.

    :raises NoDomainSnapshotError: no snapshot ``name``.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_snapshot_has_metadata(uuid: str, name: str) -> bool | None:
    """Whether the driver keeps metadata for snapshot ``name`` (it could be deleted with ``metadata_only``).

    libvirt: ``domainSnapshotHasMetadata``. Read-only safe.

    :raises NoDomainSnapshotError: no snapshot ``name``.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_revert_to_snapshot(
    uuid: str, name: str, running: bool, paused: bool, force: bool
) -> bool | None:
    """Bring the domain back to snapshot ``name``: its definition, disks and (running) state.

    libvirt: ``domainRevertToSnapshot``. Mutating. The domain ends in the state
    the snapshot was taken in (shut off, running or paused), unless ``running``
    or ``paused`` asks otherwise; the snapshot becomes the current one. Emits the
    lifecycle events of the transition (``FROM_SNAPSHOT`` details).

    :param name: the snapshot.
    :param running: leave the domain running (``VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING``).
    :param paused: leave it paused (``_PAUSED``); never both (the core refuses that).
    :param force: go on where reverting is risky (``_FORCE``).
    :returns: True.
    :raises NoDomainSnapshotError: no snapshot ``name``.
    :raises SnapshotRevertRiskyError: without ``force``: the snapshot lacks the
        definition, or the running guest must be respawned to start an inactive snapshot.
    :raises OperationInvalidError: a transient domain reverting to an inactive
        snapshot without ``running`` or ``paused``.
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_snapshot_delete(
    uuid: str,
    name: str,
    children: bool,
    children_only: bool,
    metadata_only: bool,
    progress: Callable[[int, int], None] | None,
) -> bool | None:
    """Delete snapshot ``name`` (and its data), its descendants, or both.

    libvirt: ``domainSnapshotDelete``. Mutating. Without ``children`` its
    children move to its parent; a deleted current snapshot passes "current" to
    its parent.

    :param name: the snapshot.
    :param children: also delete its descendants (``VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN``).
    :param children_only: delete only its descendants (``_CHILDREN_ONLY``).
    :param metadata_only: forget the metadata, leaving the data (``_METADATA_ONLY``).
    :param progress: ``progress(done, total)`` while an external snapshot's overlay is merged back
        into its base (a block commit; ``None``: not reported). Drivers without merges ignore it.
    :returns: True.
    :raises NoDomainSnapshotError: no snapshot ``name``.
    """


# ---------------------------------------------------------------------------
# Domain checkpoints
# ---------------------------------------------------------------------------


@_mutating
@hookspec(firstresult=True)
def virt_domain_checkpoint_create_xml(uuid: str, xml: str) -> str | None:
    """Take a checkpoint of the running domain from ``<domaincheckpoint>`` XML.

    libvirt: ``domainCheckpointCreateXML``. Mutating. The new checkpoint's parent
    is the domain's last one; a checkpoint without a name gets its creation time
    as name; without ``<disks>`` every disk gets a bitmap named as it.

    :returns: the new checkpoint's name.
    :param xml: the ``<domaincheckpoint>`` document.
    :raises XMLError: malformed XML, another root element, a bad name.
    :raises OperationUnsupportedError: the domain is not running
        (``"cannot create checkpoint for inactive domain"``).
    :raises OperationFailedError: the name exists (``"domain moment x already exists"``).
    :raises ConfigUnsupportedError: a disk the domain lacks (``"no disk named 'x'"``).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_list_all_checkpoints(uuid: str) -> list[str] | None:
    """The names of the domain's checkpoints, oldest first.

    libvirt: ``domainListAllCheckpoints``. Read-only safe.

    :returns: the names (empty when none).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_checkpoint_lookup_by_name(uuid: str, name: str) -> str | None:
    """The checkpoint called ``name``.

    libvirt: ``domainCheckpointLookupByName``. Read-only safe.

    :returns: ``name``.
    :raises NoDomainCheckpointError: none (``"no domain checkpoint with matching name 'x'"``).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_checkpoint_get_xml_desc(uuid: str, name: str, no_domain: bool) -> str | None:
    """The checkpoint's ``<domaincheckpoint>`` XML.

    libvirt: ``domainCheckpointGetXMLDesc``. Read-only safe.

    :param name: the checkpoint's name.
    :param no_domain: leave out the embedded domain definition.
    :raises NoDomainCheckpointError: no such checkpoint.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_domain_checkpoint_get_parent(uuid: str, name: str) -> str | None:
    """The name of the checkpoint's parent.

    libvirt: ``domainCheckpointGetParent``. Read-only safe.

    :param name: the checkpoint's name.
    :raises NoDomainCheckpointError: no such checkpoint, or it has no parent
        (``"checkpoint 'x' does not have a parent"``).
    """


@_mutating
@hookspec(firstresult=True)
def virt_domain_checkpoint_delete(uuid: str, name: str, children: bool) -> bool | None:
    """Delete a checkpoint (with ``children``: and its descendants); its children move to its parent.

    libvirt: ``domainCheckpointDelete``. Mutating.

    :param name: the checkpoint's name.
    :raises NoDomainCheckpointError: no such checkpoint.
    """


# ---------------------------------------------------------------------------
# Host (node) devices
# ---------------------------------------------------------------------------


@_read_only_safe
@hookspec(firstresult=True)
def virt_connect_list_all_node_devices(cap: str | None) -> list[NodeDeviceRef] | None:
    """The host's devices; with ``cap``, only those having that capability.

    libvirt: ``connectListAllNodeDevices`` (and ``nodeListDevices``). Read-only safe.

    :param cap: a capability name (:data:`~virtcore.nodedev.NODE_DEVICE_CAPS`; one no device
        has matches nothing), or ``None`` for all. A device has a capability when its XML
        has it at the top, or nested in its ``scsi_host`` capability (``fc_host``,
        ``vports``: as libvirt matches).
    :returns: a :class:`~virtcore.nodedev.NodeDeviceRef` per device.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_node_device_lookup_by_name(name: str) -> NodeDeviceRef | None:
    """The device called ``name``.

    libvirt: ``nodeDeviceLookupByName``. Read-only safe.

    :raises NoNodeDeviceError: no such device (``"no node device with matching name 'x'"``).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_node_device_get_xml_desc(name: str) -> str | None:
    """The device's ``<device>`` XML.

    libvirt: ``nodeDeviceGetXMLDesc``. Read-only safe.

    :param name: the device's name.
    :raises NoNodeDeviceError: no such device.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_node_device_get_parent(name: str) -> str | None:
    """The name of the device's parent, or ``""`` when it has none (a root device).

    libvirt: ``nodeDeviceGetParent``. Read-only safe. (libvirt's C API reports a
    root's missing parent as an error and libvirt-python returns ``None``; here
    ``""`` says it, since ``None`` declines.)

    :param name: the device's name.
    :raises NoNodeDeviceError: no such device.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_node_device_list_caps(name: str) -> list[str] | None:
    """The device's top-level capability names, in its XML's order (``['scsi_host']``).

    libvirt: ``nodeDeviceListCaps`` (and ``nodeDeviceNumOfCaps``). Read-only safe.

    :param name: the device's name.
    :raises NoNodeDeviceError: no such device.
    """


@_mutating
@hookspec(firstresult=True)
def virt_node_device_create_xml(xml: str) -> NodeDeviceRef | None:
    """Create a device from ``<device>`` XML: a virtual HBA (vHBA).

    libvirt: ``nodeDeviceCreateXML``. Mutating. The XML names a ``parent`` (a
    ``scsi_host`` able to host vports) and a ``scsi_host`` capability with an
    ``fc_host`` capability giving the ``wwnn`` and ``wwpn`` of the new vHBA.

    :param xml: the ``<device>`` document.
    :raises XMLError: malformed XML, or XML that describes no vHBA.
    :raises NoNodeDeviceError: the parent does not exist.
    :raises OperationFailedError: the parent cannot host a vHBA.
    """


@_mutating
@hookspec(firstresult=True)
def virt_node_device_destroy(name: str) -> bool | None:
    """Destroy a device made by :func:`virt_node_device_create_xml` (a vHBA).

    libvirt: ``nodeDeviceDestroy``. Mutating.

    :param name: the device's name.
    :raises NoNodeDeviceError: no such device.
    :raises InvalidArgError: the device is not a vHBA (it has no ``fc_host`` WWNs).
    """


# ---------------------------------------------------------------------------
# Host interfaces
# ---------------------------------------------------------------------------


@_read_only_safe
@hookspec(firstresult=True)
def virt_connect_list_all_interfaces(active: bool | None) -> list[InterfaceRef] | None:
    """Host interfaces: all (``active`` None), only active (True) or only inactive (False).

    libvirt: ``connectListAllInterfaces``. Read-only safe.

    :returns: an :class:`~virtcore.interface.InterfaceRef` per interface.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_interface_lookup_by_name(name: str) -> InterfaceRef | None:
    """The host interface called ``name``.

    libvirt: ``interfaceLookupByName``. Read-only safe.

    :raises NoInterfaceError: no such interface (``"no interface with matching name 'x'"``).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_interface_lookup_by_mac_string(mac: str) -> InterfaceRef | None:
    """The host interface with MAC address ``mac`` (lowercase: compare without case).

    libvirt: ``interfaceLookupByMACString``. Read-only safe.

    :raises NoInterfaceError: none has it (``"no interface with matching mac 'm'"``); when
        several have it, the first defined answers (as libvirt's test driver).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_interface_get_xml_desc(name: str, inactive: bool) -> str | None:
    """The interface's ``<interface>`` XML (``inactive``: its configuration).

    libvirt: ``interfaceGetXMLDesc``. Read-only safe.

    :param name: the interface's name.
    :raises NoInterfaceError: no such interface.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_interface_is_active(name: str) -> bool | None:
    """Whether the interface is up.

    libvirt: ``interfaceIsActive``. Read-only safe.

    :param name: the interface's name.
    :raises NoInterfaceError: no such interface.
    """


@_mutating
@hookspec(firstresult=True)
def virt_interface_define_xml(xml: str) -> InterfaceRef | None:
    """Define (or redefine, by name) a host interface from ``<interface>`` XML.

    libvirt: ``interfaceDefineXML``. Mutating. A new interface is inactive.

    :param xml: the ``<interface>`` document.
    :raises XMLError: malformed or invalid XML (no name, an unknown type...).
    """


@_mutating
@hookspec(firstresult=True)
def virt_interface_undefine(name: str) -> bool | None:
    """Remove the interface's configuration.

    libvirt: ``interfaceUndefine``. Mutating.

    :param name: the interface's name.
    :raises NoInterfaceError: no such interface.
    """


@_mutating
@hookspec(firstresult=True)
def virt_interface_create(name: str) -> bool | None:
    """Bring the interface up.

    libvirt: ``interfaceCreate``. Mutating.

    :param name: the interface's name.
    :raises NoInterfaceError: no such interface.
    :raises OperationInvalidError: it is up already.
    """


@_mutating
@hookspec(firstresult=True)
def virt_interface_destroy(name: str) -> bool | None:
    """Bring the interface down.

    libvirt: ``interfaceDestroy``. Mutating.

    :param name: the interface's name.
    :raises NoInterfaceError: no such interface.
    :raises OperationInvalidError: it is down already.
    """


# ---------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------


@_read_only_safe
@hookspec(firstresult=True)
def virt_connect_list_all_secrets() -> list[SecretRef] | None:
    """Every secret.

    libvirt: ``connectListAllSecrets``. Read-only safe.

    :returns: a :class:`~virtcore.secret.SecretRef` per secret.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_secret_lookup_by_uuid(uuid: str) -> SecretRef | None:
    """The secret with this canonical UUID.

    libvirt: ``secretLookupByUUID``. Read-only safe.

    :raises NoSecretError: no such secret (``"no secret with matching uuid 'u'"``).
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_secret_lookup_by_usage(usage_type: SecretUsageType, usage_id: str) -> SecretRef | None:
    """The secret of usage ``usage_type`` whose usage id is ``usage_id``.

    libvirt: ``secretLookupByUsage``. Read-only safe.

    :raises NoSecretError: none (``"no secret with matching usage 'id'"``).
    """


@_mutating
@hookspec(firstresult=True)
def virt_secret_define_xml(xml: str) -> SecretRef | None:
    """Define a secret from ``<secret>`` XML, or redefine the one with its UUID (its value is kept).

    libvirt: ``secretDefineXML``. Mutating. A secret without a ``<uuid>`` gets a new one.

    :param xml: the ``<secret>`` document.
    :raises XMLError: malformed or invalid XML.
    :raises InternalError: the usage belongs to another secret (``"a secret with UUID u is
        already defined for use with id"``), or a redefinition changes ``private``.
    """


@_read_only_safe
@hookspec(firstresult=True)
def virt_secret_get_xml_desc(uuid: str) -> str | None:
    """The secret's ``<secret>`` XML (never its value).

    libvirt: ``secretGetXMLDesc``. Read-only safe.

    :raises NoSecretError: no such secret.
    """


@_mutating
@hookspec(firstresult=True)
def virt_secret_set_value(uuid: str, value: bytes) -> bool | None:
    """Set the secret's value (at most :data:`~virtcore.secret.MAX_SECRET_VALUE` bytes, checked by the core).

    libvirt: ``secretSetValue``. Mutating.

    :param value: the new value, bytes.
    :raises NoSecretError: no such secret.
    """


@_mutating
@hookspec(firstresult=True)
def virt_secret_get_value(uuid: str) -> bytes | None:
    """The secret's value.

    libvirt: ``secretGetValue``. Mutating. (It changes nothing, but a read-only
    connection is refused it, as libvirt refuses it: the value is privileged.)

    :raises NoSecretError: no such secret, or it has no value (``"secret 'u' does not have a value"``).
    :raises InvalidSecretError: the secret is private (``"secret is private"``).
    """


@_mutating
@hookspec(firstresult=True)
def virt_secret_undefine(uuid: str) -> bool | None:
    """Remove the secret and its value.

    libvirt: ``secretUndefine``. Mutating.

    :raises NoSecretError: no such secret.
    """


# ---------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------


@_read_only_safe
@hookspec
def virt_domain_event(event: AnyDomainEvent | AnyObjectEvent) -> None:
    """A domain event (or another object's event) happened: every implementation is called (broadcast).

    libvirt: the ``domainEventRegisterAny`` callbacks. ``event`` is a
    :class:`~virtcore.types.DomainEvent` when the lifecycle changed, else a
    record of :mod:`virtcore.events` (``virtcore.events.event_ids(event)``
    tells which ``VIR_DOMAIN_EVENT_ID_*`` it answers); an observer that wants
    only lifecycle changes checks ``isinstance(event, DomainEvent)``. A network's,
    storage pool's, node device's or secret's event is a record of
    :mod:`virtcore.objevents` (``virtcore.objevents.event_key(event)`` tells
    its kind and id). Drivers do not
    implement this to *report* events (they call the ``emit`` they got in
    :func:`virt_connect_open`); observers implement it to *receive* them. The
    core implements it to call the user's callbacks. Read-only safe.

    A driver whose guests other processes can change too states what reaches
    a process of their changes (virt-qemu: its README, "Events across
    processes": every change of the process itself exactly once and in order;
    other processes' changes possibly coalesced, never invented, ending on the
    real state).

    :param event: the :class:`~virtcore.types.DomainEvent` or :mod:`virtcore.events` record.
    :returns: nothing; must not raise.
    """


@_read_only_safe
@hookspec
def virt_domain_users_of_path(path: str) -> list[str] | None:
    """The active domains using the file or block device ``path``: every implementation is called (broadcast).

    libvirt: no driver entry (libvirt's storage driver does not ask; a
    client finds a volume's users by reading every running domain's XML).
    Internal: the core calls it when a driver calls the ``users_of_path`` it
    got in :func:`virt_connect_open`; users never do. Read-only safe.

    A hypervisor driver implements it from its *live* definitions (what the
    running guests really have open, not the persistent configuration): a
    domain uses ``path`` when a disk's source is ``path``, when a
    ``type='volume'`` disk resolved to ``path`` when the domain started, or
    when ``path`` is in the backing chain of such a disk's image as far as
    the driver knows it. Paths are compared after ``os.path.realpath`` on
    both sides. Domains of every process sharing the driver's state count,
    not only those this connection started. It must not call into storage
    (the caller may hold the storage driver's lock).

    :param path: an absolute path (a storage volume's).
    :returns: the names of those domains (``[]`` or ``None`` when none).
    :raises OperationFailedError: the driver cannot tell (its state is
        unreadable): the caller then refuses rather than guess.
    """


#: Every hook of the contract by name (``virt_connect_open``, ``virt_domain_suspend``...),
#: mapped to whether it mutates: the one list the core and the driver checks read.
HOOKS: dict[str, bool] = {
    _name: bool(getattr(_fn, MUTATING_ATTR))
    for _name, _fn in sorted(globals().items())
    if _name.startswith("virt_") and callable(_fn)
}

#: Hooks a user never calls directly (the core calls them, or drivers call ``emit``):
#: they are not *operations*.
_INTERNAL_HOOKS = frozenset(
    {"virt_connect_open", "virt_connect_close", "virt_domain_event", "virt_domain_users_of_path"}
)

#: Every operation (a hook name without ``virt_``: ``domain_suspend``...) mapped to whether
#: it mutates: what a connection dispatches, ``supports()`` and ``virtcore drivers`` list.
OPERATIONS: dict[str, bool] = {
    _name.removeprefix("virt_"): _mutating
    for _name, _mutating in HOOKS.items()
    if _name not in _INTERNAL_HOOKS
}
