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

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, cast

import attrs
from lxml import etree

from virtcore import limits
from virtcore.errors import XMLError
from virtcore.xml import _util as u
from virtcore.xml._coverage import Node, combine, uncovered

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

    parse.accepted = accepted  # type: ignore[attr-defined]  # generated readers test it inline
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
    ``required``: parsing refuses an element without it (``attr``; ``cattr``: an empty
    value counts as missing; ``ctext`` and the other child kinds: the child must hold it;
    ``cattrs``: every child must have the attribute); ``"child"``: a ``cattr`` required when
    its child is there; a tuple of words: a switched ``cattr`` required when its ``on`` field
    has one of them. ``strip``: ``text``/``ctext`` values are read with surrounding white
    space removed (else as written).
    ``implied``: the value parsing gives when the element does not hold it (libvirt's default;
    a callable makes it, e.g. a generated MAC).
    ``on`` and ``switch``: a ``cattr`` whose attribute name depends on the value of field ``on``
    (declared before it): ``switch`` maps that value to the attribute (``"*"``: any other value;
    ``None`` or no entry: the field does not apply, and the element's content is left as is).
    ``pick``: (attribute, value): a ``cattr`` of the first child ``xml`` whose attribute has that
    value (formatting creates the child with it).
    ``also``: for an ``attr``, a second place of the same value (libvirt's older spelling or its
    newer one): parsing reads it when the attribute is absent; formatting writes the value
    wherever the element has it, and creates the attribute only when it has neither.
    """

    __slots__ = (
        "_subs", "also", "cls", "fmt", "implied", "kind", "name", "on", "parse", "pick", "required", "strip",
        "sub", "switch", "xml",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        kind: str,
        xml: str = "",
        sub: str = "",
        conv: tuple[Parse, Fmt] = STR,
        cls: type[SpecElement] | None = None,
        required: bool | str | tuple[str, ...] = False,
        implied: Any = None,
        on: str = "",
        switch: Mapping[str, str | None] | None = None,
        pick: tuple[str, str] | None = None,
        also: F | None = None,
        strip: bool = True,
    ) -> None:
        self.name = name
        self.required = required
        self.strip = strip
        self.kind = kind
        self.xml = xml
        self.sub = sub
        self.parse, self.fmt = conv
        self.cls = cls
        self.implied = implied
        self.on = on
        self.switch = switch
        self._subs = (sub,) if switch is None else tuple(sorted({s for s in switch.values() if s}))
        self.pick = pick
        self.also = also

    def child_in(self, el: Element) -> Element | None:
        """The child of ``el`` holding this field (a ``pick`` field's: the first that matches)."""
        pick = self.pick
        if pick is None:
            return u.find(el, self.xml)
        return next((c for c in el.iterchildren(self.xml) if c.get(pick[0]) == pick[1]), None)

    def sub_for(self, discriminator: object) -> str | None:
        """The attribute of a switched ``cattr`` for the value of its ``on`` field (else ``sub``)."""
        switch = self.switch
        if switch is None:
            return self.sub
        return (
            switch.get(discriminator, switch.get("*")) if isinstance(discriminator, str) else switch.get("*")
        )

    def subs(self) -> tuple[str, ...]:
        """Every attribute name the field may live in."""
        return self._subs

    def clone(self, name: str) -> F:
        """This description for field ``name``."""
        return F(
            name, self.kind, self.xml, self.sub, (self.parse, self.fmt), self.cls, self.required,
            self.implied, self.on, self.switch, self.pick, self.also and self.also.clone(name), self.strip,
        )  # fmt: skip


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
        """Parse the element (with the builder generated from the class's description)."""
        found = _BUILDERS.get(cls)
        if found is None or found[0] is not cls._spec:  # generated on first use (and anew if changed)
            found = _BUILDERS[cls] = (cls._spec, _compile_builder(cls))
        return found[1](el)

    @classmethod
    def from_light(cls, el: Any) -> Any:
        """Parse a light element of :mod:`virtcore.xml._fast` with the same generated reader as
        :meth:`from_element`; the object has no source element (``raw`` None)."""
        found = _LIGHT_BUILDERS.get(cls)
        if found is None or found[0] is not cls._spec:
            found = _LIGHT_BUILDERS[cls] = (cls._spec, _compile_builder(cls, light=True))
        return found[1](el)

    @classmethod
    def covered(cls) -> Node:
        """What the table types of the element (a node of the coverage tree)."""
        return spec_node(cls)

    def to_element(self) -> Element:
        """Format as the element (overlaying the fields onto the source element)."""
        el = u.start(self.raw, self._tag)
        format_fields(self, el)
        return el


def with_source(obj: Any, full: Any) -> Any:
    """``obj`` (read without its source elements, then perhaps evolved) holding the source
    elements of ``full``, the full parse of the same document: formatting then overlays
    ``obj``'s values onto them exactly as for an object the full parser made.
    """
    if obj.raw is not None or full is None or type(full) is not type(obj):
        return obj
    changes: dict[str, Any] = {"raw": full.raw}
    for f in obj._spec:
        value, source = getattr(obj, f.name), getattr(full, f.name)
        if f.kind == "one" and value is not None:
            changes[f.name] = with_source(value, source)
        elif (f.kind == "many" or f.kind == "cmany") and len(value) == len(source):
            changes[f.name] = tuple(with_source(v, s) for v, s in zip(value, source, strict=True))
    return attrs.evolve(obj, **changes)


def unmodelled(obj: SpecElement, root_tag: str | None = None) -> list[str]:
    """Paths (``pool/source/foo``, ``pool/@bar``) of what ``obj``'s XML holds and its model does not type.

    They are kept and written back verbatim; an object built in Python has none.
    ``root_tag`` is the paths' first step (default: the element's tag).
    """
    if obj.raw is None:
        return []
    return uncovered(obj.raw, type(obj).covered(), root_tag or obj._tag)


def check_covered(obj: SpecElement, what: str) -> None:
    """Refuse ``obj`` if its XML holds what its model does not type (the ``strict`` parsers' check).

    :raises XMLError: naming ``what`` (``storage pool 'default'``) and the paths :func:`unmodelled` lists.
    """
    found = unmodelled(obj)
    if found:
        raise XMLError(f"{what} has XML the model does not cover: {', '.join(found)}")


def format_xml(
    obj: SpecElement, what: str, nsmap: Mapping[str, str] | None = None, *, single_quotes: bool = False
) -> str:
    """``obj`` as XML text, indented like libvirt's (two spaces), ending in a newline as libvirt's.

    ``nsmap``: the namespaces to declare on the root, as libvirt does (``fs:`` on ``<pool>``).
    ``single_quotes``: attributes in single quotes, as libvirt writes node devices, host
    interfaces and secrets.

    :raises XMLError: a value holds text XML cannot represent (the message names ``what``,
        e.g. ``storage pool 'default'``).
    """
    try:
        el = obj.to_element()
        if nsmap:
            etree.cleanup_namespaces(el, top_nsmap=dict(nsmap))
        etree.indent(el, space="  ")
        el.tail = None
        return (u.single_quoted(el) if single_quotes else etree.tostring(el, encoding="unicode")) + "\n"
    except ValueError as exc:
        raise XMLError(f"{what} holds text XML cannot represent: {exc}") from None


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
    found = _PARSERS.get((id(spec), tag))
    if found is None or found[0] is not spec:
        if len(_PARSERS) > 4096:
            _PARSERS.clear()
        found = _PARSERS[(id(spec), tag)] = (spec, _compile_parser(spec, tag))
    return found[1](el)


#: The parser generated for each (description, tag): {(id(spec), tag): (spec, parser)}.
_PARSERS: dict[tuple[int, str], tuple[tuple[F, ...], Callable[[Element], dict[str, Any]]]] = {}


def _compile_parser(spec: tuple[F, ...], tag: str) -> Callable[[Element], dict[str, Any]]:
    """A function reading the fields of ``spec`` from a ``<tag>`` element (see :func:`reader_code`)."""
    env: dict[str, Any] = {}
    lines = ["def parse(el):", *reader_code(spec, tag, env)]
    lines.append("    return {" + "".join(f"{f.name!r}: x{i}, " for i, f in enumerate(spec)) + "}")
    return cast("Callable[[Element], dict[str, Any]]", generate(lines, env, "parse"))


#: The builder generated for each class (``from_element``), with the description it was made from.
_BUILDERS: dict[type[SpecElement], tuple[tuple[F, ...], Callable[[Element], Any]]] = {}
#: The same for light elements (``from_light``).
_LIGHT_BUILDERS: dict[type[SpecElement], tuple[tuple[F, ...], Callable[[Any], Any]]] = {}


def _compile_builder(cls: type[SpecElement], *, light: bool = False) -> Callable[[Element], Any]:
    """``cls.from_element``: :func:`reader_code` then the class called with the values.

    No dict of values is made and unpacked: the typed fields are passed positionally when
    they are the class's first parameters, in order (else by name), and ``raw`` by name.
    ``light``: ``cls.from_light``, the same code over a light element, keeping no ``raw``.
    """
    spec = cls._spec
    env: dict[str, Any] = {"CLS": cls}
    lines = ["def build(el):", *reader_code(spec, cls._tag, env, "from_light" if light else "from_element")]
    params = [a.name for a in attrs.fields(cast("Any", cls)) if a.init and not a.kw_only]
    positional = params[: len(spec)] == [f.name for f in spec]
    args = "".join(f"x{i}, " if positional else f"{f.name}=x{i}, " for i, f in enumerate(spec))
    lines.append(f"    return CLS({args}raw={'None' if light else 'el'})")
    return cast("Callable[[Element], Any]", generate(lines, env, "build"))


def generate(lines: list[str], env: dict[str, Any], name: str) -> Any:
    """The function ``name`` defined by ``lines`` (code generated from the descriptions only)."""
    exec("\n".join(lines), env)
    return env[name]


def reader_code(spec: tuple[F, ...], tag: str, env: dict[str, Any], build: str = "from_element") -> list[str]:
    """Code (in a function of ``el``) reading field ``i`` of ``spec`` into local ``x{i}``.

    ``build``: the class method nested elements are read with (``from_light`` for light ones).

    Generated from the descriptions once per class: straight-line code, as fast as a
    hand-written parser, with nothing hand-kept. ``firsts`` maps each child tag of ``el`` to its
    first child; ``env`` receives the names the code uses.
    """
    where = f"<{tag}>"
    env.update(
        XMLError=XMLError,
        parse_memory=u.parse_memory,
        parse_bytes=u.parse_bytes,
        _memory_of=_memory_of,
        parse_spec=parse_spec,
    )
    # children from the last to the first: the first of each tag is the one left in the dict
    lines = ["firsts = {c.tag: c for c in reversed(el)}"]
    local = {f.name: f"x{i}" for i, f in enumerate(spec)}
    for i, f in enumerate(spec):
        env[f"F{i}"], env[f"P{i}"] = f, f.parse
        conv = f.parse is not _p_str

        def call(text: str, at: str, i: int = i, conv: bool = conv) -> str:
            return f"P{i}({text}, {at})" if conv else text

        kind, xml, x = f.kind, repr(f.xml), f"x{i}"
        w = []
        if kind == "attr":
            w.append(f"{x} = el.get({xml})")
            accepted = getattr(f.parse, "accepted", None)
            if accepted is not None:  # one_of: the common case (an accepted word) needs no call
                env[f"W{i}"] = accepted
                w += [f"if {x} is not None and {x} not in W{i}:"]
                w.append(f"    {x} = {call(x, repr(f'{where} attribute {f.xml!r}'))}")
            elif conv:
                w += [f"if {x} is not None:", f"    {x} = {call(x, repr(f'{where} attribute {f.xml!r}'))}"]
        elif kind == "cattr":
            if f.pick is not None:
                w.append(f"c = F{i}.child_in(el)")
            elif not _same_child(spec, i):
                w.append(f"c = firsts.get({xml})")
            if f.switch is not None:  # the attribute's name depends on an earlier field's value
                env[f"S{i}"], env[f"D{i}"] = f.switch, f.switch.get("*")
                w += [f"s = S{i}.get({local[f.on]}, D{i})", f"{x} = None", "if c is not None and s:"]
                at = f"{where!r} + '<' + {xml} + '> attribute ' + repr(s)"
                w.append(f"    {x} = c.get(s)")
                if conv:
                    w += [f"    if {x} is not None:", f"        {x} = {call(x, at)}"]
                if f.required == "child":
                    msg = f"{where!r} + '<' + {xml} + '>'"
                    w.append("    else:" if conv else f"    if {x} is None:")
                    w.append(f"        raise XMLError('missing attribute ' + repr(s) + ' in ' + {msg})")
                elif isinstance(f.required, tuple):  # required with these values of the ``on`` field
                    env[f"R{i}"] = f.required
                    on = local[f.on]
                    # libvirt's words: No <source> 'network' attribute specified with <interface type=...
                    msg = f"' attribute specified with <{tag} {f.on}=' + repr({on}) + '/>'"
                    w += [
                        f"if not {x} and {on} in R{i}:",
                        f"    raise XMLError('No <{f.xml}> ' + repr(s) + {msg})",
                    ]
            else:
                at = repr(f"{where}<{f.xml}> attribute {f.sub!r}")
                w.append(f"{x} = None if c is None else c.get({f.sub!r})")
                if conv:
                    w += [f"if {x} is not None:", f"    {x} = {call(x, at)}"]
                if f.required == "child":
                    msg = repr(f"missing attribute {f.sub!r} in {where}<{f.xml}>")
                    w.append("elif c is not None:" if conv else f"if {x} is None and c is not None:")
                    w.append(f"    raise XMLError({msg})")
        elif kind == "flag":
            w.append(f"{x} = {xml} in firsts")
        elif kind == "text" or kind == "ctext":
            if kind == "text":
                at = repr(where)
                w.append(f"{x} = el.text")
            else:
                at = repr(f"{where}<{f.xml}>")
                w += [f"c = firsts.get({xml})", f"{x} = None if c is None else c.text"]
            if f.strip:  # white space only reads as no value
                w.append(f"{x} = {x}.strip() or None if {x} is not None else None")
                if conv:
                    w += [f"if {x} is not None:", f"    {x} = {call(x, at)}"]
            elif conv:
                w += [f"if {x} is not None:", f"    {x} = {call(x, at)}"]
        elif kind == "cattrs":
            at = repr(f"{where}<{f.xml}> attribute {f.sub!r}")
            w += [f"{x} = []", f"for y in el.iterchildren({xml}):", f"    t = y.get({f.sub!r})"]
            w.append("    if t is None:")
            if f.required:
                msg = repr(f"missing attribute {f.sub!r} in {where}<{f.xml}>")
                w.append(f"        raise XMLError({msg})")
            else:
                w.append("        continue")
            w += [f"    {x}.append({call('t', at)})", f"{x} = tuple({x})"]
        elif kind == "bytes":
            at = repr(f"{where}<{f.xml}>")
            w += [
                f"c = firsts.get({xml})",
                f"{x} = None if c is None else parse_bytes(c.text, c.get('unit'), {at})",
            ]
        elif kind == "cmany":
            env[f"C{i}"] = f.cls
            w += [
                f"c = firsts.get({xml})",
                f"{x} = ()",
                "if c is not None:",
                f"    {x} = tuple([C{i}.{build}(y) for y in c.iterchildren({f.sub!r})])",
            ]
        elif kind == "kib":
            at = repr(f"{where}<{f.xml}>")
            w += [f"c = firsts.get({xml})", f"{x} = None if c is None else parse_memory(c, {at})"]
        elif kind == "akib":
            at = repr(f"{where} attribute {f.xml!r}")
            w += [
                f"{x} = el.get({xml})",
                f"if {x} is not None:",
                f"    {x} = _memory_of({x}, el.get('unit'), {at})",
            ]
        elif kind == "many":
            env[f"C{i}"] = f.cls
            w.append(f"{x} = tuple(C{i}.{build}(y) for y in el.iterchildren({xml}))")
        elif kind == "one":
            env[f"C{i}"] = f.cls
            w += [f"c = firsts.get({xml})", f"{x} = None if c is None else C{i}.{build}(c)"]
        else:
            raise ValueError(f"unknown field kind {kind!r}")
        if f.also is not None:
            env[f"A{i}"] = (f.also,)
            w += [f"if {x} is None:", f"    {x} = parse_spec(A{i}, {tag!r}, el)[{f.name!r}]"]
        if f.required is True and (kind == "attr" or kind == "cattr"):
            at = where if kind == "attr" else f"{where}<{f.xml}>"
            msg = f"missing attribute '{f.sub or f.xml}' in {at}"
            # an empty child attribute is none (an empty own attribute is left to the class's check)
            empty = f" or {x} == ''" if kind == "cattr" else ""
            w += [f"if {x} is None{empty}:", f"    raise XMLError({msg!r})"]
        elif f.required is True and kind != "cattrs":
            msg = f"missing <{f.xml}> in {where}: it is required"
            w += [f"if {x} is None:", f"    raise XMLError({msg!r})"]
        if f.implied is not None:
            env[f"I{i}"] = f.implied
            w += [f"if {x} is None:", f"    {x} = I{i}()" if callable(f.implied) else f"    {x} = I{i}"]
        lines += w
    return ["    " + line for line in lines]


def _set(el: Element, attr: str, value: Any, f: F, where: str) -> None:
    """Set attribute ``attr`` to ``value``, keeping the source spelling when it means the same."""
    old = el.get(attr)
    text = None if value is None else f.fmt(value)
    if old is not None:
        if old == text:
            return
        try:
            if f.parse(old, where) == value:
                return  # the source says the same (``None``: a spelling read as no value)
        except XMLError:
            pass
    if text is None:
        if old is not None:
            del el.attrib[attr]
        return
    el.set(attr, text)


def _empty(el: Element) -> bool:
    return not el.attrib and not len(el) and not (el.text or "").strip()


def format_fields(obj: SpecElement, el: Element) -> None:
    """Overlay ``obj``'s field values onto ``el`` (a copy of its source element)."""
    format_spec(obj, obj._spec, obj._tag, obj._order, el)


def format_spec(obj: Any, spec: tuple[F, ...], tag: str, order: tuple[str, ...], el: Element) -> None:
    """Overlay the values of ``obj``'s fields in ``spec`` onto ``el`` (a copy of its source ``<tag>``)."""
    where = f"<{tag}>"
    kids = u.Kids(el, order)  # the children by tag, kept up to date below
    for f in spec:
        value = getattr(obj, f.name)
        kind = f.kind
        if kind == "attr":
            if f.also is not None and f.also.child_in(el) is not None:
                format_spec(obj, (f.also,), tag, order, el)
                if el.get(f.xml) is None:
                    continue  # the value lives in the other place only
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
            c = kids.find(f.xml) if f.pick is None else f.child_in(el)
            sub = f.sub if f.switch is None else f.sub_for(getattr(obj, f.on))
            if not sub:
                continue  # the field does not apply to this element: its content stays as is
            if value is None:
                if c is not None:
                    _set(c, sub, None, f, where)
                    if _empty(c):
                        if kids.find(f.xml) is c:
                            kids.drop(f.xml, c)
                        else:
                            el.remove(c)
            else:
                if c is None:
                    if f.pick is None:
                        c = kids.child(f.xml)
                    else:
                        c = etree.Element(f.xml)
                        c.set(*f.pick)
                        u.insert_ordered(el, c, order)
                        kids.first.setdefault(f.xml, c)
                elif f.switch is not None:
                    for other in f.subs():
                        if other != sub:
                            u.set_attr(c, other, None)
                _set(c, sub, value, f, where)
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
            elif (
                _text_value_or_none(f, c.text, where) != value
                or (c.text or "").strip() != f.fmt(value).strip()
            ):
                # a value read in another spelling (a UUID without dashes, a hex number) is written
                # libvirt's way; the source's whitespace around the same text is kept
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
                kids.remove(f.xml)
            else:
                # libvirt writes every size it read in bytes, whatever unit the source used
                c = kids.child(f.xml)
                if c.text != str(value):
                    c.text = str(value)
                if c.get("unit") != "bytes":
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


def _text_value(f: F, text: str | None, where: str) -> Any:
    """The value of text ``text`` of a ``text``/``ctext`` field (None for no text)."""
    if text is None:
        return None
    if f.strip:
        text = text.strip()
        if not text:
            return None
    return f.parse(text, where)


def _text_value_or_none(f: F, text: str | None, where: str) -> Any:
    try:
        return _text_value(f, text, where)
    except XMLError:
        return _UNREADABLE


#: What an unreadable source text is worth: equal to no value, so it is always rewritten.
_UNREADABLE = object()


def _same_child(spec: tuple[F, ...], i: int) -> bool:
    """Whether field ``i`` is a ``cattr`` of the same (first) child as field ``i - 1``."""
    if i == 0:
        return False
    f, prev = spec[i], spec[i - 1]
    return f.kind == prev.kind == "cattr" and f.xml == prev.xml and f.pick is None and prev.pick is None


def writer_code(spec: tuple[F, ...], tag: str, order: tuple[str, ...], env: dict[str, Any]) -> list[str]:
    """Code (in a function of ``obj`` and ``el``) doing :func:`format_spec`'s overlay of ``spec``.

    Generated from the descriptions once per class, like :func:`reader_code`: the fields of the
    common kinds get straight-line code, the others call :func:`format_spec` for that field.
    """
    where = f"<{tag}>"
    env.update(Kids=u.Kids, _set=_set, _empty=_empty, format_spec=format_spec, ORDER=order)
    env["_text_value_or_none"] = _text_value_or_none
    lines = ["kids = Kids(el, ORDER)"]
    for i, f in enumerate(spec):
        env[f"F{i}"] = f
        kind, xml, name = f.kind, repr(f.xml), f.name
        w = []
        env[f"M{i}"] = f.fmt
        if kind == "attr" and f.also is None:
            w += [
                f"v = obj.{name}",
                "if v is None:",
                f"    if {xml} in el.attrib:",
                f"        _set(el, {xml}, None, F{i}, {where!r})",
                f"elif el.get({xml}) != M{i}(v):",  # else unchanged (the common case)
                f"    _set(el, {xml}, v, F{i}, {where!r})",
            ]
        elif kind == "cattr" and f.pick is None:
            w.append(f"v = obj.{name}")
            if not _same_child(spec, i):
                w.append(f"c = kids.find({xml})")
            ind = ""
            if f.switch is not None:
                env[f"S{i}"], env[f"D{i}"] = f.switch, f.switch.get("*")
                w += [f"s = S{i}.get(obj.{f.on}, D{i})", "if s:"]
                ind, sub = "    ", "s"
            else:
                sub = repr(f.sub)
            w += [
                f"{ind}if v is None:",
                f"{ind}    if c is not None:",
                f"{ind}        if {sub} in c.attrib:",
                f"{ind}            _set(c, {sub}, None, F{i}, {where!r})",
                f"{ind}        if _empty(c):",
                f"{ind}            kids.drop({xml}, c)",
                f"{ind}            c = kids.find({xml})",
                f"{ind}else:",
                f"{ind}    if c is None:",
                f"{ind}        c = kids.child({xml})",
            ]
            if f.switch is not None:
                w += [
                    f"{ind}    else:",
                    f"{ind}        for other in F{i}.subs():",
                    f"{ind}            if other != s and other in c.attrib:",
                    f"{ind}                del c.attrib[other]",
                ]
            w += [f"{ind}    if c.get({sub}) != M{i}(v):", f"{ind}        _set(c, {sub}, v, F{i}, {where!r})"]
        elif kind == "flag":
            w.append(f"kids.flag({xml}, obj.{name})")
        elif kind == "ctext":
            w += [
                f"v = obj.{name}",
                f"c = kids.find({xml})",
                "if v is None:",
                "    if c is not None and c.text is not None:",
                "        c.text = None",
                "        if _empty(c):",
                f"            kids.drop({xml}, c)",
                "elif c is None:",
                f"    kids.child({xml}).text = M{i}(v)",
                f"elif _text_value_or_none(F{i}, c.text, {where!r}) != v:",
                f"    c.text = M{i}(v)",
            ]
        else:
            env[f"T{i}"] = (f,)
            w += [f"format_spec(obj, T{i}, {tag!r}, ORDER, el)", "kids = Kids(el, ORDER)"]
        lines += w
    return ["    " + line for line in lines]


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
        if f.also is not None:
            alt = spec_covers((f.also,))
            assert isinstance(alt, tuple)
            attrs.update(alt[0])
            for k, v in alt[1].items():
                if isinstance(v, tuple):
                    subs.setdefault(k, set()).update(v[0])
        if f.kind == "attr":
            attrs.add(f.xml)
        elif f.kind == "akib":
            attrs.update((f.xml, "unit"))
        elif f.kind in ("cattr", "ctext", "cattrs", "kib", "bytes", "flag"):
            sub = subs.setdefault(f.xml, set())
            if f.kind == "cattr":
                sub.update(f.subs())
                if f.pick is not None:
                    sub.add(f.pick[0])
            elif f.kind == "cattrs":
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
    required: bool | str | tuple[str, ...] = False,
    implied: Any = None,
    on: str = "",
    switch: Mapping[str, str | None] | None = None,
    pick: tuple[str, str] | None = None,
    also: F | None = None,
    strip: bool = True,
) -> Any:
    """An attrs field that says where its value lives in the element (see :class:`F` for ``kind``).

    Parsing, formatting and the coverage report of a class whose fields are declared so
    pick them up from :func:`described`; adding such a typed attribute is one line::

        driver_io: str | None = typed("cattr", "driver", "io")

    ``default`` is the value when the class is built in Python (``attrs.NOTHING``: the
    argument is required); ``implied`` the value parsing gives when the XML leaves it out.
    """
    return attrs.field(
        default=default,
        metadata={_META: F("", kind, xml, sub, conv, cls, required, implied, on, switch, pick, also, strip)},
    )


_DESCRIBED: dict[type, tuple[F, ...]] = {}


def described(cls: type) -> tuple[F, ...]:
    """The :class:`F` of every field of attrs class ``cls`` declared with :func:`typed`, in order."""
    found = _DESCRIBED.get(cls)
    if found is None:
        found = ()
        for a in attrs.fields(cls):
            f = a.metadata.get(_META)
            if f is not None:
                found += (f.clone(a.name),)
        _DESCRIBED[cls] = found
    return found


# ---------------------------------------------------------------------------- text from the description
#
# An element built in Python (no source element to overlay) is written as text straight from its
# description, exactly as the tree formatter would build and lxml serialize (and indent) it:
# attributes in the order the fields set them, children created in libvirt's order (``_order``,
# as :func:`virtcore.xml._util.insert_ordered` places them). ``None`` whenever that is not
# certain (a source element, a value XML cannot hold, a field kind the text does not write):
# the caller then formats the tree.


class _Child:
    """A child being written: its attribute text, its text, or its whole text (a nested element)."""

    __slots__ = ("attrs", "rank", "tag", "text", "whole")

    def __init__(self, tag: str, rank: int | None, whole: str | None = None) -> None:
        self.tag, self.rank, self.whole = tag, rank, whole
        self.attrs = ""
        self.text: str | None = None

    def render(self) -> str:
        if self.whole is not None:
            return self.whole
        if self.text is None:
            return f"<{self.tag}{self.attrs}/>"
        return f"<{self.tag}{self.attrs}>{self.text}</{self.tag}>"


#: libvirt's order of the children, as ranks by tag, for each order tuple.
_RANKS: dict[tuple[str, ...], dict[str, int]] = {}


def _insert(kids: list[_Child], new: _Child) -> None:
    """Place ``new`` as :func:`virtcore.xml._util.insert_ordered` does."""
    if new.rank is not None:
        for pos, existing in enumerate(kids):
            if existing.rank is not None and existing.rank > new.rank:
                kids.insert(pos, new)
                return
    kids.append(new)


def _attr_text(name: str, value: Any, f: F) -> str | None:
    text = u.esc_attr(f.fmt(value))
    return None if text is None else f' {name}="{text}"'


def spec_writable(obj: Any, spec: tuple[F, ...]) -> bool:
    """Whether every value of ``obj``'s fields can be written as XML (no control character)."""
    for f in spec:
        value = getattr(obj, f.name)
        if type(value) is str:
            if not (value.isascii() and value.isprintable()) and u.esc_text(value) is None:
                return False
        elif value is None or type(value) is int or type(value) is bool:
            continue  # the text of a number or a boolean is plain
        elif f.kind == "one":
            if not spec_writable(value, value._spec):
                return False
        elif f.kind == "many" or f.kind == "cmany":
            if not all(spec_writable(x, x._spec) for x in value):
                return False
        elif f.kind == "cattrs":
            if any(u.esc_text(f.fmt(x)) is None for x in value):
                return False
        elif u.esc_text(f.fmt(value)) is None:
            return False
    return True


def writable_code(spec: tuple[F, ...], env: dict[str, Any]) -> list[str]:
    """Code (in a function of ``obj``) returning False when a value of ``obj``'s fields in ``spec``
    is one XML cannot hold, as :func:`spec_writable` (generated once per class, like :func:`reader_code`)."""
    env.update(esc_text=u.esc_text, spec_writable=spec_writable)
    lines = []
    for i, f in enumerate(spec):
        env[f"M{i}"] = f.fmt
        lines += [
            f"v = obj.{f.name}",
            "if type(v) is str:",
            "    if not (v.isascii() and v.isprintable()) and esc_text(v) is None:",
            "        return False",
            "elif v is None or type(v) is int or type(v) is bool:",
            "    pass",
        ]
        if f.kind == "one":
            lines += ["elif not spec_writable(v, v._spec):", "    return False"]
        elif f.kind == "many" or f.kind == "cmany":
            lines += ["elif not all(spec_writable(y, y._spec) for y in v):", "    return False"]
        elif f.kind == "cattrs":
            lines += [f"elif any(esc_text(M{i}(y)) is None for y in v):", "    return False"]
        else:
            lines += [f"elif esc_text(M{i}(v)) is None:", "    return False"]
    return ["    " + line for line in lines]


def spec_text(
    obj: Any, spec: tuple[F, ...], tag: str, order: tuple[str, ...], level: int, tail: tuple[str, ...] = ()
) -> str | None:
    """``obj``'s element (``raw`` None) as text at depth ``level`` of an indented document.

    ``tail``: the text of children the caller appends after the described ones (at depth
    ``level + 1``). ``None`` when only the tree formatter is exact for it.
    """
    if obj.raw is not None:
        return None
    ranks = _RANKS.get(order)
    if ranks is None:
        ranks = _RANKS[order] = {t: i for i, t in enumerate(order)}
    head = "<" + tag
    kids: list[_Child] = []
    firsts: dict[str, _Child] = {}
    for f in spec:
        value = getattr(obj, f.name)
        kind = f.kind
        if kind == "attr":
            if value is not None:
                piece = _attr_text(f.xml, value, f)
                if piece is None:
                    return None
                head += piece
        elif kind == "cattr" or kind == "ctext" or kind == "flag":
            if value is None or (kind == "flag" and not value):
                continue
            sub = f.sub if f.switch is None else f.sub_for(getattr(obj, f.on))
            if kind == "cattr" and not sub:
                continue
            c = firsts.get(f.xml) if f.pick is None else None
            if c is None:
                c = _Child(f.xml, ranks.get(f.xml))
                if f.pick is not None:
                    c.attrs = f' {f.pick[0]}="{f.pick[1]}"'
                else:
                    firsts[f.xml] = c
                _insert(kids, c)
            if kind == "cattr":
                piece = _attr_text(sub or "", value, f)
                if piece is None:
                    return None
                c.attrs += piece
            elif kind == "ctext":
                c.text = u.esc_text(f.fmt(value))
                if c.text is None:
                    return None
        elif kind == "one" or kind == "many":
            items = () if value is None else (value,) if kind == "one" else value
            first = True
            pos = 0
            for item in items:
                text = spec_text(item, item._spec, item._tag, item._order, level + 1)
                if text is None:
                    return None
                c = _Child(f.xml, ranks.get(f.xml), text)
                if first:
                    _insert(kids, c)
                    pos = kids.index(c) + 1
                    first = False
                else:
                    kids.insert(pos, c)
                    pos += 1
        else:
            return None  # the other kinds: not written from the description (none of the devices has them)
    texts = [c.render() for c in kids]
    texts.extend(tail)
    if not texts:
        return head + "/>"
    inner = "\n" + "  " * (level + 1)
    return head + ">" + inner + inner.join(texts) + "\n" + "  " * level + f"</{tag}>"
