"""The driver on a host without Xen, against a fake ``xl`` (a script keeping domains in a
JSON file): channel registration and declining, xl.cfg generation, xl JSON parsing,
error mapping, persistent definitions. The real toolstack is exercised in dom0/."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import virtcore
import virtcore.xml
from virtcore import DomainState
from virtcore.errors import (
    NoConnectError,
    NoStoragePoolError,
    NoStorageVolError,
    OperationFailedError,
    OperationInvalidError,
    ResourceBusyError,
)
from virtcore.types import ShutoffReason

FAKE_XL = r"""#!PYTHON
import json, os, re, sys
state_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "state.json")
st = json.load(open(state_path)) if os.path.exists(state_path) else {"next": 1, "doms": []}
args = sys.argv[1:]
def save(): json.dump(st, open(state_path, "w"))
def find(ref):
    for d in st["doms"]:
        if str(d["domid"]) == ref or d["name"] == ref:
            return d
    sys.stderr.write(f"Error: Domain '{ref}' does not exist.\n"); sys.exit(1)
if args[0] == "info":
    print("host                   : fakehost\nmachine                : x86_64\nnr_cpus                : 4\n"
          "nr_nodes               : 1\ncores_per_socket       : 2\nthreads_per_core       : 2\n"
          "cpu_mhz                : 2400.000\ntotal_memory           : 4096\nxen_major              : 4\n"
          "xen_minor              : 17\nxen_extra              : .7\n"
          "xen_caps               : xen-3.0-x86_64 hvm-3.0-x86_64")
elif args[:2] == ["list", "-l"]:
    print(json.dumps([{"domid": d["domid"], "config": {"c_info": {"name": d["name"], "uuid": d["uuid"]}}}
                      for d in st["doms"]], indent=2))
elif args[0] == "list":
    doms = [find(args[1])] if len(args) > 1 else st["doms"]
    print("Name                                        ID   Mem VCPUs\tState\tTime(s)")
    for d in doms:
        print(f"{d['name']:<40} {d['domid']:>5} {d['mem']:>5} {d['vcpus']:>5}     {d['flags']}      1.5")
elif args[0] == "create":
    cfg = open(args[-1]).read()
    open(state_path + ".lastcfg", "w").write(cfg)
    if "/missing/" in cfg:
        sys.stderr.write("libxl: error: libxl_dom.c:1: failed to load kernel /missing/vmlinuz\n")
        sys.exit(3)
    name = re.search(r'^name = "(.*)"', cfg, re.M).group(1)
    uuid = re.search(r'^uuid = "(.*)"', cfg, re.M).group(1)
    mem = int(re.search(r'^memory = (\d+)', cfg, re.M).group(1))
    st["doms"].append({"name": name, "uuid": uuid, "domid": st["next"], "mem": mem, "vcpus": 1,
                       "flags": "--p---" if "-p" in args else "-b----"})
    st["next"] += 1; save()
elif args[0] in ("block-attach", "block-detach", "network-attach", "network-detach"):
    find(args[1])
    with open(state_path + ".devices", "a") as f:
        f.write(json.dumps(args) + "\n")
elif args[0] in ("destroy", "pause", "unpause"):
    d = find(args[1])
    if args[0] == "destroy": st["doms"].remove(d)
    else: d["flags"] = "--p---" if args[0] == "pause" else "-b----"
    save()
elif args[0] == "save":  # the domain's record as the image's first line, then it is gone
    d = find(args[1])
    open(args[2], "w").write(json.dumps(d) + "\n")
    st["doms"].remove(d); save()
elif args[0] == "restore":
    d = json.loads(open(args[-1], "rb").readline())
    d["domid"], d["flags"] = st["next"], "--p---" if "-p" in args else "-b----"
    st["doms"].append(d); st["next"] += 1; save()
else:
    sys.stderr.write(f"fake xl: unsupported {args}\n"); sys.exit(2)
