"""Shared pieces of the attrs model classes: the ``raw`` field and the fragment cache."""

from __future__ import annotations

import attrs
from lxml import etree

Element = etree._Element

_raw = attrs.field(default=None, eq=False, repr=False, kw_only=True)
#: Cache of an object's formatted XML fragment (objects are immutable, so it never goes stale).
_FRAG = attrs.field(default=None, init=False, eq=False, repr=False)
