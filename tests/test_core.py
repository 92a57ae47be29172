"""The core's machinery: capability merge, dispatch, read-only guard, channels, events.

These tests register small in-process drivers under made-up schemes (the
entry-point path itself is covered by test_plugin_story.py).
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import virtcore
import virtcore.agent
import virtcore.connection
import virtcore.network
import virtcore.storage
from virtcore import DomainEvent, DomainEventType, DomainRef, DomainState, hookimpl, hookspecs
from virtcore import drivers as drivers_mod
from virtcore.drivers import static_operations
from virtcore.errors import (
    ErrorNumber,
    InvalidArgError,
    NoConnectError,
    NoDomainError,
    NoSupportError,
    OperationDeniedError,
    OperationFailedError,
)
from virtcore.types import DomainInfo
from virtcore.uri import URI

REF = DomainRef("vm1", "11111111-2222-3333-4444-555555555555", 7)


class MinimalDriver:
    """Implements lookups and info only: everything else must be unsupported."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    @hookimpl
    def virt_domain_lookup_by_name(self, name: str) -> DomainRef:
        self.calls.append("lookup")
        if name != REF.name:
            raise NoDomainError(name)
        return REF

    @hookimpl
    def virt_domain_get_info(self, uuid: str) -> DomainInfo:
        return DomainInfo(DomainState.RUNNING, 1024, 512, 1, 99)

    @hookimpl
    def virt_domain_destroy(self, uuid: str) -> bool:
        self.calls.append("destroy")
        return True


@pytest.fixture
def register() -> Iterator[Callable[[str, Callable[..., list[object]]], None]]:
    added: list[str] = []

    def add(scheme: str, factory: Callable[..., list[object]]) -> None:
        drivers_mod._loaded[scheme] = factory
        added.append(scheme)

    yield add
    for scheme in added:
        drivers_mod._loaded.pop(scheme, None)


def test_supported_operations_come_from_implementations(register: Any) -> None:
    drv = MinimalDriver()
    register("minimal", lambda uri, ro: [drv])
    with virtcore.open("minimal:///") as conn:
        assert conn.supported_operations() == {"domain_lookup_by_name", "domain_get_info", "domain_destroy"}
        assert conn.supports("domain_get_info") and conn.supports("virt_domain_get_info")
        assert not conn.supports("domain_suspend")
        with pytest.raises(InvalidArgError, match="no_such_op"):
            conn.supports("no_such_op")


def test_unimplemented_operation_raises_no_support_naming_it(register: Any) -> None:
    register("minimal", lambda uri, ro: [MinimalDriver()])
    with virtcore.open("minimal:///") as conn:
        dom = conn.lookup_domain("vm1")
        with pytest.raises(NoSupportError, match="domain_suspend") as exc:
            dom.suspend()
        assert exc.value.code == ErrorNumber.NO_SUPPORT
        assert str(exc.value) == "this function is not supported by the connection driver: domain_suspend"
        with pytest.raises(NoSupportError, match="node_get_info"):
            conn.node_info()


def test_single_implementation_is_bound_directly(register: Any) -> None:
    drv = MinimalDriver()
    register("minimal", lambda uri, ro: [drv])
    with virtcore.open("minimal:///") as conn:
        bound = conn._ops[hookspecs.virt_domain_get_info]
        assert getattr(bound, "__self__", None) is drv  # no pluggy in the hot path
        assert conn.lookup_domain("vm1").info() == (DomainState.RUNNING, 1024, 512, 1, 99)


def test_read_only_guard_is_enforced_by_the_core(register: Any) -> None:
    drv = MinimalDriver()
    register("minimal", lambda uri, ro: [drv])
    with virtcore.open_read_only("minimal:///") as conn:
        dom = conn.lookup_domain("vm1")
        assert dom.info().state == DomainState.RUNNING
        with pytest.raises(OperationDeniedError, match="read only access prevents domain_destroy") as exc:
            dom.destroy()
        assert exc.value.code == ErrorNumber.OPERATION_DENIED
        assert conn.supports("domain_destroy")  # supported, but refused
    assert "destroy" not in drv.calls


def test_every_hookspec_is_tagged() -> None:
    for name in dir(hookspecs):
        if name.startswith("virt_"):
            assert isinstance(getattr(getattr(hookspecs, name), hookspecs.MUTATING_ATTR), bool), name
    assert virtcore.OPERATIONS["domain_destroy"] is True
    assert virtcore.OPERATIONS["domain_get_info"] is False


