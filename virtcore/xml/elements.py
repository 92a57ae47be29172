"""Typed models of domain XML parts whose fields say where they live (see :mod:`virtcore.xml._spec`).

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
from virtcore.xml._spec import INT, ONOFF, UINT, YESNO, F, SpecElement, format_fields, parse_fields, typed

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
    size: int | None = typed("akib", "size")
    nodeset: str | None = typed("attr", "nodeset")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class _HugePages(SpecElement):
    _tag: ClassVar[str] = "hugepages"
    pages: tuple[HugePage, ...] = typed("many", "page", cls=HugePage, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


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
    _frag: list[str] = _FRAG

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
    cellid: int | None = typed("attr", "cellid", conv=UINT)
    mode: str | None = typed("attr", "mode")
    nodeset: str | None = typed("attr", "nodeset")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class NumaTune(SpecElement):
    """``<numatune>``: host NUMA policy (``<memory mode nodeset placement>``) and per-cell memnodes."""

    _tag: ClassVar[str] = "numatune"
    _order = ("memory", "memnode")
    mode: str | None = typed("cattr", "memory", "mode")
    nodeset: str | None = typed("cattr", "memory", "nodeset")
    placement: str | None = typed("cattr", "memory", "placement")
    memnodes: tuple[MemNode, ...] = typed("many", "memnode", cls=MemNode, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


# ---------------------------------------------------------------------------- tuning


@attrs.frozen
class VcpuPin(SpecElement):
    """``<cputune><vcpupin vcpu=N cpuset=...>``."""

    _tag: ClassVar[str] = "vcpupin"
    vcpu: int | None = typed("attr", "vcpu", conv=UINT)
    cpuset: str | None = typed("attr", "cpuset")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class IOThreadPin(SpecElement):
    """``<cputune><iothreadpin iothread=N cpuset=...>``."""

    _tag: ClassVar[str] = "iothreadpin"
    iothread: int | None = typed("attr", "iothread", conv=UINT)
    cpuset: str | None = typed("attr", "cpuset")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


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
    shares: int | None = typed("ctext", "shares", conv=UINT)
    period: int | None = typed("ctext", "period", conv=UINT)
    quota: int | None = typed("ctext", "quota", conv=INT)
    global_period: int | None = typed("ctext", "global_period", conv=UINT)
    global_quota: int | None = typed("ctext", "global_quota", conv=INT)
    emulator_period: int | None = typed("ctext", "emulator_period", conv=UINT)
    emulator_quota: int | None = typed("ctext", "emulator_quota", conv=INT)
    iothread_period: int | None = typed("ctext", "iothread_period", conv=UINT)
    iothread_quota: int | None = typed("ctext", "iothread_quota", conv=INT)
    vcpupins: tuple[VcpuPin, ...] = typed("many", "vcpupin", cls=VcpuPin, default=())
    emulatorpin: str | None = typed("cattr", "emulatorpin", "cpuset")
    iothreadpins: tuple[IOThreadPin, ...] = typed("many", "iothreadpin", cls=IOThreadPin, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class MemTune(SpecElement):
    """``<memtune>``: hard/soft/swap limits and the guaranteed minimum, in KiB."""

    _tag: ClassVar[str] = "memtune"
    _order = ("hard_limit", "soft_limit", "swap_hard_limit", "min_guarantee")
    hard_limit: int | None = typed("kib", "hard_limit")
    soft_limit: int | None = typed("kib", "soft_limit")
    swap_hard_limit: int | None = typed("kib", "swap_hard_limit")
    min_guarantee: int | None = typed("kib", "min_guarantee")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class BlkioDevice(SpecElement):
    """``<blkiotune><device>``: weight and throttles of one host block device (``path``)."""

    _tag: ClassVar[str] = "device"
    _order = ("path", "weight", "read_iops_sec", "write_iops_sec", "read_bytes_sec", "write_bytes_sec")
    path: str | None = typed("ctext", "path")
    weight: int | None = typed("ctext", "weight", conv=UINT)
    read_iops_sec: int | None = typed("ctext", "read_iops_sec", conv=UINT)
    write_iops_sec: int | None = typed("ctext", "write_iops_sec", conv=UINT)
    read_bytes_sec: int | None = typed("ctext", "read_bytes_sec", conv=UINT)
    write_bytes_sec: int | None = typed("ctext", "write_bytes_sec", conv=UINT)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class BlkioTune(SpecElement):
    """``<blkiotune>``: the overall I/O weight and per-device settings."""

    _tag: ClassVar[str] = "blkiotune"
    _order = ("weight", "device")
    weight: int | None = typed("ctext", "weight", conv=UINT)
    devices: tuple[BlkioDevice, ...] = typed("many", "device", cls=BlkioDevice, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class IOThread(SpecElement):
    """``<iothreadids><iothread id=N>``."""

    _tag: ClassVar[str] = "iothread"
    id: int | None = typed("attr", "id", conv=UINT)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class IOThreadIds(SpecElement):
    """``<iothreadids>``: the ids of the domain's I/O threads."""

    _tag: ClassVar[str] = "iothreadids"
    iothreads: tuple[IOThread, ...] = typed("many", "iothread", cls=IOThread, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


# ---------------------------------------------------------------------------- sysinfo


@attrs.frozen
class SysInfoEntry(SpecElement):
    """``<entry name=...>value</entry>`` of a sysinfo block (fw_cfg entries may name a ``file``)."""

    _tag: ClassVar[str] = "entry"
    name: str | None = typed("attr", "name")
    value: str | None = typed("text")
    file: str | None = typed("attr", "file")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class SysInfoBlock(SpecElement):
    """A block of SMBIOS entries: ``section`` is bios, system, baseBoard, chassis or oemStrings."""

    section: str = "system"
    entries: tuple[SysInfoEntry, ...] = typed("many", "entry", cls=SysInfoEntry, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    @classmethod
    def from_element(cls, el: Element) -> SysInfoBlock:
        """Parse one block."""
        return cls(section=u.local_tag(el), raw=el, **parse_fields(cls, el))

    def to_element(self) -> Element:
        """Format the block."""
        el = u.start(self.raw, self.section)
        format_fields(self, el)
        return el


_SYSINFO_BLOCKS = ("bios", "system", "baseBoard", "chassis", "oemStrings")


@attrs.frozen
class SysInfo(SpecElement):
    """``<sysinfo type=smbios|fwcfg>``: SMBIOS blocks, or fw_cfg ``entries``."""

    _tag: ClassVar[str] = "sysinfo"
    _order = (*_SYSINFO_BLOCKS, "entry")
    type: str = typed("attr", "type", default="smbios")
    blocks: tuple[SysInfoBlock, ...] = ()
    entries: tuple[SysInfoEntry, ...] = typed("many", "entry", cls=SysInfoEntry, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

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
    type: str | None = typed("attr", "type")
    model: str | None = typed("attr", "model")
    relabel: bool | None = typed("attr", "relabel", conv=YESNO)
    label: str | None = typed("ctext", "label")
    imagelabel: str | None = typed("ctext", "imagelabel")
    baselabel: str | None = typed("ctext", "baselabel")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


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
    mode: str | None = typed("attr", "mode")
    states: tuple[tuple[str, bool], ...] = ()
    spinlocks_retries: int | None = typed("cattr", "spinlocks", "retries", conv=UINT)
    vendor_id: str | None = typed("cattr", "vendor_id", "value")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    @classmethod
    def from_element(cls, el: Element) -> HyperV:
        """Parse a ``<hyperv>`` element."""
        return cls(states=cls._states(el), raw=el, **parse_fields(cls, el))

    def to_element(self) -> Element:
        """Format as a ``<hyperv>`` element (retries and vendor id only with their feature listed)."""
        el = u.start(self.raw, "hyperv")
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
    states: tuple[tuple[str, bool], ...] = ()
    dirty_ring_size: int | None = typed("cattr", "dirty-ring", "size", conv=UINT)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    @classmethod
    def from_element(cls, el: Element) -> KVMFeatures:
        """Parse a ``<kvm>`` element."""
        return cls(states=cls._states(el), raw=el, **parse_fields(cls, el))

    def to_element(self) -> Element:
        """Format as a ``<kvm>`` element (the dirty ring size only with ``dirty-ring`` listed)."""
        el = u.start(self.raw, "kvm")
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
    type: str | None = typed("attr", "type")
    domain: int | None = typed("attr", "domain", conv=UINT)
    bus: int | None = typed("attr", "bus", conv=UINT)
    slot: int | None = typed("attr", "slot", conv=UINT)
    function: int | None = typed("attr", "function", conv=UINT)
    multifunction: bool | None = typed("attr", "multifunction", conv=ONOFF)
    controller: int | None = typed("attr", "controller", conv=UINT)
    target: int | None = typed("attr", "target", conv=UINT)
    unit: int | None = typed("attr", "unit", conv=UINT)
    port: str | None = typed("attr", "port")
    cssid: int | None = typed("attr", "cssid", conv=UINT)
    ssid: int | None = typed("attr", "ssid", conv=UINT)
    devno: int | None = typed("attr", "devno", conv=UINT)
    reg: int | None = typed("attr", "reg", conv=UINT)
    iobase: int | None = typed("attr", "iobase", conv=UINT)
    irq: int | None = typed("attr", "irq", conv=UINT)
    base: int | None = typed("attr", "base", conv=UINT)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

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
