"""libvirt domain XML: a typed model (frozen attrs classes), parsed and formatted with lxml.

>>> d = parse_domain("<domain type='test'><name>vm</name><memory unit='MiB'>512</memory>"
...                  "<os><type>hvm</type></os></domain>")
>>> d.memory, d.current_memory, d.vcpu
(524288, 524288, 1)
>>> d2 = attrs.evolve(d, vcpu=2, current_vcpus=2)
>>> "<vcpu" in format_domain(d2)
True

Every object parsed from XML remembers its element (``raw``, excluded from
equality); formatting overlays the typed fields onto a copy of it, so anything
the model does not know (unknown elements and attributes, ``<metadata>``,
driver namespaces) survives parse -> format verbatim and in place.

:func:`format_domain` writes the text directly rather than serializing a fresh
tree: the source's kept children are serialized once per source element, and
every immutable sub-object (os, clock, cpu, tuning elements, each device) caches
its own fragment, so a definition changed with :func:`attrs.evolve` only formats
what changed. :func:`domain_to_element` (the tree) is the reference the text
must equal byte for byte; where the text could differ, formatting uses the tree.
"""

from __future__ import annotations

import builtins
import operator
import random
import re
import uuid as _uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

import attrs
from lxml import etree

from virtcore import limits
from virtcore.errors import XMLError
from virtcore.xml import _util as u
from virtcore.xml._parser import MAX_XML_BYTES, MAX_XML_NODES, check_size, secure_parse

if TYPE_CHECKING:
    from virtcore.xml._spec import SpecElement
    from virtcore.xml.elements import (
        Address,
        BlkioTune,
        CPUTune,
        HyperV,
        IOThreadIds,
        KVMFeatures,
        MemoryBacking,
        MemTune,
        NumaTune,
        SecLabel,
        SysInfo,
    )

Element = etree._Element

# virtcore.xml.elements (about twenty more attrs classes) is imported on first use, so
# that importing virtcore.xml stays cheap.
_EL: list[Any] = []


def _el() -> Any:
    """The :mod:`virtcore.xml.elements` module (typed as Any: it is imported lazily)."""
    if not _EL:
        from virtcore.xml import elements

        _EL.append(elements)
    return _EL[0]


__all__ = [
    "DomainDef",
    "OS",
    "Clock",
    "Timer",
    "Device",
    "Disk",
    "Interface",
    "CharDevice",
    "Serial",
    "Console",
    "Parallel",
    "Channel",
    "Graphics",
    "Input",
    "Video",
    "MemBalloon",
    "Controller",
    "GenericDevice",
    "Sound",
    "Watchdog",
    "Rng",
    "Tpm",
    "Panic",
    "Iommu",
    "Vsock",
    "Hostdev",
    "Redirdev",
    "Filesystem",
    "Shmem",
    "MemoryDevice",
    "Audio",
    "CPU",
    "CPUFeature",
    "NumaCell",
    "parse_domain",
    "format_domain",
    "domain_from_element",
    "parse_device",
    "format_device",
    "device_from_element",
    "device_to_element",
    "domain_to_element",
    "DOMAIN_TYPES",
    "LIFECYCLE_ACTIONS",
]

#: Hypervisor types libvirt knows (``virDomainVirtType``).
DOMAIN_TYPES = frozenset(
    {
        "none", "qemu", "kqemu", "kvm", "xen", "lxc", "uml", "openvz", "test", "vmware",
        "hyperv", "vbox", "phyp", "parallels", "bhyve", "vz", "ch", "hvf",
    }
)  # fmt: skip
#: Values of on_poweroff / on_reboot / on_crash.
LIFECYCLE_ACTIONS = frozenset(
    {"destroy", "restart", "rename-restart", "preserve", "coredump-destroy", "coredump-restart"}
)

_raw = attrs.field(default=None, eq=False, repr=False, kw_only=True)
#: Cache of an object's formatted XML fragment (objects are immutable, so it never goes stale).
_FRAG = attrs.field(default=None, init=False, eq=False, repr=False)

# libvirt's output order of children, used when a child has to be created.
_DOMAIN_ORDER = (
    "name", "uuid", "genid", "title", "description", "metadata", "maxMemory", "memory",
    "currentMemory", "blkiotune", "memtune", "memoryBacking", "vcpu", "vcpus", "iothreads",
    "iothreadids", "defaultiothread", "cputune", "numatune", "resource", "sysinfo", "bootloader",
    "bootloader_args", "os", "idmap", "features", "cpu", "clock", "on_poweroff", "on_reboot",
    "on_crash", "on_lockfailure", "pm", "perf", "devices", "seclabel", "keywrap", "launchSecurity",
)  # fmt: skip
_OS_ORDER = (
    "type", "firmware", "loader", "nvram", "init", "initarg", "initenv", "initdir", "inituser",
    "initgroup", "kernel", "initrd", "cmdline", "shim", "dtb", "root", "acpi", "boot", "bootmenu",
    "smbios", "bios",
)  # fmt: skip
_DISK_ORDER = (
    "driver", "auth", "source", "backingStore", "backenddomain", "geometry", "blockio", "target",
    "iotune", "throttlefilters", "boot", "readonly", "shareable", "transient", "serial", "wwn",
    "vendor", "product", "encryption", "alias", "address",
)  # fmt: skip
_IFACE_ORDER = (
    "mac", "source", "vlan", "virtualport", "ip", "route", "script", "downscript", "backenddomain",
    "target", "guest", "model", "driver", "backend", "filterref", "tune", "teaming", "link", "mtu",
    "bandwidth", "coalesce", "rom", "boot", "alias", "address",
)  # fmt: skip
_CHAR_ORDER = ("source", "protocol", "log", "target", "alias", "address")
_GRAPHICS_ORDER = ("listen", "channel", "image", "streaming", "clipboard", "mouse", "filetransfer", "gl")
_VIDEO_ORDER = ("driver", "model", "alias", "address")
_CLOCK_ORDER = ("timer",)

T = TypeVar("T")


def _random_mac() -> str:
    """A MAC in QEMU's 52:54:00 prefix, as libvirt generates for an interface without one."""
    tail = random.getrandbits(24)
    return f"52:54:00:{tail >> 16:02x}:{(tail >> 8) & 0xFF:02x}:{tail & 0xFF:02x}"


_CANON_MAC = re.compile(r"[0-9a-f][02468ace](?::[0-9a-f]{2}){5}")


def _canonical_mac(value: str, where: str) -> str:
    if _CANON_MAC.fullmatch(value):
        return value
    parts = value.strip().split(":")
    if len(parts) != 6:
        raise XMLError(f"unable to parse mac address '{value}' in {where}")
    out = []
    for part in parts:
        if not 1 <= len(part) <= 2:
            raise XMLError(f"unable to parse mac address '{value}' in {where}")
        try:
            out.append(f"{int(part, 16):02x}")
        except ValueError:
            raise XMLError(f"unable to parse mac address '{value}' in {where}") from None
    if int(out[0], 16) & 1:
        raise XMLError(f"expected unicast mac address, found multicast '{value}' in {where}")
    return ":".join(out)


# ============================================================================ OS / clock


@attrs.frozen
class OS:
    """``<os>``: the guest's boot configuration.

    ``type`` is the OS type (``hvm``, ``xen``/``linux`` for Xen PV, ``exe`` for
    containers); ``boot`` the ``<boot dev=...>`` devices in order.
    """

    type: str = "hvm"
    arch: str | None = None
    machine: str | None = None
    firmware: str | None = None
    loader: str | None = None
    nvram: str | None = None
    kernel: str | None = None
    initrd: str | None = None
    cmdline: str | None = None
    dtb: str | None = None
    init: str | None = None
    boot: tuple[str, ...] = ()
    raw: Element | None = _raw
    _frag: str | None = _FRAG

    @classmethod
    def from_element(cls, el: Element) -> OS:
        """Parse an ``<os>`` element."""
        type_ = arch = machine = loader = nvram = kernel = initrd = cmdline = dtb = init = None
        boot: list[str] = []
        for c in el:
            tag = c.tag
            if tag == "type":
                type_ = (c.text or "").strip()
                arch = c.get("arch")
                machine = c.get("machine")
            elif tag == "boot":
                dev = c.get("dev")
                if dev is None:
                    raise XMLError("missing boot device in <os><boot>: attribute 'dev' is required")
                boot.append(dev)
            elif tag == "kernel":
                kernel = c.text
            elif tag == "initrd":
                initrd = c.text
            elif tag == "cmdline":
                cmdline = c.text or ""
            elif tag == "loader":
                loader = c.text
            elif tag == "nvram":
                nvram = c.text
            elif tag == "dtb":
                dtb = c.text
            elif tag == "init":
                init = c.text
            elif tag == "bootmenu":
                timeout = c.get("timeout")
                if timeout is not None:
                    try:
                        ok = 0 <= int(timeout) <= 65535
                    except ValueError:
                        ok = False
                    if not ok:
                        raise XMLError(
                            f"invalid boot menu timeout '{timeout}' in <os><bootmenu>: must be in [0,65535]"
                        )
        if not type_:
            raise XMLError("an os <type> must be specified in <os>")
        return cls(
            type=type_,
            arch=arch,
            machine=machine,
            firmware=el.get("firmware"),
            loader=loader,
            nvram=nvram,
            kernel=kernel,
            initrd=initrd,
            cmdline=cmdline,
            dtb=dtb,
            init=init,
            boot=tuple(boot),
            raw=el,
        )

    def to_element(self) -> Element:
        """Format as an ``<os>`` element."""
        el = u.start(self.raw, "os")
        kids = u.Kids(el, _OS_ORDER)
        u.set_attr(el, "firmware", self.firmware)
        t = kids.child("type")
        t.text = self.type
        u.set_attr(t, "arch", self.arch)
        u.set_attr(t, "machine", self.machine)
        for tag in ("loader", "nvram", "kernel", "initrd", "cmdline", "dtb", "init"):
            value = getattr(self, tag)
            if value is None:
                # keep loader/nvram elements that only carry attributes (e.g. firmware autoselection)
                existing = kids.find(tag)
                if existing is not None and (existing.text or "").strip():
                    kids.drop(tag, existing)
            else:
                kids.text(tag, value)
        old_boot = [c for c in el if c.tag == "boot"]
        if [c.get("dev") for c in old_boot] != list(self.boot):
            new = []
            for dev in self.boot:
                b = etree.Element("boot")
                b.set("dev", dev)
                new.append(b)
            u.replace_children(el, "boot", new, _OS_ORDER)
        return el


@attrs.frozen
class Timer:
    """``<clock><timer name=... present=... tickpolicy=...>``."""

    name: str
    present: bool | None = None
    tickpolicy: str | None = None
    raw: Element | None = _raw

    @classmethod
    def from_element(cls, el: Element) -> Timer:
        """Parse a ``<timer>`` element."""
        name = el.get("name")
        if not name:
            raise XMLError("missing timer name in <clock><timer>: attribute 'name' is required")
        return cls(
            name=name,
            present=u.parse_bool(el.get("present"), f"<timer name='{name}'> attribute 'present'"),
            tickpolicy=el.get("tickpolicy"),
            raw=el,
        )

    def to_element(self) -> Element:
        """Format as a ``<timer>`` element."""
        el = u.start(self.raw, "timer")
        el.set("name", self.name)
        u.set_attr(el, "present", u.fmt_bool(self.present))
        u.set_attr(el, "tickpolicy", self.tickpolicy)
        return el


