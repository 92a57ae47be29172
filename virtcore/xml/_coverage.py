"""What the typed model covers of an element: the nodes each model class declares, and the walk.

Every model class says which attributes and children of its element it types
(``_covers``, or its ``_spec`` table for :class:`~virtcore.xml._spec.SpecElement`
classes); :func:`virtcore.xml.domain.model_tree` assembles them into one tree, and
:func:`uncovered` walks a source element against it to list what the model does
not type (:func:`virtcore.xml.unmodelled`, ``parse_domain(strict=True)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Union

from lxml import etree

from virtcore.xml import _util as u

Element = etree._Element

#: A node: (typed attributes, typed children by tag), or :data:`ANY` (the whole subtree
#: is represented, e.g. ``<metadata>`` kept verbatim on purpose), or :data:`FEATURES`.
Node = Union["tuple[frozenset[str], Mapping[str, Node]]", str]
ANY = "*"
#: ``<features>``: the names of its children are typed, and the content of ``<hyperv>`` and
#: ``<kvm>`` (children with a ``state`` and their extra attributes); the rest is not.
FEATURES = "features"
#: Typed children of <hyperv>/<kvm> besides their state: attribute and extra attributes.
_STATE_EXTRA = {"spinlocks": {"retries"}, "vendor_id": {"value"}, "dirty-ring": {"size"}}


def node(attrs: str = "", /, **children: Node) -> Node:
    """A node typing the space-separated ``attrs`` and the given children."""
    return (frozenset(attrs.split()), children)


#: An element whose text (and nothing else) is typed.
LEAF = node()


def merge(base: Node, /, **children: Node) -> Node:
    """``base`` with more typed children."""
    assert isinstance(base, tuple)
    return (base[0], {**base[1], **children})


def combine(a: Node, b: Node) -> Node:
    """What ``a`` or ``b`` covers (their attributes and children, merged child by child)."""
    if a == ANY or b == ANY:
        return ANY
    assert isinstance(a, tuple) and isinstance(b, tuple)
    if not b[0] and not b[1]:
        return a
    children = dict(a[1])
    for tag, sub in b[1].items():
        children[tag] = combine(children[tag], sub) if tag in children else sub
    return (a[0] | b[0], children)


def _label(el: Element) -> str:
    name = u.local_tag(el)
    return f"{el.prefix}:{name}" if el.prefix else name


def uncovered(el: Element, tree: Node, path: str) -> list[str]:
    """Paths of what ``tree`` does not cover in ``el`` (an element once, not its content)."""
    out: list[str] = []
    _walk(el, tree, path, out)
    return out


def _walk(el: Element, node: Node, path: str, out: list[str]) -> None:
    if node == ANY:
        return
    if node == FEATURES:
        for f in el:
            if f.tag in ("hyperv", "kvm"):
                _walk_states(f, f"{path}/{f.tag}", out)
            elif isinstance(f.tag, str) and (f.attrib or len(f)):
                out.append(f"{path}/{_label(f)}")
        return
    assert isinstance(node, tuple)
    known_attrs, children = node
    for attr in el.attrib:
        name = attr.decode() if isinstance(attr, bytes) else attr
        if name not in known_attrs:
            out.append(f"{path}/@{name}")
    counts: dict[str, int] = {}
    for c in el:
        tag = c.tag
        if not isinstance(tag, str):
            continue
        counts[tag] = counts.get(tag, 0) + 1
        label = f"{path}/{_label(c)}"
        if path.endswith("devices"):
            label += f"[{counts[tag]}]"
        sub = children.get(tag)
        if sub is None:
            out.append(label)
        else:
            _walk(c, sub, label, out)


def _walk_states(el: Element, path: str, out: list[str]) -> None:
    """<hyperv>/<kvm>: children with a ``state`` (and their typed extra attributes)."""
    for attr in el.attrib:
        if attr != "mode" or el.tag != "hyperv":
            out.append(f"{path}/@{attr!s}")
    for c in el:
        if not isinstance(c.tag, str):
            continue
        label = f"{path}/{_label(c)}"
        known = _STATE_EXTRA.get(c.tag, set()) | {"state"}
        if c.get("state") is None and c.tag not in _STATE_EXTRA:
            out.append(label)
            continue
        for attr in c.attrib:
            if attr not in known:
                out.append(f"{label}/@{attr!s}")
        for sub in c:
            if isinstance(sub.tag, str):
                out.append(f"{label}/{_label(sub)}")
