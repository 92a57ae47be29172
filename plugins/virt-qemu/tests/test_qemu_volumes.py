"""Disks of ``type='volume'`` under the QEMU driver, resolved through the connection's storage.

The storage here is a small in-process secondary driver installed as ``storage`` (the shape of
tests/test_secondary.py) serving one pool over a real directory of real images made with
``qemu-img``: these tests pin what the QEMU driver does with ``resolve_volume``, not any real
storage driver. No guest boots here: the launch is stopped right after the argv is built.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from virt_qemu import argv as argvmod
from virt_qemu import launching
from virt_qemu.argv import LaunchSpec, build_argv, iter_options
from virt_qemu.devices import Devices
from virt_qemu.volumes import ResolvedVolume, probe_format, resolve_disk

import virtcore
from virtcore import drivers as drivers_mod
from virtcore import hookimpl
from virtcore.drivers import describe_driver
from virtcore.errors import (
    ConfigUnsupportedError,
    InvalidConnError,
    NoStoragePoolError,
    NoStorageVolError,
    NoSupportError,
    OperationFailedError,
)
from virtcore.storage import StoragePoolRef, StorageVolRef
from virtcore.types import DomainState
from virtcore.uri import URI
from virtcore.xml import Disk, parse_device, parse_domain

POOL = StoragePoolRef("images", "8f2c9a4e-2b4b-4d0c-9d8e-0f6f0a1b2c3d")


class DirStorage:
    """A secondary storage driver: pool ``images`` is the directory given by the URI's root."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.opened = False

    @hookimpl
    def virt_connect_open(self) -> None:
        self.opened = True

    @hookimpl
    def virt_storage_pool_lookup_by_name(self, name: str) -> StoragePoolRef:
        if not self.opened:  # as a real driver may: nothing is served before the connection opens
            raise InvalidConnError("the storage connection is not open")
        if name != POOL.name:
            raise NoStoragePoolError(f"no storage pool with matching name '{name}'")
        return POOL

    @hookimpl
    def virt_storage_vol_lookup_by_name(self, pool_uuid: str, name: str) -> StorageVolRef:
        path = self.directory / name
        if pool_uuid != POOL.uuid or "/" in name or not path.is_file():
            raise NoStorageVolError(f"no storage vol with matching name '{name}'")
        return StorageVolRef(POOL.name, name, str(path))

    @hookimpl
    def virt_storage_vol_get_path(self, key: str) -> str:
        return key


@pytest.fixture
def images(tmp_path: Path) -> Path:
    """The pool's directory: ``a.qcow2`` (qcow2) and ``b.img`` (raw), made by qemu-img."""
    d = tmp_path / "images"
    d.mkdir()
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "--", d / "a.qcow2", "16M"], check=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", "--", d / "b.img", "1M"], check=True)
    return d


@pytest.fixture
def storage(images: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[DirStorage]]:
    """Install :class:`DirStorage` as the ``storage`` driver; yields the objects it made."""
    made: list[DirStorage] = []

    def factory(uri: URI, read_only: bool) -> list[object]:
        assert uri.driver == "storage"
        obj = DirStorage(images)
        made.append(obj)
        return [obj]

    monkeypatch.setitem(drivers_mod._loaded, "storage", describe_driver(factory, plugin_classes=[DirStorage]))
    yield made


