"""Secondary drivers (libvirt's storage/network driver shape) and the storage handles' plumbing.

A hypervisor driver names secondary drivers by scheme in ``describe_driver(secondary=...)``; each
of its connections opens them with the same URI in their scheme and asks them what the
hypervisor driver does not answer itself. These tests use small in-process drivers, so they
pin the core's behaviour, not any real storage.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import virtcore
from virtcore import drivers as drivers_mod
from virtcore import hookimpl
from virtcore.drivers import describe_driver
from virtcore.errors import (
    InvalidArgError,
    NoNetworkError,
    NoStoragePoolError,
    NoStorageVolError,
    NoSupportError,
    OperationDeniedError,
    ReadFailedError,
)
from virtcore.network import (
    IPAddrType,
    NetworkDHCPLease,
    NetworkRef,
    NetworkSection,
    NetworkUpdateCommand,
)
from virtcore.storage import StoragePoolRef, StorageVolInfo, StorageVolRef, StorageVolType
from virtcore.uri import URI

POOL = StoragePoolRef("images", "8f2c9a4e-2b4b-4d0c-9d8e-0f6f0a1b2c3d")
VOL = StorageVolRef("images", "a.qcow2", "/srv/images/a.qcow2")


class MemorySink:
    def __init__(self, store: dict[str, bytearray], key: str) -> None:
        self.store, self.key, self.buf, self.state = store, key, bytearray(), "open"

    def write(self, data: bytes) -> None:
        self.buf += data

    def finish(self) -> None:
        self.store[self.key] = self.buf
        self.state = "finished"

    def abort(self) -> None:
        self.state = "aborted"


class MemorySource:
    def __init__(self, data: bytes) -> None:
        self._f = io.BytesIO(data)
        self.size = len(data)
        self.closed = False

    def read(self, size: int) -> bytes:
        return self._f.read(size)

    def close(self) -> None:
        self.closed = True


class FakeStorage:
    """A secondary driver serving one pool with one volume."""

    def __init__(self, uri: URI) -> None:
        self.uri = uri
        self.data: dict[str, bytearray] = {VOL.key: bytearray(b"x" * 10)}
        self.sinks: list[MemorySink] = []
        self.users_of_path: Callable[[str], list[str]] | None = None

    @hookimpl
    def virt_connect_open(self, users_of_path: Callable[[str], list[str]]) -> None:
        self.users_of_path = users_of_path

    @hookimpl
    def virt_storage_pool_lookup_by_name(self, name: str) -> StoragePoolRef:
        if name != POOL.name:
            raise NoStoragePoolError(f"no storage pool with matching name '{name}'")
        return POOL

    @hookimpl
    def virt_storage_vol_lookup_by_name(self, pool_uuid: str, name: str) -> StorageVolRef:
        if pool_uuid != POOL.uuid or name != VOL.name:
            raise NoStorageVolError(f"no storage vol with matching name '{name}'")
        return VOL

    @hookimpl
    def virt_storage_vol_get_path(self, key: str) -> str:
        return key

    @hookimpl
    def virt_storage_vol_get_info(self, key: str) -> StorageVolInfo:
        return StorageVolInfo(StorageVolType.FILE, 1 << 30, len(self.data[key]))

    @hookimpl
    def virt_storage_vol_upload(self, key: str, offset: int, length: int) -> MemorySink:
        sink = MemorySink(self.data, key)
        self.sinks.append(sink)
        return sink

    @hookimpl
    def virt_storage_vol_download(self, key: str, offset: int, length: int) -> MemorySource:
        data = bytes(self.data[key][offset:])
        return MemorySource(data[:length] if length else data)


class Hypervisor:
    """A hypervisor driver's one channel: it records what ``resolve_volume`` answers."""

    def __init__(self) -> None:
        self.resolve: Callable[[str, str], str] | None = None
        #: Active domains by the paths they use (what ``virt_domain_users_of_path`` answers from).
        self.using: dict[str, list[str]] = {}
        self.asked: list[str] = []

    @hookimpl
    def virt_domain_users_of_path(self, path: str) -> list[str]:
        self.asked.append(path)
        return self.using.get(path, [])

    @hookimpl
    def virt_connect_open(self, resolve_volume: Callable[[str, str], str]) -> None:
        self.resolve = resolve_volume

    @hookimpl
    def virt_connect_get_type(self) -> str:
        return "HV"


