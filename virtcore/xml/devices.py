"""The device models: one attrs class per element under ``<devices>``, and the dispatch by tag."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, cast

import attrs
from lxml import etree

from virtcore.errors import XMLError
from virtcore.xml import _util as u
from virtcore.xml._base import _FRAG, Element, _raw
from virtcore.xml._coverage import Node, merge, node
from virtcore.xml._layout import _CHAR_ORDER, _DISK_ORDER, _GRAPHICS_ORDER, _IFACE_ORDER, _VIDEO_ORDER
from virtcore.xml._lazy import _el
from virtcore.xml._parser import secure_parse
from virtcore.xml._spec import (
    INT,
    UINT32,
    ULONG,
    YESNO,
    F,
    Fmt,
    Parse,
    SpecElement,
    described,
    generate,
    one_of,
    reader_code,
    spec_covers,
    spec_text,
    spec_writable,
    typed,
    writable_code,
    writer_code,
)
from virtcore.xml.bandwidth import Bandwidth

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
    A device class declares each typed field with :func:`~virtcore.xml._spec.typed`;
    parsing, formatting and the coverage report all come from those declarations,
    with :meth:`_finish` for libvirt's checks and defaults that relate several fields.
    """

    __slots__ = ()
    tag: ClassVar[str] = ""
    #: libvirt's order of the children, for the ones formatting has to create
    _order: ClassVar[tuple[str, ...]] = ()
    #: the fields declared with typed(...), set when attrs has built the class
    _typed: ClassVar[tuple[F, ...]] = ()
    raw: Element | None
    address: Address | None
    alias: str | None
    _frag: list[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__attrs_attrs__" in cls.__dict__:  # the class attrs built (its fields are known)
            cls._typed = described(cls)

    @classmethod
    def from_element(cls, el: Element) -> Device:
        """Parse the device's element."""
        read = _READERS.get(cls)
        if read is None or read[0] is not cls._typed:  # generated on first use (and anew if changed)
            read = _READERS[cls] = (cls._typed, _compile_reader(cls))
        return read[1](el)

    @classmethod
    def _finish(cls, values: dict[str, Any], el: Element) -> None:
        """Apply libvirt's checks and defaults relating several of the parsed ``values``.

        It changes ``values`` in place (it adds no key).
        """

    @classmethod
    def covered(cls) -> Node:
        """What the class types of its element, ``<address>`` and ``<alias>`` included."""
        return merge(spec_covers(cls._typed), address=_el().Address.covered(), alias=node("name"))

    def to_element(self) -> Element:
        """Format as the device's element."""
        el = u.start(self.raw, self.tag)
        cls = type(self)
        write = _WRITERS.get(cls)
        if write is None or write[0] is not cls._typed:  # generated on first use (and anew if changed)
            write = _WRITERS[cls] = (cls._typed, _compile_writer(cls))
        write[1](self, el)
        _put_info(el, self.address, self.alias)
        return el

    def writable(self) -> bool:
        """Whether every typed value (alias and address included) can be written as XML."""
        cls = type(self)
        check = _CHECKS.get(cls)
        if check is None or check[0] is not cls._typed:  # generated on first use (and anew if changed)
            check = _CHECKS[cls] = (cls._typed, _compile_writable(cls))
        return check[1](self)

    def described_text(self, level: int) -> str | None:
        """The element as text at depth ``level``, written from the description (no tree built).

        Only for a device built in Python (``raw`` None); ``None`` when only :meth:`to_element`
        is exact for it.
        """
        if self.raw is not None:
            return None
        tail: tuple[str, ...] = ()
        if self.alias is not None:
            name = u.esc_attr(self.alias)
            if name is None:
                return None
            tail = (f'<alias name="{name}"/>',)
        if self.address is not None:
            a = self.address
            text = spec_text(a, a._spec, a._tag, a._order, level + 1)
            if text is None:
                return None
            tail += (text,)
        return spec_text(self, self._typed, self.tag, self._order, level, tail)


#: Code generated from each class's description on first use, with the description it was made
#: from: the parser, the overlay formatter and the check that every value can be written as XML.
_READERS: dict[type[Device], tuple[tuple[F, ...], Callable[[Element], Device]]] = {}
_WRITERS: dict[type[Device], tuple[tuple[F, ...], Callable[[Device, Element], None]]] = {}
_CHECKS: dict[type[Device], tuple[tuple[F, ...], Callable[[Device], bool]]] = {}


def _compile_reader(cls: type[Device]) -> Callable[[Element], Device]:
    """``cls.from_element``, generated from the class's description (see :func:`reader_code`)."""
    spec = cls._typed
    env: dict[str, Any] = {"CLS": cls, "FINISH": cls._finish, "ADDRESS": _el().Address.from_element}
    lines = ["def from_element(el):", *reader_code(spec, cls.tag, env)]
    lines += [
        "    c = firsts.get('address')",
        "    address = None if c is None else ADDRESS(c)",
        "    c = firsts.get('alias')",
        "    alias = None if c is None else c.get('name')",
    ]
    # the typed fields are the positional parameters of the attrs class, in order: passed so
    params = [a.name for a in attrs.fields(cast("Any", cls)) if a.init and not a.kw_only]
    positional = params == [f.name for f in spec]
    if cls._finish.__func__ is Device._finish.__func__:  # type: ignore[attr-defined]
        args = "".join(f"x{i}, " if positional else f"{f.name}=x{i}, " for i, f in enumerate(spec))
    else:
        lines.append("    v = {" + "".join(f"{f.name!r}: x{i}, " for i, f in enumerate(spec)) + "}")
        lines.append("    FINISH(v, el)")
        args = "*v.values(), " if positional else "**v, "
    lines.append(f"    return CLS({args}raw=el, address=address, alias=alias)")
    return cast("Callable[[Element], Device]", generate(lines, env, "from_element"))


def _compile_writer(cls: type[Device]) -> Callable[[Device, Element], None]:
    """The overlay of ``cls``'s typed fields onto a copy of its element (see :func:`writer_code`)."""
    env: dict[str, Any] = {}
    lines = ["def write(obj, el):", *writer_code(cls._typed, cls.tag, cls._order, env)]
    return cast("Callable[[Device, Element], None]", generate(lines, env, "write"))


def _compile_writable(cls: type[Device]) -> Callable[[Device], bool]:
    """``cls``'s :meth:`Device.writable` check, generated from its description (see :func:`writable_code`)."""
    env: dict[str, Any] = {}
    lines = ["def writable(obj):", *writable_code(cls._typed, env)]
    lines += [
        "    a = obj.alias",
        "    if a is not None and not (a.isascii() and a.isprintable()) and esc_text(a) is None:",
        "        return False",
        "    a = obj.address",
        "    return a is None or spec_writable(a, a._spec)",
    ]
    return cast("Callable[[Device], bool]", generate(lines, env, "writable"))


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


_DISK_TYPES = ("file", "block", "dir", "network", "volume", "nvme", "vhostuser")
_DISK_DEVICES = ("disk", "cdrom", "floppy", "lun")
#: The attribute of ``<source>`` naming a disk's source, by disk type (the others have none).
_DISK_SOURCE_ATTR = {"file": "file", "block": "dev", "dir": "dir", "network": "name", "volume": "volume"}
_LOADPARM = re.compile(r"[a-zA-Z0-9. ]{1,8}")


def _p_loadparm(value: str, where: str) -> str:
    if not 1 <= len(value) <= 8:
        raise XMLError(f"loadparm value '{value}' must be between 1 and 8 characters in {where}")
    if not _LOADPARM.fullmatch(value):
        raise XMLError(
            f"invalid loadparm value '{value}' in {where}: expecting characters in [a-zA-Z0-9.] and blanks"
        )
    return value


#: An s390 boot ``loadparm``: 1 to 8 of ``[a-zA-Z0-9. ]``.
LOADPARM: tuple[Parse, Fmt] = (_p_loadparm, str)


@attrs.frozen
class DiskIoTune(SpecElement):
    """``<disk><iotune>``: the disk's I/O throttling (libvirt's ``virDomainBlockIoTuneInfo``)."""

    _tag: ClassVar[str] = "iotune"
    _order = (
        "total_bytes_sec", "read_bytes_sec", "write_bytes_sec",
        "total_iops_sec", "read_iops_sec", "write_iops_sec",
        "total_bytes_sec_max", "read_bytes_sec_max", "write_bytes_sec_max",
        "total_iops_sec_max", "read_iops_sec_max", "write_iops_sec_max",
        "size_iops_sec", "group_name",
        "total_bytes_sec_max_length", "read_bytes_sec_max_length", "write_bytes_sec_max_length",
        "total_iops_sec_max_length", "read_iops_sec_max_length", "write_iops_sec_max_length",
    )  # fmt: skip
    total_bytes_sec: int | None = typed("ctext", "total_bytes_sec", conv=ULONG)
    read_bytes_sec: int | None = typed("ctext", "read_bytes_sec", conv=ULONG)
    write_bytes_sec: int | None = typed("ctext", "write_bytes_sec", conv=ULONG)
    total_iops_sec: int | None = typed("ctext", "total_iops_sec", conv=ULONG)
    read_iops_sec: int | None = typed("ctext", "read_iops_sec", conv=ULONG)
    write_iops_sec: int | None = typed("ctext", "write_iops_sec", conv=ULONG)
    total_bytes_sec_max: int | None = typed("ctext", "total_bytes_sec_max", conv=ULONG)
    read_bytes_sec_max: int | None = typed("ctext", "read_bytes_sec_max", conv=ULONG)
    write_bytes_sec_max: int | None = typed("ctext", "write_bytes_sec_max", conv=ULONG)
    total_iops_sec_max: int | None = typed("ctext", "total_iops_sec_max", conv=ULONG)
    read_iops_sec_max: int | None = typed("ctext", "read_iops_sec_max", conv=ULONG)
    write_iops_sec_max: int | None = typed("ctext", "write_iops_sec_max", conv=ULONG)
    size_iops_sec: int | None = typed("ctext", "size_iops_sec", conv=ULONG)
    group_name: str | None = typed("ctext", "group_name")
    total_bytes_sec_max_length: int | None = typed("ctext", "total_bytes_sec_max_length", conv=ULONG)
    read_bytes_sec_max_length: int | None = typed("ctext", "read_bytes_sec_max_length", conv=ULONG)
    write_bytes_sec_max_length: int | None = typed("ctext", "write_bytes_sec_max_length", conv=ULONG)
    total_iops_sec_max_length: int | None = typed("ctext", "total_iops_sec_max_length", conv=ULONG)
    read_iops_sec_max_length: int | None = typed("ctext", "read_iops_sec_max_length", conv=ULONG)
    write_iops_sec_max_length: int | None = typed("ctext", "write_iops_sec_max_length", conv=ULONG)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Disk(Device):
    """``<disk>``: a block device backed by a file, a block device, a network volume...

    ``source`` is the path (file/block/dir), the network volume name (network,
    with ``source_protocol``) or the volume name (volume, with ``source_pool``);
    ``None`` for an empty CD-ROM.
    """

    tag: ClassVar[str] = "disk"
    _order = _DISK_ORDER
    type: str = typed("attr", "type", conv=one_of(_DISK_TYPES, "disk type"), implied="file", default="file")
    device: str = typed(
        "attr", "device", conv=one_of(_DISK_DEVICES, "disk device"), implied="disk", default="disk"
    )
    driver_name: str | None = typed("cattr", "driver", "name")
    driver_type: str | None = typed("cattr", "driver", "type")
    driver_cache: str | None = typed("cattr", "driver", "cache")
    source: str | None = typed("cattr", "source", on="type", switch=_DISK_SOURCE_ATTR)
    source_protocol: str | None = typed("cattr", "source", on="type", switch={"network": "protocol"})
    source_pool: str | None = typed("cattr", "source", on="type", switch={"volume": "pool"})
    source_mode: str | None = typed("cattr", "source", "mode")  # volume disks: host or direct
    target_dev: str = typed("cattr", "target", "dev", required=True, default="vda")
    target_bus: str | None = typed("cattr", "target", "bus")
    readonly: bool = typed("flag", "readonly", default=False)
    shareable: bool = typed("flag", "shareable", default=False)
    boot_order: int | None = typed("cattr", "boot", "order", conv=ULONG, required="child")
    #: s390's ``<boot loadparm=...>``
    boot_loadparm: str | None = typed("cattr", "boot", "loadparm", conv=LOADPARM)
    serial: str | None = typed("ctext", "serial")
    iotune: DiskIoTune | None = typed("one", "iotune", cls=DiskIoTune, default=None)
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


def _p_mac(text: str, where: str) -> str | None:
    mac = text if _CANON_MAC.fullmatch(text) else _canonical_mac(text, where)
    return None if mac == "00:00:00:00:00:00" else mac  # libvirt: all zeros means unset


#: A unicast MAC address, read in canonical form (lowercase, two digits a byte).
MAC: tuple[Parse, Fmt] = (_p_mac, str)
#: The attribute of ``<source>`` naming an interface's source, by interface type.
_IFACE_SOURCE_ATTR = {"network": "network", "bridge": "bridge", "direct": "dev"}


@attrs.frozen
class Interface(Device):
    """``<interface>``: a NIC. ``source`` is the network or bridge name (direct: host device).

    Parsing generates a MAC when the element has none, like libvirt.
    """

    tag: ClassVar[str] = "interface"
    _order = _IFACE_ORDER
    type: str = typed("attr", "type", required=True, default="network")
    mac: str | None = typed("cattr", "mac", "address", conv=MAC, implied=_random_mac)
    source: str | None = typed(
        "cattr", "source", on="type", switch=_IFACE_SOURCE_ATTR, required=("network", "bridge")
    )
    #: The bridge a running guest's ``type='network'`` NIC is on (live XML: ``<source bridge=>``).
    source_bridge: str | None = typed("cattr", "source", on="type", switch={"network": "bridge", "*": None})
    model: str | None = typed("cattr", "model", "type")
    target_dev: str | None = typed("cattr", "target", "dev")
    link_state: str | None = typed("cattr", "link", "state")
    #: ``<bandwidth>``: the interface's inbound/outbound rate limits (as a network's).
    bandwidth: Bandwidth | None = typed("one", "bandwidth", cls=Bandwidth, default=None)
    boot_order: int | None = typed("cattr", "boot", "order", conv=ULONG, required="child")
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


def _char_source(attr: str) -> dict[str, str | None]:
    # udp has a bind and a connect <source>: kept as written
    return {"udp": None, "*": attr}


@attrs.frozen
class CharDevice(Device):
    """Common shape of ``<serial>``, ``<console>``, ``<parallel>`` and ``<channel>``.

    ``type`` is the host side (pty, file, unix, tcp, udp, null, stdio, vc,
    spicevmc, ...); ``source_*`` the attributes of its ``<source>`` (udp's two
    sources are kept as written); ``target_type``/``target_port`` the guest side.
    """

    tag: ClassVar[str] = ""
    _order = _CHAR_ORDER
    type: str = typed("attr", "type", implied="pty", default="pty")
    source_mode: str | None = typed("cattr", "source", on="type", switch=_char_source("mode"))
    source_path: str | None = typed("cattr", "source", on="type", switch=_char_source("path"))
    source_host: str | None = typed("cattr", "source", on="type", switch=_char_source("host"))
    source_service: str | None = typed("cattr", "source", on="type", switch=_char_source("service"))
    target_type: str | None = typed("cattr", "target", "type")
    target_port: int | None = typed("cattr", "target", "port", conv=ULONG)
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    @classmethod
    def _finish(cls, values: dict[str, Any], el: Element) -> None:
        if values["type"] == "tcp" and values["source_mode"] is None and u.find(el, "source") is not None:
            values["source_mode"] = "connect"


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
    """``<channel>``: a host-guest channel; ``target_name`` e.g. ``org.qemu.guest_agent.0``;
    ``target_state`` (live XML) whether the guest side has it open: ``connected``/``disconnected``."""

    tag: ClassVar[str] = "channel"
    target_name: str | None = typed("cattr", "target", "name")
    target_state: str | None = typed("cattr", "target", "state")


def _p_port(text: str, where: str) -> int:
    return u.parse_int(text, where, minimum=-1, maximum=65535)


#: A TCP port, or -1 for "pick one".
PORT: tuple[Parse, Fmt] = (_p_port, str)


@attrs.frozen
class Graphics(Device):
    """``<graphics>``: vnc, spice, sdl, rdp, ... ``port`` -1 / ``autoport`` for automatic.

    ``listen`` is the address it listens on: the ``listen`` attribute, or the address of
    its first ``<listen type='address'>`` (libvirt's newer spelling; both are kept in step);
    ``None`` with a UNIX ``socket``.
    """

    tag: ClassVar[str] = "graphics"
    _order = _GRAPHICS_ORDER
    type: str = typed("attr", "type", required=True, default="vnc")
    port: int | None = typed("attr", "port", conv=PORT)
    autoport: bool | None = typed("attr", "autoport", conv=YESNO)
    listen: str | None = typed(
        "attr", "listen", also=F("", "cattr", "listen", "address", pick=("type", "address"))
    )
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    @classmethod
    def _finish(cls, values: dict[str, Any], el: Element) -> None:
        for lst in el.iterchildren("listen"):
            ltype = lst.get("type")
            if ltype is None:
                raise XMLError("missing listen type in <graphics><listen>: attribute 'type' is required")
            if ltype == "network" and not lst.get("network"):
                raise XMLError("<listen type='network'> needs a 'network' attribute in <graphics>")
        type_, port, autoport = values["type"], values["port"], values["autoport"]
        if el.get("socket") is not None:
            values["listen"] = None  # a UNIX socket replaces any listen address (as libvirt does)
        elif (
            type_ in ("vnc", "spice")
            and (port is None or port == -1 or autoport)
            and not (port is None and autoport is False and type_ == "spice")
        ):
            # libvirt: no port, port -1 or autoport='yes' all mean "pick a port"
            values["port"], values["autoport"] = -1, True


@attrs.frozen
class Input(Device):
    """``<input type=mouse|tablet|keyboard|... bus=ps2|usb|virtio|...>``."""

    tag: ClassVar[str] = "input"
    type: str = typed("attr", "type", required=True, default="mouse")
    bus: str | None = typed("attr", "bus")
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Video(Device):
    """``<video><model type=... vram=... heads=... primary=yes>``."""

    tag: ClassVar[str] = "video"
    _order = _VIDEO_ORDER
    model: str | None = typed("cattr", "model", "type")
    vram: int | None = typed("cattr", "model", "vram", conv=ULONG)
    heads: int | None = typed("cattr", "model", "heads", conv=ULONG)
    primary: bool | None = typed("cattr", "model", "primary", conv=YESNO)
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class MemBalloon(Device):
    """``<memballoon model=virtio|xen|none>``."""

    tag: ClassVar[str] = "memballoon"
    model: str = typed("attr", "model", required=True, default="virtio")
    #: Seconds between the guest's balloon statistics updates (``<stats period>``; 0 or none: off).
    period: int | None = typed("cattr", "stats", "period", conv=INT)
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Controller(Device):
    """``<controller type=pci|usb|scsi|ide|sata|virtio-serial|xenbus|... index=N model=...>``."""

    tag: ClassVar[str] = "controller"
    type: str = typed("attr", "type", required=True, default="pci")
    index: int | None = typed("attr", "index", conv=ULONG)
    model: str | None = typed("attr", "model")
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Sound(Device):
    """``<sound model=ich6|ich9|ac97|es1370|sb16|usb|...>``."""

    tag: ClassVar[str] = "sound"
    model: str = typed("attr", "model", required=True, default="ich9")
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Watchdog(Device):
    """``<watchdog model=i6300esb|ib700|itco|diag288 action=reset|poweroff|...>``."""

    tag: ClassVar[str] = "watchdog"
    model: str = typed("attr", "model", required=True, default="i6300esb")
    action: str | None = typed("attr", "action")
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Rng(Device):
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
class Tpm(Device):
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
class Panic(Device):
    """``<panic model=isa|pseries|hyperv|s390|pvpanic>``."""

    tag: ClassVar[str] = "panic"
    model: str | None = typed("attr", "model")
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Iommu(Device):
    """``<iommu model=intel|smmuv3|virtio>``."""

    tag: ClassVar[str] = "iommu"
    model: str = typed("attr", "model", required=True, default="intel")
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Vsock(Device):
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
class Hostdev(Device):
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
class Redirdev(Device):
    """``<redirdev bus=usb type=spicevmc|tcp|...>``."""

    tag: ClassVar[str] = "redirdev"
    bus: str | None = typed("attr", "bus")
    type: str = typed("attr", "type", required=True, default="spicevmc")
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Filesystem(Device):
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
class Shmem(Device):
    """``<shmem name=...><model type=ivshmem-plain|ivshmem-doorbell>``."""

    tag: ClassVar[str] = "shmem"
    name: str = typed("attr", "name", required=True, default="")
    model: str | None = typed("cattr", "model", "type")
    address: Address | None = _ADDR
    alias: str | None = _ALIAS
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class MemoryDevice(Device):
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
class Audio(Device):
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

    def described_text(self, level: int) -> str | None:
        """``None``: a generic device is not described (its kept ``xml`` is formatted as a tree)."""
        return None

    def writable(self) -> bool:
        """Whether its alias and address can be written (the kept element is XML already)."""
        a = self.address
        if a is not None and not spec_writable(a, a._spec):
            return False
        return self.alias is None or u.esc_text(self.alias) is not None

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
_DEVICE_CLASSES: dict[str, type[Device]] = {cls.tag: cls for cls in DEVICE_TYPES}


def device_from_element(el: Element) -> Device:
    """The model of one device element (unknown kinds become :class:`GenericDevice`)."""
    cls = _DEVICE_CLASSES.get(el.tag)  # type: ignore[arg-type,unused-ignore]
    if cls is None:
        if not isinstance(el.tag, str):
            raise XMLError("expected a device element")
        return GenericDevice.from_element(el)
    read = _READERS.get(cls)  # Device.from_element, inline: one call less per device
    if read is None or read[0] is not cls._typed:
        return cls.from_element(el)
    return read[1](el)


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
