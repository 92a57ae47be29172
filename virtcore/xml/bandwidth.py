"""``<bandwidth>``: inbound and outbound rate limits, of a network, a port group or a guest's interface.

One description, used by :mod:`virtcore.xml.network` and by the ``<interface>`` device of
:mod:`virtcore.xml.devices`.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from virtcore.xml._base import _FRAG, Element, _raw
from virtcore.xml._spec import UINT32, SpecElement, typed

__all__ = ["Bandwidth", "BandwidthRate", "OutboundRate"]


@attrs.frozen
class BandwidthRate(SpecElement):
    """``<bandwidth><inbound average peak burst floor>``: KiB/s (burst in KiB); see :class:`OutboundRate`."""

    _tag: ClassVar[str] = "inbound"
    average: int | None = typed("attr", "average", conv=UINT32)
    peak: int | None = typed("attr", "peak", conv=UINT32)
    burst: int | None = typed("attr", "burst", conv=UINT32)
    floor: int | None = typed("attr", "floor", conv=UINT32)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class OutboundRate(BandwidthRate):
    """``<bandwidth><outbound>``: the same rates as :class:`BandwidthRate`, for traffic leaving guests."""

    _tag: ClassVar[str] = "outbound"


@attrs.frozen
class Bandwidth(SpecElement):
    """``<bandwidth>``: ``inbound`` (:class:`BandwidthRate`) and ``outbound`` (:class:`OutboundRate`)."""

    _tag: ClassVar[str] = "bandwidth"
    _order = ("inbound", "outbound")
    inbound: BandwidthRate | None = typed("one", "inbound", cls=BandwidthRate, default=None)
    outbound: OutboundRate | None = typed("one", "outbound", cls=OutboundRate, default=None)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG
