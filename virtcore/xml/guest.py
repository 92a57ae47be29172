"""The guest platform: ``<os>``, ``<clock>`` (with its timers) and ``<cpu>``."""

from __future__ import annotations

from typing import ClassVar

import attrs
from lxml import etree

from virtcore import limits
from virtcore.errors import XMLError
from virtcore.xml import _util as u
from virtcore.xml._base import _FRAG, Element, _raw
from virtcore.xml._coverage import LEAF, Node, node
from virtcore.xml._layout import _CLOCK_ORDER, _CPU_ORDER, _OS_ORDER

__all__ = [
    "OS",
    "Timer",
    "Clock",
    "CPUFeature",
    "NumaCell",
    "CPU",
]

# ============================================================================ OS / clock


@attrs.frozen
class OS:
    """``<os>``: the guest's boot configuration.

    ``type`` is the OS type (``hvm``, ``xen``/``linux`` for Xen PV, ``exe`` for
    containers); ``boot`` the ``<boot dev=...>`` devices in order.
    """

    #: the attributes and children the class types (see :mod:`virtcore.xml._coverage`)
    _covers: ClassVar[Node] = node(
        "firmware",
        type=node("arch machine"),
        loader=LEAF,
        nvram=LEAF,
        kernel=LEAF,
        initrd=LEAF,
        cmdline=LEAF,
        dtb=LEAF,
        init=LEAF,
        boot=node("dev"),
    )

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
    _frag: list[str] = _FRAG

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

    #: the attributes and children the class types (see :mod:`virtcore.xml._coverage`)
    _covers: ClassVar[Node] = node("offset adjustment", timer=node("name present tickpolicy"))

    offset: str = "utc"
    timers: tuple[Timer, ...] = ()
    adjustment: int | None = None
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

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


@attrs.frozen
class CPU:
    """``<cpu>``: the guest CPU model, topology, features and NUMA cells."""

    #: the attributes and children the class types (see :mod:`virtcore.xml._coverage`)
    _covers: ClassVar[Node] = node(
        "mode match check",
        model=node("fallback"),
        vendor=LEAF,
        topology=node("sockets dies clusters cores threads"),
        feature=node("name policy"),
        numa=node(cell=node("id cpus memory unit memAccess")),
    )

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
    _frag: list[str] = _FRAG

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


def _cell_memory(cell: Element) -> int:
    fake = etree.Element("memory")
    fake.text = cell.get("memory")
    unit = cell.get("unit")
    if unit is not None:
        fake.set("unit", unit)
    return u.parse_memory(fake, "<cpu><numa><cell> attribute 'memory'")
