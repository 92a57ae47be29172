"""Return shapes and errors side by side with Debian's python3-libvirt, and what libvirt's flags do.

``scenario_shapes.py`` is one libvirt-python script run unchanged by both modules
on test:///default; everything it prints must be equal but for the differences
pinned in :data:`KNOWN`, each with the reason (most are virt-test's, not the layer's).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest

HERE = Path(__file__).parent

#: Where the two differ, and why.
KNOWN = {
    "vol_again": "virt-test: an existing volume name is STORAGE_VOL_EXIST; libvirt 9.0: OPERATION_FAILED",
    "vol_resize": "virt-test resizes volumes; libvirt 9.0's test driver has no virStorageVolResize",
    "ro_info": "virt-test restarts a domain with its defined memory; libvirt 9.0 keeps the balloon size",
    "ostype": "libvirt 9.0's test driver says 'linux' whatever the XML says; virt-libvirt reads <os><type>",
    "schedparams2": "libvirt-python asks with VIR_TYPED_PARAM_STRING_OKAY, which 9.0's test driver refuses",
}


def _normalized(out: dict[str, Any]) -> dict[str, Any]:
    """The scenario's output less what varies run by run (CPU time, block stats) and listing order."""
    for key in ("dinfo", "dinfo2", "define_info", "ro_info"):
        if isinstance(out.get(key), list) and len(out[key]) == 5:
            out[key][4] = type(out[key][4]).__name__
    out["blockstats"] = [type(v).__name__ for v in out["blockstats"]]
    for key in ("snapnames", "allsnaps"):
        out[key] = sorted(out[key])
    return out


def test_the_scenario_gives_what_libvirt_python_gives(side_by_side) -> None:
    theirs, ours = side_by_side.run((HERE / "scenario_shapes.py").read_text())
    theirs, ours = _normalized(theirs), _normalized(ours)
    assert len(theirs) > 120 and set(ours) == set(theirs)
    differing = {k for k in theirs if theirs[k] != ours[k]}
    assert differing == set(KNOWN), {k: (theirs[k], ours.get(k)) for k in differing ^ set(KNOWN)}
    # The shapes that matter most, spelled out.
    assert ours["info"][1] == 3072  # getInfo: MiB
    assert ours["uuidb"][0] == "bytes" and len(ours["uuidb"][1]) == 32
    assert ours["nosuch"] == ["error", libvirt.VIR_ERR_NO_DOMAIN]
    assert ours["badflags"] == ["error", libvirt.VIR_ERR_INVALID_ARG]
    assert ours["lasterr"] == libvirt.VIR_ERR_NO_INTERFACE  # the last failed call's, kept


@pytest.fixture
def conn(virt_uri: str) -> Iterator[libvirt.virConnect]:
    """A connection to a private node with libvirt's default contents (test:///default is shared)."""
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    c = libvirt.open(virt_uri)
    yield c
    c.close()
    libvirt.registerErrorHandler(None, None)


def test_start_paused_leaves_the_domain_paused(conn: libvirt.virConnect) -> None:
    dom = conn.lookupByName("test")
    dom.destroy()
    assert dom.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED) == 0
    assert dom.state()[0] == libvirt.VIR_DOMAIN_PAUSED
    assert conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_PAUSED)[0].name() == "test"


def test_xml_inactive_is_the_persistent_definition(conn: libvirt.virConnect) -> None:
    dom = conn.lookupByName("test")
    dom.setMemory(1024 * 1024)
    assert "<currentMemory unit='KiB'>1048576</currentMemory>" in dom.XMLDesc(0).replace('"', "'")
    inactive = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE).replace('"', "'")
    assert "<currentMemory unit='KiB'>1048576</currentMemory>" not in inactive


def test_undefine_with_snapshots_needs_the_metadata_flag(conn: libvirt.virConnect) -> None:
    dom = conn.lookupByName("test")
    dom.snapshotCreateXML("<domainsnapshot><name>s1</name></domainsnapshot>")
    dom.destroy()
    with pytest.raises(libvirt.libvirtError) as caught:
        dom.undefineFlags(0)
    assert caught.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
    assert dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA) == 0
    assert "test" not in conn.listDefinedDomains()


