"""The in-memory virtual networks of a test node, and their state machine.

This module documents, in code, what virtcore's network drivers promise,
after libvirt's test driver (``src/test/test_driver.c``) and the common
network object list (``src/conf/virnetworkobj.c``):

* A network is *persistent* (defined) and/or *active* (started). A
  transient network (``create_network``) exists only while active; a
  persistent one undefined while active runs on as transient. Redefining an
  active network keeps the new definition for when it next starts.
* Names and UUIDs are unique: a definition whose UUID belongs to a network
  of another name, or whose name belongs to another UUID, is refused
  (``OperationFailedError``); creating a network that is already active is
  ``OperationInvalidError``.
* Starting an active network or stopping an inactive one is
  ``OperationInvalidError`` (``"network 'x' is already active"``,
  ``"network 'x' is not active"``), as libvirt's network driver says it.
  (libvirt's test driver itself lets a second destroy pass silently.)
* Nothing hands out addresses: the mock has no DHCP server, so every
  network's lease list is empty.

Errors carry libvirt's codes: ``NoNetworkError`` (43), ``OperationInvalidError``
(55), ``OperationFailedError`` (9), all from the network domain.
"""

from __future__ import annotations

import _thread  # not threading: saves ~1 ms of a cold open (threading's own import)
from typing import TYPE_CHECKING, TypeAlias

from virt_test.pending import PendingNetwork
from virtcore import errors
from virtcore.errors import (
    InternalError,
    NoNetworkError,
    OperationFailedError,
    OperationInvalidError,
)
from virtcore.network import NetworkRef, NetworkSection, NetworkUpdateCommand

if TYPE_CHECKING:
    from virtcore.xml import NetworkDef

__all__ = ["NetworkDefinition", "Networks", "PendingNetwork", "TestNetwork", "bridge_of"]


#: A parsed network definition, or ``test:///default``'s, kept unparsed.
NetworkDefinition: TypeAlias = "NetworkDef | PendingNetwork"


def bridge_of(d: NetworkDefinition) -> str | None:
    """The bridge name ``d`` gives, if any."""
    if isinstance(d, PendingNetwork):
        return d.bridge_name
    return d.bridge.name if d.bridge is not None else None


def _parsed(d: NetworkDefinition) -> NetworkDef:
    """``d`` as the XML model's definition (the pending default network is parsed now)."""
    if not isinstance(d, PendingNetwork):
        return d
    from virtcore.xml import parse_network  # saves ~170 ms on open: the XML model

    return parse_network(d.xml)


class TestNetwork:
    """One network: its definitions, state and autostart flag. Guarded by the node's network lock."""

    __test__ = False  # not a pytest test class
    __slots__ = ("active", "autostart", "config", "live")

    def __init__(self, definition: NetworkDefinition, *, persistent: bool, active: bool) -> None:
        #: The definition in use; the persistent one when they differ is ``config``.
        self.live: NetworkDefinition = definition
        #: The persistent definition (None: transient).
        self.config: NetworkDefinition | None = definition if persistent else None
        self.active = active
        self.autostart = False

    @property
    def name(self) -> str:
        """The network's name."""
        return self.live.name

    @property
    def uuid(self) -> str:
        """The network's canonical UUID."""
        return self.live.uuid

    @property
    def persistent(self) -> bool:
        """Whether the network has a persistent definition."""
        return self.config is not None

    @property
    def ref(self) -> NetworkRef:
        """What a network lookup answers."""
        return NetworkRef(self.name, self.uuid)

    def definition(self, *, inactive: bool = False) -> NetworkDefinition:
        """The live definition (``inactive``: the persistent one, when there is one)."""
        return self.config if inactive and self.config is not None else self.live


