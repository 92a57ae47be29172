"""Declarative typed elements: a field table drives parsing, overlay formatting and ``unmodelled``.

A class deriving from :class:`SpecElement` lists its fields in ``_spec`` as
:class:`F` entries saying where each value lives in the element (an attribute,
the element's text, an attribute or the text of a child, a flag child, a
memory size, repeated or single sub-elements). Formatting overlays the values
onto a copy of the source element and only rewrites what changed, so values
keep the spelling of the source (``0x04`` stays ``0x04``) and everything the
table does not name stays in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import attrs
from lxml import etree

from virtcore import limits
from virtcore.errors import XMLError
from virtcore.xml import _util as u
from virtcore.xml._coverage import Node

Element = etree._Element

# value converters: (parse text -> value, value -> text)
Parse = Callable[[str, str], Any]
Fmt = Callable[[Any], str]


def _p_str(text: str, where: str) -> str:
    return text


def _p_uint(text: str, where: str) -> int:
    return u.parse_uint(text, where, allow_hex=True)


def _p_int(text: str, where: str) -> int:
    return u.parse_int(text, where, allow_hex=True)


def _p_yes(text: str, where: str) -> bool | None:
    return u.parse_bool(text, where)


def _p_on(text: str, where: str) -> bool | None:
    return u.parse_bool(text, where, yes="on", no="off")


def _f_yes(value: Any) -> str:
    return "yes" if value else "no"


def _f_on(value: Any) -> str:
    return "on" if value else "off"


def hex_fmt(width: int) -> Fmt:
    """Format integers as libvirt does for addresses (``0x`` and ``width`` digits)."""
    return lambda v: f"0x{v:0{width}x}"


STR: tuple[Parse, Fmt] = (_p_str, str)
UINT: tuple[Parse, Fmt] = (_p_uint, str)
INT: tuple[Parse, Fmt] = (_p_int, str)
YESNO: tuple[Parse, Fmt] = (_p_yes, _f_yes)
ONOFF: tuple[Parse, Fmt] = (_p_on, _f_on)


def _p_uint32(text: str, where: str) -> int:
    return u.parse_uint(text, where, maximum=limits.UINT_MAX)


#: An unsigned 32-bit decimal (libvirt's ``unsigned int`` attributes without hex).
UINT32: tuple[Parse, Fmt] = (_p_uint32, str)


class F:
    """One field of a :class:`SpecElement`.

    ``kind``: ``attr`` (attribute ``xml``), ``text`` (the element's text), ``cattr``
    (attribute ``sub`` of the first child ``xml``), ``ctext`` (text of the first child
    ``xml``), ``kib`` (child ``xml`` holding a memory size with a ``unit``), ``akib``
    (attribute ``xml`` holding a size whose unit is attribute ``unit``), ``flag``
    (presence of child ``xml``), ``many`` / ``one`` (children ``xml`` parsed by ``cls``).
    ``required``: parsing refuses an element without it.
    """

    __slots__ = ("cls", "fmt", "kind", "name", "parse", "required", "sub", "xml")

    def __init__(
        self,
        name: str,
        kind: str,
        xml: str = "",
        sub: str = "",
        conv: tuple[Parse, Fmt] = STR,
        cls: type[SpecElement] | None = None,
        required: bool = False,
    ) -> None:
        self.name = name
        self.required = required
        self.kind = kind
        self.xml = xml
        self.sub = sub
        self.parse, self.fmt = conv
        self.cls = cls


class SpecElement:
    """Mixin of the attrs classes whose XML mapping is a ``_spec`` table."""

    __slots__ = ()
    _tag: ClassVar[str] = ""
    _spec: ClassVar[tuple[F, ...]] = ()
    #: libvirt's order of the children, for the ones that have to be created
    _order: ClassVar[tuple[str, ...]] = ()
    raw: Element | None
    _frag: list[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__attrs_attrs__" in cls.__dict__:  # attrs has built the class: its fields are known
            typed_fields = described(cls)
            if typed_fields:
                cls._spec = typed_fields

    @classmethod
    def from_element(cls, el: Element) -> Any:
        """Parse the element."""
        return cls(**parse_fields(cls, el), raw=el)  # type: ignore[call-arg]

    @classmethod
    def covered(cls) -> Node:
        """What the table types of the element (a node of the coverage tree)."""
        return spec_node(cls)

    def to_element(self) -> Element:
        """Format as the element (overlaying the fields onto the source element)."""
        el = u.start(self.raw, self._tag)
        format_fields(self, el)
        return el


def _memory_of(text: str | None, unit: str | None, where: str) -> int:
    fake = etree.Element("m")
    fake.text = text
    if unit is not None:
        fake.set("unit", unit)
    return u.parse_memory(fake, where)


def parse_fields(cls: type[SpecElement], el: Element) -> dict[str, Any]:
    """The field values of ``cls`` read from ``el``."""
    return parse_spec(cls._spec, cls._tag, el)


def parse_spec(spec: tuple[F, ...], tag: str, el: Element) -> dict[str, Any]:
    """The values of the fields of ``spec`` read from ``el`` (a ``<tag>`` element)."""
    where = f"<{tag}>"
    firsts: dict[object, Element] = {}
    many: dict[object, list[Element]] = {}
    for child in el:
        tag = child.tag
        if tag not in firsts:
            firsts[tag] = child
        many.setdefault(tag, []).append(child)
    values: dict[str, Any] = {}
    c: Element | None
    for f in spec:
        kind = f.kind
        value: Any = None
        if kind == "attr":
            text = el.get(f.xml)
            if text is not None:
                value = f.parse(text, f"{where} attribute '{f.xml}'")
        elif kind == "text":
            if el.text is not None and el.text.strip():
                value = f.parse(el.text.strip(), where)
        elif kind == "cattr":
            c = firsts.get(f.xml)
            text = None if c is None else c.get(f.sub)
            if text is not None:
                value = f.parse(text, f"{where}<{f.xml}> attribute '{f.sub}'")
        elif kind == "ctext":
            c = firsts.get(f.xml)
            if c is not None and c.text is not None and c.text.strip():
                value = f.parse(c.text.strip(), f"{where}<{f.xml}>")
        elif kind == "kib":
            c = firsts.get(f.xml)
            if c is not None:
                value = u.parse_memory(c, f"{where}<{f.xml}>")
        elif kind == "bytes":
            c = firsts.get(f.xml)
            if c is not None:
                value = u.parse_bytes(c.text, c.get("unit"), f"{where}<{f.xml}>")
        elif kind == "akib":
            text = el.get(f.xml)
            if text is not None:
                value = _memory_of(text, el.get("unit"), f"{where} attribute '{f.xml}'")
        elif kind == "flag":
            value = f.xml in firsts
        elif kind == "many":
            assert f.cls is not None
            value = tuple(f.cls.from_element(x) for x in many.get(f.xml, ()))
        elif kind == "one":
            assert f.cls is not None
            c = firsts.get(f.xml)
            value = None if c is None else f.cls.from_element(c)
        if value is None and f.required:
            if kind in ("attr", "cattr"):
                where_attr = where if kind == "attr" else f"{where}<{f.xml}>"
                raise XMLError(f"missing attribute '{f.sub or f.xml}' in {where_attr}")
            raise XMLError(f"missing <{f.xml}> in {where}")
        values[f.name] = value
    return values


def _set(el: Element, attr: str, value: Any, f: F, where: str) -> None:
    """Set attribute ``attr`` to ``value``, keeping the source spelling when it means the same."""
    old = el.get(attr)
    if value is None:
        if old is not None:
            del el.attrib[attr]
        return
    if old is not None:
        try:
            if f.parse(old, where) == value:
                return
        except XMLError:
            pass
    el.set(attr, f.fmt(value))


def _empty(el: Element) -> bool:
    return not el.attrib and not len(el) and not (el.text or "").strip()


def format_fields(obj: SpecElement, el: Element) -> None:
    """Overlay ``obj``'s field values onto ``el`` (a copy of its source element)."""
    format_spec(obj, obj._spec, obj._tag, obj._order, el)


def format_spec(obj: Any, spec: tuple[F, ...], tag: str, order: tuple[str, ...], el: Element) -> None:
    """Overlay the values of ``obj``'s fields in ``spec`` onto ``el`` (a copy of its source ``<tag>``)."""
    where = f"<{tag}>"
    for f in spec:
        value = getattr(obj, f.name)
        kind = f.kind
        if kind == "attr":
            _set(el, f.xml, value, f, where)
        elif kind == "akib":
            old = el.get(f.xml)
            if value is None:
                if old is not None:
                    del el.attrib[f.xml]
                    u.set_attr(el, "unit", None)
                continue
            try:
                same = old is not None and _memory_of(old, el.get("unit"), where) == value
            except XMLError:
                same = False
            if not same:
                el.set(f.xml, str(value))
                el.set("unit", "KiB")
        elif kind == "text":
            if value is None:
                el.text = None
            elif el.text is None or _parse_or_none(f, el.text.strip(), where) != value:
                el.text = f.fmt(value)
        elif kind == "cattr":
            c = u.find(el, f.xml)
            if value is None:
                if c is not None:
                    u.set_attr(c, f.sub, None)
                    if _empty(c):
                        el.remove(c)
            else:
                if c is None:
                    c = u.child(el, f.xml, order)
                _set(c, f.sub, value, f, where)
        elif kind == "ctext":
            if value is None:
                u.remove(el, f.xml)
            else:
                c = u.child(el, f.xml, order)
                if c.text is None or _parse_or_none(f, c.text.strip(), where) != value:
                    c.text = f.fmt(value)
        elif kind == "kib":
            if value is None:
                u.remove(el, f.xml)
            else:
                c = u.child(el, f.xml, order)
                try:
                    same = u.parse_memory(c, where) == value
                except XMLError:
                    same = False
                if not same:
                    c.text = str(value)
                    c.set("unit", "KiB")
        elif kind == "bytes":
            if value is None:
                u.remove(el, f.xml)
            else:
                c = u.child(el, f.xml, order)
                try:
                    same = u.parse_bytes(c.text, c.get("unit"), where) == value
                except XMLError:
                    same = False
                if not same:
                    c.text = str(value)
                    c.set("unit", "bytes")
        elif kind == "flag":
            if value:
                u.child(el, f.xml, order)
            else:
                u.remove(el, f.xml)
        elif kind == "many":
            olds = [c for c in el if c.tag == f.xml]
            items = [o.to_element() for o in value]
            src = [] if obj.raw is None else [c for c in obj.raw if c.tag == f.xml]
            if len(src) == len(olds) == len(items) and all(
                o.raw is orig for o, orig in zip(value, src, strict=True)
            ):
                # the same children in the same places: overlay each in place
                for prev, new in zip(olds, items, strict=True):
                    new.tail = prev.tail
                    el.replace(prev, new)
            else:
                u.replace_children(el, f.xml, items, order)
        elif kind == "one":
            if value is None:
                u.remove(el, f.xml)
            else:
                u.replace_children(el, f.xml, [value.to_element()], order)


def _parse_or_none(f: F, text: str, where: str) -> Any:
    try:
        return f.parse(text, where) if text else None
    except XMLError:
        return None


def spec_node(cls: type[SpecElement]) -> Node:
    """``cls``'s table as a node of the coverage tree (see :mod:`virtcore.xml._coverage`)."""
    return spec_covers(cls._spec)


def spec_covers(spec: tuple[F, ...]) -> Node:
    """What the fields of ``spec`` type, as a node of the coverage tree."""
    attrs: set[str] = set()
    subs: dict[str, set[str]] = {}
    nested: dict[str, Node] = {}
    for f in spec:
        if f.kind == "attr":
            attrs.add(f.xml)
        elif f.kind == "akib":
            attrs.update((f.xml, "unit"))
        elif f.kind in ("cattr", "ctext", "kib", "bytes", "flag"):
            sub = subs.setdefault(f.xml, set())
            if f.kind == "cattr":
                sub.add(f.sub)
            elif f.kind in ("kib", "bytes"):
                sub.add("unit")
        elif f.kind in ("many", "one"):
            assert f.cls is not None
            nested[f.xml] = f.cls.covered()
    children: dict[str, Node] = {k: (frozenset(v), {}) for k, v in subs.items()}
    children.update(nested)
    return frozenset(attrs), children


_META = "virtcore.xml"


def typed(
    kind: str,
    xml: str = "",
    sub: str = "",
    conv: tuple[Parse, Fmt] = STR,
    cls: type[SpecElement] | None = None,
    default: Any = None,
    required: bool = False,
) -> Any:
    """An attrs field that says where its value lives in the element (see :class:`F` for ``kind``).

    Parsing, formatting and the coverage report of a class whose fields are declared so
    pick them up from :func:`described`; adding such a typed attribute is one line::

        driver_io: str | None = typed("cattr", "driver", "io")
    """
    return attrs.field(default=default, metadata={_META: F("", kind, xml, sub, conv, cls, required)})


_DESCRIBED: dict[type, tuple[F, ...]] = {}


def described(cls: type) -> tuple[F, ...]:
    """The :class:`F` of every field of attrs class ``cls`` declared with :func:`typed`, in order."""
    found = _DESCRIBED.get(cls)
    if found is None:
        found = ()
        for a in attrs.fields(cls):
            f = a.metadata.get(_META)
            if f is not None:
                found += (F(a.name, f.kind, f.xml, f.sub, (f.parse, f.fmt), f.cls, f.required),)
        _DESCRIBED[cls] = found
    return found
