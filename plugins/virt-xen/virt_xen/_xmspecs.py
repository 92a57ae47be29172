"""xm-style device specs that both native config formats and xend's S-expressions use.

Shared by :mod:`virt_xen.native` (xl/xm configs) and :mod:`virt_xen.sxpr`
(xend S-expressions), so neither reader imports the other.
"""

from __future__ import annotations

import re

from lxml import etree

from virt_xen._cfgsyntax import ConfSyntaxError
from virtcore.errors import ConfigUnsupportedError

__all__ = ["TAP_FORMATS", "element", "parse_chardev", "vif_rate_kb"]

_E = etree._Element
_VIF_RATE = re.compile(r"([0-9]+)([GMK]?)([Bb])/s\Z")

#: what a tap/tap2 sub-type may name (aio is raw)
TAP_FORMATS = {
    "aio": "raw", "raw": "raw", "qcow": "qcow", "qcow2": "qcow2", "vhd": "vhd", "qed": "qed",
    "vmdk": "vmdk", "cow": "cow", "bochs": "bochs", "cloop": "cloop", "dmg": "dmg",
}  # fmt: skip


def element(parent: _E, tag: str, text: str | None = None, **attrs: str | None) -> _E:
    """A new ``tag`` child of ``parent``; ``None`` attributes are left out, ``class_`` is ``class``."""
    e = etree.SubElement(parent, tag)
    for k, v in attrs.items():
        if v is not None:
            e.set(k.rstrip("_").replace("__", "-"), v)
    if text is not None:
        e.text = text
    return e


def vif_rate_kb(rate: str) -> int:
    """A vif ``rate=`` (``10MB/s``, ``80Mb/s``, ``10MB/s@20ms``) in KiB/s, as libvirt counts."""
    m = _VIF_RATE.match(rate.partition("@")[0])
    if m is None:
        raise ConfSyntaxError(f"invalid rate '{rate}' in a vif (expected a number, K/M/G and B/s or b/s)")
    kb = int(m.group(1)) * {"G": 1024 * 1024, "M": 1024, "K": 1, "": 1}[m.group(2)]
    return kb // 8 if m.group(3) == "b" else kb


def parse_chardev(spec: str, parent: _E, tag: str, port: int) -> None:
    """Append a ``tag`` (``serial``/``parallel``) device for an xm character device spec, unless ``none``."""
    if spec in ("none", ""):
        return
    ch = etree.SubElement(parent, tag)
    if spec in ("pty", "null", "stdio", "vc"):
        ch.set("type", spec)
    elif spec.startswith("file:"):
        ch.set("type", "file")
        element(ch, "source", path=spec[5:])
    elif spec.startswith("pipe:"):
        ch.set("type", "pipe")
        element(ch, "source", path=spec[5:])
    elif spec.startswith("/dev/"):
        ch.set("type", "dev")
        element(ch, "source", path=spec)
    elif spec.startswith(("tcp:", "telnet:")):
        scheme, _, rest = spec.partition(":")
        rest, _, flags = rest.partition(",")
        host, _, service = rest.rpartition(":")
        ch.set("type", "tcp")
        mode = "bind" if "server" in flags.split(",") or flags.startswith("server") else "connect"
        element(ch, "source", mode=mode, host=host or None, service=service)
        element(ch, "protocol", type="telnet" if scheme == "telnet" else "raw")
    elif spec.startswith("udp:"):
        rest = spec[4:]
        connect, _, bind = rest.partition("@")
        ch.set("type", "udp")
        if bind:
            bh, _, bs = bind.rpartition(":")
            element(ch, "source", mode="bind", host=bh or None, service=bs)
        ch_host, _, ch_service = connect.rpartition(":")
        element(ch, "source", mode="connect", host=ch_host or None, service=ch_service)
    elif spec.startswith("unix:"):
        rest, _, flags = spec[5:].partition(",")
        ch.set("type", "unix")
        element(ch, "source", mode="bind" if flags.startswith("server") else "connect", path=rest)
    else:
        raise ConfigUnsupportedError(f"serial device {spec!r} is not supported")
    element(ch, "target", port=str(port))