class Networks:
    """Every network of a node, with one lock around all of them (libvirt's ``virNetworkObjList``)."""

    def __init__(self) -> None:
        self.lock = _thread.RLock()
        self.nets: dict[str, TestNetwork] = {}  # by uuid
        self.by_name: dict[str, TestNetwork] = {}

    # -- lookup --------------------------------------------------------------

    def get(self, uuid: str) -> TestNetwork:
        """The network with ``uuid``; ``NoNetworkError`` when none (call with the lock held)."""
        net = self.nets.get(uuid)
        if net is None:
            raise NoNetworkError(f"no network with matching uuid '{uuid}'", domain=errors.ErrorDomain.TEST)
        return net

    def lookup_name(self, name: str) -> NetworkRef:
        """The network called ``name``."""
        with self.lock:
            net = self.by_name.get(name)
            if net is None:
                raise NoNetworkError(
                    f"no network with matching name '{name}'", domain=errors.ErrorDomain.TEST
                )
            return net.ref

    def lookup_uuid(self, uuid: str) -> NetworkRef:
        """The network with ``uuid``."""
        with self.lock:
            return self.get(uuid).ref

    def list_refs(self, active: bool | None) -> list[NetworkRef]:
        """Every network (``active``: only active or only inactive ones), in name order."""
        with self.lock:
            nets = sorted(self.nets.values(), key=lambda n: n.name)
            return [n.ref for n in nets if active is None or n.active == active]

    # -- definitions ---------------------------------------------------------

    def _existing(self, d: NetworkDefinition) -> TestNetwork | None:
        """The network ``d`` redefines, if any; refuses a name or UUID held by another network."""
        same_uuid = self.nets.get(d.uuid)
        if same_uuid is not None:
            if same_uuid.name != d.name:
                raise OperationFailedError(
                    f"network '{same_uuid.name}' is already defined with uuid {d.uuid}",
                    domain=errors.ErrorDomain.NETWORK,
                )
            return same_uuid
        same_name = self.by_name.get(d.name)
        if same_name is not None:
            raise OperationFailedError(
                f"network '{d.name}' already exists with uuid {same_name.uuid}",
                domain=errors.ErrorDomain.NETWORK,
            )
        return None

    def _add(self, net: TestNetwork) -> None:
        self.nets[net.uuid] = net
        self.by_name[net.name] = net

    def _remove(self, net: TestNetwork) -> None:
        del self.nets[net.uuid]
        del self.by_name[net.name]

    def add_loaded(self, d: NetworkDefinition) -> None:
        """Add a network of a node file or the default node: persistent and active."""
        with self.lock:
            if self._existing(d) is not None:
                raise OperationFailedError(
                    f"network '{d.name}' is listed twice", domain=errors.ErrorDomain.NETWORK
                )
            self._add(TestNetwork(d, persistent=True, active=True))

    def define(self, d: NetworkDefinition) -> NetworkRef:
        """Define ``d`` (a new network is inactive; an active one gets it at its next start)."""
        with self.lock:
            net = self._existing(d)
            if net is None:
                net = TestNetwork(d, persistent=True, active=False)
                self._add(net)
            elif net.active:
                net.config = d
            else:
                net.live = net.config = d
            return net.ref

    def create_transient(self, d: NetworkDefinition) -> NetworkRef:
        """Start ``d`` at once; it stays only while active (or an inactive defined one starts with it)."""
        with self.lock:
            net = self._existing(d)
            if net is None:
                net = TestNetwork(d, persistent=False, active=True)
                self._add(net)
            elif net.active:
                raise OperationInvalidError(
                    f"network is already active as '{net.name}'", domain=errors.ErrorDomain.NETWORK
                )
            else:
                net.live, net.active = d, True
            return net.ref

    def undefine(self, uuid: str) -> None:
        """Forget the persistent definition; an active network runs on as transient."""
        with self.lock:
            net = self.get(uuid)
            if not net.persistent:
                raise OperationInvalidError(
                    f"network '{net.name}' is not persistent", domain=errors.ErrorDomain.NETWORK
                )
            net.config = None
            net.autostart = False
            if not net.active:
                self._remove(net)

    # -- state ---------------------------------------------------------------

    def start(self, uuid: str) -> None:
        """Start an inactive network."""
        with self.lock:
            net = self.get(uuid)
            if net.active:
                raise OperationInvalidError(
                    f"Network '{net.name}' is already running", domain=errors.ErrorDomain.TEST
                )
            if net.config is not None:
                net.live = net.config
            net.active = True

    def destroy(self, uuid: str) -> None:
        """Stop an active network; a transient one vanishes."""
        with self.lock:
            net = self.get(uuid)
            if not net.active:
                raise OperationInvalidError(
                    f"network '{net.name}' is not active", domain=errors.ErrorDomain.NETWORK
                )
            net.active = False
            if net.config is None:
                self._remove(net)
            else:
                net.live = net.config

    def set_autostart(self, uuid: str, autostart: bool) -> None:
        """Set or clear autostart (persistent networks only)."""
        with self.lock:
            net = self.get(uuid)
            if not net.persistent:
                raise OperationInvalidError(
                    "cannot set autostart for transient network", domain=errors.ErrorDomain.NETWORK
                )
            net.autostart = autostart

    def bridge_name(self, uuid: str) -> str:
        """The live definition's bridge name."""
        with self.lock:
            net = self.get(uuid)
            name = bridge_of(net.live)
            if not name:
                raise InternalError(
                    f"network '{net.name}' does not have a bridge name.", domain=errors.ErrorDomain.TEST
                )
            return name

    def update(
        self,
        uuid: str,
        command: NetworkUpdateCommand,
        section: NetworkSection,
        parent_index: int,
        xml: str,
        *,
        live: bool,
        config: bool,
    ) -> None:
        """Apply one ``networkUpdate`` to the live and/or persistent definition (neither: the current one)."""
        from virtcore.netupdate import update_definition  # saves ~170 ms on open: the XML model

        with self.lock:
            net = self.get(uuid)
            if not live and not config:
                live, config = net.active, not net.active
            if live and not net.active:
                raise OperationInvalidError("network is not running", domain=errors.ErrorDomain.NETWORK)
            if config and not net.persistent:
                raise OperationInvalidError(
                    "cannot change persistent config of a transient network",
                    domain=errors.ErrorDomain.NETWORK,
                )
            # compute every new definition before changing anything: a refused update changes nothing
            new_live = (
                update_definition(_parsed(net.live), command, section, parent_index, xml) if live else None
            )
            new_config = (
                update_definition(_parsed(net.config), command, section, parent_index, xml)
                if config and net.config is not None
                else None
            )
            if new_live is not None:
                net.live = new_live
            if new_config is not None:
                net.config = new_config
                if not net.active:
                    net.live = new_config

    def xml(self, uuid: str, *, inactive: bool) -> str:
        """The network's XML (``inactive``: the persistent definition)."""
        with self.lock:
            return self.get(uuid).definition(inactive=inactive).to_xml()
