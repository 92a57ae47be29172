"""A guest's interface addresses in the core: the lease answer derived from the networks, and waiting.

``Domain.interface_addresses("lease")`` is answered by the hypervisor driver
when it implements it (the test driver invents addresses); otherwise the
core derives it from the DHCP leases of the networks the domain's
``<interface type='network'>`` are on, as libvirt's QEMU driver does.
``Domain.wait_for_addresses`` polls until an address shows. These tests use
small in-process drivers (as ``test_secondary.py`` does), so they pin the
core's behaviour; the real guest on a real network is in virt-qemu's tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import virtcore
from virtcore import drivers as drivers_mod
from virtcore import hookimpl
from virtcore.drivers import describe_driver
from virtcore.errors import (
    ErrorNumber,
    InvalidArgError,
    NoNetworkError,
    NoSupportError,
    OperationInvalidError,
    OperationTimeoutError,
    VirtError,
)
from virtcore.network import (
    DomainInterface,
    InterfaceAddress,
    InterfaceAddressSource,
    IPAddrType,
    NetworkDHCPLease,
    NetworkRef,
)
from virtcore.types import DomainRef, DomainState

LAN = NetworkRef("lan", "3c1f8a52-7d4e-4b8a-9a55-1d2e3f405162")
WEB = DomainRef("web", "0d3b4c1e-9a1f-4a35-b6a2-6f0e8e1f2a10", 3)
MAC_A, MAC_B = "52:54:00:aa:00:01", "52:54:00:aa:00:02"

WEB_XML = f"""<domain type='kvm' id='3'><name>web</name><uuid>{WEB.uuid}</uuid>
<memory>1024</memory><os><type>hvm</type></os><devices>
<interface type='network'><mac address='{MAC_A.upper()}'/><source network='lan' bridge='vcbr9'/>
  <target dev='vnet0'/></interface>
<interface type='network'><mac address='{MAC_B}'/><source network='lan'/><target dev='vnet1'/></interface>
<interface type='bridge'><mac address='52:54:00:aa:00:03'/><source bridge='br0'/>
  <target dev='vnet2'/></interface>
<interface type='user'><mac address='52:54:00:aa:00:04'/></interface>
</devices></domain>"""


def lease(mac: str, ip: str, kind: IPAddrType = IPAddrType.IPV4, prefix: int = 24) -> NetworkDHCPLease:
    return NetworkDHCPLease("vcbr9", 0, kind, mac, None, ip, prefix, "web", None)


class Guest:
    """A hypervisor driver's one channel with one domain, running or not."""

    def __init__(self) -> None:
        self.state = DomainState.RUNNING
        self.resolve_network: Callable[[str], str] | None = None

    @hookimpl
    def virt_connect_open(self, resolve_network: Callable[[str], str]) -> None:
        self.resolve_network = resolve_network

    @hookimpl
    def virt_domain_lookup_by_name(self, name: str) -> DomainRef:
        return WEB

    @hookimpl
    def virt_domain_get_state(self, uuid: str) -> tuple[DomainState, int]:
        return (self.state, 1)

    @hookimpl
    def virt_domain_get_xml_desc(self, uuid: str, inactive: bool) -> str:
        return WEB_XML


class AgentNotUpError(VirtError):
    """libvirt's AGENT_UNRESPONSIVE, as a guest-agent part raises it before the agent is up."""

    code = ErrorNumber.AGENT_UNRESPONSIVE


