"""Formatting a domain as text: :func:`format_domain` and its fast path.

:func:`format_domain` writes the text directly rather than serializing a fresh
tree: the source's kept children are serialized once per source element, and
every immutable sub-object (os, clock, cpu, tuning elements, each device) caches
its own fragment, so a definition changed with :func:`attrs.evolve` only formats
what changed. :func:`~virtcore.xml.domain.domain_to_element` (the tree) is the
reference the text must equal byte for byte. The text path declares whether it
can write a definition (:func:`_format_text` returns ``None`` when only the tree is
exact); no exception steers between the two.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import attrs
from lxml import etree

from virtcore.xml import _util as u
from virtcore.xml._base import Element
from virtcore.xml._layout import _DOMAIN_ORDER
from virtcore.xml._lazy import _el
from virtcore.xml._parser import MAX_XML_BYTES, MAX_XML_NODES, check_size
from virtcore.xml.devices import Device
from virtcore.xml.domain import (
    _SIMPLE,
    DOMAIN_TYPES,
    FIXED_PARTS,
    HEAD_LEAVES,
    PARTS,
    REPLACED_PARTS,
    TAIL_LEAVES,
    DomainDef,
    Leaf,
    Part,
    _check_writable,
    _serialize,
    domain_to_element,
)
from virtcore.xml.guest import CPU, OS, Clock

if TYPE_CHECKING:
    from virtcore.xml._spec import SpecElement
    from virtcore.xml.elements import (
        HyperV,
        KVMFeatures,
    )

__all__ = [
    "format_domain",
]

#: Text no longer than this many characters is within the parser's limits whatever it holds
#: (at most 4 bytes of UTF-8 each, and at most one element or attribute each).
_SURELY_READABLE = min(MAX_XML_BYTES // 4, MAX_XML_NODES)


def format_domain(d: DomainDef, *, domain_id: int | None = None) -> str:
    """Format a domain definition as libvirt domain XML.

    The result is cached on the (immutable) definition, so formatting the same
    object again is cheap.

    :param domain_id: when given, the running domain's id (``<domain id='N'>``).
    :raises XMLError: when the definition holds a value the model could not read back
        (see :mod:`virtcore.limits`) or that XML cannot hold (a control character), or its
        text would exceed the parser's size limits.
    """
    cache = d._xml_cache
    text = cache.get(domain_id)
    if text is not None:
        return text
    _check_writable(d)
    text = _format_text(d, domain_id)
    if text is None:
        text = _serialize(domain_to_element(d, domain_id=domain_id))
    # indentation can make the text larger than its source: never hand out a definition
    # that parse_domain (a loader, another process) would refuse
    if len(text) > _SURELY_READABLE:
        check_size(text, what=f"the XML of domain '{d.name}'")
    if len(cache) < 8:
        cache[domain_id] = text
    return text


# ---------------------------------------------------------------------------- fast text path
#
# format_domain writes text directly instead of building and serializing an lxml tree: it
# replays domain_to_element's steps on a list of top-level (tag, text) entries. The text of
# the children the model does not type comes from a template serialized once per source
# element; typed sub-objects (os, clock, cpu, each device) cache their own fragment, so a
# definition changed with attrs.evolve only formats what it changed. Every piece says
# whether it can be written as text (None, or "" for a cached fragment, when it cannot);
# then the whole definition goes to the tree path.

_MARK = "\ue000"
_DOMAIN_RANKS = {tag: i for i, tag in enumerate(_DOMAIN_ORDER)}
_LEAVES = HEAD_LEAVES + TAIL_LEAVES
#: Attributes the tree path may set on each simple element (others force the tree path).
_SIMPLE_ATTRS: dict[str, frozenset[str]] = {
    leaf.tag: frozenset(k for k, _ in leaf.attributes) for leaf in _LEAVES if leaf.attributes
}
_NO_ATTRS: frozenset[str] = frozenset()
_FIELDS = attrs.fields_dict(DomainDef)
#: The leaves a definition may leave out (their field defaults to None and is written as is).
_OPTIONAL_LEAVES = tuple(
    leaf for leaf in _LEAVES if leaf.text is None and _FIELDS[leaf.field].default is None
)


def _getter(names: tuple[str, ...]) -> Callable[[DomainDef], tuple[Any, ...]]:
    """The values of the fields ``names`` of a definition, as a tuple (even of one)."""
    get = operator.attrgetter(*names)
    if len(names) == 1:
        return lambda d: (get(d),)
    return get


#: The layout key (see _plan) says which of these fields hold nothing: the optional
#: leaves and described parts (``None``), then ``features`` and the parts held in tuples
#: (empty).
_KEY_NONE = (
    *(leaf.field for leaf in _OPTIONAL_LEAVES),
    *(part.field for part in REPLACED_PARTS if not part.many),
)
_KEY_EMPTY = ("features", *(part.field for part in REPLACED_PARTS if part.many))
_KEY_FIELDS = _KEY_NONE + _KEY_EMPTY
_key_values = _getter(_KEY_FIELDS)
_N_NONE = len(_KEY_NONE)
_NONES = (None,) * _N_NONE
_is, _not = operator.is_, operator.not_


def _absent_of(values: tuple[object, ...]) -> tuple[bool, ...]:
    """Which of the values of _KEY_FIELDS say "left out": the key of a layout (see _plan)."""
    return (*map(_is, values[:_N_NONE], _NONES), *map(_not, values[_N_NONE:]))


def _absent(d: DomainDef) -> tuple[bool, ...]:
    """Which optional parts the definition leaves out (over _KEY_FIELDS): the key of its layout."""
    return _absent_of(_key_values(d))


_single_parts = _getter(tuple(part.field for part in PARTS if not part.many))
_many_parts = _getter(tuple(part.field for part in PARTS if part.many))


def _described_parts(d: DomainDef) -> list[SpecElement | None]:
    """The definition's parts written as cached fragments at depth 1 (None for absent ones)."""
    found: list[SpecElement | None] = list(_single_parts(d))
    for items in _many_parts(d):
        found += items
    return found


