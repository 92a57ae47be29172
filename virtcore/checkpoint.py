"""Domain checkpoints: the public handles over the checkpoint hooks.

A *checkpoint* marks a point in a running domain's disk history: from it, a later
incremental backup copies only what changed (each disk tracks its writes in a
dirty bitmap named for the checkpoint). A domain's checkpoints form a chain: each
new one is a child of the last. libvirt: ``virDomainCheckpoint``.

Checkpoints are served by the hypervisor driver (the test driver keeps them in
memory); a driver without them raises ``NoSupportError`` naming the operation.

::

    cp = dom.create_checkpoint("<domaincheckpoint><name>c1</name></domaincheckpoint>")
    dom.list_checkpoints(); dom.lookup_checkpoint("c1").parent(); cp.delete()
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from virtcore import hookspecs
from virtcore._dispatch import declined, xml_arg
from virtcore.errors import InvalidArgError, NoDomainCheckpointError

if TYPE_CHECKING:
    from virtcore.connection import Connection

__all__ = ["DomainCheckpointAPI", "DomainCheckpoint"]


def _name_arg(name: object) -> str:
    if not isinstance(name, str) or not name or "\0" in name:
        raise InvalidArgError(f"checkpoint name must be a non-empty string without NUL, not {name!r}")
    return name


class DomainCheckpointAPI:
    """The checkpoint half of :class:`virtcore.Domain` (its methods, mixed in)."""

    __slots__ = ()
    _conn: Connection
    uuid: str
    name: str

    def _cp(self, r: str | None, spec: Callable[..., object]) -> DomainCheckpoint:
        if r is None:
            declined(spec)
        return DomainCheckpoint(self, r)

    def create_checkpoint(self, xml: str = "<domaincheckpoint/>") -> DomainCheckpoint:
        """Take a checkpoint of the running domain from ``<domaincheckpoint>`` XML.

        A checkpoint without a name is named by its creation time; without ``<disks>``,
        every disk gets a bitmap named as the checkpoint.

        :raises OperationUnsupportedError: the domain is not running.
        :raises OperationFailedError: a checkpoint of that name exists.
        :raises ConfigUnsupportedError: the XML names a disk the domain lacks.
        """
        spec = hookspecs.virt_domain_checkpoint_create_xml
        return self._cp(self._conn._ops[spec](uuid=self.uuid, xml=xml_arg(xml, "checkpoint XML")), spec)

    def list_checkpoints(self) -> list[DomainCheckpoint]:
        """The domain's checkpoints, oldest first."""
        spec = hookspecs.virt_domain_list_all_checkpoints
        names = self._conn._ops[spec](uuid=self.uuid)
        return [DomainCheckpoint(self, n) for n in names] if names is not None else declined(spec)

    def lookup_checkpoint(self, name: str) -> DomainCheckpoint:
        """The checkpoint called ``name``; ``NoDomainCheckpointError`` if none."""
        spec = hookspecs.virt_domain_checkpoint_lookup_by_name
        return self._cp(self._conn._ops[spec](uuid=self.uuid, name=_name_arg(name)), spec)


class DomainCheckpoint:
    """A handle on one checkpoint of a domain. Get one from a create, a listing or a lookup."""

    __slots__ = ("domain", "name")

    def __init__(self, domain: DomainCheckpointAPI, name: str) -> None:
        #: The domain it belongs to.
        self.domain = domain
        #: The checkpoint's name.
        self.name = name

    def __repr__(self) -> str:
        return f"<virtcore.DomainCheckpoint {self.name!r} of {self.domain.name!r}>"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, DomainCheckpoint)
            and other.name == self.name
            and other.domain.uuid == self.domain.uuid
            and other.domain._conn is self.domain._conn
        )

    def __hash__(self) -> int:
        return hash((self.domain.uuid, self.name))

    def xml_desc(self, *, no_domain: bool = False) -> str:
        """The checkpoint's XML (``no_domain``: without the domain definition it embeds)."""
        spec = hookspecs.virt_domain_checkpoint_get_xml_desc
        r = self.domain._conn._ops[spec](uuid=self.domain.uuid, name=self.name, no_domain=bool(no_domain))
        return r if r is not None else declined(spec)

    def parent(self) -> DomainCheckpoint:
        """The checkpoint this one was taken after; ``NoDomainCheckpointError`` for the first."""
        spec = hookspecs.virt_domain_checkpoint_get_parent
        r = self.domain._conn._ops[spec](uuid=self.domain.uuid, name=self.name)
        return DomainCheckpoint(self.domain, r) if r is not None else declined(spec)

    def children(self) -> list[DomainCheckpoint]:
        """The checkpoints taken right after this one."""
        out = []
        for cp in self.domain.list_checkpoints():
            try:
                if cp.parent() == self:
                    out.append(cp)
            except NoDomainCheckpointError:  # a root has no parent
                continue
        return out

    def delete(self, *, children: bool = False) -> None:
        """Delete the checkpoint (``children``: and every one after it); its children move to its parent."""
        spec = hookspecs.virt_domain_checkpoint_delete
        if (
            self.domain._conn._ops[spec](uuid=self.domain.uuid, name=self.name, children=bool(children))
            is None
        ):
            declined(spec)
