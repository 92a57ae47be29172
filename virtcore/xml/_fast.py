"""A fast path for the common small document of a :class:`~virtcore.xml._spec.SpecElement` class.

Parsing a small document (a ``<volume>`` to create) through libxml2 costs more than the
rest of the operation: the parse, then a Python proxy for each element the reader
touches. From the class's description (its ``_spec`` and those of the classes it
nests) :func:`fast_parse` generates, once, one regular expression matching the plain
documents of that shape, and the code turning a match into light elements
(:class:`Light`: a tag, attributes, text and children, read as libxml2 would leave them
with virtcore's parser). The class then reads them with the *same* reader it generates
for lxml elements (``from_light``: the code of
:meth:`~virtcore.xml._spec.SpecElement.from_element`, keeping no source element). There
is no second description: what the fast path reads is what the full parser reads.

It takes only what it fully understands, and answers ``None`` for anything else, which
the caller gives the full parser (that also makes every error):

* a ``str`` of printable ASCII, tabs and newlines (no ``\\r``, no control character), at
  most :data:`MAX_FAST` characters, with nothing before the root element (the pattern of a
  document's sequence of tags is made once; the last few matched are tried first);
* the elements and attributes the description types, each at most once (children in any
  order, attributes in the description's), values quoted and
  without ``<``, ``&``, tabs or newlines, text without ``<``, ``&`` or ``>`` and only in
  elements whose text is typed: no comment, CDATA, processing instruction, namespace,
  entity, unknown content (which the full parser keeps verbatim), or repeated element;
* a document the class's checks accept (a value they refuse goes to the full parser,
  which refuses it with its message).

``tests/xml/test_fast_parse.py`` compares both paths over libvirt's corpus and hostile inputs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from virtcore.xml._spec import SpecElement, generate

__all__ = ["MAX_FAST", "Light", "fast_parse"]

#: Longest document the fast path reads (longer ones are not the common small case).
MAX_FAST = 4096

_T = TypeVar("_T", bound=SpecElement)

_B = "[ \\t\\n]*"  # white space as XML has it
# Characters of text and of quoted attribute values: printable ASCII (text: and tab, newline)
# but for markup ('<', '&', '>' and the quote). Nothing the parser would normalize (\r, blanks
# in attribute values) or refuses (control characters), no entity.
_TEXT = "[\\t\\n\\x20-\\x25\\x27-\\x3b\\x3d\\x3f-\\x7e]"
_SINGLE = "[\\x20-\\x25\\x28-\\x3b\\x3d\\x3f-\\x7e]"
_DOUBLE = "[\\x20\\x21\\x23-\\x25\\x27-\\x3b\\x3d\\x3f-\\x7e]"
#: Field kinds whose place the generated pattern admits; an element holding any other
#: kind (repeated children, switched or picked attributes ...) is left to the full parser.
_KINDS = frozenset({"attr", "ctext", "cattr", "bytes", "flag", "one"})


class Light(list):  # type: ignore[type-arg]  # its children: iterating, reversing and len() stay in C
    """An element as the fast path reads it: ``tag``, ``attrib``, ``text``; its children are its items."""

    __slots__ = ("attrib", "get", "tag", "text")

    tag: str
    attrib: dict[str, str]
    text: str | None

    def iterchildren(self, tag: str | None = None) -> Any:
        """The children (called ``tag``), in order (as lxml's ``iterchildren``)."""
        return iter(self) if tag is None else (c for c in self if c.tag == tag)


class _Shape:
    """An element the pattern admits: its attributes, whether its text is typed, its children."""

    __slots__ = ("attrs", "kids", "tag", "text")

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.attrs: list[str] = []
        self.text = False
        self.kids: list[_Shape] = []

    def attr(self, name: str) -> None:
        if name not in self.attrs:
            self.attrs.append(name)


def _shape(cls: type[SpecElement], tag: str) -> _Shape:
    """What of ``cls``'s element (``<tag>``) its description types, as far as the pattern admits it."""
    shape = _Shape(tag)
    kids: dict[str, _Shape | None] = {}  # None: a child the pattern does not admit
    for f in cls._spec:
        simple = f.pick is None and f.switch is None and f.also is None
        if f.kind == "attr" and f.also is None:
            shape.attr(f.xml)
            continue
        if f.kind not in _KINDS or not simple:
            if f.xml and f.kind != "attr":
                kids[f.xml] = None
            continue
        if f.kind == "one":
            assert f.cls is not None
            kids[f.xml] = _shape(f.cls, f.xml) if f.xml not in kids else None
            continue
        kid = kids.setdefault(f.xml, _Shape(f.xml))
        if kid is None or kid.kids:
            kids[f.xml] = None  # also a nested element: not admitted
            continue
        if f.kind == "cattr":
            kid.attr(f.sub)
        elif f.kind == "bytes":
            kid.attr("unit")
            kid.text = True
        elif f.kind == "ctext":
            kid.text = True
    shape.kids = [k for k in kids.values() if k is not None]
    return shape


def _groups(pieces: list[str]) -> int:
    """How many groups ``pieces`` (of a pattern) hold: the number of the next one."""
    return sum(p.count("(?P<") for p in pieces)


def _pattern(shape: _Shape, tags: _Tags, at: int, pieces: list[str], code: list[str], parent: str) -> int:
    """Extend ``pieces`` (of the pattern) and ``code`` (the lines making light elements) with the
    element ``tags[at]`` of a document's tag sequence, as ``shape`` admits it; the index of the
    tag after it, or -1 when the shape does not admit it."""
    me = f"n{at}"
    code += [f"{me} = Light()", f"{me}.tag = {shape.tag!r}", f"a = {me}.attrib = {{}}", f"{me}.get = a.get"]
    pieces.append("<" + re.escape(shape.tag))
    for name in shape.attrs:
        i = _groups(pieces)
        single, double = f"(?P<g{i}>{_SINGLE}*)", f"(?P<g{i + 1}>{_DOUBLE}*)"
        pieces.append(f"(?:[ \\t\\n]+{re.escape(name)}{_B}={_B}(?:'{single}'|\"{double}\"))?")
        code += [f"v = g[{i}] if g[{i}] is not None else g[{i + 1}]", "if v is not None:"]
        code.append(f"    a[{name!r}] = v")
    if parent:
        code.append(f"{parent}.append({me})")
    if tags[at][1]:  # an empty element (``<x/>``)
        pieces.append(f"{_B}/>")
        code.append(f"{me}.text = None")
        return at + 1
    pieces.append(f"{_B}>")
    end = ("/" + shape.tag, "")
    if at + 1 < len(tags) and tags[at + 1] == end:  # no children: its text (blanks unless typed)
        i = _groups(pieces)
        pieces.append(f"(?P<g{i}>{_TEXT}*)" if shape.text else f"(?P<g{i}>{_B})")
        code.append(f"{me}.text = g[{i}] or None")  # empty text is none, as libxml2's
        pieces.append(f"</{re.escape(shape.tag)}{_B}>")
        return at + 2
    code.append(f"{me}.text = None")  # white space between children is dropped
    pieces.append(_B)
    kids = {k.tag: k for k in shape.kids}
    seen: set[str] = set()
    at += 1
    while at < len(tags) and tags[at] != end:
        kid = kids.get(tags[at][0])
        if kid is None or kid.tag in seen:
            return -1  # not admitted, or repeated
        seen.add(kid.tag)
        at = _pattern(kid, tags, at, pieces, code, me)
        if at < 0:
            return -1
        pieces.append(_B)
    if at >= len(tags):
        return -1
    pieces.append(f"</{re.escape(shape.tag)}{_B}>")
    return at + 1


#: A document's tag sequence: each tag's name (``/name`` for an end tag) and ``/`` for an empty one.
_TAGS = re.compile(r"<(/?[^ \t\n/>]*)[^>]*?(/?)>", re.ASCII)
_Tags = tuple[tuple[str, str], ...]
#: Most tag sequences a class keeps patterns for (the common documents have a few shapes).
_MAX_SHAPES = 64
#: How many of the patterns last matched are tried before the document's tags are read.
_RECENT = 4

_Compiled = tuple[re.Pattern[str], Callable[[tuple[Any, ...]], Light]]
#: Per class: its shape, a pattern and light-element maker per tag sequence (None: not admitted),
#: and the ones last matched, most recent first.
_COMPILED: dict[type[SpecElement], tuple[_Shape, dict[_Tags, _Compiled | None], list[_Compiled]]] = {}


def _compile(shape: _Shape, tags: _Tags) -> _Compiled | None:
    """The pattern of the documents with tag sequence ``tags`` and the function making their light
    elements of the match's groups; None when ``shape`` does not admit the sequence."""
    if not tags or tags[0][0] != shape.tag:
        return None
    pieces: list[str] = []
    code: list[str] = []
    if _pattern(shape, tags, 0, pieces, code, "") != len(tags):
        return None
    lines = ["def light(g):", *("    " + line for line in code), "    return n0"]
    return re.compile("".join(pieces) + _B, re.ASCII), generate(lines, {"Light": Light}, "light")


def fast_parse(cls: type[_T], text: object) -> _T | None:
    """``cls`` read from ``text`` by the fast path, or None: parse it with the full parser."""
    if type(text) is not str or len(text) > MAX_FAST:
        return None
    entry = _COMPILED.get(cls)
    if entry is None:
        entry = _COMPILED[cls] = (_shape(cls, cls._tag), {}, [])
    recent = entry[2]
    for found in recent:  # the full match checks everything: no need to read the tags first
        m = found[0].fullmatch(text)
        if m is not None:
            break
    else:
        shapes = entry[1]
        tags = tuple(_TAGS.findall(text))
        try:
            known = shapes[tags]
        except KeyError:
            if len(shapes) >= _MAX_SHAPES:
                shapes.clear()
            known = shapes[tags] = _compile(entry[0], tags)
        if known is None:
            return None
        found = known
        m = found[0].fullmatch(text)
        if m is None:
            return None
        recent.insert(0, found)
        del recent[_RECENT:]
    try:
        obj: _T = cls.from_light(found[1](m.groups()))
    except Exception:  # a value the checks refuse: the full parser gives its error
        return None
    return obj