@attrs.frozen
class Clock:
    """``<clock offset=... adjustment=...>`` with its timers.

    ``adjustment`` is the guest clock's offset in seconds (``offset='variable'``),
    within :data:`virtcore.limits.MAX_CLOCK_ADJUSTMENT` either way; ``None`` when
    absent or ``'reset'`` (kept as written).
    """

    offset: str = "utc"
    timers: tuple[Timer, ...] = ()
    adjustment: int | None = None
    raw: Element | None = _raw
    _frag: str | None = _FRAG

    @classmethod
    def from_element(cls, el: Element) -> Clock:
        """Parse a ``<clock>`` element."""
        adjust = el.get("adjustment")
        bound = limits.MAX_CLOCK_ADJUSTMENT
        return cls(
            offset=el.get("offset") or "utc",
            timers=tuple(Timer.from_element(c) for c in el if c.tag == "timer"),
            adjustment=None
            if adjust is None or adjust == "reset"
            else u.parse_int(adjust, "<clock> attribute 'adjustment'", minimum=-bound, maximum=bound),
            raw=el,
        )

    def to_element(self) -> Element:
        """Format as a ``<clock>`` element."""
        el = u.start(self.raw, "clock")
        el.set("offset", self.offset)
        if self.adjustment is not None or el.get("adjustment") != "reset":
            u.set_attr(el, "adjustment", self.adjustment)
        u.replace_children(el, "timer", (t.to_element() for t in self.timers), _CLOCK_ORDER)
        return el


@attrs.frozen
class CPUFeature:
    """``<cpu><feature policy=require|disable|force|optional|forbid name=...>``."""

    name: str
    policy: str | None = None


@attrs.frozen
class NumaCell:
    """``<cpu><numa><cell id=N cpus=... memory=...>`` (memory in KiB)."""

    id: int | None
    cpus: str | None
    memory: int
    mem_access: str | None = None


_CPU_ORDER = ("model", "vendor", "topology", "cache", "maxphysaddr", "feature", "numa")


@attrs.frozen
class CPU:
    """``<cpu>``: the guest CPU model, topology, features and NUMA cells."""

    mode: str | None = None
    match: str | None = None
    check: str | None = None
    model: str | None = None
    model_fallback: str | None = None
    vendor: str | None = None
    sockets: int | None = None
    dies: int | None = None
    clusters: int | None = None
    cores: int | None = None
    threads: int | None = None
    features: tuple[CPUFeature, ...] = ()
    numa: tuple[NumaCell, ...] = ()
    raw: Element | None = _raw
    _frag: str | None = _FRAG

    @classmethod
    def from_element(cls, el: Element) -> CPU:
        """Parse a ``<cpu>`` element."""
        model = fallback = vendor = None
        topo: dict[str, int | None] = {}
        features: list[CPUFeature] = []
        cells: list[NumaCell] = []
        for c in el:
            tag = c.tag
            if tag == "model":
                model = (c.text or "").strip() or None
                fallback = c.get("fallback")
            elif tag == "vendor":
                vendor = c.text
            elif tag == "topology":
                for key in ("sockets", "dies", "clusters", "cores", "threads"):
                    topo[key] = u.opt_uint(c, key, "<cpu><topology>")
            elif tag == "feature":
                name = c.get("name")
                if not name:
                    raise XMLError("missing CPU feature name in <cpu><feature>")
                features.append(CPUFeature(name=name, policy=c.get("policy")))
            elif tag == "numa":
                for cell in c.iterchildren("cell"):
                    access = cell.get("memAccess")
                    if access is not None and access not in ("shared", "private"):
                        raise XMLError(f"invalid value '{access}' for memAccess in <cpu><numa><cell>")
                    cells.append(
                        NumaCell(
                            id=u.opt_uint(cell, "id", "<cpu><numa><cell>"),
                            cpus=cell.get("cpus"),
                            memory=_cell_memory(cell) if cell.get("memory") is not None else 0,
                            mem_access=access,
                        )
                    )
        return cls(
            mode=el.get("mode"),
            match=el.get("match"),
            check=el.get("check"),
            model=model,
            model_fallback=fallback,
            vendor=vendor,
            features=tuple(features),
            numa=tuple(cells),
            raw=el,
            **topo,  # type: ignore[arg-type]
        )

    def to_element(self) -> Element:
        """Format as a ``<cpu>`` element."""
        el = u.start(self.raw, "cpu")
        for attr in ("mode", "match", "check"):
            u.set_attr(el, attr, getattr(self, attr))
        if self.model is None and self.model_fallback is None:
            u.remove(el, "model")
        else:
            m = u.child(el, "model", _CPU_ORDER)
            m.text = self.model
            u.set_attr(m, "fallback", self.model_fallback)
        u.set_text_child(el, "vendor", self.vendor, _CPU_ORDER)
        topo = {k: getattr(self, k) for k in ("sockets", "dies", "clusters", "cores", "threads")}
        if any(v is not None for v in topo.values()):
            t = u.child(el, "topology", _CPU_ORDER)
            for k, v in topo.items():
                u.set_attr(t, k, v)
        else:
            u.remove(el, "topology")
        old = [(f.get("name"), f.get("policy")) for f in el.iterchildren("feature")]
        if old != [(f.name, f.policy) for f in self.features]:
            new = []
            for f in self.features:
                fe = etree.Element("feature")
                u.set_attr(fe, "policy", f.policy)
                fe.set("name", f.name)
                new.append(fe)
            u.replace_children(el, "feature", new, _CPU_ORDER)
        numa = u.find(el, "numa")
        if self.numa or numa is not None:
            numa = u.child(el, "numa", _CPU_ORDER)
            olds = list(numa.iterchildren("cell"))
            for pos, cell in enumerate(self.numa):
                ce = olds[pos] if pos < len(olds) else etree.SubElement(numa, "cell")
                u.set_attr(ce, "id", cell.id)
                u.set_attr(ce, "cpus", cell.cpus)
                ce.set("memory", str(cell.memory))
                ce.set("unit", "KiB")
                u.set_attr(ce, "memAccess", cell.mem_access)
            for extra in olds[len(self.numa) :]:
                numa.remove(extra)
            if not len(numa) and not numa.attrib:
                el.remove(numa)
        return el


# ============================================================================ devices


class Device:
    """Base of every device model; ``Device.tag`` is its element name.

    Every device has ``address`` (its ``<address>``, :class:`Address`) and ``alias``
    (``<alias name=...>``, set by drivers for running guests), ``None`` when absent.
    """

    __slots__ = ()
    tag: ClassVar[str] = ""
    raw: Element | None
    address: Address | None
    alias: str | None
    _frag: str | None

    def _overlay(self) -> Element:
        raise NotImplementedError

    def to_element(self) -> Element:
        """Format as the device's element."""
        el = self._overlay()
        _put_info(el, self.address, self.alias)
        return el


_ADDR = attrs.field(default=None, kw_only=True)
_ALIAS = attrs.field(default=None, kw_only=True)
_NO_INFO: dict[str, Any] = {}


def _info(el: Element) -> dict[str, Any]:
    """The ``address`` and ``alias`` of a device element, as constructor arguments."""
    if not len(el):
        return _NO_INFO
    address = alias = None
    for c in el:
        tag = c.tag
        if tag == "address":
            if address is None:
                address = _el().Address.from_element(c)
        elif tag == "alias" and alias is None:
            alias = c.get("name")
    if address is None and alias is None:
        return _NO_INFO
    return {"address": address, "alias": alias}


def _put_info(el: Element, address: Address | None, alias: str | None) -> None:
    """Overlay a device's alias and address (libvirt puts them last, alias first)."""
    if not len(el):
        if alias is not None:
            etree.SubElement(el, "alias").set("name", alias)
        if address is not None:
            el.append(address.to_element())
        return
    a = addr = None
    for c in el:
        tag = c.tag
        if tag == "alias":
            if alias is None or a is not None:
                el.remove(c)
            else:
                a = c
        elif tag == "address":
            if address is None or addr is not None:
                el.remove(c)
            else:
                addr = c
    if alias is not None:
        if a is None:
            a = etree.Element("alias")
            if addr is not None:
                addr.addprevious(a)
            else:
                el.append(a)
        if a.get("name") != alias:
            a.set("name", alias)
    if address is not None:
        new = address.to_element()
        if addr is None:
            el.append(new)
        else:
            new.tail = addr.tail
            el.replace(addr, new)


_DISK_TYPES = frozenset({"file", "block", "dir", "network", "volume", "nvme", "vhostuser"})
_DISK_DEVICES = frozenset({"disk", "cdrom", "floppy", "lun"})
_DISK_SOURCE_ATTR = {"file": "file", "block": "dev", "dir": "dir", "network": "name", "volume": "volume"}


