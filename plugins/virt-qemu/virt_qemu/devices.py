"""Devices: attach and detach disks and interfaces, hot-plugged into a running guest over
QMP or changed in the persistent definition of an inactive one.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

import attrs

from virt_qemu import argv as argvmod
from virt_qemu.connection import Part
from virt_qemu.hoststate import DETACH_TIMEOUT
from virt_qemu.inuse import record_volumes
from virt_qemu.volumes import ResolvedVolume, resolve_disk
from virtcore import hookimpl
from virtcore.errors import ConfigUnsupportedError, OperationFailedError, OperationTimeoutError, VirtError
from virtcore.events import DeviceAddedEvent
from virtcore.xml import Disk, DomainDef, Interface, parse_device

if TYPE_CHECKING:
    from virt_qemu.monitor import Monitor

__all__ = ["Devices"]


class Devices(Part):
    """The hooks that add devices to a domain and remove them."""

    @hookimpl
    def virt_domain_attach_device(self, uuid: str, xml: str) -> bool:
        """Hot-plug (active) or add to the definition (inactive) a disk or interface."""
        h = self.host
        dev = parse_device(xml)
        dom = h.get(uuid)
        with dom.job:
            d = dom.definition
            if isinstance(dev, Disk):
                if any(x.target_dev == dev.target_dev for x in d.disks):
                    raise OperationFailedError(f"target {dev.target_dev} already exists")
            elif isinstance(dev, Interface):
                if dev.mac and any(i.mac == dev.mac for i in d.interfaces):
                    raise OperationFailedError(f"an interface with MAC {dev.mac} already exists")
            else:
                raise ConfigUnsupportedError(
                    f"attaching <{dev.tag}> devices is not supported (disk and interface are)"
                )
            new = attrs.evolve(d, devices=(*d.devices, dev), raw=d.raw)
            h.validate(new)
            if not dom.active:
                h.config_of(dom)
                h.save_config(dom, new)
                return True
            mon = h.monitor_of(dom)
            if isinstance(dev, Disk):
                volumes = self._hotplug_disk(mon, new, dev)
                record_volumes(h.run_dir(dom.uuid), volumes)
                alias = argvmod.disk_alias(dev, len(new.disks) - 1)
            else:
                alias = self._hotplug_nic(mon, new, dev)
            dom.live = new
            h.write_status(dom)
            ref = dom.ref
        h.emit(DeviceAddedEvent(ref, alias))  # libvirt: once the live definition has it
        return True

    def _hotplug_disk(self, mon: Monitor, d: DomainDef, disk: Disk) -> dict[str, ResolvedVolume]:
        """Plug ``disk`` into the guest; the volume it resolved to, by target device (if a volume disk)."""
        bus = argvmod._disk_bus(disk)
        if bus not in ("virtio", "scsi"):
            raise ConfigUnsupportedError(f"hot-plugging a disk on the '{bus}' bus (virtio and scsi can)")
        if disk.type not in ("file", "volume") or not disk.source:
            raise ConfigUnsupportedError("hot-plugging needs a file-backed or volume disk with a <source>")
        volumes: dict[str, ResolvedVolume] = {}
        if disk.type == "volume":
            volumes = {disk.target_dev: resolve_disk(disk, self.session.resolve_volume, d.name)}
        path, image_format = argvmod.disk_source(disk, volumes)
        alias = argvmod.disk_alias(disk, len(d.disks) - 1)
        storage, fmt = f"hp-{alias}-storage", f"hp-{alias}-format"
        ro = disk.readonly or disk.device == "cdrom"
        mon.cmd("blockdev-add", {"driver": "file", "filename": path, "node-name": storage,
                                 "auto-read-only": True, "discard": "unmap"})  # fmt: skip
        try:
            mon.cmd("blockdev-add", {"node-name": fmt, "read-only": ro, "driver": image_format,
                                     "file": storage})  # fmt: skip
        except VirtError:
            with contextlib.suppress(VirtError):
                mon.cmd("blockdev-del", {"node-name": storage})
            raise
        props: dict[str, Any] = {"id": alias, "drive": fmt}
        if bus == "virtio":
            props["driver"] = "virtio-blk-pci"
        else:
            props.update(driver="scsi-cd" if disk.device == "cdrom" else "scsi-hd", bus="scsi0.0")
            self._ensure_scsi(mon)
        try:
            mon.cmd("device_add", props)
        except VirtError:
            for n in (fmt, storage):
                with contextlib.suppress(VirtError):
                    mon.cmd("blockdev-del", {"node-name": n})
            raise
        return volumes

    def _ensure_scsi(self, mon: Monitor) -> None:
        paths = mon.cmd("qom-list", {"path": "/machine/peripheral"})
        if not any(p.get("name") == "scsi0" for p in paths):
            mon.cmd("device_add", {"driver": "virtio-scsi-pci", "id": "scsi0"})

    def _hotplug_nic(self, mon: Monitor, d: DomainDef, iface: Interface) -> str:
        """Plug ``iface`` into the guest; its alias (``netN``)."""
        n = len(d.interfaces) - 1
        used = {p.get("name") for p in mon.cmd("qom-list", {"path": "/machine/peripheral"})}
        while f"net{n}" in used:
            n += 1
        if iface.type != "user":
            raise ConfigUnsupportedError(f"hot-plugging <interface type='{iface.type}'> (user can)")
        mon.cmd("netdev_add", {"type": "user", "id": f"hostnet{n}"})
        models = {"virtio": "virtio-net-pci", "e1000": "e1000", "rtl8139": "rtl8139", "e1000e": "e1000e"}
        props: dict[str, Any] = {"driver": models.get(iface.model or "rtl8139", "rtl8139"),
                                 "netdev": f"hostnet{n}", "id": f"net{n}"}  # fmt: skip
        if iface.mac:
            props["mac"] = iface.mac
        try:
            mon.cmd("device_add", props)
        except VirtError:
            with contextlib.suppress(VirtError):
                mon.cmd("netdev_del", {"id": f"hostnet{n}"})
            raise
        return f"net{n}"

    @hookimpl
    def virt_domain_detach_device(self, uuid: str, xml: str) -> bool:
        """Hot-unplug (waits for the guest) or remove from the definition."""
        h = self.host
        dev = parse_device(xml)
        dom = h.get(uuid)
        with dom.job:
            d = dom.definition
            idx: int | None = None
            for i, x in enumerate(d.devices):
                if (isinstance(dev, Disk) and isinstance(x, Disk) and x.target_dev == dev.target_dev) or (
                    isinstance(dev, Interface)
                    and isinstance(x, Interface)
                    and (dev.mac is None or x.mac == dev.mac)
                    and (dev.target_dev is None or dev.target_dev == x.target_dev)
                ):
                    idx = i
                if idx is not None:
                    break
            if idx is None:
                raise OperationFailedError("device not found")
            new = attrs.evolve(d, devices=d.devices[:idx] + d.devices[idx + 1 :], raw=d.raw)
            if not dom.active:
                h.config_of(dom)
                h.save_config(dom, new)
                return True
            mon = h.monitor_of(dom)
            target = d.devices[idx]
            if isinstance(target, Disk):
                alias = self._disk_qdev(mon, target)
            else:
                assert isinstance(target, Interface)
                alias = self._nic_qdev(mon, d, target)
            nodes = self._disk_nodes(mon, alias) if isinstance(target, Disk) else []
            ev = threading.Event()
            dom.deleted[alias] = ev
            try:
                mon.cmd("device_del", {"id": alias})
                if not ev.wait(DETACH_TIMEOUT):
                    raise OperationTimeoutError(f"the guest did not release device '{alias}'")
            finally:
                dom.deleted.pop(alias, None)
            for n in nodes:
                with contextlib.suppress(VirtError):
                    mon.cmd("blockdev-del", {"node-name": n})
            if isinstance(target, Interface):
                with contextlib.suppress(VirtError):
                    mon.cmd("netdev_del", {"id": "host" + alias})
            dom.live = new
            h.write_status(dom)
        return True

    def _disk_qdev(self, mon: Monitor, disk: Disk) -> str:
        for b in mon.cmd("query-block"):
            qdev = b.get("qdev", "")
            alias = qdev.split("/")[3] if qdev.startswith("/machine/peripheral/") else ""
            if alias and argvmod.disk_alias(disk, 0) == alias:
                return alias
        return argvmod.disk_alias(disk, 0)

    def _disk_nodes(self, mon: Monitor, alias: str) -> list[str]:
        for b in mon.cmd("query-block"):
            qdev = b.get("qdev", "")
            if f"/{alias}/" in qdev or qdev.endswith(f"/{alias}"):
                node = (b.get("inserted") or {}).get("node-name")
                if node:
                    return [node, node.replace("-format", "-storage")]
        return []

    def _nic_qdev(self, mon: Monitor, d: DomainDef, iface: Interface) -> str:
        for p in mon.cmd("qom-list", {"path": "/machine/peripheral"}):
            name = p.get("name", "")
            if name.startswith("net") and iface.mac:
                with contextlib.suppress(VirtError):
                    if (
                        mon.cmd("qom-get", {"path": f"/machine/peripheral/{name}", "property": "mac"})
                        == iface.mac
                    ):
                        return str(name)
        return f"net{d.interfaces.index(iface)}"