class XenStoreLike:
    """Answers lookups for running domains only; declines the rest."""

    @hookimpl(tryfirst=True)
    def virt_domain_lookup_by_name(self, name: str) -> DomainRef | None:
        return REF if name == "vm1" else None


class ToolstackLike:
    @hookimpl
    def virt_domain_lookup_by_name(self, name: str) -> DomainRef:
        if name == "defined-only":
            return DomainRef("defined-only", "99999999-2222-3333-4444-555555555555", -1)
        raise NoDomainError(name)


def test_channels_merge_and_decline(register: Any) -> None:
    register("channels", lambda uri, ro: [ToolstackLike(), XenStoreLike()])
    with virtcore.open("channels:///") as conn:
        assert conn.lookup_domain("vm1").uuid == REF.uuid
        assert conn.lookup_domain("defined-only").name == "defined-only"
        with pytest.raises(NoDomainError, match="ghost"):
            conn.lookup_domain("ghost")


def test_all_channels_declining_is_no_support(register: Any) -> None:
    register("declining", lambda uri, ro: [XenStoreLike()])
    with virtcore.open("declining:///") as conn, pytest.raises(NoSupportError, match="declined"):
        conn.lookup_domain("other")


def test_wrapper_registered_later_sees_calls(register: Any) -> None:
    register("minimal", lambda uri, ro: [MinimalDriver()])
    seen: list[str] = []

    class Tracer:
        @hookimpl(wrapper=True)
        def virt_domain_get_info(self, uuid: str) -> Any:
            seen.append(uuid)
            return (yield)

    with virtcore.open("minimal:///") as conn:
        dom = conn.lookup_domain("vm1")
        conn.register_plugin(Tracer())
        assert dom.info().memory == 512
        assert seen == [REF.uuid]


def test_driver_events_reach_user_callbacks(register: Any) -> None:
    class Emitting(MinimalDriver):
        @hookimpl
        def virt_connect_open(self, emit: Callable[[DomainEvent], None]) -> None:
            self.emit = emit

    drv = Emitting()
    register("emitting", lambda uri, ro: [drv])
    with virtcore.open("emitting:///") as conn:
        got: list[tuple[str, DomainEventType, int]] = []
        conn.on_domain_event(lambda d, e, detail: got.append((d.name, e, detail)))

        def broken(*args: object) -> None:
            raise RuntimeError("user bug")

        conn.on_domain_event(broken)  # must not stop the others or the driver
        drv.emit(DomainEvent(REF, DomainEventType.STARTED, 0))
        assert got == [("vm1", DomainEventType.STARTED, 0)]


def test_open_failure_closes_what_was_opened(register: Any) -> None:
    closed: list[str] = []

    class Refusing:
        @hookimpl
        def virt_connect_open(self) -> None:
            raise NoConnectError("refusing:/// (no hypervisor here)")

        @hookimpl
        def virt_connect_close(self) -> None:
            closed.append("closed")

    register("refusing", lambda uri, ro: [Refusing()])
    with pytest.raises(NoConnectError, match="no hypervisor here"):
        virtcore.open("refusing:///")
    assert closed == ["closed"]


def test_driver_returning_nothing_declines_the_uri(register: Any) -> None:
    register("empty", lambda uri, ro: [])
    with pytest.raises(NoConnectError, match="declined"):
        virtcore.open("empty:///")


def test_argument_validation_happens_before_the_driver(register: Any) -> None:
    register("minimal", lambda uri, ro: [MinimalDriver()])
    with virtcore.open("minimal:///") as conn:
        dom = conn.lookup_domain("vm1")
        for bad in (0, -1, True, "12", 1.5):
            with pytest.raises(InvalidArgError):
                dom.set_memory(bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgError):
            conn.define_domain(42)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# The read-only guard has no way around it (issue 8, item 5)
# ---------------------------------------------------------------------------


