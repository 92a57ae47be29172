"""The snapshot half of the conformance suite: domain snapshots, through the public API only.

:class:`SnapshotConformance` is mixed into :class:`~virtcore.testing.DriverConformance`,
so every driver run through the suite meets these tests too. A driver without
snapshots (libvirt's libxl driver has none, so neither has virt-xen) sees each test
xfail naming the first snapshot operation it lacks (``need``), before anything is
made. The domains these tests snapshot come from the suite's ``define`` fixture
(the driver's template) and are removed afterwards with their snapshots' metadata.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

import virtcore
from virtcore.errors import (
    ErrorNumber,
    InvalidDomainSnapshotError,
    NoDomainSnapshotError,
    OperationDeniedError,
    OperationFailedError,
    OperationInvalidError,
    XMLError,
)
from virtcore.testing.support import need
from virtcore.types import DomainState

__all__ = ["SNAPSHOT_OPERATIONS", "SnapshotConformance"]

Conn = virtcore.Connection
Dom = virtcore.Domain
Define = Callable[..., Dom]

#: What a driver with snapshots implements (each test asks for these first).
SNAPSHOT_OPERATIONS = (
    "domain_snapshot_create_xml",
    "domain_list_all_snapshots",
    "domain_snapshot_lookup_by_name",
    "domain_snapshot_current",
    "domain_has_current_snapshot",
    "domain_snapshot_get_parent",
    "domain_snapshot_list_all_children",
    "domain_snapshot_get_xml_desc",
    "domain_snapshot_is_current",
    "domain_snapshot_has_metadata",
    "domain_revert_to_snapshot",
    "domain_snapshot_delete",
)


def _xml(name: str, description: str | None = None) -> str:
    desc = f"<description>{description}</description>" if description else ""
    return f"<domainsnapshot><name>{name}</name>{desc}</domainsnapshot>"


def _forget(dom: Dom) -> None:
    """Stop ``dom`` and undefine it with its snapshots' metadata (errors ignored)."""
    for step in (dom.destroy, lambda: dom.undefine(snapshots_metadata=True)):
        try:
            step()
        except virtcore.VirtError:
            pass


