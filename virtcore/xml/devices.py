"""The device models: one attrs class per element under ``<devices>``, and the dispatch by tag."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
from lxml import etree

from virtcore.errors import XMLError
from virtcore.xml import _util as u
from virtcore.xml._base import _FRAG, Element, _raw
from virtcore.xml._coverage import LEAF, Node, combine, merge, node
from virtcore.xml._layout import _CHAR_ORDER, _DISK_ORDER, _IFACE_ORDER, _VIDEO_ORDER
from virtcore.xml._lazy import _el
from virtcore.xml._parser import secure_parse
from virtcore.xml._spec import UINT32, F, described, format_spec, parse_spec, spec_covers, typed

if TYPE_CHECKING:
    from virtcore.xml.elements import (
        Address,
    )

__all__ = [
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
    "device_from_element",
    "device_to_element",
]


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


# ============================================================================ devices


class Device:
    """Base of every device model; ``Device.tag`` is its element name.

    Every device has ``address`` (its ``<address>``, :class:`Address`) and ``alias``
    (``<alias name=...>``, set by drivers for running guests), ``None`` when absent.
    """

    __slots__ = ()
    tag: ClassVar[str] = ""
    #: the attributes and children the class types (besides address and alias)
    _covers: ClassVar[Node] = LEAF
    #: libvirt's order of the children, for the ones formatting has to create
    _order: ClassVar[tuple[str, ...]] = ()
    #: the fields declared with typed(...), set when attrs has built the class
    _typed: ClassVar[tuple[F, ...]] = ()
    raw: Element | None
    address: Address | None
    alias: str | None
    _frag: list[str]

    @classmethod
    def from_element(cls, el: Element) -> Device:
        """Parse the device's element."""
        raise NotImplementedError

    @classmethod
    def covered(cls) -> Node:
        """What the class types of its element, ``<address>`` and ``<alias>`` included."""
        return merge(cls._own_covers(), address=_el().Address.covered(), alias=node("name"))

    @classmethod
    def _own_covers(cls) -> Node:
        return combine(cls._covers, spec_covers(described(cls)))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__attrs_attrs__" in cls.__dict__:  # the class attrs built (its fields are known)
            cls._typed = described(cls)

    @classmethod
    def _typed_values(cls, el: Element) -> dict[str, Any]:
        """The values of the fields declared with :func:`~virtcore.xml._spec.typed`, read from ``el``."""
        return parse_spec(cls._typed, cls.tag, el)

    def _overlay(self) -> Element:
        raise NotImplementedError

    def to_element(self) -> Element:
        """Format as the device's element."""
        el = self._overlay()
        if self._typed:
            format_spec(self, self._typed, self.tag, self._order, el)
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
    _order = _DISK_ORDER
    _covers = node(
        "type device",
        driver=node("name type cache"),
        source=node("file dev dir name volume protocol pool"),
        target=node("dev bus"),
        readonly=LEAF,
        shareable=LEAF,
        boot=node("order"),
        serial=LEAF,
    )
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
    source_mode: str | None = typed("cattr", "source", "mode")  # volume disks: host or direct
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

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
            **(cls._typed_values(el) if cls._typed else _NO_INFO),
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
    _order = _IFACE_ORDER
    _covers = node(
        "type",
        mac=node("address"),
        source=node("network bridge dev"),
        model=node("type"),
        target=node("dev"),
        link=node("state"),
        boot=node("order"),
    )
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
    _frag: list[str] = _FRAG

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
            **(cls._typed_values(el) if cls._typed else _NO_INFO),
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
    _covers = node("type", source=node("path mode host service"), target=node("type port name"))
    type: str = "pty"
    source_path: str | None = None
    source_mode: str | None = None
    target_type: str | None = None
    target_port: int | None = None
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

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
            **(cls._typed_values(el) if cls._typed else _NO_INFO),
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
    _covers = node("type port autoport listen", listen=node("type address"))
    type: str = "vnc"
    port: int | None = None
    autoport: bool | None = None
    listen: str | None = None
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

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
        return cls(
            type=type_,
            port=port,
            autoport=autoport,
            listen=listen,
            raw=el,
            **_info(el),
            **(cls._typed_values(el) if cls._typed else _NO_INFO),
        )

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
    _covers = node("type bus")
    type: str = "mouse"
    bus: str | None = None
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    @classmethod
    def from_element(cls, el: Element) -> Input:
        """Parse an ``<input>`` element."""
        type_ = el.get("type")
        if not type_:
            raise XMLError("missing input device type in <input>: attribute 'type' is required")
        return cls(
            type=type_,
            bus=el.get("bus"),
            raw=el,
            **_info(el),
            **(cls._typed_values(el) if cls._typed else _NO_INFO),
        )

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
    _covers = node(model=node("type vram heads"))
    model: str | None = None
    vram: int | None = None
    heads: int | None = None
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    @classmethod
    def from_element(cls, el: Element) -> Video:
        """Parse a ``<video>`` element."""
        m = u.find(el, "model")
        if m is None:
            return cls(raw=el, **_info(el), **(cls._typed_values(el) if cls._typed else _NO_INFO))
        return cls(
            model=m.get("type"),
            vram=u.opt_uint(m, "vram", "<video><model>"),
            heads=u.opt_uint(m, "heads", "<video><model>"),
            raw=el,
            **(cls._typed_values(el) if cls._typed else _NO_INFO),
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
    _covers = node("model")
    model: str = "virtio"
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    @classmethod
    def from_element(cls, el: Element) -> MemBalloon:
        """Parse a ``<memballoon>`` element."""
        model = el.get("model")
        if not model:
            raise XMLError("balloon memory must contain model name in <memballoon>")
        return cls(
            model=model,
            raw=el,
            **_info(el),
            **(cls._typed_values(el) if cls._typed else _NO_INFO),
        )

    def _overlay(self) -> Element:
        """Format as a ``<memballoon>`` element."""
        el = u.start(self.raw, "memballoon")
        el.set("model", self.model)
        return el


@attrs.frozen
class Controller(Device):
    """``<controller type=pci|usb|scsi|ide|sata|virtio-serial|xenbus|... index=N model=...>``."""

    tag: ClassVar[str] = "controller"
    _covers = node("type index model")
    type: str = "pci"
    index: int | None = None
    model: str | None = None
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

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
            **(cls._typed_values(el) if cls._typed else _NO_INFO),
            **_info(el),
        )

    def _overlay(self) -> Element:
        """Format as a ``<controller>`` element."""
        el = u.start(self.raw, "controller")
        el.set("type", self.type)
        u.set_attr(el, "index", self.index)
        u.set_attr(el, "model", self.model)
        return el