@attrs.frozen
class Disk(Device):
    """``<disk>``: a block device backed by a file, a block device, a network volume...

    ``source`` is the path (file/block/dir), the network volume name (network,
    with ``source_protocol``) or the volume name (volume, with ``source_pool``);
    ``None`` for an empty CD-ROM.
    """

    tag: ClassVar[str] = "disk"
    type: str = "file"
    device: str = "disk"
    driver_name: str | None = None
    driver_type: str | None = None
    driver_cache: str | None = None
    source: str | None = None
    source_protocol: str | None = None
    source_pool: str | None = None
    target_dev: str = "vda"
    target_bus: str | None = None
    readonly: bool = False
    shareable: bool = False
    boot_order: int | None = None
    serial: str | None = None
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: str | None = _FRAG

    @classmethod
    def from_element(cls, el: Element) -> Disk:
        """Parse a ``<disk>`` element."""
        type_ = el.get("type") or "file"
        if type_ not in _DISK_TYPES:
            raise XMLError(f"unknown disk type '{type_}' in <disk>")
        device = el.get("device") or "disk"
        if device not in _DISK_DEVICES:
            raise XMLError(f"unknown disk device '{device}' in <disk>")
        driver_name = driver_type = driver_cache = source = protocol = pool = alias = None
        address: Address | None = None
        target_dev = target_bus = serial = None
        readonly = shareable = False
        boot_order = None
        for c in el:
            tag = c.tag
            if tag == "source":
                attr = _DISK_SOURCE_ATTR.get(type_)
                if attr is not None:
                    source = c.get(attr)
                if type_ == "network":
                    protocol = c.get("protocol")
                elif type_ == "volume":
                    pool = c.get("pool")
            elif tag == "target":
                target_dev = c.get("dev")
                target_bus = c.get("bus")
            elif tag == "driver":
                driver_name = c.get("name")
                driver_type = c.get("type")
                driver_cache = c.get("cache")
            elif tag == "readonly":
                readonly = True
            elif tag == "shareable":
                shareable = True
            elif tag == "boot":
                boot_order = u.parse_uint(c.get("order"), "<disk><boot> attribute 'order'")
                loadparm = c.get("loadparm")
                if loadparm is not None:
                    _check_loadparm(loadparm)
            elif tag == "serial":
                serial = c.text
            elif tag == "address":
                if address is None:
                    address = _el().Address.from_element(c)
            elif tag == "alias" and alias is None:
                alias = c.get("name")
        if not target_dev:
            where = f" for disk '{source}'" if source else ""
            raise XMLError(f"missing <target dev=...> in <disk>{where}")
        return cls(
            type=type_,
            device=device,
            driver_name=driver_name,
            driver_type=driver_type,
            driver_cache=driver_cache,
            source=source,
            source_protocol=protocol,
            source_pool=pool,
            target_dev=target_dev,
            target_bus=target_bus,
            readonly=readonly,
            shareable=shareable,
            boot_order=boot_order,
            serial=serial,
            raw=el,
            address=address,
            alias=alias,
        )

    def _overlay(self) -> Element:
        """Format as a ``<disk>`` element."""
        el = u.start(self.raw, "disk")
        kids = u.Kids(el, _DISK_ORDER)
        el.set("type", self.type)
        el.set("device", self.device)
        if self.driver_name or self.driver_type or self.driver_cache:
            drv = kids.child("driver")
            u.set_attr(drv, "name", self.driver_name)
            u.set_attr(drv, "type", self.driver_type)
            u.set_attr(drv, "cache", self.driver_cache)
        else:
            drv_el = kids.find("driver")
            if drv_el is not None:
                for a in ("name", "type", "cache"):
                    u.set_attr(drv_el, a, None)
                if not drv_el.attrib and not len(drv_el):
                    kids.drop("driver", drv_el)
        attr = _DISK_SOURCE_ATTR.get(self.type)
        src = kids.find("source")
        if self.source is None and self.source_protocol is None and self.source_pool is None:
            if src is not None and attr is not None:
                u.set_attr(src, attr, None)
                if not src.attrib and not len(src):
                    kids.drop("source", src)
        else:
            src = kids.child("source")
            for other in _DISK_OTHER_SOURCE_ATTRS[self.type == "volume"].get(attr, _ALL_SOURCE_ATTRS):
                u.set_attr(src, other, None)
            if attr is not None:
                u.set_attr(src, attr, self.source)
            if self.type == "network":
                u.set_attr(src, "protocol", self.source_protocol)
            if self.type == "volume":
                u.set_attr(src, "pool", self.source_pool)
        tgt = kids.child("target")
        tgt.set("dev", self.target_dev)
        u.set_attr(tgt, "bus", self.target_bus)
        kids.flag("readonly", self.readonly)
        kids.flag("shareable", self.shareable)
        if self.boot_order is None:
            kids.remove("boot")
        else:
            kids.child("boot").set("order", str(self.boot_order))
        kids.text("serial", self.serial)
        return el


# attributes of <source> to clear for each disk's own attribute (by "is a volume disk")
_ALL_SOURCE_ATTRS = tuple(sorted(set(_DISK_SOURCE_ATTR.values())))
_DISK_OTHER_SOURCE_ATTRS: dict[bool, dict[str | None, tuple[str, ...]]] = {
    vol: {
        attr: tuple(o for o in _ALL_SOURCE_ATTRS if o != attr and (o != "volume" or not vol))
        for attr in (*_DISK_SOURCE_ATTR.values(), None)
    }
    for vol in (False, True)
}


_LOADPARM = re.compile(r"[a-zA-Z0-9. ]{1,8}")


def _check_loadparm(value: str) -> None:
    if not 1 <= len(value) <= 8:
        raise XMLError(f"loadparm value '{value}' must be between 1 and 8 characters in <disk><boot>")
    if not _LOADPARM.fullmatch(value):
        raise XMLError(
            f"invalid loadparm value '{value}' in <disk><boot>: expecting characters in [a-zA-Z0-9.] "
            "and blanks"
        )


def _flag(el: Element, tag: str, on: bool, order: tuple[str, ...]) -> None:
    if on:
        u.child(el, tag, order)
    else:
        u.remove(el, tag)


_IFACE_SOURCE_ATTR = {"network": "network", "bridge": "bridge", "direct": "dev", "hostdev": None}


@attrs.frozen
class Interface(Device):
    """``<interface>``: a NIC. ``source`` is the network or bridge name (direct: host device)."""

    tag: ClassVar[str] = "interface"
    type: str = "network"
    mac: str | None = None
    source: str | None = None
    model: str | None = None
    target_dev: str | None = None
    link_state: str | None = None
    boot_order: int | None = None
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: str | None = _FRAG

    @classmethod
    def from_element(cls, el: Element) -> Interface:
        """Parse an ``<interface>`` element (a MAC is generated when absent, like libvirt)."""
        type_ = el.get("type")
        if not type_:
            raise XMLError("missing interface type in <interface>: attribute 'type' is required")
        mac = source = model = target_dev = link = alias = None
        address: Address | None = None
        boot_order = None
        src_attr = _IFACE_SOURCE_ATTR.get(type_)
        for c in el:
            tag = c.tag
            if tag == "mac":
                addr = c.get("address")
                if addr is not None:
                    mac = _canonical_mac(addr, "<interface><mac>")
                    if mac == "00:00:00:00:00:00":
                        mac = None  # libvirt treats an all-zero MAC as unset and generates one
            elif tag == "source":
                if src_attr is not None:
                    source = c.get(src_attr)
            elif tag == "model":
                model = c.get("type")
            elif tag == "target":
                target_dev = c.get("dev")
            elif tag == "link":
                link = c.get("state")
            elif tag == "boot":
                boot_order = u.parse_uint(c.get("order"), "<interface><boot> attribute 'order'")
            elif tag == "address":
                if address is None:
                    address = _el().Address.from_element(c)
            elif tag == "alias" and alias is None:
                alias = c.get("name")
        if type_ == "network" and not source:
            raise XMLError("No <source> 'network' attribute specified with <interface type='network'/>")
        if type_ == "bridge" and not source:
            raise XMLError("No <source> 'bridge' attribute specified with <interface type='bridge'/>")
        return cls(
            type=type_,
            mac=mac or _random_mac(),
            source=source,
            model=model,
            target_dev=target_dev,
            link_state=link,
            boot_order=boot_order,
            raw=el,
            address=address,
            alias=alias,
        )

    def _overlay(self) -> Element:
        """Format as an ``<interface>`` element."""
        el = u.start(self.raw, "interface")
        kids = u.Kids(el, _IFACE_ORDER)
        el.set("type", self.type)
        if self.mac is not None:
            kids.child("mac").set("address", self.mac)
        else:
            kids.remove("mac")
        src_attr = _IFACE_SOURCE_ATTR.get(self.type)
        if src_attr is not None:
            if self.source is None:
                src = kids.find("source")
                if src is not None:
                    u.set_attr(src, src_attr, None)
                    if not src.attrib and not len(src):
                        kids.drop("source", src)
            else:
                kids.child("source").set(src_attr, self.source)
        if self.model is None:
            kids.remove("model")
        else:
            kids.child("model").set("type", self.model)
        if self.target_dev is None:
            tgt = kids.find("target")
            if tgt is not None:
                u.set_attr(tgt, "dev", None)
                if not tgt.attrib and not len(tgt):
                    kids.drop("target", tgt)
        else:
            kids.child("target").set("dev", self.target_dev)
        if self.link_state is None:
            kids.remove("link")
        else:
            kids.child("link").set("state", self.link_state)
        if self.boot_order is None:
            kids.remove("boot")
        else:
            kids.child("boot").set("order", str(self.boot_order))
        return el


_CHAR_PATH_TYPES = frozenset({"pty", "dev", "file", "pipe", "unix"})


@attrs.frozen
class CharDevice(Device):
    """Common shape of ``<serial>``, ``<console>``, ``<parallel>`` and ``<channel>``.

    ``type`` is the host side (pty, file, unix, tcp, udp, null, stdio, vc,
    spicevmc, ...); ``source_path``/``source_mode`` the ``<source path= mode=>``
    of path-based types; ``target_type``/``target_port`` the guest side.
    """

    tag: ClassVar[str] = ""
    type: str = "pty"
    source_path: str | None = None
    source_mode: str | None = None
    target_type: str | None = None
    target_port: int | None = None
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: str | None = _FRAG

    @classmethod
    def _fields(cls, el: Element) -> dict[str, object]:
        where = f"<{cls.tag}>"
        type_ = el.get("type") or "pty"
        path = mode = ttype = alias = None
        port = None
        address: Address | None = None
        for c in el:
            if c.tag == "source":
                if type_ == "udp":
                    continue  # udp has a bind and a connect source: kept as written
                if path is None:
                    path = c.get("path")
                    mode = c.get("mode")
                    if mode is None and type_ == "tcp":
                        mode = "connect"
            elif c.tag == "target":
                ttype = c.get("type")
                port = u.opt_uint(c, "port", f"{where}<target>")
            elif c.tag == "address":
                if address is None:
                    address = _el().Address.from_element(c)
            elif c.tag == "alias" and alias is None:
                alias = c.get("name")
        return {
            "type": type_,
            "source_path": path,
            "source_mode": mode,
            "target_type": ttype,
            "target_port": port,
            "raw": el,
            "address": address,
            "alias": alias,
        }

    @classmethod
    def from_element(cls, el: Element) -> CharDevice:
        """Parse the character device element."""
        return cls(**cls._fields(el))  # type: ignore[arg-type]

    def _overlay(self) -> Element:
        """Format as the character device element."""
        el = u.start(self.raw, self.tag)
        el.set("type", self.type)
        if self.type == "udp":
            return el
        src = u.find(el, "source")
        if self.source_path is None and self.source_mode is None:
            if src is not None:
                u.set_attr(src, "path", None)
                u.set_attr(src, "mode", None)
                if not src.attrib and not len(src):
                    el.remove(src)
        else:
            src = u.child(el, "source", _CHAR_ORDER)
            u.set_attr(src, "mode", self.source_mode)
            u.set_attr(src, "path", self.source_path)
        if self.target_type is None and self.target_port is None:
            tgt = u.find(el, "target")
            if tgt is not None:
                u.set_attr(tgt, "type", None)
                u.set_attr(tgt, "port", None)
                if not tgt.attrib and not len(tgt):
                    el.remove(tgt)
        else:
            tgt = u.child(el, "target", _CHAR_ORDER)
            u.set_attr(tgt, "type", self.target_type)
            u.set_attr(tgt, "port", self.target_port)
        return el


@attrs.frozen
class Serial(CharDevice):
    """``<serial>``: a serial port."""

    tag: ClassVar[str] = "serial"


@attrs.frozen
class Console(CharDevice):
    """``<console>``: the guest console (target type serial, virtio, xen, ...)."""

    tag: ClassVar[str] = "console"


@attrs.frozen
class Parallel(CharDevice):
    """``<parallel>``: a parallel port."""

    tag: ClassVar[str] = "parallel"