@pytest.fixture
def launched(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The argv of every launch, each stopped right after it is built (no QEMU runs)."""
    seen: list[list[str]] = []

    def spy(*args: Any, **kw: Any) -> list[str]:
        argv = build_argv(*args, **kw)
        if kw["spec"].volumes is None:
            return argv  # checking a definition (define, attach): not a launch
        seen.append(argv)
        raise OperationFailedError("stopped by the test after building the argv")

    monkeypatch.setattr(launching.argvmod, "build_argv", spy)
    return seen


def volume_xml(name: str, pool: str = "images", volume: str = "a.qcow2", driver: str = "") -> str:
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='volume' device='disk'>{driver}
      <source pool='{pool}' volume='{volume}' mode='host'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>"""


def blockdevs(argv: list[str]) -> list[dict[str, Any]]:
    return [json.loads(v) for k, v in iter_options(argv) if k == "-blockdev" and v is not None]


def test_start_resolves_a_volume_disk_into_its_path_and_format(
    uri: str, images: Path, storage: list[DirStorage], launched: list[list[str]]
) -> None:
    with virtcore.open(uri) as conn:
        assert storage and storage[0].opened
        dom = conn.define_domain(volume_xml("vol"))
        with pytest.raises(OperationFailedError, match="stopped by the test"):
            dom.start()
        (argv,) = launched
        file_node, format_node = blockdevs(argv)
        assert file_node["driver"] == "file"
        assert file_node["filename"] == str(images / "a.qcow2")
        assert format_node["driver"] == "qcow2"  # the volume's own format, read from its header
        assert format_node["file"] == file_node["node-name"]
        assert dom.state()[0] == DomainState.SHUTOFF
        # The definition keeps the disk as written.
        disk = parse_domain(dom.xml_desc()).disks[0]
        assert (disk.type, disk.source_pool, disk.source) == ("volume", "images", "a.qcow2")
        assert "mode='host'" in dom.xml_desc() or 'mode="host"' in dom.xml_desc()
        assert str(images) not in dom.xml_desc()


def test_the_disks_driver_type_wins_over_the_volumes_format(
    uri: str, images: Path, storage: list[DirStorage], launched: list[list[str]]
) -> None:
    with virtcore.open(uri) as conn:
        dom = conn.define_domain(volume_xml("raw", driver="<driver name='qemu' type='raw'/>"))
        with pytest.raises(OperationFailedError, match="stopped by the test"):
            dom.start()
        assert blockdevs(launched[0])[1]["driver"] == "raw"
        dom2 = conn.define_domain(volume_xml("rawvol", volume="b.img"))
        with pytest.raises(OperationFailedError, match="stopped by the test"):
            dom2.start()
        assert [b.get("driver") for b in blockdevs(launched[1])] == ["file", "raw"]


@pytest.mark.parametrize(
    ("pool", "volume", "error", "named"),
    [
        ("nope", "a.qcow2", NoStoragePoolError, "'nope'"),
        ("images", "missing.qcow2", NoStorageVolError, r"'missing\.qcow2'"),
    ],
)
def test_an_unknown_pool_or_volume_is_named_and_the_domain_does_not_start(
    uri: str,
    storage: list[DirStorage],
    launched: list[list[str]],
    pool: str,
    volume: str,
    error: type[Exception],
    named: str,
) -> None:
    with virtcore.open(uri) as conn:
        dom = conn.define_domain(volume_xml("lost", pool=pool, volume=volume))
        with pytest.raises(error, match=named) as info:
            dom.start()
        assert "disk 'vda' of domain 'lost'" in str(info.value)
        assert launched == []  # refused before anything was built or created
        assert dom.state()[0] == DomainState.SHUTOFF
        with pytest.raises(error, match=named):
            conn.create_domain(volume_xml("lost-transient", pool=pool, volume=volume))
        assert [d.name for d in conn.list_domains()] == ["lost"]


def test_without_a_storage_driver_a_volume_disk_is_unsupported_naming_it(
    uri: str, monkeypatch: pytest.MonkeyPatch, launched: list[list[str]]
) -> None:
    real_lookup = drivers_mod._lookup  # whatever is installed here, no storage driver is
    monkeypatch.delitem(drivers_mod._loaded, "storage", raising=False)
    monkeypatch.setattr(drivers_mod, "_lookup", lambda s: None if s == "storage" else real_lookup(s))
    with virtcore.open(uri) as conn:
        dom = conn.define_domain(volume_xml("nostorage"))  # defining needs no storage
        with pytest.raises(NoSupportError, match=r"storage_pool_lookup_by_name.*'a\.qcow2'.*'vda'"):
            dom.start()
        assert launched == []


def test_build_argv_takes_volume_disks_from_the_launch_spec() -> None:
    d = parse_domain(volume_xml("pure"))
    spec = LaunchSpec(pidfile="/run/x/pid", monitor_fds=(3,))
    # Checking a definition: a placeholder, never a lookup.
    checked = blockdevs(build_argv(d, emulator="qemu", machine="pc", spec=spec))
    assert checked[0]["filename"] == argvmod.VOLUME_PLACEHOLDER
    resolved = LaunchSpec(
        pidfile="/run/x/pid", monitor_fds=(3,), volumes={"vda": ResolvedVolume("/srv/a,b -S.qcow2", "qcow2")}
    )
    a = build_argv(d, emulator="qemu", machine="pc", spec=resolved)
    assert blockdevs(a)[0]["filename"] == "/srv/a,b -S.qcow2"  # JSON: the path stays one value
    assert "-S.qcow2" not in a
    with pytest.raises(ConfigUnsupportedError, match=r"'a\.qcow2' of pool 'images' was not resolved"):
        build_argv(d, emulator="qemu", machine="pc", spec=LaunchSpec(pidfile="/p", volumes={}))
    vmdk = LaunchSpec(pidfile="/p", volumes={"vda": ResolvedVolume("/srv/a.vmdk", "vmdk")})
    with pytest.raises(ConfigUnsupportedError, match="format 'vmdk'"):
        build_argv(d, emulator="qemu", machine="pc", spec=vmdk)


def test_probe_format_reads_the_image_header(images: Path, tmp_path: Path) -> None:
    assert probe_format(str(images / "a.qcow2")) == "qcow2"
    assert probe_format(str(images / "b.img")) == "raw"
    vmdk = tmp_path / "c.vmdk"
    subprocess.run(["qemu-img", "create", "-q", "-f", "vmdk", "--", vmdk, "1M"], check=True)
    assert probe_format(str(vmdk)) == "vmdk"
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert probe_format(str(empty)) == "raw"
    with pytest.raises(virtcore.errors.SystemError_, match="nosuch"):
        probe_format(str(tmp_path / "nosuch"))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ConfigUnsupportedError, match="neither a file nor a block device"):
        probe_format(str(fifo))  # refused, never waited on


def test_resolve_disk_refuses_a_volume_that_is_not_a_local_path() -> None:
    disk = parse_device("<disk type='volume'><source pool='p' volume='v'/><target dev='vdb'/></disk>")
    assert isinstance(disk, Disk)
    with pytest.raises(ConfigUnsupportedError, match="not a local path"):
        resolve_disk(disk, lambda pool, vol: "rbd/pool/v", "dom")
    no_pool = parse_device("<disk type='volume'><source volume='v'/><target dev='vdb'/></disk>")
    assert isinstance(no_pool, Disk)
    with pytest.raises(ConfigUnsupportedError, match=r"needs <source pool=\.\.\. volume=\.\.\.>"):
        resolve_disk(no_pool, lambda pool, vol: "/x", "dom")


class _Monitor:
    """Records QMP commands (the hot-plug path's view of QEMU)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any] | None]] = []

    def cmd(self, name: str, args: dict[str, Any] | None = None, timeout: float = 0) -> Any:
        self.sent.append((name, args))
        return []


class _Session:
    def __init__(self, resolve: Any) -> None:
        self.resolve_volume = resolve


def test_hot_plug_of_a_volume_disk_adds_the_resolved_file(images: Path) -> None:
    asked: list[tuple[str, str]] = []

    def resolve(pool: str, volume: str) -> str:
        asked.append((pool, volume))
        if volume != "a.qcow2":
            raise NoStorageVolError(f"no storage vol with matching name '{volume}'")
        return str(images / volume)

    d = parse_domain(volume_xml("hot"))
    disk = parse_device(
        "<disk type='volume'><source pool='images' volume='a.qcow2'/><target dev='vdb'/></disk>"
    )
    assert isinstance(disk, Disk)
    mon = _Monitor()
    parts = Devices(_Session(resolve))  # type: ignore[arg-type]
    with_disk = attrs.evolve(d, devices=(*d.devices, disk), raw=d.raw)
    plugged = parts._hotplug_disk(mon, with_disk, disk)  # type: ignore[arg-type]
    assert plugged == {"vdb": ResolvedVolume(str(images / "a.qcow2"), "qcow2")}  # what the caller records
    adds = [a for n, a in mon.sent if n == "blockdev-add"]
    assert adds[0] is not None and adds[0]["filename"] == str(images / "a.qcow2")
    assert adds[1] is not None and adds[1]["driver"] == "qcow2"
    assert asked == [("images", "a.qcow2")]
    lost = parse_device("<disk type='volume'><source pool='images' volume='z'/><target dev='vdc'/></disk>")
    assert isinstance(lost, Disk)
    mon2 = _Monitor()
    with pytest.raises(NoStorageVolError, match="'z'"):
        parts._hotplug_disk(mon2, attrs.evolve(d, devices=(*d.devices, lost), raw=d.raw), lost)  # type: ignore[arg-type]
    assert mon2.sent == []  # nothing half-added


def test_autostart_resolves_volume_disks_through_the_opening_connection(
    uri: str, images: Path, storage: list[DirStorage], launched: list[list[str]]
) -> None:
    """The storage driver is open before the QEMU driver autostarts (its open is trylast)."""
    with virtcore.open(uri) as conn:
        dom = conn.define_domain(volume_xml("auto"))
        dom.autostart = True
    from virt_qemu.paths import layout_for

    # As after a reboot: the host is opened anew (the last connection closed) and has not autostarted.
    (layout_for(URI.parse(uri)).run / "autostarted").unlink()
    with virtcore.open(uri):
        (argv,) = launched  # the autostart's launch, stopped after its argv
        assert blockdevs(argv)[0]["filename"] == str(images / "a.qcow2")


def test_the_host_starts_domains_with_the_launcher_of_a_connection_still_open(
    uri: str, images: Path, storage: list[DirStorage]
) -> None:
    """Restart policies start domains through an open connection's launcher (its storage)."""
    from virt_qemu.connection import QemuConnection

    def part(conn: virtcore.Connection) -> QemuConnection:
        return next(p for p in conn.driver_objects() if isinstance(p, QemuConnection))

    c1, c2 = virtcore.open(uri), virtcore.open(uri)
    try:
        s1, s2 = part(c1).session, part(c2).session
        host = part(c1).host
        assert host.starter is s2.starter is not None
        c2.close()
        assert host.starter is s1.starter is not None
        assert s1.starter.resolve_volume is not None
        assert s1.starter.resolve_volume("images", "a.qcow2") == str(images / "a.qcow2")
    finally:
        c2.close()
        c1.close()
    assert host.starter is None


def test_the_volume_source_is_typed_pool_volume_and_mode() -> None:
    from virtcore.xml import unmodelled

    d = parse_domain(volume_xml("typed"))
    disk = d.disks[0]
    assert (disk.source_pool, disk.source, disk.source_mode) == ("images", "a.qcow2", "host")
    assert not [p for p in unmodelled(d) if "disk" in p]
    changed = attrs.evolve(disk, source_mode="direct", raw=None).to_element().find("source")
    assert changed is not None and dict(changed.attrib) == {
        "volume": "a.qcow2",
        "pool": "images",
        "mode": "direct",
    }
