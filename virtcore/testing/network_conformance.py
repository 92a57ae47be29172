"""The network half of the conformance suite: virtual networks, through the public API only.

:class:`NetworkConformance` is mixed into
:class:`~virtcore.testing.DriverConformance`, so every driver run through
the suite meets these tests too; a driver without networks sees each one
xfail naming the operation it lacks (``need``). The networks these tests
make are isolated (no ``<forward>``), named for the test and the process,
on a bridge named for the process; whatever a test made is stopped and
undefined afterwards, even when it fails.

A driver with real networks (``network:///``, the secondary driver of
``qemu://`` and ``xen://``) makes bridges, dnsmasq and firewall rules: each
network test therefore runs inside a network namespace of its own
(:class:`~virtcore.testing.netns.NetNamespace`, when the machine can make one),
so the host's networking is never touched; what a test leaves running in it
is killed with it.

Fixture a driver's test module may override: ``network_template`` (network
XML with ``{name}``, ``{uuid}``, ``{bridge}`` and ``{ip}`` placeholders).
"""

from __future__ import annotations

import os
import signal
import uuid as uuidlib
from collections.abc import Callable, Iterator

import pytest

import virtcore
from virtcore.errors import (
    ErrorNumber,
    NoNetworkError,
    OperationDeniedError,
    OperationFailedError,
    OperationInvalidError,
    VirtError,
)
from virtcore.testing.netns import NetNamespace, netns_missing
from virtcore.testing.support import need

__all__ = ["DEFAULT_NETWORK_TEMPLATE", "NetworkConformance"]

#: An isolated network (no way out): what every network driver offers.
DEFAULT_NETWORK_TEMPLATE = """\
<network>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <bridge name='{bridge}'/>
  <ip address='{ip}' prefix='24'/>
</network>
"""

Conn = virtcore.Connection
Net = virtcore.Network
MakeNetwork = Callable[..., Net]


def _remove_networks(conn: Conn, names: list[str]) -> None:
    """Stop and undefine each network still there; errors are ignored."""
    for name in reversed(names):
        try:
            net = conn.lookup_network(name)
        except VirtError:
            continue
        for step in (net.destroy, net.undefine):
            try:
                step()
            except VirtError:
                pass


def _kill_processes_in(ns: NetNamespace) -> None:
    """Kill whatever runs in ``ns`` but its holder (a dnsmasq of a network a failed test left)."""
    target = os.readlink(ns.path)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if int(pid) == ns.proc.pid:
            continue
        try:
            if os.readlink(f"/proc/{pid}/ns/net") == target:
                os.kill(int(pid), signal.SIGKILL)
        except OSError:
            continue


