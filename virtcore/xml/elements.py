"""Typed models of domain XML parts described by a field table (see :mod:`virtcore.xml._spec`).

Memory backing, NUMA tuning, CPU/memory/block I/O tuning, I/O thread ids, SMBIOS and
fw_cfg system information, security labels, Hyper-V and KVM feature details, and
device addresses. Each is a frozen attrs class parsed from its element and formatted
back as an overlay: whatever a class does not name is kept where it was.

Memory sizes are in KiB.
"""

from __future__ import annotations

import re
from typing import ClassVar, cast

import attrs
from lxml import etree

from virtcore.xml import _util as u
from virtcore.xml._base import _FRAG, _raw
from virtcore.xml._coverage import Node, merge
from virtcore.xml._spec import INT, ONOFF, UINT, YESNO, F, SpecElement, parse_fields

Element = etree._Element

__all__ = [
    "Address",
    "BlkioDevice",
    "BlkioTune",
    "CPUTune",
    "HugePage",
    "HyperV",
    "IOThread",
    "IOThreadIds",
    "IOThreadPin",
    "KVMFeatures",
    "MemNode",
    "MemTune",
    "MemoryBacking",
    "NumaTune",
    "SecLabel",
    "SysInfo",
    "SysInfoBlock",
    "SysInfoEntry",
    "VcpuPin",
]


# ---------------------------------------------------------------------------- memoryBacking


@attrs.frozen
class HugePage(SpecElement):
    """``<memoryBacking><hugepages><page size=... unit=... nodeset=...>`` (size in KiB)."""

    _tag: ClassVar[str] = "page"
    _spec = (F("size", "akib", "size"), F("nodeset", "attr", "nodeset"))
    size: int | None = None
    nodeset: str | None = None
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class _HugePages(SpecElement):
    _tag: ClassVar[str] = "hugepages"
    _spec = (F("pages", "many", "page", cls=HugePage),)
    pages: tuple[HugePage, ...] = ()
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class MemoryBacking(SpecElement):
    """``<memoryBacking>``: huge pages, page sharing, locking, source, access, allocation.

    ``hugepages`` is ``None`` without ``<hugepages>``, ``()`` for ``<hugepages/>``
    (default-size pages), else the pages per NUMA node set.
    """

    _tag: ClassVar[str] = "memoryBacking"
    _order = ("hugepages", "nosharepages", "locked", "source", "access", "allocation", "discard")
    _spec = (
        F("_hugepages", "one", "hugepages", cls=_HugePages),
        F("nosharepages", "flag", "nosharepages"),
        F("locked", "flag", "locked"),
        F("source_type", "cattr", "source", "type"),
        F("access_mode", "cattr", "access", "mode"),
        F("allocation_mode", "cattr", "allocation", "mode"),
        F("allocation_threads", "cattr", "allocation", "threads", UINT),
        F("discard", "flag", "discard"),
    )
    hugepages: tuple[HugePage, ...] | None = None
    nosharepages: bool = False
    locked: bool = False
    source_type: str | None = None
    access_mode: str | None = None
    allocation_mode: str | None = None
    allocation_threads: int | None = None
    discard: bool = False
    raw: Element | None = _raw
    _frag: str | None = _FRAG

    @property
    def _hugepages(self) -> _HugePages | None:
        if self.hugepages is None:
            return None
        src = None if self.raw is None else u.find(self.raw, "hugepages")
        return _HugePages(pages=self.hugepages, raw=src)

    @classmethod
    def from_element(cls, el: Element) -> MemoryBacking:
        """Parse a ``<memoryBacking>`` element."""
        values = parse_fields(cls, el)
        hp = values.pop("_hugepages")
        return cls(hugepages=None if hp is None else hp.pages, raw=el, **values)


# ---------------------------------------------------------------------------- numatune


