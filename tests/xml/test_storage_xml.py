"""The storage pool and volume models: sizes and units, permissions, libvirt's defaults and
checks per pool type, formatting, preservation of what is not typed, validation."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from libvirt_testdata import require
from lxml import etree

from virtcore.errors import ConfigUnsupportedError, NoSupportError, VirtError, XMLError
from virtcore.limits import LLONG_MAX, ULLONG_MAX
from virtcore.xml import (
    Permissions,
    PoolDef,
    VolumeDef,
    format_pool,
    format_volume,
    parse_pool,
    parse_volume,
    unmodelled,
    validate,
)
from virtcore.xml._storagecommon import sanitize_path
from virtcore.xml.pool import (
    ConfigOption,
    MountOption,
    MountOpts,
    PoolSource,
    PoolTarget,
    SourceDevice,
    SourceHost,
)
from virtcore.xml.volume import VolumeTarget


def vol(body: str, *, type_: str = "") -> str:
    """A volume document with ``body`` after its name."""
    attr = f" type='{type_}'" if type_ else ""
    return f"<volume{attr}><name>v.img</name>{body}</volume>"


def cap(text: str, unit: str | None = None) -> str:
    u = "" if unit is None else f" unit='{unit}'"
    return vol(f"<capacity{u}>{text}</capacity>")


# ---------------------------------------------------------------------------- sizes


@pytest.mark.parametrize(
    ("unit", "scale"),
    [
        (None, 1), ("b", 1), ("bytes", 1), ("B", 1), ("KB", 1000), ("K", 1024), ("KiB", 1024),
        ("k", 1024), ("kib", 1024), ("MB", 1000**2), ("M", 1024**2), ("MiB", 1024**2),
        ("GB", 1000**3), ("G", 1024**3), ("GiB", 1024**3), ("TB", 1000**4), ("T", 1024**4),
        ("TiB", 1024**4), ("PB", 1000**5), ("P", 1024**5), ("PiB", 1024**5), ("EB", 1000**6),
        ("E", 1024**6), ("EiB", 1024**6),
    ],
)  # fmt: skip
def test_capacity_units_are_libvirts(unit: str | None, scale: int) -> None:
    v = parse_volume(cap("3", unit))
    assert v.capacity == 3 * scale
    assert v.allocation == v.capacity  # libvirt: no <allocation> means fully allocated


def test_sizes_are_bytes_and_written_in_bytes_as_libvirt_writes_them() -> None:
    """libvirt's volume (and pool) XML gives every size as ``unit='bytes'``, whatever unit the
    definition used: consumers read ``<capacity>``'s text as bytes."""
    v = parse_volume(vol("<capacity unit='G'>5</capacity><allocation unit='KiB'>288</allocation>"))
    assert (v.capacity, v.allocation) == (5 * 1024**3, 288 * 1024)
    assert '<capacity unit="bytes">5368709120</capacity>' in v.to_xml()
    assert '<allocation unit="bytes">294912</allocation>' in v.to_xml()
    grown = attrs.evolve(v, capacity=v.capacity + 1)
    assert '<capacity unit="bytes">5368709121</capacity>' in grown.to_xml()
    assert parse_volume(grown.to_xml()).capacity == 5368709121


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        (cap("1", "parsec"), "unknown unit 'parsec' in <volume><capacity>"),
        (cap("-1"), "must not be negative"),
        (cap("0x10"), "expected an integer"),
        (cap("1.5", "G"), "expected an integer"),
        (cap(""), "missing value in <volume><capacity>"),
        (cap(str(ULLONG_MAX + 1)), "must be at most"),
        (cap("16", "EiB"), "too large in <volume><capacity>"),
        (cap(str(LLONG_MAX + 1)), f"<capacity> of storage volume 'v.img' is {LLONG_MAX + 1} bytes"),
        (cap("8", "EiB"), "<capacity> of storage volume 'v.img'"),
        (vol("<capacity>1</capacity><allocation unit='EiB'>99</allocation>"), "<volume><allocation>"),
        (
            vol("<capacity>1</capacity><target><clusterSize unit='EiB'>16</clusterSize></target>"),
            "too large in <target><clusterSize>",
        ),
    ],
)
def test_bad_sizes_are_xml_errors_naming_the_element(doc: str, words: str) -> None:
    with pytest.raises(XMLError) as info:
        parse_volume(doc)
    assert words in str(info.value)


def test_largest_sizes_libvirt_takes() -> None:
    assert parse_volume(cap(str(LLONG_MAX))).capacity == LLONG_MAX
    big = parse_volume(vol(f"<capacity>1</capacity><target><clusterSize>{ULLONG_MAX}</clusterSize></target>"))
    assert big.target is not None and big.target.cluster_size == ULLONG_MAX


@given(value=st.integers(0, 2**20), unit=st.sampled_from(["b", "KB", "KiB", "M", "MB", "GiB", "T"]))
def test_any_size_round_trips(value: int, unit: str) -> None:
    v = parse_volume(cap(str(value), unit))
    again = parse_volume(attrs.evolve(v, capacity=v.capacity).to_xml())
    assert again.capacity == v.capacity
    fresh = VolumeDef(name="n", capacity=v.capacity)
    assert parse_volume(fresh.to_xml()).capacity == v.capacity


def test_capacity_is_required_unless_cloning() -> None:
    with pytest.raises(XMLError, match=r"missing <capacity> in storage volume 'v\.img'"):
        parse_volume(vol(""))
    v = parse_volume(vol(""), require_capacity=False)
    assert v.capacity is None and v.allocation is None


# ---------------------------------------------------------------------------- permissions


def test_permissions_are_one_description_shared_by_pools_and_volumes() -> None:
    perms = (
        "<permissions><mode>0750</mode><owner>107</owner><group>-1</group><label>l_t</label></permissions>"
    )
    v = parse_volume(vol(f"<capacity>1</capacity><target>{perms}</target>"))
    p = parse_pool(f"<pool type='dir'><name>p</name><target><path>/p</path>{perms}</target></pool>")
    assert v.target is not None and p.target is not None
    assert v.target.permissions == p.target.permissions == Permissions(mode=0o750, owner=107, label="l_t")
    # an unset id (-1) is not written back, as libvirt does
    assert "<group>" not in p.to_xml() and "<mode>0750</mode>" in p.to_xml()


@pytest.mark.parametrize(
    ("perms", "words"),
    [
        ("<mode>0999</mode>", "malformed octal mode '0999'"),
        ("<mode>01777</mode>", "must be at most 0777"),
        ("<mode>rwx</mode>", "malformed octal mode"),
        ("<owner>4294967296</owner>", "must be at most 4294967295"),
        ("<owner>-2</owner>", "must be at least -1"),
        ("<group>root</group>", "expected an integer"),
    ],
)
def test_bad_permissions_are_refused(perms: str, words: str) -> None:
    with pytest.raises(XMLError) as info:
        parse_volume(vol(f"<capacity>1</capacity><target><permissions>{perms}</permissions></target>"))
    assert words in str(info.value)


def test_mode_is_written_as_libvirt_writes_it() -> None:
    v = VolumeDef(name="n", capacity=1, target=VolumeTarget(permissions=Permissions(mode=0, owner=0)))
    assert "<mode>00</mode>" in v.to_xml() and "<owner>0</owner>" in v.to_xml()
    assert parse_volume(v.to_xml()) == attrs.evolve(v, allocation=1)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("///var/////lib//", "/var/lib"), ("/", "/"), ("//net/x/", "//net/x"), ("a//b", "a/b"), ("///", "/")],
)
def test_paths_are_sanitized_like_libvirt(raw: str, clean: str) -> None:
    assert sanitize_path(raw) == clean


# ---------------------------------------------------------------------------- names and types


@pytest.mark.parametrize("name", ["a/b", "/", "..", ".", "", "  ", "a\nb"])
def test_names_that_cannot_be_file_names_are_refused(name: str) -> None:
    with pytest.raises(XMLError):
        parse_volume(f"<volume><name>{name}</name><capacity>1</capacity></volume>")
    with pytest.raises(XMLError):
        parse_pool(f"<pool type='dir'><name>{name}</name><target><path>/p</path></target></pool>")
    with pytest.raises(XMLError):
        VolumeDef(name=name, capacity=1)


def test_name_with_slash_is_named_in_the_error() -> None:
    with pytest.raises(XMLError, match="name 'a/b' cannot contain '/'"):
        parse_pool("<pool type='dir'><name>a/b</name><target><path>/p</path></target></pool>")


def test_unknown_types_are_unsupported_configurations() -> None:
    with pytest.raises(ConfigUnsupportedError, match="unknown storage pool type 'tape'"):
        parse_pool("<pool type='tape'><name>p</name></pool>")
    with pytest.raises(XMLError, match="missing attribute 'type' in <pool>"):
        parse_pool("<pool><name>p</name></pool>")
    with pytest.raises(ConfigUnsupportedError, match="unknown volume type 'tape'"):
        parse_volume(cap("1").replace("<volume>", "<volume type='tape'>"))
    assert parse_volume(cap("1")).type == "file"  # libvirt's default


def test_wrong_root_element_is_refused() -> None:
    with pytest.raises(XMLError, match="expecting <pool>"):
        parse_pool("<volume><name>x</name></volume>")
    with pytest.raises(XMLError, match="expecting <volume>"):
        parse_volume("<pool type='dir'><name>x</name></pool>")


# ---------------------------------------------------------------------------- libvirt's rules per pool type


def test_logical_pool_and_volume_group_name_each_other() -> None:
    p = parse_pool("<pool type='logical'><source><name>vg0</name></source></pool>")
    assert p.name == "vg0" and p.source.format == "lvm2"
    assert p.target is not None and p.target.path == "/dev/vg0"  # always /dev/VG
    q = parse_pool("<pool type='logical'><name>vg1</name><target><path>/elsewhere</path></target></pool>")
    assert q.source.name == "vg1" and q.target is not None and q.target.path == "/dev/vg1"


def test_per_type_defaults() -> None:
    netfs = parse_pool(
        "<pool type='netfs'><name>n</name><source><host name='h'/><dir path='/e/'/></source>"
        "<target><path>/mnt</path></target></pool>"
    )
    assert netfs.source.format == "auto" and netfs.source.dir == "/e"
    gluster = parse_pool("<pool type='gluster'><name>g</name><source><host name='h'/></source></pool>")
    assert gluster.source.dir == "/" and gluster.source.name == "g"
    zfs = parse_pool(
        "<pool type='zfs'><name>z</name><source><name>tank</name><device path='/dev/a'/></source></pool>"
    )
    assert zfs.target is not None and zfs.target.path == "/dev/zvol/tank"
    scsi = parse_pool(
        "<pool type='scsi'><name>s</name><source><adapter name='host0'/></source>"
        "<target><path>/dev/disk/by-path</path></target></pool>"
    )
    assert scsi.source.adapter is not None and scsi.source.adapter.type == "scsi_host"
    disk = parse_pool(
        "<pool type='disk'><name>d</name><source><device path='/dev/sdb'/></source>"
        "<target><path>/dev</path></target></pool>"
    )
    assert disk.source.format == "unknown"
    assert '<format type="unknown"/>' in disk.to_xml()


