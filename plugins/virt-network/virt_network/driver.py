"""The network driver's hooks: the virtual networks of one layout, for one connection.

:class:`NetworkDriver` answers the network hooks of :mod:`virtcore.hookspecs`
over a :class:`~virt_network.state.NetworkStore` (definitions as files) and
:mod:`virt_network.host` (bridges, dnsmasq, nftables). Every change takes the
layout's state lock and first removes what an interrupted start or a dead
network left on the host (:meth:`NetworkDriver.reap`); reads see the files as
they are, a network whose dnsmasq died answering as inactive.

Definitions are checked at define, before anything is written: the model's
checks (names, addresses, DHCP ranges inside their subnet, unicast MACs, DNS
strings dnsmasq could misread), a bridge name of ``[A-Za-z0-9_.:-]``, and no
subnet overlapping another network's. Starting needs root; without it
``start`` is ``NoSupportError`` saying so, and definitions still work.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import attrs

from virt_network import host
from virt_network.dnsmasq import dnsmasq_files, parse_leases
from virt_network.state import NetworkRecord, NetworkStore
from virtcore import hookimpl, objevents
from virtcore.errors import (
    ErrorDomain,
    InternalError,
    NoNetworkError,
    NoSupportError,
    OperationFailedError,
    OperationInvalidError,
    VirtError,
    XMLError,
)
from virtcore.network import NetworkDHCPLease, NetworkRef, NetworkSection, NetworkUpdateCommand
from virtcore.xml import NetworkDef, parse_network
from virtcore.xml.network import Bridge

__all__ = ["NetworkDriver"]

_NET = ErrorDomain.NETWORK
#: Modes this driver runs: a bridge of its own (isolated, nat, route, open) or an existing one.
_MODES = (None, "nat", "route", "open", "bridge")


def _ref(d: NetworkDef) -> NetworkRef:
    return NetworkRef(d.name, d.uuid)


def _no_network(by: str, value: str) -> NoNetworkError:
    return NoNetworkError(f"no network with matching {by} '{value}'", domain=_NET)


class NetworkDriver:
    """The network hooks for one connection to one layout."""

    def __init__(self, store: NetworkStore) -> None:
        self.store = store
        #: The connection's ``emit``: network events go to the connection this driver serves.
        self._emit: Callable[[objevents.AnyObjectEvent], None] | None = None

    @hookimpl
    def virt_connect_open(self, emit: Callable[[objevents.AnyObjectEvent], None]) -> None:
        """Keep the connection's ``emit`` (network events)."""
        self._emit = emit

    @hookimpl
    def virt_connect_close(self) -> None:
        """Forget the connection's ``emit``."""
        self._emit = None

    def _event(self, d: NetworkDef, event: str) -> None:
        """Report a network event where libvirt's network driver queues one (``event``: a
        ``NetworkEventLifecycleType`` name)."""
        emit = self._emit
        if emit is not None:
            emit(objevents.NetworkLifecycleEvent(_ref(d), objevents.NetworkEventLifecycleType[event]))

    # -- liveness --------------------------------------------------------------

    def _running(self, record: NetworkRecord) -> bool:
        return record.live is not None and record.host is not None and host.is_running(record.host)

    def _view(self, record: NetworkRecord) -> NetworkRecord:
        """``record`` as users see it: a network whose dnsmasq or bridge is gone is not active."""
        if record.live is not None and not self._running(record):
            return attrs.evolve(record, live=None)
        return record

    def _records(self) -> dict[str, NetworkRecord]:
        return {
            n: v
            for n, r in self.store.networks().items()
            if (v := self._view(r)).live or v.config is not None
        }

    def _by_uuid(self, uuid: str) -> NetworkRecord:
        record = self._view(self.store.by_uuid(uuid))
        if record.live is None and record.config is None:  # a transient network that died
            raise _no_network("uuid", uuid)
        return record

    def reap(self) -> None:
        """Remove what dead networks and interrupted starts left on the host (call with the lock held)."""
        for name, record in self.store.load().items():
            if record.host is not None and not self._running(record):
                host.teardown(record.host)
                self.store.remove_live(name)
            elif record.host is None and record.live is not None:
                self.store.remove_live(name)  # a live definition without a host record: nothing runs

    # -- finding ---------------------------------------------------------------

    @hookimpl
    def virt_connect_list_all_networks(self, active: bool | None) -> list[NetworkRef]:
        """Networks, filtered by state, in name order."""
        return [_ref(r.current) for r in self._records().values() if active is None or r.active == active]

    @hookimpl
    def virt_network_lookup_by_name(self, name: str) -> NetworkRef:
        """The network called ``name``."""
        record = self._records().get(name)
        if record is None:
            raise _no_network("name", name)
        return _ref(record.current)

    @hookimpl
    def virt_network_lookup_by_uuid(self, uuid: str) -> NetworkRef:
        """The network with this UUID."""
        return _ref(self._by_uuid(uuid).current)

    # -- defining --------------------------------------------------------------

    def _parse(self, xml: str) -> NetworkDef:
        d = parse_network(xml)
        if d.name.startswith("."):
            raise XMLError(f"network name '{d.name}' cannot start with '.'")
        if d.mode not in _MODES:
            raise NoSupportError(f"forward mode '{d.mode}' of network '{d.name}'", domain=_NET)
        if d.mode == "bridge" and (d.bridge is None or not d.bridge.name):
            raise OperationFailedError(
                f"network '{d.name}': forward mode 'bridge' needs <bridge name='...'/>", domain=_NET
            )
        if d.bridge is not None and d.bridge.name:
            host.check_bridge_name(d.bridge.name, d.name)
        dnsmasq_files(d, "/")  # every line dnsmasq would read can be written
        return d

    def _with_bridge(self, d: NetworkDef, records: dict[str, NetworkRecord]) -> NetworkDef:
        """``d`` with a bridge name: its own, the one it had, or the first free ``vcbrN``."""
        if d.bridge is not None and d.bridge.name:
            return d
        same = records.get(d.name)
        if same is not None and same.current.bridge is not None and same.current.bridge.name:
            name = same.current.bridge.name
        else:
            taken = {r.current.bridge.name for r in records.values() if r.current.bridge is not None}
            name = next(f"vcbr{i}" for i in range(len(taken) + 1) if f"vcbr{i}" not in taken)
        bridge = (
            attrs.evolve(d.bridge, name=name)
            if d.bridge is not None
            else Bridge(name=name, stp=True, delay=0)
        )
        return attrs.evolve(d, bridge=bridge)

    def _check_unique(self, d: NetworkDef, records: dict[str, NetworkRecord]) -> NetworkRecord | None:
        """The record ``d`` redefines (same name and UUID), refusing a clash with another network."""
        same = records.get(d.name)
        if same is not None and same.current.uuid != d.uuid:
            raise OperationFailedError(
                f"network '{d.name}' already exists with uuid {same.current.uuid}", domain=_NET
            )
        for name, other in records.items():
            if name == d.name:
                continue
            for theirs in filter(None, (other.config, other.live)):
                self._check_against(d, name, theirs)
        return same

    @staticmethod
    def _check_against(d: NetworkDef, name: str, theirs: NetworkDef) -> None:
        if theirs.uuid == d.uuid:
            raise OperationFailedError(f"network '{name}' is already defined with uuid {d.uuid}", domain=_NET)
        mine_br = d.bridge.name if d.bridge is not None else None
        if mine_br and theirs.bridge is not None and theirs.bridge.name == mine_br and d.mode != "bridge":
            raise OperationFailedError(
                f"bridge name '{mine_br}' of network '{d.name}' is already used by network '{name}'",
                domain=_NET,
            )
        for ip in d.ips:
            for other in theirs.ips:
                if ip.network.version == other.network.version and ip.network.overlaps(other.network):
                    raise OperationFailedError(
                        f"subnet {ip.network} of network '{d.name}' overlaps subnet {other.network}"
                        f" of network '{name}'",
                        domain=_NET,
                    )

    @hookimpl
    def virt_network_define_xml(self, xml: str) -> NetworkRef:
        """Define (or redefine) a persistent network; nothing is written when it is refused."""
        d = self._parse(xml)
        with self.store.lock.held():
            self.reap()
            records = self.store.networks()
            d = self._with_bridge(d, records)
            self._check_unique(d, records)
            self.store.save_config(d)
        self._event(d, "DEFINED")
        return _ref(d)

    @hookimpl
    def virt_network_create_xml(self, xml: str) -> NetworkRef:
        """Create and start a transient network."""
        d = self._parse(xml)
        with self.store.lock.held():
            self.reap()
            records = self.store.networks()
            d = self._with_bridge(d, records)
            same = self._check_unique(d, records)
            if same is not None and same.active:
                raise OperationInvalidError(f"network is already active as '{d.name}'", domain=_NET)
            self._start(d)
        self._event(d, "STARTED")
        return _ref(d)

    @hookimpl
    def virt_network_undefine(self, uuid: str) -> bool:
        """Remove the persistent definition; an active network runs on as transient."""
        with self.store.lock.held():
            self.reap()
            record = self.store.by_uuid(uuid)
            if not record.persistent:
                raise OperationInvalidError(f"network '{record.current.name}' is not persistent", domain=_NET)
            self.store.remove_config(record.current.name)
        self._event(record.current, "UNDEFINED")
        return True

    # -- running ---------------------------------------------------------------

    def _start(self, d: NetworkDef) -> None:
        """Bring ``d`` up (lock held, leftovers reaped, not active)."""
        if not self.store.layout.can_run:
            why = (
                "a session connection keeps definitions only"
                if self.store.layout.kind == "session"
                else ("this process is not root")
            )
            raise NoSupportError(
                f"starting network '{d.name}' needs root to make its bridge, run dnsmasq and add"
                f" firewall rules ({why})",
                domain=_NET,
            )
        for name, other in self.store.networks().items():
            if name != d.name and other.live is not None:
                self._check_against(d, name, other.live)
        rec = host.plan(d, self.store.layout.dnsmasq)
        host.preflight(d, rec)  # a refusal here touches nothing (the bridge may be another tool's)
        self.store.save_host(d.name, rec)  # first: a process killed from here on leaves a record
        try:
            host.bring_up(d, rec)
        except BaseException:
            self.store.remove_live(d.name)
            raise
        self.store.save_live(d)

    @hookimpl
    def virt_network_create(self, uuid: str) -> bool:
        """Start the network."""
        with self.store.lock.held():
            self.reap()
            record = self.store.by_uuid(uuid)
            if record.active:
                raise OperationInvalidError(f"network '{record.current.name}' is already active", domain=_NET)
            assert record.config is not None
            self._start(record.config)
        self._event(record.config, "STARTED")
        return True

    @hookimpl
    def virt_network_destroy(self, uuid: str) -> bool:
        """Stop the network (a transient one vanishes); what it made on the host goes."""
        with self.store.lock.held():
            self.reap()
            record = self.store.by_uuid(uuid)
            if not record.active or record.host is None:
                raise OperationInvalidError(f"network '{record.current.name}' is not active", domain=_NET)
            host.teardown(record.host)
            self.store.remove_live(record.current.name)
        self._event(record.current, "STOPPED")
        return True

    def autostart_all(self) -> None:
        """Start every autostart network that is inactive; one that fails stays inactive."""
        with self.store.lock.held():
            self.reap()
            for record in self.store.networks().values():
                if record.autostart and not record.active and record.config is not None:
                    try:
                        self._start(record.config)
                    except VirtError:
                        continue

    # -- changing --------------------------------------------------------------

    @hookimpl
    def virt_network_update(
        self,
        uuid: str,
        command: NetworkUpdateCommand,
        section: NetworkSection,
        parent_index: int,
        xml: str,
        live: bool,
        config: bool,
    ) -> bool:
        """Change one element of the live and/or persistent definition (dnsmasq rereads its hosts)."""
        from virtcore.netupdate import update_definition

        with self.store.lock.held():
            self.reap()
            record = self.store.by_uuid(uuid)
            if not live and not config:
                live, config = record.active, not record.active
            if live and not record.active:
                raise OperationInvalidError("network is not running", domain=_NET)
            if config and not record.persistent:
                raise OperationInvalidError(
                    "cannot change persistent config of a transient network", domain=_NET
                )
            new_live = (
                update_definition(record.live, command, section, parent_index, xml)
                if live and record.live is not None
                else None
            )
            new_config = (
                update_definition(record.config, command, section, parent_index, xml)
                if config and record.config is not None
                else None
            )
            for new in filter(None, (new_live, new_config)):
                dnsmasq_files(new, "/")
            if new_config is not None:
                self.store.save_config(new_config)
            if new_live is not None and record.host is not None:
                self.store.save_live(new_live)
                host.reload_hosts(new_live, record.host)
        return True

    @hookimpl
    def virt_network_set_autostart(self, uuid: str, autostart: bool) -> bool:
        """Set or clear autostart of a persistent network."""
        with self.store.lock.held():
            record = self.store.by_uuid(uuid)
            if not record.persistent:
                raise OperationInvalidError("cannot set autostart for transient network", domain=_NET)
            self.store.set_autostart(record.current.name, autostart)
        return True

    # -- describing ------------------------------------------------------------

    @hookimpl
    def virt_network_get_xml_desc(self, uuid: str, inactive: bool) -> str:
        """The live definition (``inactive``: the persistent one)."""
        record = self._by_uuid(uuid)
        if inactive and record.config is not None:
            return record.config.to_xml()
        return record.current.to_xml()

    @hookimpl
    def virt_network_get_autostart(self, uuid: str) -> bool:
        """Whether the network autostarts."""
        return self._by_uuid(uuid).autostart

    @hookimpl
    def virt_network_is_active(self, uuid: str) -> bool:
        """Whether the network runs (its dnsmasq or bridge is there)."""
        return self._by_uuid(uuid).active

    @hookimpl
    def virt_network_is_persistent(self, uuid: str) -> bool:
        """Whether the network has a persistent definition."""
        return self._by_uuid(uuid).persistent

    @hookimpl
    def virt_network_get_bridge_name(self, uuid: str) -> str:
        """The bridge of the definition in force."""
        d = self._by_uuid(uuid).current
        if d.bridge is None or not d.bridge.name:
            raise InternalError(f"network '{d.name}' does not have a bridge name.", domain=_NET)
        return d.bridge.name

    @hookimpl
    def virt_network_get_dhcp_leases(self, uuid: str, mac: str | None) -> list[NetworkDHCPLease]:
        """The leases in dnsmasq's lease file (none when the network does not run)."""
        record = self._by_uuid(uuid)
        if record.live is None or record.host is None:
            return []
        d = record.live
        prefixes: dict[int, int] = {
            ip.address.version: ip.prefix_length for ip in reversed(d.ips) if ip.dhcp is not None
        }
        leases = parse_leases(host.leases_text(record.host), record.host.bridge, prefixes, mac)
        now = time.time()
        return [lease for lease in leases if lease.expirytime == 0 or lease.expirytime > now]