#: Top-level elements whose first occurrence is written from the model.
_ONCE_TYPED = _SIMPLE | {part.tag for part in FIXED_PARTS} | {"devices"}
#: Top-level elements all written from the model.
_ALL_TYPED = frozenset(part.tag for part in REPLACED_PARTS)


class _Template:
    """What formatting needs from a domain's source element, computed once per element."""

    __slots__ = (
        "devices_attrs", "devices_text", "features", "head", "hyperv", "kvm", "last_plan", "plans",
        "shape", "tail", "texts",
    )  # fmt: skip

    def __init__(
        self,
        head: str,
        tail: str,
        shape: tuple[tuple[object, tuple[str, ...] | None], ...],
        texts: tuple[str, ...],
        devices_attrs: str,
        features: tuple[str, ...] | None,
    ) -> None:
        self.head = head  # '<domain ... type=' (namespace declarations first)
        self.tail = tail  # the other attributes of <domain>, then '>'
        # top-level children: (tag, attribute names), the names None when the element
        # holds more than the text path can overlay; and their indented text ("" for the
        # typed ones, written from the model)
        self.shape = shape
        self.texts = texts
        self.devices_attrs = devices_attrs  # attributes of the source <devices>, as text
        self.features = features  # child names of the first <features>
        # top-level layouts by which optional parts are absent (see _plan)
        self.plans: dict[tuple[bool, ...], _Plan | None] = {}
        # the layout of the last definition formatted, by the values of its _KEY_FIELDS
        self.last_plan: tuple[tuple[object, ...], _Plan | None] | None = None
        # the last <devices> text: (devices tuple, emulator, text)
        self.devices_text: tuple[tuple[Device, ...], str | None, str] | None = None
        # <hyperv> and <kvm> of the first <features>, as parsed
        self.hyperv: HyperV | None = None
        self.kvm: KVMFeatures | None = None


# a prefixed element or attribute name: its text may need namespace declarations
_PREFIXED = re.compile(r'<[^\s/>:]*:|\s[^\s="<>:]*:[^\s="<>]*="')


def _batch(
    nsmap: dict[str | None, str] | None,
    kept: list[Element],
    objs: list[OS | Clock | CPU | SpecElement],
    devs: list[Device],
) -> list[str] | None:
    """One indent and one serialization for many fragments.

    Returns the text of the ``kept`` source children (at depth 1, in the domain's namespace
    context) and fills the fragment caches of ``objs`` (depth 1) and ``devs`` (depth 2).
    Devices go in batches of :data:`_DEVICE_BATCH`, so that the copies made to serialize
    them never hold more than one batch: formatting a definition of many thousand devices
    costs a small multiple of its text, not a second tree of the whole document.
    ``None`` when the document holds the marker character (fragments left to compute one by one).
    """
    for start in range(0, len(devs), _DEVICE_BATCH):
        if _batch_of(nsmap, [], [], devs[start : start + _DEVICE_BATCH]) is None:
            return None
    return _batch_of(nsmap, kept, objs, [])


#: Devices serialized together by :func:`_batch`.
_DEVICE_BATCH = 256


def _batch_of(
    nsmap: dict[str | None, str] | None,
    kept: list[Element],
    objs: list[OS | Clock | CPU | SpecElement],
    devs: list[Device],
) -> list[str] | None:
    """:func:`_batch` for one tree: every element given, serialized in one go."""
    root = etree.Element("domain", nsmap=cast("dict[str, str]", nsmap))
    for c in kept:
        root.append(u.dup(c))
    trailing: set[int] = set()  # objects whose element has text after it
    for obj in objs:
        el = obj.to_element()
        if el.tail is not None and el.tail.strip():
            trailing.add(id(obj))
        root.append(el)
    holder = etree.SubElement(root, "devices")
    for dev in devs:
        el = dev.to_element()
        if el.tail is not None and el.tail.strip():
            trailing.add(id(dev))
        holder.append(el)
    etree.indent(root, space="  ")
    root.text = holder.text = _MARK
    for c in root:
        c.tail = _MARK
    for c in holder:
        c.tail = _MARK
    pieces = etree.tostring(root, encoding="unicode").split(_MARK)
    n_kept, n_objs = len(kept), len(objs)
    if len(pieces) != n_kept + n_objs + len(devs) + 4:
        return None  # the document itself holds the marker character
    for obj, text in zip(objs, pieces[1 + n_kept : 1 + n_kept + n_objs], strict=True):
        _set_frag(obj, text, 1, id(obj) in trailing)
    for dev, text in zip(devs, pieces[2 + n_kept + n_objs : -2], strict=True):
        _set_frag(dev, text, 2, id(dev) in trailing)
    return pieces[1 : 1 + n_kept]


def _from_description(devs: list[Device]) -> list[Device]:
    """Fill the fragments of the devices built in Python from their descriptions, and declare
    the ones holding a value XML cannot hold (left to the tree path); the others, to serialize."""
    rest = []
    for dev in devs:
        text = None if dev.raw is not None else dev.described_text(2)
        if text is not None:
            dev._frag[:] = (text,)
        elif not dev.writable():
            dev._frag[:] = ("",)
        else:
            rest.append(dev)
    return rest


def _set_frag(obj: Device | OS | Clock | CPU | SpecElement, text: str, level: int, trailing: bool) -> None:
    if trailing:
        text = ""
    elif ":" in text and _PREFIXED.search(text):
        # namespaced content: only a standalone serialization shows what it declares
        text = u.fragment(obj.to_element(), level) or ""
    obj._frag[:] = (text,)


