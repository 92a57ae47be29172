"""Domain XML -> QEMU command line: a pure function of the definition.

:func:`build_argv` turns a :class:`virtcore.xml.DomainDef` into the argument
vector of ``qemu-system-*``. Devices, block nodes, network back ends and
objects are given to QEMU as JSON (``-device {...}``), so no value from the
XML is ever parsed as an option. The options that only take QEMU's
``key=value,...`` syntax (``-name``, ``-machine``, ``-cpu``, ``-chardev``,
``-vnc``...) follow three rules for a string from the XML:

* after ``key=`` it is escaped with :func:`qemu_escape` (``,`` -> ``,,``),
  which QEMU's option parser undoes, so it stays one value;
* where QEMU splits or parses the text *before* any escaping applies (the CPU
  model and its features, the machine type, a VNC listen address) it must be
  a name of :func:`qemu_name`'s grammar or an address, else it is refused;
* a closed set of words (watchdog actions, device models) is checked against
  that set.

A domain name, path or model can therefore never inject an option.

Anything the translation does not understand raises
:class:`~virtcore.errors.ConfigUnsupportedError` naming the element: nothing
is silently dropped.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from lxml import etree

from virt_qemu.volumes import ResolvedVolume
from virtcore.errors import ConfigUnsupportedError
from virtcore.xml import (
    Channel,
    CharDevice,
    Console,
    Controller,
    Disk,
    DomainDef,
    GenericDevice,
    Graphics,
    Input,
    Interface,
    MemBalloon,
    MemoryDevice,
    Serial,
    Video,
)
from virtcore.xml._util import parse_memory

__all__ = [
    "LaunchSpec", "build_argv", "qemu_escape", "qemu_name", "disk_alias", "disk_source", "DeviceNames",
    "device_names", "VOLUME_PLACEHOLDER", "channel_socket",
    "QEMU_NS", "qemu_commandline", "hugetlbfs_mounts", "launch_env",
]  # fmt: skip

#: libvirt's QEMU namespace (``<qemu:commandline>`` and friends).
QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"

Element = etree._Element


@attrs.frozen
class LaunchSpec:
    """Where the launched QEMU finds its host-side resources (not part of the definition).

    ``monitor_fds``: file descriptors of listening unix sockets QEMU serves
    QMP on (passed to the child); ``monitor_paths`` is the fallback when no
    fd is given. ``serial_log`` is where a ``pty`` or ``unix`` serial port's
    output is also logged.
    """

    pidfile: str
    monitor_fds: tuple[int, ...] = ()
    monitor_paths: tuple[str, ...] = ()
    accel: str = "tcg"
    daemonize: bool = True
    incoming: str | None = None
    serial_log: str | None = None
    vnc_port: int | None = None
    #: hugetlbfs mounts of the host as ``(page size in KiB, mount point)``, the default
    #: page size first (see :func:`hugetlbfs_mounts`). ``None``: not looked at (checking a
    #: definition, not starting it): hugepage backends get a placeholder path.
    hugetlbfs: tuple[tuple[int, str], ...] | None = None
    #: Directory for file-backed guest RAM (``<memoryBacking><source type='file'/>``).
    memory_dir: str = "/dev/shm"
    #: The CPU models the emulator knows (its probed capabilities). ``None``: not looked at
    #: (checking a definition): any model of :func:`qemu_name`'s grammar passes.
    cpu_models: tuple[str, ...] | None = None
    #: The CPU features it knows (QEMU's spelling, see ``BinaryCaps.cpu_features``). ``None``:
    #: not looked at; any feature of :func:`qemu_name`'s grammar passes.
    cpu_features: tuple[str, ...] | None = None
    #: Where each ``<disk type='volume'>`` is, by target device (see
    #: :func:`virt_qemu.volumes.resolve_volumes`). ``None``: not looked at (checking a
    #: definition): volume disks get a placeholder path.
    volumes: Mapping[str, ResolvedVolume] | None = None
    #: Listening sockets the driver made for ``<channel type='unix'>`` devices without a source
    #: path, by socket path (see :func:`channel_socket`): QEMU serves them by file descriptor,
    #: whatever the length of the path.
    channel_fds: Mapping[str, int] | None = None


def channel_socket(run_dir: str, dev: Channel) -> str:
    """Where a ``<channel type='unix'>`` without a source path gets its socket: ``run_dir``/target name.

    :raises ConfigUnsupportedError: the target has no name, or one that is no plain file name.
    """
    name = dev.target_name or ""
    if not name or name in (".", "..") or "/" in name or "\0" in name or len(name) > 64:
        raise ConfigUnsupportedError(
            "<channel type='unix'> without <source path=...> needs a target name that is a plain "
            f"file name, not {name!r}"
        )
    return os.path.join(run_dir, name)


def qemu_escape(value: str, where: str = "value") -> str:
    """Escape ``value`` for QEMU's ``key=value,...`` option syntax (``,`` -> ``,,``).

    Safe only for a value written after its ``key=``: QEMU splits a key at the
    first ``=`` or ``,`` before unescaping, and some options (``-cpu``) split at
    the first comma whatever follows it. Use :func:`qemu_name` for those.

    :raises ConfigUnsupportedError: the value holds control characters, which
        no QEMU option accepts.
    """
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ConfigUnsupportedError(f"{where} {value!r} contains control characters")
    return value.replace(",", ",,")


#: What QEMU calls its CPU models, CPU features and machine types (``Skylake-Client-v4``,
#: ``sse4.2``, ``pc-i440fx-7.2``): nothing its option parsers could split or take for a key.
_QEMU_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def qemu_name(value: str, where: str) -> str:
    """``value`` when it is a QEMU name (CPU model, CPU feature, machine type), else refused.

    A letter or digit, then letters, digits, ``.``, ``_``, ``+`` and ``-``; never
    ``help`` (QEMU would print a list and exit). These values are written where
    QEMU splits the option before any ``,,`` escaping applies, so escaping is no
    protection: ``-cpu qemu64,,model-id=X`` sets ``model-id``.

    :raises ConfigUnsupportedError: naming ``where`` and the value.
    """
    if not _QEMU_NAME.fullmatch(value) or value == "help":
        raise ConfigUnsupportedError(
            f"{where} {value!r} is not a valid QEMU name "
            "(a letter or digit, then letters, digits, '.', '_', '+' or '-')"
        )
    return value


_HOST_NAME = re.compile(
    r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)


def _listen_address(value: str, where: str) -> str:
    """An IP address or host name (``[::1]`` style for IPv6), else refused naming ``where``."""
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        if _HOST_NAME.fullmatch(value):
            return value
        raise ConfigUnsupportedError(f"{where} {value!r} is not an IP address or host name") from None
    return f"[{addr}]" if addr.version == 6 else str(addr)


def _j(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _find(el: Element | None, path: str) -> Element | None:
    if el is None:
        return None
    found = el.find(path)
    return found


def _local(el: Element) -> str:
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


# Top-level elements with nothing to translate (documentation, libvirt bookkeeping).
# ``<idmap>`` maps container uids/gids: libvirt's QEMU driver gives QEMU nothing for it either.
_IGNORED_TOP = frozenset(
    {"name", "uuid", "title", "description", "metadata", "genid", "resource", "on_lockfailure", "idmap"}
)
_HANDLED_TOP = frozenset(
    {
        "memory", "currentMemory", "maxMemory", "vcpu", "os", "features", "clock", "on_poweroff",
        "on_reboot", "on_crash", "devices", "cpu", "pm", "seclabel", "iothreads", "vcpus",
        "memoryBacking",
    }
)  # fmt: skip
_FEATURES_OK = frozenset({"acpi", "apic", "pae", "hap", "vmport", "pmu", "smm", "ps2"})
#: ``-action watchdog=`` values QEMU has that libvirt's ``<watchdog action>`` also names.
#: libvirt's spellings of CPU features QEMU knows under another name (QEMU takes both).
_FEATURE_ALIASES = {"pclmuldq": "pclmulqdq", "sse3": "pni", "xd": "nx", "i64": "lm", "ffxsr": "fxsr-opt"}
_WATCHDOG_ACTIONS = ("reset", "shutdown", "poweroff", "pause", "none", "inject-nmi")
#: ``<controller type='pci' model='pcie-root-port'><model name>``: the QEMU devices that are one.
_ROOT_PORTS = ("pcie-root-port", "ioh3420")


#: Child elements each device kind may have: what is translated, or has no effect on QEMU
#: (``alias``; ``address`` is checked where it is used). Anything else is refused by name.
_CHILDREN = {
    "disk": {"driver", "source", "target", "readonly", "shareable", "boot", "serial", "alias", "address",
             "backingStore"},
    "interface": {"mac", "source", "model", "target", "link", "boot", "alias", "address", "ip"},
    "serial": {"source", "target", "log", "protocol", "alias", "address"},
    "console": {"source", "target", "log", "protocol", "alias", "address"},
    "channel": {"source", "target", "log", "alias", "address"},
    "graphics": {"listen"},
    "video": {"model", "alias", "address"},
    "input": {"alias", "address"},
    "controller": {"model", "target", "alias", "address"},
    "memballoon": {"stats", "alias", "address"},
    "rng": {"backend", "rate", "alias", "address"},
    "watchdog": {"alias", "address"},
    "panic": {"alias", "address"},
    "audio": set(),
    "memory": {"source", "target", "alias", "address"},
}  # fmt: skip


def _check_children(raw: Element | None, kind: str) -> None:
    if raw is None:
        return
    allowed = _CHILDREN.get(kind, set())
    for c in raw:
        tag = _local(c)
        if tag and tag not in allowed:
            raise ConfigUnsupportedError(f"<{kind}><{tag}> is not supported by the QEMU driver")


def _namespace(el: Element) -> str:
    tag = el.tag
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


def qemu_commandline(d: DomainDef) -> tuple[list[str], dict[str, str]]:
    """The ``<qemu:commandline>`` passthrough of ``d``: extra argv items and environment.

    Each ``<qemu:arg value=...>`` is one argv item, verbatim (never split, never seen by a
    shell); each ``<qemu:env name= value=>`` one variable (``value`` defaults to empty).
    This is the user's explicit intent, appended after everything we generate.

    :raises ConfigUnsupportedError: an ``<arg>`` without ``value``, an ``<env>`` whose
        name is not a valid variable name, or an unknown child element.
    """
    args: list[str] = []
    env: dict[str, str] = {}
    if d.raw is None:
        return args, env
    for cl in d.raw:
        if _namespace(cl) != QEMU_NS or _local(cl) != "commandline":
            continue
        for c in cl:
            tag = _local(c)
            if not tag:
                continue
            if _namespace(c) != QEMU_NS:
                raise ConfigUnsupportedError(f"<qemu:commandline><{tag}> is not in libvirt's QEMU namespace")
            if tag == "arg":
                value = c.get("value")
                if value is None:
                    raise ConfigUnsupportedError("<qemu:commandline><qemu:arg> needs a value")
                args.append(value)
            elif tag == "env":
                name = c.get("name", "")
                if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                    raise ConfigUnsupportedError(
                        f"<qemu:commandline><qemu:env name='{name}'> is not a valid variable name"
                    )
                env[name] = c.get("value", "")
            else:
                raise ConfigUnsupportedError(f"<qemu:commandline><qemu:{tag}> is not supported")
    return args, env


def _timezone(d: DomainDef) -> str | None:
    clock = _find(d.raw, "clock")
    if clock is None or clock.get("offset") != "timezone":
        return None
    tz = clock.get("timezone", "")
    if not re.fullmatch(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*", tz) or len(tz) > 255:
        raise ConfigUnsupportedError(f"<clock offset='timezone' timezone='{tz}'> is not a time zone name")
    return tz


def launch_env(d: DomainDef) -> dict[str, str]:
    """Environment variables QEMU needs for ``d`` on top of the caller's.

    ``TZ`` for ``<clock offset='timezone'>`` (QEMU's RTC then runs on that local time),
    then the ``<qemu:env>`` passthrough, which wins.
    """
    env: dict[str, str] = {}
    tz = _timezone(d)
    if tz is not None:
        env["TZ"] = tz
    env.update(qemu_commandline(d)[1])
    return env


def hugetlbfs_mounts(
    mounts: str = "/proc/mounts", meminfo: str = "/proc/meminfo"
) -> tuple[tuple[int, str], ...]:
    """The host's hugetlbfs mounts as ``(page size KiB, mount point)``, default page size first.

    Reads ``/proc/mounts``; an unreadable file means no mounts.
    """
    try:
        with open(meminfo) as fh:
            m = re.search(r"^Hugepagesize:\s+(\d+) kB", fh.read(), re.M)
        with open(mounts) as fh:
            lines = fh.read().splitlines()
    except OSError:
        return ()
    default = int(m.group(1)) if m else 2048
    found: list[tuple[int, str]] = []
    for line in lines:
        parts = line.split()
        if len(parts) < 4 or parts[2] != "hugetlbfs":
            continue
        size = default
        for opt in parts[3].split(","):
            if opt.startswith("pagesize="):
                v = opt[len("pagesize=") :].upper()
                mult = {"K": 1, "M": 1024, "G": 1024 * 1024}.get(v[-1:], 0)
                if mult and v[:-1].isdigit():
                    size = int(v[:-1]) * mult
        path = parts[1].replace("\\040", " ")
        if all(s != size for s, _ in found):
            found.append((size, path))
    found.sort(key=lambda sp: sp[0] != default)
    return tuple(found)


#: The host's base page size (KiB): a "hugepage" of this size is ordinary memory.
_SYSTEM_PAGE_KIB = 4


#: The largest memory size libvirt accepts (bytes must fit a signed 64-bit integer).
_MAX_KIB = (1 << 63) // 1024 - 1


def _align_mib(kib: int) -> int:
    return (kib + 1023) // 1024 * 1024


def _nodeset(text: str, where: str) -> list[int]:
    """libvirt's node set syntax (``0-3,^2,5``) as a sorted list."""
    yes: set[int] = set()
    no: set[int] = set()
    for part in text.replace(" ", "").split(","):
        neg = part.startswith("^")
        part = part.removeprefix("^")
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise ConfigUnsupportedError(f"{where}: '{text}' is not a node set")
        lo = int(m.group(1))
        hi = int(m.group(2) or lo)
        if hi < lo or hi > 4095:
            raise ConfigUnsupportedError(f"{where}: '{text}' is not a node set")
        (no if neg else yes).update(range(lo, hi + 1))
    return sorted(yes - no)


@attrs.frozen
class _Cell:
    id: int
    cpus: tuple[str, ...]
    memory: int  # KiB
    access: str | None
    discard: bool
    distances: tuple[tuple[int, int], ...]


def _numa_cells(d: DomainDef) -> list[_Cell]:
    numa = _find(_find(d.raw, "cpu"), "numa")
    if numa is None:
        return []
    cells: list[_Cell] = []
    for c in numa:
        tag = _local(c)
        if tag and tag != "cell":
            raise ConfigUnsupportedError(f"<cpu><numa><{tag}> is not supported by the QEMU driver")
    raw_cells = numa.findall("cell")
    for pos, c in enumerate(raw_cells):
        where = f"<cpu><numa><cell id='{c.get('id', pos)}'>"
        cid = int(c.get("id", str(pos))) if (c.get("id", str(pos))).isdigit() else -1
        if cid != pos:
            raise ConfigUnsupportedError(f"{where}: cell ids must be 0, 1, ... in order")
        cpus = (c.get("cpus") or "").replace(" ", "")
        parts = tuple(p for p in cpus.split(",") if p)
        if any(not re.fullmatch(r"\d+(-\d+)?", p) for p in parts):
            raise ConfigUnsupportedError(f"{where}: cpus='{cpus}' is not a CPU list")
        dists: list[tuple[int, int]] = []
        for child in c:
            ctag = _local(child)
            if ctag == "distances":
                for sib in child.findall("sibling"):
                    dst, val = sib.get("id", ""), sib.get("value", "")
                    if not dst.isdigit() or not val.isdigit() or int(dst) >= len(raw_cells):
                        raise ConfigUnsupportedError(f"{where}<distances><sibling>: bad id or value")
                    dists.append((int(dst), int(val)))
            elif ctag:
                raise ConfigUnsupportedError(f"{where}<{ctag}> is not supported by the QEMU driver")
        mem = next((x.memory for x in (d.cpu.numa if d.cpu is not None else ()) if x.id == cid), None)
        if mem is None or mem <= 0:
            raise ConfigUnsupportedError(f"{where} needs a memory size")
        if _align_mib(mem) > _MAX_KIB // 1024:
            raise ConfigUnsupportedError(f"memory size of NUMA node '{cid}' overflowed after alignment")
        cells.append(_Cell(
            id=cid, cpus=parts, memory=mem, access=c.get("memAccess"),
            discard=c.get("discard") == "yes", distances=tuple(dists),
        ))  # fmt: skip
    return cells


@attrs.frozen
class _Backing:
    """``<memoryBacking>``, read once."""

    hugepages: bool = False
    pages: tuple[tuple[int, tuple[int, ...] | None], ...] = ()  # (KiB or 0 = default, nodes)
    source: str = "anonymous"
    access: str | None = None
    discard: bool = False
    prealloc: bool = False
    threads: int | None = None
    locked: bool = False
    nosharepages: bool = False

    @classmethod
    def parse(cls, el: Element | None) -> _Backing:
        if el is None:
            return cls()
        kw: dict[str, Any] = {}
        for c in el:
            tag = _local(c)
            if tag == "hugepages":
                kw["hugepages"] = True
                pages = []
                for p in c:
                    if _local(p) != "page":
                        if _local(p):
                            raise ConfigUnsupportedError(
                                f"<memoryBacking><hugepages><{_local(p)}> is unknown"
                            )
                        continue
                    fake = etree.Element("size")
                    fake.text = p.get("size")
                    if p.get("unit"):
                        fake.set("unit", p.get("unit", "KiB"))
                    size = parse_memory(fake, "<memoryBacking><hugepages><page size>")
                    ns = p.get("nodeset")
                    nodes = tuple(_nodeset(ns, "<hugepages><page nodeset>")) if ns is not None else None
                    pages.append((size, nodes))
                kw["pages"] = tuple(pages)
            elif tag == "nosharepages":
                kw["nosharepages"] = True
            elif tag == "locked":
                kw["locked"] = True
            elif tag == "source":
                st = c.get("type", "anonymous")
                if st not in ("anonymous", "file", "memfd"):
                    raise ConfigUnsupportedError(f"<memoryBacking><source type='{st}'> is not supported")
                kw["source"] = st
            elif tag == "access":
                mode = c.get("mode")
                if mode not in ("shared", "private"):
                    raise ConfigUnsupportedError(f"<memoryBacking><access mode='{mode}'> is not supported")
                kw["access"] = mode
            elif tag == "allocation":
                mode = c.get("mode", "ondemand")
                if mode not in ("immediate", "ondemand"):
                    raise ConfigUnsupportedError(
                        f"<memoryBacking><allocation mode='{mode}'> is not supported"
                    )
                kw["prealloc"] = mode == "immediate"
                threads = c.get("threads")
                if threads is not None:
                    if not threads.isdigit() or int(threads) == 0:
                        raise ConfigUnsupportedError(f"<memoryBacking><allocation threads='{threads}'>")
                    kw["threads"] = int(threads)
            elif tag == "discard":
                kw["discard"] = True
            elif tag:
                raise ConfigUnsupportedError(f"<memoryBacking><{tag}> is not supported by the QEMU driver")
        return cls(**kw)

    @property
    def needs_backend(self) -> bool:
        """Whether guest RAM needs an explicit backend (else QEMU's default anonymous RAM)."""
        return (
            self.hugepages or self.source != "anonymous" or self.access is not None
            or self.discard or self.prealloc
        )  # fmt: skip

    def check_nodes(self, ncells: int) -> None:
        """Refuse page sizes naming guest NUMA nodes that do not exist (as libvirt does)."""
        for _, nodes in self.pages:
            for n in nodes or ():
                if n >= max(ncells, 1):
                    raise ConfigUnsupportedError(f"hugepages: node {n} not found")
        if ncells == 0:
            sizes = {size for size, nodes in self.pages if nodes is None or 0 in nodes}
            if len(sizes) > 1:
                raise ConfigUnsupportedError(
                    "<memoryBacking><hugepages>: two page sizes for the whole guest ("
                    + " and ".join(f"{s} KiB" for s in sorted(sizes))
                    + ")"
                )

    def page_for(self, cell: int, default: int) -> int:
        """Hugepage size (KiB) backing guest node ``cell``; 0 for ordinary pages."""
        if not self.hugepages:
            return 0
        if not self.pages:
            return default
        chosen: int | None = None
        fallback: int | None = None
        for size, nodes in self.pages:
            if nodes is None:
                fallback = size
            elif cell in nodes:
                chosen = size
        pick = chosen if chosen is not None else fallback
        return pick if pick is not None else 0


@attrs.frozen
class DeviceNames:
    """QEMU ids given to one domain's devices (libvirt's alias scheme)."""

    disks: dict[str, str]
    interfaces: dict[str, str]


def disk_alias(disk: Disk, index: int) -> str:
    """The QEMU id of a disk: ``virtio-disk0``, ``ide0-0-1``, ``sata0-0-2``, ``scsi0-0-0-1``."""
    bus = _disk_bus(disk)
    unit = _disk_index(disk.target_dev)
    if bus == "virtio":
        return f"virtio-disk{unit}"
    if bus == "ide":
        return f"ide0-{unit // 2}-{unit % 2}"
    if bus == "sata":
        return f"sata0-0-{unit}"
    if bus == "scsi":
        return f"scsi0-0-0-{unit}"
    if bus == "fdc":
        return f"fdc0-0-{unit}"
    return f"{bus}-disk{index}"


#: The path a volume disk gets while a definition is only checked (its volume is not looked up).
VOLUME_PLACEHOLDER = "/nonexistent/volume"


def disk_source(disk: Disk, volumes: Mapping[str, ResolvedVolume] | None) -> tuple[str | None, str]:
    """The host path (``None``: empty drive) and image format of ``disk``.

    A ``type='volume'`` disk takes them from ``volumes`` (its resolved volume, by
    target device; ``None`` while checking a definition: a placeholder, and the
    format of the XML or raw).

    :raises ConfigUnsupportedError: the format is not raw or qcow2, or a volume
        disk was not resolved.
    """
    where = f"<disk> '{disk.target_dev}'"
    source, fmt = disk.source, disk.driver_type or "raw"
    if disk.type == "volume":
        if volumes is None:
            source = VOLUME_PLACEHOLDER
        else:
            vol = volumes.get(disk.target_dev)
            if vol is None:
                raise ConfigUnsupportedError(
                    f"{where}: volume '{disk.source}' of pool '{disk.source_pool}' was not resolved"
                )
            source, fmt = vol.path, vol.format
    if fmt not in ("raw", "qcow2"):
        raise ConfigUnsupportedError(f"{where}: format '{fmt}' is not supported (raw and qcow2 are)")
    return source, fmt


def _disk_index(dev: str) -> int:
    m = re.fullmatch(r"(?:[hsv]d|xvd|fd)([a-z]+)", dev or "")
    if not m:
        return 0
    n = 0
    for ch in m.group(1):
        n = n * 26 + (ord(ch) - 96)
    return n - 1


def _disk_bus(disk: Disk) -> str:
    if disk.target_bus:
        return disk.target_bus
    dev = disk.target_dev or ""
    if dev.startswith("vd"):
        return "virtio"
    if dev.startswith("hd"):
        return "ide"
    if dev.startswith("sd"):
        return "scsi"
    if dev.startswith("fd"):
        return "fdc"
    return "ide"


def device_names(d: DomainDef) -> DeviceNames:
    """The QEMU ids of the domain's disks (by target) and interfaces (by MAC)."""
    disks = {disk.target_dev: disk_alias(disk, i) for i, disk in enumerate(d.disks)}
    ifaces = {(i.mac or f"#{n}"): f"net{n}" for n, i in enumerate(d.interfaces)}
    return DeviceNames(disks=disks, interfaces=ifaces)


class _Builder:
    def __init__(self, d: DomainDef, spec: LaunchSpec, emulator: str, machine: str) -> None:
        self.d = d
        self.spec = spec
        self.emulator = emulator
        self.machine = machine
        self.q35 = "q35" in machine
        self.args: list[str] = []
        self.node = 0
        self.controllers: dict[str, str] = {}  # kind -> qemu id
        self.pci_buses: dict[int, str] = {0: "pcie.0" if self.q35 else "pci.0"}
        self.usb: str | None = None
        self.serial_index = 0
        self.bootidx: dict[int, int] = {}
        self.console_index = 0
        self.channel_index = 0
        self.fdc_added = False
        self.backing = _Backing()
        self.ps2_off = False
        self.cells: list[_Cell] = []
        self.slots: set[int] = set()
        self.reserved_slots: set[int] = set()

    def add(self, *a: str) -> None:
        self.args.extend(a)

    def device(self, props: dict[str, Any], dev_raw: Element | None = None) -> None:
        self._address(props, dev_raw)
        self.add("-device", _j(props))

    # -- PCI addresses ------------------------------------------------------

    def _address(self, props: dict[str, Any], raw: Element | None) -> None:
        addr = _find(raw, "address")
        if addr is None:
            return
        kind = addr.get("type")
        if kind == "pci":
            bus = int(addr.get("bus", "0"), 0)
            slot = int(addr.get("slot", "0"), 0)
            func = int(addr.get("function", "0"), 0)
            bus_id = self.pci_buses.get(bus)
            if bus_id is None:
                raise ConfigUnsupportedError(
                    f"<address type='pci' bus='{bus:#x}'>: no PCI controller has that index"
                )
            props["bus"] = bus_id
            props["addr"] = f"{slot:#x}" if func == 0 else f"{slot:#x}.{func:#x}"
            if addr.get("multifunction") == "on":
                props["multifunction"] = True
        elif kind in ("drive", None, "virtio-serial", "ccid", "usb", "isa"):
            return  # bus-relative placements are handled by the device's own code
        else:
            raise ConfigUnsupportedError(f"<address type='{kind}'> is not supported")

    # -- the whole thing -------------------------------------------------------

    def build(self) -> list[str]:
        d = self.d
        raw = d.raw
        if raw is not None:
            for c in raw:
                tag = _local(c)
                ns = _namespace(c)
                if ns == QEMU_NS:
                    if tag != "commandline":
                        raise ConfigUnsupportedError(f"<qemu:{tag}> is not supported by the QEMU driver")
                elif ns:
                    raise ConfigUnsupportedError(f"<{tag}> of namespace '{ns}' is not supported")
                elif tag == "cputune" and all(_local(x) == "vcpupin" for x in c if isinstance(x.tag, str)):
                    continue  # vCPU pins: applied to the vCPU threads at start (virt_qemu.affinity)
                elif tag in ("cputune", "numatune"):
                    raise ConfigUnsupportedError(
                        f"<{tag}> is not supported by the QEMU driver beyond <vcpupin>: pinning emulator "
                        "and I/O threads, CFS quotas and binding guest memory to host NUMA nodes are "
                        "done with cgroups and thread affinity, not QEMU options, and the driver does "
                        "not do them"
                    )
                elif tag and tag not in _IGNORED_TOP and tag not in _HANDLED_TOP:
                    raise ConfigUnsupportedError(f"<{tag}> is not supported by the QEMU driver")
        self.backing = _Backing.parse(_find(raw, "memoryBacking"))
        self.cells = _numa_cells(d)
        self.backing.check_nodes(len(self.cells))
        for m in d.devices:
            addr = _find(m.raw, "address") if isinstance(m, MemoryDevice) else None
            if addr is not None and addr.get("type") == "dimm" and addr.get("slot") is not None:
                self.reserved_slots.add(int(addr.get("slot", "0"), 0))
        if d.os.type != "hvm":
            raise ConfigUnsupportedError(
                f"<os><type>{d.os.type}</type>: the QEMU driver runs hvm guests only"
            )
        self.add(self.emulator)
        self.add("-name", f"guest={qemu_escape(d.name, 'domain name')},debug-threads=on")
        self.add("-S", "-no-user-config", "-nodefaults", "-no-shutdown")
        if self.spec.daemonize:
            self.add("-daemonize")
        self.add("-pidfile", self.spec.pidfile)
        for i, fd in enumerate(self.spec.monitor_fds):
            self.add("-chardev", f"socket,id=charmonitor{i},fd={fd},server=on,wait=off")
            self.add("-mon", f"chardev=charmonitor{i},id=monitor{i},mode=control")
        for i, path in enumerate(self.spec.monitor_paths):
            j = i + len(self.spec.monitor_fds)
            self.add(
                "-chardev",
                f"socket,id=charmonitor{j},path={qemu_escape(path, 'monitor path')},server=on,wait=off",
            )
            self.add("-mon", f"chardev=charmonitor{j},id=monitor{j},mode=control")
        self._machine()
        self._cpu()
        self._memory()
        self._smp()
        self._numa()
        self.add("-uuid", d.uuid)
        self._clock()
        self._pm()
        self._os_boot()
        self._controllers()
        self._devices()
        if self.spec.incoming:
            self.add("-incoming", self.spec.incoming)
        self.add("-msg", "timestamp=on")
        self.add(*qemu_commandline(d)[0])
        return self.args

    def _machine(self) -> None:
        d = self.d
        opts = [qemu_name(self.machine, "machine type"), f"accel={self.spec.accel}", "usb=off"]
        feats = set(d.features)
        for f in feats:
            if f not in _FEATURES_OK:
                raise ConfigUnsupportedError(f"<features><{f}/> is not supported by the QEMU driver")
        feat_el = _find(d.raw, "features")
        state: dict[str, str | None] = {}
        if feat_el is not None:
            for fel in feat_el:
                state[_local(fel)] = fel.get("state")
        if "acpi" not in feats:
            opts.append("acpi=off")
        if "vmport" in feats:
            opts.append("vmport=" + ("off" if state.get("vmport") == "off" else "on"))
        if "smm" in feats:
            opts.append("smm=" + ("off" if state.get("smm") == "off" else "on"))
        if "ps2" in feats:
            self.ps2_off = state.get("ps2") == "off"
            opts.append("i8042=" + ("off" if self.ps2_off else "on"))
            if self.ps2_off and "vmport" in feats and state.get("vmport") != "off":
                raise ConfigUnsupportedError("<features><vmport> needs the ps2 feature not to be disabled")
        opts.append("dump-guest-core=off")
        if self.backing.nosharepages:
            opts.append("mem-merge=off")
        if any(m.model == "nvdimm" for m in self.d.devices if isinstance(m, MemoryDevice)):
            opts.append("nvdimm=on")
        if not self.cells and self.backing.needs_backend:
            opts.append("memory-backend=pc.ram")
        for t in d.clock.timers:
            if t.name == "hpet" and t.present is False:
                opts.append("hpet=off")
        self.add("-machine", ",".join(opts))

    def _cpu(self) -> None:
        cpu = _find(self.d.raw, "cpu")
        if cpu is None:
            return
        mode = cpu.get("mode", "custom")
        model_el = cpu.find("model")
        model = (model_el.text or "").strip() if model_el is not None else ""
        for c in cpu:
            tag = _local(c)
            if tag not in ("model", "topology", "feature", "vendor", "numa", "cache", "maxphysaddr", ""):
                raise ConfigUnsupportedError(f"<cpu><{tag}> is not supported by the QEMU driver")
        if mode == "host-passthrough":
            name = "host" if self.spec.accel == "kvm" else "max"
        elif mode in ("host-model", "maximum"):
            name = "host" if self.spec.accel == "kvm" and mode == "host-model" else "max"
        elif mode == "custom":
            if not model:
                if cpu.find("feature") is None and not self._cpu_extras(cpu):
                    return  # topology only
                name = "qemu64"
            else:
                name = qemu_name(model, "<cpu><model>")
                known = self.spec.cpu_models
                if known is not None and name not in known:
                    raise ConfigUnsupportedError(
                        f"<cpu><model> {name!r} is not a CPU model of {self.emulator}"
                    )
        else:
            raise ConfigUnsupportedError(f"<cpu mode='{mode}'> is not supported")
        opts = [name]
        for f in cpu.findall("feature"):
            policy = f.get("policy", "require")
            fname = qemu_name(f.get("name", ""), "<cpu><feature name=...>")
            self._check_feature(fname)
            if policy in ("require", "force"):
                opts.append(f"{fname}=on")
            elif policy in ("disable", "forbid"):
                opts.append(f"{fname}=off")
            elif policy != "optional":
                raise ConfigUnsupportedError(f"<cpu><feature policy='{policy}'> is not supported")
        opts += self._cpu_extras(cpu)
        self.add("-cpu", ",".join(opts))

    def _check_feature(self, name: str) -> None:
        """Refuse a feature the emulator does not have as a CPUID feature (when it is known).

        QEMU takes ``lahf_lm`` for ``lahf-lm`` and ``sse4.2``, ``sse4-2``, ``sse4_2`` alike,
        so names are compared with ``_`` and ``.`` read as ``-`` (and libvirt's few other
        spellings mapped); ``-cpu`` gets the name as written.
        """
        known = self.spec.cpu_features
        if known is None:
            return

        def canon(n: str) -> str:
            return n.replace("_", "-").replace(".", "-")

        if canon(_FEATURE_ALIASES.get(name, name)) not in {canon(k) for k in known}:
            raise ConfigUnsupportedError(
                f"<cpu><feature name=...> {name!r} is not a CPU feature of {self.emulator}"
            )

    def _cpu_extras(self, cpu: Element) -> list[str]:
        """``-cpu`` properties of ``<cpu><maxphysaddr>`` and ``<cpu><cache>``."""
        out: list[str] = []
        mpa = cpu.find("maxphysaddr")
        if mpa is not None:
            mode, bits, limit = mpa.get("mode"), mpa.get("bits"), mpa.get("limit")
            if mode == "emulate" and bits is not None and bits.isdigit() and 32 <= int(bits) <= 52:
                out.append(f"phys-bits={bits}")
            elif mode == "passthrough" and bits is None:
                if self.spec.accel != "kvm":
                    raise ConfigUnsupportedError("<cpu><maxphysaddr mode='passthrough'> needs KVM")
                out.append("host-phys-bits=on")
                if limit is not None:
                    if not limit.isdigit():
                        raise ConfigUnsupportedError(f"<cpu><maxphysaddr limit='{limit}'> is not a number")
                    out.append(f"host-phys-bits-limit={limit}")
            else:
                raise ConfigUnsupportedError(
                    f"<cpu><maxphysaddr mode='{mode}' bits='{bits}'>: "
                    "use emulate with 32..52 bits, or passthrough"
                )
        cache = cpu.find("cache")
        if cache is not None:
            mode, level = cache.get("mode"), cache.get("level")
            if mode == "passthrough" and level is None:
                out.append("host-cache-info=on")
            elif mode == "emulate" and level == "3":
                out.append("l3-cache=on")
            elif mode == "disable" and level is None:
                out.append("l3-cache=off")
            else:
                raise ConfigUnsupportedError(f"<cpu><cache mode='{mode}' level='{level}'> is not supported")
        return out

    def _phys_bits(self) -> int:
        mpa = _find(_find(self.d.raw, "cpu"), "maxphysaddr")
        bits = mpa.get("bits", "") if mpa is not None and mpa.get("mode") == "emulate" else ""
        return int(bits) if bits.isdigit() else 40

    def _memory(self) -> None:
        d = self.d
        if d.memory <= 0:
            raise ConfigUnsupportedError("<memory> must be positive")
        if self.cells:
            mem = sum(_align_mib(c.memory) for c in self.cells)
        else:
            mem = _align_mib(d.memory)  # libvirt aligns guest RAM to 1 MiB on x86
            if any(isinstance(m, MemoryDevice) for m in d.devices):
                raise ConfigUnsupportedError(
                    "<memory model=...> devices need a guest NUMA topology (<cpu><numa>)"
                )
        if mem > _MAX_KIB:
            raise ConfigUnsupportedError(f"memory size of {mem} KiB overflowed after alignment")
        opts = [f"size={mem}k"]
        maxmem = _find(d.raw, "maxMemory")
        if maxmem is not None:
            if not self.cells:
                raise ConfigUnsupportedError(
                    "<maxMemory> (memory hotplug) needs a guest NUMA topology (<cpu><numa>)"
                )
            slots = maxmem.get("slots")
            nslots = int(slots) if slots else 16
            maxkib = parse_memory(maxmem, "<maxMemory>")
            if self.spec.accel == "tcg":
                # QEMU places hotplug memory after RAM above 4 GiB, 1 GiB per slot for alignment,
                # and TCG's x86 CPUs have 40 physical address bits unless <maxphysaddr> says more.
                bits = self._phys_bits()
                above_4g = max(0, mem * 1024 - 0xE0000000)
                top = -(-(4 << 30) - above_4g) // (1 << 30) * (1 << 30)
                top += (maxkib - mem) * 1024 + nslots * (1 << 30)
                if top > 1 << bits:
                    raise ConfigUnsupportedError(
                        f"<maxMemory> {maxkib} KiB does not fit the {bits}-bit guest physical address "
                        "space of TCG (raise it with <cpu><maxphysaddr mode='emulate' bits='N'/>)"
                    )
            opts.append(f"slots={nslots}")
            opts.append(f"maxmem={maxkib}k")
        self.add("-m", ",".join(opts))
        if not self.cells and self.backing.needs_backend:
            self.add("-object", _j(self._backend("pc.ram", mem, 0, pc_ram=True)))
        self.add("-overcommit", "mem-lock=" + ("on" if self.backing.locked else "off"))

    # -- memory backends, guest NUMA, memory devices ----------------------------------

    def _hugepath(self, page: int, where: str) -> str:
        mounts = self.spec.hugetlbfs
        if mounts is None:
            return f"/dev/hugepages{page}k"  # checking a definition: any path will do
        for size, path in mounts:
            if size == page:
                return path
        if not mounts:
            raise ConfigUnsupportedError(f"{where}: hugetlbfs is not mounted on this host")
        have = ", ".join(f"{size} KiB" for size, _ in mounts)
        raise ConfigUnsupportedError(
            f"{where}: no hugetlbfs mount with {page} KiB pages on this host (mounted: {have})"
        )

    def _default_page(self) -> int:
        mounts = self.spec.hugetlbfs
        return mounts[0][0] if mounts else 2048

    def _backend(
        self,
        oid: str,
        size_kib: int,
        cell: int,
        *,
        access: str | None = None,
        discard: bool = False,
        page: int | None = None,
        nodemask: list[int] | None = None,
        path: str | None = None,
        pc_ram: bool = False,
    ) -> dict[str, Any]:
        """The ``-object memory-backend-*`` of one guest memory region, as libvirt builds it."""
        b = self.backing
        where = "<memoryBacking><hugepages>"
        if page is None:
            page = b.page_for(cell, self._default_page())
        if page == _SYSTEM_PAGE_KIB:
            page = 0
        props: dict[str, Any] = {"qom-type": "memory-backend-ram", "id": oid}
        prealloc = b.prealloc
        if path is not None:
            props["qom-type"] = "memory-backend-file"
            props["mem-path"] = path
        elif page:
            prealloc = True
            if b.source == "memfd":
                props["qom-type"] = "memory-backend-memfd"
                props["hugetlb"] = True
                props["hugetlbsize"] = page * 1024
            else:
                props["qom-type"] = "memory-backend-file"
                props["mem-path"] = self._hugepath(page, where)
        elif b.source == "memfd":
            props["qom-type"] = "memory-backend-memfd"
        elif b.source == "file":
            props["qom-type"] = "memory-backend-file"
            props["mem-path"] = self.spec.memory_dir
        if pc_ram:
            props["x-use-canonical-path-for-ramblock-id"] = False
        share = access or b.access
        if share is not None:
            props["share"] = share == "shared"
        if (discard or b.discard) and props["qom-type"] == "memory-backend-file":
            props["discard-data"] = True
        if prealloc:
            props["prealloc"] = True
            if b.threads:
                props["prealloc-threads"] = b.threads
        props["size"] = size_kib * 1024
        if nodemask:
            props["host-nodes"] = nodemask
            props["policy"] = "bind"
        return props

    def _numa(self) -> None:
        for c in self.cells:
            oid = f"ram-node{c.id}"
            self.add("-object", _j(self._backend(
                oid, _align_mib(c.memory), c.id, access=c.access, discard=c.discard,
            )))  # fmt: skip
            opts = ["node", f"nodeid={c.id}"]
            opts += [f"cpus={part}" for part in c.cpus]
            opts.append(f"memdev={oid}")
            self.add("-numa", ",".join(opts))
        for c in self.cells:
            for dst, val in c.distances:
                self.add("-numa", f"dist,src={c.id},dst={dst},val={val}")

    def _memory_device(self, m: MemoryDevice, n: int) -> None:
        where = f"<memory model='{m.model}'>"
        raw = m.raw
        src = _find(raw, "source")
        tgt = _find(raw, "target")
        size_el = _find(tgt, "size") if tgt is not None else None
        if tgt is None or size_el is None:
            raise ConfigUnsupportedError(f"{where} needs <target><size>")
        for c in src if src is not None else ():
            if _local(c) not in ("pagesize", "nodemask", "path", "alignsize", "pmem"):
                raise ConfigUnsupportedError(f"{where}<source><{_local(c)}> is not supported")
        for c in tgt:
            if _local(c) not in ("size", "node", "label", "readonly", "block", "requested", "address"):
                raise ConfigUnsupportedError(f"{where}<target><{_local(c)}> is not supported")
        size = parse_memory(size_el, f"{where}<target><size>")
        node_el = _find(tgt, "node")
        node = int((node_el.text or "0").strip()) if node_el is not None else 0
        if node not in {c.id for c in self.cells}:
            raise ConfigUnsupportedError(
                f"{where}: guest NUMA node {node} does not exist ({len(self.cells)} configured)"
            )
        page_el = _find(src, "pagesize")
        page = parse_memory(page_el, f"{where}<source><pagesize>") if page_el is not None else None
        mask_el = _find(src, "nodemask")
        mask = (
            _nodeset((mask_el.text or "").strip(), f"{where}<source><nodemask>")
            if mask_el is not None
            else None
        )
        path_el = _find(src, "path")
        path = (path_el.text or "").strip() if path_el is not None else None
        discard = m.discard == "yes"
        addr = _find(raw, "address")
        dev: dict[str, Any]
        if m.model in ("dimm", "nvdimm"):
            oid = f"{m.model}{n}"
            if m.model == "nvdimm":
                if not path:
                    raise ConfigUnsupportedError(f"{where} needs <source><path>")
                be = self._backend(f"mem{oid}", size, node, access=m.access, discard=discard, path=path,
                                   nodemask=mask)  # fmt: skip
                if _find(src, "pmem") is not None:
                    be["pmem"] = True
                else:
                    be["prealloc"] = True
                align = _find(src, "alignsize")
                if align is not None:
                    be["align"] = parse_memory(align, f"{where}<source><alignsize>") * 1024
            else:
                be = self._backend(f"mem{oid}", size, node, access=m.access, discard=discard, page=page,
                                   nodemask=mask)  # fmt: skip
            self.add("-object", _j(be))
            dev = {"driver": "pc-dimm" if m.model == "dimm" else "nvdimm", "node": node,
                   "memdev": f"mem{oid}", "id": oid}  # fmt: skip
            if m.model == "nvdimm":
                label = _find(_find(tgt, "label"), "size")
                if label is not None:
                    dev["label-size"] = parse_memory(label, f"{where}<target><label><size>") * 1024
                if _find(tgt, "readonly") is not None:
                    dev["unarmed"] = True
            if addr is not None and addr.get("type") == "dimm":
                if addr.get("slot") is not None:
                    dev["slot"] = int(addr.get("slot", "0"), 0)
                if addr.get("base") is not None:
                    dev["addr"] = int(addr.get("base", "0"), 0)
                addr = None
            if "slot" not in dev:
                dev["slot"] = self._free_slot()
            self.slots.add(dev["slot"])
            self.add("-device", _j(dev))
            return
        if m.model == "virtio-mem":
            oid = f"virtiomem{n}"
            be = self._backend(f"mem{oid}", size, node, access=m.access, discard=discard, page=page,
                               nodemask=mask)  # fmt: skip
            be.pop("prealloc", None)
            be = {"reserve": False, **be}
            self.add("-object", _j(be))
            block = _find(tgt, "block")
            req = _find(tgt, "requested")
            dev = {
                "driver": "virtio-mem-pci", "node": node,
                "block-size": (parse_memory(block, f"{where}<target><block>") if block is not None
                               else self._default_page()) * 1024,
                "requested-size": (parse_memory(req, f"{where}<target><requested>") if req is not None
                                   else 0) * 1024,
                "memdev": f"mem{oid}", "id": oid,
            }  # fmt: skip
            self.device(dev, raw)
            return
        if m.model == "virtio-pmem":
            if not path:
                raise ConfigUnsupportedError(f"{where} needs <source><path>")
            oid = f"virtiopmem{n}"
            be = self._backend(f"mem{oid}", size, node, access=m.access, discard=discard, path=path)
            self.add("-object", _j(be))
            self.device({"driver": "virtio-pmem-pci", "memdev": f"mem{oid}", "id": oid}, raw)
            return
        raise ConfigUnsupportedError(f"{where} is not supported")

    def _free_slot(self) -> int:
        n = 0
        while n in self.slots or n in self.reserved_slots:
            n += 1
        return n

    def _smp(self) -> None:
        d = self.d
        cur = d.current_vcpus or d.vcpu
        sockets, dies, cores, threads = d.vcpu, 1, 1, 1
        topo = _find(_find(d.raw, "cpu"), "topology")
        if topo is not None:
            sockets = int(topo.get("sockets", "1"))
            dies = int(topo.get("dies", "1"))
            cores = int(topo.get("cores", "1"))
            threads = int(topo.get("threads", "1"))
            if sockets * dies * cores * threads != d.vcpu:
                raise ConfigUnsupportedError(
                    f"<cpu><topology>: {sockets}*{dies}*{cores}*{threads} CPUs do not match <vcpu>{d.vcpu}"
                )
        opts = [str(cur)]
        if cur != d.vcpu:
            opts.append(f"maxcpus={d.vcpu}")
        opts += [f"sockets={sockets}", f"dies={dies}", f"cores={cores}", f"threads={threads}"]
        self.add("-smp", ",".join(opts))

    def _clock(self) -> None:
        c = self.d.clock
        if c.offset == "variable":
            raw = c.raw if c.raw is not None else _find(self.d.raw, "clock")
            try:
                adjust = int(raw.get("adjustment", "0")) if raw is not None else 0
            except ValueError:
                raise ConfigUnsupportedError("<clock adjustment=...> is not a number of seconds") from None
            basis = raw.get("basis", "utc") if raw is not None else "utc"
            now = time.time() + adjust
            stamp = time.gmtime(now) if basis == "utc" else time.localtime(now)
            rtc = ["base=" + time.strftime("%Y-%m-%dT%H:%M:%S", stamp)]
        elif c.offset == "absolute":
            raw = c.raw if c.raw is not None else _find(self.d.raw, "clock")
            start = raw.get("start", "") if raw is not None else ""
            if not start.isdigit() or int(start) > 253402300799:
                raise ConfigUnsupportedError(
                    f"<clock offset='absolute' start='{start}'>: not a time in 0..9999 AD"
                )
            rtc = ["base=" + time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(start)))]
        elif c.offset == "timezone":
            _timezone(self.d)  # validated; QEMU gets it as TZ in its environment (launch_env)
            rtc = ["base=localtime"]
        elif c.offset not in ("utc", "localtime"):
            raise ConfigUnsupportedError(f"<clock offset='{c.offset}'> is not supported")
        else:
            rtc = [f"base={c.offset}"]
        for t in c.timers:
            if t.name == "rtc":
                if t.tickpolicy == "catchup":
                    rtc.append("driftfix=slew")
                elif t.tickpolicy not in (None, "delay"):
                    raise ConfigUnsupportedError(f"<timer name='rtc' tickpolicy='{t.tickpolicy}'>")
            elif t.name == "pit":
                # as libvirt: kvm-pit's policy (catchup is its default; TCG's PIT has none)
                if t.tickpolicy == "delay" and self.spec.accel == "kvm":
                    self.add("-global", "kvm-pit.lost_tick_policy=delay")
                elif t.tickpolicy == "discard":
                    self.add("-global", "kvm-pit.lost_tick_policy=discard")
                elif t.tickpolicy not in (None, "delay", "catchup"):
                    raise ConfigUnsupportedError(f"<timer name='pit' tickpolicy='{t.tickpolicy}'>")
            elif t.name == "hpet":
                continue  # handled in -machine
            elif t.name in ("kvmclock", "tsc", "hypervclock", "platform", "armvtimer"):
                raise ConfigUnsupportedError(f"<timer name='{t.name}'> is not supported by the QEMU driver")
            else:
                raise ConfigUnsupportedError(f"<timer name='{t.name}'> is unknown")
        self.add("-rtc", ",".join(rtc))

    def _pm(self) -> None:
        pm = _find(self.d.raw, "pm")
        if pm is None:
            return
        glob = "ICH9-LPC" if self.q35 else "PIIX4_PM"
        for c in pm:
            tag = _local(c)
            on = c.get("enabled") == "yes"
            if tag == "suspend-to-mem":
                self.add("-global", f"{glob}.disable_s3={0 if on else 1}")
            elif tag == "suspend-to-disk":
                self.add("-global", f"{glob}.disable_s4={0 if on else 1}")
            elif tag:
                raise ConfigUnsupportedError(f"<pm><{tag}> is not supported")

    def _os_boot(self) -> None:
        os_ = self.d.os
        if os_.loader or os_.firmware:
            if os_.firmware and os_.firmware != "bios":
                raise ConfigUnsupportedError(
                    f"<os firmware='{os_.firmware}'> is not supported by the QEMU driver"
                )
            if os_.loader:
                self.add("-bios", os_.loader)
        if os_.kernel:
            self.add("-kernel", os_.kernel)
        if os_.initrd:
            self.add("-initrd", os_.initrd)
        if os_.cmdline:
            self.add("-append", os_.cmdline)
        if os_.dtb:
            self.add("-dtb", os_.dtb)
        if os_.init:
            raise ConfigUnsupportedError("<os><init> is for containers, not QEMU guests")
        smbios = _find(os_.raw, "smbios")
        if smbios is not None and smbios.get("mode", "emulate") != "emulate":
            # QEMU's own SMBIOS tables are 'emulate'; host or <sysinfo> tables would need -smbios
            raise ConfigUnsupportedError(
                f"<os><smbios mode={smbios.get('mode')!r}> is not supported by the QEMU driver (emulate is)"
            )
        per_device = any(disk.boot_order for disk in self.d.disks) or any(
            i.boot_order for i in self.d.interfaces
        )
        if os_.boot and per_device:
            raise ConfigUnsupportedError("<os><boot> cannot be combined with per-device <boot order>")
        opts = []
        # libvirt's way: <boot dev=...> become bootindex on the first device of each kind.
        index = 1
        for kind in os_.boot:
            if kind not in ("hd", "cdrom", "fd", "network"):
                raise ConfigUnsupportedError(f"<os><boot dev='{kind}'> is unknown")
            cands: list[Disk | Interface]
            if kind == "network":
                cands = list(self.d.interfaces)
            else:
                want = {"hd": "disk", "cdrom": "cdrom", "fd": "floppy"}[kind]
                cands = [x for x in self.d.disks if x.device == want]
            if cands:
                self.bootidx[id(cands[0])] = index
                index += 1
        bootmenu = _find(os_.raw, "bootmenu")
        if bootmenu is not None and bootmenu.get("enable") == "yes":
            opts.append("menu=on")
        opts.append("strict=on")
        self.add("-boot", ",".join(opts))

    # -- controllers ---------------------------------------------------------------

    def _controllers(self) -> None:
        for c in self.d.controllers:
            self._controller(c)

    def _controller(self, c: Controller) -> None:
        idx = c.index or 0
        if c.type == "pci":
            if c.model in ("pci-root", "pcie-root"):
                return
            cid = f"pci.{idx}"
            self.pci_buses[idx] = cid
            props: dict[str, Any] = {"id": cid}
            target = _find(c.raw, "target")
            model_el = _find(c.raw, "model")
            if c.model == "pcie-root-port":
                port = model_el.get("name", "pcie-root-port") if model_el is not None else "pcie-root-port"
                if port not in _ROOT_PORTS:
                    raise ConfigUnsupportedError(
                        f"<controller type='pci' model='pcie-root-port'><model name={port!r}> is not "
                        f"supported ({' and '.join(_ROOT_PORTS)} are)"
                    )
                props["driver"] = port
                props["port"] = int(target.get("port", str(idx)), 0) if target is not None else idx
                props["chassis"] = int(target.get("chassis", str(idx)), 0) if target is not None else idx
            elif c.model == "pci-bridge":
                props["driver"] = "pci-bridge"
                props["chassis_nr"] = int(target.get("chassisNr", str(idx)), 0) if target is not None else idx
            elif c.model == "dmi-to-pci-bridge":
                props["driver"] = "i82801b11-bridge"
            elif c.model == "pcie-to-pci-bridge":
                props["driver"] = "pcie-pci-bridge"
            else:
                raise ConfigUnsupportedError(f"<controller type='pci' model='{c.model}'> is not supported")
            self.device(props, c.raw)
        elif c.type == "usb":
            model = c.model or ("qemu-xhci" if self.q35 else "piix3-uhci")
            if model == "none":
                self.usb = None
                self.controllers["usb"] = "none"
                return
            drivers = {
                "piix3-uhci": "piix3-usb-uhci", "piix4-uhci": "piix4-usb-uhci", "qemu-xhci": "qemu-xhci",
                "nec-xhci": "nec-usb-xhci", "ich9-ehci1": "ich9-usb-ehci1", "ehci": "usb-ehci",
            }  # fmt: skip
            drv = drivers.get(model)
            if drv is None:
                raise ConfigUnsupportedError(f"<controller type='usb' model='{model}'> is not supported")
            uid = "usb" if idx == 0 else f"usb{idx}"
            self.device({"driver": drv, "id": uid}, c.raw)
            if idx == 0:
                self.usb = uid
            self.controllers["usb"] = uid
        elif c.type == "ide":
            if self.q35 or idx > 0:
                raise ConfigUnsupportedError(
                    "<controller type='ide'>: only the built-in IDE of 'pc' machines"
                )
        elif c.type == "sata":
            if self.q35 and idx == 0:
                self.controllers["sata"] = "ide"
                return
            self.device({"driver": "ich9-ahci", "id": f"sata{idx}"}, c.raw)
            self.controllers["sata"] = f"sata{idx}"
        elif c.type == "scsi":
            model = c.model or "virtio-scsi"
            drivers = {"virtio-scsi": "virtio-scsi-pci", "lsilogic": "lsi", "lsisas1068": "mptsas1068"}
            drv = drivers.get(model)
            if drv is None:
                raise ConfigUnsupportedError(f"<controller type='scsi' model='{model}'> is not supported")
            self.device({"driver": drv, "id": f"scsi{idx}"}, c.raw)
            self.controllers[f"scsi{idx}"] = f"scsi{idx}"
        elif c.type == "virtio-serial":
            self.device({"driver": "virtio-serial-pci", "id": f"virtio-serial{idx}"}, c.raw)
            self.controllers["virtio-serial"] = f"virtio-serial{idx}"
        elif c.type == "fdc":
            return
        else:
            raise ConfigUnsupportedError(f"<controller type='{c.type}'> is not supported")

    def _need_usb(self, what: str) -> str:
        if self.controllers.get("usb") == "none":
            raise ConfigUnsupportedError(
                f"{what} needs a USB controller but <controller type='usb' model='none'>"
            )
        if self.usb is None:
            self._controller(Controller(type="usb", index=0, model=None, raw=None))
        assert self.usb is not None
        return self.usb

    # -- devices ---------------------------------------------------------------------

    def _devices(self) -> None:
        d = self.d
        serial_seen = False
        balloon = False
        n_mem = 0
        for n_disk, disk in enumerate(d.disks):
            self._disk(disk, n_disk)
        for n, iface in enumerate(d.interfaces):
            self._interface(iface, n)
        for dev in d.devices:
            _check_children(dev.raw, dev.kind if isinstance(dev, GenericDevice) else dev.tag)
            if isinstance(dev, (Disk, Interface, Controller)):
                continue
            if isinstance(dev, Serial):
                self._serial(dev)
                serial_seen = True
            elif isinstance(dev, Console):
                self._console(dev, serial_seen)
            elif isinstance(dev, Graphics):
                self._graphics(dev)
            elif isinstance(dev, Video):
                self._video(dev)
            elif isinstance(dev, Input):
                self._input(dev)
            elif isinstance(dev, MemBalloon):
                balloon = True
                if dev.model == "virtio":
                    props: dict[str, Any] = {"driver": "virtio-balloon-pci", "id": "balloon0"}
                    stats = _find(dev.raw, "stats")
                    if stats is not None and stats.get("period", "0").isdigit():
                        props["guest-stats-polling-interval"] = int(stats.get("period", "0"))
                    self.device(props, dev.raw)
                elif dev.model != "none":
                    raise ConfigUnsupportedError(f"<memballoon model='{dev.model}'> is not supported")
            elif isinstance(dev, MemoryDevice):
                self._memory_device(dev, n_mem)
                n_mem += 1
            elif isinstance(dev, Channel):
                self._channel(dev)
            elif isinstance(dev, CharDevice):
                raise ConfigUnsupportedError(f"<{dev.tag}> devices are not supported by the QEMU driver")
            else:
                kind = dev.kind if isinstance(dev, GenericDevice) else dev.tag
                self._generic(kind or "?", dev.raw)
        if not balloon:
            # libvirt gives every QEMU guest a virtio balloon unless told otherwise.
            self.device({"driver": "virtio-balloon-pci", "id": "balloon0"})
        if not d.graphics:
            self.add("-display", "none")

    def _disk(self, disk: Disk, n: int) -> None:
        where = f"<disk> '{disk.target_dev}'"
        if disk.type not in ("file", "block", "volume"):
            raise ConfigUnsupportedError(f"{where}: disk type '{disk.type}' is not supported")
        if disk.device not in ("disk", "cdrom", "floppy"):
            raise ConfigUnsupportedError(f"{where}: device '{disk.device}' is not supported")
        if disk.driver_name not in (None, "qemu"):
            raise ConfigUnsupportedError(f"{where}: driver '{disk.driver_name}' is not supported")
        source, fmt = disk_source(disk, self.spec.volumes)
        alias = disk_alias(disk, n)
        ro = disk.readonly or disk.device == "cdrom"
        node = None
        if source:
            self.node += 1
            storage = f"libvirt-{self.node}-storage"
            node = f"libvirt-{self.node}-format"
            driver = "host_device" if disk.type == "block" else "file"
            if disk.type == "block" and disk.device == "cdrom":
                driver = "host_cdrom"
            self.add("-blockdev", _j({
                "driver": driver, "filename": source, "node-name": storage,
                "auto-read-only": True, "discard": "unmap",
            }))  # fmt: skip
            cache = disk.driver_cache
            fmt_node: dict[str, Any] = {"node-name": node, "read-only": ro, "driver": fmt, "file": storage}
            if cache in ("none", "directsync"):
                fmt_node["cache"] = {"direct": True, "no-flush": False}
            elif cache == "unsafe":
                fmt_node["cache"] = {"direct": False, "no-flush": True}
            elif cache not in (None, "default", "writeback", "writethrough"):
                raise ConfigUnsupportedError(f"{where}: cache mode '{cache}' is not supported")
            self.add("-blockdev", _j(fmt_node))
        elif disk.device not in ("cdrom", "floppy"):
            raise ConfigUnsupportedError(f"{where}: a disk needs a <source>")
        bus = _disk_bus(disk)
        unit = _disk_index(disk.target_dev)
        props: dict[str, Any] = {"id": alias}
        if bus == "virtio":
            if disk.device == "cdrom":
                raise ConfigUnsupportedError(f"{where}: a CD-ROM cannot be on the virtio bus")
            props["driver"] = "virtio-blk-pci"
        elif bus == "ide":
            if self.q35:
                raise ConfigUnsupportedError(f"{where}: the q35 machine has no IDE bus (use sata)")
            props["driver"] = "ide-cd" if disk.device == "cdrom" else "ide-hd"
            props["bus"] = f"ide.{unit // 2}"
            props["unit"] = unit % 2
        elif bus == "sata":
            ctl = self.controllers.get("sata")
            if ctl is None:
                if self.q35:
                    ctl = "ide"
                else:
                    self.device({"driver": "ich9-ahci", "id": "sata0"})
                    ctl = self.controllers["sata"] = "sata0"
            props["driver"] = "ide-cd" if disk.device == "cdrom" else "ide-hd"
            props["bus"] = f"{ctl}.{unit}"
        elif bus == "scsi":
            addr = _find(disk.raw, "address")
            ctl_idx = int(addr.get("controller", "0")) if addr is not None else 0
            if f"scsi{ctl_idx}" not in self.controllers:
                self.device({"driver": "virtio-scsi-pci", "id": f"scsi{ctl_idx}"})
                self.controllers[f"scsi{ctl_idx}"] = f"scsi{ctl_idx}"
            props["driver"] = "scsi-cd" if disk.device == "cdrom" else "scsi-hd"
            props["bus"] = f"scsi{ctl_idx}.0"
            props["channel"] = 0
            props["scsi-id"] = int(addr.get("target", "0")) if addr is not None else 0
            props["lun"] = int(addr.get("unit", str(unit))) if addr is not None else unit
        elif bus == "usb":
            props["driver"] = "usb-storage"
            props["bus"] = f"{self._need_usb(where)}.0"
        elif bus == "fdc":
            if disk.device != "floppy":
                raise ConfigUnsupportedError(f"{where}: only floppies go on the fdc bus")
            boot = disk.boot_order or self.bootidx.get(id(disk))
            letter = "AB"[unit] if unit < 2 else None
            if letter is None:
                raise ConfigUnsupportedError(f"{where}: a floppy controller has drives fda and fdb only")
            if self.q35:
                if not self.fdc_added:
                    fdc: dict[str, Any] = {"driver": "isa-fdc"}
                    if boot:
                        fdc[f"bootindex{letter}"] = boot
                    self.add("-device", _j(fdc))
                    self.fdc_added = True
            elif boot:
                self.add("-global", f"isa-fdc.bootindex{letter}={boot}")
            props["driver"] = "floppy"
            props["unit"] = unit
            if node is not None:
                props["drive"] = node
            self.add("-device", _j(props))
            return
        else:
            raise ConfigUnsupportedError(f"{where}: bus '{bus}' is not supported")
        if node is not None:
            props["drive"] = node
        boot = disk.boot_order or self.bootidx.get(id(disk))
        if boot:
            props["bootindex"] = boot
        if disk.serial:
            props["serial"] = disk.serial
        if disk.shareable:
            props["share-rw"] = True
        self.device(props, disk.raw)

    def _interface(self, iface: Interface, n: int) -> None:
        where = f"<interface type='{iface.type}'>"
        netdev: dict[str, Any] = {"id": f"hostnet{n}"}
        ips = iface.raw.findall("ip") if iface.raw is not None else []
        if ips and iface.type != "user":
            raise ConfigUnsupportedError(f"{where}<ip>: guest addresses are set for type='user' only")
        if iface.type == "user":
            netdev["type"] = "user"
            for ip in ips:
                addr, prefix = ip.get("address", ""), ip.get("prefix", "")
                if not addr or not prefix.isdigit():
                    raise ConfigUnsupportedError(f"{where}<ip> needs address and prefix")
                if ip.get("family", "ipv4") == "ipv6" or ":" in addr:
                    netdev["ipv6-prefix"] = addr
                    netdev["ipv6-prefixlen"] = int(prefix)
                else:
                    netdev["net"] = f"{addr}/{prefix}"
        elif iface.type in ("ethernet", "network"):
            # network: the launcher names the TAP (virt_qemu.netifaces) and puts it on the bridge
            netdev["type"] = "tap"
            if iface.target_dev:
                netdev["ifname"] = iface.target_dev
            netdev["script"] = "no"
            netdev["downscript"] = "no"
        elif iface.type == "bridge":
            if not iface.source:
                raise ConfigUnsupportedError(f"{where}: a bridge interface needs <source bridge=...>")
            netdev["type"] = "bridge"
            netdev["br"] = iface.source
        else:
            raise ConfigUnsupportedError(
                f"{where}: interface type '{iface.type}' is not supported"
                " (user, ethernet, network and bridge are)"
            )
        self.add("-netdev", _j(netdev))
        models = {
            "virtio": "virtio-net-pci", "e1000": "e1000", "e1000e": "e1000e", "rtl8139": "rtl8139",
            "ne2k_pci": "ne2k_pci", "pcnet": "pcnet", "vmxnet3": "vmxnet3",
        }  # fmt: skip
        model = iface.model or "rtl8139"
        drv = models.get(model)
        if drv is None:
            raise ConfigUnsupportedError(f"{where}: NIC model '{model}' is not supported")
        props: dict[str, Any] = {"driver": drv, "netdev": f"hostnet{n}", "id": f"net{n}"}
        if iface.mac:
            props["mac"] = iface.mac
        boot = iface.boot_order or self.bootidx.get(id(iface))
        if boot:
            props["bootindex"] = boot
        if iface.link_state == "down":
            props["link_down"] = True
        self.device(props, iface.raw)

    def _chardev(self, dev: CharDevice, cid: str, log: str | None) -> None:
        where = f"<{dev.tag} type='{dev.type}'>"
        opts: list[str]
        if dev.type == "file":
            if not dev.source_path:
                raise ConfigUnsupportedError(f"{where} needs <source path=...>")
            opts = ["file", f"id={cid}", f"path={qemu_escape(dev.source_path, 'path')}", "append=on"]
            log = None  # the file is the log
        elif dev.type == "pty":
            opts = ["pty", f"id={cid}"]
        elif dev.type == "null":
            opts = ["null", f"id={cid}"]
        elif dev.type == "vc":
            opts = ["vc", f"id={cid}"]
        elif dev.type == "stdio":
            if self.spec.daemonize:
                raise ConfigUnsupportedError(
                    f"{where}: QEMU runs daemonized (detached from any terminal), so it has no stdio"
                )
            opts = ["stdio", f"id={cid}"]
        elif dev.type == "dev":
            if not dev.source_path:
                raise ConfigUnsupportedError(f"{where} needs <source path=...>")
            backend = "parallel" if dev.tag == "parallel" else "serial"
            opts = [backend, f"id={cid}", f"path={qemu_escape(dev.source_path, 'path')}"]
        elif dev.type in ("spiceport", "spicevmc"):
            raise ConfigUnsupportedError(
                f"{where} needs SPICE graphics, which the QEMU driver does not support"
            )
        elif dev.type == "unix":
            if not dev.source_path:
                raise ConfigUnsupportedError(f"{where} needs <source path=...>")
            server = (dev.source_mode or "bind") == "bind"
            opts = ["socket", f"id={cid}", f"path={qemu_escape(dev.source_path, 'path')}"]
            opts.append("server=on,wait=off" if server else "server=off")
        elif dev.type == "tcp":
            src = _find(dev.raw, "source")
            if src is None or not src.get("service"):
                raise ConfigUnsupportedError(f"{where} needs <source host=... service=...>")
            host = src.get("host", "127.0.0.1")
            port = src.get("service", "")
            if not port.isdigit():
                raise ConfigUnsupportedError(f"{where}: service '{port}' is not a port number")
            proto = _find(dev.raw, "protocol")
            ptype = proto.get("type") if proto is not None else None
            if ptype not in (None, "raw", "telnet"):
                raise ConfigUnsupportedError(f"{where}: protocol '{ptype}' is not supported")
            opts = ["socket", f"id={cid}", f"host={qemu_escape(host, 'host')}", f"port={port}"]
            if ptype == "telnet":
                opts.append("telnet=on")
            opts.append("server=on,wait=off" if src.get("mode", "connect") == "bind" else "server=off")
        elif dev.type == "udp":
            srcs = dev.raw.findall("source") if dev.raw is not None else []
            remote = next((s for s in srcs if s.get("mode", "connect") == "connect"), None)
            local = next((s for s in srcs if s.get("mode") == "bind"), None)
            if remote is None or not (remote.get("service") or "").isdigit():
                raise ConfigUnsupportedError(f"{where} needs <source mode='connect' service=PORT>")
            lport = local.get("service", "0") if local is not None else "0"
            if not lport.isdigit():
                raise ConfigUnsupportedError(f"{where}: service '{lport}' is not a port number")
            opts = [
                "udp", f"id={cid}", f"host={qemu_escape(remote.get('host', ''), 'host')}",
                f"port={remote.get('service')}",
                f"localaddr={qemu_escape(local.get('host', '') if local is not None else '', 'host')}",
                f"localport={lport}",
            ]  # fmt: skip
        else:
            raise ConfigUnsupportedError(f"{where}: character device type '{dev.type}' is not supported")
        logel = _find(dev.raw, "log")
        if logel is not None and logel.get("file"):
            log = logel.get("file")
        if log:
            opts += [f"logfile={qemu_escape(log, 'log path')}", "logappend=on"]
        self.add("-chardev", ",".join(opts))

    def _serial(self, dev: CharDevice) -> None:
        idx = self.serial_index
        self.serial_index += 1
        ttype = dev.target_type or "isa-serial"
        port = dev.target_port if dev.target_port is not None else idx
        if ttype == "isa-debug":
            self._chardev(dev, f"charserial{port}", None)
            addr = _find(dev.raw, "address")
            iobase = int(addr.get("iobase", "0x402"), 0) if addr is not None else 0x402
            self.add("-device", _j({"driver": "isa-debugcon", "chardev": f"charserial{port}",
                                    "id": f"serial{port}", "iobase": iobase}))  # fmt: skip
            return
        if ttype not in ("isa-serial", "serial"):
            raise ConfigUnsupportedError(f"<serial><target type='{ttype}'> is not supported")
        self._chardev(dev, f"charserial{port}", self.spec.serial_log if idx == 0 else None)
        props: dict[str, Any] = {
            "driver": "isa-serial", "chardev": f"charserial{port}", "id": f"serial{port}", "index": port,
        }  # fmt: skip
        addr = _find(dev.raw, "address")
        if addr is not None and addr.get("type") == "isa":
            try:
                if addr.get("iobase") is not None:
                    props["iobase"] = int(addr.get("iobase", "0"), 0)
                if addr.get("irq") is not None:
                    props["irq"] = int(addr.get("irq", "0"), 0)
            except ValueError:
                raise ConfigUnsupportedError(
                    "<serial><address type='isa'>: iobase/irq are not numbers"
                ) from None
        self.add("-device", _j(props))

    def _console(self, dev: Console, serial_seen: bool) -> None:
        ttype = dev.target_type or "serial"
        if ttype == "serial":
            if serial_seen:
                return  # libvirt: the console is the first serial port, described twice
            self._serial(dev)
            return
        if ttype == "virtio":
            vs = self.controllers.get("virtio-serial")
            if vs is None:
                self.device({"driver": "virtio-serial-pci", "id": "virtio-serial0"})
                vs = self.controllers["virtio-serial"] = "virtio-serial0"
            port = self.console_index
            self.console_index += 1
            self._chardev(dev, f"charconsole{port}", None)
            self.add(
                "-device",
                _j({"driver": "virtconsole", "chardev": f"charconsole{port}", "id": f"console{port}"}),
            )
            return
        raise ConfigUnsupportedError(f"<console><target type='{ttype}'> is not supported")

    def _channel(self, dev: Channel) -> None:
        """A ``virtio`` channel: a ``virtserialport`` named after the target (the guest agent's
        ``org.qemu.guest_agent.0``), on the first virtio-serial controller."""
        if dev.target_type != "virtio":
            raise ConfigUnsupportedError(
                f"<channel><target type='{dev.target_type}'> is not supported (virtio is)"
            )
        vs = self.controllers.get("virtio-serial")
        if vs is None:
            self.device({"driver": "virtio-serial-pci", "id": "virtio-serial0"})
            vs = self.controllers["virtio-serial"] = "virtio-serial0"
        idx = self.channel_index
        self.channel_index += 1
        if dev.type == "unix" and not dev.source_path:
            # libvirt: a socket of the domain's own, named after the target, in its runtime directory
            dev = attrs.evolve(
                dev, source_path=channel_socket(os.path.dirname(self.spec.pidfile), dev), source_mode="bind"
            )
        fd = (self.spec.channel_fds or {}).get(dev.source_path or "")
        if fd is not None:
            self.add("-chardev", f"socket,id=charchannel{idx},fd={fd},server=on,wait=off")
        else:
            self._chardev(dev, f"charchannel{idx}", None)
        props: dict[str, Any] = {"driver": "virtserialport", "bus": f"{vs}.0"}
        props.update(chardev=f"charchannel{idx}", id=f"channel{idx}")
        if dev.target_name:
            props["name"] = dev.target_name
        self.add("-device", _j(props))

    def _graphics(self, g: Graphics) -> None:
        if g.type != "vnc":
            raise ConfigUnsupportedError(f"<graphics type='{g.type}'> is not supported (vnc is)")
        listen = g.listen or "127.0.0.1"
        lel = _find(g.raw, "listen")
        if lel is not None and lel.get("type") == "socket":
            # without a path, libvirt puts the socket in the domain's runtime directory
            sock = lel.get("socket") or os.path.join(os.path.dirname(self.spec.pidfile), "vnc.sock")
            if "=" in sock:  # the first item of -vnc has no key: QEMU would split it at the '='
                raise ConfigUnsupportedError(
                    f"<graphics type='vnc'><listen type='socket'>: VNC socket path {sock!r} contains '='"
                )
            self.add("-vnc", f"unix:{qemu_escape(sock, 'VNC socket path')}")
            return
        if lel is not None and lel.get("type") == "none":
            self.add("-vnc", "none")
            return
        port = g.port if (g.port is not None and g.port >= 5900 and not g.autoport) else self.spec.vnc_port
        if port is None or port < 5900:
            port = 5900
        host = _listen_address(listen, "<graphics type='vnc'> listen address")
        self.add("-vnc", f"{host}:{port - 5900}")

    def _video(self, v: Video) -> None:
        models = {
            "vga": "VGA", "cirrus": "cirrus-vga", "virtio": "virtio-vga", "qxl": "qxl-vga",
            "bochs": "bochs-display", "ramfb": "ramfb",
        }  # fmt: skip
        model = v.model or "vga"
        if model == "none":
            return
        drv = models.get(model)
        if drv is None:
            raise ConfigUnsupportedError(f"<video><model type='{model}'> is not supported")
        props: dict[str, Any] = {"driver": drv, "id": "video0"}
        self.device(props, v.raw)

    def _input(self, i: Input) -> None:
        bus = i.bus or ("ps2" if i.type in ("mouse", "keyboard") else "usb")
        if bus == "ps2":
            if i.type not in ("mouse", "keyboard"):
                raise ConfigUnsupportedError(f"<input type='{i.type}' bus='ps2'> is not possible")
            if self.ps2_off:
                raise ConfigUnsupportedError(
                    f"<input type='{i.type}' bus='ps2'> needs the ps2 feature not to be disabled"
                )
            return  # built into the PC's i8042
        names = {"mouse": "mouse", "keyboard": "kbd", "tablet": "tablet"}
        if i.type not in names:
            raise ConfigUnsupportedError(f"<input type='{i.type}'> is not supported")
        if bus == "usb":
            usb = self._need_usb(f"<input type='{i.type}' bus='usb'>")
            self.device({"driver": f"usb-{names[i.type]}", "id": f"input-{i.type}", "bus": f"{usb}.0"})
        elif bus == "virtio":
            drv = {
                "mouse": "virtio-mouse-pci",
                "keyboard": "virtio-keyboard-pci",
                "tablet": "virtio-tablet-pci",
            }
            self.device({"driver": drv[i.type], "id": f"input-{i.type}"}, i.raw)
        else:
            raise ConfigUnsupportedError(f"<input bus='{bus}'> is not supported")

    def _generic(self, kind: str, raw: Element | None) -> None:
        if kind == "rng" and raw is not None:
            model = raw.get("model", "virtio")
            backend = raw.find("backend")
            if model != "virtio" or backend is None:
                raise ConfigUnsupportedError(f"<rng model='{model}'> is not supported")
            if backend.get("model") != "random":
                raise ConfigUnsupportedError(
                    f"<rng><backend model='{backend.get('model')}'> is not supported"
                )
            filename = (backend.text or "/dev/urandom").strip()
            n = sum(1 for a in self.args if a.startswith('{"qom-type":"rng-random"'))
            self.add("-object", _j({"qom-type": "rng-random", "id": f"objrng{n}", "filename": filename}))
            props: dict[str, Any] = {"driver": "virtio-rng-pci", "rng": f"objrng{n}", "id": f"rng{n}"}
            rate = raw.find("rate")
            if rate is not None:
                props["max-bytes"] = int(rate.get("bytes", "0"))
                props["period"] = int(rate.get("period", "1000"))
            self.device(props, raw)
            return
        if kind == "watchdog" and raw is not None:
            model = raw.get("model", "i6300esb")
            if model not in ("i6300esb", "ib700", "itco"):
                raise ConfigUnsupportedError(f"<watchdog model='{model}'> is not supported")
            action = raw.get("action", "reset")
            if action not in _WATCHDOG_ACTIONS:
                raise ConfigUnsupportedError(
                    f"<watchdog action={action!r}> is not supported "
                    f"(QEMU's are {', '.join(_WATCHDOG_ACTIONS)})"
                )
            if model == "itco":
                return  # built into q35
            self.device({"driver": model, "id": "watchdog0"}, raw)
            self.add("-action", f"watchdog={action}")
            return
        if kind == "audio" and raw is not None:
            atype = raw.get("type", "none")
            if atype != "none":
                raise ConfigUnsupportedError(f"<audio type='{atype}'> is not supported (none is)")
            self.add("-audiodev", _j({"id": f"audio{raw.get('id', '1')}", "driver": "none"}))
            return
        if kind == "panic" and raw is not None:
            model = raw.get("model", "isa")
            if model != "isa":
                raise ConfigUnsupportedError(f"<panic model='{model}'> is not supported")
            self.add("-device", _j({"driver": "pvpanic", "ioport": 1285}))
            return
        raise ConfigUnsupportedError(f"<{kind}> devices are not supported by the QEMU driver")


def build_argv(d: DomainDef, *, emulator: str, machine: str, spec: LaunchSpec) -> list[str]:
    """The QEMU argument vector (``argv[0]`` is ``emulator``) for the domain ``d``.

    ``machine`` is the resolved machine type (``pc-i440fx-7.2``, or an alias
    the binary accepts). Pure: reads nothing from disk, starts nothing.

    :raises ConfigUnsupportedError: an element that cannot be translated, named.
    """
    return _Builder(d, spec, emulator, machine).build()


def iter_options(argv: Iterable[str]) -> Iterable[tuple[str, str | None]]:
    """``(option, value)`` pairs of a QEMU argv (flags get ``None``), ``argv[0]`` skipped."""
    flags = {"-S", "-no-user-config", "-nodefaults", "-no-shutdown", "-daemonize", "-no-acpi", "-no-hpet",
             "-no-reboot", "-enable-kvm", "-nographic"}  # fmt: skip
    it = iter(list(argv)[1:])
    for a in it:
        if a in flags:
            yield a, None
        else:
            yield a, next(it, None)