def test_read_only_connection_exposes_no_path_to_a_mutating_hook(register: Any) -> None:
    import pluggy

    drv = MinimalDriver()
    register("minimal", lambda uri, ro: [drv])
    with virtcore.open_read_only("minimal:///") as conn:
        public = {name: getattr(conn, name) for name in dir(conn) if not name.startswith("_")}
        assert "plugin_manager" not in public
        for name, value in public.items():
            assert not isinstance(value, (pluggy.PluginManager, pluggy.HookRelay)), name
            assert not isinstance(getattr(value, "hook", None), pluggy.HookRelay), name
        # Introspection shows the driver's objects, but as read-only views.
        seen = [*conn.driver_objects(), *(o for op in virtcore.OPERATIONS for o in conn.implementers(op))]
        assert seen and all(isinstance(o, MinimalDriver) for o in seen)
        for obj in seen:
            assert obj.virt_domain_get_info(uuid=REF.uuid).memory == 512  # reads pass through
            for op, mutating in virtcore.OPERATIONS.items():
                if mutating and hasattr(MinimalDriver, "virt_" + op):
                    with pytest.raises(OperationDeniedError, match=op) as exc:
                        getattr(obj, "virt_" + op)(uuid=REF.uuid)
                    assert exc.value.code == ErrorNumber.OPERATION_DENIED
            with pytest.raises(OperationDeniedError):
                obj.calls = []

        # A plugin registered later (a wrapper) does not open a way either.
        class Tracer:
            @hookimpl(wrapper=True)
            def virt_domain_destroy(self, uuid: str) -> Any:
                return (yield)

        conn.register_plugin(Tracer())
        with pytest.raises(OperationDeniedError, match="domain_destroy"):
            conn.lookup_domain("vm1").destroy()
    assert "destroy" not in drv.calls


def test_read_write_connection_introspection_gives_the_objects_in_asking_order(register: Any) -> None:
    store, toolstack = XenStoreLike(), ToolstackLike()
    register("channels", lambda uri, ro: [toolstack, store])
    with virtcore.open("channels:///") as conn:
        assert conn.driver_objects() == (toolstack, store)
        assert conn.implementers("domain_lookup_by_name") == (store, toolstack)  # tryfirst first
        assert conn.implementers("virt_domain_suspend") == ()
        with pytest.raises(InvalidArgError, match="no_such_op"):
            conn.implementers("no_such_op")


# ---------------------------------------------------------------------------
# A misspelled hook is an error naming it (issue 8, item 6)
# ---------------------------------------------------------------------------


class Misspelled(MinimalDriver):
    @hookimpl
    def virt_domain_supend(self, uuid: str) -> bool:
        return True


class Unmarked(MinimalDriver):
    def virt_domain_suspend(self, uuid: str) -> bool:
        return True


class UnprefixedHook(MinimalDriver):
    @hookimpl
    def domain_suspend(self, uuid: str) -> bool:
        return True


@pytest.mark.parametrize(
    ("plugin", "expected"),
    [
        (
            Misspelled,
            r"Misspelled: method virt_domain_supend matches no hook .*did you mean virt_domain_suspend\?",
        ),
        (Unmarked, r"Unmarked: method virt_domain_suspend is named like a hook but is not marked"),
        (UnprefixedHook, r"UnprefixedHook.*domain_suspend"),
    ],
)
def test_a_hook_matching_no_spec_fails_the_open_naming_it(register: Any, plugin: type, expected: str) -> None:
    register("typo", lambda uri, ro: [plugin()])
    for opener in (virtcore.open, virtcore.open_read_only):
        with pytest.raises(OperationFailedError, match="driver 'typo' plugin " + expected) as exc:
            opener("typo:///")
        assert exc.value.code == ErrorNumber.OPERATION_FAILED
    register("minimal", lambda uri, ro: [MinimalDriver()])
    with virtcore.open("minimal:///") as conn:
        with pytest.raises(OperationFailedError, match=expected):
            conn.register_plugin(plugin())
        assert not conn.supports("domain_suspend")
        assert len(conn.driver_objects()) == 1  # the refused plugin is not left registered


def test_describe_driver_checks_the_declared_classes() -> None:
    def factory(uri: object, read_only: bool) -> list[object]:
        return []

    with pytest.raises(OperationFailedError, match="virt_domain_supend"):
        drivers_mod.describe_driver(factory, plugin_classes=[MinimalDriver, Misspelled])
    described = drivers_mod.describe_driver(factory, plugin_classes=[MinimalDriver, XenStoreLike])
    assert drivers_mod.declared_plugin_classes(described) == (MinimalDriver, XenStoreLike)
    assert drivers_mod.declared_default_uri(described) is None
    assert drivers_mod.declared_plugin_classes(factory) is None  # the factory itself is left alone
    assert described(URI.parse("x:///"), True) == []


