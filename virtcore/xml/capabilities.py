"""The capabilities XML model (``virConnectGetCapabilities``): the host and its guest types.

Drivers build a :class:`Capabilities` and return :func:`format_capabilities`
of it; the output validates against libvirt's ``capability.rng``::

    caps = Capabilities(
        host=Host(cpu=HostCPU(arch="x86_64"), cells=(HostCell(id=0, cpus=(0, 1), memory=4194304),)),
        guests=(Guest(os_type="hvm", arch="x86_64", wordsize=64, domains=(GuestDomain("qemu"),)),),
    )
    xml = format_capabilities(caps)

:func:`parse_capabilities` reads such a document back (through the hardened parser).
"""

from __future__ import annotations

import attrs
from lxml import etree

from virtcore.errors import XMLError
from virtcore.xml import _util as u
from virtcore.xml._parser import secure_parse

Element = etree._Element

__all__ = [
    "Capabilities",
    "Host",
    "HostCPU",
    "HostCell",
    "Guest",
    "GuestDomain",
    "format_capabilities",
    "parse_capabilities",
    "capabilities_to_element",
]


@attrs.frozen
class HostCPU:
    """``<host><cpu>``: architecture, model, topology and flags of the host CPU."""

    arch: str
    model: str | None = None
    vendor: str | None = None
    sockets: int | None = None
    dies: int | None = None
    cores: int | None = None
    threads: int | None = None
    #: CPUID feature names (``<feature name=...>``).
    features: tuple[str, ...] = ()
    #: Old-style flags under ``<features>`` (``pae``, ``nonpae``, ``vmx``, ``svm``).
    flags: tuple[str, ...] = ()
    #: Supported page sizes in KiB.
    pages: tuple[int, ...] = ()


@attrs.frozen
class HostCell:
    """One NUMA cell of the host: its CPU ids and memory (KiB)."""

    id: int
    cpus: tuple[int, ...] = ()
    memory: int | None = None


@attrs.frozen
class Host:
    """``<host>``."""

    cpu: HostCPU
    uuid: str | None = None
    cells: tuple[HostCell, ...] = ()
    #: ``suspend_mem``, ``suspend_disk``, ``suspend_hybrid``.
    power_management: tuple[str, ...] | None = None
    live_migration: bool = False
    migration_transports: tuple[str, ...] = ()


@attrs.frozen
class GuestDomain:
    """``<guest><arch><domain type=...>``, with an optional emulator and machines of its own."""

    type: str
    emulator: str | None = None
    machines: tuple[str, ...] = ()


@attrs.frozen
class Guest:
    """``<guest>``: one OS type on one architecture, and the hypervisor types running it."""

    os_type: str
    arch: str
    wordsize: int
    domains: tuple[GuestDomain, ...]
    emulator: str | None = None
    loader: str | None = None
    machines: tuple[str, ...] = ()
    #: ``pae``, ``nonpae``, ``acpi``, ``apic``, ``cpuselection``, ``deviceboot``, ...
    features: tuple[str, ...] = ()


@attrs.frozen
class Capabilities:
    """``<capabilities>``: the host and the guests it can run."""

    host: Host
    guests: tuple[Guest, ...] = ()


_TOGGLED = frozenset({"acpi", "apic", "disksnapshot", "hap"})


def _sub(parent: Element, tag: str, text: str | None = None, **attrib: str) -> Element:
    el = etree.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = text
    return el


def _cpus_text(ids: tuple[int, ...]) -> str:
    return ",".join(str(i) for i in ids)


def capabilities_to_element(caps: Capabilities) -> Element:
    """Format :class:`Capabilities` as an lxml element."""
    root = etree.Element("capabilities")
    host = _sub(root, "host")
    h = caps.host
    if h.uuid is not None:
        _sub(host, "uuid", h.uuid)
    cpu = _sub(host, "cpu")
    c = h.cpu
    _sub(cpu, "arch", c.arch)
    if c.flags:
        feats = _sub(cpu, "features")
        for flag in c.flags:
            _sub(feats, flag)
    if c.model is not None:
        _sub(cpu, "model", c.model)
    if c.vendor is not None:
        _sub(cpu, "vendor", c.vendor)
    topo = {k: getattr(c, k) for k in ("sockets", "dies", "cores", "threads")}
    if any(v is not None for v in topo.values()):
        if any(topo[k] is None for k in ("sockets", "cores", "threads")):
            raise XMLError("host CPU topology needs sockets, cores and threads in <cpu><topology>")
        t = _sub(cpu, "topology", sockets=str(c.sockets))
        if c.dies is not None:
            t.set("dies", str(c.dies))
        t.set("cores", str(c.cores))
        t.set("threads", str(c.threads))
    for name in c.features:
        _sub(cpu, "feature", name=name)
    for size in c.pages:
        _sub(cpu, "pages", unit="KiB", size=str(size))
    if h.power_management is not None:
        pm = _sub(host, "power_management")
        for item in h.power_management:
            _sub(pm, item)
    if h.live_migration or h.migration_transports:
        mig = _sub(host, "migration_features")
        if h.live_migration:
            _sub(mig, "live")
        if h.migration_transports:
            tr = _sub(mig, "uri_transports")
            for t_name in h.migration_transports:
                _sub(tr, "uri_transport", t_name)
    if h.cells:
        topo_el = _sub(host, "topology")
        cells = _sub(topo_el, "cells", num=str(len(h.cells)))
        for cell in h.cells:
            ce = _sub(cells, "cell", id=str(cell.id))
            if cell.memory is not None:
                _sub(ce, "memory", str(cell.memory), unit="KiB")
            cpus = _sub(ce, "cpus", num=str(len(cell.cpus)))
            for cpu_id in cell.cpus:
                _sub(cpus, "cpu", id=str(cpu_id))
    for g in caps.guests:
        guest = _sub(root, "guest")
        _sub(guest, "os_type", g.os_type)
        arch = _sub(guest, "arch", name=g.arch)
        _sub(arch, "wordsize", str(g.wordsize))
        if g.emulator is not None:
            _sub(arch, "emulator", g.emulator)
        if g.loader is not None:
            _sub(arch, "loader", g.loader)
        for m in g.machines:
            _sub(arch, "machine", m)
        if not g.domains:
            raise XMLError(f"guest {g.os_type}/{g.arch} needs at least one <domain> in <guest><arch>")
        for dom in g.domains:
            de = _sub(arch, "domain", type=dom.type)
            if dom.emulator is not None:
                _sub(de, "emulator", dom.emulator)
            for m in dom.machines:
                _sub(de, "machine", m)
        if g.features:
            feats = _sub(guest, "features")
            for f in g.features:
                if f in _TOGGLED:
                    _sub(feats, f, default="on", toggle="no")
                else:
                    _sub(feats, f)
    return root


def format_capabilities(caps: Capabilities) -> str:
    """Format :class:`Capabilities` as libvirt capabilities XML."""
    el = capabilities_to_element(caps)
    etree.indent(el, space="  ")
    return etree.tostring(el, encoding="unicode") + "\n"


def _int(text: str | None, where: str) -> int:
    return u.parse_uint(text, where)


def parse_capabilities(text: str | bytes) -> Capabilities:
    """Parse capabilities XML (what :func:`format_capabilities` writes, or libvirt's).

    :raises XMLError: malformed, hostile or invalid XML.
    """
    root = secure_parse(text)
    if root.tag != "capabilities":
        raise XMLError(f"expected <capabilities>, not <{u.local_tag(root)}>")
    host_el = u.find(root, "host")
    if host_el is None:
        raise XMLError("missing <host> in <capabilities>")
    cpu_el = u.find(host_el, "cpu")
    arch_el = None if cpu_el is None else u.find(cpu_el, "arch")
    if cpu_el is None or arch_el is None or not arch_el.text:
        raise XMLError("missing <arch> in <capabilities><host><cpu>")
    topo = u.find(cpu_el, "topology")
    feats = u.find(cpu_el, "features")
    cpu = HostCPU(
        arch=arch_el.text.strip(),
        model=cpu_el.findtext("model"),
        vendor=cpu_el.findtext("vendor"),
        sockets=None if topo is None else u.opt_uint(topo, "sockets", "<host><cpu><topology>"),
        dies=None if topo is None else u.opt_uint(topo, "dies", "<host><cpu><topology>"),
        cores=None if topo is None else u.opt_uint(topo, "cores", "<host><cpu><topology>"),
        threads=None if topo is None else u.opt_uint(topo, "threads", "<host><cpu><topology>"),
        features=tuple(f.get("name", "") for f in cpu_el.iterchildren("feature")),
        flags=() if feats is None else tuple(u.local_tag(f) for f in feats),
        pages=tuple(_int(p.get("size"), "<host><cpu><pages>") for p in cpu_el.iterchildren("pages")),
    )
    cells = []
    for cell in host_el.iterfind("topology/cells/cell"):
        mem = u.find(cell, "memory")
        cells.append(
            HostCell(
                id=_int(cell.get("id"), "<cell> attribute 'id'"),
                cpus=tuple(_int(c.get("id"), "<cell><cpus><cpu>") for c in cell.iterfind("cpus/cpu")),
                memory=None if mem is None else u.parse_memory(mem, "<cell><memory>"),
            )
        )
    pm = u.find(host_el, "power_management")
    mig = u.find(host_el, "migration_features")
    host = Host(
        cpu=cpu,
        uuid=host_el.findtext("uuid"),
        cells=tuple(cells),
        power_management=None if pm is None else tuple(u.local_tag(p) for p in pm),
        live_migration=mig is not None and u.find(mig, "live") is not None,
        migration_transports=()
        if mig is None
        else tuple(t.text or "" for t in mig.iterfind("uri_transports/uri_transport")),
    )
    guests = []
    for g in root.iterchildren("guest"):
        arch = u.find(g, "arch")
        if arch is None or not arch.get("name"):
            raise XMLError("missing <arch name=...> in <capabilities><guest>")
        gfeats = u.find(g, "features")
        guests.append(
            Guest(
                os_type=(g.findtext("os_type") or "").strip(),
                arch=arch.get("name", ""),
                wordsize=_int(arch.findtext("wordsize"), "<guest><arch><wordsize>"),
                emulator=arch.findtext("emulator"),
                loader=arch.findtext("loader"),
                machines=tuple(m.text or "" for m in arch.iterchildren("machine")),
                domains=tuple(
                    GuestDomain(
                        type=d.get("type", ""),
                        emulator=d.findtext("emulator"),
                        machines=tuple(m.text or "" for m in d.iterchildren("machine")),
                    )
                    for d in arch.iterchildren("domain")
                ),
                features=() if gfeats is None else tuple(u.local_tag(f) for f in gfeats),
            )
        )
    return Capabilities(host=host, guests=tuple(guests))
