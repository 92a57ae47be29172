"""The guest platform: ``<os>``, ``<clock>`` (with its timers) and ``<cpu>``.

Each class declares its fields with :func:`~virtcore.xml._spec.typed`: parsing, both
formatters and the coverage report come from those declarations (see
:mod:`virtcore.xml._spec`).
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from virtcore import limits
from virtcore.xml import _util as u
from virtcore.xml._base import _FRAG, Element, _raw
from virtcore.xml._layout import _CLOCK_ORDER, _CPU_ORDER, _OS_ORDER
from virtcore.xml._spec import ULONG, WORD, YESNO, F, Fmt, Parse, SpecElement, one_of, ranged, typed

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
class OS(SpecElement):
    """``<os>``: the guest's boot configuration.

    ``type`` is the OS type (``hvm``, ``xen``/``linux`` for Xen PV, ``exe`` for
    containers); ``boot`` the ``<boot dev=...>`` devices in order. The paths and the
    command line are kept as written (white space included).
    """

    _tag: ClassVar[str] = "os"
    _order = _OS_ORDER

    type: str = typed("ctext", "type", required=True, default="hvm")
    arch: str | None = typed("cattr", "type", "arch")
    machine: str | None = typed("cattr", "type", "machine")
    firmware: str | None = typed("attr", "firmware")
    loader: str | None = typed("ctext", "loader", strip=False)
    #: ``<loader type=rom|pflash>`` (libvirt's post-parse makes a loader path without type ``rom``)
    loader_type: str | None = typed("cattr", "loader", "type")
    nvram: str | None = typed("ctext", "nvram", strip=False)
    kernel: str | None = typed("ctext", "kernel", strip=False)
    initrd: str | None = typed("ctext", "initrd", strip=False)
    cmdline: str | None = typed("ctext", "cmdline", strip=False)
    dtb: str | None = typed("ctext", "dtb", strip=False)
    init: str | None = typed("ctext", "init", strip=False)
    boot: tuple[str, ...] = typed("cattrs", "boot", "dev", required=True, default=())
    bootmenu_enable: bool | None = typed("cattr", "bootmenu", "enable", conv=YESNO)
    bootmenu_timeout: int | None = typed(
        "cattr", "bootmenu", "timeout", conv=ranged(0, 65535, "boot menu timeout")
    )
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class Timer(SpecElement):
    """``<clock><timer name=... present=... tickpolicy=...>``."""

    _tag: ClassVar[str] = "timer"

    name: str = typed("attr", "name", conv=WORD, required=True, default=attrs.NOTHING)
    present: bool | None = typed("attr", "present", conv=YESNO)
    tickpolicy: str | None = typed("attr", "tickpolicy")
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


def _p_adjustment(text: str, where: str) -> int | None:
    if text == "reset":
        return None
    bound = limits.MAX_CLOCK_ADJUSTMENT
    return u.parse_int(text, where, minimum=-bound, maximum=bound)


#: ``<clock adjustment>``: seconds within the bound either way; ``reset`` reads as no value.
_ADJUSTMENT: tuple[Parse, Fmt] = (_p_adjustment, str)


@attrs.frozen
class Clock(SpecElement):
    """``<clock offset=... adjustment=...>`` with its timers.

    ``adjustment`` is the guest clock's offset in seconds (``offset='variable'``),
    within :data:`virtcore.limits.MAX_CLOCK_ADJUSTMENT` either way; ``None`` when
    absent or ``'reset'`` (kept as written).
    """

    _tag: ClassVar[str] = "clock"
    _order = _CLOCK_ORDER

    offset: str = typed("attr", "offset", default="utc", implied="utc")
    timers: tuple[Timer, ...] = typed("many", "timer", cls=Timer, default=())
    adjustment: int | None = typed("attr", "adjustment", conv=_ADJUSTMENT)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


# ============================================================================ CPU


@attrs.frozen
class CPUFeature(SpecElement):
    """``<cpu><feature policy=require|disable|force|optional|forbid name=...>``."""

    _tag: ClassVar[str] = "feature"
    # a table rather than typed fields: libvirt writes policy before name, the
    # constructor takes name first
    _spec = (F("policy", "attr", "policy"), F("name", "attr", "name", conv=WORD, required=True))

    name: str
    policy: str | None = None
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class NumaCell(SpecElement):
    """``<cpu><numa><cell id=N cpus=... memory=...>`` (memory in KiB, 0 when not given)."""

    _tag: ClassVar[str] = "cell"

    id: int | None = typed("attr", "id", conv=ULONG, default=attrs.NOTHING)
    cpus: str | None = typed("attr", "cpus", default=attrs.NOTHING)
    memory: int = typed("akib", "memory", default=attrs.NOTHING, implied=0)
    mem_access: str | None = typed("attr", "memAccess", conv=one_of(("shared", "private")))
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class CPU(SpecElement):
    """``<cpu>``: the guest CPU model, topology, features and NUMA cells."""

    _tag: ClassVar[str] = "cpu"
    _order = _CPU_ORDER

    mode: str | None = typed("attr", "mode")
    match: str | None = typed("attr", "match")
    check: str | None = typed("attr", "check")
    model: str | None = typed("ctext", "model")
    model_fallback: str | None = typed("cattr", "model", "fallback")
    vendor: str | None = typed("ctext", "vendor", strip=False)
    sockets: int | None = typed("cattr", "topology", "sockets", conv=ULONG)
    dies: int | None = typed("cattr", "topology", "dies", conv=ULONG)
    clusters: int | None = typed("cattr", "topology", "clusters", conv=ULONG)
    cores: int | None = typed("cattr", "topology", "cores", conv=ULONG)
    threads: int | None = typed("cattr", "topology", "threads", conv=ULONG)
    features: tuple[CPUFeature, ...] = typed("many", "feature", cls=CPUFeature, default=())
    numa: tuple[NumaCell, ...] = typed("cmany", "numa", "cell", cls=NumaCell, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG
