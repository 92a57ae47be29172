"""Domains, pools and networks of a node file kept unparsed: their XML plus what the hot paths read.

``test:///default`` starts from these so that opening it imports neither the
XML model nor the storage and network mocks (:mod:`virt_test.pools`,
:mod:`virt_test.networks`): a node builds those on first use.
"""

# No ``from __future__ import annotations``: typing.NamedTuple compiles string annotations.

from typing import NamedTuple

__all__ = ["PendingDef", "PendingNetwork", "PendingPool"]


class PendingDef(NamedTuple):
    """A definition not parsed yet: its XML plus the few values the hot paths read.

    ``test:///default`` starts from one of these so that opening it never
    imports the XML model; the first operation that needs the whole
    definition parses it (:meth:`virt_test.node.TestDomain.definition`).
    """

    xml: str
    name: str
    uuid: str
    memory: int
    current_memory: int
    vcpu: int
    current_vcpus: int
    on_poweroff: str = "destroy"
    on_reboot: str = "restart"


class PendingPool(NamedTuple):
    """A pool definition not parsed yet: its XML plus what the hot paths read.

    ``test:///default`` starts from one of these so that opening it never
    imports the XML model; the first operation that needs the whole
    definition parses it (:meth:`virt_test.pools.TestPool.definition`).
    """

    xml: str
    name: str
    uuid: str
    target: str


class PendingNetwork(NamedTuple):
    """A network definition kept as its XML plus what the hot paths read (``test:///default``'s)."""

    xml: str
    name: str
    uuid: str
    bridge_name: str | None

    def to_xml(self) -> str:
        """The ``<network>`` document, as given."""
        return self.xml