class SnapshotConformance:
    """Conformance tests for domain snapshots (a mixin of ``DriverConformance``)."""

    @pytest.fixture
    def snap_domain(self, conn: Conn, define: Define) -> Iterator[Dom]:
        """A defined, inactive domain to snapshot (xfails first on a driver without snapshots)."""
        need(conn, *SNAPSHOT_OPERATIONS)
        dom = define("snap")
        yield dom
        _forget(dom)

    def test_snapshot_tree_and_current(self, snap_domain: Dom) -> None:
        dom = snap_domain
        assert not dom.has_current_snapshot() and dom.list_snapshots() == []
        with pytest.raises(NoDomainSnapshotError) as exc:
            dom.current_snapshot()
        assert exc.value.code == ErrorNumber.NO_DOMAIN_SNAPSHOT
        s1 = dom.create_snapshot(_xml("s1", "first"))
        s2 = dom.create_snapshot(_xml("s2"))
        assert [s.name for s in dom.list_snapshots()] == ["s1", "s2"]
        assert dom.current_snapshot() == s2 and s2.is_current() and not s1.is_current()
        assert s2.parent() == s1 and s1.children() == [s2]
        assert dom.lookup_snapshot("s1") == s1 and s1.has_metadata()
        assert [s.name for s in dom.list_snapshots(roots=True)] == ["s1"]
        assert [s.name for s in dom.list_snapshots(leaves=True)] == ["s2"]
        with pytest.raises(NoDomainSnapshotError, match="'s1'"):
            s1.parent()
        from virtcore.xml import parse_snapshot

        meta = parse_snapshot(s1.xml_desc(), redefine=True)
        assert (meta.name, meta.description, meta.state) == ("s1", "first", "shutoff")
        assert meta.creation_time is not None and meta.domain_uuid == dom.uuid

    def test_snapshot_revert_restores_the_state(self, conn: Conn, snap_domain: Dom) -> None:
        dom = snap_domain
        need(conn, "domain_create", "domain_destroy", "domain_suspend")
        off = dom.create_snapshot(_xml("off"))
        dom.start()
        on = dom.create_snapshot(_xml("on"))
        dom.suspend()
        on.revert()
        assert dom.state()[0] == DomainState.RUNNING and dom.current_snapshot() == on
        off.revert(force=True)
        assert dom.state()[0] == DomainState.SHUTOFF and dom.current_snapshot() == off
        on.revert(paused=True)
        assert dom.state()[0] == DomainState.PAUSED

    def test_snapshot_revert_restores_the_definition(self, conn: Conn, snap_domain: Dom) -> None:
        from virtcore.xml import parse_domain

        dom = snap_domain
        before = parse_domain(dom.xml_desc(inactive=True)).memory
        snap = dom.create_snapshot(_xml("before"))
        conn.define_domain(_with_memory(dom.xml_desc(inactive=True), before * 2))
        assert parse_domain(dom.xml_desc(inactive=True)).memory == before * 2
        snap.revert()
        assert parse_domain(dom.xml_desc(inactive=True)).memory == before

    def test_snapshot_delete_moves_children_up(self, snap_domain: Dom) -> None:
        dom = snap_domain
        a = dom.create_snapshot(_xml("a"))
        b = dom.create_snapshot(_xml("b"))
        c = dom.create_snapshot(_xml("c"))
        b.delete()
        assert c.parent() == a and [s.name for s in dom.list_snapshots()] == ["a", "c"]
        c.delete()
        assert dom.current_snapshot() == a
        dom.create_snapshot(_xml("d"))
        a.delete(children=True)
        assert dom.list_snapshots() == [] and not dom.has_current_snapshot()
        with pytest.raises(NoDomainSnapshotError, match="'a'") as exc:
            a.delete()
        assert exc.value.code == ErrorNumber.NO_DOMAIN_SNAPSHOT

    @pytest.mark.parametrize("name", ["a/b", "-rf", "a\nb", ".."])
    def test_snapshot_names_that_are_paths_or_options_are_refused(self, snap_domain: Dom, name: str) -> None:
        with pytest.raises(XMLError) as exc:
            snap_domain.create_snapshot(_xml(name.replace("\n", "&#10;")))
        assert exc.value.code == ErrorNumber.XML_ERROR
        assert snap_domain.list_snapshots() == []

    def test_snapshot_errors_name_the_snapshot(self, snap_domain: Dom, define: Define) -> None:
        dom = snap_domain
        dom.create_snapshot(_xml("s"))
        with pytest.raises(OperationFailedError, match="s"):
            dom.create_snapshot(_xml("s"))
        with pytest.raises(NoDomainSnapshotError, match="'nope'"):
            dom.lookup_snapshot("nope")
        other = define("other")
        try:
            theirs = other.create_snapshot(_xml("t"))
            with pytest.raises(InvalidDomainSnapshotError, match="'t'") as exc:
                dom.revert_to_snapshot(theirs)
            assert exc.value.code == ErrorNumber.INVALID_DOMAIN_SNAPSHOT
        finally:
            _forget(other)

    def test_undefine_with_snapshots_needs_the_metadata_flag(self, conn: Conn, snap_domain: Dom) -> None:
        dom = snap_domain
        dom.create_snapshot(_xml("s"))
        with pytest.raises(OperationInvalidError, match="snapshots") as exc:
            dom.undefine()
        assert exc.value.code == ErrorNumber.OPERATION_INVALID
        assert conn.lookup_domain(dom.name) == dom
        dom.undefine(snapshots_metadata=True)
        assert dom not in conn.list_domains()

    def test_snapshots_read_only(self, uri: str, snap_domain: Dom) -> None:
        snap_domain.create_snapshot(_xml("s"))
        with virtcore.open_read_only(uri) as ro:
            for rdom in ro.list_domains():  # the URI's domains as a read-only connection sees them
                assert all(isinstance(s.name, str) for s in rdom.list_snapshots())
                with pytest.raises(OperationDeniedError):
                    rdom.create_snapshot(_xml("t"))
                with pytest.raises(OperationDeniedError):
                    rdom.undefine(snapshots_metadata=True)


def _with_memory(xml: str, kib: int) -> str:
    """Domain XML with its ``<memory>`` (and ``<currentMemory>``) set to ``kib``."""
    import attrs

    from virtcore.xml import format_domain, parse_domain

    return format_domain(attrs.evolve(parse_domain(xml), memory=kib, current_memory=kib))