class GuestWithArp(Guest):
    """Answers the ARP source itself and declines the others (as virt-qemu's network part does)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[InterfaceAddressSource] = []
        self.arp: list[DomainInterface] = []

    @hookimpl
    def virt_domain_interface_addresses(
        self, uuid: str, source: InterfaceAddressSource
    ) -> list[DomainInterface] | None:
        self.asked.append(source)
        if self.state is not DomainState.RUNNING:
            raise OperationInvalidError("domain 'web' is not running")
        if source is InterfaceAddressSource.AGENT:
            raise AgentNotUpError("QEMU guest agent is not connected")
        return self.arp if source is InterfaceAddressSource.ARP else None


class Leases:
    """A network secondary driver: network ``lan`` and the leases its DHCP server handed out."""

    def __init__(self) -> None:
        self.leases: list[NetworkDHCPLease] = []
        #: Leases handed out on the n-th question (a DHCP exchange finishing while one waits).
        self.later: dict[int, NetworkDHCPLease] = {}
        self.questions = 0
        self.active = True

    @hookimpl
    def virt_network_is_active(self, uuid: str) -> bool:
        return self.active

    @hookimpl
    def virt_network_get_bridge_name(self, uuid: str) -> str:
        return "vcbr9"

    @hookimpl
    def virt_network_lookup_by_name(self, name: str) -> NetworkRef:
        if name != LAN.name:
            raise NoNetworkError(f"no network with matching name '{name}'")
        return LAN

    @hookimpl
    def virt_network_get_dhcp_leases(self, uuid: str, mac: str | None) -> list[NetworkDHCPLease]:
        self.questions += 1
        if self.questions in self.later:
            self.leases.append(self.later.pop(self.questions))
        return [x for x in self.leases if mac is None or x.mac == mac]


@pytest.fixture
def installed() -> Iterator[dict[str, list[Any]]]:
    """``addrhv`` (a plain guest), ``arphv`` (one answering ARP), both with the ``addrnet`` networks."""
    seen: dict[str, list[Any]] = {"net": [], "guest": []}

    def make(cls: type) -> Any:
        def factory(uri: object, ro: bool) -> list[object]:
            seen["guest"].append(cls())
            return [seen["guest"][-1]]

        return factory

    def nets(uri: object, ro: bool) -> list[object]:
        seen["net"].append(Leases())
        return [seen["net"][-1]]

    drivers_mod._loaded["addrnet"] = describe_driver(nets, plugin_classes=[Leases])
    drivers_mod._loaded["addrhv"] = describe_driver(
        make(Guest), plugin_classes=[Guest], secondary=["addrnet"]
    )
    drivers_mod._loaded["arphv"] = describe_driver(
        make(GuestWithArp), plugin_classes=[GuestWithArp], secondary=["addrnet"]
    )
    drivers_mod._loaded["lonehv"] = describe_driver(make(Guest), plugin_classes=[Guest])
    yield seen
    for scheme in ("addrnet", "addrhv", "arphv", "lonehv"):
        drivers_mod._loaded.pop(scheme, None)


V4 = IPAddrType.IPV4


def test_the_lease_answer_is_derived_from_the_networks_leases_per_interface(installed: Any) -> None:
    with virtcore.open("addrhv:///system") as conn:
        dom = conn.lookup_domain("web")
        assert not conn.supports("domain_interface_addresses")
        assert dom.interface_addresses("lease") == []  # no lease yet: nothing, not an error
        (net,) = installed["net"]
        net.leases = [lease(MAC_A, "10.9.0.5"), lease(MAC_A, "fd00::5", IPAddrType.IPV6, 64)]
        net.leases.append(lease("52:54:00:ff:ff:ff", "10.9.0.99"))  # another guest's
        assert dom.interface_addresses("lease") == [
            DomainInterface(
                "vnet0",
                MAC_A,
                (InterfaceAddress(V4, "10.9.0.5", 24), InterfaceAddress(IPAddrType.IPV6, "fd00::5", 64)),
            )
        ]
        net.leases.append(lease(MAC_B, "10.9.0.6"))
        assert [i.name for i in dom.interface_addresses(InterfaceAddressSource.LEASE)] == ["vnet0", "vnet1"]


def test_a_driver_that_declines_lease_gets_the_derived_answer_and_answers_arp_itself(installed: Any) -> None:
    with virtcore.open("arphv:///system") as conn:
        dom = conn.lookup_domain("web")
        (guest,) = installed["guest"]
        (net,) = installed["net"]
        net.leases = [lease(MAC_B, "10.9.0.6")]
        guest.arp = [DomainInterface("vnet0", MAC_A, (InterfaceAddress(V4, "10.9.0.50", 24),))]
        assert dom.interface_addresses("lease") == [
            DomainInterface("vnet1", MAC_B, (InterfaceAddress(V4, "10.9.0.6", 24),))
        ]
        assert dom.interface_addresses("arp") == guest.arp
        assert guest.asked == [InterfaceAddressSource.LEASE, InterfaceAddressSource.ARP]


def test_errors_name_the_domain_the_source_and_the_missing_driver(installed: Any) -> None:
    with virtcore.open("addrhv:///system") as conn:
        dom = conn.lookup_domain("web")
        with pytest.raises(InvalidArgError, match="unknown interface address source 'dhcp'"):
            dom.interface_addresses("dhcp")
        with pytest.raises(NoSupportError, match="domain_interface_addresses"):
            dom.interface_addresses("arp")  # only the lease answer is the core's
        installed["guest"][0].state = DomainState.SHUTOFF
        with pytest.raises(OperationInvalidError, match="domain 'web' is not running") as exc:
            dom.interface_addresses("lease")
        assert exc.value.code == ErrorNumber.OPERATION_INVALID
    with (
        virtcore.open("lonehv:///system") as conn,
        pytest.raises(NoSupportError, match=r"network 'lan'.*is a network driver installed"),
    ):
        conn.lookup_domain("web").interface_addresses()


def test_wait_for_addresses_returns_once_a_lease_is_handed_out(installed: Any) -> None:
    with virtcore.open("addrhv:///system") as conn:
        dom = conn.lookup_domain("web")
        (net,) = installed["net"]
        net.later[7] = lease(MAC_B, "10.9.0.6")  # two interfaces asked per round: the 4th round
        found = dom.wait_for_addresses(timeout=30, source="lease")
        assert found == [DomainInterface("vnet1", MAC_B, (InterfaceAddress(V4, "10.9.0.6", 24),))]
        assert net.questions == 8


def test_wait_for_addresses_keeps_only_the_family_asked_for_and_times_out_naming_the_domain(
    installed: Any,
) -> None:
    with virtcore.open("addrhv:///system") as conn:
        dom = conn.lookup_domain("web")
        installed["net"][0].leases = [lease(MAC_A, "10.9.0.5"), lease(MAC_A, "fd00::5", IPAddrType.IPV6, 64)]
        (only6,) = dom.wait_for_addresses(timeout=5, family="ipv6")
        assert only6.addrs == (InterfaceAddress(IPAddrType.IPV6, "fd00::5", 64),)
        installed["net"][0].leases = [lease(MAC_A, "10.9.0.5")]
        with pytest.raises(
            OperationTimeoutError, match=r"domain 'web' has no IPv6 address after 0.3 s"
        ) as exc:
            dom.wait_for_addresses(timeout=0.3, family=IPAddrType.IPV6)
        assert exc.value.code == ErrorNumber.OPERATION_TIMEOUT
        with pytest.raises(InvalidArgError, match="unknown address family 'ipv5'"):
            dom.wait_for_addresses(family="ipv5")
        with pytest.raises(InvalidArgError, match="timeout"):
            dom.wait_for_addresses(timeout=-1)


def test_waiting_on_any_source_skips_missing_ones_and_an_agent_not_up_yet(installed: Any) -> None:
    with virtcore.open("arphv:///system") as conn:
        dom = conn.lookup_domain("web")
        (guest,) = installed["guest"]
        guest.arp = [DomainInterface("vnet0", MAC_A, (InterfaceAddress(V4, "10.9.0.50", 24),))]
        assert dom.wait_for_addresses(timeout=5) == guest.arp
        assert guest.asked == [InterfaceAddressSource.LEASE, InterfaceAddressSource.ARP]
        guest.arp, guest.asked = [], []
        with pytest.raises(OperationTimeoutError, match=r"asked: lease, arp, agent"):
            dom.wait_for_addresses(timeout=0.3)
        assert InterfaceAddressSource.AGENT in guest.asked  # unresponsive counted as "not yet"
    with virtcore.open("addrhv:///system") as conn:
        # the driver has no ARP or agent answer: they are dropped, the leases are still waited on
        installed["net"][-1].later[5] = lease(MAC_A, "10.9.0.5")
        (found,) = conn.lookup_domain("web").wait_for_addresses(timeout=30)
        assert found.name == "vnet0"


def test_a_guest_that_stops_ends_the_wait_at_once(installed: Any) -> None:
    with virtcore.open("arphv:///system") as conn:
        dom = conn.lookup_domain("web")
        installed["guest"][0].state = DomainState.SHUTOFF
        with pytest.raises(OperationInvalidError, match="domain 'web' is not running"):
            dom.wait_for_addresses(timeout=600)


def test_the_test_driver_answers_wait_for_addresses_at_once() -> None:
    import virt_test

    virt_test.reset_default_node()
    with virtcore.open("test:///default") as conn:
        (iface,) = conn.lookup_domain("test").wait_for_addresses(timeout=0)
        assert iface == DomainInterface(
            "testnet0", "aa:bb:cc:dd:ee:ff", (InterfaceAddress(V4, "192.168.122.3", 24),)
        )


def test_a_hypervisor_driver_resolves_an_active_networks_bridge_through_the_connection(
    installed: Any,
) -> None:
    with virtcore.open("addrhv:///system"):
        (guest,) = installed["guest"]
        (net,) = installed["net"]
        assert guest.resolve_network is not None
        assert guest.resolve_network("lan") == "vcbr9"
        net.active = False
        with pytest.raises(OperationInvalidError, match="network 'lan' is not active") as exc:
            guest.resolve_network("lan")
        assert exc.value.code == ErrorNumber.OPERATION_INVALID
        with pytest.raises(NoNetworkError, match="'wan'"):
            guest.resolve_network("wan")
    with virtcore.open("lonehv:///system"):
        lone = installed["guest"][-1]
        with pytest.raises(NoSupportError, match="network_lookup_by_name"):
            lone.resolve_network("lan")