class NetworkConformance:
    """Conformance tests for virtual networks (a mixin of ``DriverConformance``)."""

    @pytest.fixture(autouse=True)
    def network_sandbox(self, request: pytest.FixtureRequest) -> Iterator[None]:
        """Each network test in a network namespace of its own (first: its connection opens there)."""
        if not request.node.name.startswith("test_network") or netns_missing() is not None:
            yield
            return
        ns = NetNamespace()
        try:
            with ns.entered():
                yield
        finally:
            _kill_processes_in(ns)
            ns.close()

    @pytest.fixture
    def network_template(self) -> str:
        """Network XML with ``{name}``, ``{uuid}``, ``{bridge}`` and ``{ip}`` placeholders."""
        return DEFAULT_NETWORK_TEMPLATE

    @pytest.fixture
    def made_networks(self, conn: Conn) -> Iterator[list[str]]:
        """Names of the networks this test made: stopped and undefined afterwards."""
        names: list[str] = []
        yield names
        _remove_networks(conn, names)

    @pytest.fixture
    def network_xml(self, network_template: str, request: pytest.FixtureRequest) -> Callable[..., str]:
        """``network_xml(n=0, uuid=None)``: XML of the ``n``-th network of this test."""
        base = "conf-" + request.node.name.split("[")[0].removeprefix("test_")[:32].replace("_", "-")

        def make(n: int = 0, uuid: str | None = None) -> str:
            return (
                network_template.replace("{name}", f"{base}-{n}-{os.getpid()}")
                .replace("{uuid}", uuid or str(uuidlib.uuid4()))
                .replace("{bridge}", f"vcc{os.getpid() % 1000000}n{n}")
                .replace("{ip}", f"10.{200 + n}.{os.getpid() % 250}.1")
            )

        return make

    @pytest.fixture
    def define_network(
        self, conn: Conn, network_xml: Callable[..., str], made_networks: list[str]
    ) -> MakeNetwork:
        """``define_network(n=0)``: define a network (inactive)."""

        def do(n: int = 0, uuid: str | None = None) -> Net:
            need(conn, "network_define_xml")
            net = conn.define_network(network_xml(n, uuid))
            made_networks.append(net.name)
            return net

        return do

    def test_network_life_cycle(self, conn: Conn, define_network: MakeNetwork) -> None:
        net = define_network()
        need(conn, "network_create", "network_destroy", "network_undefine", "network_is_active")
        assert not net.is_active() and net.is_persistent()
        assert conn.lookup_network(net.name) == net
        assert conn.lookup_network_by_uuid(net.uuid.upper()) == net
        assert net in conn.list_networks(active=False) and net not in conn.list_networks(active=True)
        net.start()
        assert net.is_active() and net in conn.list_networks(active=True)
        with pytest.raises(OperationInvalidError, match=f"'{net.name}'"):
            net.start()
        net.destroy()
        assert not net.is_active()
        with pytest.raises(OperationInvalidError, match=f"'{net.name}'"):
            net.destroy()
        net.undefine()
        with pytest.raises(NoNetworkError, match=net.name):
            conn.lookup_network(net.name)

    def test_network_transient_vanishes_when_destroyed(
        self, conn: Conn, network_xml: Callable[..., str], made_networks: list[str]
    ) -> None:
        need(conn, "network_create_xml", "network_destroy", "network_is_persistent")
        net = conn.create_network(network_xml())
        made_networks.append(net.name)
        assert net.is_active() and not net.is_persistent()
        with pytest.raises(OperationInvalidError):
            net.autostart = True
        net.destroy()
        with pytest.raises(NoNetworkError):
            conn.lookup_network(net.name)

    def test_network_autostart_is_kept(self, conn: Conn, define_network: MakeNetwork) -> None:
        net = define_network()
        need(conn, "network_get_autostart", "network_set_autostart")
        assert not net.autostart
        net.autostart = True
        assert conn.lookup_network(net.name).autostart
        net.autostart = False
        assert not net.autostart

    def test_network_xml_and_bridge_are_the_definitions(
        self, conn: Conn, define_network: MakeNetwork
    ) -> None:
        net = define_network()
        need(conn, "network_get_xml_desc", "network_get_bridge_name")
        xml = net.xml_desc()
        assert f"<name>{net.name}</name>" in xml and f"<uuid>{net.uuid}</uuid>" in xml
        assert net.bridge_name == f"vcc{os.getpid() % 1000000}n0"

    def test_network_names_and_uuids_are_unique(self, conn: Conn, define_network: MakeNetwork) -> None:
        net = define_network()
        with pytest.raises(OperationFailedError, match=net.uuid):
            define_network(1, uuid=net.uuid)  # another name for the same UUID
        assert [n for n in conn.list_networks() if n.uuid == net.uuid] == [net]

    def test_network_unknown_is_no_network(self, conn: Conn) -> None:
        need(conn, "network_lookup_by_name")
        with pytest.raises(NoNetworkError) as err:
            conn.lookup_network(f"conf-no-such-network-{os.getpid()}")
        assert err.value.code == ErrorNumber.NO_NETWORK
        assert "conf-no-such-network" in str(err.value)

    def test_network_has_no_leases_before_any_guest(self, conn: Conn, define_network: MakeNetwork) -> None:
        net = define_network()
        need(conn, "network_create", "network_get_dhcp_leases")
        net.start()
        assert net.dhcp_leases() == []

    def test_network_read_only_connection_changes_nothing(
        self, conn: Conn, uri: str, network_xml: Callable[..., str]
    ) -> None:
        need(conn, "network_define_xml", "connect_list_all_networks")
        with virtcore.open_read_only(uri) as ro:
            with pytest.raises(OperationDeniedError):
                ro.define_network(network_xml())
            with pytest.raises(OperationDeniedError):
                ro.create_network(network_xml())
            before = [(n, n.is_active(), n.is_persistent()) for n in ro.list_networks()]
            for net, _, _ in before:
                for change in (net.start, net.destroy, net.undefine):
                    with pytest.raises(OperationDeniedError):
                        change()
            assert [(n, n.is_active(), n.is_persistent()) for n in ro.list_networks()] == before
