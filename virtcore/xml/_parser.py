"""The hardened XML parser every piece of virtcore uses for untrusted XML.

libxml2 is asked for the safest behaviour and, on top of that, the input is
screened before it reaches libxml2:

* documents larger than :data:`MAX_XML_BYTES` are refused before parsing, so a
  100 MB document costs nothing but a ``len()``;
* so are documents with more than :data:`MAX_XML_NODES` elements and attributes
  (counted from their ``<`` and ``=`` characters, see :func:`count_nodes`): libxml2
  spends over a hundred bytes on each, so without this bound 10 MB of ``<a/>``
  would take a gigabyte. With both limits, parsing and formatting any accepted
  document peaks below 20 times :data:`MAX_XML_BYTES` (``bench/bench_xml.py``
  measures it);
* any ``<!DOCTYPE`` or ``<!ENTITY`` declaration is refused outright: libvirt's
  formats never use them, and refusing them removes entity bombs ("billion
  laughs"), external entities (XXE) and external DTD fetches at the root;
* entity resolution, DTD loading and network access are off in the parser;
* libxml2's default (non-"huge") limits stay on: nesting deeper than
  :data:`MAX_DEPTH` elements, and oversized text nodes, are parse errors;
* comments and processing instructions are dropped.

Every failure is an :class:`~virtcore.errors.XMLError`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from lxml import etree

from virtcore.errors import XMLDetailError, XMLError

if TYPE_CHECKING:
    from virtcore.errors import ErrorDomain

__all__ = [
    "MAX_XML_BYTES",
    "MAX_XML_NODES",
    "MAX_DEPTH",
    "check_size",
    "count_nodes",
    "parser_report",
    "secure_parse",
    "to_bytes",
]

#: Largest document accepted (bytes of UTF-8). libvirt's own RPC limit is of this order.
MAX_XML_BYTES = 10 * 1024 * 1024
#: Most elements and attributes accepted in one document (a domain with a thousand
#: devices has a few tens of thousands).
MAX_XML_NODES = 150_000
#: Deepest element nesting accepted (libvirt's formats need fewer than 16 levels).
MAX_DEPTH = 128

_local = threading.local()


def _parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_blank_text=True,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
        )
        _local.parser = parser
    return parser


def to_bytes(text: str | bytes) -> bytes:
    """``text`` as UTF-8 bytes, refusing anything but ``str``/``bytes`` with :class:`XMLError`."""
    if isinstance(text, bytes):
        return text
    if isinstance(text, str):
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise XMLError(f"document is not valid Unicode: {exc.reason}") from None
    if isinstance(text, (bytearray, memoryview)):
        return bytes(text)
    raise XMLError(f"expected an XML document as str or bytes, got {type(text).__name__}")


def count_nodes(data: str | bytes) -> int:
    """An upper bound of the elements and attributes of a document, without parsing it.

    Every element starts with ``<`` (closing tags, ``</``, are not counted) and every
    attribute has an ``=``; the count also includes comments, processing instructions
    and any ``=`` in text, so it is never below the real number.
    """
    if isinstance(data, str):
        return data.count("<") - data.count("</") + data.count("=")
    return data.count(b"<") - data.count(b"</") + data.count(b"=")


def check_size(data: str | bytes, *, max_bytes: int = MAX_XML_BYTES, what: str = "document") -> None:
    """Refuse (:class:`XMLError`) a document over :data:`MAX_XML_BYTES` or :data:`MAX_XML_NODES`."""
    size = len(data) if isinstance(data, bytes) or data.isascii() else len(data.encode("utf-8", "replace"))
    if size > max_bytes:
        raise XMLError(f"{what} of {size} bytes exceeds the limit of {max_bytes} bytes")
    if len(data) <= MAX_XML_NODES:
        return  # the count is at most one per character: a document this short is within the limit
    nodes = count_nodes(data)
    if nodes > MAX_XML_NODES:
        raise XMLError(
            f"{what} has up to {nodes} elements and attributes (counting '<' and '='), "
            f"more than the limit of {MAX_XML_NODES}"
        )


# True when some element sits deeper than MAX_DEPTH; evaluated in C, compiled once.
_TOO_DEEP = etree.XPath("boolean(/*" + "/*" * MAX_DEPTH + ")")


def error_domain_named(name: str) -> ErrorDomain:
    """``ErrorDomain[name]``, the enums built only now (an error is being raised)."""
    from virtcore.errors import ErrorDomain  # built on first use: ~18M instructions

    return ErrorDomain[name]


def parser_report(data: bytes, docname: str, position: tuple[int, int, str]) -> str:
    """libvirt's report of a document its parser refused at ``position`` (:attr:`XMLDetailError.position`).

    As libvirt's ``catchXMLError`` (virxml.c) words it: ``DOCNAME:LINE: REASON``, then the
    line the parser stopped in and a caret under its column (``-`` for every character
    before it, a tab for a tab); an empty line shows as ``(null)``, as libvirt prints it.
    """
    line, column, reason = position
    lines = data.split(b"\n")
    text = lines[line - 1].rstrip(b"\r").decode("utf-8", "replace") if 0 < line <= len(lines) else ""
    pointer = "".join("\t" if c == "\t" else "-" for c in text[: max(column - 1, 0)]) + "^"
    return f"{docname}:{line}: {reason}\n{text or '(null)'}\n{pointer}"


def secure_parse(text: str | bytes, *, max_bytes: int = MAX_XML_BYTES, api: str = "XML") -> etree._Element:
    """Parse untrusted XML into its root element, safely.

    :param text: the document, as ``str`` or UTF-8 (or declared-encoding) ``bytes``.
    :param max_bytes: refuse documents longer than this many bytes.
    :param api: the ``ErrorDomain`` a malformed document is refused in (:class:`XMLDetailError`):
        that of the object it describes, as libvirt's parsers (``"DOMAIN"`` for domain XML).
    :raises XMLError: if the document is too large (bytes, or elements and attributes),
        declares a DTD or entities, nests deeper than :data:`MAX_DEPTH`, or is not well formed.
    """
    data = to_bytes(text)
    check_size(data, max_bytes=max_bytes)
    if b"<!" in data and (b"<!DOCTYPE" in data or b"<!ENTITY" in data or b"<!doctype" in data):
        raise XMLError("DTDs and entity declarations are not allowed")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        err = XMLDetailError(f"malformed document: {exc.msg or exc}", domain=error_domain_named(api))
        last = getattr(exc.error_log, "last_error", None)  # libxml2's own words, line and column
        if last is not None:
            err.position = (last.line, last.column, last.message)
        raise err from None
    except (ValueError, TypeError, LookupError, MemoryError) as exc:
        raise XMLDetailError(f"malformed document: {exc}", domain=error_domain_named(api)) from None
    if root is None:
        raise XMLError("empty document")
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise XMLError("DTDs and entity declarations are not allowed")
    # libxml2 already stops at 256 levels; a cheap second check enforces our own limit
    # only for documents that could possibly be that deep.
    if len(data) > 2 * MAX_DEPTH and data.count(b"<") > 2 * MAX_DEPTH and _TOO_DEEP(root):
        raise XMLError(f"document nests deeper than {MAX_DEPTH} elements")
    return root