@attrs.frozen
class MemNode(SpecElement):
    """``<numatune><memnode cellid=N mode=... nodeset=...>``: one guest NUMA cell's host nodes."""

    _tag: ClassVar[str] = "memnode"
    _spec = (
        F("cellid", "attr", "cellid", conv=UINT),
        F("mode", "attr", "mode"),
        F("nodeset", "attr", "nodeset"),
    )
    cellid: int | None = None
    mode: str | None = None
    nodeset: str | None = None
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class NumaTune(SpecElement):
    """``<numatune>``: host NUMA policy (``<memory mode nodeset placement>``) and per-cell memnodes."""

    _tag: ClassVar[str] = "numatune"
    _order = ("memory", "memnode")
    _spec = (
        F("mode", "cattr", "memory", "mode"),
        F("nodeset", "cattr", "memory", "nodeset"),
        F("placement", "cattr", "memory", "placement"),
        F("memnodes", "many", "memnode", cls=MemNode),
    )
    mode: str | None = None
    nodeset: str | None = None
    placement: str | None = None
    memnodes: tuple[MemNode, ...] = ()
    raw: Element | None = _raw
    _frag: str | None = _FRAG


# ---------------------------------------------------------------------------- tuning


@attrs.frozen
class VcpuPin(SpecElement):
    """``<cputune><vcpupin vcpu=N cpuset=...>``."""

    _tag: ClassVar[str] = "vcpupin"
    _spec = (F("vcpu", "attr", "vcpu", conv=UINT), F("cpuset", "attr", "cpuset"))
    vcpu: int | None = None
    cpuset: str | None = None
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class IOThreadPin(SpecElement):
    """``<cputune><iothreadpin iothread=N cpuset=...>``."""

    _tag: ClassVar[str] = "iothreadpin"
    _spec = (F("iothread", "attr", "iothread", conv=UINT), F("cpuset", "attr", "cpuset"))
    iothread: int | None = None
    cpuset: str | None = None
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class CPUTune(SpecElement):
    """``<cputune>``: CFS shares/periods/quotas and vCPU, emulator and I/O thread pinning.

    Scheduler, cache and memory-bandwidth tuning (``vcpusched``, ``cachetune``, ...)
    are kept as written.
    """

    _tag: ClassVar[str] = "cputune"
    _order = (
        "shares", "period", "quota", "global_period", "global_quota", "emulator_period",
        "emulator_quota", "iothread_period", "iothread_quota", "vcpupin", "emulatorpin", "iothreadpin",
    )  # fmt: skip
    _spec = (
        F("shares", "ctext", "shares", conv=UINT),
        F("period", "ctext", "period", conv=UINT),
        F("quota", "ctext", "quota", conv=INT),
        F("global_period", "ctext", "global_period", conv=UINT),
        F("global_quota", "ctext", "global_quota", conv=INT),
        F("emulator_period", "ctext", "emulator_period", conv=UINT),
        F("emulator_quota", "ctext", "emulator_quota", conv=INT),
        F("iothread_period", "ctext", "iothread_period", conv=UINT),
        F("iothread_quota", "ctext", "iothread_quota", conv=INT),
        F("vcpupins", "many", "vcpupin", cls=VcpuPin),
        F("emulatorpin", "cattr", "emulatorpin", "cpuset"),
        F("iothreadpins", "many", "iothreadpin", cls=IOThreadPin),
    )
    shares: int | None = None
    period: int | None = None
    quota: int | None = None
    global_period: int | None = None
    global_quota: int | None = None
    emulator_period: int | None = None
    emulator_quota: int | None = None
    iothread_period: int | None = None
    iothread_quota: int | None = None
    vcpupins: tuple[VcpuPin, ...] = ()
    emulatorpin: str | None = None
    iothreadpins: tuple[IOThreadPin, ...] = ()
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class MemTune(SpecElement):
    """``<memtune>``: hard/soft/swap limits and the guaranteed minimum, in KiB."""

    _tag: ClassVar[str] = "memtune"
    _order = ("hard_limit", "soft_limit", "swap_hard_limit", "min_guarantee")
    _spec = (
        F("hard_limit", "kib", "hard_limit"),
        F("soft_limit", "kib", "soft_limit"),
        F("swap_hard_limit", "kib", "swap_hard_limit"),
        F("min_guarantee", "kib", "min_guarantee"),
    )
    hard_limit: int | None = None
    soft_limit: int | None = None
    swap_hard_limit: int | None = None
    min_guarantee: int | None = None
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class BlkioDevice(SpecElement):
    """``<blkiotune><device>``: weight and throttles of one host block device (``path``)."""

    _tag: ClassVar[str] = "device"
    _order = ("path", "weight", "read_iops_sec", "write_iops_sec", "read_bytes_sec", "write_bytes_sec")
    _spec = (
        F("path", "ctext", "path"),
        F("weight", "ctext", "weight", conv=UINT),
        F("read_iops_sec", "ctext", "read_iops_sec", conv=UINT),
        F("write_iops_sec", "ctext", "write_iops_sec", conv=UINT),
        F("read_bytes_sec", "ctext", "read_bytes_sec", conv=UINT),
        F("write_bytes_sec", "ctext", "write_bytes_sec", conv=UINT),
    )
    path: str | None = None
    weight: int | None = None
    read_iops_sec: int | None = None
    write_iops_sec: int | None = None
    read_bytes_sec: int | None = None
    write_bytes_sec: int | None = None
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class BlkioTune(SpecElement):
    """``<blkiotune>``: the overall I/O weight and per-device settings."""

    _tag: ClassVar[str] = "blkiotune"
    _order = ("weight", "device")
    _spec = (F("weight", "ctext", "weight", conv=UINT), F("devices", "many", "device", cls=BlkioDevice))
    weight: int | None = None
    devices: tuple[BlkioDevice, ...] = ()
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class IOThread(SpecElement):
    """``<iothreadids><iothread id=N>``."""

    _tag: ClassVar[str] = "iothread"
    _spec = (F("id", "attr", "id", conv=UINT),)
    id: int | None = None
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class IOThreadIds(SpecElement):
    """``<iothreadids>``: the ids of the domain's I/O threads."""

    _tag: ClassVar[str] = "iothreadids"
    _spec = (F("iothreads", "many", "iothread", cls=IOThread),)
    iothreads: tuple[IOThread, ...] = ()
    raw: Element | None = _raw
    _frag: str | None = _FRAG


