"""virt-storage as a secondary driver: a hypervisor driver's connections share its pools."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from storage_testxml import dir_pool_xml, volume_xml

import virtcore
from virtcore import drivers as drivers_mod
from virtcore import hookimpl
from virtcore.drivers import describe_driver, installed_drivers
from virtcore.errors import NoStorageVolError, OperationDeniedError
from virtcore.uri import URI


class Hypervisor:
    """A hypervisor driver's one channel, keeping what ``resolve_volume`` the core gave it."""

    resolve: Callable[[str, str], str] | None = None

    @hookimpl
    def virt_connect_open(self, resolve_volume: Callable[[str, str], str]) -> None:
        self.resolve = resolve_volume

    @hookimpl
    def virt_connect_get_type(self) -> str:
        return "HV"


@pytest.fixture
def hv() -> Iterator[list[Hypervisor]]:
    """An ``hv`` hypervisor driver naming the ``storage`` secondary driver."""
    made: list[Hypervisor] = []

    def factory(uri: URI, read_only: bool) -> list[object]:
        made.append(Hypervisor())
        return [made[-1]]

    drivers_mod._loaded["hv"] = describe_driver(factory, plugin_classes=[Hypervisor], secondary=["storage"])
    yield made
    drivers_mod._loaded.pop("hv", None)


def test_the_entry_point_is_installed() -> None:
    (found,) = [d for d in installed_drivers() if d.scheme == "storage"]
    assert found.target == "virt_storage:driver" and found.distribution == "virt-storage"


def test_a_hypervisor_connection_sees_the_pools_of_the_same_root(
    hv: list[Hypervisor], root: Path, tmp_path: Path
) -> None:
    with virtcore.open(f"storage:///embed?root={root}") as direct:
        p = direct.define_storage_pool(dir_pool_xml("images", tmp_path / "images"))
        p.build()
        p.start()
        path = p.create_volume(volume_xml("a.qcow2", 1 << 20)).path
    with virtcore.open(f"hv:///embed?root={root}") as conn:
        assert conn.get_type() == "HV"
        assert [x.name for x in conn.list_storage_pools()] == ["images"]
        resolve = hv[-1].resolve
        assert resolve is not None and resolve("images", "a.qcow2") == path
        with pytest.raises(NoStorageVolError, match=r"'b\.qcow2'"):
            resolve("images", "b.qcow2")
    with virtcore.open(f"hv:///embed?root={tmp_path / 'other'}") as other:
        assert other.list_storage_pools() == []


def test_a_read_only_connection_reads_but_does_not_change(root: Path, tmp_path: Path) -> None:
    with virtcore.open(f"storage:///embed?root={root}") as rw:
        p = rw.define_storage_pool(dir_pool_xml("images", tmp_path / "images"))
    with virtcore.open_read_only(f"storage:///embed?root={root}") as ro:
        assert ro.lookup_storage_pool("images").uuid == p.uuid
        with pytest.raises(OperationDeniedError):
            ro.lookup_storage_pool("images").build()


def test_storage_uris_it_does_not_serve_are_refused(tmp_path: Path) -> None:
    for uri in ("storage:///embed", "storage:///embed?root=relative", "storage:///nowhere"):
        with pytest.raises(virtcore.errors.NoConnectError, match="storage:///"):
            virtcore.open(uri)


def test_a_non_root_system_connection_declines_so_the_hypervisor_still_opens(
    hv: list[Hypervisor], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(virtcore.errors.NoConnectError, match="needs root"):
        virtcore.open("storage:///system")
    with virtcore.open_read_only("hv:///system") as conn:
        assert conn.get_type() == "HV"
        with pytest.raises(virtcore.errors.NoSupportError, match="storage_pool_lookup_by_name"):
            conn.lookup_storage_pool("default")
