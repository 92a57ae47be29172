"""libvirt domain checkpoint XML: :class:`CheckpointDef` (``<domaincheckpoint>``), described by ``typed``.

>>> c = parse_checkpoint("<domaincheckpoint><name>c1</name><disks>"
...                      "<disk name='vda' checkpoint='bitmap'/></disks></domaincheckpoint>")
>>> c.name, [(d.name, d.checkpoint) for d in c.disks]
('c1', [('vda', 'bitmap')])

A checkpoint marks the point from which a later incremental backup copies what
changed: per disk, a dirty bitmap named :attr:`CheckpointDisk.bitmap`. As for
snapshots, :func:`parse_checkpoint` reads a new checkpoint's XML as libvirt does
(``redefine=False``: the parent, creation time and embedded ``<domain>`` a driver writes
are dropped) and a driver's own metadata with ``redefine=True``. The embedded
``<domain>`` is kept verbatim. Names are checked as snapshot names are (a file name,
a command argument).
"""

from __future__ import annotations

import copy
from typing import ClassVar

import attrs
from lxml import etree

from virtcore.errors import XMLError
from virtcore.xml._base import _FRAG, Element, _raw
from virtcore.xml._coverage import ANY, Node, merge
from virtcore.xml._parser import secure_parse
from virtcore.xml._spec import INT, SpecElement, format_xml, one_of, spec_node, typed
from virtcore.xml.snapshot import SnapshotParent, check_snapshot_name

__all__ = [
    "CheckpointDef",
    "CheckpointDisk",
    "checkpoint_from_element",
    "format_checkpoint",
    "parse_checkpoint",
]

#: ``<disk checkpoint=...>``.
DISK_CHECKPOINT_MODES = ("no", "bitmap")
_DRIVER_WRITTEN = ("parent", "creationTime", "domain")


@attrs.frozen
class CheckpointDisk(SpecElement):
    """``<disks><disk name checkpoint bitmap>``: whether a disk is tracked, and its bitmap's name."""

    _tag: ClassVar[str] = "disk"
    name: str | None = typed("attr", "name", required=True)
    checkpoint: str | None = typed(
        "attr", "checkpoint", conv=one_of(DISK_CHECKPOINT_MODES, "disk checkpoint")
    )
    bitmap: str | None = typed("attr", "bitmap")
    size: int | None = typed("attr", "size", conv=INT)
    raw: Element | None = _raw
    _frag: list[str] = _FRAG


@attrs.frozen
class CheckpointDef(SpecElement):
    """A domain checkpoint (``<domaincheckpoint>``), immutable: change it with :func:`attrs.evolve`."""

    _tag: ClassVar[str] = "domaincheckpoint"
    _order = ("name", "description", "parent", "creationTime", "disks", "domain")
    name: str | None = typed("ctext", "name", strip=False)
    description: str | None = typed("ctext", "description", strip=False)
    parent: SnapshotParent | None = typed("one", "parent", cls=SnapshotParent, default=None)
    creation_time: int | None = typed("ctext", "creationTime", conv=INT)
    disks: tuple[CheckpointDisk, ...] = typed("cmany", "disks", "disk", cls=CheckpointDisk, default=())
    raw: Element | None = _raw
    _frag: list[str] = _FRAG

    def __attrs_post_init__(self) -> None:
        if self.name is not None:
            check_snapshot_name(self.name)
        if self.parent is not None and self.parent.name is not None:
            check_snapshot_name(self.parent.name)
        if self.description is not None and "\0" in self.description:
            raise XMLError(f"checkpoint '{self.name}': <description> cannot contain NUL")
        seen = [d.name for d in self.disks]
        for name in seen:
            if seen.count(name) > 1:
                raise XMLError(f"checkpoint '{self.name}': disk '{name}' is listed more than once")

    @classmethod
    def covered(cls) -> Node:
        """What the model types of ``<domaincheckpoint>``; the embedded domain is kept verbatim."""
        return merge(spec_node(cls), domain=ANY)

    @property
    def parent_name(self) -> str | None:
        """The parent checkpoint's name (``None``: a root)."""
        return None if self.parent is None else self.parent.name

    @property
    def domain_xml(self) -> str | None:
        """The embedded ``<domain>`` as written (``None``: none)."""
        el = None if self.raw is None else next(self.raw.iterchildren("domain"), None)
        return None if el is None else etree.tostring(el, encoding="unicode", with_tail=False)

    def with_domain(self, domain_xml: str | None) -> CheckpointDef:
        """A copy embedding ``domain_xml`` (the definition it was taken of; ``None`` removes it)."""
        root = copy.deepcopy(self.raw) if self.raw is not None else self.to_element()
        for old in list(root.iterchildren("domain")):
            root.remove(old)
        if domain_xml is not None:
            el = secure_parse(domain_xml)
            if el.tag != "domain":
                raise XMLError(f"expected a <domain> to embed in checkpoint '{self.name}', not <{el.tag}>")
            el.tail = None
            root.append(el)
        fields = {
            a.name: getattr(self, a.name) for a in attrs.fields(CheckpointDef) if a.init and a.name != "raw"
        }
        return CheckpointDef(**fields, raw=root)

    def to_xml(self, *, no_domain: bool = False) -> str:
        """The checkpoint as XML text (``no_domain``: without the embedded definition)."""
        return format_checkpoint(self.with_domain(None) if no_domain else self)


def checkpoint_from_element(el: Element, *, redefine: bool = False) -> CheckpointDef:
    """Parse a ``<domaincheckpoint>`` element (see :func:`parse_checkpoint` for ``redefine``)."""
    if el.tag != "domaincheckpoint":
        raise XMLError(f"expecting root element of 'domaincheckpoint', not '{el.tag}'")
    if not redefine and next(el.iterchildren(*_DRIVER_WRITTEN), None) is not None:
        el = copy.deepcopy(el)
        for tag in _DRIVER_WRITTEN:
            for old in list(el.iterchildren(tag)):
                el.remove(old)
    c: CheckpointDef = CheckpointDef.from_element(el)
    if redefine and (c.name is None or c.creation_time is None):
        raise XMLError("a redefined checkpoint needs a <name> and a <creationTime>")
    return c


def parse_checkpoint(text: str | bytes, *, redefine: bool = False) -> CheckpointDef:
    """Parse domain checkpoint XML (with the hardened parser) into a :class:`CheckpointDef`.

    :raises XMLError: malformed or hostile XML, another root, a bad name or disk mode.
    """
    return checkpoint_from_element(secure_parse(text, api="DOMAIN_CHECKPOINT"), redefine=redefine)


def format_checkpoint(c: CheckpointDef) -> str:
    """``c`` as checkpoint XML text, indented and quoted like libvirt's."""
    return format_xml(c, f"checkpoint '{c.name}'", single_quotes=True)