@attrs.frozen
class Channel(CharDevice):
    """``<channel>``: a host-guest channel; ``target_name`` e.g. ``org.qemu.guest_agent.0``."""

    tag: ClassVar[str] = "channel"
    target_name: str | None = None

    @classmethod
    def from_element(cls, el: Element) -> Channel:
        """Parse a ``<channel>`` element."""
        fields = cls._fields(el)
        tgt = u.find(el, "target")
        fields["target_name"] = None if tgt is None else tgt.get("name")
        return cls(**fields)  # type: ignore[arg-type]

    def _overlay(self) -> Element:
        """Format as a ``<channel>`` element."""
        el = super()._overlay()
        if self.target_name is not None:
            u.child(el, "target", _CHAR_ORDER).set("name", self.target_name)
        else:
            tgt = u.find(el, "target")
            if tgt is not None:
                u.set_attr(tgt, "name", None)
        return el


@attrs.frozen
class Graphics(Device):
    """``<graphics>``: vnc, spice, sdl, rdp, ... ``port`` -1 / ``autoport`` for automatic."""

    tag: ClassVar[str] = "graphics"
    type: str = "vnc"
    port: int | None = None
    autoport: bool | None = None
    listen: str | None = None
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: str | None = _FRAG

    @classmethod
    def from_element(cls, el: Element) -> Graphics:
        """Parse a ``<graphics>`` element."""
        type_ = el.get("type")
        if not type_:
            raise XMLError("missing graphics type in <graphics>: attribute 'type' is required")
        port_s = el.get("port")
        port = None
        if port_s is not None:
            port = u.parse_int(port_s, "<graphics> attribute 'port'", minimum=-1, maximum=65535)
        listen = el.get("listen")
        for lst in el.iterchildren("listen"):
            ltype = lst.get("type")
            if ltype == "address":
                if listen is None:
                    listen = lst.get("address")
            elif ltype == "network":
                if not lst.get("network"):
                    raise XMLError("<listen type='network'> needs a 'network' attribute in <graphics>")
            elif ltype is None:
                raise XMLError("missing listen type in <graphics><listen>: attribute 'type' is required")
        autoport = u.parse_bool(el.get("autoport"), "<graphics> attribute 'autoport'")
        if el.get("socket") is not None:
            listen = None  # a UNIX socket replaces any listen address (as libvirt does)
        elif type_ in ("vnc", "spice") and (port is None or port == -1 or autoport):
            # libvirt: no port, port -1 or autoport='yes' all mean "pick a port"
            if port is None and autoport is False and type_ == "spice":
                pass
            else:
                port, autoport = -1, True
        return cls(type=type_, port=port, autoport=autoport, listen=listen, raw=el, **_info(el))

    def _overlay(self) -> Element:
        """Format as a ``<graphics>`` element."""
        el = u.start(self.raw, "graphics")
        el.set("type", self.type)
        u.set_attr(el, "port", self.port)
        u.set_attr(el, "autoport", u.fmt_bool(self.autoport))
        lst = u.find(el, "listen")
        has_child = lst is not None and lst.get("type") == "address"
        if has_child and lst is not None:
            if self.listen is None:
                el.remove(lst)
            else:
                lst.set("address", self.listen)
        if not has_child or "listen" in el.attrib:
            u.set_attr(el, "listen", self.listen)
        return el


@attrs.frozen
class Input(Device):
    """``<input type=mouse|tablet|keyboard|... bus=ps2|usb|virtio|...>``."""

    tag: ClassVar[str] = "input"
    type: str = "mouse"
    bus: str | None = None
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: str | None = _FRAG

    @classmethod
    def from_element(cls, el: Element) -> Input:
        """Parse an ``<input>`` element."""
        type_ = el.get("type")
        if not type_:
            raise XMLError("missing input device type in <input>: attribute 'type' is required")
        return cls(type=type_, bus=el.get("bus"), raw=el, **_info(el))

    def _overlay(self) -> Element:
        """Format as an ``<input>`` element."""
        el = u.start(self.raw, "input")
        el.set("type", self.type)
        u.set_attr(el, "bus", self.bus)
        return el


@attrs.frozen
class Video(Device):
    """``<video><model type=... vram=... heads=...>``."""

    tag: ClassVar[str] = "video"
    model: str | None = None
    vram: int | None = None
    heads: int | None = None
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: str | None = _FRAG

    @classmethod
    def from_element(cls, el: Element) -> Video:
        """Parse a ``<video>`` element."""
        m = u.find(el, "model")
        if m is None:
            return cls(raw=el, **_info(el))
        return cls(
            model=m.get("type"),
            vram=u.opt_uint(m, "vram", "<video><model>"),
            heads=u.opt_uint(m, "heads", "<video><model>"),
            raw=el,
            **_info(el),
        )

    def _overlay(self) -> Element:
        """Format as a ``<video>`` element."""
        el = u.start(self.raw, "video")
        if self.model is None and self.vram is None and self.heads is None:
            m = u.find(el, "model")
            if m is not None:
                for a in ("type", "vram", "heads"):
                    u.set_attr(m, a, None)
                if not m.attrib and not len(m):
                    el.remove(m)
            return el
        m = u.child(el, "model", _VIDEO_ORDER)
        u.set_attr(m, "type", self.model)
        u.set_attr(m, "vram", self.vram)
        u.set_attr(m, "heads", self.heads)
        return el


@attrs.frozen
class MemBalloon(Device):
    """``<memballoon model=virtio|xen|none>``."""

    tag: ClassVar[str] = "memballoon"
    model: str = "virtio"
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: str | None = _FRAG

    @classmethod
    def from_element(cls, el: Element) -> MemBalloon:
        """Parse a ``<memballoon>`` element."""
        model = el.get("model")
        if not model:
            raise XMLError("balloon memory must contain model name in <memballoon>")
        return cls(model=model, raw=el, **_info(el))

    def _overlay(self) -> Element:
        """Format as a ``<memballoon>`` element."""
        el = u.start(self.raw, "memballoon")
        el.set("model", self.model)
        return el


@attrs.frozen
class Controller(Device):
    """``<controller type=pci|usb|scsi|ide|sata|virtio-serial|xenbus|... index=N model=...>``."""

    tag: ClassVar[str] = "controller"
    type: str = "pci"
    index: int | None = None
    model: str | None = None
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: str | None = _FRAG

    @classmethod
    def from_element(cls, el: Element) -> Controller:
        """Parse a ``<controller>`` element."""
        type_ = el.get("type")
        if not type_:
            raise XMLError("missing controller type in <controller>: attribute 'type' is required")
        return cls(
            type=type_,
            index=u.opt_uint(el, "index", f"<controller type='{type_}'>"),
            model=el.get("model"),
            raw=el,
            **_info(el),
        )

    def _overlay(self) -> Element:
        """Format as a ``<controller>`` element."""
        el = u.start(self.raw, "controller")
        el.set("type", self.type)
        u.set_attr(el, "index", self.index)
        u.set_attr(el, "model", self.model)
        return el


class _MappedDevice(Device):
    """A device whose modelled fields are plain attributes of the element or of a child.

    ``_map`` lists ``(field, child tag or None, attribute)``; ``_ints`` the integer fields;
    ``_required`` the fields the element must have.
    """

    __slots__ = ()
    _map: ClassVar[tuple[tuple[str, str | None, str], ...]] = ()
    _ints: ClassVar[frozenset[str]] = frozenset()
    _required: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_element(cls, el: Element) -> Device:
        """Parse the device element."""
        values: dict[str, object] = {}
        subs: dict[str, Element | None] = {}
        for field, sub, attr in cls._map:
            target: Element | None = el
            if sub is not None:
                if sub not in subs:
                    subs[sub] = u.find(el, sub)
                target = subs[sub]
            value = None if target is None else target.get(attr)
            if value is None and field in cls._required:
                where = f"<{cls.tag}>" if sub is None else f"<{cls.tag}><{sub}>"
                raise XMLError(f"missing attribute '{attr}' in {where}")
            if value is not None and field in cls._ints:
                where = f"<{cls.tag}>" if sub is None else f"<{cls.tag}><{sub}>"
                values[field] = u.parse_uint(value, f"{where} attribute '{attr}'", maximum=limits.UINT_MAX)
            else:
                values[field] = value
        return cls(**values, raw=el, **_info(el))  # type: ignore[call-arg]

    def _overlay(self) -> Element:
        """Format as the device element."""
        el = u.start(self.raw, self.tag)
        for field, sub, attr in self._map:
            value = getattr(self, field)
            if sub is None:
                u.set_attr(el, attr, value)
                continue
            target = u.find(el, sub)
            if value is None:
                if target is not None:
                    u.set_attr(target, attr, None)
                    if not target.attrib and not len(target) and not (target.text or "").strip():
                        el.remove(target)
            else:
                if target is None:
                    target = etree.SubElement(el, sub)
                target.set(attr, str(value))
        return el


