"""Small helpers shared by the XML model: value parsing and "overlay" formatting.

Formatting works as an *overlay*: a model object parsed from XML keeps a
reference to the element it came from (``raw``). To format it, that element is
copied and the modelled attributes and children are overwritten from the typed
fields; everything the model does not know stays where it was, in document
order. An object built in Python (``raw`` is ``None``) starts from an empty
element. New children are inserted at libvirt's canonical position.
"""

from __future__ import annotations

import re
import uuid as _uuid
from collections.abc import Iterable, Sequence

from lxml import etree

from virtcore import limits
from virtcore.errors import XMLError

Element = etree._Element

_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_CANON_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

#: Multipliers of libvirt's memory units (virScaleInteger), case-insensitive suffixes.
_UNITS: dict[str, int] = {
    "b": 1,
    "bytes": 1,
    "kb": 1000,
    "k": 1024,
    "kib": 1024,
    "mb": 1000**2,
    "m": 1024**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "g": 1024**3,
    "gib": 1024**3,
    "tb": 1000**4,
    "t": 1024**4,
    "tib": 1024**4,
    "pb": 1000**5,
    "p": 1024**5,
    "pib": 1024**5,
    "eb": 1000**6,
    "e": 1024**6,
    "eib": 1024**6,
}

#: Largest memory size accepted, in KiB (libvirt stores KiB in an unsigned long long
#: but caps sizes so that bytes fit one too).
MAX_KIB = limits.MAX_MEMORY_KIB

# What libvirt's virStrToLong_* accept: optional blanks, optional sign, digits (or hex
# digits after 0x). Python's int() also takes '1_000' and non-ASCII digits; libvirt does not.
_DECIMAL = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)
_HEX = re.compile(r"\s*[+-]?0[xX][0-9a-fA-F]+\s*", re.ASCII)