def _template(
    raw: Element, objs: list[OS | Clock | CPU | SpecElement], devs: list[Device]
) -> _Template | None:
    """The template of ``raw``; fills the fragment caches of ``objs`` and ``devs`` on the way.

    ``None`` when only the tree path is exact for a definition read from ``raw``.
    """
    nsmap = raw.nsmap
    if not nsmap and all(k == "type" or k == "id" for k in raw.attrib):
        head, tail = "<domain type=", ">"
    else:
        sk = etree.Element("domain", nsmap=cast("dict[str, str]", nsmap))
        sk.set("type", _MARK)
        for key, value in raw.attrib.items():
            if key != "type" and key != "id":
                sk.set(key, value)
        parts = etree.tostring(sk, encoding="unicode").split(f'"{_MARK}"')
        if len(parts) != 2 or not parts[1].endswith("/>"):
            return None
        head, tail = parts[0], parts[1][:-2] + ">"
    if raw.text is not None and raw.text.strip():
        return None
    # The children formatting keeps as they are get their text from a copy made as the
    # tree path makes it (namespace declarations reconciled alike). The typed ones (the
    # first of each simple element, of each fixed part and <devices>, every element of the
    # other described parts: domain.PARTS) are written from the model.
    typed: set[object] = set()
    kept: list[Element] = []
    keep: list[bool] = []
    shape: list[tuple[object, tuple[str, ...] | None]] = []
    devices_attrs: str | None = None
    features: tuple[str, ...] | None = None
    hyperv: HyperV | None = None
    kvm: KVMFeatures | None = None
    for c in raw:
        t = c.tail
        if t is not None and t.strip():
            return None
        tag = c.tag
        keys: tuple[str, ...] | None = None
        if tag in _ALL_TYPED or (tag in _ONCE_TYPED and tag not in typed):
            typed.add(tag)
            keep.append(False)
            if tag in _SIMPLE:
                names = tuple(cast("list[str]", c.keys()))
                if not len(c) and _SIMPLE_ATTRS.get(tag, _NO_ATTRS).issuperset(names):
                    keys = names
            elif tag == "devices" and c.attrib:
                if any(k[0] == "{" for k in c.attrib):
                    return None
                # the source's own values: lxml read them, so XML holds them
                devices_attrs = "".join(f' {k!s}="{u.esc_attr(v)}"' for k, v in c.attrib.items())
        else:
            kept.append(c)
            keep.append(True)
            if tag == "features" and features is None:
                features = tuple(u.local_tag(f) for f in c)
                for f in c:
                    if f.tag == "hyperv" and hyperv is None:
                        hyperv = _el().HyperV.from_element(f)
                    elif f.tag == "kvm" and kvm is None:
                        kvm = _el().KVMFeatures.from_element(f)
        shape.append((tag, keys))
    batch = _batch(nsmap, kept, objs, devs) if kept or objs or devs else []
    if batch is None:
        return None
    texts = iter(batch)
    all_texts = tuple(next(texts) if k else "" for k in keep)
    tmpl = _Template(head, tail, tuple(shape), all_texts, devices_attrs or "", features)
    tmpl.hyperv, tmpl.kvm = hyperv, kvm
    return tmpl


_EMPTY_TEMPLATE = _Template("<domain type=", ">", (), (), "", None)


def _frag_of(obj: Device | OS | Clock | CPU | SpecElement, level: int) -> str | None:
    """``obj``'s element as text at depth ``level``, cached on the (immutable) object.

    ``None`` when only the tree path is exact for it.
    """
    cache = obj._frag
    if cache:
        text = cache[0]
    else:
        text = u.fragment(obj.to_element(), level) or ""
        cache.append(text)
    return text or None


#: A piece of the text written from the model: its text, or None when only the tree is exact.
_Slot = Callable[["DomainDef"], "str | None"]
# a layout: indexes of kept source texts, and slots written from the model
_Plan = tuple["int | _Slot", ...]
#: Layouts shared by every template of the same shape: {(shape, absent): plan}.
_PLANS: dict[tuple[object, ...], _Plan | None] = {}
_NO_PLAN: Any = object()


_UNSET = object()


def _memo_slot(get: Callable[[DomainDef], object], make: Callable[[DomainDef], str | None]) -> _Slot:
    """A slot formatting ``make(d)``, remembering it for the last ``get(d)`` (by identity, or equal tuple)."""
    last: list[tuple[object, str | None]] = [(_UNSET, "")]

    def slot(d: DomainDef) -> str | None:
        value = get(d)
        seen = last[0]
        if seen[0] is value or (type(value) is tuple and seen[0] == value):
            return seen[1]
        text = make(d)
        last[0] = (value, text)
        return text

    return slot


def _leaf_slot(leaf: Leaf, keys: tuple[str, ...]) -> _Slot:
    """The slot writing ``leaf`` over a source element whose attributes are ``keys``."""
    tag = leaf.tag
    get_text: Callable[[DomainDef], object] = (
        operator.attrgetter(leaf.field) if leaf.text is None else leaf.text
    )
    if all(type(v) is str for _, v in leaf.attributes):  # constants only: memo by the text
        opening = u.leaf_open(tag, keys, leaf.attributes)
        if opening is None:  # a constant XML cannot hold: never written as text
            return _memo_slot(get_text, lambda d: None)
        start, end = opening + ">", f"</{tag}>"
        return _memo_slot(get_text, lambda d: _wrap(start, u.esc_text(get_text(d)), end))
    return _memo_slot(
        operator.attrgetter(leaf.field, *leaf.reads),
        lambda d: u.leaf_text(tag, get_text(d), keys, leaf.attr_values(d)),
    )


def _wrap(head: str, body: str | None, tail: str) -> str | None:
    return None if body is None else head + body + tail


