"""The core's machinery: capability merge, dispatch, read-only guard, channels, events.

These tests register small in-process drivers under made-up schemes (the
entry-point path itself is covered by test_plugin_story.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import virtcore
from virtcore import DomainEvent, DomainEventType, DomainRef, DomainState, hookimpl, hookspecs
from virtcore import drivers as drivers_mod
from virtcore.errors import (
    ErrorNumber,
    InvalidArgError,
    NoConnectError,
    NoDomainError,
    NoSupportError,
    OperationDeniedError,
    OperationFailedError,
)
from virtcore.support import static_operations
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
        assert conn._ops.domain_get_info.__self__ is drv  # no pluggy in the hot path
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