# ---------------------------------------------------------------------------- sysinfo


@attrs.frozen
class SysInfoEntry(SpecElement):
    """``<entry name=...>value</entry>`` of a sysinfo block (fw_cfg entries may name a ``file``)."""

    _tag: ClassVar[str] = "entry"
    _spec = (F("name", "attr", "name"), F("file", "attr", "file"), F("value", "text"))
    name: str | None = None
    value: str | None = None
    file: str | None = None
    raw: Element | None = _raw
    _frag: str | None = _FRAG


@attrs.frozen
class SysInfoBlock(SpecElement):
    """A block of SMBIOS entries: ``section`` is bios, system, baseBoard, chassis or oemStrings."""

    _spec = (F("entries", "many", "entry", cls=SysInfoEntry),)
    section: str = "system"
    entries: tuple[SysInfoEntry, ...] = ()
    raw: Element | None = _raw
    _frag: str | None = _FRAG

    @classmethod
    def from_element(cls, el: Element) -> SysInfoBlock:
        """Parse one block."""
        return cls(section=u.local_tag(el), raw=el, **parse_fields(cls, el))

    def to_element(self) -> Element:
        """Format the block."""
        el = u.start(self.raw, self.section)
        from virtcore.xml._spec import format_fields

        format_fields(self, el)
        return el


_SYSINFO_BLOCKS = ("bios", "system", "baseBoard", "chassis", "oemStrings")


@attrs.frozen
class SysInfo(SpecElement):
    """``<sysinfo type=smbios|fwcfg>``: SMBIOS blocks, or fw_cfg ``entries``."""

    _tag: ClassVar[str] = "sysinfo"
    _order = (*_SYSINFO_BLOCKS, "entry")
    _spec = (F("type", "attr", "type"), F("entries", "many", "entry", cls=SysInfoEntry))
    type: str = "smbios"
    blocks: tuple[SysInfoBlock, ...] = ()
    entries: tuple[SysInfoEntry, ...] = ()
    raw: Element | None = _raw
    _frag: str | None = _FRAG

    @classmethod
    def covered(cls) -> Node:
        """The table's node, and the SMBIOS blocks typed by :class:`SysInfoBlock`."""
        block = SysInfoBlock.covered()
        return merge(super().covered(), **dict.fromkeys(_SYSINFO_BLOCKS, block))

    @classmethod
    def from_element(cls, el: Element) -> SysInfo:
        """Parse a ``<sysinfo>`` element."""
        values = parse_fields(cls, el)
        blocks = tuple(SysInfoBlock.from_element(c) for c in el if c.tag in _SYSINFO_BLOCKS)
        return cls(blocks=blocks, raw=el, **values)

    def to_element(self) -> Element:
        """Format as a ``<sysinfo>`` element."""
        el = super().to_element()
        src = [] if self.raw is None else [c for c in self.raw if c.tag in _SYSINFO_BLOCKS]
        if [b.raw for b in self.blocks] == src:
            olds = [c for c in el if c.tag in _SYSINFO_BLOCKS]
            for old, block in zip(olds, self.blocks, strict=True):
                new = block.to_element()
                new.tail = old.tail
                el.replace(old, new)
        else:
            for old in [c for c in el if c.tag in _SYSINFO_BLOCKS]:
                el.remove(old)
            for block in self.blocks:
                u.insert_ordered(el, block.to_element(), self._order)
        return el