@pytest.fixture
def installed() -> Iterator[dict[str, Any]]:
    """Install a ``hv`` hypervisor driver naming the ``fakestorage`` secondary driver."""
    seen: dict[str, Any] = {"storage": [], "hv": []}

    def storage_factory(uri: URI, read_only: bool) -> list[object]:
        if uri.path == "/decline":
            raise virtcore.errors.NoConnectError(uri.text)
        obj = FakeStorage(uri)
        seen["storage"].append(obj)
        return [obj]

    def hv_factory(uri: URI, read_only: bool) -> list[object]:
        obj = Hypervisor()
        seen["hv"].append(obj)
        return [obj]

    drivers_mod._loaded["fakestorage"] = describe_driver(storage_factory, plugin_classes=[FakeStorage])
    drivers_mod._loaded["hv"] = describe_driver(
        hv_factory, plugin_classes=[Hypervisor], secondary=["fakestorage"]
    )
    drivers_mod._loaded["hvnone"] = describe_driver(
        hv_factory, plugin_classes=[Hypervisor], secondary=["nosuch"]
    )
    yield seen
    for scheme in ("fakestorage", "hv", "hvnone"):
        drivers_mod._loaded.pop(scheme, None)


def test_a_secondary_driver_gets_the_uri_in_its_own_scheme(installed: dict[str, Any]) -> None:
    with virtcore.open("hv:///embed?root=/tmp/x") as conn:
        (storage,) = installed["storage"]
        assert storage.uri.driver == "fakestorage"
        assert storage.uri.text == "fakestorage:///embed?root=/tmp/x"
        assert storage.uri.params["root"] == "/tmp/x"
        assert conn.get_type() == "HV"
        assert conn.lookup_storage_pool("images").uuid == POOL.uuid
        assert conn.supports("storage_vol_get_path")


def test_the_hypervisor_driver_resolves_a_disk_source_through_the_connections_storage(
    installed: dict[str, Any],
) -> None:
    with virtcore.open("hv:///system"):
        resolve = installed["hv"][0].resolve
        assert resolve("images", "a.qcow2") == "/srv/images/a.qcow2"
        with pytest.raises(NoStoragePoolError, match="'nope'"):
            resolve("nope", "a.qcow2")
        with pytest.raises(NoStorageVolError, match=r"'b\.qcow2'"):
            resolve("images", "b.qcow2")


def test_a_secondary_driver_that_is_not_installed_or_declines_leaves_storage_unsupported(
    installed: dict[str, Any],
) -> None:
    with virtcore.open("hvnone:///system") as conn:
        assert conn.get_type() == "HV"
        with pytest.raises(NoSupportError, match="storage_pool_lookup_by_name"):
            conn.lookup_storage_pool("images")
        with pytest.raises(NoSupportError, match="storage_pool_lookup_by_name"):
            installed["hv"][-1].resolve("images", "a.qcow2")
    with virtcore.open("hv:///decline") as conn:
        assert installed["storage"] == []
        with pytest.raises(NoSupportError, match="storage_pool_define_xml"):
            conn.define_storage_pool("<pool type='dir'/>")


def test_describe_driver_refuses_a_secondary_that_is_not_a_scheme() -> None:
    with pytest.raises(InvalidArgError, match="secondary"):
        describe_driver(lambda uri, ro: [], plugin_classes=[], secondary="storage")
    with pytest.raises(InvalidArgError, match="secondary"):
        describe_driver(lambda uri, ro: [], plugin_classes=[], secondary=["Storage:"])


def test_upload_streams_in_chunks_with_progress_and_aborts_on_a_failing_source(
    installed: dict[str, Any],
) -> None:
    with virtcore.open("hv:///system") as conn:
        vol = conn.lookup_storage_pool("images").lookup_volume("a.qcow2")
        storage = installed["storage"][0]
        payload = bytes(range(256)) * 9000  # > 2 chunks
        seen: list[tuple[int, int]] = []
        assert vol.upload(io.BytesIO(payload), progress=lambda d, t: seen.append((d, t))) == len(payload)
        assert bytes(storage.data[vol.key]) == payload
        assert len(seen) == 3 and seen[-1][0] == len(payload)

        class Broken(io.RawIOBase):
            name = "/dev/broken"

            def readable(self) -> bool:
                return True

            def readinto(self, b: Any) -> int:
                raise OSError(5, "Input/output error")

        with pytest.raises(ReadFailedError, match="/dev/broken"):
            vol.upload(Broken())  # type: ignore[arg-type]
        assert storage.sinks[-1].state == "aborted"
        assert bytes(storage.data[vol.key]) == payload  # the aborted upload claimed nothing


