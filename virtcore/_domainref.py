"""The domain reference: what a driver answers to a lookup. Public as :class:`virtcore.types.DomainRef`.

A module of its own so that :mod:`virtcore.types` (what every cold process
builds) and :mod:`virtcore._details` (the lifecycle event that carries a
reference, built on first use) both build on it without importing each other.
"""

# No ``from __future__ import annotations`` here: typing.NamedTuple would compile each string
# annotation (a ForwardRef per field).

from typing import NamedTuple

__all__ = ["DomainRef"]


class DomainRef(NamedTuple):
    """What a driver answers to a lookup: a domain's identity.

    ``id`` is the hypervisor's id while the domain is active and ``-1`` while
    it is not (libvirt's convention). ``uuid`` is the canonical lowercase
    36-character form; the core uses it to address the domain in every
    later hook call.
    """

    name: str
    uuid: str
    id: int


DomainRef.__module__ = "virtcore.types"  # its public home: pickling, documentation and reprs