# ---------------------------------------------------------------------------- seclabel


@attrs.frozen
class SecLabel(SpecElement):
    """``<seclabel type=dynamic|static|none model=selinux|dac|apparmor relabel=yes|no>``."""

    _tag: ClassVar[str] = "seclabel"
    _order = ("label", "imagelabel", "baselabel")
    _spec = (
        F("type", "attr", "type"),
        F("model", "attr", "model"),
        F("relabel", "attr", "relabel", conv=YESNO),
        F("label", "ctext", "label"),
        F("imagelabel", "ctext", "imagelabel"),
        F("baselabel", "ctext", "baselabel"),
    )
    type: str | None = None
    model: str | None = None
    relabel: bool | None = None
    label: str | None = None
    imagelabel: str | None = None
    baselabel: str | None = None
    raw: Element | None = _raw
    _frag: str | None = _FRAG


# ---------------------------------------------------------------------------- features


class _StateFeatures(SpecElement):
    """Children ``<name state='on|off'/>`` as ``states`` (name, on) pairs, in document order."""

    __slots__ = ()
    states: tuple[tuple[str, bool], ...]

    @classmethod
    def _states(cls, el: Element) -> tuple[tuple[str, bool], ...]:
        out = []
        for c in el:
            state = c.get("state")
            if isinstance(c.tag, str) and state is not None:
                value = u.parse_bool(state, f"<{cls._tag}><{c.tag}> attribute 'state'", yes="on", no="off")
                out.append((c.tag, bool(value)))
        return tuple(out)

    def _put_states(self, el: Element) -> None:
        have = {c.tag: c for c in el if c.get("state") is not None}
        want = dict(self.states)
        for tag, old in have.items():
            if tag not in want:
                el.remove(old)  # a feature no longer listed goes, with its settings
        for tag, on in self.states:
            c: Element | None = have.get(tag)
            if c is None:
                c = u.find(el, tag)
            if c is None:
                c = etree.SubElement(el, tag)
            if c.get("state") != ("on" if on else "off"):
                c.set("state", "on" if on else "off")


@attrs.frozen
class HyperV(_StateFeatures):
    """``<features><hyperv mode=custom|passthrough>``: Hyper-V enlightenments.

    ``states`` are the ``<relaxed state='on'/>``-style children, in order (a feature
    left out of it is removed with its settings); ``spinlocks_retries`` and
    ``vendor_id`` the values of ``<spinlocks retries>`` and ``<vendor_id value>``.
    """

    _tag: ClassVar[str] = "hyperv"
    _spec = (
        F("mode", "attr", "mode"),
        F("spinlocks_retries", "cattr", "spinlocks", "retries", UINT),
        F("vendor_id", "cattr", "vendor_id", "value"),
    )
    mode: str | None = None
    states: tuple[tuple[str, bool], ...] = ()
    spinlocks_retries: int | None = None
    vendor_id: str | None = None
    raw: Element | None = _raw
    _frag: str | None = _FRAG

    @classmethod
    def from_element(cls, el: Element) -> HyperV:
        """Parse a ``<hyperv>`` element."""
        return cls(states=cls._states(el), raw=el, **parse_fields(cls, el))

    def to_element(self) -> Element:
        """Format as a ``<hyperv>`` element (retries and vendor id only with their feature listed)."""
        el = u.start(self.raw, "hyperv")
        from virtcore.xml._spec import format_fields

        names = {name for name, _ in self.states}
        self._put_states(el)
        format_fields(
            attrs.evolve(
                self,
                spinlocks_retries=self.spinlocks_retries if "spinlocks" in names else None,
                vendor_id=self.vendor_id if "vendor_id" in names else None,
            ),
            el,
        )
        return el


