"""virt-hello: a minimal virtcore driver whose guests live in a dict.

It implements eight hooks; every other operation is reported unsupported
(``NoSupportError``) by the core, and ``virtcore drivers`` shows exactly
these eight.
"""

from __future__ import annotations

import uuid as uuidlib

from virtcore import hookimpl
from virtcore.drivers import describe_driver
from virtcore.errors import NoConnectError, NoDomainError, OperationInvalidError
from virtcore.types import DomainInfo, DomainRef, DomainState, NodeInfo, PausedReason, RunningReason
from virtcore.uri import URI


class HelloGuest:
    """One guest: a name, a UUID, an id while running, and a state."""

    def __init__(self, name: str, dom_id: int) -> None:
        self.name = name
        self.uuid = str(uuidlib.uuid5(uuidlib.NAMESPACE_DNS, f"{name}.hello"))
        self.id = dom_id
        self.state = DomainState.RUNNING
        self.reason: int = RunningReason.BOOTED

    def ref(self) -> DomainRef:
        return DomainRef(self.name, self.uuid, self.id)


class HelloDriver:
    """The driver object registered for one connection."""

    def __init__(self) -> None:
        guests = [HelloGuest("alice", 1), HelloGuest("bob", 2)]
        self.guests = {g.uuid: g for g in guests}

    def _guest(self, uuid: str) -> HelloGuest:
        try:
            return self.guests[uuid]
        except KeyError:  # never let a KeyError escape: raise libvirt's error
            raise NoDomainError(f"no domain with matching uuid '{uuid}'") from None

    @hookimpl
    def virt_connect_get_type(self) -> str:
        return "HELLO"

    @hookimpl
    def virt_node_get_info(self) -> NodeInfo:
        return NodeInfo(
            model="x86_64", memory=1048576, cpus=2, mhz=1000, nodes=1, sockets=1, cores=2, threads=1
        )

    @hookimpl
    def virt_connect_list_all_domains(self, active: bool | None) -> list[DomainRef]:
        return [g.ref() for g in self.guests.values() if active is None or active == (g.id >= 0)]

    @hookimpl
    def virt_domain_lookup_by_name(self, name: str) -> DomainRef:
        for guest in self.guests.values():
            if guest.name == name:
                return guest.ref()
        raise NoDomainError(f"no domain with matching name '{name}'")

    @hookimpl
    def virt_domain_lookup_by_uuid(self, uuid: str) -> DomainRef:
        return self._guest(uuid).ref()

    @hookimpl
    def virt_domain_get_state(self, uuid: str) -> tuple[DomainState, int]:
        guest = self._guest(uuid)
        return guest.state, guest.reason

    @hookimpl
    def virt_domain_get_info(self, uuid: str) -> DomainInfo:
        guest = self._guest(uuid)
        return DomainInfo(guest.state, 65536, 65536, 1, 0)

    @hookimpl
    def virt_domain_suspend(self, uuid: str) -> bool:
        guest = self._guest(uuid)
        if guest.state != DomainState.RUNNING:
            raise OperationInvalidError(f"domain '{guest.name}' is not running")
        guest.state, guest.reason = DomainState.PAUSED, PausedReason.USER
        return True  # "done"; returning None would mean "not me, ask the next channel"


def open_connection(uri: URI, read_only: bool) -> list[object]:
    """The entry point: the objects serving ``uri`` (hello:///default only)."""
    if uri.path != "/default":
        raise NoConnectError(f"URI '{uri.text}' (virt-hello serves hello:///default only)")
    return [HelloDriver()]


# Tells ``virtcore drivers`` and the docs' support matrix what this driver implements
# (read from HelloDriver's hooks, no connection opened) and a URI safe to probe.
driver = describe_driver(open_connection, plugin_classes=[HelloDriver], default_uri="hello:///default")