def _part_slot(part: Part) -> _Slot:
    """The slot writing a described part (every one of its objects, when it holds many)."""
    get = operator.attrgetter(part.field)
    if not part.many:

        def one(d: DomainDef) -> str | None:
            cache = get(d)._frag  # the fragment cached on the object, as in _frag_of
            return (cache[0] or None) if cache else _frag_of(get(d), 1)

        return one

    def slot(d: DomainDef) -> str | None:
        texts = [_frag_of(x, 1) for x in get(d)]
        return None if None in texts else "\n  ".join(cast("list[str]", texts))

    return slot


_PART_SLOTS: dict[str, _Slot] = {part.tag: _part_slot(part) for part in PARTS}


def _features_slot(d: DomainDef) -> str | None:
    return _features_text(d.features)


def _devices_slot(d: DomainDef) -> str | None:
    """A marker in plans: _format_text writes ``<devices>`` itself (its text is cached per tuple)."""
    return None


def _plan(tmpl: _Template, absent: tuple[bool, ...]) -> _Plan | None:
    """The top-level layout for a definition whose optional parts are ``absent``.

    It replays domain_to_element's steps on (tag, text or slot, attribute names) entries;
    ``None`` when only the tree path is exact for this layout.
    """
    gone = {field for field, no in zip(_KEY_FIELDS, absent, strict=True) if no}
    ranks = _DOMAIN_RANKS
    ents: list[list[object]] = []

    def insert(entry: list[object]) -> None:
        rank = ranks.get(entry[0])  # type: ignore[call-overload]
        if rank is not None:
            for pos, e in enumerate(ents):
                other = ranks.get(e[0])  # type: ignore[call-overload]
                if other is not None and other > rank:
                    ents.insert(pos, entry)
                    return
        ents.append(entry)

    # as domain_to_element: the fixed parts and <devices> in place of their first source
    # element (later ones dropped), or inserted in libvirt's order
    firsts = {part.tag: _PART_SLOTS[part.tag] for part in FIXED_PARTS}
    firsts["devices"] = _devices_slot
    done: set[object] = set()
    for text, (tag, keys) in enumerate(tmpl.shape):
        slot = firsts.get(tag)  # type: ignore[call-overload]
        if slot is None:
            ents.append([tag, text, keys])
        elif tag not in done:
            ents.append([tag, slot, None])
            done.add(tag)
    for tag, slot in firsts.items():
        if tag not in done:
            insert([tag, slot, None])
    index: dict[object, list[object]] = {}
    for e in ents:
        if e[0] in _SIMPLE and e[0] not in index:
            index[e[0]] = e

    def put(leaf: Leaf) -> bool:
        tag = leaf.tag
        found = index.get(tag)
        if leaf.field in gone:
            if found is not None:
                del ents[next(i for i, e in enumerate(ents) if e is found)]
            return True
        if found is None:
            found = index[tag] = [tag, "", ()]
            insert(found)
        keys = found[2]
        if keys is None:
            return False
        found[1] = _leaf_slot(leaf, cast("tuple[str, ...]", keys))
        return True

    if not all(put(leaf) for leaf in HEAD_LEAVES):
        return None

    def replace_all(tag: str, slot: _Slot | None) -> None:
        first = -1
        for pos in range(len(ents) - 1, -1, -1):
            if ents[pos][0] == tag:
                del ents[pos]
                first = pos
        if slot is not None:
            entry: list[object] = [tag, slot, None]
            if first < 0:
                insert(entry)
            else:
                ents.insert(first, entry)

    for part in REPLACED_PARTS:
        replace_all(part.tag, None if part.field in gone else _PART_SLOTS[part.tag])
    if not all(put(leaf) for leaf in TAIL_LEAVES):
        return None
    feats = next((e for e in ents if e[0] == "features"), None)
    if feats is None:
        if "features" not in gone:
            insert(["features", _features_slot, None])
    elif "features" in gone:
        ents.remove(feats)
    return tuple(cast("int | _Slot", e[1]) for e in ents)