@pytest.mark.parametrize(
    ("doc", "error", "words"),
    [
        ("<pool type='dir'><name>d</name></pool>", XMLError, "missing storage pool target path"),
        (
            "<pool type='netfs'><name>n</name><source><dir path='/e'/></source>"
            "<target><path>/m</path></target></pool>",
            XMLError,
            "missing storage pool source host name in storage pool 'n'",
        ),
        (
            "<pool type='netfs'><name>n</name><source><host name='h'/></source>"
            "<target><path>/m</path></target></pool>",
            XMLError,
            "missing storage pool source path",
        ),
        ("<pool type='fs'><name>f</name><target><path>/m</path></target></pool>", XMLError, "source device"),
        ("<pool type='rbd'><name>r</name><source><host name='h'/></source></pool>", XMLError, "mandatory"),
        (
            "<pool type='fs'><name>f</name><source><device path='/dev/a'/><format type='ntfs'/></source>"
            "<target><path>/m</path></target></pool>",
            ConfigUnsupportedError,
            "unknown pool format type 'ntfs'",
        ),
        (
            "<pool type='iscsi-direct'><name>i</name><source><host name='h'/>"
            "<device path='iqn.2013-06.com.example:x'/></source></pool>",
            ConfigUnsupportedError,
            "missing initiator IQN",
        ),
        (
            "<pool type='logical'><name>l</name><features><cow state='no'/></features></pool>",
            NoSupportError,
            "cow feature may only be used for 'fs' and 'dir' pools",
        ),
        (
            "<pool type='dir'><name>d</name><target><path>/d</path></target><uuid>nope</uuid></pool>",
            XMLError,
            "invalid UUID 'nope'",
        ),
        (
            "<pool type='netfs'><name>n</name><source><host name='h'/><dir path='/e'/><format type='cifs'/>"
            "<protocol ver='3'/></source><target><path>/m</path></target></pool>",
            ConfigUnsupportedError,
            "protocol ver unsupported for pool format 'cifs'",
        ),
        (
            "<pool type='netfs'><name>n</name><source><host name='h' port='70000'/><dir path='/e'/></source>"
            "<target><path>/m</path></target></pool>",
            XMLError,
            "must be at most 65535",
        ),
    ],
)
def test_pool_type_rules(doc: str, error: type[VirtError], words: str) -> None:
    with pytest.raises(error) as info:
        parse_pool(doc)
    assert words in str(info.value)


def test_volume_formats_follow_the_pool() -> None:
    dirpool = parse_pool("<pool type='dir'><name>d</name><target><path>/d</path></target></pool>")
    disk = parse_pool(
        "<pool type='disk'><name>k</name><source><device path='/dev/sdb'/></source>"
        "<target><path>/dev</path></target></pool>"
    )
    backed = vol("<capacity>1</capacity><backingStore><path>/b</path></backingStore>")
    v = parse_volume(backed, pool=dirpool)
    assert v.target is not None and v.target.format == "raw"
    assert v.backing_store is not None and v.backing_store.format == "raw"
    assert parse_volume(cap("1"), pool=disk).target.format == "none"  # type: ignore[union-attr]
    assert parse_volume(cap("1")).target is None  # no pool: nothing filled in
    with pytest.raises(ConfigUnsupportedError, match="unknown volume format type 'linux-swap'"):
        parse_volume(vol("<capacity>1</capacity><target><format type='linux-swap'/></target>"), pool=dirpool)


@pytest.mark.parametrize("fmt", ["qcow3", "raw -o backing_file=/etc/shadow", "--help", ""])
def test_unknown_volume_formats_never_pass(fmt: str) -> None:
    with pytest.raises(ConfigUnsupportedError, match="unknown volume format type"):
        parse_volume(vol(f"<capacity>1</capacity><target><format type='{fmt}'/></target>"))
    with pytest.raises(ConfigUnsupportedError):
        VolumeDef(name="n", capacity=1, target=VolumeTarget(format=fmt))


def test_qcow2_features_imply_compat_and_unknown_ones_are_refused() -> None:
    v = parse_volume(
        vol(
            "<capacity>1</capacity><target><format type='qcow2'/>"
            "<features><lazy_refcounts/></features></target>"
        )
    )
    assert v.target is not None and v.target.lazy_refcounts and v.target.compat == "1.1"
    assert "<compat>1.1</compat>" in v.to_xml()
    with pytest.raises(ConfigUnsupportedError, match="unsupported feature <turbo>"):
        parse_volume(vol("<capacity>1</capacity><target><features><turbo/></features></target>"))
    with pytest.raises(XMLError, match=r"forbidden characters in <compat> '1\.1; rm'"):
        parse_volume(vol("<capacity>1</capacity><target><compat>1.1; rm</compat></target>"))


# ---------------------------------------------------------------------------- formatting and preservation


def test_pool_built_in_python_formats_in_libvirts_order_and_validates() -> None:
    p = PoolDef(
        type="netfs",
        name="nfs",
        uuid="7641d5a8af11f730a34e0a7dfcede71f",
        capacity=10,
        source=PoolSource(hosts=(SourceHost(name="srv", port=2049),), dir="/export", format="nfs"),
        target=PoolTarget(path="/mnt/nfs", permissions=Permissions(mode=0o755, owner=0, group=0)),
    )
    assert p.uuid == "7641d5a8-af11-f730-a34e-0a7dfcede71f"
    text = format_pool(p)
    assert [c.tag for c in etree.fromstring(text)] == ["name", "uuid", "capacity", "source", "target"]
    assert '<capacity unit="bytes">10</capacity>' in text
    assert parse_pool(text) == p
    rng = etree.RelaxNG(etree.parse(str(require("schemas", "storagepool.rng"))))
    assert rng.validate(etree.fromstring(text)), rng.error_log.last_error