def test_an_unknown_flag_bit_is_invalid_arg_naming_the_function(conn: libvirt.virConnect) -> None:
    dom = conn.lookupByName("test")
    with pytest.raises(libvirt.libvirtError) as caught:
        dom.undefineFlags(1 << 20)
    err = caught.value
    assert err.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
    assert (
        str(err) == "unsupported flags (0x100000) in function testDomainUndefineFlags"
    )  # the driver's, as libvirt
    assert err.get_error_domain() == libvirt.VIR_FROM_TEST
    assert err.get_str2() == "flags" and err.get_int1() == 0


def test_errors_go_to_the_handler_and_the_last_error() -> None:
    seen: list[tuple[object, Any]] = []
    libvirt.registerErrorHandler(lambda ctx, err: seen.append((ctx, err)), "ctx")
    try:
        conn = libvirt.open("test:///default")
        with pytest.raises(libvirt.libvirtError) as caught:
            conn.lookupByName("nosuch")
        conn.close()
    finally:
        libvirt.registerErrorHandler(None, None)
    assert seen == [("ctx", caught.value.err)]
    code, domain, message, level = caught.value.err[:4]
    assert (code, level) == (libvirt.VIR_ERR_NO_DOMAIN, libvirt.VIR_ERR_ERROR) and "nosuch" in message
    assert caught.value.get_error_domain() == domain
    assert libvirt.virGetLastError() == caught.value.err  # the thread's last error, as libvirt's
    assert libvirt.virGetLastErrorCode() == libvirt.VIR_ERR_NO_DOMAIN
    libvirt.virResetLastError()
    assert libvirt.virGetLastError() is None and libvirt.virGetLastErrorMessage() == "no error"