@attrs.frozen
class Sound(_MappedDevice):
    """``<sound model=ich6|ich9|ac97|es1370|sb16|usb|...>``."""

    tag: ClassVar[str] = "sound"
    _map = (("model", None, "model"),)
    _required = ("model",)
    model: str = "ich9"
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class Watchdog(_MappedDevice):
    """``<watchdog model=i6300esb|ib700|itco|diag288 action=reset|poweroff|...>``."""

    tag: ClassVar[str] = "watchdog"
    _map = (("model", None, "model"), ("action", None, "action"))
    _required = ("model",)
    model: str = "i6300esb"
    action: str | None = None
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class Rng(_MappedDevice):
    """``<rng model=virtio><backend model=random|egd|builtin><rate bytes=... period=...>``."""

    tag: ClassVar[str] = "rng"
    _map = (
        ("model", None, "model"),
        ("backend_model", "backend", "model"),
        ("rate_bytes", "rate", "bytes"),
        ("rate_period", "rate", "period"),
    )
    _ints = frozenset({"rate_bytes", "rate_period"})
    _required = ("model",)
    model: str = "virtio"
    backend_model: str | None = None
    #: ``<rate bytes=... period=...>``: at most ``rate_bytes`` bytes per ``rate_period`` ms
    rate_bytes: int | None = None
    rate_period: int | None = None
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class Tpm(_MappedDevice):
    """``<tpm model=...><backend type=passthrough|emulator version=...>``."""

    tag: ClassVar[str] = "tpm"
    _map = (
        ("model", None, "model"),
        ("backend_type", "backend", "type"),
        ("backend_version", "backend", "version"),
    )
    model: str | None = None
    backend_type: str | None = None
    backend_version: str | None = None
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class Panic(_MappedDevice):
    """``<panic model=isa|pseries|hyperv|s390|pvpanic>``."""

    tag: ClassVar[str] = "panic"
    _map = (("model", None, "model"),)
    model: str | None = None
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class Iommu(_MappedDevice):
    """``<iommu model=intel|smmuv3|virtio>``."""

    tag: ClassVar[str] = "iommu"
    _map = (("model", None, "model"),)
    _required = ("model",)
    model: str = "intel"
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class Vsock(_MappedDevice):
    """``<vsock model=virtio><cid auto=yes|no address=N>``."""

    tag: ClassVar[str] = "vsock"
    _map = (("model", None, "model"), ("cid_auto", "cid", "auto"), ("cid", "cid", "address"))
    _ints = frozenset({"cid"})
    model: str | None = None
    cid_auto: str | None = None
    cid: int | None = None
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class Hostdev(_MappedDevice):
    """``<hostdev mode=subsystem|capabilities type=pci|usb|scsi|mdev|... managed=yes|no>``."""

    tag: ClassVar[str] = "hostdev"
    _map = (("mode", None, "mode"), ("type", None, "type"), ("managed", None, "managed"))
    mode: str | None = None
    type: str | None = None
    managed: str | None = None
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class Redirdev(_MappedDevice):
    """``<redirdev bus=usb type=spicevmc|tcp|...>``."""

    tag: ClassVar[str] = "redirdev"
    _map = (("bus", None, "bus"), ("type", None, "type"))
    _required = ("type",)
    bus: str | None = None
    type: str = "spicevmc"
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class Filesystem(_MappedDevice):
    """``<filesystem type=mount|block|file|ram|... accessmode=...>`` with source and target dir."""

    tag: ClassVar[str] = "filesystem"
    _map = (
        ("type", None, "type"),
        ("accessmode", None, "accessmode"),
        ("driver_type", "driver", "type"),
        ("source_dir", "source", "dir"),
        ("target_dir", "target", "dir"),
    )
    type: str | None = None
    accessmode: str | None = None
    driver_type: str | None = None
    source_dir: str | None = None
    target_dir: str | None = None
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class Shmem(_MappedDevice):
    """``<shmem name=...><model type=ivshmem-plain|ivshmem-doorbell>``."""

    tag: ClassVar[str] = "shmem"
    _map = (("name", None, "name"), ("model", "model", "type"))
    _required = ("name",)
    name: str = ""
    model: str | None = None
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class MemoryDevice(_MappedDevice):
    """``<memory model=dimm|nvdimm|virtio-mem|virtio-pmem|sgx-epc access=...>`` (hotpluggable memory)."""

    tag: ClassVar[str] = "memory"
    _map = (("model", None, "model"), ("access", None, "access"), ("discard", None, "discard"))
    _required = ("model",)
    model: str = "dimm"
    access: str | None = None
    discard: str | None = None
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class Audio(_MappedDevice):
    """``<audio id=N type=none|alsa|pulseaudio|spice|...>``: an audio backend."""

    tag: ClassVar[str] = "audio"
    _map = (("id", None, "id"), ("type", None, "type"))
    _ints = frozenset({"id"})
    _required = ("type",)
    id: int | None = None
    type: str = "none"
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class GenericDevice(Device):
    """A device the model does not type (sound, hostdev, rng, tpm, ...), kept verbatim.

    ``xml`` is the element's serialization; ``kind`` its element name. ``address`` and
    ``alias`` are typed as for every device; for one built in Python, ``None`` keeps
    whatever ``xml`` says.
    """

    kind: str = ""
    xml: str = ""
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: str | None = _FRAG

    @classmethod
    def from_element(cls, el: Element) -> GenericDevice:
        """Keep any device element verbatim."""
        return cls(
            kind=u.local_tag(el),
            xml=etree.tostring(el, encoding="unicode", with_tail=False),
            raw=el,
            **_info(el),
        )

    def to_element(self) -> Element:
        """The kept element (parsed back from ``xml`` when built in Python), address and alias overlaid."""
        el = self._overlay()
        if self.raw is None:
            given = _info(el)
            _put_info(el, self.address or given.get("address"), self.alias or given.get("alias"))
        else:
            _put_info(el, self.address, self.alias)
        return el

    def _overlay(self) -> Element:
        if self.raw is not None:
            return u.start(self.raw, self.kind)
        return secure_parse(self.xml)


_DEVICE_CLASSES: dict[str, Callable[[Element], Device]] = {
    "disk": Disk.from_element,
    "interface": Interface.from_element,
    "serial": Serial.from_element,
    "console": Console.from_element,
    "parallel": Parallel.from_element,
    "channel": Channel.from_element,
    "graphics": Graphics.from_element,
    "input": Input.from_element,
    "video": Video.from_element,
    "memballoon": MemBalloon.from_element,
    "controller": Controller.from_element,
    "sound": Sound.from_element,
    "watchdog": Watchdog.from_element,
    "rng": Rng.from_element,
    "tpm": Tpm.from_element,
    "panic": Panic.from_element,
    "iommu": Iommu.from_element,
    "vsock": Vsock.from_element,
    "hostdev": Hostdev.from_element,
    "redirdev": Redirdev.from_element,
    "filesystem": Filesystem.from_element,
    "shmem": Shmem.from_element,
    "memory": MemoryDevice.from_element,
    "audio": Audio.from_element,
}


def device_from_element(el: Element) -> Device:
    """The model of one device element (unknown kinds become :class:`GenericDevice`)."""
    parse = _DEVICE_CLASSES.get(el.tag)  # type: ignore[arg-type,unused-ignore]
    if parse is None:
        if not isinstance(el.tag, str):
            raise XMLError("expected a device element")
        return GenericDevice.from_element(el)
    return parse(el)


def device_to_element(dev: Device) -> Element:
    """Format a device model as an lxml element."""
    return dev.to_element()


# ============================================================================ domain

_D = TypeVar("_D", bound=Device)


@attrs.frozen
class DomainDef:
    """A domain definition (``<domain>``), immutable: change it with :func:`attrs.evolve`.

    Sizes are in KiB. ``devices`` holds every device in document order;
    ``emulator`` is ``<devices><emulator>``. ``features`` are the names of the
    children of ``<features>``; ``hyperv`` and ``kvm`` type the content of
    ``<hyperv>`` and ``<kvm>`` when those are among them (the content of the
    other features is kept from the source XML). ``memory_backing``,
    ``numatune``, ``cputune``, ``memtune``, ``blkiotune``, ``iothreadids`` are
    the elements of those names (``None`` when absent); ``iothreads`` is
    ``<iothreads>``; ``sysinfo`` and ``seclabels`` every ``<sysinfo>`` and
    ``<seclabel>`` in order.
    """

    type: str
    name: str
    uuid: str = attrs.field(factory=lambda: str(_uuid.uuid4()))
    memory: int = 0
    current_memory: int | None = None
    vcpu: int = 1
    current_vcpus: int | None = None
    os: OS = attrs.field(factory=OS)
    max_memory: int | None = None
    max_memory_slots: int | None = None
    vcpu_placement: str | None = None
    cpuset: str | None = None
    cpu: CPU | None = None
    title: str | None = None
    description: str | None = None
    features: tuple[str, ...] = ()
    clock: Clock = attrs.field(factory=Clock)
    on_poweroff: str = "destroy"
    on_reboot: str = "restart"
    on_crash: str = "destroy"
    bootloader: str | None = None
    bootloader_args: str | None = None
    emulator: str | None = None
    devices: tuple[Device, ...] = ()
    memory_backing: MemoryBacking | None = None
    numatune: NumaTune | None = None
    cputune: CPUTune | None = None
    memtune: MemTune | None = None
    blkiotune: BlkioTune | None = None
    iothreads: int | None = None
    iothreadids: IOThreadIds | None = None
    sysinfo: tuple[SysInfo, ...] = ()
    seclabels: tuple[SecLabel, ...] = ()
    hyperv: HyperV | None = None
    kvm: KVMFeatures | None = None
    raw: Element | None = _raw
    _xml_cache: dict[int | None, str] | None = attrs.field(default=None, init=False, eq=False, repr=False)
    # The text template of ``raw`` for the fast formatting path, shared by every copy
    # attrs.evolve makes (it is an init field): ``[raw, template]`` once computed.
    _fmt: list[object] = attrs.field(factory=list, eq=False, repr=False, kw_only=True, alias="_fmt")

    def __attrs_post_init__(self) -> None:
        if not self.current_memory:  # None or 0: libvirt's "the balloon holds all of memory"
            object.__setattr__(self, "current_memory", self.memory)
        if self.current_vcpus is None:
            object.__setattr__(self, "current_vcpus", self.vcpu)

    def _of(self, cls: builtins.type[_D]) -> tuple[_D, ...]:
        return tuple(d for d in self.devices if isinstance(d, cls))

    @property
    def disks(self) -> tuple[Disk, ...]:
        """The ``<disk>`` devices."""
        return self._of(Disk)

    @property
    def interfaces(self) -> tuple[Interface, ...]:
        """The ``<interface>`` devices."""
        return self._of(Interface)

    @property
    def serials(self) -> tuple[Serial, ...]:
        """The ``<serial>`` devices."""
        return self._of(Serial)

    @property
    def consoles(self) -> tuple[Console, ...]:
        """The ``<console>`` devices."""
        return self._of(Console)

    @property
    def channels(self) -> tuple[Channel, ...]:
        """The ``<channel>`` devices."""
        return self._of(Channel)

    @property
    def graphics(self) -> tuple[Graphics, ...]:
        """The ``<graphics>`` devices."""
        return self._of(Graphics)

    @property
    def inputs(self) -> tuple[Input, ...]:
        """The ``<input>`` devices."""
        return self._of(Input)

    @property
    def videos(self) -> tuple[Video, ...]:
        """The ``<video>`` devices."""
        return self._of(Video)

    @property
    def controllers(self) -> tuple[Controller, ...]:
        """The ``<controller>`` devices."""
        return self._of(Controller)

    @property
    def memballoon(self) -> MemBalloon | None:
        """The ``<memballoon>``, if any."""
        found: tuple[MemBalloon, ...] = self._of(MemBalloon)
        return found[0] if found else None

    @property
    def metadata(self) -> str | None:
        """``<metadata>`` serialized verbatim (it is always kept as written)."""
        if self.raw is None:
            return None
        md = u.find(self.raw, "metadata")
        return None if md is None else etree.tostring(md, encoding="unicode", with_tail=False)


def _text(el: Element) -> str:
    return el.text or ""


