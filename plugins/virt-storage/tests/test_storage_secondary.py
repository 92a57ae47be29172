"""virt-storage as a secondary driver: a hypervisor driver's connections share its pools, and
what the hypervisor driver says is in use is not taken away from under its domains."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from storage_testxml import dir_pool_xml, volume_xml

import virtcore
from virtcore import drivers as drivers_mod
from virtcore import hookimpl
from virtcore.drivers import describe_driver, installed_drivers
from virtcore.errors import ErrorDomain, NoStorageVolError, OperationDeniedError, ResourceBusyError
from virtcore.uri import URI


class Hypervisor:
    """A hypervisor driver's one channel, keeping what ``resolve_volume`` the core gave it."""

    resolve: Callable[[str, str], str] | None = None
    #: The "running domains" of every Hypervisor: domain name -> the paths it uses.
    running: ClassVar[dict[str, set[str]]] = {}
    asked: ClassVar[list[str]] = []

    @hookimpl
    def virt_connect_open(self, resolve_volume: Callable[[str, str], str]) -> None:
        self.resolve = resolve_volume

    @hookimpl
    def virt_domain_users_of_path(self, path: str) -> list[str]:
        Hypervisor.asked.append(path)
        return [name for name, paths in Hypervisor.running.items() if path in paths]

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
    Hypervisor.running, Hypervisor.asked = {}, []
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


@pytest.fixture
def used(hv: list[Hypervisor], root: Path, tmp_path: Path) -> Iterator[tuple[virtcore.Connection, Path]]:
    """An ``hv`` connection with a started ``images`` pool whose ``a.img`` domain ``web`` uses."""
    with virtcore.open(f"hv:///embed?root={root}") as conn:
        p = conn.define_storage_pool(dir_pool_xml("images", tmp_path / "images"))
        p.build()
        p.start()
        p.create_volume(volume_xml("a.img", 1 << 20, "raw"))
        p.create_volume(volume_xml("free.img", 1 << 20, "raw"))
        Hypervisor.running["web"] = {str(tmp_path / "images" / "a.img")}
        yield conn, tmp_path / "images"


def _busy(match: str) -> pytest.RaisesContext[ResourceBusyError]:
    return pytest.raises(ResourceBusyError, match=match)


def test_a_volume_a_running_domain_uses_is_not_deleted_wiped_uploaded_to_or_shrunk(
    used: tuple[virtcore.Connection, Path],
) -> None:
    conn, images = used
    vol = conn.lookup_storage_pool("images").lookup_volume("a.img")
    (images / "a.img").write_bytes(b"guest data".ljust(1 << 20, b"\0"))
    what = r"storage volume 'a\.img' of pool 'images' is in use by running domain 'web'"
    with _busy(f"cannot delete it: {what}") as exc:
        vol.delete()
    assert exc.value.code == 87 and exc.value.domain == ErrorDomain.STORAGE
    with _busy(f"cannot wipe it: {what}"):
        vol.wipe()
    with _busy(f"cannot upload to it: {what}"):
        vol.upload(io.BytesIO(b"overwritten"))
    with _busy(f"cannot shrink it: {what}"):
        vol.resize(1 << 19, shrink=True)
    with _busy(f"cannot shrink it: {what}"):
        vol.resize(1 << 10, delta=True, shrink=True)
    # nothing was lost or changed
    assert (images / "a.img").read_bytes()[:10] == b"guest data"
    assert vol.info().capacity == 1 << 20
    # what takes nothing away from the guest is allowed: growing, reading
    vol.resize(2 << 20)
    assert vol.info().capacity == 2 << 20
    out = io.BytesIO()
    vol.download(out, length=10)
    assert out.getvalue() == b"guest data"
    # the storage driver asked about the volume's real path
    assert Hypervisor.asked and set(Hypervisor.asked) == {os.path.realpath(images / "a.img")}


def test_a_volume_no_domain_uses_goes_and_one_whose_domain_stopped_too(
    used: tuple[virtcore.Connection, Path],
) -> None:
    conn, images = used
    pool = conn.lookup_storage_pool("images")
    pool.lookup_volume("free.img").wipe()
    pool.lookup_volume("free.img").delete()
    assert not (images / "free.img").exists()
    del Hypervisor.running["web"]  # the domain stopped
    pool.lookup_volume("a.img").delete()
    assert not (images / "a.img").exists()


def test_every_domain_using_a_volume_is_named(used: tuple[virtcore.Connection, Path]) -> None:
    conn, images = used
    Hypervisor.running["db"] = {str(images / "a.img")}
    with _busy(r"'a\.img' of pool 'images' is in use by running domains 'db', 'web'"):
        conn.lookup_storage_pool("images").lookup_volume("a.img").delete()


def test_a_volume_reached_through_a_symlinked_path_is_asked_about_by_its_real_path(
    used: tuple[virtcore.Connection, Path], tmp_path: Path
) -> None:
    conn, images = used
    (tmp_path / "elsewhere").symlink_to(images / "a.img")
    Hypervisor.running["web"] = {os.path.realpath(images / "a.img")}
    with _busy("in use by running domain 'web'"):
        conn.lookup_storage_pool("images").lookup_volume("a.img").delete()


def test_a_pool_holding_a_volume_in_use_is_neither_stopped_nor_deleted(
    used: tuple[virtcore.Connection, Path], root: Path
) -> None:
    conn, images = used
    pool = conn.lookup_storage_pool("images")
    with _busy(r"cannot stop storage pool 'images': storage volume 'a\.img' .* domain 'web'"):
        pool.destroy()
    assert pool.is_active()
    # stopped from a connection without a hypervisor driver (nobody is known to use anything) ...
    with virtcore.open(f"storage:///embed?root={root}") as bare:
        bare.lookup_storage_pool("images").destroy()
    assert not pool.is_active()
    # ... its files stay, and the one in use is still refused with the pool
    with _busy(r"cannot delete storage pool 'images': storage volume 'a\.img' .* domain 'web'"):
        pool.delete()
    assert (images / "a.img").exists()
    del Hypervisor.running["web"]
    (images / "a.img").unlink()
    (images / "free.img").unlink()
    pool.delete()
    assert not images.exists()
