"""virt-test's domain snapshots: the tree, current, reverts with their events, redefinition, each error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import virt_test

import virtcore
from virtcore.errors import (
    ConfigUnsupportedError,
    ErrorDomain,
    ErrorNumber,
    InternalError,
    InvalidArgError,
    InvalidDomainSnapshotError,
    NoDomainSnapshotError,
    OperationDeniedError,
    OperationFailedError,
    OperationInvalidError,
    SnapshotRevertRiskyError,
    XMLError,
)
from virtcore.types import DomainEventType, DomainState, PausedReason, RunningReason, ShutoffReason
from virtcore.xml import parse_snapshot

GUEST = (
    "<domain type='test'><name>{name}</name><memory>1024</memory><os><type>hvm</type></os>"
    "<devices><disk type='file' device='disk'><source file='/guest/{name}.qcow2'/><target dev='vda'/></disk>"
    "<disk type='file' device='cdrom'><target dev='hdc'/><readonly/></disk></devices></domain>"
)


@pytest.fixture(autouse=True)
def fresh_default() -> None:
    virt_test.reset_default_node()


@pytest.fixture
def conn() -> Iterator[virtcore.Connection]:
    with virtcore.open("test:///default") as c:
        yield c


@pytest.fixture
def dom(conn: virtcore.Connection) -> virtcore.Domain:
    return conn.lookup_domain("test")


def _snap(name: str, extra: str = "") -> str:
    return f"<domainsnapshot><name>{name}</name>{extra}</domainsnapshot>"


def test_a_tree_grows_under_the_current_snapshot(dom: virtcore.Domain) -> None:
    a = dom.create_snapshot(_snap("a"))
    b = dom.create_snapshot(_snap("b"))
    c = dom.create_snapshot(_snap("c"))
    a.revert()
    d = dom.create_snapshot(_snap("d"))
    assert [s.name for s in dom.list_snapshots()] == ["a", "b", "c", "d"]
    assert [s.name for s in a.children()] == ["b", "d"]
    assert [s.name for s in a.children(descendants=True)] == ["b", "c", "d"]  # oldest first
    # libvirt's topological order: depth first, newest sibling first
    assert [s.name for s in a.children(descendants=True, topological=True)] == ["d", "b", "c"]
    assert [s.name for s in dom.list_snapshots(topological=True)] == ["a", "d", "b", "c"]
    assert [s.name for s in dom.list_snapshots(leaves=True)] == ["c", "d"]
    assert [s.name for s in dom.list_snapshots(roots=True)] == ["a"]
    assert dom.current_snapshot() == d and d.is_current() and not c.is_current()
    assert (d.parent(), c.parent().parent()) == (a, a)
    assert b.has_metadata() and dom.lookup_snapshot("b") == b
    assert dom.list_snapshots(metadata=False) == []


def test_a_snapshot_without_a_name_is_named_by_its_time(dom: virtcore.Domain) -> None:
    snap = dom.create_snapshot()
    s = parse_snapshot(snap.xml_desc(), redefine=True)
    assert snap.name == str(s.creation_time)
    assert s.name == snap.name and s.domain is not None and s.domain.name == "test"


def test_revert_restores_the_definition_and_state(conn: virtcore.Connection, dom: virtcore.Domain) -> None:
    before = dom.info().memory
    snap = dom.create_snapshot(_snap("before"))
    dom.set_memory(before // 2)
    dom.suspend()
    snap.revert()
    assert dom.info().memory == before
    assert dom.state() == (DomainState.RUNNING, RunningReason.FROM_SNAPSHOT)


@pytest.mark.parametrize(
    ("start", "taken", "flags", "end", "events"),
    [
        # inactive to inactive: nothing happens to the state (a never started domain: reason unknown)
        ("shutoff", "shutoff", {}, (DomainState.SHUTOFF, ShutoffReason.UNKNOWN), []),
        ("shutoff", "running", {}, (DomainState.RUNNING, RunningReason.FROM_SNAPSHOT), ["STARTED"]),
        ("shutoff", "running", {"paused": True}, (DomainState.PAUSED, PausedReason.FROM_SNAPSHOT),
         ["STARTED", "SUSPENDED"]),
        ("running", "shutoff", {}, (DomainState.SHUTOFF, ShutoffReason.FROM_SNAPSHOT), ["STOPPED"]),
        ("running", "running", {}, (DomainState.RUNNING, RunningReason.FROM_SNAPSHOT), []),
        ("running", "running", {"paused": True}, (DomainState.PAUSED, PausedReason.FROM_SNAPSHOT),
         ["SUSPENDED"]),
        ("paused", "shutoff", {}, (DomainState.SHUTOFF, ShutoffReason.FROM_SNAPSHOT), ["STOPPED"]),
        ("paused", "running", {}, (DomainState.RUNNING, RunningReason.FROM_SNAPSHOT), ["RESUMED"]),
        ("paused", "paused", {}, (DomainState.PAUSED, PausedReason.FROM_SNAPSHOT), []),
        ("shutoff", "shutoff", {"running": True}, (DomainState.RUNNING, RunningReason.FROM_SNAPSHOT),
         ["STARTED"]),
        ("shutoff", "paused", {"running": True}, (DomainState.RUNNING, RunningReason.FROM_SNAPSHOT),
         ["STARTED"]),
    ],
)  # fmt: skip
def test_the_revert_transitions_and_their_events(
    conn: virtcore.Connection,
    start: str,
    taken: str,
    flags: dict[str, bool],
    end: tuple[DomainState, int],
    events: list[str],
) -> None:
    dom = conn.define_domain(GUEST.format(name="g"))
    _enter(dom, taken)
    snap = dom.create_snapshot(_snap("s"))
    assert parse_snapshot(snap.xml_desc(), redefine=True).state == taken
    _enter(dom, start)
    seen: list[str] = []
    conn.on_domain_event(lambda d, event, detail: seen.append(DomainEventType(event).name))
    snap.revert(**flags)
    assert dom.state() == end
    assert seen == events


def _enter(dom: virtcore.Domain, state: str) -> None:
    """Bring ``dom`` (inactive or running) to ``state``."""
    if dom.is_active():
        dom.destroy()
    if state in ("running", "paused"):
        dom.start()
    if state == "paused":
        dom.suspend()


def test_reverting_risky_cases_needs_force(conn: virtcore.Connection) -> None:
    dom = conn.define_domain(GUEST.format(name="g"))
    off = dom.create_snapshot(_snap("off"))
    dom.start()
    with pytest.raises(SnapshotRevertRiskyError, match="must respawn guest") as info:
        off.revert(running=True)
    assert info.value.code == ErrorNumber.SNAPSHOT_REVERT_RISKY == 77
    off.revert(running=True, force=True)
    assert dom.state() == (DomainState.RUNNING, RunningReason.FROM_SNAPSHOT)
    bare = _snap("bare", "<creationTime>5</creationTime><state>running</state>")
    with pytest.raises(InternalError, match="missing domain in snapshot"):
        dom.create_snapshot(bare, redefine=True)


def test_a_transient_domain_needs_running_or_paused_for_an_inactive_snapshot(
    conn: virtcore.Connection,
) -> None:
    g = conn.define_domain(GUEST.format(name="g"))
    off = g.create_snapshot(_snap("off"))
    g.start()
    g.undefine()  # running: allowed, it becomes transient and keeps its snapshots
    with pytest.raises(OperationInvalidError, match="transient domain needs to request run or pause"):
        off.revert()
    off.revert(paused=True, force=True)
    assert g.state() == (DomainState.PAUSED, PausedReason.FROM_SNAPSHOT)
    with pytest.raises(OperationInvalidError, match="cannot halt after transient domain snapshot"):
        g.create_snapshot(_snap("h"), halt=True)


def test_halt_stops_the_domain_after_the_snapshot(dom: virtcore.Domain) -> None:
    snap = dom.create_snapshot(_snap("h"), halt=True)
    assert dom.state() == (DomainState.SHUTOFF, ShutoffReason.FROM_SNAPSHOT)
    assert parse_snapshot(snap.xml_desc(), redefine=True).state == "running"


def test_delete_moves_children_and_current_up(dom: virtcore.Domain) -> None:
    a = dom.create_snapshot(_snap("a"))
    b = dom.create_snapshot(_snap("b"))
    c = dom.create_snapshot(_snap("c"))
    b.delete()
    assert c.parent() == a and dom.current_snapshot() == c
    c.delete()
    assert dom.current_snapshot() == a
    dom.create_snapshot(_snap("d"))
    a.delete(children_only=True)
    assert [s.name for s in dom.list_snapshots()] == ["a"] and a.is_current()
    a.delete(children=True)
    assert dom.list_snapshots() == [] and not dom.has_current_snapshot()
    with pytest.raises(NoDomainSnapshotError, match="no domain snapshot with matching name 'a'") as info:
        a.delete()
    assert (info.value.code, info.value.domain) == (72, ErrorDomain.TEST)
    with pytest.raises(InvalidArgError, match="mutually exclusive"):
        a.delete(children=True, children_only=True)


def test_redefine_restores_metadata_and_checks_it(conn: virtcore.Connection, dom: virtcore.Domain) -> None:
    a = dom.create_snapshot(_snap("a"))
    saved = a.xml_desc()
    a.delete()
    again = dom.create_snapshot(saved, redefine=True)
    assert again == a and not dom.has_current_snapshot()
    dom.create_snapshot(saved, redefine=True, current=True)
    assert dom.current_snapshot() == a
    orphan = saved.replace("<name>a</name>", "<name>o</name><parent><name>zz</name></parent>", 1)
    with pytest.raises(InvalidArgError, match="parent zz for moment o not found"):
        dom.create_snapshot(orphan, redefine=True)
    g = conn.define_domain(GUEST.format(name="g"))
    with pytest.raises(InvalidArgError, match=f"must use uuid {g.uuid}"):
        g.create_snapshot(saved, redefine=True)
    dom.create_snapshot(_snap("b"))
    cycle = saved.replace("</creationTime>", "</creationTime><parent><name>b</name></parent>", 1)
    with pytest.raises(InvalidArgError, match="would create cycle"):
        dom.create_snapshot(cycle, redefine=True)
    with pytest.raises(InvalidArgError, match="only allowed with redefine"):
        dom.create_snapshot(_snap("c"), current=True)


def test_disks_are_aligned_with_the_domain(conn: virtcore.Connection) -> None:
    g = conn.define_domain(GUEST.format(name="g"))
    s = parse_snapshot(g.create_snapshot(_snap("s")).xml_desc(), redefine=True)
    assert [(d.name, d.snapshot) for d in s.disks] == [("vda", "internal"), ("hdc", "no")]
    by_path = "<disks><disk name='/guest/g.qcow2' snapshot='no'/></disks>"
    s = parse_snapshot(g.create_snapshot(_snap("p", by_path)).xml_desc(), redefine=True)
    assert [(d.name, d.snapshot) for d in s.disks] == [("vda", "no"), ("hdc", "no")]
    d = parse_snapshot(g.create_snapshot(_snap("d"), disk_only=True).xml_desc(), redefine=True)
    assert (d.state, d.memory_snapshot) == ("shutoff", "no")
    assert [(x.name, x.snapshot, x.file) for x in d.disks] == [
        ("vda", "external", "/guest/g.d"),
        ("hdc", "no", None),
    ]
    assert [s.name for s in g.list_snapshots(location="external")] == ["d"]
    assert [s.name for s in g.list_snapshots(states=["inactive"], location="internal")] == ["s", "p"]
    with pytest.raises(ConfigUnsupportedError, match="no disk named 'vdz'"):
        g.create_snapshot(_snap("z", "<disks><disk name='vdz'/></disks>"))
    with pytest.raises(ConfigUnsupportedError, match="specified twice"):
        g.create_snapshot(_snap("z", "<disks><disk name='vda'/><disk name='vda'/></disks>"))


def test_undefine_refuses_an_inactive_domain_with_snapshots(conn: virtcore.Connection) -> None:
    g = conn.define_domain(GUEST.format(name="g"))
    g.create_snapshot(_snap("a"))
    g.create_snapshot(_snap("b"))
    with pytest.raises(OperationInvalidError, match="cannot delete inactive domain with 2 snapshots") as info:
        g.undefine()
    assert info.value.code == ErrorNumber.OPERATION_INVALID
    assert [s.name for s in g.list_snapshots()] == ["a", "b"]
    g.undefine(snapshots_metadata=True)
    assert [d.name for d in conn.list_domains()] == ["test"]
    again = conn.define_domain(GUEST.format(name="g"))
    assert again.list_snapshots() == []


@pytest.mark.parametrize(
    ("name", "match"),
    [("a/b", "cannot contain '/'"), ("-rf", "leading '-'"), ("a&#10;b", "newline"), ("..", "not allowed")],
)
def test_bad_snapshot_names_are_refused_naming_them(dom: virtcore.Domain, name: str, match: str) -> None:
    with pytest.raises(XMLError, match=match) as info:
        dom.create_snapshot(_snap(name))
    assert info.value.code == ErrorNumber.XML_ERROR
    assert dom.list_snapshots() == []


def test_a_nul_in_a_name_is_refused_before_the_driver(dom: virtcore.Domain) -> None:
    with pytest.raises(InvalidArgError, match="without NUL"):
        dom.lookup_snapshot("a\0b")
    with pytest.raises(XMLError):
        dom.create_snapshot("<domainsnapshot><name>a\0b</name></domainsnapshot>")


def test_revert_to_a_snapshot_of_another_domain_is_refused(
    conn: virtcore.Connection, dom: virtcore.Domain
) -> None:
    g = conn.define_domain(GUEST.format(name="g"))
    theirs = g.create_snapshot(_snap("s"))
    with pytest.raises(InvalidDomainSnapshotError, match="belongs to domain 'g', not 'test'") as info:
        dom.revert_to_snapshot(theirs)
    assert (info.value.code, info.value.domain) == (71, ErrorDomain.DOMAIN_SNAPSHOT)
    with pytest.raises(NoDomainSnapshotError, match="no domain snapshot with matching name 's'"):
        dom.lookup_snapshot("s")
    assert dom.state()[0] == DomainState.RUNNING and g.state()[0] == DomainState.SHUTOFF
    dom.create_snapshot(_snap("mine"))
    dom.revert_to_snapshot(dom.lookup_snapshot("mine"))


def test_errors_of_a_fresh_domain(dom: virtcore.Domain) -> None:
    with pytest.raises(NoDomainSnapshotError, match="does not have a current snapshot"):
        dom.current_snapshot()
    s = dom.create_snapshot(_snap("s"))
    with pytest.raises(NoDomainSnapshotError, match="snapshot 's' does not have a parent"):
        s.parent()
    with pytest.raises(OperationFailedError, match="domain moment s already exists"):
        dom.create_snapshot(_snap("s"))
    with pytest.raises(InvalidArgError, match="unsupported flags"):
        dom.create_snapshot(_snap("n"), no_metadata=True)
    with pytest.raises(InvalidArgError, match="mutually exclusive"):
        s.revert(running=True, paused=True)
    with pytest.raises(InvalidArgError, match="state filter"):
        dom.list_snapshots(states=["sideways"])


def test_read_only_connections_read_but_do_not_snapshot(dom: virtcore.Domain) -> None:
    dom.create_snapshot(_snap("s"))
    with virtcore.open_read_only("test:///default") as ro:
        rdom = ro.lookup_domain("test")
        snap = rdom.lookup_snapshot("s")
        assert "<name>s</name>" in snap.xml_desc()
        with pytest.raises(OperationDeniedError):
            rdom.create_snapshot(_snap("t"))
        with pytest.raises(OperationDeniedError):
            snap.revert()
        with pytest.raises(OperationDeniedError):
            snap.xml_desc(secure=True)


NODE = """\
<node>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>vm</name>
    <uuid>11111111-2222-3333-4444-555555555555</uuid>
    <memory>1024</memory>
    <os><type>hvm</type></os>
    <test:runstate>5</test:runstate>
    <test:domainsnapshot>
      <name>base</name>
      <creationTime>1700000000</creationTime>
      <state>shutoff</state>
      <memory snapshot='no'/>
      <domain type='test'><name>vm</name><uuid>11111111-2222-3333-4444-555555555555</uuid>
        <memory>1024</memory><os><type>hvm</type></os></domain>
      <active>0</active>
    </test:domainsnapshot>
    <test:domainsnapshot file='{child}'/>
  </domain>
