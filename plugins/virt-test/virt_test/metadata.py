"""A test domain's metadata: its description, title and applications' elements, as libvirt keeps them.

libvirt (``virDomainObjGetMetadata``/``SetMetadata``) reads and writes one
definition picked as its ``VIR_DOMAIN_AFFECT_*`` flags say: neither flag is the
current one (the running definition of an active domain, else the persistent one),
``live`` the running one (a shut-off domain: ``OPERATION_INVALID``), ``config``
the persistent one (a transient domain: ``OPERATION_INVALID``); setting both
changes both. An empty description or title removes it. An application's element
lives in ``<metadata>`` in its own namespace (prefix ``key``): setting one replaces
every element of that namespace, and reading one gives it back in no namespace.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import attrs
from lxml import etree

from virtcore import errors
from virtcore.errors import NoDomainMetadataError, OperationInvalidError
from virtcore.events import MetadataChangeEvent
from virtcore.types import DomainMetadataType
from virtcore.xml import DomainDef, domain_from_element, secure_parse
from virtcore.xml.domain import domain_to_element

if TYPE_CHECKING:
    from virt_test.node import Node, TestDomain

__all__ = ["get_metadata", "set_metadata"]


def _sides(dom: TestDomain, live: bool, config: bool) -> list[str]:
    """Which definitions (``"live"``, ``"config"``) the flags pick, with libvirt's refusals."""
    if not live and not config:
        return ["live" if dom.active else "config"]
    if live and not dom.active:
        raise OperationInvalidError("domain is not running", domain=errors.ErrorDomain.DOMAIN)
    if config and not dom.persistent:
        raise OperationInvalidError(
            "transient domains do not have any persistent config", domain=errors.ErrorDomain.DOMAIN
        )
    return [side for side, wanted in (("live", live), ("config", config)) if wanted]


def _strip_namespace(el: etree._Element, uri: str) -> etree._Element:
    out = copy.deepcopy(el)
    for e in out.iter():
        if isinstance(e.tag, str) and e.tag.startswith("{" + uri + "}"):
            e.tag = e.tag.split("}", 1)[1]
    etree.cleanup_namespaces(out)
    out.tail = None
    return out


def get_metadata(
    node: Node, uuid: str, kind: DomainMetadataType, uri: str | None, live: bool, config: bool
) -> str:
    """The metadata asked for (see the module)."""
    with node.lock:
        dom = node.get(uuid)
        dom.definition()  # parse a pending definition
        d = _definition(dom, _sides(dom, live, config)[0])
        found: str | None = None
        if kind == DomainMetadataType.DESCRIPTION:
            found = d.description
        elif kind == DomainMetadataType.TITLE:
            found = d.title
        else:
            md = _metadata_element(d)
            child = (
                None
                if md is None or uri is None
                else next(
                    (c for c in md if isinstance(c.tag, str) and c.tag.startswith("{" + uri + "}")), None
                )
            )
            if child is not None:
                plain = _strip_namespace(child, uri or "")
                etree.indent(plain, space="  ")
                found = etree.tostring(plain, encoding="unicode")
    if not found:
        raise NoDomainMetadataError("Requested metadata element is not present")
    return found


def _definition(dom: TestDomain, side: str) -> DomainDef:
    """The parsed live or persistent definition (``dom.definition()`` parsed them)."""
    d = dom.live if side == "live" else dom.config
    assert isinstance(d, DomainDef)
    return d


def _metadata_element(d: DomainDef) -> etree._Element | None:
    return None if d.raw is None else next(d.raw.iterchildren("metadata"), None)


def set_metadata(
    node: Node,
    uuid: str,
    kind: DomainMetadataType,
    metadata: str | None,
    key: str | None,
    uri: str | None,
    live: bool,
    config: bool,
) -> None:
    """Change the metadata (see the module)."""
    element = None
    if kind == DomainMetadataType.ELEMENT and metadata is not None:
        element = _namespaced(secure_parse(metadata), key or "", uri or "")
    with node.lock:
        dom = node.get(uuid)
        dom.definition()  # parse a pending definition
        for side in _sides(dom, live, config):
            new = _changed(_definition(dom, side), kind, metadata, element, uri)
            if side == "live":  # a new object: a definition serving both sides keeps the other
                dom.live = new
            else:
                dom.config = new
        ref = dom.ref
    # libvirt's test driver: METADATA_CHANGE with the type and (for an element) the namespace
    node._send([MetadataChangeEvent(ref, int(kind), uri if kind == DomainMetadataType.ELEMENT else None)])


def _namespaced(el: etree._Element, key: str, uri: str) -> etree._Element:
    """``el`` (and its descendants in no namespace) moved into namespace ``uri`` with prefix ``key``."""
    out = etree.Element(f"{{{uri}}}{el.tag}", nsmap={key: uri})
    for k, v in el.attrib.items():
        out.set(k, v)
    out.text = el.text
    for child in el:
        out.append(copy.deepcopy(child))
    for e in out.iter():
        if isinstance(e.tag, str) and not e.tag.startswith("{"):
            e.tag = f"{{{uri}}}{e.tag}"
    return out


def _changed(
    d: DomainDef, kind: DomainMetadataType, text: str | None, element: etree._Element | None, uri: str | None
) -> DomainDef:
    if kind == DomainMetadataType.DESCRIPTION:
        return attrs.evolve(d, description=text or None)
    if kind == DomainMetadataType.TITLE:
        return attrs.evolve(d, title=text or None)
    root = domain_to_element(d)
    md = next(root.iterchildren("metadata"), None)
    if md is not None:
        for old in [c for c in md if isinstance(c.tag, str) and c.tag.startswith("{" + (uri or "") + "}")]:
            md.remove(old)
    if element is not None:
        if md is None:
            md = etree.Element("metadata")
            _insert_metadata(root, md)
        md.append(copy.deepcopy(element))  # each definition its own copy: lxml moves an appended node
    if md is not None and len(md) == 0:
        root.remove(md)
    return domain_from_element(root)


def _insert_metadata(root: etree._Element, md: etree._Element) -> None:
    """Place ``<metadata>`` where libvirt writes it: after the name, uuid, title and description."""
    before = {"name", "uuid", "genid", "title", "description"}
    at = 0
    for i, child in enumerate(root):
        if isinstance(child.tag, str) and child.tag in before:
            at = i + 1
    root.insert(at, md)