def test_describe_driver_refuses_what_is_not_a_description() -> None:
    def factory(uri: object, read_only: bool) -> list[object]:
        return []

    with pytest.raises(InvalidArgError, match="plugin_classes must hold classes"):
        drivers_mod.describe_driver(factory, plugin_classes=[MinimalDriver()])  # type: ignore[list-item]
    with pytest.raises(InvalidArgError, match="default_uri must be a non-empty string"):
        drivers_mod.describe_driver(factory, plugin_classes=[MinimalDriver], default_uri="")


@pytest.mark.parametrize("scheme", ["test", "qemu", "xen"])
def test_each_installed_driver_entry_point_declares_itself(scheme: str) -> None:
    # The three drivers' entry points are DriverEntryPoints: typed, no function attributes.
    entry = drivers_mod.load_driver(scheme, f"{scheme}:///")
    assert isinstance(entry, drivers_mod.DescribedDriver)
    classes = drivers_mod.declared_plugin_classes(entry)
    assert classes and all(isinstance(c, type) for c in classes)
    expected_default = "test:///default" if scheme == "test" else None
    assert drivers_mod.declared_default_uri(entry) == expected_default
    assert static_operations([MinimalDriver, XenStoreLike]) == {
        "domain_lookup_by_name",
        "domain_get_info",
        "domain_destroy",
    }


def test_driver_conformance_reports_a_misspelled_hook(register: Any) -> None:
    from virtcore.testing import DriverConformance

    register("typo", lambda uri, ro: [Misspelled()])
    with pytest.raises(
        pytest.fail.Exception, match=r"driver 'typo' breaks the hook contract: .*virt_domain_supend"
    ):
        DriverConformance().test_hook_names_match_the_contract(uri="typo:///")
    register("minimal", lambda uri, ro: [MinimalDriver()])
    DriverConformance().test_hook_names_match_the_contract(uri="minimal:///")


def test_a_plugin_pluggy_refuses_fails_the_open_and_closes_the_others(register: Any) -> None:
    closed: list[str] = []

    class Holding(MinimalDriver):
        @hookimpl
        def virt_connect_close(self) -> None:
            closed.append("closed")

    class WrongArguments:
        @hookimpl
        def virt_domain_suspend(self, uuid: str, force: bool) -> bool:  # no 'force' in the spec
            return True

    register("badargs", lambda uri, ro: [Holding(), WrongArguments()])
    with pytest.raises(OperationFailedError, match=r"driver 'badargs' plugin WrongArguments: .*force") as exc:
        virtcore.open("badargs:///")
    assert exc.value.code == ErrorNumber.OPERATION_FAILED
    assert closed == ["closed"]


# -- native configuration formats: a driver operation (connectDomainXMLToNative) --------


class Converter:
    """A connection-independent converter: writes and reads the made-up ``toy`` format."""

    @hookimpl
    def virt_connect_domain_xml_to_native(self, native_format: str, xml: str) -> str | None:
        if native_format != "toy":
            return None
        return f"toy {len(xml)}\n"

    @hookimpl
    def virt_connect_domain_xml_from_native(self, native_format: str, config: str) -> str | None:
        if native_format != "toy":
            return None
        return f"<domain><name>{config.split()[0]}</name></domain>"


def test_native_formats_go_through_the_driver(register: Any) -> None:
    register("conv", lambda uri, ro: [MinimalDriver(), Converter()])
    with virtcore.open("conv:///") as conn:
        assert conn.supports("connect_domain_xml_to_native")
        assert conn.domain_xml_to_native("toy", "<domain/>") == "toy 9\n"
        assert conn.domain_xml_from_native("toy", b"vm2 rest") == "<domain><name>vm2</name></domain>"


def test_a_format_no_channel_converts_is_invalid_arg_naming_it(register: Any) -> None:
    register("conv", lambda uri, ro: [Converter()])
    with virtcore.open("conv:///") as conn:
        for call in (conn.domain_xml_to_native, conn.domain_xml_from_native):
            with pytest.raises(
                InvalidArgError,
                match=r"unsupported config type 'vmware-vmx' \(the driver of 'conv:///' does not",
            ) as exc:
                call("vmware-vmx", "x")
            assert exc.value.code == ErrorNumber.INVALID_ARG
        with pytest.raises(InvalidArgError, match="format"):
            conn.domain_xml_to_native("", "<domain/>")