@attrs.frozen
class KVMFeatures(_StateFeatures):
    """``<features><kvm>``: KVM paravirt features (hidden, hint-dedicated, poll-control, ...)."""

    _tag: ClassVar[str] = "kvm"
    _spec = (F("dirty_ring_size", "cattr", "dirty-ring", "size", UINT),)
    states: tuple[tuple[str, bool], ...] = ()
    dirty_ring_size: int | None = None
    raw: Element | None = _raw
    _frag: str | None = _FRAG

    @classmethod
    def from_element(cls, el: Element) -> KVMFeatures:
        """Parse a ``<kvm>`` element."""
        return cls(states=cls._states(el), raw=el, **parse_fields(cls, el))

    def to_element(self) -> Element:
        """Format as a ``<kvm>`` element (the dirty ring size only with ``dirty-ring`` listed)."""
        el = u.start(self.raw, "kvm")
        from virtcore.xml._spec import format_fields

        listed = any(name == "dirty-ring" for name, _ in self.states)
        self._put_states(el)
        format_fields(attrs.evolve(self, dirty_ring_size=self.dirty_ring_size if listed else None), el)
        return el


# ---------------------------------------------------------------------------- address


@attrs.frozen
class Address(SpecElement):
    """A device's ``<address type=...>``.

    ``type`` is pci, drive, virtio-serial, ccid, usb, spapr-vio, ccw, isa, dimm,
    virtio-mmio, unassigned, ...; the other fields are the attributes that type uses
    (numbers parsed from decimal or ``0x`` hex; ``port`` is text, e.g. USB ``1.2``).
    """

    _tag: ClassVar[str] = "address"
    _spec = (
        F("type", "attr", "type"),
        F("domain", "attr", "domain", conv=UINT),
        F("bus", "attr", "bus", conv=UINT),
        F("slot", "attr", "slot", conv=UINT),
        F("function", "attr", "function", conv=UINT),
        F("multifunction", "attr", "multifunction", conv=ONOFF),
        F("controller", "attr", "controller", conv=UINT),
        F("target", "attr", "target", conv=UINT),
        F("unit", "attr", "unit", conv=UINT),
        F("port", "attr", "port"),
        F("cssid", "attr", "cssid", conv=UINT),
        F("ssid", "attr", "ssid", conv=UINT),
        F("devno", "attr", "devno", conv=UINT),
        F("reg", "attr", "reg", conv=UINT),
        F("iobase", "attr", "iobase", conv=UINT),
        F("irq", "attr", "irq", conv=UINT),
        F("base", "attr", "base", conv=UINT),
    )
    type: str | None = None
    domain: int | None = None
    bus: int | None = None
    slot: int | None = None
    function: int | None = None
    multifunction: bool | None = None
    controller: int | None = None
    target: int | None = None
    unit: int | None = None
    port: str | None = None
    cssid: int | None = None
    ssid: int | None = None
    devno: int | None = None
    reg: int | None = None
    iobase: int | None = None
    irq: int | None = None
    base: int | None = None
    raw: Element | None = _raw
    _frag: str | None = _FRAG

    @classmethod
    def from_element(cls, el: Element) -> Address:
        """Parse an ``<address>`` element (only the attributes it has are looked at)."""
        values: dict[str, object] = {}
        for key, text in cast("list[tuple[str, str]]", el.attrib.items()):
            kind = _ADDRESS_KINDS.get(key)
            if kind is None:
                continue
            if kind is str:
                values[key] = text
            elif kind is bool:
                values[key] = u.parse_bool(text, "<address> attribute 'multifunction'", yes="on", no="off")
            elif text.isdigit() and text.isascii() and len(text) < 20:  # below 2**64 for sure
                values[key] = int(text)
            elif text[1:2] == "x" and text[0] == "0" and len(text) <= 18 and _HEX.fullmatch(text, 2):
                values[key] = int(text, 16)
            else:
                values[key] = u.parse_uint(text, f"<address> attribute '{key}'", allow_hex=True)
        return cls(raw=el, **values)  # type: ignore[arg-type]


_HEX = re.compile("[0-9a-fA-F]+")
_ADDRESS_KINDS: dict[str, type] = {
    "type": str, "port": str, "multifunction": bool, "domain": int, "bus": int, "slot": int,
    "function": int, "controller": int, "target": int, "unit": int, "cssid": int, "ssid": int,
    "devno": int, "reg": int, "iobase": int, "irq": int, "base": int,
}  # fmt: skip