def local_tag(el: Element) -> str:
    """The element's tag without a namespace."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    if tag[0] == "{":
        return tag.rsplit("}", 1)[1]
    return tag


def canonical_uuid(value: str, where: str = "<uuid>") -> str:
    """``value`` as a canonical lowercase UUID; 32 hex digits with or without dashes."""
    if _CANON_UUID.fullmatch(value):
        return value
    text = value.strip()
    compact = text.replace("-", "")
    if len(compact) != 32 or not _HEX32.fullmatch(compact):
        raise XMLError(f"invalid UUID '{value}' in {where}")
    return str(_uuid.UUID(hex=compact))


def parse_int(
    text: str | None,
    where: str,
    *,
    allow_hex: bool = False,
    minimum: int = limits.LLONG_MIN,
    maximum: int = limits.LLONG_MAX,
) -> int:
    """An integer from XML text in ``minimum .. maximum``, or :class:`XMLError` naming ``where``.

    The bounds default to a C ``long long``, libvirt's widest signed type: a number
    the model keeps can always be written back and read again.
    """
    if text is None:
        raise XMLError(f"missing value in {where}")
    if _DECIMAL.fullmatch(text):
        value = int(text)
    elif allow_hex and _HEX.fullmatch(text):
        value = int(text.strip(), 16)
    else:
        raise XMLError(f"invalid value '{text}' in {where}: expected an integer")
    if value < minimum:
        if minimum == 0:
            raise XMLError(f"invalid value '{text}' in {where}: must not be negative")
        raise XMLError(f"invalid value '{text}' in {where}: must be at least {minimum}")
    if value > maximum:
        raise XMLError(f"invalid value '{text}' in {where}: must be at most {maximum}")
    return value


def parse_uint(
    text: str | None, where: str, *, allow_hex: bool = False, maximum: int = limits.ULLONG_MAX
) -> int:
    """A non-negative integer from XML text (at most an unsigned long long by default)."""
    if text is not None and text.isdigit() and text.isascii():  # the common case, without parse_int
        value = int(text)
        if value <= maximum:
            return value
    return parse_int(text, where, allow_hex=allow_hex, minimum=0, maximum=maximum)


def opt_uint(el: Element, attr: str, where: str, *, maximum: int = limits.ULLONG_MAX) -> int | None:
    """An optional non-negative integer attribute."""
    value = el.get(attr)
    if value is None:
        return None
    return parse_uint(value, f"{where} attribute '{attr}'", maximum=maximum)


def parse_memory(el: Element, where: str) -> int:
    """A memory size element (text + ``unit`` attribute) in KiB, rounded up like libvirt."""
    value = parse_uint(el.text, where)
    unit = el.get("unit")
    if unit is None:
        return _check_kib(value, where)
    scale = _UNITS.get(unit.lower())
    if scale is None:
        raise XMLError(f"unknown memory unit '{unit}' in {where}")
    if scale == 1024:
        return _check_kib(value, where)
    return _check_kib(-(-value * scale // 1024), where)


def parse_bytes(text: str | None, unit: str | None, where: str, *, maximum: int = limits.ULLONG_MAX) -> int:
    """A size in bytes from its text and optional ``unit`` (libvirt's virScaleInteger, scale 1).

    Units as :func:`parse_memory` (``b``/``bytes``, ``KB`` = 1000, ``K``/``KiB`` = 1024, ...,
    up to ``E``/``EiB``); a result above ``maximum`` (an unsigned long long) is an
    :class:`XMLError` naming ``where``.
    """
    value = parse_uint(text, where, maximum=maximum)
    if unit is None:
        return value
    scale = _UNITS.get(unit.lower())
    if scale is None:
        raise XMLError(f"unknown unit '{unit}' in {where}")
    if value * scale > maximum:
        raise XMLError(f"size '{text}' {unit} is too large in {where}: must be at most {maximum} bytes")
    return value * scale


def _check_kib(kib: int, where: str) -> int:
    if kib > MAX_KIB:
        raise XMLError(f"memory size {kib} KiB is too large in {where}")
    return kib


def parse_bool(value: str | None, where: str, *, yes: str = "yes", no: str = "no") -> bool | None:
    """An optional yes/no (or on/off) attribute value."""
    if value is None:
        return None
    if value == yes:
        return True
    if value == no:
        return False
    raise XMLError(f"invalid value '{value}' in {where}: expected '{yes}' or '{no}'")


def fmt_bool(value: bool | None, *, yes: str = "yes", no: str = "no") -> str | None:
    """The XML form of an optional boolean attribute."""
    if value is None:
        return None
    return yes if value else no


# ---------------------------------------------------------------------------- overlay


def start(raw: Element | None, tag: str) -> Element:
    """A fresh element to format into: a deep copy of ``raw``, or an empty ``tag``."""
    if raw is None:
        return etree.Element(tag)
    return dup(raw)


def dup(el: Element) -> Element:
    """A deep copy of ``el`` (lxml's ``__copy__`` is deep, without copy.deepcopy's overhead)."""
    return el.__copy__()  # type: ignore[attr-defined,no-any-return]


def set_attr(el: Element, name: str, value: str | int | None) -> None:
    """Set (or with ``None`` remove) an attribute."""
    if value is None:
        if name in el.attrib:
            del el.attrib[name]
    else:
        el.set(name, str(value))


def find(el: Element, tag: str) -> Element | None:
    """The first child called ``tag`` (no namespace), or None."""
    return next(el.iterchildren(tag), None)


def child(el: Element, tag: str, order: Sequence[str]) -> Element:
    """The first child ``tag`` of ``el``, created at its canonical position if missing."""
    found = find(el, tag)
    if found is not None:
        return found
    new = etree.Element(tag)
    insert_ordered(el, new, order)
    return new


_RANKS: dict[int, dict[str, int]] = {}


def insert_ordered(el: Element, new: Element, order: Sequence[str]) -> None:
    """Insert ``new`` before the first child that comes after it in ``order``."""
    ranks = _RANKS.get(id(order))
    if ranks is None:
        ranks = _RANKS[id(order)] = {tag: i for i, tag in enumerate(order)}
    rank = ranks.get(new.tag)  # type: ignore[call-overload,unused-ignore]
    if rank is None:
        el.append(new)
        return
    for pos, existing in enumerate(el):
        other = ranks.get(existing.tag)  # type: ignore[call-overload,unused-ignore]
        if other is not None and other > rank:
            el.insert(pos, new)
            return
    el.append(new)


def remove(el: Element, tag: str) -> int:
    """Remove every child called ``tag``; the index of the first removed (or -1)."""
    found = list(el.iterchildren(tag))
    if not found:
        return -1
    first = el.index(found[0])
    for existing in found:
        el.remove(existing)
    return first


def set_text_child(el: Element, tag: str, value: str | None, order: Sequence[str]) -> Element | None:
    """Set the text of child ``tag`` (created if needed), or remove it when ``value`` is None."""
    if value is None:
        remove(el, tag)
        return None
    target = child(el, tag, order)
    target.text = value
    return target


def replace_children(el: Element, tag: str, new: Iterable[Element], order: Sequence[str]) -> None:
    """Replace every child called ``tag`` by ``new``, in place of the first old one."""
    pos = remove(el, tag)
    items = list(new)
    if not items:
        return
    if pos < 0:
        insert_ordered(el, items[0], order)
        pos = el.index(items[0])
        items = items[1:]
        pos += 1
    for offset, item in enumerate(items):
        el.insert(pos + offset, item)


# ---------------------------------------------------------------------------- text output
#
# The fast formatting path writes XML text directly, byte-for-byte like lxml would
# serialize the overlaid tree. Whenever a value could make the two differ (characters XML
# cannot hold, unusual names), the helpers return ``None`` instead of text: the caller
# then declares the object not writable as text and the tree path formats it.


# Characters XML 1.0 cannot hold (lxml refuses them): left to lxml's error.
# (a class of the bad ones: compiling its complement costs milliseconds at import)
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TEXT_SPECIAL = re.compile("[&<>\r]")
_ATTR_SPECIAL = re.compile('[&<>"\n\r\t]')
_TEXT_ESC = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR_ESC = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
)
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def esc_text(value: object) -> str | None:
    """``value`` escaped as element text, exactly as lxml serializes it (``None``: XML cannot hold it)."""
    if type(value) is int:
        return str(value)
    s = value if type(value) is str else str(value)
    if s.isascii() and s.isprintable():
        return s.translate(_TEXT_ESC) if _TEXT_SPECIAL.search(s) else s
    if _BAD_CHARS.search(s):
        return None
    return s.translate(_TEXT_ESC)


def esc_attr(value: object) -> str | None:
    """``value`` escaped as a quoted attribute value, as lxml writes it (``None``: XML cannot hold it)."""
    s = value if type(value) is str else str(value)
    if s.isascii() and s.isprintable():
        return s.translate(_ATTR_ESC) if _ATTR_SPECIAL.search(s) else s
    if _BAD_CHARS.search(s):
        return None
    return s.translate(_ATTR_ESC)


def plain_name(name: object) -> str | None:
    """``name`` when it is a plain element name (no namespace), else ``None``."""
    if type(name) is not str or not _PLAIN_NAME.fullmatch(name):
        return None
    return name


def leaf_text(
    tag: str, text: object, keys: Sequence[str] = (), attrs: Sequence[tuple[str, object]] = ()
) -> str | None:
    """A leaf element with text, as the overlay of ``attrs`` onto one with attributes ``keys``.

    Attributes already present (``keys``, in document order) keep their position;
    new ones follow in ``attrs`` order; ``None`` values are left out. ``None`` when a
    value is one XML cannot hold.
    """
    head = leaf_open(tag, keys, attrs)
    body = esc_text(text)
    return None if body is None or head is None else f"{head}>{body}</{tag}>"


def leaf_open(tag: str, keys: Sequence[str] = (), attrs: Sequence[tuple[str, object]] = ()) -> str | None:
    """The start tag of :func:`leaf_text`'s element, without its closing ``>``."""
    head = "<" + tag
    if attrs:
        if keys:
            values = dict(attrs)
            pairs: list[tuple[str, object]] = [(k, values.pop(k, None)) for k in keys]
            pairs.extend(values.items())
        else:
            pairs = list(attrs)
        for k, v in pairs:
            if v is not None:
                ev = esc_attr(v)
                if ev is None:
                    return None
                head += f' {k}="{ev}"'
    return head


def fragment(el: Element, level: int) -> str | None:
    """``el`` serialized as it would be at depth ``level`` of an indented document.

    ``None`` when the standalone text could differ from the in-document one
    (namespace declarations, text after the element).
    """
    tail = el.tail
    if tail is not None and tail.strip():
        return None
    etree.indent(el, space="  ", level=level)
    text = etree.tostring(el, encoding="unicode", with_tail=False)
    if "xmlns" in text:
        return None
    return text


class Kids:
    """The children of an element being overlaid, indexed by tag once (first of each tag).

    The same operations as :func:`find`, :func:`child` and :func:`remove`, without a
    scan of the children per call; use only these (and :meth:`drop`) to change them.
    """

    __slots__ = ("el", "first", "order")

    def __init__(self, el: Element, order: Sequence[str]) -> None:
        self.el = el
        self.order = order
        first: dict[object, Element] = {}
        for c in el:
            if c.tag not in first:
                first[c.tag] = c
        self.first = first

    def find(self, tag: str) -> Element | None:
        """The first child ``tag``, or None."""
        return self.first.get(tag)

    def child(self, tag: str) -> Element:
        """The first child ``tag``, created at its canonical position if missing."""
        found = self.first.get(tag)
        if found is None:
            found = self.first[tag] = etree.Element(tag)
            insert_ordered(self.el, found, self.order)
        return found

    def remove(self, tag: str) -> None:
        """Remove every child ``tag``."""
        if tag in self.first:
            del self.first[tag]
            remove(self.el, tag)

    def drop(self, tag: str, el: Element) -> None:
        """Remove ``el``, the first child ``tag`` (other children ``tag`` stay)."""
        self.el.remove(el)
        del self.first[tag]
        nxt = find(self.el, tag)
        if nxt is not None:
            self.first[tag] = nxt

    def text(self, tag: str, value: str | None) -> None:
        """Set the text of child ``tag`` (created if needed), or remove it when ``value`` is None."""
        if value is None:
            self.remove(tag)
        else:
            self.child(tag).text = value

    def flag(self, tag: str, on: bool) -> None:
        """Make sure an empty flag child ``tag`` is there (``on``) or not."""
        if on:
            self.child(tag)
        else:
            self.remove(tag)


_SQ_ATTR_ESC = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        "'": "&apos;",
        '"': "&quot;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)


def single_quoted(el: Element) -> str:
    """``el`` (already indented) serialized as libvirt writes XML: attributes in single quotes.

    What lxml writes, but for the quotes (so the text equals libvirt's output for the
    documents libvirt formats so: node devices, host interfaces, secrets). An element
    with a namespace, or comments and processing instructions, fall back to lxml's text.
    """
    if any(not isinstance(e.tag, str) or e.tag.startswith("{") or e.nsmap for e in el.iter()):
        return etree.tostring(el, encoding="unicode")
    out: list[str] = []
    _write_sq(el, out)
    return "".join(out)


def _write_sq(el: Element, out: list[str]) -> None:
    tag = el.tag
    assert isinstance(tag, str)
    out.append("<" + tag)
    for k, v in el.attrib.items():
        name = k.decode() if isinstance(k, bytes) else k
        value = v.decode() if isinstance(v, bytes) else v
        out.append(f" {name}='{value.translate(_SQ_ATTR_ESC)}'")
    if el.text is None and len(el) == 0:
        out.append("/>")
    else:
        out.append(">")
        if el.text is not None:
            out.append(el.text.translate(_TEXT_ESC))
        for child in el:
            _write_sq(child, out)
            if child.tail is not None:
                out.append(child.tail.translate(_TEXT_ESC))
        out.append(f"</{tag}>")
