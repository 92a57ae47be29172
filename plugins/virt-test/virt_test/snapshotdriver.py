"""The snapshot hooks of the test driver, over a node's :class:`~virt_test.snapshots.Snapshots`.

libvirt's test driver serves snapshots itself: each ``test:///`` connection gets a
:class:`TestSnapshots` beside its :class:`~virt_test.TestDriver`, both over the same
node, so snapshots are shared exactly as domains are.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from virtcore import errors, hookimpl
from virtcore.errors import NoDomainSnapshotError
from virtcore.snapshot import SnapshotRef

if TYPE_CHECKING:
    from virt_test.node import Node
    from virt_test.snapshots import Snapshots

__all__ = ["TestSnapshots"]


class TestSnapshots:
    """The snapshot hook implementations over one node's domains."""

    __test__ = False  # not a pytest test class

    def __init__(self, node: Node) -> None:
        self._node = node

    @functools.cached_property
    def snapshots(self) -> Snapshots:
        """The node's snapshot operations, built when the first snapshot hook runs (opening never does)."""
        from virt_test.snapshots import Snapshots  # saves the snapshot model's import on every open

        return Snapshots(self._node)

    @hookimpl
    def virt_domain_snapshot_create_xml(
        self,
        uuid: str,
        xml: str,
        disk_only: bool,
        redefine: bool,
        current: bool,
        no_metadata: bool,
        halt: bool,
    ) -> SnapshotRef:
        # quiesce, live and atomic: nothing to do in memory (as libvirt's test driver);
        # reuse_ext: no files are written, so there is nothing to reuse either
        return self.snapshots.create(
            uuid,
            xml,
            redefine=redefine,
            current=current,
            halt=halt,
            disk_only=disk_only,
            no_metadata=no_metadata,
        )

    @hookimpl
    def virt_domain_list_all_snapshots(
        self,
        uuid: str,
        roots: bool,
        leaves: bool | None,
        metadata: bool | None,
        states: frozenset[str] | None,
        location: str | None,
        topological: bool,
    ) -> list[SnapshotRef]:
        return self.snapshots.listing(
            uuid, None, descendants=False, roots=roots, leaves=leaves, metadata=metadata, states=states,
            location=location, topological=topological,
        )  # fmt: skip

    @hookimpl
    def virt_domain_snapshot_list_all_children(
        self,
        uuid: str,
        name: str,
        descendants: bool,
        leaves: bool | None,
        metadata: bool | None,
        states: frozenset[str] | None,
        location: str | None,
        topological: bool,
    ) -> list[SnapshotRef]:
        return self.snapshots.listing(
            uuid, name, descendants=descendants, roots=False, leaves=leaves, metadata=metadata, states=states,
            location=location, topological=topological,
        )  # fmt: skip

    @hookimpl
    def virt_domain_snapshot_lookup_by_name(self, uuid: str, name: str) -> SnapshotRef:
        return self.snapshots.lookup(uuid, name)

    @hookimpl
    def virt_domain_has_current_snapshot(self, uuid: str) -> bool:
        return self.snapshots.current(uuid) is not None

    @hookimpl
    def virt_domain_snapshot_current(self, uuid: str) -> SnapshotRef:
        ref = self.snapshots.current(uuid)
        if ref is None:
            raise NoDomainSnapshotError(
                "the domain does not have a current snapshot", domain=errors.ErrorDomain.TEST
            )
        return ref

    @hookimpl
    def virt_domain_snapshot_get_parent(self, uuid: str, name: str) -> SnapshotRef:
        return self.snapshots.parent(uuid, name)

    @hookimpl
    def virt_domain_snapshot_get_xml_desc(self, uuid: str, name: str) -> str:
        return self.snapshots.xml_desc(uuid, name)

    @hookimpl
    def virt_domain_snapshot_is_current(self, uuid: str, name: str) -> bool:
        return self.snapshots.is_current(uuid, name)

    @hookimpl
    def virt_domain_snapshot_has_metadata(self, uuid: str, name: str) -> bool:
        return self.snapshots.has_metadata(uuid, name)

    @hookimpl
    def virt_domain_revert_to_snapshot(
        self, uuid: str, name: str, running: bool, paused: bool, force: bool
    ) -> bool:
        self.snapshots.revert(uuid, name, running=running, paused=paused, force=force)
        return True

    @hookimpl
    def virt_domain_snapshot_delete(self, uuid: str, name: str, children: bool, children_only: bool) -> bool:
        # metadata_only: a test-driver snapshot is nothing but its metadata, so it is a plain delete
        self.snapshots.delete(uuid, name, children=children, children_only=children_only)
        return True