"""

XML = """<domain type='xen'><name>{name}</name><uuid>{uuid}</uuid>
<memory unit='MiB'>256</memory><currentMemory unit='MiB'>128</currentMemory>
<vcpu current='1'>2</vcpu>
<os><type arch='x86_64' machine='xenpv'>xen</type><kernel>{kernel}</kernel>
<cmdline>console=hvc0</cmdline></os>
<devices><console type='pty'><target type='xen' port='0'/></console></devices></domain>"""


@pytest.fixture
def fake(tmp_path: Path) -> Path:
    xl = tmp_path / "bin" / "xl"
    xl.parent.mkdir()
    xl.write_text(FAKE_XL.replace("PYTHON", sys.executable))
    xl.chmod(0o755)
    return xl


@pytest.fixture
def conn(fake: Path, tmp_path: Path) -> Iterator[virtcore.Connection]:
    uri = f"xen:///system?root={tmp_path / 'root'}&xl={fake}&xenstore={tmp_path / 'no-socket'}"
    with virtcore.open(uri) as c:
        yield c


def xml(name: str, kernel: str = "/boot/vmlinuz", uuid: str = "11111111-2222-3333-4444-555555555555") -> str:
    return XML.format(name=name, kernel=kernel, uuid=uuid)


def test_channels_without_xenstore(conn: virtcore.Connection) -> None:
    kinds = {p.__class__.__name__ for p in conn.driver_objects()}
    assert {"ToolstackChannel", "DefinitionsChannel", "HypervisorChannel"} <= kinds
    assert "XenStoreChannel" not in kinds
    assert conn.get_type() == "Xen" and conn.get_version() == 4_017_007
    assert conn.hostname() == "fakehost"
    node = conn.node_info()
    assert (node.cpus, node.memory, node.sockets, node.cores, node.threads) == (4, 4096 * 1024, 1, 2, 2)


def test_capabilities_validate_against_libvirts_schema(conn: virtcore.Connection) -> None:
    from libvirt_testdata import require
    from lxml import etree

    schema = etree.RelaxNG(etree.parse(str(require("schemas", "capability.rng"))))
    doc = etree.fromstring(conn.capabilities_xml().encode())
    assert schema.validate(doc), schema.error_log.last_error
    assert doc.findall("guest/os_type")[0].text == "xen" and len(doc.findall("guest")) == 2


def test_define_start_destroy_through_xl(conn: virtcore.Connection, fake: Path, tmp_path: Path) -> None:
    dom = conn.define_domain(xml("g1"))
    assert (tmp_path / "root/etc/g1.xml").exists()
    assert dom.state()[0] == DomainState.SHUTOFF and dom.id == -1
    assert dom.info().memory == 128 * 1024 and dom.info().nr_virt_cpu == 1
    dom.start()
    cfg = (fake.parent / "state.json.lastcfg").read_text()
    assert 'type = "pv"' in cfg and 'kernel = "/boot/vmlinuz"' in cfg
    assert "maxmem = 256" in cfg and "memory = 128" in cfg and "maxvcpus = 2" in cfg
    assert dom.id == 1 and dom.state()[0] == DomainState.RUNNING
    assert conn.lookup_domain_by_id(1) == dom
    assert [d.name for d in conn.list_domains(active=True)] == ["g1"]
    with pytest.raises(OperationInvalidError, match="g1"):
        dom.start()
    dom.suspend()
    assert dom.state()[0] == DomainState.PAUSED
    dom.destroy()
    assert dom.state() == (DomainState.SHUTOFF, ShutoffReason.DESTROYED)
    assert json.loads((fake.parent / "state.json").read_text())["doms"] == []


def test_xl_failure_is_a_virterror_with_xls_message(conn: virtcore.Connection) -> None:
    with pytest.raises(OperationFailedError, match="failed to load kernel /missing/vmlinuz"):
        conn.create_domain(xml("g2", kernel="/missing/vmlinuz"))


def test_transient_domain_has_no_definition(conn: virtcore.Connection) -> None:
    dom = conn.create_domain(xml("g3"))
    assert dom.is_active() and not dom.is_persistent()
    dom.destroy()
    with pytest.raises(virtcore.errors.NoDomainError):
        conn.lookup_domain("g3")


def test_no_hypervisor_means_no_connection(tmp_path: Path) -> None:
    uri = f"xen:///system?root={tmp_path}&xl={tmp_path / 'absent-xl'}&xenstore={tmp_path / 'absent'}"
    with pytest.raises(NoConnectError):
        virtcore.open(uri)
    # A URI with a host: virtcore.open hands it to the remote driver (as libvirt does);
    # handed to this driver directly, it is refused.
    import virt_xen

    from virtcore.uri import URI

    with pytest.raises(NoConnectError):
        virt_xen.driver(URI.parse("xen://remotehost/system"), False)


def test_storage_comes_from_the_secondary_driver_with_its_state_under_the_uris_root(
    conn: virtcore.Connection, tmp_path: Path
) -> None:
    """xen names the host's storage driver as a secondary one: the connection serves pools
    through it, and the root of the xen URI keeps the storage state out of /etc and /run."""
    if not conn.supports("storage_pool_define_xml"):
        pytest.xfail("no storage driver (entry point 'storage', virt-storage) is installed")
    pool_dir = tmp_path / "pool"
    pool = conn.define_storage_pool(
        f"<pool type='dir'><name>xen-images</name><target><path>{pool_dir}</path></target></pool>"
    )
    try:
        state = tmp_path / "root" / "storage"
        assert any("xen-images" in p.name for p in (state / "etc").rglob("*")), list(state.rglob("*"))
        assert not Path("/etc/virtcore/storage/xen-images.xml").exists()
        assert conn.lookup_storage_pool("xen-images") == pool
    finally:
        pool.undefine()


def _volume_pool(conn: virtcore.Connection, pool_dir: Path) -> virtcore.StoragePool:
    if not conn.supports("storage_pool_define_xml"):
        pytest.xfail("no storage driver (entry point 'storage', virt-storage) is installed")
    pool = conn.define_storage_pool(
        f"<pool type='dir'><name>xen-images</name><target><path>{pool_dir}</path></target></pool>"
    )
    pool.build()
    pool.start()
    return pool


def _with_disk(name: str, disk: str) -> str:
    return xml(name).replace("</devices>", f"{disk}</devices>")


VOLUME_DISK = (
    "<disk type='volume' device='disk'><driver name='qemu' type='qcow2'/>"
    "<source pool='xen-images' volume='{vol}'/><target dev='xvda' bus='xen'/></disk>"
)


def test_a_volume_disk_reaches_xl_as_the_file_it_resolves_to_and_is_kept_while_running(
    conn: virtcore.Connection, fake: Path, tmp_path: Path
) -> None:
    pool_dir = tmp_path / "pool, with a comma"
    pool = _volume_pool(conn, pool_dir)
    base = pool.create_volume(
        "<volume><name>base.qcow2</name><capacity unit='MiB'>1</capacity>"
        "<target><format type='qcow2'/></target></volume>"
    )
    vol = pool.create_volume(
        "<volume><name>a.qcow2</name><capacity unit='MiB'>1</capacity>"
        "<target><format type='qcow2'/></target>"
        f"<backingStore><path>{base.path}</path><format type='qcow2'/></backingStore></volume>"
    )
    path = Path(vol.path)
    dom = conn.define_domain(_with_disk("gv", VOLUME_DISK.format(vol="a.qcow2")))
    dom.start()
    try:
        cfg = (fake.parent / "state.json.lastcfg").read_text()
        assert f'"format=qcow2,vdev=xvda,access=rw,backendtype=qdisk,target={path}"' in cfg
        assert "xen-images" not in cfg  # xl knows no pools
        live = virtcore.xml.parse_domain(dom.xml_desc()).disks[0]
        assert (live.type, live.source_pool, live.source) == ("volume", "xen-images", "a.qcow2")
        # the storage driver asks the Xen driver who uses the volume
        with pytest.raises(ResourceBusyError, match=r"cannot delete it: .*'a\.qcow2' .*'xen-images'.*'gv'"):
            vol.delete()
        with pytest.raises(ResourceBusyError, match=r"'base\.qcow2' .*'gv'"):
            base.delete()  # the guest reads it through a.qcow2's backing chain
        with pytest.raises(ResourceBusyError, match=r"cannot stop storage pool 'xen-images'.*'gv'"):
            pool.destroy()
        assert path.exists()
    finally:
        dom.destroy()
    vol.delete()
    assert not path.exists()
    base.delete()
    pool.destroy()
    pool.delete()
    pool.undefine()


def test_a_file_disk_of_a_running_domain_keeps_its_volume_too(
    conn: virtcore.Connection, tmp_path: Path
) -> None:
    pool = _volume_pool(conn, tmp_path / "pool")
    vol = pool.create_volume(
        "<volume><name>b.img</name><capacity unit='MiB'>1</capacity>"
        "<target><format type='raw'/></target></volume>"
    )
    disk = f"<disk type='file' device='disk'><source file='{vol.path}'/><target dev='xvdb' bus='xen'/></disk>"
    dom = conn.create_domain(_with_disk("gf", disk))
    try:
        with pytest.raises(ResourceBusyError, match=r"'b\.img' .*running domain 'gf'"):
            vol.wipe()
    finally:
        dom.destroy()
    vol.wipe()
    vol.delete()


def test_an_unknown_volume_is_named_and_nothing_starts(
    conn: virtcore.Connection, fake: Path, tmp_path: Path
) -> None:
    _volume_pool(conn, tmp_path / "pool")
    dom = conn.define_domain(_with_disk("gl", VOLUME_DISK.format(vol="gone.img")))
    with pytest.raises(
        NoStorageVolError, match=r"'gone\.img'.*pool 'xen-images' of disk 'xvda' of domain 'gl'"
    ):
        dom.start()
    assert dom.state()[0] == DomainState.SHUTOFF
    assert not (fake.parent / "state.json.lastcfg").exists()
    lost_pool = conn.define_domain(
        _with_disk("gp", VOLUME_DISK.format(vol="a.img").replace("xen-images", "nopool"))
    )
    with pytest.raises(NoStoragePoolError, match=r"'nopool'.*of disk 'xvda' of domain 'gp'"):
        lost_pool.start()


def test_a_hot_plugged_volume_disk_reaches_xl_as_its_file_and_is_kept(
    conn: virtcore.Connection, fake: Path, tmp_path: Path
) -> None:
    pool = _volume_pool(conn, tmp_path / "pool")
    vol = pool.create_volume(
        "<volume><name>hot.img</name><capacity unit='MiB'>1</capacity>"
        "<target><format type='raw'/></target></volume>"
    )
    path = vol.path
    dom = conn.create_domain(xml("gh"))
    try:
        dom.attach_device(
            "<disk type='volume' device='disk'><source pool='xen-images' volume='hot.img'/>"
            "<target dev='xvdc' bus='xen'/></disk>"
        )
        calls = [json.loads(line) for line in (fake.parent / "state.json.devices").read_text().splitlines()]
        assert calls[-1][:2] == ["block-attach", "1"] and calls[-1][2].endswith(f"target={path}")
        live = virtcore.xml.parse_domain(dom.xml_desc()).disks[-1]
        assert (live.type, live.source_pool, live.source) == ("volume", "xen-images", "hot.img")
        with pytest.raises(ResourceBusyError, match=r"'hot\.img' .*running domain 'gh'"):
            vol.delete()
        with pytest.raises(NoStorageVolError, match=r"'nope\.img'.*disk 'xvdd' of domain 'gh'"):
            dom.attach_device(
                "<disk type='volume' device='disk'><source pool='xen-images' volume='nope.img'/>"
                "<target dev='xvdd' bus='xen'/></disk>"
            )
        assert len((fake.parent / "state.json.devices").read_text().splitlines()) == len(calls)  # no xl run
    finally:
        dom.destroy()
    vol.delete()


@pytest.mark.parametrize(
    ("suspend", "save_flag", "restore_flag", "expected"),
    [
        (False, "", "", DomainState.RUNNING),
        (True, "", "", DomainState.PAUSED),  # the state it was saved in
        (False, "paused", "", DomainState.PAUSED),  # the state save() was told to record
        (True, "running", "", DomainState.RUNNING),
        (True, "", "running", DomainState.RUNNING),  # the state restore chooses wins
        (False, "paused", "running", DomainState.RUNNING),
        (False, "", "paused", DomainState.PAUSED),
    ],
)
def test_save_and_restore_into_a_chosen_state(
    conn: virtcore.Connection,
    fake: Path,
    tmp_path: Path,
    suspend: bool,
    save_flag: str,
    restore_flag: str,
    expected: DomainState,
) -> None:
    """VIR_DOMAIN_SAVE_RUNNING / _PAUSED as libvirt's QEMU driver takes them (libxl's refuses
    them on save and knows only _PAUSED on restore): the file records a state, restore may choose."""
    from virt_xen._channels import read_save_meta

    from virtcore.types import PausedReason, RunningReason

    dom = conn.define_domain(xml("g5"))
    dom.start()
    if suspend:
        dom.suspend()
    image = tmp_path / "g5.save"
    dom.save(image, **({save_flag: True} if save_flag else {}))
    assert dom.state() == (DomainState.SHUTOFF, ShutoffReason.SAVED)
    recorded = (suspend and save_flag != "running") or save_flag == "paused"
    assert read_save_meta(str(image))["paused"] is recorded
    restored = conn.restore_domain(image, **({restore_flag: True} if restore_flag else {}))
    assert restored == dom
    flags = json.loads((fake.parent / "state.json").read_text())["doms"][0]["flags"]
    assert ("p" in flags) is (expected == DomainState.PAUSED)  # what xl was told (restore -p)
    reason = PausedReason.SAVE if expected == DomainState.PAUSED else RunningReason.RESTORED
    assert restored.state() == (expected, reason)
    restored.destroy()


def test_save_and_restore_refuse_both_states_at_once(conn: virtcore.Connection, tmp_path: Path) -> None:
    dom = conn.define_domain(xml("g6"))
    dom.start()
    with pytest.raises(virtcore.errors.InvalidArgError, match="mutually exclusive"):
        dom.save(tmp_path / "g6.save", running=True, paused=True)
    assert dom.state()[0] == DomainState.RUNNING
    dom.destroy()