def test_the_conformance_suite_checks_a_drivers_converters(register: Any) -> None:
    from virtcore.testing import DriverConformance

    register("conv", lambda uri, ro: [Converter()])
    with virtcore.open("conv:///") as conn:
        DriverConformance().test_native_format_a_driver_does_not_convert_is_invalid_arg(conn)


def test_a_driver_without_converters_has_no_support(register: Any) -> None:
    register("minimal", lambda uri, ro: [MinimalDriver()])
    with virtcore.open("minimal:///") as conn:
        with pytest.raises(NoSupportError, match="connect_domain_xml_from_native") as exc:
            conn.domain_xml_from_native("xen-xl", 'name = "g"')
        assert exc.value.code == ErrorNumber.NO_SUPPORT


def test_native_formats_are_refused_read_only_as_libvirt_does(register: Any) -> None:
    # virConnectDomainXMLToNative / FromNative call virCheckReadOnlyGoto
    register("conv", lambda uri, ro: [Converter()])
    with virtcore.open_read_only("conv:///") as conn:
        assert conn.supports("connect_domain_xml_to_native")
        with pytest.raises(OperationDeniedError):
            conn.domain_xml_to_native("toy", "<domain/>")
        with pytest.raises(OperationDeniedError):
            conn.domain_xml_from_native("toy", "vm")


def _converter_factory(uri: object, read_only: bool) -> list[object]:
    return [MinimalDriver(), Converter()]


converter_driver = drivers_mod.describe_driver(_converter_factory, plugin_classes=[MinimalDriver, Converter])


