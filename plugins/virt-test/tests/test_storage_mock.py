"""virt-test's storage: issue 10's user story on the mock, each error, node-file pools, space accounting."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
import virt_test
from hypothesis import given, settings
from hypothesis import strategies as st

import virtcore
from virtcore import StoragePoolState, StorageVolType
from virtcore.errors import (
    ArgumentUnsupportedError,
    ConfigUnsupportedError,
    ErrorDomain,
    ErrorNumber,
    InvalidArgError,
    NoStoragePoolError,
    NoStorageVolError,
    OperationDeniedError,
    OperationFailedError,
    OperationInvalidError,
    ReadFailedError,
    ResourceBusyError,
    StorageVolExistError,
    XMLError,
)
from virtcore.storage import StoragePoolInfo, StorageVolInfo, StorageVolWipeAlgorithm

GiB = 1 << 30
POOL_CAP = 100 * GiB
DEFAULT_UUID = "dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566"


def pool_xml(name: str, path: str) -> str:
    return f"<pool type='dir'><name>{name}</name><target><path>{path}</path></target></pool>"


def vol_xml(name: str, capacity: int | None = None, allocation: int | None = None, fmt: str = "") -> str:
    cap = "" if capacity is None else f"<capacity>{capacity}</capacity>"
    alloc = "" if allocation is None else f"<allocation>{allocation}</allocation>"
    target = f"<target><format type='{fmt}'/></target>" if fmt else ""
    return f"<volume><name>{name}</name>{cap}{alloc}{target}</volume>"


@pytest.fixture(autouse=True)
def fresh_default() -> None:
    virt_test.reset_default_node()


@pytest.fixture
def conn() -> virtcore.Connection:
    return virtcore.open("test:///default")


@pytest.fixture
def pool(conn: virtcore.Connection) -> virtcore.StoragePool:
    return conn.lookup_storage_pool("default-pool")


# -- the user story -----------------------------------------------------------


def test_the_issue_10_user_story_on_the_mock(conn: virtcore.Connection) -> None:
    pool = conn.define_storage_pool(pool_xml("images", "/srv/images"))
    assert pool.info().state == StoragePoolState.INACTIVE
    pool.build()
    pool.start()
    pool.autostart = True
    assert pool.autostart and pool.is_active() and pool.is_persistent()

    vol = pool.create_volume(vol_xml("a.qcow2", 20 * GiB, 0, fmt="qcow2"))
    assert (vol.name, vol.key, vol.path) == ("a.qcow2", "/srv/images/a.qcow2", "/srv/images/a.qcow2")
    assert vol.info() == StorageVolInfo(StorageVolType.FILE, 20 * GiB, 0)
    copy = pool.create_volume_from(vol_xml("b.raw", fmt="raw"), vol)
    assert copy.info().capacity == 20 * GiB

    vol.resize(30 * GiB)
    assert vol.info().capacity == 30 * GiB
    vol.wipe()

    payload = bytes(range(256)) * 5000  # more than one chunk
    seen: list[tuple[int, int]] = []
    assert vol.upload(io.BytesIO(payload), progress=lambda done, total: seen.append((done, total))) == len(
        payload
    )
    assert seen[-1][0] == len(payload)
    out = io.BytesIO()
    assert vol.download(out, length=len(payload), progress=lambda d, t: None) == len(payload)
    assert out.getvalue() == payload

    assert conn.lookup_storage_volume_by_path("/srv/images/a.qcow2") == vol
    assert conn.lookup_storage_volume_by_key(copy.key) == copy
    assert sorted(v.name for v in pool.list_volumes()) == ["a.qcow2", "b.raw"]

    from virtcore.xml import parse_volume

    desc = parse_volume(vol.xml_desc())
    assert (desc.name, desc.key, desc.capacity, desc.allocation) == (
        "a.qcow2",
        vol.key,
        30 * GiB,
        len(payload),
    )
    assert desc.target is not None and (desc.target.path, desc.target.format) == (vol.path, "qcow2")


def test_the_default_pool_is_libvirts(pool: virtcore.StoragePool) -> None:
    from virtcore.xml import parse_pool

    assert (pool.name, pool.uuid) == ("default-pool", DEFAULT_UUID)
    assert pool.info() == StoragePoolInfo(StoragePoolState.RUNNING, POOL_CAP, 0, POOL_CAP)
    assert pool.is_persistent() and not pool.autostart
    assert pool.list_volumes() == []
    d = parse_pool(pool.xml_desc())
    assert (d.type, d.name, d.uuid, d.capacity, d.allocation, d.available) == (
        "dir",
        "default-pool",
        DEFAULT_UUID,
        POOL_CAP,
        0,
        POOL_CAP,
    )
    assert d.target is not None and d.target.path == "/default-pool"


def test_the_default_pool_summary_matches_its_xml() -> None:
    from virt_test.loader import DEFAULT_NODE_XML, DEFAULT_POOL, node_from_xml

    from virtcore.xml import parse_pool

    d = parse_pool(DEFAULT_POOL.xml)
    assert d.target is not None
    assert (d.name, d.uuid, d.target.path) == (DEFAULT_POOL.name, DEFAULT_POOL.uuid, DEFAULT_POOL.target)
    # The node file of test:///default holds the same pool.
    copy = node_from_xml(DEFAULT_NODE_XML, base_dir=None, origin="x").storage
    assert copy.list_refs(None) == [(DEFAULT_POOL.name, DEFAULT_POOL.uuid)]


def test_the_pytest_plugins_connection_has_a_private_default_pool(virt_conn: virtcore.Connection) -> None:
    mine = virt_conn.lookup_storage_pool("default-pool")
    assert (mine.uuid, mine.info()) == (
        DEFAULT_UUID,
        StoragePoolInfo(StoragePoolState.RUNNING, POOL_CAP, 0, POOL_CAP),
    )
    mine.create_volume(vol_xml("mine", 10))
    with virtcore.open("test:///default") as shared:
        assert shared.lookup_storage_pool("default-pool").list_volumes() == []


def test_pool_lookups_and_state_need_no_xml_model() -> None:
    code = (
        "import sys, virtcore; c = virtcore.open('test:///default');"
        " p = c.lookup_storage_pool('default-pool'); p.info(); c.lookup_storage_pool_by_uuid(p.uuid);"
        " c.list_storage_pools(); p.list_volumes();"
        " print('virtcore.xml' in sys.modules, 'lxml' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_state_is_shared_per_uri_as_domains_are(testdriver_dir: Path) -> None:
    with virtcore.open("test:///default") as a, virtcore.open("test:///default") as b:
        a.lookup_storage_pool("default-pool").create_volume(vol_xml("shared", 10))
        assert b.lookup_storage_pool("default-pool").lookup_volume("shared").info().capacity == 10
    uri = f"test://{testdriver_dir / 'testnodeinline.xml'}"
    with virtcore.open(uri) as a, virtcore.open(uri) as b:
        a.lookup_storage_pool("default-pool").create_volume(vol_xml("private", 10))
        with pytest.raises(NoStorageVolError):
            b.lookup_storage_pool("default-pool").lookup_volume("private")


def test_read_only_connections_may_look_but_not_touch(pool: virtcore.StoragePool) -> None:
    vol = pool.create_volume(vol_xml("ro", 10))
    with virtcore.open_read_only("test:///default") as ro:
        rpool = ro.lookup_storage_pool("default-pool")
        rvol = rpool.lookup_volume("ro")
        assert rvol.info().capacity == 10 and rpool.info().allocation == 10
        attempts = {
            "storage_pool_destroy": rpool.destroy,
            "storage_pool_define_xml": lambda: ro.define_storage_pool(pool_xml("x", "/x")),
            "storage_vol_create_xml": lambda: rpool.create_volume(vol_xml("x", 1)),
            "storage_vol_delete": rvol.delete,
            "storage_vol_resize": lambda: rvol.resize(20),
            "storage_vol_wipe": rvol.wipe,
            "storage_vol_upload": lambda: rvol.upload(io.BytesIO(b"x")),
            "storage_vol_download": lambda: rvol.download(io.BytesIO()),
        }
        for op, attempt in attempts.items():
            with pytest.raises(OperationDeniedError, match=op) as exc:
                attempt()
            assert exc.value.code == ErrorNumber.OPERATION_DENIED
    assert vol.info().capacity == 10 and pool.is_active()


# -- pools: life cycle and errors ---------------------------------------------


def test_unknown_pools_name_what_was_asked(conn: virtcore.Connection) -> None:
    with pytest.raises(NoStoragePoolError) as exc:
        conn.lookup_storage_pool("x")
    assert exc.value.code == ErrorNumber.NO_STORAGE_POOL == 49
    assert str(exc.value) == "Storage pool not found: no storage pool with matching name 'x'"
    with pytest.raises(NoStoragePoolError, match="11111111-2222-3333-4444-555555555555"):
        conn.lookup_storage_pool_by_uuid("11111111-2222-3333-4444-555555555555")


def test_pool_state_errors_name_the_pool(conn: virtcore.Connection, pool: virtcore.StoragePool) -> None:
    for op in (pool.start, pool.build):
        with pytest.raises(OperationInvalidError) as exc:
            op()
        assert exc.value.code == ErrorNumber.OPERATION_INVALID == 55
        assert exc.value.detail == "storage pool 'default-pool' is active"  # libvirt's test driver's words
        assert exc.value.domain == ErrorDomain.TEST
    for op in (pool.undefine, pool.delete):
        with pytest.raises(OperationInvalidError, match="storage pool 'default-pool' is active"):
            op()
    pool.destroy()
    for op in (
        pool.destroy,
        pool.refresh,
        pool.list_volumes,
        lambda: pool.lookup_volume("x"),
        lambda: pool.create_volume(vol_xml("x", 1)),
    ):
        with pytest.raises(OperationInvalidError) as exc:
            op()
        assert exc.value.detail == "storage pool 'default-pool' is not active"
    assert pool.info().state == StoragePoolState.INACTIVE
    assert [p.name for p in conn.list_storage_pools(active=False)] == ["default-pool"]
    assert conn.list_storage_pools(active=True) == []


def test_define_refuses_clashes_naming_both_pools(conn: virtcore.Connection) -> None:
    p = conn.define_storage_pool(pool_xml("p", "/srv/p"))
    other_uuid = "11111111-2222-3333-4444-555555555555"
    with pytest.raises(OperationFailedError, match=f"pool 'p' already exists with uuid {p.uuid}"):
        conn.define_storage_pool(
            pool_xml("p", "/srv/p").replace("</name>", f"</name><uuid>{other_uuid}</uuid>")
        )
    with pytest.raises(OperationFailedError, match=f"pool 'p' is already defined with uuid {p.uuid}"):
        conn.define_storage_pool(pool_xml("q", "/srv/q").replace("</name>", f"</name><uuid>{p.uuid}</uuid>"))
    with pytest.raises(OperationFailedError, match=r"'q'.*'default-pool'.*'/default-pool'"):
        conn.define_storage_pool(pool_xml("q", "/default-pool"))
    assert sorted(x.name for x in conn.list_storage_pools()) == ["default-pool", "p"]


def test_redefining_an_active_pool_applies_when_it_stops(conn: virtcore.Connection) -> None:
    from virtcore.xml import parse_pool

    p = conn.define_storage_pool(pool_xml("p", "/srv/p"))
    p.start()
    xml = pool_xml("p", "/srv/p-new").replace("</name>", f"</name><uuid>{p.uuid}</uuid>")
    assert conn.define_storage_pool(xml) == p

    def target(inactive: bool) -> str | None:
        t = parse_pool(p.xml_desc(inactive=inactive)).target
        return t.path if t is not None else None

    assert (target(False), target(True)) == ("/srv/p", "/srv/p-new")
    p.destroy()
    assert target(False) == "/srv/p-new"


def test_a_transient_pool_vanishes_with_its_volumes(conn: virtcore.Connection) -> None:
    t = conn.create_storage_pool(pool_xml("t", "/srv/t"), build=True)
    assert t.is_active() and not t.is_persistent()
    vol = t.create_volume(vol_xml("v", 5))
    with pytest.raises(OperationInvalidError, match="transient storage pool 't'"):
        t.autostart = True
    with pytest.raises(OperationInvalidError, match="storage pool 't' is active"):
        t.undefine()
    with pytest.raises(OperationInvalidError, match="storage pool 't' is active"):
        conn.create_storage_pool(t.xml_desc())
    t.destroy()
    with pytest.raises(NoStoragePoolError, match="'t'"):
        conn.lookup_storage_pool("t")
    with pytest.raises(NoStorageVolError, match="/srv/t/v"):
        conn.lookup_storage_volume_by_key(vol.key)


def test_a_stopped_pool_keeps_its_volumes_out_of_reach(
    conn: virtcore.Connection, pool: virtcore.StoragePool
) -> None:
    vol = pool.create_volume(vol_xml("kept", 100, 10))
    path = vol.path
    pool.destroy()
    with pytest.raises(OperationInvalidError, match="'default-pool' is not active"):
        vol.info()
    with pytest.raises(NoStorageVolError, match="matching key"):
        conn.lookup_storage_volume_by_key(vol.key)
    with pytest.raises(NoStorageVolError, match="matching path"):
        conn.lookup_storage_volume_by_path(path)
    with pytest.raises(OperationInvalidError, match="'default-pool' is not active"):
        _ = vol.path
    assert pool.info() == StoragePoolInfo(StoragePoolState.INACTIVE, POOL_CAP, 10, POOL_CAP - 10)
    pool.build()
    pool.delete()  # in memory there is nothing built to remove: the volumes stay, as in libvirt
    pool.start()
    assert pool.lookup_volume("kept").info() == StorageVolInfo(StorageVolType.FILE, 100, 10)
    pool.destroy()
    pool.undefine()
    with pytest.raises(NoStoragePoolError):
        pool.info()


def test_bad_pool_xml(conn: virtcore.Connection) -> None:
    with pytest.raises(XMLError):
        conn.define_storage_pool("<pool>")
    with pytest.raises(ConfigUnsupportedError, match="'foo'"):
        conn.define_storage_pool("<pool type='foo'><name>f</name></pool>")
    with pytest.raises(XMLError, match="target path"):
        conn.define_storage_pool("<pool type='dir'><name>f</name></pool>")
    assert [p.name for p in conn.list_storage_pools()] == ["default-pool"]


def test_xml_desc_follows_every_change(pool: virtcore.StoragePool) -> None:
    from virtcore.xml import parse_pool, parse_volume

    vol = pool.create_volume(vol_xml("x", 100, 10))
    assert parse_pool(pool.xml_desc()).allocation == 10
    assert (parse_volume(vol.xml_desc()).capacity, vol.info().capacity) == (100, 100)
    vol.resize(500, allocate=True)
    assert (parse_volume(vol.xml_desc()).capacity, parse_volume(vol.xml_desc()).allocation) == (500, 500)
    assert parse_pool(pool.xml_desc()).allocation == 500 == pool.info().allocation
    vol.delete()
    assert parse_pool(pool.xml_desc()).available == POOL_CAP


# -- volumes: errors ----------------------------------------------------------


def test_volume_errors_carry_libvirts_codes_and_names(
    conn: virtcore.Connection, pool: virtcore.StoragePool
) -> None:
    pool.create_volume(vol_xml("a", 10))
    with pytest.raises(StorageVolExistError) as exc:
        pool.create_volume(vol_xml("a", 10))
    assert exc.value.code == ErrorNumber.STORAGE_VOL_EXIST == 90
    assert "'a'" in str(exc.value) and "'default-pool'" in str(exc.value)
    with pytest.raises(NoStorageVolError) as nexc:
        pool.lookup_volume("b")
    assert nexc.value.code == ErrorNumber.NO_STORAGE_VOL == 50
    assert str(nexc.value) == "Storage volume not found: no storage vol with matching name 'b'"
    with pytest.raises(NoStorageVolError, match="matching key 'k'"):
        conn.lookup_storage_volume_by_key("k")
    with pytest.raises(NoStorageVolError, match="matching path '/nope'"):
        conn.lookup_storage_volume_by_path("/nope")
    with pytest.raises(XMLError, match="capacity"):
        pool.create_volume(vol_xml("nocap"))
    with pytest.raises(ConfigUnsupportedError, match="'vmdk-ish'"):
        pool.create_volume(vol_xml("f", 1, fmt="vmdk-ish"))


@pytest.mark.parametrize("name", ["a/b", "..", ".", "-rf", "--help", "a\0b"])
def test_volume_names_that_could_leave_the_pool_are_refused(pool: virtcore.StoragePool, name: str) -> None:
    xml = vol_xml("NAME", 1).replace("NAME", name.replace("\0", "&#0;"))  # XML cannot even carry a NUL
    with pytest.raises(XMLError) as exc:
        pool.create_volume(xml)
    # a NUL is not even well formed: libvirt's parser's XML_DETAIL; the others are invalid names
    assert exc.value.code == (ErrorNumber.XML_DETAIL if "\0" in name else ErrorNumber.XML_ERROR)
    assert pool.list_volumes() == [] and pool.info().allocation == 0


def test_a_deleted_volume_is_gone_for_every_call(pool: virtcore.StoragePool) -> None:
    vol = pool.create_volume(vol_xml("gone", 10))
    vol.delete()
    for op in (vol.info, vol.xml_desc, vol.delete, vol.wipe, lambda: vol.resize(20), lambda: vol.path):
        with pytest.raises(NoStorageVolError, match=re.escape(vol.key)):
            op()
    with pytest.raises(NoStorageVolError):
        pool.create_volume_from(vol_xml("clone"), vol)


def test_volumes_a_running_domain_uses_are_busy(
    conn: virtcore.Connection, pool: virtcore.StoragePool
) -> None:
    by_path = pool.create_volume(vol_xml("by-path.img", 10))
    by_name = pool.create_volume(vol_xml("by-name.img", 10))
    disks = (
        f"<disk type='file' device='disk'><source file='{by_path.path}'/><target dev='vda'/></disk>"
        "<disk type='volume' device='disk'><source pool='default-pool' volume='by-name.img'/>"
        "<target dev='vdb'/></disk>"
    )
    dom = conn.define_domain(
        "<domain type='test'><name>user</name><memory>1024</memory><os><type>hvm</type></os>"
        f"<devices>{disks}</devices></domain>"
    )
    by_path.delete()  # not running: not in use
    by_path = pool.create_volume(vol_xml("by-path.img", 10))
    dom.start()
    for vol in (by_path, by_name):
        with pytest.raises(ResourceBusyError) as exc:
            vol.delete()
        assert exc.value.code == ErrorNumber.RESOURCE_BUSY == 87
        assert f"'{vol.name}'" in str(exc.value) and "running domain 'user'" in str(exc.value)
        with pytest.raises(ResourceBusyError, match="'user'"):
            vol.upload(io.BytesIO(b"x"))
    with pytest.raises(ResourceBusyError, match="stop storage pool 'default-pool'"):
        pool.destroy()
    assert pool.is_active() and len(pool.list_volumes()) == 2
    dom.destroy()
    by_path.delete()
    by_name.delete()
    pool.destroy()


def test_a_disk_attached_to_a_running_domain_makes_its_volume_busy(
    conn: virtcore.Connection, pool: virtcore.StoragePool
) -> None:
    # the node keeps what each running definition's disks use: a new live definition is read again
    vol = pool.create_volume(vol_xml("late.img", 10))
    spare = pool.create_volume(vol_xml("spare.img", 10))
    dom = conn.define_domain(
        "<domain type='test'><name>late</name><memory>1024</memory><os><type>hvm</type></os></domain>"
    )
    dom.start()
    spare.delete()  # nothing uses it: asking read the running definition's disks
    dom.attach_device(
        "<disk type='volume' device='disk'><source pool='default-pool' volume='late.img'/>"
        "<target dev='vdc'/></disk>"
    )
    with pytest.raises(ResourceBusyError, match="running domain 'late'"):
        vol.delete()
    dom.destroy()
    vol.delete()


# -- capacity accounting --------------------------------------------------------


def test_allocation_is_taken_from_the_pool_and_given_back(pool: virtcore.StoragePool) -> None:
    a = pool.create_volume(vol_xml("a", 10 * GiB))  # allocation defaults to the capacity
    b = pool.create_volume(vol_xml("b", 50 * GiB, 1 * GiB))
    assert pool.info() == StoragePoolInfo(StoragePoolState.RUNNING, POOL_CAP, 11 * GiB, 89 * GiB)
    c = pool.create_volume_from(vol_xml("c"), b)  # a clone without sizes takes the source's
    assert c.info() == StorageVolInfo(StorageVolType.FILE, 50 * GiB, 1 * GiB)
    assert pool.info().allocation == 12 * GiB
    a.delete()
    b.delete()
    c.delete()
    assert pool.info() == StoragePoolInfo(StoragePoolState.RUNNING, POOL_CAP, 0, POOL_CAP)


def test_a_volume_larger_than_the_free_space_is_refused(pool: virtcore.StoragePool) -> None:
    pool.create_volume(vol_xml("most", 90 * GiB))
    with pytest.raises(
        OperationFailedError, match="Not enough free space in pool 'default-pool' for volume 'big'"
    ):
        pool.create_volume(vol_xml("big", 10 * GiB + 1))
    fits = pool.create_volume(vol_xml("fits", 10 * GiB))  # exactly what is left
    assert pool.info().available == 0
    sparse = pool.create_volume(vol_xml("sparse", 1000 * GiB, 0))  # no allocation: always fits
    assert sparse.info().capacity == 1000 * GiB
    with pytest.raises(OperationFailedError, match="'clone'"):
        pool.create_volume_from(vol_xml("clone"), fits)
    assert sorted(v.name for v in pool.list_volumes()) == ["fits", "most", "sparse"]


def test_resize_follows_libvirts_rules(pool: virtcore.StoragePool) -> None:
    vol = pool.create_volume(vol_xml("r", 1000, 100))
    with pytest.raises(InvalidArgError, match="unless shrink"):
        vol.resize(500)
    with pytest.raises(InvalidArgError, match="below its allocation"):
        vol.resize(50, shrink=True)
    with pytest.raises(InvalidArgError, match="below 0"):
        vol.resize(2000, delta=True, shrink=True)
    vol.resize(500, shrink=True)
    assert vol.info() == StorageVolInfo(StorageVolType.FILE, 500, 100)
    vol.resize(250, delta=True)
    assert vol.info().capacity == 750
    vol.resize(150, delta=True, shrink=True)
    assert vol.info().capacity == 600
    vol.resize(1000, allocate=True)
    assert vol.info() == StorageVolInfo(StorageVolType.FILE, 1000, 1000)
    assert pool.info().allocation == 1000
    with pytest.raises(InvalidArgError, match="not enough space left in storage pool 'default-pool'"):
        vol.resize(200 * GiB, allocate=True)
    vol.resize(200 * GiB)  # without allocate the volume is sparse: any capacity
    assert pool.info().allocation == 1000
    with pytest.raises(InvalidArgError, match="overflows"):
        vol.resize((1 << 64) - 1, delta=True)
    assert vol.info().capacity == 200 * GiB


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["create", "delete", "resize", "clone"]),
            st.integers(0, 5),
            st.integers(0, 60 * GiB),
        ),
        max_size=25,
    )
)
def test_the_pool_accounts_exactly_what_its_volumes_hold(ops: list[tuple[str, int, int]]) -> None:
    virt_test.reset_default_node()
    with virtcore.open("test:///default") as conn:
        pool = conn.lookup_storage_pool("default-pool")
        for op, n, size in ops:
            name = f"v{n}"
            try:
                if op == "create":
                    pool.create_volume(vol_xml(name, size, size // 2))
                elif op == "delete":
                    pool.lookup_volume(name).delete()
                elif op == "resize":
                    pool.lookup_volume(name).resize(size, allocate=True, shrink=True)
                else:
                    pool.create_volume_from(vol_xml(name + "c"), pool.lookup_volume(name))
            except (StorageVolExistError, NoStorageVolError, OperationFailedError, InvalidArgError):
                pass
            total = sum(v.info().allocation for v in pool.list_volumes())
            info = pool.info()
            assert info.allocation == total <= POOL_CAP
            assert info.available == POOL_CAP - total


def test_connections_in_threads_keep_the_accounts_exact() -> None:
    import threading

    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            with virtcore.open("test:///default") as conn:
                pool = conn.lookup_storage_pool("default-pool")
                for i in range(30):
                    vol = pool.create_volume(vol_xml(f"t{n}-{i}", 1000 + n, 100 + i))
                    if i % 3:
                        vol.resize(5000 + n, allocate=True)
                    if i % 2:
                        vol.delete()
        except BaseException as exc:  # reported below, with the thread's number
            errors.append(exc)

    # held open throughout: test:///default's state lives while a connection is open on it
    with virtcore.open("test:///default") as conn:
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        pool = conn.lookup_storage_pool("default-pool")
        vols = pool.list_volumes()
        assert len(vols) == 4 * 15
        assert pool.info().allocation == sum(v.info().allocation for v in vols)


# -- data: upload, download, wipe ---------------------------------------------


def test_upload_and_download_at_an_offset(pool: virtcore.StoragePool) -> None:
    vol = pool.create_volume(vol_xml("d", 100, 0))
    assert vol.upload(io.BytesIO(b"abc"), offset=10) == 3
    out = io.BytesIO()
    assert vol.download(out) == 100  # the whole capacity: what was never written reads as zeros
    assert out.getvalue() == bytes(10) + b"abc" + bytes(87)
    assert vol.info().allocation == 13 and pool.info().allocation == 13
    out = io.BytesIO()
    assert vol.download(out, offset=11, length=4) == 4
    assert out.getvalue() == b"bc\0\0"


def test_transfers_beyond_the_capacity_are_refused_and_change_nothing(pool: virtcore.StoragePool) -> None:
    vol = pool.create_volume(vol_xml("small", 10, 0))
    vol.upload(io.BytesIO(b"0123456789"))
    with pytest.raises(InvalidArgError, match="'small'"):
        vol.upload(io.BytesIO(b"x" * 11))
    with pytest.raises(InvalidArgError, match="'small'"):
        vol.upload(io.BytesIO(b"x"), offset=11)
    with pytest.raises(InvalidArgError, match="beyond the end of storage volume 'small'"):
        vol.download(io.BytesIO(), offset=11)
    with pytest.raises(InvalidArgError, match="does not fit"):
        vol.download(io.BytesIO(), offset=5, length=6)
    out = io.BytesIO()
    vol.download(out)
    assert out.getvalue() == b"0123456789"


def test_a_failed_upload_leaves_the_volume_as_it_was(pool: virtcore.StoragePool) -> None:
    vol = pool.create_volume(vol_xml("keep", 4 << 20, 0))
    vol.upload(io.BytesIO(b"old!"))

    class FailsLate(io.RawIOBase):
        name = "/dev/flaky"

        def __init__(self) -> None:
            self.calls = 0

        def readable(self) -> bool:
            return True

        def readinto(self, b: bytearray) -> int:  # type: ignore[override]
            self.calls += 1
            if self.calls > 1:
                raise OSError(5, "Input/output error")
            b[: len(b)] = b"n" * len(b)
            return len(b)

    with pytest.raises(ReadFailedError, match="/dev/flaky"):
        vol.upload(FailsLate())  # type: ignore[arg-type]
    out = io.BytesIO()
    vol.download(out, length=8)
    assert out.getvalue() == b"old!" + bytes(4)
    assert vol.info().allocation == 4


def test_clone_copies_the_data(pool: virtcore.StoragePool) -> None:
    src = pool.create_volume(vol_xml("src", 16, 0))
    src.upload(io.BytesIO(b"payload"))
    copy = pool.create_volume_from(vol_xml("copy", 8), src)  # asked smaller: gets the source's capacity
    assert copy.info().capacity == 16
    src.wipe()
    out = io.BytesIO()
    copy.download(out, length=7)
    assert out.getvalue() == b"payload"
    out = io.BytesIO()
    src.download(out)
    assert out.getvalue() == bytes(16)


def test_wipe_offers_zero_only(pool: virtcore.StoragePool) -> None:
    vol = pool.create_volume(vol_xml("w", 8, 0))
    with pytest.raises(ArgumentUnsupportedError, match=r"'random'.*'w'"):
        vol.wipe(StorageVolWipeAlgorithm.RANDOM)
    with pytest.raises(InvalidArgError, match="wipe algorithm"):
        vol.wipe(99)  # type: ignore[arg-type]


# -- node files ---------------------------------------------------------------


def test_libvirts_testnode_pool_with_a_volume_file(testdriver_dir: Path) -> None:
    with virtcore.open(f"test://{testdriver_dir / 'testnode.xml'}") as conn:
        pool = conn.lookup_storage_pool("default-pool")
        assert pool.uuid == "35bb2ad9-388a-cdfe-461a-b8907f6e53fe"
        assert pool.is_active() and pool.is_persistent()
        [vol] = pool.list_volumes()
        assert (vol.name, vol.key, vol.path) == (
            "default-vol",
            "/default-pool/default-vol",
            "/default-pool/default-vol",
        )
        assert vol.info() == StorageVolInfo(StorageVolType.FILE, 1000000, 50000)
        assert pool.info() == StoragePoolInfo(StoragePoolState.RUNNING, POOL_CAP, 50000, POOL_CAP - 50000)


def test_libvirts_inline_node_pool(testdriver_dir: Path) -> None:
    with virtcore.open(f"test://{testdriver_dir / 'testnodeinline.xml'}") as conn:
        pool = conn.lookup_storage_pool("default-pool")
        assert [(v.name, v.info()) for v in pool.list_volumes()] == [
            ("default-vol", StorageVolInfo(StorageVolType.FILE, 1000000, 50000))
        ]


def test_node_file_pools_keep_paths_and_keys_their_volumes_give(tmp_path: Path) -> None:
    (tmp_path / "vol.xml").write_text(vol_xml("from-file", 300))
    node = tmp_path / "node.xml"
    node.write_text(
        "<node>"
        "<pool type='dir'><name>p</name><target><path>/data</path></target>"
        "<volume><name>plain</name><capacity>100</capacity></volume>"
        "<volume><name>given</name><key>k1</key><capacity>200</capacity>"
        "<target><path>/elsewhere/given.img</path></target></volume>"
        "<volume file='vol.xml'/>"
        "</pool>"
        "<pool type='dir'><name>q</name><target><path>/q</path></target></pool>"
        "</node>"
    )
    with virtcore.open(f"test://{node}") as conn:
        pool = conn.lookup_storage_pool("p")
        got = {v.name: (v.key, v.path, v.info().capacity) for v in pool.list_volumes()}
        assert got == {
            "plain": ("/data/plain", "/data/plain", 100),
            "given": ("k1", "/elsewhere/given.img", 200),
            "from-file": ("/data/from-file", "/data/from-file", 300),
        }
        assert pool.info().allocation == 600
        assert conn.lookup_storage_volume_by_key("k1").name == "given"
        assert sorted(p.name for p in conn.list_storage_pools()) == ["p", "q"]


@pytest.mark.parametrize(
    ("body", "error", "match"),
    [
        ("<pool type='dir'><name>p</name></pool>", XMLError, "target path"),
        ("<pool type='nope'><name>p</name></pool>", ConfigUnsupportedError, "'nope'"),
        (
            "<pool type='dir'><name>p</name><target><path>/p</path></target><volume><name>a/b</name>"
            "<capacity>1</capacity></volume></pool>",
            XMLError,
            "'a/b'",
        ),
        (
            "<pool type='dir'><name>p</name><target><path>/p</path></target>"
            "<volume file='missing.xml'/></pool>",
            ReadFailedError,
            "missing.xml",
        ),
        (
            "<pool type='dir'><name>p</name><target><path>/p</path></target></pool>"
            "<pool type='dir'><name>p</name><target><path>/p2</path></target></pool>",
            OperationFailedError,
            "'p'",
        ),
        (
            "<pool type='dir'><name>p</name><target><path>/p</path></target>"
            "<volume><name>a</name><key>k</key><capacity>1</capacity></volume>"
            "<volume><name>b</name><key>k</key><capacity>1</capacity></volume></pool>",
            OperationFailedError,
            "key 'k' is the key of volume 'a'",
        ),
    ],
)
def test_bad_node_file_pools_are_refused(
    tmp_path: Path, body: str, error: type[Exception], match: str
) -> None:
    node = tmp_path / "node.xml"
    node.write_text(f"<node>{body}</node>")
    with pytest.raises(error, match=match):
        virtcore.open(f"test://{node}")
