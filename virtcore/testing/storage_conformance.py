"""The storage half of the conformance suite: pools and volumes, through the public API only.

:class:`StorageConformance` is mixed into
:class:`~virtcore.testing.DriverConformance`, so every driver run through
the suite meets these tests too; a driver without storage sees each one
xfail naming the operation it lacks (``need``). The pools these tests make
are directory pools under a fresh temporary directory per test (their
names end with the process id); whatever a test made is deleted, stopped
and undefined afterwards, even when it fails.

Fixtures a driver's test module may override: ``storage_pool_template``
(pool XML with ``{name}``, ``{uuid}`` and ``{path}`` placeholders) and
``volume_template`` (volume XML with ``{name}`` and ``{capacity}``, bytes).
"""

from __future__ import annotations

import io
import os
import uuid as uuidlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import virtcore
from virtcore.errors import (
    ErrorNumber,
    InvalidArgError,
    NoStoragePoolError,
    NoStorageVolError,
    OperationDeniedError,
    OperationFailedError,
    OperationInvalidError,
    StorageVolExistError,
    VirtError,
    XMLError,
)
from virtcore.storage import StoragePoolState, StorageVolType
from virtcore.testing.support import need

__all__ = ["DEFAULT_POOL_TEMPLATE", "DEFAULT_VOLUME_TEMPLATE", "StorageConformance"]

#: A directory pool: what every storage driver offers.
DEFAULT_POOL_TEMPLATE = """\
<pool type='dir'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <target>
    <path>{path}</path>
  </target>
</pool>
"""

#: A sparse raw volume (nothing allocated up front, so it fits any pool).
DEFAULT_VOLUME_TEMPLATE = """\
<volume>
  <name>{name}</name>
  <capacity unit='bytes'>{capacity}</capacity>
  <allocation unit='bytes'>0</allocation>
  <target>
    <format type='raw'/>
  </target>
</volume>
"""

MiB = 1 << 20

Conn = virtcore.Connection
Pool = virtcore.StoragePool
MakePool = Callable[..., Pool]
MakeVolume = Callable[..., virtcore.StorageVolume]


def _remove_pools(conn: Conn, names: list[str]) -> None:
    """Delete the volumes of, stop, delete and undefine each pool still there; errors are ignored."""
    for name in reversed(names):
        try:
            pool = conn.lookup_storage_pool(name)
        except VirtError:
            continue
        try:
            volumes = pool.list_volumes()
        except VirtError:
            volumes = []
        steps: list[Callable[[], None]] = [v.delete for v in volumes]
        for step in [*steps, pool.destroy, pool.delete, pool.undefine]:
            try:
                step()
            except VirtError:
                pass


def _read(vol: virtcore.StorageVolume, length: int) -> bytes:
    out = io.BytesIO()
    vol.download(out, length=length)
    return out.getvalue()


