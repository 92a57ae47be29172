"""Shared pieces of the attrs model classes: the ``raw`` field, the fragment cache, lazy elements."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
from lxml import etree

if TYPE_CHECKING:
    pass

Element = etree._Element

# virtcore.xml.elements (about twenty more attrs classes) is imported on first use, so
# that importing virtcore.xml stays cheap.
_EL: list[Any] = []


def _el() -> Any:
    """The :mod:`virtcore.xml.elements` module (typed as Any: it is imported lazily)."""
    if not _EL:
        from virtcore.xml import elements

        _EL.append(elements)
    return _EL[0]


_raw = attrs.field(default=None, eq=False, repr=False, kw_only=True)
#: Cache of an object's formatted XML fragment (objects are immutable, so it never goes stale).
_FRAG = attrs.field(default=None, init=False, eq=False, repr=False)