def test_volume_built_in_python_validates() -> None:
    v = VolumeDef(name="a.qcow2", capacity=1 << 30, target=VolumeTarget(path="/p/a.qcow2", format="qcow2"))
    text = format_volume(v)
    assert text == v.to_xml()
    assert parse_volume(text) == attrs.evolve(v, allocation=1 << 30)
    rng = etree.RelaxNG(etree.parse(str(require("schemas", "storagevol.rng"))))
    assert rng.validate(etree.fromstring(text)), rng.error_log.last_error


UNKNOWN_POOL = """<pool type='dir' extra='1'>
  <name>p</name>
  <uuid>70a7eb15-6c34-ee9c-bf57-69e8e5ff3fb2</uuid>
  <source><device path='/dev/x' mystery='y'/></source>
  <target><path>/p</path><future/></target>
  <x:meta xmlns:x='urn:x'><x:v>1</x:v></x:meta>
</pool>"""


def test_what_the_model_does_not_type_is_kept_listed_and_refused_when_strict() -> None:
    p = parse_pool(UNKNOWN_POOL)
    assert unmodelled(p) == [
        "pool/@extra",
        "pool/source/device/@mystery",
        "pool/target/future",
        "pool/x:meta",
    ]
    text = attrs.evolve(p, name="q").to_xml()
    for kept in ('extra="1"', 'mystery="y"', "<future/>", "<x:v>1</x:v>", "<name>q</name>"):
        assert kept in text
    with pytest.raises(XMLError, match="pool/@extra"):
        parse_pool(UNKNOWN_POOL, strict=True)
    v = parse_volume(vol("<capacity>1</capacity><target><bogus a='1'/></target>"))
    assert unmodelled(v) == ["volume/target/bogus"]
    assert '<bogus a="1"/>' in v.to_xml()


def test_evolving_a_nested_field_rewrites_only_it() -> None:
    p = parse_pool(UNKNOWN_POOL)
    assert p.target is not None
    moved = attrs.evolve(p, target=attrs.evolve(p.target, path="/q"))
    text = moved.to_xml()
    assert "<path>/q</path>" in text and "<future/>" in text
    added = attrs.evolve(
        p, source=attrs.evolve(p.source, devices=(*p.source.devices, SourceDevice(path="/dev/y")))
    )
    assert parse_pool(added.to_xml()).source.devices[1].path == "/dev/y"


def test_text_xml_cannot_hold_is_an_xml_error_naming_the_object() -> None:
    v = VolumeDef(name="n", capacity=1, key="bad\x01key")
    with pytest.raises(XMLError, match="storage volume 'n'"):
        v.to_xml()


# ---------------------------------------------------------------------------- validate()


def test_validate_reads_pools_and_volumes_against_their_schemas() -> None:
    pool_rng = str(require("schemas", "storagepool.rng"))
    vol_rng = str(require("schemas", "storagevol.rng"))
    good_pool = "<pool type='dir'><name>p</name><target><path>/p</path></target></pool>"
    assert validate(good_pool, pool_rng) == []
    assert validate(UNKNOWN_POOL, strict=True) == [
        "not modelled (kept verbatim): pool/@extra",
        "not modelled (kept verbatim): pool/source/device/@mystery",
        "not modelled (kept verbatim): pool/target/future",
        "not modelled (kept verbatim): pool/x:meta",
    ]
    assert any(p.startswith("schema: ") for p in validate(UNKNOWN_POOL, pool_rng))
    assert validate(vol("<capacity unit='G'>1</capacity><target/>"), vol_rng) == []
    assert any(p.startswith("schema: ") for p in validate(cap("1", "G"), vol_rng))  # no <target>
    assert validate(cap("1", "parsec")) == ["XML error: unknown unit 'parsec' in <volume><capacity>"]
    assert validate("<pool type='dir'><name>a/b</name></pool>") == [
        "XML error: storage pool name 'a/b' cannot contain '/'"
    ]


