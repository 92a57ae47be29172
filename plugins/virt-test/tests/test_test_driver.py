"""The test driver's own behaviour: libvirt's default node, node files, sharing, devices."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import virt_test

import virtcore
from virtcore import DomainEventType, DomainState
from virtcore.errors import (
    ArgumentUnsupportedError,
    ErrorDomain,
    ErrorNumber,
    InvalidArgError,
    NoConnectError,
    OperationFailedError,
    OperationInvalidError,
    ParserReportError,
    ReadFailedError,
    XMLError,
)
from virtcore.types import NodeInfo


@pytest.fixture(autouse=True)
def fresh_default() -> None:
    virt_test.reset_default_node()


def test_default_node_has_libvirts_contents() -> None:
    with virtcore.open("test:///default") as conn:
        assert conn.get_type() == "TEST"
        assert conn.get_version() == 2
        assert conn.node_info() == NodeInfo("i686", 3145728, 16, 1400, 2, 2, 2, 2)
        [dom] = conn.list_domains()
        assert (dom.name, dom.uuid, dom.id) == ("test", "6695eb01-f6a4-8304-79aa-97f2502e193f", 1)
        info = dom.info()
        assert (info.state, info.max_memory, info.memory, info.nr_virt_cpu) == (
            DomainState.RUNNING,
            8388608,
            2097152,
            2,
        )
        assert dom.is_persistent()


def test_default_state_is_shared_by_connections_of_a_process() -> None:
    with virtcore.open("test:///default") as a, virtcore.open("test:///default") as b:
        seen: list[tuple[str, DomainEventType]] = []
        b.on_domain_event(lambda d, e, detail: seen.append((d.name, e)))
        a.lookup_domain("test").suspend()
        assert b.lookup_domain("test").state()[0] == DomainState.PAUSED
        assert seen == [("test", DomainEventType.SUSPENDED)]
        a.lookup_domain("test").resume()


def test_file_nodes_are_private_per_connection(testdriver_dir: Path) -> None:
    uri = f"test://{testdriver_dir / 'testnode.xml'}"
    with virtcore.open(uri) as a, virtcore.open(uri) as b:
        a.lookup_domain("fv0").destroy()
        assert a.lookup_domain("fv0").state()[0] == DomainState.SHUTOFF
        assert b.lookup_domain("fv0").state()[0] == DomainState.RUNNING


def test_libvirts_testnode_file(testdriver_dir: Path) -> None:
    with virtcore.open(f"test://{testdriver_dir / 'testnode.xml'}") as conn:
        assert sorted((d.name, d.id) for d in conn.list_domains()) == [("fc4", 2), ("fc5", 3), ("fv0", 1)]
        # cpu: 4 nodes x 4 sockets x 4 cores x 2 threads = 128, capped by <active>50</active>
        assert conn.node_info() == NodeInfo("i986", 8192000, 50, 6000, 4, 4, 4, 2)
        fv0 = conn.lookup_domain("fv0")
        assert fv0.uuid == "4dea22b3-1d52-d8f3-2516-782e98ab3fa0"
        assert fv0.info().nr_virt_cpu == 4


def test_inline_node_file(testdriver_dir: Path) -> None:
    with virtcore.open(f"test://{testdriver_dir / 'testnodeinline.xml'}") as conn:
        assert {d.name for d in conn.list_domains()} >= {"fv0"}


def test_test_namespace_runstate_transient_managed_save(virt_node_file) -> None:  # type: ignore[no-untyped-def]
    ns = "xmlns:test='http://libvirt.org/schemas/domain/test/1.0'"
    uri = virt_node_file(
        [
            f"<domain type='test' {ns}><name>off</name><memory>1024</memory><os><type>hvm</type></os>"
            "<test:runstate>5</test:runstate></domain>",
            f"<domain type='test' {ns}><name>paused</name><memory>1024</memory><os><type>hvm</type></os>"
            "<test:runstate>3</test:runstate></domain>",
            f"<domain type='test' {ns}><name>temp</name><memory>1024</memory><os><type>hvm</type></os>"
            "<test:transient/></domain>",
            f"<domain type='test' {ns}><name>saved</name><memory>1024</memory><os><type>hvm</type></os>"
            "<test:runstate>5</test:runstate><test:hasmanagedsave/></domain>",
        ]
    )
    with virtcore.open(uri) as conn:
        assert conn.lookup_domain("off").state()[0] == DomainState.SHUTOFF
        assert conn.lookup_domain("paused").state()[0] == DomainState.PAUSED
        temp = conn.lookup_domain("temp")
        assert temp.is_active() and not temp.is_persistent()
        assert "test:" not in temp.xml_desc()
        with pytest.raises(OperationInvalidError, match="managed save"):
            conn.lookup_domain("saved").undefine()


@pytest.mark.parametrize("uri", ["test://", "test:///"])
def test_no_path_is_invalid(uri: str) -> None:
    with pytest.raises(InvalidArgError, match="supply a path or use test:///default"):
        virtcore.open(uri)


def test_remote_test_uri_is_refused() -> None:
    # virtcore.open routes a URI with a host to the remote driver (as libvirt does), so the
    # test driver only sees one handed to it directly: it refuses it.
    from virtcore.uri import URI

    with pytest.raises(NoConnectError, match="local only"):
        virt_test.driver(URI.parse("test://somehost/default"), False)


def test_bad_node_files_name_the_file(tmp_path: Path) -> None:
    # as libvirt 9.0's test driver: a file it cannot open is XML_ERROR in VIR_FROM_TEST...
    missing = tmp_path / "missing.xml"
    with pytest.raises(XMLError) as caught:
        virtcore.open(f"test://{missing}")
    assert caught.value.message == f"XML error: failed to parse xml document '{missing}'"
    assert (caught.value.code, caught.value.domain) == (ErrorNumber.XML_ERROR, ErrorDomain.TEST)
    # ... and one not well formed is its parser's report: XML_DETAIL, the line and a caret
    bad = tmp_path / "bad.xml"
    bad.write_text("<node>\n<domain></node>\n")
    with pytest.raises(ParserReportError) as report:
        virtcore.open(f"test://{bad}")
    assert report.value.message == (
        f"{bad}:2: Opening and ending tag mismatch: domain line 2 and node\n<domain></node>\n---------------^"
    )
    assert (report.value.code, report.value.domain) == (ErrorNumber.XML_DETAIL, ErrorDomain.TEST)
    wrong = tmp_path / "wrong.xml"
    wrong.write_text("<notanode/>")
    with pytest.raises(XMLError, match="expected <node>"):
        virtcore.open(f"test://{wrong}")
    ref = tmp_path / "ref.xml"
    ref.write_text("<node><domain file='nowhere.xml'/></node>")
    with pytest.raises(ReadFailedError, match=re.escape("nowhere.xml")):
        virtcore.open(f"test://{ref}")


def test_save_image_is_a_real_file_with_the_domain_xml(
    virt_conn: virtcore.Connection, tmp_path: Path
) -> None:
    dom = virt_conn.lookup_domain("test")
    image = tmp_path / "saves" / "test.save"
    image.parent.mkdir()
    dom.save(image)
    data = image.read_bytes()
    assert data.startswith(virt_test.node.SAVE_MAGIC)
    header = json.loads(data[len(virt_test.node.SAVE_MAGIC) :])
    assert header["uuid"] == dom.uuid and "<name>test</name>" in header["xml"]
    assert [p.name for p in image.parent.iterdir()] == ["test.save"]  # no temp file left behind


def test_saving_or_restoring_into_a_chosen_state_is_refused_as_libvirts_test_driver(
    virt_conn: virtcore.Connection, tmp_path: Path
) -> None:
    # libvirt 9.0's test driver takes no VIR_DOMAIN_SAVE_RUNNING / _PAUSED (virt-libvirt says
    # INVALID_ARG in testDomainSaveFlags there); nothing is written, the guest keeps running.
    dom = virt_conn.lookup_domain("test")
    image = tmp_path / "s"
    for kwargs in ({"running": True}, {"paused": True}):
        with pytest.raises(ArgumentUnsupportedError, match="saving a domain into a chosen state"):
            dom.save(image, **kwargs)
    with pytest.raises(InvalidArgError, match="running and paused are mutually exclusive"):
        dom.save(image, running=True, paused=True)
    assert not image.exists() and dom.state()[0] == DomainState.RUNNING
    dom.save(image)
    for kwargs in ({"running": True}, {"paused": True}):
        with pytest.raises(ArgumentUnsupportedError, match="restoring a domain into a chosen state"):
            virt_conn.restore_domain(image, **kwargs)
    with pytest.raises(InvalidArgError, match="running and paused are mutually exclusive"):
        virt_conn.restore_domain(image, running=True, paused=True)
    assert dom.state()[0] == DomainState.SHUTOFF
    virt_conn.restore_domain(image)
    assert dom.state()[0] == DomainState.RUNNING


def test_restore_a_save_image_after_undefine_gives_a_transient_domain(
    virt_conn: virtcore.Connection, tmp_path: Path
) -> None:
    dom = virt_conn.lookup_domain("test")
    dom.save(tmp_path / "s")
    dom.undefine()
    restored = virt_conn.restore_domain(tmp_path / "s")
    assert restored.is_active() and not restored.is_persistent()


def test_restore_while_running_is_invalid(virt_conn: virtcore.Connection, tmp_path: Path) -> None:
    dom = virt_conn.lookup_domain("test")
    dom.save(tmp_path / "s")
    virt_conn.restore_domain(tmp_path / "s")
    with pytest.raises(OperationInvalidError, match="already active"):
        virt_conn.restore_domain(tmp_path / "s")


def test_shutdown_follows_on_poweroff(virt_node_file) -> None:  # type: ignore[no-untyped-def]
    uri = virt_node_file(
        [
            "<domain type='test'><name>r</name><memory>1024</memory><os><type>hvm</type></os>"
            "<on_poweroff>restart</on_poweroff></domain>",
        ]
    )
    with virtcore.open(uri) as conn:
        dom = conn.lookup_domain("r")
        dom.shutdown()
        assert dom.state()[0] == DomainState.RUNNING


def test_attach_and_detach_devices(virt_conn: virtcore.Connection) -> None:
    dom = virt_conn.lookup_domain("test")
    disk = (
        "<disk type='file' device='disk'><source file='/tmp/extra.img'/>"
        "<target dev='vdb' bus='virtio'/></disk>"
    )
    dom.attach_device(disk)
    assert "/tmp/extra.img" in dom.xml_desc()
    assert "/tmp/extra.img" not in dom.xml_desc(inactive=True)  # live only: the domain is running
    with pytest.raises(OperationFailedError, match="vdb"):
        dom.attach_device(disk)
    dom.detach_device("<disk type='file'><target dev='vdb'/></disk>")
    assert "/tmp/extra.img" not in dom.xml_desc()
    with pytest.raises(OperationFailedError, match="device not found"):
        dom.detach_device("<disk type='file'><target dev='vdb'/></disk>")
    with pytest.raises(XMLError):
        dom.attach_device("<disk")


def test_stats(virt_conn: virtcore.Connection) -> None:
    dom = virt_conn.lookup_domain("test")
    blk = dom.block_stats("vda")
    assert len(blk) == 5 and all(v >= 0 for v in blk)
    nic = dom.interface_stats("aa:bb:cc:dd:ee:ff")
    assert len(nic) == 8
    (iface,) = dom.interface_addresses()
    assert len(dom.interface_stats(iface.name)) == 8  # testnet0: the name domifaddr shows, as in libvirt
    with pytest.raises(InvalidArgError, match="testnet1"):
        dom.interface_stats("testnet1")
    with pytest.raises(InvalidArgError, match="vdz"):
        dom.block_stats("vdz")
    dom.destroy()
    with pytest.raises(OperationInvalidError):
        dom.block_stats("vda")


def test_memory_changes_apply_to_the_live_definition(virt_conn: virtcore.Connection) -> None:
    dom = virt_conn.lookup_domain("test")
    dom.set_max_memory(1048576)
    assert dom.info().max_memory == 1048576
    assert dom.info().memory == 1048576  # current memory clamped to the new maximum


def test_capabilities_reflect_the_node(testdriver_dir: Path) -> None:
    from lxml import etree

    with virtcore.open(f"test://{testdriver_dir / 'testnode.xml'}") as conn:
        caps = etree.fromstring(conn.capabilities_xml().encode())
    # libvirt 9.0's test driver reads no NUMA cells from a node file (its <cpu><nodes> only goes to
    # getInfo) and offers i686 hvm and xen guests; test:///default has its two cells.
    assert caps.find("host/topology/cells").get("num") == "0"
    assert sorted((g.findtext("os_type"), g.find("arch").get("name")) for g in caps.findall("guest")) == [
        ("hvm", "i686"),
        ("xen", "i686"),
    ]
    with virtcore.open("test:///default") as conn:
        caps = etree.fromstring(conn.capabilities_xml().encode())
    cells = caps.findall("host/topology/cells/cell")
    assert [c.findtext("memory") for c in cells] == ["2097152", "4194304"]
    assert [len(c.findall("cpus/cpu")) for c in cells] == [8, 8]


def test_default_domain_summary_matches_its_xml() -> None:
    from virt_test.loader import DEFAULT_DOMAIN, DEFAULT_NODE_INFO, DEFAULT_NODE_XML, node_from_xml

    from virtcore.xml import parse_domain

    d = parse_domain(DEFAULT_DOMAIN.xml)
    summary = (
        d.name,
        d.uuid,
        d.memory,
        d.current_memory,
        d.vcpu,
        d.current_vcpus,
        d.on_poweroff,
        d.on_reboot,
    )
    assert summary == (
        DEFAULT_DOMAIN.name,
        DEFAULT_DOMAIN.uuid,
        DEFAULT_DOMAIN.memory,
        DEFAULT_DOMAIN.current_memory,
        DEFAULT_DOMAIN.vcpu,
        DEFAULT_DOMAIN.current_vcpus,
        DEFAULT_DOMAIN.on_poweroff,
        DEFAULT_DOMAIN.on_reboot,
    )
    assert node_from_xml(DEFAULT_NODE_XML, base_dir=None, origin="x").node_info == DEFAULT_NODE_INFO


def test_opening_the_default_node_parses_no_xml() -> None:
    import subprocess
    import sys

    code = (
        "import sys, virtcore; c = virtcore.open('test:///default'); d = c.lookup_domain('test'); d.info();"
        " d.suspend(); d.resume();"
        " print('virtcore.xml' in sys.modules, 'lxml' in sys.modules, 'attr' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # The cold path of a lookup stays free of the XML model, lxml and attrs (see bench/run.py).
    assert out.stdout.split() == ["False", "False", "False"]


def test_the_cpu_map_is_libvirts_test_driver_one_on_every_node(testdriver_dir: Path) -> None:
    # libvirt's test driver answers 8 CPUs, 0, 2 and 4 online, whatever the node says
    expected = [True, False, True, False, True, False, False, False]
    for uri in ("test:///default", f"test://{testdriver_dir}/testnode.xml"):
        with virtcore.open(uri) as conn:
            assert conn.cpu_map() == expected


def test_max_vcpus_and_sysinfo_are_libvirts_test_driver_answers() -> None:
    with virtcore.open("test:///default") as conn:
        assert conn.max_vcpus() == conn.max_vcpus("test") == 32
        sysinfo = conn.sysinfo_xml()
    assert sysinfo.startswith("<sysinfo type='smbios'>") and "<entry name='vendor'>LENOVO</entry>" in sysinfo


def test_node_cpu_stats_are_libvirts_test_driver_counters_and_refuse_cpus_below_minus_one() -> None:
    from virtcore.errors import InvalidArgError as BadArg

    with virtcore.open("test:///default") as conn:
        total = conn.cpu_stats()
        assert total == {
            "user": 9797400000,
            "kernel": 34678723400000,
            "idle": 87264900000,
            "iowait": 763600000,
        }
        assert conn.cpu_stats(3) == total  # libvirt's test driver ignores the CPU number
        with pytest.raises(BadArg, match="-1 for all"):
            conn.cpu_stats(-2)


@pytest.mark.parametrize("how", ["define", "create", "node file"])
def test_os_arch_and_boot_device_are_filled_in_as_libvirts_test_driver(how: str, virt_node_file) -> None:  # type: ignore[no-untyped-def]
    """An ``<os><type>`` without arch gets the test driver's i686; an HVM guest with no boot
    device boots from ``hd`` (libvirt's post-parse), unless a device has a ``<boot order>``."""
    plain = "<domain type='test'><name>plain</name><memory>1024</memory><os><type>hvm</type></os></domain>"
    ordered = (
        "<domain type='test'><name>ordered</name><memory>1024</memory><os><type arch='x86_64'>hvm</type></os>"
        "<devices><disk type='file' device='disk'><source file='/a.img'/><target dev='vda'/>"
        "<boot order='1'/></disk></devices></domain>"
    )
    uri = virt_node_file([plain, ordered]) if how == "node file" else "test:///default"
    with virtcore.open(uri) as conn:
        for xml in (plain, ordered):
            if how == "define":
                conn.define_domain(xml)
            elif how == "create":
                conn.create_domain(xml)
        os_plain = _element(conn.lookup_domain("plain").xml_desc(inactive=how != "create"), "os")
        os_ordered = _element(conn.lookup_domain("ordered").xml_desc(inactive=how != "create"), "os")
    assert [(c.tag, dict(c.attrib), c.text) for c in os_plain] == [
        ("type", {"arch": "i686"}, "hvm"),
        ("boot", {"dev": "hd"}, None),
    ]
    assert [(c.tag, dict(c.attrib), c.text) for c in os_ordered] == [("type", {"arch": "x86_64"}, "hvm")]


def _element(xml: str, tag: str):  # type: ignore[no-untyped-def]
    from lxml import etree

    found = etree.fromstring(xml.encode()).find(tag)
    assert found is not None
    return found


def _devices(
    conn: virtcore.Connection, name: str, tag: str
) -> list[tuple[dict[str, str], list[tuple[str, dict[str, str]]]]]:
    found = _element(conn.lookup_domain(name).xml_desc(inactive=True), "devices").findall(tag)
    return [(dict(d.attrib), [(c.tag, dict(c.attrib)) for c in d]) for d in found]


def test_consoles_and_serial_ports_as_libvirts_post_parse(virt_conn: virtcore.Connection) -> None:
    """A console without target is a serial console; an HVM guest's first console is its first
    serial port, added when missing; a serial port alone gets its console (as virt-install reads)."""
    head = "<domain type='test'><name>{}</name><memory>1024</memory><os><type>{}</type></os><devices>"
    virt_conn.define_domain(head.format("con", "hvm") + "<console type='pty'/></devices></domain>")
    virt_conn.define_domain(
        head.format("ser", "hvm")
        + "<serial type='file'><source path='/tmp/s.log'/></serial></devices></domain>"
    )
    virt_conn.define_domain(head.format("pv", "xen") + "<console type='pty'/></devices></domain>")
    serial_console = ("target", {"type": "serial", "port": "0"})
    assert _devices(virt_conn, "con", "serial") == [({"type": "pty"}, [("target", {"port": "0"})])]
    assert _devices(virt_conn, "con", "console") == [({"type": "pty"}, [serial_console])]
    file_source = ("source", {"path": "/tmp/s.log"})
    assert _devices(virt_conn, "ser", "console") == [({"type": "file"}, [file_source, serial_console])]
    assert _devices(virt_conn, "pv", "serial") == []
    assert _devices(virt_conn, "pv", "console") == [({"type": "pty"}, [serial_console])]


def test_graphics_get_a_primary_video_card_as_libvirts_post_parse(virt_conn: virtcore.Connection) -> None:
    head = "<domain type='test'><name>{}</name><memory>1024</memory><os><type>hvm</type></os><devices>"
    virt_conn.define_domain(head.format("gfx") + "<graphics type='vnc'/></devices></domain>")
    virt_conn.define_domain(
        head.format("two") + "<video/><video><model type='qxl'/></video></devices></domain>"
    )
    virt_conn.define_domain(head.format("plain") + "</devices></domain>")
    cirrus = {"type": "cirrus", "vram": "16384", "heads": "1", "primary": "yes"}
    assert _devices(virt_conn, "gfx", "video") == [({}, [("model", cirrus)])]
    qxl = {"type": "qxl", "vram": "65536", "heads": "1"}
    assert _devices(virt_conn, "two", "video") == [({}, [("model", cirrus)]), ({}, [("model", qxl)])]
    assert _devices(virt_conn, "plain", "video") == []


def test_disks_get_their_bus_drive_address_and_controller_as_libvirts_post_parse(
    virt_conn: virtcore.Connection,
) -> None:
    """A disk's bus follows its target name; a disk on ide/scsi/fdc/sata gets its drive address and
    its controller exists (virt-manager names disks by bus and controller from this)."""

    def disk(dev: str, extra: str = "") -> str:
        return (
            f"<disk type='file' device='disk'><source file='/{dev}.img'/><target dev='{dev}'/>{extra}</disk>"
        )

    virt_conn.define_domain(
        "<domain type='test'><name>disks</name><memory>1024</memory><os><type>hvm</type></os><devices>"
        + disk("hdc")
        + disk("sdi")
        + disk("vdb")
        + "<disk type='file' device='floppy'><source file='/f.img'/><target dev='fdb'/></disk>"
        + disk("hda", "<address type='drive' controller='3' bus='0' target='0' unit='1'/>")
        + "</devices></domain>"
    )
    found = _devices(virt_conn, "disks", "disk")
    targets = [dict(t) for _, children in found for tag, t in children if tag == "target"]
    addresses = [next((a for tag, a in children if tag == "address"), None) for _, children in found]
    assert [t["bus"] for t in targets] == ["ide", "scsi", "virtio", "fdc", "ide"]
    drive = {"type": "drive", "target": "0"}
    assert addresses == [
        {**drive, "controller": "0", "bus": "1", "unit": "0"},
        {**drive, "controller": "1", "bus": "0", "unit": "1"},
        None,
        {**drive, "controller": "0", "bus": "0", "unit": "1"},
        {**drive, "controller": "3", "bus": "0", "unit": "1"},
    ]
    controllers = [(c["type"], c["index"]) for c, _ in _devices(virt_conn, "disks", "controller")]
    assert sorted(controllers) == [
        ("fdc", "0"),
        ("ide", "0"),
        ("ide", "1"),
        ("ide", "2"),
        ("ide", "3"),
        ("scsi", "0"),
        ("scsi", "1"),
    ]
    with pytest.raises(XMLError, match="Unknown disk name 'disk0' and no address specified"):
        virt_conn.define_domain(
            "<domain type='test'><name>bad</name><memory>1024</memory><os><type>hvm</type></os><devices>"
            + disk("disk0")
            + "</devices></domain>"
        )


def test_a_display_given_a_port_says_autoport_no_as_libvirt(virt_conn: virtcore.Connection) -> None:
    head = "<domain type='test'><name>{}</name><memory>1024</memory><os><type>hvm</type></os><devices>"
    virt_conn.define_domain(head.format("fixed") + "<graphics type='vnc' port='5904'/></devices></domain>")
    virt_conn.define_domain(head.format("auto") + "<graphics type='spice'/></devices></domain>")
    [(fixed, _)] = _devices(virt_conn, "fixed", "graphics")
    [(auto, _)] = _devices(virt_conn, "auto", "graphics")
    assert (fixed["port"], fixed["autoport"]) == ("5904", "no")
    assert (auto["port"], auto["autoport"]) == ("-1", "yes")


@pytest.mark.parametrize(
    ("cpu", "expected"),
    [
        ("<cpu><model>Penryn</model></cpu>", ({"mode": "custom", "match": "exact"}, {"fallback": "allow"})),
        (
            "<cpu match='minimum'><model fallback='forbid'>Penryn</model></cpu>",
            ({"mode": "custom", "match": "minimum"}, {"fallback": "forbid"}),
        ),
        (
            "<cpu mode='host-model'><model>Penryn</model></cpu>",
            ({"mode": "host-model"}, {"fallback": "allow"}),
        ),
    ],
)
def test_a_guest_cpu_model_says_mode_match_and_fallback_as_libvirt(
    virt_conn: virtcore.Connection, cpu: str, expected: tuple[dict[str, str], dict[str, str]]
) -> None:
    virt_conn.define_domain(
        f"<domain type='test'><name>c</name><memory>1024</memory><os><type>hvm</type></os>{cpu}</domain>"
    )
    found = _element(virt_conn.lookup_domain("c").xml_desc(inactive=True), "cpu")
    model = found.find("model")
    assert model is not None
    assert (dict(found.attrib), dict(model.attrib)) == expected


def test_a_loader_path_without_type_is_a_rom_as_libvirts_post_parse(virt_conn: virtcore.Connection) -> None:
    head = "<domain type='test'><name>{}</name><memory>1024</memory><os><type>hvm</type>{}</os></domain>"
    virt_conn.define_domain(head.format("rom", "<loader>/usr/share/bios.bin</loader>"))
    virt_conn.define_domain(head.format("flash", "<loader type='pflash'>/usr/share/ovmf.fd</loader>"))
    for name, kind in (("rom", "rom"), ("flash", "pflash")):
        loader = _element(virt_conn.lookup_domain(name).xml_desc(inactive=True), "os").find("loader")
        assert loader is not None and loader.get("type") == kind