def test_download_streams_and_honours_offset_and_length(installed: dict[str, Any]) -> None:
    with virtcore.open("hv:///system") as conn:
        vol = conn.lookup_storage_pool("images").lookup_volume("a.qcow2")
        out = io.BytesIO()
        assert vol.download(out, offset=2, length=5) == 5
        assert out.getvalue() == b"xxxxx"
        with pytest.raises(InvalidArgError, match="offset"):
            vol.download(out, offset=-1)


def test_read_only_connections_refuse_upload_and_download_as_libvirt_does(installed: dict[str, Any]) -> None:
    with virtcore.open_read_only("hv:///system") as conn:
        vol = conn.lookup_storage_pool("images").lookup_volume("a.qcow2")
        assert vol.info().capacity == 1 << 30
        with pytest.raises(OperationDeniedError):
            vol.download(io.BytesIO())
        with pytest.raises(OperationDeniedError):
            vol.upload(io.BytesIO(b"x"))


class SecondChannel:
    """Another channel of the hypervisor driver, knowing other domains (and one the first knows)."""

    @hookimpl
    def virt_domain_users_of_path(self, path: str) -> list[str] | None:
        return ["web", "db"] if path == VOL.key else None


def test_a_secondary_driver_asks_the_hypervisor_driver_who_uses_a_path(installed: dict[str, Any]) -> None:
    with virtcore.open("hv:///embed?root=/tmp/x") as conn:
        (storage,) = installed["storage"]
        (hv,) = installed["hv"]
        assert storage.users_of_path is not None
        assert storage.users_of_path(VOL.key) == []
        hv.using[VOL.key] = ["web"]
        assert storage.users_of_path(VOL.key) == ["web"]
        assert storage.users_of_path("/srv/images/other.img") == []
        assert hv.asked == [VOL.key, VOL.key, "/srv/images/other.img"]
        conn.register_plugin(SecondChannel())
        # every channel is asked (broadcast), the names merged once each and sorted
        assert storage.users_of_path(VOL.key) == ["db", "web"]


def test_users_of_path_is_empty_when_no_driver_implements_it(installed: dict[str, Any]) -> None:
    class Plain:
        @hookimpl
        def virt_connect_get_type(self) -> str:
            return "PLAIN"

    drivers_mod._loaded["plainhv"] = describe_driver(
        lambda uri, ro: [Plain()], plugin_classes=[Plain], secondary=["fakestorage"]
    )
    try:
        with virtcore.open("plainhv:///x"):
            (storage,) = installed["storage"]
            assert storage.users_of_path is not None
            assert storage.users_of_path(VOL.key) == []
    finally:
        drivers_mod._loaded.pop("plainhv", None)


def test_users_of_path_is_internal_not_an_operation(installed: dict[str, Any]) -> None:
    assert "domain_users_of_path" not in virtcore.OPERATIONS
    with virtcore.open("hv:///x") as conn:
        assert "domain_users_of_path" not in conn.supported_operations()
        with pytest.raises(InvalidArgError, match="domain_users_of_path"):
            conn.implementers("domain_users_of_path")


def test_a_failing_answer_reaches_the_secondary_driver(installed: dict[str, Any]) -> None:
    class Broken:
        @hookimpl
        def virt_domain_users_of_path(self, path: str) -> list[str]:
            raise virtcore.errors.OperationFailedError(f"cannot read the state of the domains using {path}")

    with virtcore.open("hv:///x") as conn:
        (storage,) = installed["storage"]
        conn.register_plugin(Broken())
        assert storage.users_of_path is not None
        with pytest.raises(virtcore.errors.OperationFailedError, match=r"a\.qcow2"):
            storage.users_of_path(VOL.key)


# -- networks through a secondary driver ---------------------------------------------------

NET = NetworkRef("lan", "3c1f8a52-7d4e-4b8a-9a55-1d2e3f405162")