# ---------------------------------------------------------------------------- driver namespaces

NETFS = (
    "<pool type='netfs' xmlns:fs='http://libvirt.org/schemas/storagepool/fs/1.0'><name>n</name>"
    "<source><host name='h'/><dir path='/e'/></source><target><path>/m</path></target>"
    "<fs:mount_opts>{opts}</fs:mount_opts></pool>"
)


def test_mount_options_are_typed_and_written_with_libvirts_prefix() -> None:
    p = parse_pool(NETFS.format(opts="<fs:option name='sync'/><fs:option name='lazytime'/>"))
    assert p.mount_opts is not None
    assert [o.name for o in p.mount_opts.options] == ["sync", "lazytime"]
    assert unmodelled(p) == []
    fresh = PoolDef(
        type="netfs",
        name="n",
        source=p.source,
        target=p.target,
        mount_opts=MountOpts(options=(MountOption(name="ro"),)),
    )
    text = fresh.to_xml()
    assert text.startswith('<pool xmlns:fs="http://libvirt.org/schemas/storagepool/fs/1.0"')
    assert '<fs:option name="ro"/>' in text
    assert parse_pool(text) == fresh
    rng = etree.RelaxNG(etree.parse(str(require("schemas", "storagepool.rng"))))
    assert rng.validate(etree.fromstring(text)), rng.error_log.last_error
    # a pool without them declares no namespace
    assert "xmlns" not in attrs.evolve(fresh, mount_opts=None).to_xml()


@pytest.mark.parametrize("name", ["ro,suid", "-o", "a b", "x\ty", ""])
def test_mount_options_that_could_smuggle_options_are_refused(name: str) -> None:
    with pytest.raises(XMLError, match="invalid mount option"):
        parse_pool(NETFS.format(opts=f"<fs:option name='{name}'/>"))
    with pytest.raises(XMLError):
        MountOption(name=name)


def test_rbd_config_options() -> None:
    rbd = (
        "<pool type='rbd' xmlns:rbd='http://libvirt.org/schemas/storagepool/rbd/1.0'><name>c</name>"
        "<source><host name='mon'/><name>rbd</name></source>"
        "<rbd:config_opts><rbd:option name='{name}' value='{value}'/></rbd:config_opts></pool>"
    )
    p = parse_pool(rbd.format(name="client_mount_timeout", value="45"))
    assert p.config_opts is not None
    assert [(o.name, o.value) for o in p.config_opts.options] == [("client_mount_timeout", "45")]
    with pytest.raises(XMLError, match="invalid rbd config option"):
        parse_pool(rbd.format(name="a=b", value="1"))
    with pytest.raises(XMLError, match="invalid value of rbd config option 'x'"):
        parse_pool(rbd.format(name="x", value="&#10;mon_host = evil"))
    assert ConfigOption(name="x", value="-1 with blanks").value == "-1 with blanks"


# ---------------------------------------------------------------------------- exports


def test_storage_names_are_exported_and_loaded_only_when_used() -> None:
    import subprocess
    import sys

    code = (
        "import sys, virtcore.xml as x\n"
        "assert 'virtcore.xml.pool' not in sys.modules and 'virtcore.xml.volume' not in sys.modules\n"
        "from virtcore.xml import pool_from_element, volume_from_element, PoolDef, VolumeDef\n"
        "assert x.parse_pool.__module__ == 'virtcore.xml.pool'\n"
        "assert x.parse_volume.__module__ == 'virtcore.xml.volume'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    from lxml import etree

    from virtcore.xml import pool_from_element, volume_from_element

    node = etree.fromstring(
        "<node><pool type='dir'><name>p</name><target><path>/p</path></target>"
        "<volume><name>v</name><capacity>1</capacity></volume></pool></node>"
    )
    p = pool_from_element(node[0])
    v = volume_from_element(node[0][2])
    assert (p.name, v.name, v.capacity) == ("p", "v", 1)
    assert unmodelled(p) == ["pool/volume"]  # a test driver's node file nests volumes