def domain_from_element(el: Element) -> DomainDef:
    """Build a :class:`DomainDef` from a ``<domain>`` element (e.g. inside a node file).

    :raises XMLError: when the element is not a valid domain definition.
    """
    if el.tag != "domain":
        raise XMLError(f"expected a <domain> element, not <{u.local_tag(el)}>")
    type_ = el.get("type")
    if not type_:
        raise XMLError("missing domain type attribute in <domain>")
    if type_ not in DOMAIN_TYPES:
        raise XMLError(f"invalid domain type '{type_}' in <domain>")
    name = uuid = title = description = bootloader = bootloader_args = emulator = None
    memory = current_memory = max_memory = max_memory_slots = None
    vcpu_placement = cpuset = None
    cpu = None
    vcpu = 1
    current_vcpus = None
    os = None
    features: tuple[str, ...] = ()
    clock = None
    actions: dict[str, str] = {}
    devices: list[Device] = []
    numa_memory = 0
    kwargs: dict[str, object] = {}
    for c in el:
        tag = c.tag
        if tag == "name":
            name = _text(c).strip()
        elif tag == "uuid":
            uuid = u.canonical_uuid(_text(c))
        elif tag == "memory":
            memory = u.parse_memory(c, "<memory>")
        elif tag == "currentMemory":
            current_memory = u.parse_memory(c, "<currentMemory>")
        elif tag == "maxMemory":
            max_memory = u.parse_memory(c, "<maxMemory>")
            max_memory_slots = u.opt_uint(c, "slots", "<maxMemory>")
        elif tag == "vcpu":
            vcpu = u.parse_uint(c.text, "<vcpu>")
            vcpu_placement = c.get("placement")
            cpuset = c.get("cpuset")
            cur = c.get("current")
            if cur is not None:
                current_vcpus = u.parse_uint(cur, "<vcpu> attribute 'current'")
        elif tag == "os":
            os = OS.from_element(c)
        elif tag == "devices":
            for d in c:
                if d.tag == "emulator":
                    emulator = _text(d).strip()
                elif isinstance(d.tag, str):
                    devices.append(device_from_element(d))
        elif tag == "features":
            features = tuple(u.local_tag(f) for f in c if isinstance(f.tag, str))
            if "hyperv" in features or "kvm" in features:
                for f in c:
                    if f.tag == "hyperv" and "hyperv" not in kwargs:
                        kwargs["hyperv"] = _el().HyperV.from_element(f)
                    elif f.tag == "kvm" and "kvm" not in kwargs:
                        kwargs["kvm"] = _el().KVMFeatures.from_element(f)
        elif tag == "clock":
            clock = Clock.from_element(c)
        elif tag in ("on_poweroff", "on_reboot", "on_crash"):
            action = _text(c).strip()
            if action not in LIFECYCLE_ACTIONS:
                raise XMLError(f"invalid {tag} value '{action}' in <{tag}>")
            actions[tag] = action
        elif tag == "title":
            title = _text(c)
        elif tag == "description":
            description = _text(c)
        elif tag == "bootloader":
            bootloader = _text(c)
        elif tag == "bootloader_args":
            bootloader_args = _text(c)
        elif tag == "cpu":
            cpu = CPU.from_element(c)
            numa_memory = sum(cell.memory for cell in cpu.numa)
        elif tag in _TOP_PARSERS:
            field, class_name = _TOP_PARSERS[tag]
            parse = getattr(_el(), class_name).from_element
            if field in ("sysinfo", "seclabels"):
                kwargs[field] = (*cast("tuple[object, ...]", kwargs.get(field, ())), parse(c))
            elif field not in kwargs:
                kwargs[field] = parse(c)
        elif tag == "iothreads" and "iothreads" not in kwargs:
            kwargs["iothreads"] = u.parse_uint(c.text, "<iothreads>")
    if not name:
        raise XMLError("missing <name> in <domain>: a domain needs a name")
    if os is None:
        if bootloader is not None or type_ == "xen":
            os = OS(type="xen" if bootloader is not None else "hvm")
        else:
            raise XMLError("an os <type> must be specified in <os>")
    if current_memory == 0:
        current_memory = None  # libvirt reads an empty balloon as "all of <memory>"
    if not memory:
        if numa_memory:
            memory = numa_memory
        elif memory is None:
            raise XMLError("missing <memory> in <domain>: the memory size must be specified")
    limits.check_definition(
        name=name,
        memory=memory,
        current_memory=memory if current_memory is None else current_memory,
        vcpu=vcpu,
        current_vcpus=vcpu if current_vcpus is None else current_vcpus,
        max_memory=max_memory,
    )
    _check_duplicate_targets(devices)
    if uuid is not None:
        kwargs["uuid"] = uuid
    if clock is not None:
        kwargs["clock"] = clock
    return DomainDef(
        type=type_,
        name=name,
        memory=memory,
        current_memory=current_memory,
        vcpu=vcpu,
        current_vcpus=current_vcpus,
        os=os,
        max_memory=max_memory,
        max_memory_slots=max_memory_slots,
        vcpu_placement=vcpu_placement,
        cpuset=cpuset,
        cpu=cpu,
        title=title,
        description=description,
        features=features,
        on_poweroff=actions.get("on_poweroff", "destroy"),
        on_reboot=actions.get("on_reboot", "restart"),
        on_crash=actions.get("on_crash", "destroy"),
        bootloader=bootloader,
        bootloader_args=bootloader_args,
        emulator=emulator,
        devices=tuple(devices),
        raw=el,
        **kwargs,  # type: ignore[arg-type]
    )


#: Typed top-level elements besides os/clock/cpu: tag -> (DomainDef field, parser). The
#: first of each is parsed (all of them for sysinfo and seclabel); formatting replaces
#: every element of the tag by the field's.
_TOP_PARSERS: dict[str, tuple[str, str]] = {
    "memoryBacking": ("memory_backing", "MemoryBacking"),
    "numatune": ("numatune", "NumaTune"),
    "cputune": ("cputune", "CPUTune"),
    "memtune": ("memtune", "MemTune"),
    "blkiotune": ("blkiotune", "BlkioTune"),
    "iothreadids": ("iothreadids", "IOThreadIds"),
    "sysinfo": ("sysinfo", "SysInfo"),
    "seclabel": ("seclabels", "SecLabel"),
}
_TOP_FIELDS = tuple((tag, field) for tag, (field, _) in _TOP_PARSERS.items())


def _top_items(d: DomainDef, field: str) -> tuple[SpecElement, ...]:
    value = getattr(d, field)
    if value is None:
        return ()
    if isinstance(value, tuple):
        return value
    return (value,)


def _cell_memory(cell: Element) -> int:
    fake = etree.Element("memory")
    fake.text = cell.get("memory")
    unit = cell.get("unit")
    if unit is not None:
        fake.set("unit", unit)
    return u.parse_memory(fake, "<cpu><numa><cell> attribute 'memory'")


def _check_duplicate_targets(devices: list[Device]) -> None:
    seen: dict[str, Disk] = {}
    for d in devices:
        if isinstance(d, Disk):
            prev = seen.get(d.target_dev)
            if prev is not None:
                raise XMLError(
                    f"target '{d.target_dev}' duplicated for disk sources '{prev.source or ''}' "
                    f"and '{d.source or ''}' in <disk><target>"
                )
            seen[d.target_dev] = d


_SIMPLE = frozenset(
    {
        "name", "uuid", "title", "description", "memory", "currentMemory", "maxMemory", "vcpu", "bootloader",
        "bootloader_args", "on_poweroff", "on_reboot", "on_crash", "iothreads",
    }
)  # fmt: skip


def _check_writable(d: DomainDef) -> None:
    """Refuse to format a definition that :func:`domain_from_element` would not read back."""
    limits.check_definition(
        name=d.name,
        memory=d.memory,
        current_memory=d.current_memory,
        vcpu=d.vcpu,
        current_vcpus=d.current_vcpus,
        max_memory=d.max_memory,
    )


def domain_to_element(d: DomainDef, *, domain_id: int | None = None) -> Element:
    """Format a :class:`DomainDef` as a ``<domain>`` lxml element.

    :raises XMLError: when the definition holds a value the model could not read back
        (see :mod:`virtcore.limits`).
    """
    _check_writable(d)
    raw = d.raw
    el = etree.Element("domain", nsmap=cast("dict[str, str]", raw.nsmap) if raw is not None else None)
    el.set("type", d.type)
    if domain_id is not None:
        el.set("id", str(domain_id))
    done_os = done_clock = False
    devs = None
    if raw is not None:
        for key, value in raw.attrib.items():
            if key != "type" and key != "id":
                el.set(key, value)
        for c in raw:
            tag = c.tag
            if tag == "os":
                if not done_os:
                    el.append(d.os.to_element())
                    done_os = True
            elif tag == "clock":
                if not done_clock:
                    el.append(d.clock.to_element())
                    done_clock = True
            elif tag == "devices":
                if devs is None:
                    devs = etree.SubElement(el, "devices")
                    devs.attrib.update(c.attrib)
            else:
                el.append(u.dup(c))
    order = _DOMAIN_ORDER
    if not done_os:
        u.insert_ordered(el, d.os.to_element(), order)
    if not done_clock:
        u.insert_ordered(el, d.clock.to_element(), order)
    if devs is None:
        devs = etree.Element("devices")
        u.insert_ordered(el, devs, order)
    index: dict[str, Element] = {}
    for c in el:
        tag = c.tag
        if tag in _SIMPLE and tag not in index:
            index[tag] = c

    def put(tag: str, text: str | None) -> Element | None:
        found = index.get(tag)
        if text is None:
            if found is not None:
                el.remove(found)
            return None
        if found is None:
            found = index[tag] = etree.Element(tag)
            u.insert_ordered(el, found, order)
        found.text = text
        return found

    put("name", d.name)
    put("uuid", d.uuid)
    put("title", d.title)
    put("description", d.description)
    m = put("memory", str(d.memory))
    m.set("unit", "KiB")  # type: ignore[union-attr]
    m = put("currentMemory", str(d.current_memory if d.current_memory is not None else d.memory))
    m.set("unit", "KiB")  # type: ignore[union-attr]
    v = put("vcpu", str(d.vcpu))
    cur = d.current_vcpus if d.current_vcpus is not None else d.vcpu
    u.set_attr(v, "current", cur if cur != d.vcpu else None)  # type: ignore[arg-type]
    u.set_attr(v, "placement", d.vcpu_placement)  # type: ignore[arg-type]
    u.set_attr(v, "cpuset", d.cpuset)  # type: ignore[arg-type]
    if d.max_memory is None:
        put("maxMemory", None)
    else:
        mm = put("maxMemory", str(d.max_memory))
        mm.set("unit", "KiB")  # type: ignore[union-attr]
        u.set_attr(mm, "slots", d.max_memory_slots)  # type: ignore[arg-type]
    if d.cpu is None:
        u.remove(el, "cpu")
    else:
        u.replace_children(el, "cpu", [d.cpu.to_element()], order)
    for tag, field in _TOP_FIELDS:
        items = _top_items(d, field)
        if items:
            u.replace_children(el, tag, [x.to_element() for x in items], order)
        else:
            u.remove(el, tag)
    put("iothreads", None if d.iothreads is None else str(d.iothreads))
    put("bootloader", d.bootloader)
    put("bootloader_args", d.bootloader_args)
    put("on_poweroff", d.on_poweroff)
    put("on_reboot", d.on_reboot)
    put("on_crash", d.on_crash)
    feats = u.find(el, "features")
    if d.features or feats is not None:
        if feats is None:
            feats = u.child(el, "features", order)
        have = [u.local_tag(f) for f in feats]
        if have != list(d.features):
            existing = {u.local_tag(f): f for f in feats}
            for f in list(feats):
                feats.remove(f)
            for name in d.features:
                feats.append(existing.get(name, etree.Element(name)))
        if not len(feats) and not d.features:
            el.remove(feats)
        for typed in (d.hyperv, d.kvm):
            if typed is not None:
                old_el = u.find(feats, typed._tag)
                if old_el is not None:
                    new_el = typed.to_element()
                    new_el.tail = old_el.tail
                    feats.replace(old_el, new_el)
    if d.emulator is not None:
        etree.SubElement(devs, "emulator").text = d.emulator
    for dev in d.devices:
        devs.append(dev.to_element())
    return el


def _serialize(el: Element) -> str:
    etree.indent(el, space="  ")
    return etree.tostring(el, encoding="unicode") + "\n"