class FakeNetworks:
    """A network secondary driver: one network, recording what the handles pass it."""

    def __init__(self) -> None:
        self.active = False
        self.updates: list[tuple[object, ...]] = []

    @hookimpl
    def virt_network_lookup_by_name(self, name: str) -> NetworkRef:
        if name != NET.name:
            raise NoNetworkError(f"no network with matching name '{name}'")
        return NET

    @hookimpl
    def virt_network_create(self, uuid: str) -> bool:
        self.active = True
        return True

    @hookimpl
    def virt_network_is_active(self, uuid: str) -> bool:
        return self.active

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
        self.updates.append((uuid, command, section, parent_index, xml, live, config))
        return True

    @hookimpl
    def virt_network_get_dhcp_leases(self, uuid: str, mac: str | None) -> list[NetworkDHCPLease]:
        lease = NetworkDHCPLease(
            "virbr9", 0, IPAddrType.IPV4, "52:54:00:aa:bb:cc", None, "10.9.0.5", 24, "g", None
        )
        return [lease] if mac in (None, lease.mac) else []


@pytest.fixture
def with_networks() -> Iterator[list[FakeNetworks]]:
    """Install ``hvnet``, a hypervisor driver naming the ``fakenet`` secondary driver."""
    seen: list[FakeNetworks] = []

    def net_factory(uri: URI, read_only: bool) -> list[object]:
        seen.append(FakeNetworks())
        return [seen[-1]]

    drivers_mod._loaded["fakenet"] = describe_driver(net_factory, plugin_classes=[FakeNetworks])
    drivers_mod._loaded["hvnet"] = describe_driver(
        lambda uri, ro: [Hypervisor()], plugin_classes=[Hypervisor], secondary=["fakenet"]
    )
    yield seen
    for scheme in ("fakenet", "hvnet"):
        drivers_mod._loaded.pop(scheme, None)


def test_networks_are_served_by_a_secondary_driver(with_networks: list[FakeNetworks]) -> None:
    with virtcore.open("hvnet:///system") as conn:
        net = conn.lookup_network("lan")
        assert (net.name, net.uuid) == NET
        assert net == conn.lookup_network("lan") and not net.is_active()
        net.start()
        assert net.is_active()
        net.update(NetworkUpdateCommand.ADD_LAST, NetworkSection.IP_DHCP_HOST, "<host/>", live=True)
        assert with_networks[0].updates == [
            (NET.uuid, NetworkUpdateCommand.ADD_LAST, NetworkSection.IP_DHCP_HOST, -1, "<host/>", True, False)
        ]
        assert [lease.ipaddr for lease in net.dhcp_leases()] == ["10.9.0.5"]
        assert net.dhcp_leases(mac="52:54:00:AA:BB:CC")[0].mac == "52:54:00:aa:bb:cc"
        assert net.dhcp_leases(mac="52:54:00:00:00:01") == []
        with pytest.raises(NoNetworkError, match="Network not found: no network with matching name 'wan'"):
            conn.lookup_network("wan")
        # what no channel answers is NoSupportError naming the operation
        with pytest.raises(NoSupportError, match="network_destroy"):
            net.destroy()
        with pytest.raises(NoSupportError, match="network_define_xml"):
            conn.define_network("<network/>")


def test_network_handles_check_their_arguments_before_any_driver(with_networks: list[FakeNetworks]) -> None:
    with virtcore.open("hvnet:///system") as conn:
        net = conn.lookup_network("lan")
        with pytest.raises(InvalidArgError, match="malformed MAC address 'nope'"):
            net.dhcp_leases(mac="nope")
        with pytest.raises(InvalidArgError, match="unknown network update command"):
            net.update(9, NetworkSection.IP, "<ip/>")  # type: ignore[arg-type]
        with pytest.raises(InvalidArgError, match="parent index"):
            net.update(NetworkUpdateCommand.DELETE, NetworkSection.IP, "<ip/>", parent_index=-2)
        with pytest.raises(InvalidArgError, match="network name must be a non-empty string"):
            conn.lookup_network("")
        assert with_networks[0].updates == []


def test_read_only_connections_refuse_network_changes(with_networks: list[FakeNetworks]) -> None:
    with virtcore.open_read_only("hvnet:///system") as conn:
        net = conn.lookup_network("lan")
        with pytest.raises(OperationDeniedError):
            net.start()
        assert not net.is_active()