class StorageConformance:
    """Conformance tests for storage pools and volumes (a mixin of ``DriverConformance``)."""

    # -- fixtures a driver's test module overrides ---------------------------

    @pytest.fixture
    def storage_pool_template(self) -> str:
        """Pool XML with ``{name}``, ``{uuid}`` and ``{path}`` placeholders that the driver can build."""
        return DEFAULT_POOL_TEMPLATE

    @pytest.fixture
    def volume_template(self) -> str:
        """Volume XML with ``{name}`` and ``{capacity}`` (bytes) placeholders."""
        return DEFAULT_VOLUME_TEMPLATE

    # -- fixtures the tests use ------------------------------------------------

    @pytest.fixture
    def made_pools(self, conn: Conn) -> Iterator[list[str]]:
        """Names of the pools this test made: removed afterwards, with their volumes."""
        names: list[str] = []
        yield names
        _remove_pools(conn, names)

    @pytest.fixture
    def pool_xml(
        self, storage_pool_template: str, tmp_path: Path, request: pytest.FixtureRequest
    ) -> Callable[..., str]:
        """``pool_xml(suffix="", uuid=None)``: XML of a pool named for this test, in a fresh directory."""
        base = "conf-" + request.node.name.split("[")[0].removeprefix("test_")[:32].replace("_", "-")

        def make(suffix: str = "", uuid: str | None = None) -> str:
            name = base + (f"-{suffix}" if suffix else "") + f"-{os.getpid()}"
            return (
                storage_pool_template.replace("{name}", name)
                .replace("{uuid}", uuid or str(uuidlib.uuid4()))
                .replace("{path}", str(tmp_path / name))
            )

        return make

    @pytest.fixture
    def define_pool(self, conn: Conn, pool_xml: Callable[..., str], made_pools: list[str]) -> MakePool:
        """``define_pool(suffix="")``: define a pool (inactive, not built)."""

        def do(suffix: str = "", uuid: str | None = None) -> Pool:
            need(conn, "storage_pool_define_xml")
            pool = conn.define_storage_pool(pool_xml(suffix, uuid))
            made_pools.append(pool.name)
            return pool

        return do

    @pytest.fixture
    def active_pool(self, conn: Conn, define_pool: MakePool) -> Pool:
        """A defined pool, built and started."""
        pool = define_pool()
        need(conn, "storage_pool_build", "storage_pool_create")
        pool.build()
        pool.start()
        return pool

    @pytest.fixture
    def volume_xml(self, volume_template: str) -> Callable[[str, int], str]:
        """``volume_xml(name, capacity)``: volume XML from the template."""

        def make(name: str, capacity: int) -> str:
            return volume_template.replace("{name}", name).replace("{capacity}", str(capacity))

        return make

    @pytest.fixture
    def make_volume(self, conn: Conn, active_pool: Pool, volume_xml: Callable[[str, int], str]) -> MakeVolume:
        """``make_volume(name, capacity=1 MiB)``: a volume in ``active_pool``."""

        def do(name: str = "vol.img", capacity: int = MiB) -> virtcore.StorageVolume:
            need(conn, "storage_vol_create_xml")
            return active_pool.create_volume(volume_xml(name, capacity))

        return do

    # -- pools ------------------------------------------------------------------

    def test_storage_pool_life_cycle(self, conn: Conn, define_pool: MakePool) -> None:
        pool = define_pool()
        need(
            conn, "storage_pool_build", "storage_pool_create", "storage_pool_destroy", "storage_pool_undefine"
        )
        assert pool.info().state == StoragePoolState.INACTIVE
        assert pool.is_persistent() and not pool.is_active()
        assert conn.lookup_storage_pool(pool.name) == pool
        assert conn.lookup_storage_pool_by_uuid(pool.uuid.upper()) == pool
        assert pool in conn.list_storage_pools(active=False)
        assert pool not in conn.list_storage_pools(active=True)
        pool.build()
        pool.start()
        assert pool.is_active() and pool in conn.list_storage_pools(active=True)
        info = pool.info()
        assert info.state == StoragePoolState.RUNNING
        assert 0 <= info.available <= info.capacity and info.allocation <= info.capacity
        for op in (pool.start, pool.build, pool.undefine):
            with pytest.raises(OperationInvalidError, match=pool.name) as exc:
                op()
            assert exc.value.code == ErrorNumber.OPERATION_INVALID
        pool.refresh()
        pool.destroy()
        assert not pool.is_active()
        stopped: tuple[Callable[[], object], ...] = (pool.destroy, pool.refresh, pool.list_volumes)
        for call in stopped:
            with pytest.raises(OperationInvalidError, match=pool.name):
                call()
        pool.undefine()
        with pytest.raises(NoStoragePoolError, match=pool.name):
            conn.lookup_storage_pool(pool.name)
        with pytest.raises(NoStoragePoolError):
            pool.info()

    def test_unknown_storage_pools_raise_no_storage_pool(self, conn: Conn) -> None:
        need(conn, "storage_pool_lookup_by_name", "storage_pool_lookup_by_uuid")
        with pytest.raises(NoStoragePoolError, match="nosuch-pool") as exc:
            conn.lookup_storage_pool("nosuch-pool")
        assert exc.value.code == ErrorNumber.NO_STORAGE_POOL
        with pytest.raises(NoStoragePoolError):
            conn.lookup_storage_pool_by_uuid(str(uuidlib.uuid4()))
        with pytest.raises(InvalidArgError, match="not-a-uuid"):
            conn.lookup_storage_pool_by_uuid("not-a-uuid")

    def test_transient_storage_pool_vanishes_when_stopped(
        self, conn: Conn, pool_xml: Callable[..., str], made_pools: list[str]
    ) -> None:
        need(conn, "storage_pool_create_xml", "storage_pool_destroy")
        pool = conn.create_storage_pool(pool_xml("transient"), build=True)
        made_pools.append(pool.name)
        assert pool.is_active() and not pool.is_persistent()
        with pytest.raises(OperationInvalidError, match=pool.name):
            pool.autostart = True
        pool.destroy()
        with pytest.raises(NoStoragePoolError):
            conn.lookup_storage_pool(pool.name)

    def test_storage_pool_clashes_are_refused(
        self, conn: Conn, define_pool: MakePool, pool_xml: Callable[..., str]
    ) -> None:
        pool = define_pool()
        with pytest.raises(OperationFailedError, match=pool.name):
            conn.define_storage_pool(pool_xml(uuid=str(uuidlib.uuid4())))  # same name, another UUID
        with pytest.raises(OperationFailedError, match=pool.name):
            conn.define_storage_pool(pool_xml("other", uuid=pool.uuid))  # same UUID, another name
        assert conn.lookup_storage_pool(pool.name).uuid == pool.uuid

    def test_storage_pool_autostart(self, conn: Conn, define_pool: MakePool) -> None:
        pool = define_pool()
        need(conn, "storage_pool_get_autostart", "storage_pool_set_autostart")
        assert pool.autostart is False
        pool.autostart = True
        assert pool.autostart is True
        pool.autostart = False
        assert pool.autostart is False

    def test_storage_pool_xml_desc_round_trips(self, conn: Conn, active_pool: Pool) -> None:
        need(conn, "storage_pool_get_xml_desc")
        from virtcore.xml import parse_pool

        d = parse_pool(active_pool.xml_desc())
        assert (d.name, d.uuid) == (active_pool.name, active_pool.uuid)
        # A driver may read the sizes live from the file system (virt-storage does; libvirt keeps
        # them from the last refresh): another process writing there between two calls changes
        # them. The XML and info() must agree whenever nothing wrote in between.
        seen = []
        for _ in range(10):
            before = parse_pool(active_pool.xml_desc())
            info = active_pool.info()
            after = parse_pool(active_pool.xml_desc())
            sizes = [(x.capacity, x.allocation, x.available) for x in (before, after)]
            seen.append((sizes[0], (info.capacity, info.allocation, info.available), sizes[1]))
            if sizes[0] == sizes[1]:
                break
        assert seen[-1][0] == seen[-1][1] == seen[-1][2], seen
        assert parse_pool(active_pool.xml_desc(inactive=True)).uuid == active_pool.uuid

    def test_bad_storage_pool_xml_is_an_xml_error(self, conn: Conn) -> None:
        need(conn, "storage_pool_define_xml")
        for bad in ("<pool", "<pool type='dir'><name>x</name></pool>", "not xml at all"):
            with pytest.raises(XMLError):
                conn.define_storage_pool(bad)

    # -- volumes ---------------------------------------------------------------

    def test_volume_create_and_lookup_every_way(
        self, conn: Conn, active_pool: Pool, make_volume: MakeVolume
    ) -> None:
        vol = make_volume("look.img", 4 * MiB)
        need(conn, "storage_vol_get_info", "storage_vol_get_path", "storage_vol_lookup_by_key")
        assert vol.name == "look.img" and vol.pool_name == active_pool.name
        info = vol.info()
        assert info.type == StorageVolType.FILE and info.capacity == 4 * MiB
        assert active_pool.lookup_volume("look.img") == vol
        assert conn.lookup_storage_volume_by_key(vol.key) == vol
        assert conn.lookup_storage_volume_by_path(vol.path) == vol
        assert vol in active_pool.list_volumes()
        assert vol.pool() == active_pool

    def test_volume_errors(self, conn: Conn, active_pool: Pool, make_volume: MakeVolume) -> None:
        vol = make_volume("dup.img")
        with pytest.raises(StorageVolExistError, match=r"dup\.img") as exc:
            make_volume("dup.img")
        assert exc.value.code == ErrorNumber.STORAGE_VOL_EXIST
        with pytest.raises(NoStorageVolError, match=r"nosuch\.img") as nexc:
            active_pool.lookup_volume("nosuch.img")
        assert nexc.value.code == ErrorNumber.NO_STORAGE_VOL
        with pytest.raises(NoStorageVolError):
            conn.lookup_storage_volume_by_key(vol.key + "-nosuch")
        with pytest.raises(NoStorageVolError):
            conn.lookup_storage_volume_by_path(vol.path + "-nosuch")
        assert [v.name for v in active_pool.list_volumes()] == ["dup.img"]

    @pytest.mark.parametrize("name", ["../escape.img", "a/b.img", "..", "-rf"])
    def test_volume_names_that_could_leave_the_pool_are_refused(
        self, active_pool: Pool, make_volume: MakeVolume, name: str
    ) -> None:
        with pytest.raises(XMLError) as exc:
            make_volume(name)
        assert exc.value.code == ErrorNumber.XML_ERROR
        assert active_pool.list_volumes() == []

    def test_volume_in_an_inactive_pool_is_invalid(
        self, conn: Conn, define_pool: MakePool, volume_xml: Callable[[str, int], str]
    ) -> None:
        pool = define_pool()
        need(conn, "storage_vol_create_xml")
        with pytest.raises(OperationInvalidError, match=pool.name):
            pool.create_volume(volume_xml("x.img", MiB))

    def test_volume_larger_than_the_free_space_is_refused(
        self, conn: Conn, active_pool: Pool, volume_xml: Callable[[str, int], str]
    ) -> None:
        need(conn, "storage_vol_create_xml")
        too_much = active_pool.info().available + 1024 * MiB
        xml = volume_xml("huge.img", too_much).replace(
            "<allocation unit='bytes'>0</allocation>", f"<allocation unit='bytes'>{too_much}</allocation>"
        )
        with pytest.raises(OperationFailedError, match=r"huge\.img"):
            active_pool.create_volume(xml)
        assert active_pool.list_volumes() == []

    def test_volume_delete(self, conn: Conn, active_pool: Pool, make_volume: MakeVolume) -> None:
        vol = make_volume("del.img")
        need(conn, "storage_vol_delete")
        vol.delete()
        assert vol not in active_pool.list_volumes()
        with pytest.raises(NoStorageVolError):
            vol.info()
        with pytest.raises(NoStorageVolError):
            active_pool.lookup_volume("del.img")

    def test_volume_resize(self, conn: Conn, make_volume: MakeVolume) -> None:
        vol = make_volume("grow.img", 2 * MiB)
        need(conn, "storage_vol_resize")
        vol.resize(8 * MiB)
        assert vol.info().capacity == 8 * MiB
        with pytest.raises(InvalidArgError, match="shrink"):
            vol.resize(4 * MiB)
        vol.resize(4 * MiB, shrink=True)
        assert vol.info().capacity == 4 * MiB
        vol.resize(MiB, delta=True)
        assert vol.info().capacity == 5 * MiB

    def test_volume_upload_and_download(self, conn: Conn, make_volume: MakeVolume) -> None:
        vol = make_volume("data.img", 4 * MiB)
        need(conn, "storage_vol_upload", "storage_vol_download")
        payload = os.urandom(MiB + 4096)  # more than one chunk
        progress: list[int] = []
        assert vol.upload(io.BytesIO(payload), progress=lambda done, total: progress.append(done)) == len(
            payload
        )
        assert progress[-1] == len(payload)
        assert _read(vol, len(payload)) == payload
        out = io.BytesIO()
        assert vol.download(out, offset=MiB, length=4096) == 4096
        assert out.getvalue() == payload[MiB:]
        with pytest.raises(InvalidArgError):
            vol.download(io.BytesIO(), offset=5 * MiB)

    def test_volume_clone_copies_the_data(
        self, conn: Conn, active_pool: Pool, make_volume: MakeVolume, volume_xml: Callable[[str, int], str]
    ) -> None:
        src = make_volume("src.img", 2 * MiB)
        need(conn, "storage_vol_create_xml_from", "storage_vol_upload", "storage_vol_download")
        src.upload(io.BytesIO(b"clone me" * 512))
        copy = active_pool.create_volume_from(volume_xml("copy.img", 2 * MiB), src)
        assert copy.info().capacity == 2 * MiB
        assert _read(copy, 4096) == b"clone me" * 512
        assert {v.name for v in active_pool.list_volumes()} == {"src.img", "copy.img"}

    def test_volume_wipe_zeroes_it(self, conn: Conn, make_volume: MakeVolume) -> None:
        vol = make_volume("wipe.img", MiB)
        need(conn, "storage_vol_wipe", "storage_vol_upload", "storage_vol_download")
        vol.upload(io.BytesIO(b"secret" * 100))
        vol.wipe()
        assert _read(vol, 600) == bytes(600)
        assert vol.info().capacity == MiB

    def test_volume_xml_desc(self, conn: Conn, make_volume: MakeVolume) -> None:
        vol = make_volume("desc.img", 3 * MiB)
        need(conn, "storage_vol_get_xml_desc")
        from virtcore.xml import parse_volume

        d = parse_volume(vol.xml_desc())
        assert (d.name, d.key, d.capacity) == (vol.name, vol.key, 3 * MiB)
        assert d.target is not None and d.target.path == vol.path

    # -- read-only -------------------------------------------------------------

    def test_read_only_connection_refuses_storage_mutations(
        self, uri: str, make_volume: MakeVolume, pool_xml: Callable[..., str]
    ) -> None:
        vol = make_volume("ro.img")
        with virtcore.open_read_only(uri) as ro:
            attempts: dict[str, Callable[[], object]] = {
                "storage_pool_define_xml": lambda: ro.define_storage_pool(pool_xml("ro")),
                "storage_pool_create_xml": lambda: ro.create_storage_pool(pool_xml("ro")),
            }
            # A test:///FILE URI gives each connection a private node: the pool may not be there.
            try:
                rvol = ro.lookup_storage_volume_by_key(vol.key)
            except (NoStorageVolError, virtcore.errors.NoSupportError):
                rvol = None
            if rvol is not None:
                rpool = rvol.pool()
                attempts |= {
                    "storage_pool_destroy": rpool.destroy,
                    "storage_vol_delete": rvol.delete,
                    "storage_vol_resize": lambda: rvol.resize(8 * MiB),
                    "storage_vol_upload": lambda: rvol.upload(io.BytesIO(b"x")),
                    "storage_vol_download": lambda: rvol.download(io.BytesIO()),
                }
            for op, attempt in attempts.items():
                if not ro.supports(op):
                    continue
                with pytest.raises(OperationDeniedError, match=op) as exc:
                    attempt()
                assert exc.value.code == ErrorNumber.OPERATION_DENIED
        assert vol.info().capacity == MiB and vol.pool().is_active()
