"""Declarative typed elements: a field table drives parsing, overlay formatting and ``unmodelled``.

A class deriving from :class:`SpecElement` lists its fields in ``_spec`` as
:class:`F` entries saying where each value lives in the element (an attribute,
the element's text, an attribute or the text of a child, an attribute of every
child of a name, a flag child, a memory size, repeated or single sub-elements,
directly or inside a wrapping child). Formatting overlays the values
onto a copy of the source element and only rewrites what changed, so values
keep the spelling of the source (``0x04`` stays ``0x04``) and everything the
table does not name stays in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import attrs
from lxml import etree

from virtcore import limits
from virtcore.errors import XMLError
from virtcore.xml import _util as u
from virtcore.xml._coverage import Node, combine

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


def _p_ulong(text: str, where: str) -> int:
    return u.parse_uint(text, where)


#: An unsigned decimal (no hex) up to an ``unsigned long long``.
ULONG: tuple[Parse, Fmt] = (_p_ulong, str)


def one_of(words: Iterable[str], what: str = "value") -> tuple[Parse, Fmt]:
    """A converter accepting only ``words`` (an enum-valued attribute, a ``what``): else an XMLError."""
    accepted = frozenset(words)
    listed = ", ".join(sorted(accepted))

    def parse(text: str, where: str) -> str:
        if text not in accepted:
            raise XMLError(f"unknown {what} '{text}' in {where}: expected one of {listed}")
        return text

    return (parse, str)


def _p_word(text: str, where: str) -> str:
    if not text:
        raise XMLError(f"empty value in {where}: a name is required")
    return text


#: A string that must not be empty (a name).
WORD: tuple[Parse, Fmt] = (_p_word, str)


def ranged(minimum: int, maximum: int, what: str) -> tuple[Parse, Fmt]:
    """A decimal integer in ``minimum .. maximum`` (``what`` names it in the error)."""

    def parse(text: str, where: str) -> int:
        try:
            return u.parse_int(text, where, minimum=minimum, maximum=maximum)
        except XMLError:
            raise XMLError(f"invalid {what} '{text}' in {where}: must be in [{minimum},{maximum}]") from None

    return parse, str


class F:
    """One field of a :class:`SpecElement`.

    ``kind``: ``attr`` (attribute ``xml``), ``text`` (the element's text), ``cattr``
    (attribute ``sub`` of the first child ``xml``), ``ctext`` (text of the first child
    ``xml``), ``cattrs`` (attribute ``sub`` of every child ``xml``, a tuple), ``kib``
    (child ``xml`` holding a memory size with a ``unit``), ``bytes`` (child ``xml``
    holding a size in bytes with a ``unit``, as storage XML writes it), ``akib`` (attribute ``xml``
    holding a size whose unit is attribute ``unit``), ``flag`` (presence of child
    ``xml``), ``many`` / ``one`` (children ``xml`` parsed by ``cls``), ``cmany``
    (children ``sub`` of the first child ``xml``, parsed by ``cls``).
    ``required``: parsing refuses an element without it (``attr``, ``cattr``, ``ctext``,
    and every child of ``cattrs``). ``strip``: ``text``/``ctext`` values are read with
    surrounding white space removed (else as written). ``implied``: the value parsing gives
    when the element does not hold it (libvirt's default).
    """

    __slots__ = ("cls", "fmt", "implied", "kind", "name", "parse", "required", "strip", "sub", "xml")

    def __init__(
        self,
        name: str,
        kind: str,
        xml: str = "",
        sub: str = "",
        conv: tuple[Parse, Fmt] = STR,
        cls: type[SpecElement] | None = None,
        required: bool = False,
        strip: bool = True,
        implied: Any = None,
    ) -> None:
        self.name = name
        self.required = required
        self.strip = strip
        self.implied = implied
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


class _Reader:
    """How to read a spec, worked out once per spec: the fields by where they live."""

    __slots__ = ("by_child", "implied", "own", "required")

    def __init__(self, spec: tuple[F, ...]) -> None:
        #: every field's value when the element does not give it
        self.implied: dict[str, Any] = {
            f.name: () if f.kind in ("many", "cattrs", "cmany") else False if f.kind == "flag" else f.implied
            for f in spec
        }
        #: the fields read from the element itself, and those read from its children by tag
        self.own = tuple(f for f in spec if f.kind in ("attr", "text", "akib"))
        by_child: dict[str, list[F]] = {}
        for f in spec:
            if f.kind not in ("attr", "text", "akib"):
                by_child.setdefault(f.xml, []).append(f)
        self.by_child = {tag: tuple(fs) for tag, fs in by_child.items()}
        self.required = tuple(f for f in spec if f.required)


_READERS: dict[tuple[F, ...], _Reader] = {}


def parse_spec(spec: tuple[F, ...], tag: str, el: Element) -> dict[str, Any]:
    """The values of the fields of ``spec`` read from ``el`` (a ``<tag>`` element)."""
    reader = _READERS.get(spec)
    if reader is None:
        reader = _READERS[spec] = _Reader(spec)
    where = f"<{tag}>"
    values = dict(reader.implied)
    value: Any
    for f in reader.own:
        kind = f.kind
        value = None
        if kind == "attr":
            text = el.get(f.xml)
            if text is not None:
                # (a plain string needs no reading, nor the place named for an error)
                value = text if f.parse is _p_str else f.parse(text, f"{where} attribute '{f.xml}'")
        elif kind == "text":
            value = _text_value(f, el.text, where)
        else:  # akib
            text = el.get(f.xml)
            if text is not None:
                value = _memory_of(text, el.get("unit"), f"{where} attribute '{f.xml}'")
        if value is not None:
            values[f.name] = value
    by_child = reader.by_child
    if by_child and len(el):
        groups: dict[str, list[Element]] = {}
        for child in el:
            ctag = child.tag
            if ctag in by_child:
                found = groups.get(ctag)  # type: ignore[call-overload]
                if found is None:
                    groups[ctag] = [child]  # type: ignore[index]
                else:
                    found.append(child)
        for ctag, children in groups.items():
            for f in by_child[ctag]:
                value = _child_value(f, children, where)
                if value is not None:
                    values[f.name] = value
    for f in reader.required:
        if values[f.name] is None:
            if f.kind not in ("attr", "cattr"):
                raise XMLError(f"missing <{f.xml}> in {where}: it is required")
            where_attr = where if f.kind == "attr" else f"{where}<{f.xml}>"
            raise XMLError(f"missing attribute '{f.sub or f.xml}' in {where_attr}")
    return values


def _child_value(f: F, children: list[Element], where: str) -> Any:
    """The value of field ``f`` read from ``children`` (the children ``f.xml``, in order)."""
    kind = f.kind
    c = children[0]
    if kind == "cattr":
        text = c.get(f.sub)
        if text is None or f.parse is _p_str:
            return text
        return f.parse(text, f"{where}<{f.xml}> attribute '{f.sub}'")
    if kind == "ctext":
        return _text_value(f, c.text, f"{where}<{f.xml}>")
    if kind == "flag":
        return True
    if kind == "many":
        assert f.cls is not None
        return tuple([f.cls.from_element(x) for x in children])
    if kind == "cattrs":
        found = []
        for x in children:
            text = x.get(f.sub)
            if text is None:
                if f.required:
                    raise XMLError(f"missing attribute '{f.sub}' in {where}<{f.xml}>")
                continue
            found.append(
                text if f.parse is _p_str else f.parse(text, f"{where}<{f.xml}> attribute '{f.sub}'")
            )
        return tuple(found)
    if kind == "kib":
        return u.parse_memory(c, f"{where}<{f.xml}>")
    if kind == "bytes":
        return u.parse_bytes(c.text, c.get("unit"), f"{where}<{f.xml}>")
    assert f.cls is not None
    if kind == "one":
        return f.cls.from_element(c)
    # cmany
    return tuple([f.cls.from_element(x) for x in c.iterchildren(f.sub)])


def _text_value(f: F, text: str | None, where: str) -> Any:
    """The value of text ``text`` of a ``text``/``ctext`` field (None for no text)."""
    if text is None:
        return None
    if f.strip:
        text = text.strip()
        if not text:
            return None
    return f.parse(text, where)


def _set(el: Element, attr: str, value: Any, f: F, where: str) -> None:
    """Set attribute ``attr`` to ``value``, keeping the source spelling when it means the same."""
    old = el.get(attr)
    if old is not None:
        try:
            if f.parse(old, where) == value:
                return  # the source says the same (``None``: a spelling read as no value)
        except XMLError:
            pass
    if value is None:
        if old is not None:
            del el.attrib[attr]
        return
    el.set(attr, f.fmt(value))


def _empty(el: Element) -> bool:
    return not el.attrib and not len(el) and not (el.text or "").strip()


def format_fields(obj: SpecElement, el: Element) -> None:
    """Overlay ``obj``'s field values onto ``el`` (a copy of its source element)."""
    format_spec(obj, obj._spec, obj._tag, obj._order, el)


def format_spec(obj: Any, spec: tuple[F, ...], tag: str, order: tuple[str, ...], el: Element) -> None:
    """Overlay the values of ``obj``'s fields in ``spec`` onto ``el`` (a copy of its source ``<tag>``)."""
    where = f"<{tag}>"
    kids = u.Kids(el, order)  # the first child of each tag, kept up to date below
    c: Element | None
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
            if _text_value_or_none(f, el.text, where) != value:
                el.text = None if value is None else f.fmt(value)
        elif kind == "cattr":
            c = kids.find(f.xml)
            if value is None:
                if c is not None:
                    _set(c, f.sub, None, f, where)
                    if _empty(c):
                        kids.drop(f.xml, c)
            else:
                _set(kids.child(f.xml), f.sub, value, f, where)
        elif kind == "ctext":
            c = kids.find(f.xml)
            if value is None:
                # no value: the text goes (even one that reads as unset, as libvirt
                # writes no <group>-1</group>), the child too unless it holds more
                if c is not None and c.text is not None:
                    c.text = None
                    if _empty(c):
                        kids.drop(f.xml, c)
            elif c is None:
                kids.child(f.xml).text = f.fmt(value)
            elif _text_value_or_none(f, c.text, where) != value:
                c.text = f.fmt(value)
        elif kind == "cattrs":
            if not value and kids.find(f.xml) is None:
                continue
            olds = [x for x in el if x.tag == f.xml]
            if [_parse_or_none(f, x.get(f.sub) or "", where) for x in olds] != list(value):
                news = []
                for v in value:
                    new = etree.Element(f.xml)
                    new.set(f.sub, f.fmt(v))
                    news.append(new)
                u.replace_children(el, f.xml, news, order)
                _refresh(kids, f.xml)
        elif kind == "kib":
            if value is None:
                kids.remove(f.xml)
            else:
                c = kids.child(f.xml)
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
            kids.flag(f.xml, bool(value))
        elif kind == "many":
            if not value and kids.find(f.xml) is None:
                continue
            src = [] if obj.raw is None else [x for x in obj.raw if x.tag == f.xml]
            _overlay_many(el, f.xml, value, src, order)
            _refresh(kids, f.xml)
        elif kind == "one":
            if value is None:
                kids.remove(f.xml)
            else:
                u.replace_children(el, f.xml, [value.to_element()], order)
                _refresh(kids, f.xml)
        elif kind == "cmany":
            c = kids.find(f.xml)
            if not value:
                if c is not None:
                    u.remove(c, f.sub)
                    if _empty(c):
                        kids.drop(f.xml, c)
                continue
            c = kids.child(f.xml)
            held = None if obj.raw is None else u.find(obj.raw, f.xml)
            src = [] if held is None else list(held.iterchildren(f.sub))
            _overlay_many(c, f.sub, value, src, ())


def _refresh(kids: u.Kids, tag: str) -> None:
    """Index the first child ``tag`` again after the children of that tag were replaced."""
    found = u.find(kids.el, tag)
    if found is None:
        kids.first.pop(tag, None)
    else:
        kids.first[tag] = found


def _overlay_many(
    el: Element, tag: str, value: tuple[Any, ...], src: list[Element], order: tuple[str, ...]
) -> None:
    """Write the objects ``value`` as the children ``tag`` of ``el`` (``src``: those of the source)."""
    olds = [c for c in el if c.tag == tag]
    items = [o.to_element() for o in value]
    if len(src) == len(olds) == len(items) and all(o.raw is orig for o, orig in zip(value, src, strict=True)):
        # the same children in the same places: overlay each in place
        for prev, new in zip(olds, items, strict=True):
            new.tail = prev.tail
            el.replace(prev, new)
    else:
        u.replace_children(el, tag, items, order)


def _text_value_or_none(f: F, text: str | None, where: str) -> Any:
    try:
        return _text_value(f, text, where)
    except XMLError:
        return _UNREADABLE


#: What an unreadable source text is worth: equal to no value, so it is always rewritten.
_UNREADABLE = object()


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
        elif f.kind in ("cattr", "ctext", "cattrs", "kib", "bytes", "flag"):
            sub = subs.setdefault(f.xml, set())
            if f.kind in ("cattr", "cattrs"):
                sub.add(f.sub)
            elif f.kind in ("kib", "bytes"):
                sub.add("unit")
        elif f.kind in ("many", "one", "cmany"):
            assert f.cls is not None
            found = f.cls.covered() if f.kind != "cmany" else (frozenset(), {f.sub: f.cls.covered()})
            nested[f.xml] = combine(nested[f.xml], found) if f.xml in nested else found
    children: dict[str, Node] = {k: (frozenset(v), {}) for k, v in subs.items()}
    for k, found in nested.items():
        children[k] = combine(children[k], found) if k in children else found
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
    strip: bool = True,
    implied: Any = None,
) -> Any:
    """An attrs field that says where its value lives in the element (see :class:`F` for ``kind``).

    Parsing, formatting and the coverage report of a class whose fields are declared so
    pick them up from :func:`described`; adding such a typed attribute is one line::

        driver_io: str | None = typed("cattr", "driver", "io")

    ``default`` is the value when the class is built in Python (``attrs.NOTHING``: the
    argument is required); ``implied`` the value parsing gives when the XML leaves it out.
    """
    meta = {_META: F("", kind, xml, sub, conv, cls, required, strip, implied)}
    return attrs.field(default=default, metadata=meta)


_DESCRIBED: dict[type, tuple[F, ...]] = {}


def described(cls: type) -> tuple[F, ...]:
    """The :class:`F` of every field of attrs class ``cls`` declared with :func:`typed`, in order."""
    found = _DESCRIBED.get(cls)
    if found is None:
        found = ()
        for a in attrs.fields(cls):
            f = a.metadata.get(_META)
            if f is not None:
                conv = (f.parse, f.fmt)
                found += (F(a.name, f.kind, f.xml, f.sub, conv, f.cls, f.required, f.strip, f.implied),)
        _DESCRIBED[cls] = found
    return found