</node>
"""

CHILD = """\
<domainsnapshot>
  <name>{name}</name>
  <creationTime>1700000100</creationTime>
  <state>running</state>
  <parent><name>{parent}</name></parent>
  <memory snapshot='internal'/>
  <domain type='test'><name>vm</name><uuid>11111111-2222-3333-4444-555555555555</uuid>
    <memory>2048</memory><os><type>hvm</type></os></domain>
  <active>{active}</active>
</domainsnapshot>
"""


def node_with_snapshots(tmp_path: Path, name: str = "child", parent: str = "base", active: int = 1) -> str:
    """A node file whose domain ``vm`` has an inline snapshot and one in a file of its own."""
    (tmp_path / "child.xml").write_text(CHILD.format(name=name, parent=parent, active=active))
    (tmp_path / "node.xml").write_text(NODE.replace("{child}", "child.xml"))
    return f"test://{tmp_path}/node.xml"


def test_node_files_carry_snapshots_as_libvirts_test_driver_reads_them(tmp_path: Path) -> None:
    with virtcore.open(node_with_snapshots(tmp_path)) as conn:
        vm = conn.lookup_domain("vm")
        assert [(s.name, s.is_current()) for s in vm.list_snapshots()] == [("base", False), ("child", True)]
        child = vm.lookup_snapshot("child")
        assert child.parent().name == "base"
        child.revert()  # libvirt's test driver crashes here (a double free); the mock restores it
        assert (
            vm.state() == (DomainState.RUNNING, RunningReason.FROM_SNAPSHOT) and vm.info().max_memory == 2048
        )
        assert "<active>" not in child.xml_desc()


@pytest.mark.parametrize(
    ("name", "parent", "active", "match"),
    [
        ("child", "nope", 1, "the parent 'nope' of 'child' is missing"),
        ("base", "base", 0, "two snapshots 'base'"),
        ("child", "base", 2, "snapshot <active>"),
    ],
)
def test_inconsistent_node_file_snapshots_are_refused(
    tmp_path: Path, name: str, parent: str, active: int, match: str
) -> None:
    with pytest.raises(XMLError, match=match):
        virtcore.open(node_with_snapshots(tmp_path, name, parent, active))


def test_two_current_snapshots_in_a_node_file_are_refused(tmp_path: Path) -> None:
    uri = node_with_snapshots(tmp_path)
    node = tmp_path / "node.xml"
    node.write_text(node.read_text().replace("<active>0</active>", "<active>1</active>"))
    with pytest.raises(XMLError, match="more than one snapshot claims to be active"):
        virtcore.open(uri)


def test_the_memory_mode_follows_the_domain_state(conn: virtcore.Connection) -> None:
    g = conn.define_domain(GUEST.format(name="g"))
    asked = "<memory snapshot='internal'/>"
    off = parse_snapshot(g.create_snapshot(_snap("off", asked)).xml_desc(), redefine=True)
    assert (off.state, off.memory_snapshot) == ("shutoff", "no")  # nothing runs: no memory to keep
    g.start()
    external = "<memory snapshot='external' file='/var/lib/g.mem'/>"
    on = parse_snapshot(g.create_snapshot(_snap("on", external)).xml_desc(), redefine=True)
    assert (on.state, on.memory_snapshot, on.memory_file) == ("running", "external", "/var/lib/g.mem")
    assert [(d.name, d.snapshot) for d in on.disks] == [("vda", "external"), ("hdc", "no")]