class _DescribedDevice(Device):
    """A device whose every typed field is declared with :func:`~virtcore.xml._spec.typed`."""

    __slots__ = ()

    @classmethod
    def from_element(cls, el: Element) -> Device:
        """Parse the device element."""
        return cls(raw=el, **_info(el), **cls._typed_values(el))  # type: ignore[call-arg]

    def _overlay(self) -> Element:
        return u.start(self.raw, self.tag)


@attrs.frozen
class Sound(_DescribedDevice):
    """``<sound model=ich6|ich9|ac97|es1370|sb16|usb|...>``."""

    tag: ClassVar[str] = "sound"
    model: str = typed("attr", "model", required=True, default="ich9")
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Watchdog(_DescribedDevice):
    """``<watchdog model=i6300esb|ib700|itco|diag288 action=reset|poweroff|...>``."""

    tag: ClassVar[str] = "watchdog"
    model: str = typed("attr", "model", required=True, default="i6300esb")
    action: str | None = typed("attr", "action")
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Rng(_DescribedDevice):
    """``<rng model=virtio><backend model=random|egd|builtin><rate bytes=... period=...>``."""

    tag: ClassVar[str] = "rng"
    model: str = typed("attr", "model", required=True, default="virtio")
    backend_model: str | None = typed("cattr", "backend", "model")
    #: ``<rate bytes=... period=...>``: at most ``rate_bytes`` bytes per ``rate_period`` ms
    rate_bytes: int | None = typed("cattr", "rate", "bytes", conv=UINT32)
    rate_period: int | None = typed("cattr", "rate", "period", conv=UINT32)
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Tpm(_DescribedDevice):
    """``<tpm model=...><backend type=passthrough|emulator version=...>``."""

    tag: ClassVar[str] = "tpm"
    model: str | None = typed("attr", "model")
    backend_type: str | None = typed("cattr", "backend", "type")
    backend_version: str | None = typed("cattr", "backend", "version")
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Panic(_DescribedDevice):
    """``<panic model=isa|pseries|hyperv|s390|pvpanic>``."""

    tag: ClassVar[str] = "panic"
    model: str | None = typed("attr", "model")
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Iommu(_DescribedDevice):
    """``<iommu model=intel|smmuv3|virtio>``."""

    tag: ClassVar[str] = "iommu"
    model: str = typed("attr", "model", required=True, default="intel")
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Vsock(_DescribedDevice):
    """``<vsock model=virtio><cid auto=yes|no address=N>``."""

    tag: ClassVar[str] = "vsock"
    model: str | None = typed("attr", "model")
    cid_auto: str | None = typed("cattr", "cid", "auto")
    cid: int | None = typed("cattr", "cid", "address", conv=UINT32)
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Hostdev(_DescribedDevice):
    """``<hostdev mode=subsystem|capabilities type=pci|usb|scsi|mdev|... managed=yes|no>``."""

    tag: ClassVar[str] = "hostdev"
    mode: str | None = typed("attr", "mode")
    type: str | None = typed("attr", "type")
    managed: str | None = typed("attr", "managed")
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Redirdev(_DescribedDevice):
    """``<redirdev bus=usb type=spicevmc|tcp|...>``."""

    tag: ClassVar[str] = "redirdev"
    bus: str | None = typed("attr", "bus")
    type: str = typed("attr", "type", required=True, default="spicevmc")
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Filesystem(_DescribedDevice):
    """``<filesystem type=mount|block|file|ram|... accessmode=...>`` with source and target dir."""

    tag: ClassVar[str] = "filesystem"
    type: str | None = typed("attr", "type")
    accessmode: str | None = typed("attr", "accessmode")
    driver_type: str | None = typed("cattr", "driver", "type")
    source_dir: str | None = typed("cattr", "source", "dir")
    target_dir: str | None = typed("cattr", "target", "dir")
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Shmem(_DescribedDevice):
    """``<shmem name=...><model type=ivshmem-plain|ivshmem-doorbell>``."""

    tag: ClassVar[str] = "shmem"
    name: str = typed("attr", "name", required=True, default="")
    model: str | None = typed("cattr", "model", "type")
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class MemoryDevice(_DescribedDevice):
    """``<memory model=dimm|nvdimm|virtio-mem|virtio-pmem|sgx-epc access=...>`` (hotpluggable memory)."""

    tag: ClassVar[str] = "memory"
    model: str = typed("attr", "model", required=True, default="dimm")
    access: str | None = typed("attr", "access")
    discard: str | None = typed("attr", "discard")
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Audio(_DescribedDevice):
    """``<audio id=N type=none|alsa|pulseaudio|spice|...>``: an audio backend."""

    tag: ClassVar[str] = "audio"
    id: int | None = typed("attr", "id", conv=UINT32)
    type: str = typed("attr", "type", required=True, default="none")
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


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
    _frag: list[str] = _FRAG

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


#: The typed device classes; any other element under <devices> is a GenericDevice.
DEVICE_TYPES: tuple[type[Device], ...] = (
    Disk, Interface, Serial, Console, Parallel, Channel, Graphics, Input, Video, MemBalloon,
    Controller, Sound, Watchdog, Rng, Tpm, Panic, Iommu, Vsock, Hostdev, Redirdev, Filesystem,
    Shmem, MemoryDevice, Audio,
)  # fmt: skip
# bound from_element methods by tag: saves an attribute lookup per parsed device
_DEVICE_CLASSES: dict[str, Callable[[Element], Device]] = {cls.tag: cls.from_element for cls in DEVICE_TYPES}


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