#: Text no longer than this many characters is within the parser's limits whatever it holds
#: (at most 4 bytes of UTF-8 each, and at most one element or attribute each).
_SURELY_READABLE = min(MAX_XML_BYTES // 4, MAX_XML_NODES)


def format_domain(d: DomainDef, *, domain_id: int | None = None) -> str:
    """Format a domain definition as libvirt domain XML.

    The result is cached on the (immutable) definition, so formatting the same
    object again is cheap.

    :param domain_id: when given, the running domain's id (``<domain id='N'>``).
    :raises XMLError: when the definition holds a value the model could not read back
        (see :mod:`virtcore.limits`), or its text would exceed the parser's size limits.
    """
    cache = d._xml_cache
    if cache is None:
        cache = {}
        object.__setattr__(d, "_xml_cache", cache)
    else:
        text = cache.get(domain_id)
        if text is not None:
            return text
    _check_writable(d)
    try:
        text = _format_text(d, domain_id)
    except u.Slow:
        text = _serialize(domain_to_element(d, domain_id=domain_id))
    # indentation can make the text larger than its source: never hand out a definition
    # that parse_domain (a loader, another process) would refuse
    if len(text) > _SURELY_READABLE:
        check_size(text, what=f"the XML of domain '{d.name}'")
    if len(cache) < 8:
        cache[domain_id] = text
    return text


# ---------------------------------------------------------------------------- fast text path
#
# format_domain writes text directly instead of building and serializing an lxml tree: it
# replays domain_to_element's steps on a list of top-level (tag, text) entries. The text of
# the children the model does not type comes from a template serialized once per source
# element; typed sub-objects (os, clock, cpu, each device) cache their own fragment, so a
# definition changed with attrs.evolve only formats what it changed. Whenever the text
# could differ from the tree path's output, u.Slow falls back to the tree path.

_MARK = "\ue000"
_DOMAIN_RANKS = {tag: i for i, tag in enumerate(_DOMAIN_ORDER)}
#: Attributes the tree path may set on each simple element (others force the tree path).
_SIMPLE_ATTRS: dict[str, frozenset[str]] = {
    "memory": frozenset({"unit"}),
    "currentMemory": frozenset({"unit"}),
    "maxMemory": frozenset({"unit", "slots"}),
    "vcpu": frozenset({"current", "placement", "cpuset"}),
}
_NO_ATTRS: frozenset[str] = frozenset()
#: Top-level elements whose first occurrence is written from the model.
_ONCE_TYPED = _SIMPLE | {"os", "clock", "devices"}


class _Template:
    """What formatting needs from a domain's source element, computed once per element."""

    __slots__ = (
        "devices_attrs", "devices_text", "features", "head", "hyperv", "kvm", "plans", "shape", "tail",
        "texts",
    )  # fmt: skip

    def __init__(
        self,
        head: str,
        tail: str,
        shape: tuple[tuple[object, tuple[str, ...] | None], ...],
        texts: tuple[str, ...],
        devices_attrs: str,
        features: tuple[str, ...] | None,
    ) -> None:
        self.head = head  # '<domain ... type=' (namespace declarations first)
        self.tail = tail  # the other attributes of <domain>, then '>'
        # top-level children: (tag, attribute names), the names None when the element
        # holds more than the text path can overlay; and their indented text ("" for the
        # typed ones, written from the model)
        self.shape = shape
        self.texts = texts
        self.devices_attrs = devices_attrs  # attributes of the source <devices>, as text
        self.features = features  # child names of the first <features>
        # top-level layouts by which optional parts are absent (see _plan)
        self.plans: dict[tuple[bool, ...], _Plan | None] = {}
        # the last <devices> text: (devices tuple, emulator, text)
        self.devices_text: tuple[tuple[Device, ...], str | None, str] | None = None
        # <hyperv> and <kvm> of the first <features>, as parsed
        self.hyperv: HyperV | None = None
        self.kvm: KVMFeatures | None = None


# a prefixed element or attribute name: its text may need namespace declarations
_PREFIXED = re.compile(r'<[^\s/>:]*:|\s[^\s="<>:]*:[^\s="<>]*="')


def _batch(
    nsmap: dict[str | None, str] | None,
    kept: list[Element],
    objs: list[OS | Clock | CPU | SpecElement],
    devs: list[Device],
) -> list[str]:
    """One indent and one serialization for many fragments.

    Returns the text of the ``kept`` source children (at depth 1, in the domain's namespace
    context) and fills the fragment caches of ``objs`` (depth 1) and ``devs`` (depth 2).
    Devices go in batches of :data:`_DEVICE_BATCH`, so that the copies made to serialize
    them never hold more than one batch: formatting a definition of many thousand devices
    costs a small multiple of its text, not a second tree of the whole document.
    """
    for start in range(0, len(devs), _DEVICE_BATCH):
        _batch_of(nsmap, [], [], devs[start : start + _DEVICE_BATCH])
    return _batch_of(nsmap, kept, objs, [])


#: Devices serialized together by :func:`_batch`.
_DEVICE_BATCH = 256


def _batch_of(
    nsmap: dict[str | None, str] | None,
    kept: list[Element],
    objs: list[OS | Clock | CPU | SpecElement],
    devs: list[Device],
) -> list[str]:
    """:func:`_batch` for one tree: every element given, serialized in one go."""
    root = etree.Element("domain", nsmap=cast("dict[str, str]", nsmap))
    for c in kept:
        root.append(u.dup(c))
    trailing: set[int] = set()  # objects whose element has text after it
    for obj in objs:
        el = obj.to_element()
        if el.tail is not None and el.tail.strip():
            trailing.add(id(obj))
        root.append(el)
    holder = etree.SubElement(root, "devices")
    for dev in devs:
        el = dev.to_element()
        if el.tail is not None and el.tail.strip():
            trailing.add(id(dev))
        holder.append(el)
    etree.indent(root, space="  ")
    root.text = holder.text = _MARK
    for c in root:
        c.tail = _MARK
    for c in holder:
        c.tail = _MARK
    pieces = etree.tostring(root, encoding="unicode").split(_MARK)
    n_kept, n_objs = len(kept), len(objs)
    if len(pieces) != n_kept + n_objs + len(devs) + 4:
        raise u.Slow  # the document itself holds the marker character
    for obj, text in zip(objs, pieces[1 + n_kept : 1 + n_kept + n_objs], strict=True):
        _set_frag(obj, text, 1, id(obj) in trailing)
    for dev, text in zip(devs, pieces[2 + n_kept + n_objs : -2], strict=True):
        _set_frag(dev, text, 2, id(dev) in trailing)
    return pieces[1 : 1 + n_kept]


def _set_frag(obj: Device | OS | Clock | CPU | SpecElement, text: str, level: int, trailing: bool) -> None:
    if trailing:
        text = ""
    elif ":" in text and _PREFIXED.search(text):
        # namespaced content: only a standalone serialization shows what it declares
        try:
            text = u.fragment(obj.to_element(), level)
        except u.Slow:
            text = ""
    object.__setattr__(obj, "_frag", text)


def _template(raw: Element, objs: list[OS | Clock | CPU | SpecElement], devs: list[Device]) -> _Template:
    """The template of ``raw``; fills the fragment caches of ``objs`` and ``devs`` on the way."""
    nsmap = raw.nsmap
    if not nsmap and all(k == "type" or k == "id" for k in raw.attrib):
        head, tail = "<domain type=", ">"
    else:
        sk = etree.Element("domain", nsmap=cast("dict[str, str]", nsmap))
        sk.set("type", _MARK)
        for key, value in raw.attrib.items():
            if key != "type" and key != "id":
                sk.set(key, value)
        parts = etree.tostring(sk, encoding="unicode").split(f'"{_MARK}"')
        if len(parts) != 2 or not parts[1].endswith("/>"):
            raise u.Slow
        head, tail = parts[0], parts[1][:-2] + ">"
    if raw.text is not None and raw.text.strip():
        raise u.Slow
    # The children formatting keeps as they are get their text from a copy made as the
    # tree path makes it (namespace declarations reconciled alike). The typed ones (the
    # first of each simple element, os, clock, devices, every cpu) are written from the model.
    typed: set[object] = set()
    kept: list[Element] = []
    keep: list[bool] = []
    shape: list[tuple[object, tuple[str, ...] | None]] = []
    devices_attrs: str | None = None
    features: tuple[str, ...] | None = None
    hyperv: HyperV | None = None
    kvm: KVMFeatures | None = None
    for c in raw:
        t = c.tail
        if t is not None and t.strip():
            raise u.Slow
        tag = c.tag
        keys: tuple[str, ...] | None = None
        if tag == "cpu" or tag in _TOP_PARSERS or (tag in _ONCE_TYPED and tag not in typed):
            typed.add(tag)
            keep.append(False)
            if tag in _SIMPLE:
                names = tuple(cast("list[str]", c.keys()))
                if not len(c) and _SIMPLE_ATTRS.get(tag, _NO_ATTRS).issuperset(names):
                    keys = names
            elif tag == "devices" and c.attrib:
                if any(k[0] == "{" for k in c.attrib):
                    raise u.Slow
                devices_attrs = "".join(f' {k!s}="{u.esc_attr(v)}"' for k, v in c.attrib.items())
        else:
            kept.append(c)
            keep.append(True)
            if tag == "features" and features is None:
                features = tuple(u.local_tag(f) for f in c)
                for f in c:
                    if f.tag == "hyperv" and hyperv is None:
                        hyperv = _el().HyperV.from_element(f)
                    elif f.tag == "kvm" and kvm is None:
                        kvm = _el().KVMFeatures.from_element(f)
        shape.append((tag, keys))
    texts = iter(_batch(nsmap, kept, objs, devs) if kept or objs or devs else ())
    all_texts = tuple(next(texts) if k else "" for k in keep)
    tmpl = _Template(head, tail, tuple(shape), all_texts, devices_attrs or "", features)
    tmpl.hyperv, tmpl.kvm = hyperv, kvm
    return tmpl


_EMPTY_TEMPLATE = _Template("<domain type=", ">", (), (), "", None)


def _frag_of(obj: Device | OS | Clock | CPU | SpecElement, level: int) -> str:
    """``obj``'s element as text at depth ``level``, cached on the (immutable) object."""
    text = obj._frag
    if text is None:
        try:
            text = u.fragment(obj.to_element(), level)
        except u.Slow:
            text = ""
        object.__setattr__(obj, "_frag", text)
    if not text:
        raise u.Slow
    return text


_Slot = Callable[["DomainDef"], str]
# a layout: indexes of kept source texts, and slots written from the model
_Plan = tuple["int | _Slot", ...]
#: Layouts shared by every template of the same shape: {(shape, absent): plan}.
_PLANS: dict[tuple[object, ...], _Plan | None] = {}
_NO_PLAN: Any = object()


def _esc_int(value: object) -> str:
    return str(value) if type(value) is int else u.esc_text(value)


_UNSET = object()


def _memo_slot(get: Callable[[DomainDef], object], make: Callable[[object], str]) -> _Slot:
    """A slot formatting ``make(get(d))``, remembering the last value (by identity) and its text."""
    last: list[tuple[object, str]] = [(_UNSET, "")]

    def slot(d: DomainDef) -> str:
        value = get(d)
        seen = last[0]
        if seen[0] is value or (type(value) is tuple and seen[0] == value):
            return seen[1]
        text = make(value)
        last[0] = (value, text)
        return text

    return slot


def _leaf_slot(tag: str, keys: tuple[str, ...]) -> _Slot:
    if tag in ("memory", "currentMemory"):
        get: Callable[[DomainDef], object] = (
            operator.attrgetter("memory") if tag == "memory" else _current_memory
        )
        return _memo_slot(get, lambda v: f'<{tag} unit="KiB">{_esc_int(v)}</{tag}>')
    if tag == "vcpu":
        return _memo_slot(_vcpu_values, lambda v: _vcpu_text(keys, v))
    if tag == "maxMemory":
        return _memo_slot(
            operator.attrgetter("max_memory", "max_memory_slots"),
            lambda v: u.leaf_text("maxMemory", v[0], keys, (("unit", "KiB"), ("slots", v[1]))),  # type: ignore[index]
        )
    field = _SIMPLE_FIELDS[tag]
    return _memo_slot(operator.attrgetter(field), lambda v: f"<{tag}>{u.esc_text(v)}</{tag}>")


_SIMPLE_FIELDS = {
    "name": "name", "uuid": "uuid", "title": "title", "description": "description",
    "bootloader": "bootloader", "bootloader_args": "bootloader_args", "on_poweroff": "on_poweroff",
    "on_reboot": "on_reboot", "on_crash": "on_crash", "iothreads": "iothreads",
}  # fmt: skip


def _current_memory(d: DomainDef) -> object:
    return d.current_memory if d.current_memory is not None else d.memory


_vcpu_values = operator.attrgetter("vcpu", "current_vcpus", "vcpu_placement", "cpuset")


def _vcpu_text(keys: tuple[str, ...], values: object) -> str:
    vcpu, current, placement, cpuset = cast("tuple[int, int | None, str | None, str | None]", values)
    cur = current if current is not None else vcpu
    return u.leaf_text(
        "vcpu",
        vcpu,
        keys,
        (("current", cur if cur != vcpu else None), ("placement", placement), ("cpuset", cpuset)),
    )


def _os_slot(d: DomainDef) -> str:
    return _frag_of(d.os, 1)


def _clock_slot(d: DomainDef) -> str:
    return _frag_of(d.clock, 1)


def _cpu_slot(d: DomainDef) -> str:
    return _frag_of(d.cpu, 1)  # type: ignore[arg-type]


def _top_slot(field: str) -> _Slot:
    def slot(d: DomainDef) -> str:
        return "\n  ".join(_frag_of(x, 1) for x in _top_items(d, field))

    return slot


def _features_slot(d: DomainDef) -> str:
    return _features_text(d.features)


def _devices_slot(d: DomainDef) -> str:
    raise AssertionError("placeholder, replaced in _format_text")


def _plan(tmpl: _Template, absent: tuple[bool, ...]) -> _Plan | None:
    """The top-level layout for a definition whose optional parts are ``absent``.

    It replays domain_to_element's steps on (tag, text or slot, attribute names) entries;
    ``None`` when only the tree path is exact for this layout.
    """
    no_title, no_desc, no_max, no_bl, no_bla, no_cpu, no_features, no_iothreads = absent[:8]
    no_top = absent[8:]
    ranks = _DOMAIN_RANKS
    ents: list[list[object]] = []

    def insert(entry: list[object]) -> None:
        rank = ranks.get(entry[0])  # type: ignore[call-overload]
        if rank is not None:
            for pos, e in enumerate(ents):
                other = ranks.get(e[0])  # type: ignore[call-overload]
                if other is not None and other > rank:
                    ents.insert(pos, entry)
                    return
        ents.append(entry)

    done_os = done_clock = done_devs = False
    for text, (tag, keys) in enumerate(tmpl.shape):
        if tag == "os":
            if not done_os:
                ents.append(["os", _os_slot, None])
                done_os = True
        elif tag == "clock":
            if not done_clock:
                ents.append(["clock", _clock_slot, None])
                done_clock = True
        elif tag == "devices":
            if not done_devs:
                ents.append(["devices", _devices_slot, None])
                done_devs = True
        else:
            ents.append([tag, text, keys])
    if not done_os:
        insert(["os", _os_slot, None])
    if not done_clock:
        insert(["clock", _clock_slot, None])
    if not done_devs:
        insert(["devices", _devices_slot, None])
    index: dict[object, list[object]] = {}
    for e in ents:
        if e[0] in _SIMPLE and e[0] not in index:
            index[e[0]] = e

    def put(tag: str, absent: bool = False) -> bool:
        found = index.get(tag)
        if absent:
            if found is not None:
                del ents[next(i for i, e in enumerate(ents) if e is found)]
            return True
        if found is None:
            found = index[tag] = [tag, "", ()]
            insert(found)
        keys = found[2]
        if keys is None:
            return False
        found[1] = _leaf_slot(tag, cast("tuple[str, ...]", keys))
        return True

    ok = (
        put("name")
        and put("uuid")
        and put("title", no_title)
        and put("description", no_desc)
        and put("memory")
        and put("currentMemory")
        and put("vcpu")
        and put("maxMemory", no_max)
    )
    if not ok:
        return None

    def replace_all(tag: str, slot: _Slot | None) -> None:
        first = -1
        for pos in range(len(ents) - 1, -1, -1):
            if ents[pos][0] == tag:
                del ents[pos]
                first = pos
        if slot is not None:
            entry: list[object] = [tag, slot, None]
            if first < 0:
                insert(entry)
            else:
                ents.insert(first, entry)

    replace_all("cpu", None if no_cpu else _cpu_slot)
    for (tag, field), no in zip(_TOP_FIELDS, no_top, strict=True):
        replace_all(tag, None if no else _top_slot(field))
    ok = (
        put("iothreads", no_iothreads)
        and put("bootloader", no_bl)
        and put("bootloader_args", no_bla)
        and put("on_poweroff")
        and put("on_reboot")
        and put("on_crash")
    )
    if not ok:
        return None
    feats = next((e for e in ents if e[0] == "features"), None)
    if feats is None:
        if not no_features:
            insert(["features", _features_slot, None])
    elif no_features:
        ents.remove(feats)
    return tuple(cast("int | _Slot", e[1]) for e in ents)


def _format_text(d: DomainDef, domain_id: int | None) -> str:
    """format_domain's text, written directly (raises u.Slow where only the tree path is exact)."""
    raw = d.raw
    # fragments not cached yet: computed together, with one serialization
    need_objs: list[OS | Clock | CPU | SpecElement] = [
        o
        for o in (
            d.os,
            d.clock,
            d.cpu,
            d.memory_backing,
            d.numatune,
            d.cputune,
            d.memtune,
            d.blkiotune,
            d.iothreadids,
            *d.sysinfo,
            *d.seclabels,
        )
        if o is not None and o._frag is None
    ]
    devices, emulator = d.devices, d.emulator
    tmpl: _Template | None
    if raw is None:
        tmpl = _EMPTY_TEMPLATE
    else:
        holder = d._fmt
        if holder and holder[0] is raw:
            tmpl = cast("_Template | None", holder[1])
            if tmpl is None:
                raise u.Slow
        else:
            tmpl = None
    # the <devices> text is cached per (devices tuple, emulator): evolve keeps the tuple
    cached = None if tmpl is None else tmpl.devices_text
    devs_text: str | None = None
    if cached is not None and cached[0] is devices and cached[1] == emulator:
        devs_text = cached[2]
        need_devs: list[Device] = []
    else:
        need_devs = [x for x in devices if x._frag is None]
    if tmpl is None:
        assert raw is not None
        holder = d._fmt
        try:
            tmpl = _template(raw, need_objs, need_devs)
        except u.Slow:
            holder[:] = [raw, None]
            raise
        holder[:] = [raw, tmpl]
        need_objs, need_devs = [], []
    features = d.features
    if tmpl.features is not None and features != tmpl.features:
        raise u.Slow  # features renamed or reordered: the tree path rebuilds <features>
    if features and (d.hyperv is not None or d.kvm is not None):
        for typed, parsed in ((d.hyperv, tmpl.hyperv), (d.kvm, tmpl.kvm)):
            # the kept <features> text holds the typed child as parsed: only that is exact
            if (
                typed is not None
                and typed._tag in features
                and (parsed is None or typed.raw is not parsed.raw or typed != parsed)
            ):
                raise u.Slow
    absent = (
        d.title is None,
        d.description is None,
        d.max_memory is None,
        d.bootloader is None,
        d.bootloader_args is None,
        d.cpu is None,
        not features,
        d.iothreads is None,
        d.memory_backing is None,
        d.numatune is None,
        d.cputune is None,
        d.memtune is None,
        d.blkiotune is None,
        d.iothreadids is None,
        not d.sysinfo,
        not d.seclabels,
    )
    plan = tmpl.plans.get(absent, _NO_PLAN)
    if plan is _NO_PLAN:
        key = (tmpl.shape, absent)
        plan = _PLANS.get(key, _NO_PLAN)
        if plan is _NO_PLAN:
            if len(_PLANS) > 512:
                _PLANS.clear()
            plan = _PLANS[key] = _plan(tmpl, absent)
        tmpl.plans[absent] = plan
    if plan is None:
        raise u.Slow
    if need_objs or need_devs:
        try:
            _batch(
                None if raw is None else raw.nsmap,
                [],
                need_objs,
                need_devs,
            )
        except u.Slow:
            pass  # _frag_of serializes them one by one
    if devs_text is None:
        items = [] if emulator is None else [u.leaf_text("emulator", emulator)]
        for dev in devices:
            items.append(_frag_of(dev, 2))
        if items:
            devs_text = f"<devices{tmpl.devices_attrs}>\n    " + "\n    ".join(items) + "\n  </devices>"
        else:
            devs_text = f"<devices{tmpl.devices_attrs}/>"
        tmpl.devices_text = (devices, emulator, devs_text)
    ident = "" if domain_id is None else f' id="{u.esc_attr(domain_id)}"'
    out = [f'{tmpl.head}"{u.esc_attr(d.type)}"{ident}{tmpl.tail}']
    texts = tmpl.texts
    for item in plan:
        if type(item) is int:
            out.append(texts[item])
        elif item is _devices_slot:
            out.append(devs_text)
        else:
            out.append(item(d))
    out.append("</domain>\n")
    return "\n  ".join(out[:-1]) + "\n" + out[-1]


def _features_text(names: tuple[str, ...]) -> str:
    return "<features>\n    " + "\n    ".join(f"<{u.plain_name(n)}/>" for n in names) + "\n  </features>"


def parse_domain(text: str | bytes, *, strict: bool = False) -> DomainDef:
    """Parse libvirt domain XML with the hardened parser.

    :param strict: also refuse elements and attributes the typed model does not
        cover (by default they are kept verbatim; see :func:`virtcore.xml.unmodelled`).
    :raises XMLError: the document is malformed or hostile, or not a valid
        domain; the message names the offending element.
    """
    d = domain_from_element(secure_parse(text))
    if strict:
        from virtcore.xml.validate import check_strict

        check_strict(d)
    return d


def parse_device(text: str | bytes) -> Device:
    """Parse one device element (``<disk>``, ``<interface>``, ...), e.g. for attach/detach.

    :raises XMLError: malformed, hostile or invalid XML.
    """
    el = secure_parse(text)
    if el.tag in ("domain", "devices", "emulator"):
        raise XMLError(f"expected a device element, not <{el.tag}>")
    return device_from_element(el)


def format_device(dev: Device) -> str:
    """Format one device model as XML."""
    return _serialize(dev.to_element())