def test_a_none_uri_is_libvirt_default_uri(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    node = tmp_path / "node.xml"
    node.write_text("<node/>\n")
    monkeypatch.setenv("LIBVIRT_DEFAULT_URI", f"test://{node}")
    conn = libvirt.open(None)
    assert conn.getURI() == f"test://{node}" and conn.listAllDomains() == []
    monkeypatch.setenv("VIRTCORE_DEFAULT_URI", "test:///default")
    assert libvirt.open(None).getURI() == f"test://{node}"  # libvirt's variable first
    monkeypatch.delenv("LIBVIRT_DEFAULT_URI")
    assert libvirt.openReadOnly(None).getURI() == "test:///default"  # then virtcore's


def test_read_only_connections_refuse_changes(virt_uri: str) -> None:
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    for ro in (
        libvirt.openReadOnly(virt_uri),
        libvirt.openAuth(
            virt_uri, [[libvirt.VIR_CRED_AUTHNAME], lambda c, o: 0, None], libvirt.VIR_CONNECT_RO
        ),
    ):
        dom = ro.lookupByName("test")
        assert dom.info()[0] == libvirt.VIR_DOMAIN_RUNNING
        with pytest.raises(libvirt.libvirtError) as caught:
            dom.destroy()
        assert caught.value.get_error_code() == libvirt.VIR_ERR_OPERATION_DENIED
    libvirt.registerErrorHandler(None, None)


def _volume(conn: libvirt.virConnect, pool_name: str, name: str, size: int) -> libvirt.virStorageVol:
    pool = conn.storagePoolLookupByName(pool_name)
    xml = f"<volume><name>{name}</name><capacity unit='B'>{size}</capacity></volume>"
    return pool.createXML(xml, 0)


def test_streams_carry_a_volume_upload_and_download(conn: libvirt.virConnect) -> None:
    vol = _volume(conn, "default-pool", "data.img", 1 << 20)
    payload = os.urandom(200_000)
    chunks = [payload[i : i + 65536] for i in range(0, len(payload), 65536)]
    st = conn.newStream()
    assert vol.upload(st, 0, len(payload)) == 0
    st.sendAll(lambda stream, n, queue: queue.pop(0) if queue else b"", chunks)
    assert st.finish() == 0
    got: list[bytes] = []
    st = conn.newStream()
    assert vol.download(st, 0, len(payload)) == 0
    st.recvAll(lambda stream, data, sink: sink.append(data) or len(data), got)
    st.finish()
    assert b"".join(got) == payload


def test_an_aborted_upload_leaves_the_volume_as_it_was(conn: libvirt.virConnect) -> None:
    vol = _volume(conn, "default-pool", "keep.img", 4096)
    st = conn.newStream()
    vol.upload(st, 0, 4)
    st.send(b"AAAA")
    st.finish()
    st = conn.newStream()
    vol.upload(st, 0, 4)
    st.send(b"BBBB")
    assert st.abort() == 0
    st = conn.newStream()
    vol.download(st, 0, 4)
    assert st.recv(4) == b"AAAA" and st.recv(4) == b""
    with pytest.raises(libvirt.libvirtError) as caught:
        st.send(b"x")
    assert caught.value.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID


def test_a_handler_failure_aborts_send_all(conn: libvirt.virConnect) -> None:
    vol = _volume(conn, "default-pool", "fail.img", 4096)
    st = conn.newStream()
    vol.upload(st, 0, 0)

    def handler(stream: libvirt.virStream, n: int, opaque: object) -> bytes:
        raise OSError("source went away")

    with pytest.raises(OSError, match="source went away"):
        st.sendAll(handler, None)
    with pytest.raises(libvirt.libvirtError):
        st.finish()


def test_streams_on_real_files(tmp_path: Path) -> None:
    """A dir pool of virt-storage: the upload lands in the volume's file, through qemu-img's world."""
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    conn = libvirt.open(f"storage:///embed?root={tmp_path}")
    try:
        target = tmp_path / "images"
        target.mkdir()
        pool = conn.storagePoolCreateXML(
            f"<pool type='dir'><name>p</name><target><path>{target}</path></target></pool>", 0
        )
        vol = pool.createXML("<volume><name>v.raw</name><capacity unit='K'>64</capacity></volume>", 0)
        st = conn.newStream()
        vol.upload(st, 512, 5)
        st.send(b"hello")
        st.finish()
        data = (target / "v.raw").read_bytes()
        assert data[512:517] == b"hello" and len(data) == 64 * 1024
        assert vol.info()[1] == 64 * 1024
        assert vol.path() == str(target / "v.raw")
        assert conn.storageVolLookupByPath(str(target / "v.raw")).name() == "v.raw"
    finally:
        conn.close()
        libvirt.registerErrorHandler(None, None)


def test_device_changes_of_the_persistent_definition_alone_are_refused(conn: libvirt.virConnect) -> None:
    dom = conn.lookupByName("test")
    disk = (
        "<disk type='file' device='disk'><source file='/tmp/x.img'/><target dev='vdz' bus='virtio'/></disk>"
    )
    with pytest.raises(libvirt.libvirtError) as caught:
        dom.attachDeviceFlags(disk, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    assert caught.value.get_error_code() == libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED
    assert "vdz" not in dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)


def test_force_boot_and_undefine_drop_the_managed_save_image(conn: libvirt.virConnect) -> None:
    dom = conn.lookupByName("test")
    dom.managedSave(0)
    assert dom.hasManagedSaveImage(0) == 1
    dom.createWithFlags(libvirt.VIR_DOMAIN_START_FORCE_BOOT)
    assert dom.hasManagedSaveImage(0) == 0 and dom.isActive() == 1
    dom.managedSave(0)
    assert dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE) == 0
    assert "test" not in [d.name() for d in conn.listAllDomains()]