def _format_text(d: DomainDef, domain_id: int | None) -> str | None:
    """format_domain's text, written directly; ``None`` when only the tree path is exact for ``d``."""
    raw = d.raw
    devices, emulator = d.devices, d.emulator
    tmpl: _Template | None
    need_objs: list[OS | Clock | CPU | SpecElement] = []
    if raw is None:
        tmpl = _EMPTY_TEMPLATE
    else:
        holder = d._fmt
        if holder and holder[0] is raw:
            tmpl = cast("_Template | None", holder[1])
            if tmpl is None:
                return None
        else:
            tmpl = None
    if raw is None or tmpl is None:
        # fragments not cached yet: computed together, with one serialization (a copy made
        # by attrs.evolve, whose template is known, formats the few parts it changed one by one)
        need_objs = [o for o in _described_parts(d) if o is not None and not o._frag]
    # the <devices> text is cached per (devices tuple, emulator): evolve keeps the tuple
    cached = None if tmpl is None else tmpl.devices_text
    devs_text: str | None = None
    if cached is not None and cached[0] is devices and cached[1] == emulator:
        devs_text = cached[2]
        need_devs: list[Device] = []
    else:
        need_devs = _from_description([x for x in devices if not x._frag])
    if tmpl is None:
        assert raw is not None
        holder = d._fmt
        tmpl = _template(raw, need_objs, need_devs)
        holder[:] = [raw, tmpl]
        if tmpl is None:
            return None
        need_objs, need_devs = [], []
    features = d.features
    if tmpl.features is not None and features != tmpl.features:
        return None  # features renamed or reordered: the tree path rebuilds <features>
    if features and (d.hyperv is not None or d.kvm is not None):
        for typed, parsed in ((d.hyperv, tmpl.hyperv), (d.kvm, tmpl.kvm)):
            # the kept <features> text holds the typed child as parsed: only that is exact
            if (
                typed is not None
                and typed._tag in features
                and (parsed is None or typed.raw is not parsed.raw or typed != parsed)
            ):
                return None
    values = _key_values(d)
    last = tmpl.last_plan
    if last is not None and last[0] == values:
        # the same values as the last definition (a copy made by attrs.evolve): the same layout
        plan = last[1]
    else:
        absent = _absent_of(values)
        plan = tmpl.plans.get(absent, _NO_PLAN)
        if plan is _NO_PLAN:
            key = (tmpl.shape, absent)
            plan = _PLANS.get(key, _NO_PLAN)
            if plan is _NO_PLAN:
                if len(_PLANS) > 512:
                    _PLANS.clear()
                plan = _PLANS[key] = _plan(tmpl, absent)
            tmpl.plans[absent] = plan
        tmpl.last_plan = (values, plan)
    if plan is None:
        return None
    if need_objs or need_devs:
        # when this cannot batch them (None), _frag_of serializes them one by one
        _batch(None if raw is None else raw.nsmap, [], need_objs, need_devs)
    if devs_text is None:
        items = [] if emulator is None else [u.leaf_text("emulator", emulator)]
        for dev in devices:
            items.append(_frag_of(dev, 2))
        if None in items:
            return None
        if items:
            devs_text = (
                f"<devices{tmpl.devices_attrs}>\n    "
                + "\n    ".join(cast("list[str]", items))
                + "\n  </devices>"
            )
        else:
            devs_text = f"<devices{tmpl.devices_attrs}/>"
        tmpl.devices_text = (devices, emulator, devs_text)
    ident = None if domain_id is None else u.esc_attr(domain_id)
    dtype = _TYPE_TEXTS.get(d.type) or u.esc_attr(d.type)
    if dtype is None or (ident is None and domain_id is not None):
        return None
    ident = "" if ident is None else f' id="{ident}"'
    out = [f'{tmpl.head}"{dtype}"{ident}{tmpl.tail}']
    texts = tmpl.texts
    for item in plan:
        if type(item) is int:
            out.append(texts[item])
        elif item is _devices_slot:
            out.append(devs_text)
        else:
            piece = item(d)  # type: ignore[operator]
            if piece is None:
                return None  # a value XML cannot hold: left to the tree path (and lxml's error)
            out.append(piece)
    return "\n  ".join(out) + "\n</domain>\n"


#: The domain types libvirt knows, escaped (the same few each time).
_TYPE_TEXTS: dict[str, str] = {t: cast("str", u.esc_attr(t)) for t in DOMAIN_TYPES}


def _features_text(names: tuple[str, ...]) -> str | None:
    if not all(map(u.plain_name, names)):
        return None
    return "<features>\n    " + "\n    ".join(f"<{n}/>" for n in names) + "\n  </features>"
