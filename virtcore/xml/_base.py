"""Shared pieces of the attrs model classes: the ``raw`` field and the fragment cache."""

from __future__ import annotations

import attrs
from lxml import etree

Element = etree._Element

_raw = attrs.field(default=None, eq=False, repr=False, kw_only=True)
#: Cache of an object's formatted XML fragment: empty until formatting computes it, then the
#: one text ("" when only the tree path is exact for it). A declared, mutable field, so the
#: frozen instance is never written after construction; objects are immutable, so the text
#: never goes stale, and attrs.evolve starts a new one.
_FRAG: list[str] = attrs.field(factory=list, init=False, eq=False, repr=False, hash=False)