SHAPES = r"""
import json, libvirt
libvirt.registerErrorHandler(lambda ctx, err: None, None)
conn = libvirt.open("test:///default")
dom = conn.lookupByName("test")

def shape(v, depth=0):
    # the container types down to two levels (JSON makes tuples and lists alike)
    if isinstance(v, (tuple, list)) and depth < 2:
        return [type(v).__name__] + [shape(x, depth + 1) for x in v[:3]]
    if isinstance(v, dict) and depth < 2:
        return ["dict"] + sorted((k, shape(x, depth + 1)) for k, x in v.items())
    return type(v).__name__

out = {}
for key, fn in (
    ("getCPUMap", lambda: conn.getCPUMap(0)),
    ("getInfo", conn.getInfo),
    ("getCellsFreeMemory", lambda: conn.getCellsFreeMemory(0, 1)),
    ("getSecurityModel", conn.getSecurityModel),
    ("listDomainsID", conn.listDomainsID),
    ("info", dom.info),
    ("state", lambda: dom.state(0)),
    ("vcpus", dom.vcpus),
    ("vcpuPinInfo", lambda: dom.vcpuPinInfo(0)),
    ("emulatorPinInfo", lambda: dom.emulatorPinInfo(0)),
    ("blockStats", lambda: dom.blockStats("vda")),
    ("interfaceStats", lambda: dom.interfaceStats("vnet0")),
    ("memoryStats", dom.memoryStats),
    ("controlInfo", lambda: dom.controlInfo(0)),
    ("schedulerType", dom.schedulerType),
    ("UUID", dom.UUID),
    ("getCPUStats", lambda: dom.getCPUStats(True, 0)),
    ("poolInfo", lambda: conn.storagePoolLookupByName("default-pool").info()),
    ("volInfo", lambda: conn.storagePoolLookupByName("default-pool").listAllVolumes(0)[0].info()
     if conn.storagePoolLookupByName("default-pool").listAllVolumes(0) else None),
    ("listAllDomains", lambda: conn.listAllDomains(0)),
    ("listDefinedDomains", conn.listDefinedDomains),
    ("listNetworks", conn.listNetworks),
    ("listStoragePools", conn.listStoragePools),
    ("getAllDomainStats", lambda: conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE, 0)),
    ("domainListGetStats", lambda: conn.domainListGetStats([dom], libvirt.VIR_DOMAIN_STATS_STATE, 0)),
    ("blockInfo", lambda: dom.blockInfo("vda", 0)),
    ("jobInfo", dom.jobInfo),
    ("jobStats", lambda: dom.jobStats(0)),
    ("getTime", lambda: dom.getTime(0)),
    ("schedulerParameters", dom.schedulerParameters),
    ("memoryParameters", lambda: dom.memoryParameters(0)),
    ("blkioParameters", lambda: dom.blkioParameters(0)),
    ("numaParameters", lambda: dom.numaParameters(0)),
    ("ioThreadInfo", lambda: dom.ioThreadInfo(0)),
    ("listAllSnapshots", lambda: dom.listAllSnapshots(0)),
    ("snapshotListNames", lambda: dom.snapshotListNames(0)),
    ("getCPUStatsNode", lambda: conn.getCPUStats(-1, 0)),
    ("getMemoryStatsNode", lambda: conn.getMemoryStats(-1, 0)),
    ("listAllDevices", lambda: conn.listAllDevices(0)),
    ("listCaps", lambda: conn.nodeDeviceLookupByName("computer").listCaps()),
    ("listAllInterfaces", lambda: conn.listAllInterfaces(0)),
    ("interfaceAddresses", lambda: dom.interfaceAddresses(0, 0)),
    ("guestInfo", lambda: dom.guestInfo(0, 0)),
    ("getSysinfoLen", lambda: len(conn.getSysinfo(0))),
):
    try:
        out[key] = shape(fn())
    except libvirt.libvirtError as e:
        out[key] = ["error", e.get_error_code()]
print(json.dumps(out))
"""


def test_return_values_have_libvirt_pythons_container_types(side_by_side) -> None:
    """Tuples where libvirt-python gives tuples, lists where it gives lists (JSON output
    comparisons cannot tell them apart; ``a == (1, 2)`` in a program can)."""
    theirs, ours = side_by_side.run(SHAPES)
    assert theirs["getCPUMap"][0] == "tuple"
    differ = {k: (theirs[k], ours.get(k)) for k in theirs if theirs[k] != ours.get(k)}
    assert differ == {}


@pytest.mark.xfail(
    strict=True,
    reason="not built: virConnectGetCPUModelNames (libvirt's test driver lists its CPU map's models; "
    "virtcore has no hook for it yet)",
)
def test_cpu_model_names_as_libvirts_test_driver(side_by_side) -> None:
    script = (
        "import json, libvirt\n"
        "c = libvirt.open('test:///default')\n"
        "print(json.dumps(c.getCPUModelNames('x86_64', 0)[:3]))\n"
    )
    theirs, ours = side_by_side.run(script)
    assert ours == theirs