@pytest.fixture
def installed_converter(register: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed driver ``conv`` declaring :class:`Converter` (and a channel that is not one)."""
    register("conv", converter_driver)
    fake = drivers_mod.InstalledDriver("conv", "fake:conv", "fake-conv", "1.0")
    monkeypatch.setattr(virtcore.connection, "installed_drivers", lambda: [fake])


def test_offline_conversion_uses_the_declared_converter_class_without_a_connection(
    installed_converter: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_connection(*_: object, **__: object) -> None:
        raise AssertionError("offline conversion opened a connection")

    monkeypatch.setattr(virtcore.connection.Connection, "__init__", no_connection)
    assert virtcore.connection.domain_xml_to_native("toy", "<domain/>") == "toy 9\n"
    assert virtcore.connection.domain_xml_from_native("toy", "vm3") == "<domain><name>vm3</name></domain>"
    with pytest.raises(
        InvalidArgError, match=r"unsupported config type 'qemu-argv' \(no installed driver converts it\)"
    ):
        virtcore.connection.domain_xml_to_native("qemu-argv", "<domain/>")


def test_offline_conversion_without_any_converter_has_no_support(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(virtcore.connection, "installed_drivers", lambda: [])
    with pytest.raises(NoSupportError, match="connect_domain_xml_to_native"):
        virtcore.connection.domain_xml_to_native("xen-xl", "<domain/>")


def test_xen_driver_declares_its_converter_for_offline_use() -> None:
    # the real virt-xen distribution, through its entry point: nothing of the host is touched
    out = virtcore.connection.domain_xml_from_native("xen-xl", 'name = "g"\nmemory = 128\n')
    assert "<name>g</name>" in out
    assert 'name = "g"' in virtcore.connection.domain_xml_to_native("xen-xl", out)
    with pytest.raises(InvalidArgError, match="S-expressions can only be imported"):
        virtcore.connection.domain_xml_to_native("xen-sxpr", out)


# -- the shape of the core ----------------------------------------------------------------

CORE = Path(virtcore.__file__).resolve().parent


def _dispatched_hooks(cls: type) -> set[str]:
    """The ``hookspecs.virt_*`` names the methods of ``cls`` pass to the dispatch path."""
    import inspect
    import textwrap

    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "hookspecs"
        and node.attr.startswith("virt_")
    }


def test_every_operation_has_one_public_path_through_its_hookspec() -> None:
    handles = (virtcore.Connection, virtcore.Domain, *inspect.getmro(virtcore.Connection)[1:-1])
    handles += (*inspect.getmro(virtcore.Domain)[1:-1], virtcore.DomainSnapshot)
    handles += (virtcore.storage.StoragePool, virtcore.storage.StorageVolume, virtcore.network.Network)
    handles += (virtcore.agent.DomainAgent, virtcore.NodeDevice, virtcore.Interface, virtcore.Secret)
    handles += (virtcore.DomainCheckpoint,)
    used = set().union(*(_dispatched_hooks(cls) for cls in handles))
    assert used <= set(hookspecs.HOOKS)
    assert {name.removeprefix("virt_") for name in used} == set(virtcore.OPERATIONS)


TYPED_DISPATCH_SNIPPET = """\
from virtcore import hookspecs
from virtcore.connection import Connection, Domain


def fine(conn: Connection, dom: Domain) -> int | None:
    conn._ops[hookspecs.virt_domain_suspend](uuid=dom.uuid)
    info = conn._ops[hookspecs.virt_domain_get_info](uuid=dom.uuid)
    return info.memory if info is not None else None


def misspelled_operation(conn: Connection) -> None:
    conn._ops[hookspecs.virt_domain_suspnd](uuid="u")  # line 12


def misspelled_argument(conn: Connection) -> None:
    conn._ops[hookspecs.virt_domain_suspend](uid="u")  # line 16


def wrong_result_type(conn: Connection) -> str | None:
    return conn._ops[hookspecs.virt_domain_get_info](uuid="u")  # line 20
"""


@pytest.mark.timeout(300)
def test_dispatch_is_typed_by_the_hookspecs(tmp_path: Path) -> None:
    """mypy --strict rejects a misspelled operation, argument or result type: the hookspec is the type."""
    api = pytest.importorskip("mypy.api")
    snippet = tmp_path / "snippet.py"
    snippet.write_text(TYPED_DISPATCH_SNIPPET, encoding="utf-8")
    cache = CORE.parent / ".mypy_cache"
    out, _, status = api.run(["--strict", "--cache-dir", str(cache), "--no-error-summary", str(snippet)])
    errors = {int(line.split(":")[1]) for line in out.splitlines() if ": error:" in line}
    assert status == 1
    assert errors == {12, 16, 20}, out


def test_the_default_uri_variable_is_spelled_in_one_place(monkeypatch: pytest.MonkeyPatch) -> None:
    from virtcore import cli, uri

    spelled = [
        f"{path.relative_to(CORE.parent)}:{node.lineno}"
        for path in sorted(CORE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and node.value == uri.DEFAULT_URI_ENV
    ]
    assert len(spelled) == 1 and spelled[0].startswith("virtcore/uri.py:")
    assert cli.DEFAULT_URI_ENV == uri.DEFAULT_URI_ENV
    monkeypatch.setenv(uri.DEFAULT_URI_ENV, "test:///default")
    with virtcore.open() as conn:
        assert conn.uri == "test:///default"
    monkeypatch.setenv(uri.DEFAULT_URI_ENV, "")
    with pytest.raises(InvalidArgError, match=uri.DEFAULT_URI_ENV):
        virtcore.open()


# -- domain snapshots: a driver without them -------------------------------------------


def test_a_driver_without_snapshots_has_no_support_naming_the_operation(register: Any) -> None:
    register("minimal", lambda uri, ro: [MinimalDriver()])
    with virtcore.open("minimal:///") as conn:
        dom = conn.lookup_domain("vm1")
        with pytest.raises(NoSupportError, match="domain_snapshot_create_xml") as exc:
            dom.create_snapshot()
        assert exc.value.code == ErrorNumber.NO_SUPPORT
        with pytest.raises(NoSupportError, match="domain_list_all_snapshots"):
            dom.list_snapshots()


def test_the_snapshot_conformance_tests_xfail_on_a_driver_without_snapshots(register: Any) -> None:
    from virtcore.testing.snapshot_conformance import SNAPSHOT_OPERATIONS
    from virtcore.testing.support import need

    register("minimal", lambda uri, ro: [MinimalDriver()])
    missing = "driver 'minimal' does not implement domain_snapshot_create_xml"
    with virtcore.open("minimal:///") as conn, pytest.raises(pytest.xfail.Exception, match=missing):
        need(conn, *SNAPSHOT_OPERATIONS)
    assert set(SNAPSHOT_OPERATIONS) <= set(virtcore.OPERATIONS)


@pytest.mark.parametrize(("scheme", "has_snapshots"), [("test", True), ("xen", False)])
def test_which_installed_drivers_declare_snapshots(scheme: str, has_snapshots: bool) -> None:
    # libvirt's libxl driver has no snapshots, nor has virt-xen: every xen:/// connection lacks
    # them, so the conformance suite xfails them there (need) and the API says NO_SUPPORT.
    from virtcore.testing.snapshot_conformance import SNAPSHOT_OPERATIONS

    classes = drivers_mod.declared_plugin_classes(drivers_mod.load_driver(scheme, f"{scheme}:///"))
    declared = static_operations(classes or [])
    assert (set(SNAPSHOT_OPERATIONS) <= declared) is has_snapshots
    assert has_snapshots or not (set(SNAPSHOT_OPERATIONS) & declared)


# -- node devices, host interfaces, secrets: a driver without them ----------------------


def test_a_driver_without_host_objects_has_no_support_naming_the_operation(register: Any) -> None:
    register("minimal", lambda uri, ro: [MinimalDriver()])
    with virtcore.open("minimal:///") as conn:
        calls: list[tuple[str, Any]] = [
            ("connect_list_all_node_devices", lambda: conn.list_node_devices("scsi_host")),
            ("node_device_lookup_by_name", lambda: conn.lookup_node_device("computer")),
            ("node_device_create_xml", lambda: conn.create_node_device("<device/>")),
            ("connect_list_all_interfaces", lambda: conn.list_interfaces(active=True)),
            ("interface_lookup_by_name", lambda: conn.lookup_interface("eth0")),
            ("interface_lookup_by_mac_string", lambda: conn.lookup_interface_by_mac("AA:BB:CC:DD:EE:FF")),
            ("interface_define_xml", lambda: conn.define_interface("<interface/>")),
            ("connect_list_all_secrets", conn.list_secrets),
            ("secret_lookup_by_uuid", lambda: conn.lookup_secret_by_uuid("6695EB01F6A4830479AA97F2502E193F")),
            ("secret_lookup_by_usage", lambda: conn.lookup_secret_by_usage("ceph", "client.admin")),
            ("secret_define_xml", lambda: conn.define_secret("<secret/>")),
        ]
        for op, call in calls:
            with pytest.raises(NoSupportError, match=op) as exc:
                call()
            assert exc.value.code == ErrorNumber.NO_SUPPORT


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda c: c.list_node_devices(""), "capability must be a non-empty string"),
        (lambda c: c.lookup_node_device(None), "node device name"),
        (lambda c: c.lookup_interface(""), "interface name"),
        (lambda c: c.lookup_interface_by_mac(3), "MAC address"),
        (lambda c: c.lookup_secret_by_uuid("not-a-uuid"), "malformed UUID"),
        (lambda c: c.lookup_secret_by_usage("bogus", "x"), "unknown secret usage type"),
        (lambda c: c.lookup_secret_by_usage(99, "x"), "unknown secret usage type"),
        (lambda c: c.lookup_secret_by_usage("volume", ""), "usage id"),
        (lambda c: c.define_secret(3), "secret XML must be a string"),
    ],
)
def test_host_object_arguments_are_checked_before_any_driver_runs(
    register: Any, call: Callable[[Any], object], match: str
) -> None:
    register("minimal", lambda uri, ro: [MinimalDriver()])
    with virtcore.open("minimal:///") as conn, pytest.raises(InvalidArgError, match=match):
        call(conn)


def test_secret_values_are_checked_before_any_driver_runs(register: Any) -> None:
    from virtcore.secret import MAX_SECRET_VALUE, Secret, SecretRef, SecretUsageType

    register("minimal", lambda uri, ro: [MinimalDriver()])
    with virtcore.open("minimal:///") as conn:
        secret = Secret(conn, SecretRef("6695eb01-f6a4-8304-79aa-97f2502e193f", SecretUsageType.NONE, ""))
        with pytest.raises(InvalidArgError, match="larger than"):
            secret.set_value(b"x" * (MAX_SECRET_VALUE + 1))
        with pytest.raises(InvalidArgError, match="must be bytes"):
            secret.set_value(42)  # type: ignore[arg-type]
        with pytest.raises(NoSupportError, match="secret_set_value"):
            secret.set_value("fine")
