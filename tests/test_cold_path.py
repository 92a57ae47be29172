"""The cold path: what the paths users hit most do not import, and the tweaks that keep it short.

Issue 9: a function-level import is kept only where deferring it pays on
``import virtcore``, opening ``test:///default``, a lookup, ``info``, or
``virtcore -c test:///default list``, and it says so in a one-line comment.
The first tests pin the property those imports buy (read from
``sys.modules`` of a fresh process, never a timing); the last one pins the
rule itself, so a new deferred import must state what it saves.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Modules the common paths never need: the XML model and its parser, attrs,
#: what only rare paths (save images, errors, UUID parsing, URLs, node files)
#: use, the error enums (built when an error is), the state reasons and event
#: details the cold path never reads, the storage and network enums and records
#: (built on first use), the test driver's storage and network mocks (built on
#: the first storage or network call), threading (the locks are ``_thread``'s), pluggy
#: (a warm open binds the hooks it accepted before, see virtcore._hookcache) and inspect
#: (only for a hook that is no plain function).
HEAVY = (
    "virtcore.xml",
    "virtcore._errorcodes",
    "virtcore._details",
    "virtcore._storagetypes",
    "virtcore._networktypes",
    "virt_test.pools",
    "virt_test.networks",
    "lxml",
    "attrs",
    "json",
    "uuid",
    "logging",
    "traceback",
    "pathlib",
    "urllib",
    "stevedore",
    "inspect",
    "pluggy",
    "importlib.metadata",
    "threading",
    "copy",
)

#: Report which of HEAVY the workload in argv[1] left in sys.modules.
REPORT = """
import sys
{workload}
print("loaded", ",".join(m for m in {heavy!r} if m in sys.modules))
"""

OPEN_LOOKUP_INFO = """
import virtcore
with virtcore.open("test:///default") as conn:
    dom = conn.lookup_domain("test")
    assert dom.info().state == virtcore.DomainState.RUNNING
    assert conn.lookup_domain_by_uuid(dom.uuid).name == "test"
    assert [d.name for d in conn.list_domains()] == ["test"]
    assert "<capabilities>" in conn.capabilities_xml()
    assert conn.hostname()
"""

CLI_LIST = """
import contextlib, io
from virtcore.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    assert main(["-c", "test:///default", "list"]) == 0
assert " test " in out.getvalue(), out.getvalue()
"""

XML_DESC = """
import virtcore
with virtcore.open("test:///default") as conn:
    assert "<name>test</name>" in conn.lookup_domain("test").xml_desc()
"""


def _loaded(workload: str, cache: Path) -> set[str]:
    """The HEAVY modules a fresh interpreter has loaded after ``workload`` (discovery cache warm)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTCORE_DEFAULT_URI")}
    env["XDG_CACHE_HOME"] = str(cache)
    code = REPORT.format(workload=workload, heavy=HEAVY)
    for _ in range(2):  # the first run writes the discovery cache, the second uses it
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
        )
        assert out.returncode == 0, out.stderr
    (line,) = out.stdout.splitlines()
    names = line.removeprefix("loaded").strip()
    return set(names.split(",")) if names else set()


@pytest.mark.parametrize(
    ("workload", "allowed"),
    # The command line imports its storage commands, whose progress bar runs a thread
    # and whose options name the storage enums, and its network commands, whose options
    # name the network enums.
    [
        (OPEN_LOOKUP_INFO, set()),
        (CLI_LIST, {"threading", "virtcore._storagetypes", "virtcore._networktypes"}),
    ],
    ids=["open-lookup-info", "cli-list"],
)
def test_common_paths_do_not_import_the_rare_ones(workload: str, allowed: set[str], tmp_path: Path) -> None:
    assert _loaded(workload, tmp_path) <= allowed


def test_an_xml_operation_still_loads_the_model_it_needs(tmp_path: Path) -> None:
    # The deferral is a delay, not a loss: the first XML operation imports it.
    assert {"virtcore.xml", "lxml", "attrs"} <= _loaded(XML_DESC, tmp_path)


POOLS_AND_NETWORKS = """
import virtcore
with virtcore.open("test:///default") as conn:
    assert [p.name for p in conn.list_storage_pools()] == ["default-pool"]
    assert [n.name for n in conn.list_networks()] == ["default"]
"""


def test_the_first_storage_and_network_calls_build_the_default_pool_and_network(tmp_path: Path) -> None:
    # test:///default's pool and network are there on the first call, not before.
    assert {"virt_test.pools", "virt_test.networks"} <= _loaded(POOLS_AND_NETWORKS, tmp_path)


#: The files of issue 9's import audit (the core's connection, CLI and
#: contract, and the test and Xen drivers).
AUDITED = (
    [
        ROOT / "virtcore" / name
        for name in ("cli.py", "connection.py", "hookspecs.py", "types.py", "__init__.py")
    ]
    + sorted((ROOT / "plugins" / "virt-test" / "virt_test").glob("*.py"))
    + sorted((ROOT / "plugins" / "virt-xen" / "virt_xen").glob("*.py"))
)


def _function_level_imports(path: Path) -> list[tuple[int, str]]:
    """``(line number, source line)`` of every import inside a function of ``path``."""
    source = path.read_text()
    lines = source.splitlines()
    found = []
    for fn in ast.walk(ast.parse(source)):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    found.append((node.lineno, lines[node.end_lineno - 1 if node.end_lineno else 0]))
    return sorted(set(found))


def test_every_deferred_import_says_what_it_saves() -> None:
    bare = [
        f"{path.relative_to(ROOT)}:{lineno}: {line.strip()}"
        for path in AUDITED
        for lineno, line in _function_level_imports(path)
        if "# saves" not in line
    ]
    assert bare == []


def test_the_audit_sees_the_deferred_imports() -> None:
    # Guards the test above against walking nothing: the XML model is deferred in the test driver.
    node = ROOT / "plugins" / "virt-test" / "virt_test" / "node.py"
    assert any("virtcore.xml" in line for _, line in _function_level_imports(node))


def test_the_lean_plugin_manager_registers_what_pluggy_would() -> None:
    # _pluginmanager.Manager skips dunders and non-virt_ spec names to register
    # faster; it must see exactly the hooks and implementations pluggy's own does.
    import pluggy
    import virt_test

    from virtcore import _pluginmanager, hookspecs
    from virtcore.uri import URI

    uri = URI.parse("test:///default")
    lean, plain = _pluginmanager.new_manager(), pluggy.PluginManager(hookspecs.PROJECT)
    plain.add_hookspecs(hookspecs)
    for pm in (lean, plain):
        for obj in virt_test.driver(uri, False):
            pm.register(obj)

    def table(pm: pluggy.PluginManager) -> dict[str, list[str]]:
        return {
            name: [impl.function.__name__ for impl in getattr(pm.hook, name).get_hookimpls()]
            for name in dir(pm.hook)
            if not name.startswith("_")
        }

    assert table(lean) == table(plain)
    assert set(table(lean)) == set(hookspecs.HOOKS)
    assert table(lean)["virt_domain_lookup_by_name"] == ["virt_domain_lookup_by_name"]


def _plugin_shapes() -> dict[str, object]:
    """Fresh plugins of every shape the lean manager's registration must treat as pluggy does."""
    import types

    from virtcore import hookimpl

    class Plain:
        @hookimpl
        def virt_domain_lookup_by_name(self, name: str) -> None: ...

        @hookimpl(tryfirst=True)
        def virt_connect_close(self) -> None: ...

        def helper(self) -> None: ...

    class Renamed:
        @hookimpl(specname="virt_domain_get_info")
        def info(self, uuid: str) -> None: ...

    class ExtraArgument:
        @hookimpl
        def virt_connect_close(self) -> None: ...

        @hookimpl
        def virt_domain_get_info(self, uuid: str, bogus: int) -> None: ...

    class NotAGenerator:
        @hookimpl(wrapper=True)
        def virt_domain_get_info(self, uuid: str) -> None: ...

    class Static:
        @staticmethod
        @hookimpl
        def virt_domain_get_info(uuid: str) -> None: ...

    class Unknown:
        @hookimpl
        def virt_no_such_hook(self) -> None: ...

    module = types.ModuleType("a_driver_module")
    module.virt_connect_close = Plain.__dict__["virt_connect_close"]  # type: ignore[attr-defined]
    return {
        "instance": Plain(),
        "class": Plain,
        "module": module,
        "specname": Renamed(),
        "argument not in the spec": ExtraArgument(),
        "wrapper not a generator": NotAGenerator(),
        "staticmethod": Static(),
        "no such hook (pending)": Unknown(),
    }


@pytest.mark.parametrize("shape", list(_plugin_shapes()))
def test_the_lean_registration_keeps_pluggy_s_checks_and_bindings(shape: str) -> None:
    # _pluginmanager.Manager.register binds plain functions itself; every outcome must be
    # pluggy's: the same hook implementations bound the same way, or the same refusal
    # with nothing registered, and the same answer to registering the plugin again.
    import pluggy

    from virtcore import _pluginmanager, hookspecs

    def outcome(pm: pluggy.PluginManager) -> list[object]:
        plugin = _plugin_shapes()[shape]
        seen: list[object] = []
        try:
            seen.append(pm.register(plugin, name="p"))
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            seen.append(("refused", re.sub(" at 0x[0-9a-f]+", "", str(exc).split("\n")[0])))
        seen.append(("registered", pm.get_plugin("p") is plugin))
        for hook_name in [*sorted(hookspecs.HOOKS), "virt_no_such_hook"]:
            caller = getattr(pm.hook, hook_name, None)
            for impl in caller.get_hookimpls() if caller else ():
                fn = impl.function
                seen.append((hook_name, fn.__name__, getattr(fn, "__self__", None) is not None))
                seen.append((impl.tryfirst, impl.argnames, impl.plugin_name))
        for again in ("p", "q"):
            try:
                seen.append(pm.register(pm.get_plugin("p") or object(), name=again))
            except ValueError as exc:
                seen.append(("ValueError", str(exc).split("\n")[0].split("=")[0]))
        return seen

    lean, plain = _pluginmanager.new_manager(), pluggy.PluginManager(hookspecs.PROJECT)
    plain.add_hookspecs(hookspecs)
    assert type(lean).register is not pluggy.PluginManager.register
    seen = outcome(lean)
    assert seen == outcome(plain)
    refused = shape in ("argument not in the spec", "wrapper not a generator", "no such hook (pending)")
    assert any(isinstance(x, tuple) and x[0] == "refused" for x in seen) is refused
    if shape in ("argument not in the spec", "wrapper not a generator"):
        assert ("registered", False) in seen and not lean.hook.virt_connect_close.get_hookimpls()


def test_the_deferred_enums_are_still_their_public_modules_int_enums() -> None:
    # virtcore._details is imported on first use; users see virtcore.types' IntEnums as before.
    import enum
    import pickle

    from virtcore import types
    from virtcore.types import PausedReason, StoppedDetail

    assert issubclass(PausedReason, enum.IntEnum) and PausedReason.USER == 1
    assert StoppedDetail.__module__ == "virtcore.types" and types.StoppedDetail is StoppedDetail
    assert pickle.loads(pickle.dumps(StoppedDetail.SAVED)) is StoppedDetail.SAVED
    # The deferred records too, and the lifecycle event (virtcore's own name as well).
    import virtcore
    from virtcore.types import ControlInfo, ControlState, DomainEvent, DomainEventType, DomainRef

    event = DomainEvent(DomainRef("a", "u", 1), DomainEventType.STARTED, 0)
    assert virtcore.DomainEvent is DomainEvent and virtcore.DomainEventType is DomainEventType
    assert {DomainEvent.__module__, DomainRef.__module__, ControlInfo.__module__} == {"virtcore.types"}
    assert pickle.loads(pickle.dumps(event)) == event and event.event is DomainEventType.STARTED
    assert pickle.loads(pickle.dumps(ControlInfo(ControlState.OK, 0, 0))).state is ControlState.OK
    assert all(hasattr(types, name) for name in types.__all__)
    with pytest.raises(AttributeError, match="no attribute 'PausedReasons'"):
        types.PausedReasons  # noqa: B018


class _Base:
    def virt_a(self) -> None: ...

    @staticmethod
    def virt_static() -> None: ...

    @classmethod
    def virt_class(cls) -> None: ...

    @property
    def virt_prop(self) -> int:
        raise AssertionError("never evaluated")


class _Child(_Base):
    def virt_b(self) -> None: ...


class _Slotted:
    __slots__ = ("virt_slot",)

    def virt_c(self) -> None: ...


def test_static_function_finds_what_getattr_static_finds() -> None:
    # drivers.static_function is the quick path of the lean manager and hook_names: wherever it
    # answers, inspect.getattr_static answers the same function; elsewhere it leaves it to inspect.
    import inspect
    import types

    import virt_test

    from virtcore import hookspecs
    from virtcore.drivers import static_function

    shadowed = _Child()
    shadowed.virt_a = lambda: None  # type: ignore[method-assign]
    objects: list[object] = [hookspecs, _Base, _Child, _Child(), shadowed, _Slotted(), _Slotted]
    objects += [*virt_test.driver.plugin_classes]
    answered = 0
    for obj in objects:
        for name in dir(obj):
            found = static_function(obj, name)
            if found is not None:
                answered += 1
                assert found is inspect.getattr_static(obj, name), (obj, name)
    assert answered > len(hookspecs.HOOKS)
    assert static_function(_Child(), "virt_a") is _Base.__dict__["virt_a"]
    for name in ("virt_static", "virt_class", "virt_prop", "virt_missing"):
        assert static_function(_Child(), name) is None
    assert static_function(shadowed, "virt_a") is None
    assert static_function(_Slotted(), "virt_slot") is None
    assert isinstance(static_function(hookspecs, "virt_domain_get_info"), types.FunctionType)


def test_the_deferred_storage_types_are_still_virtcore_storage_s() -> None:
    # virtcore._storagetypes is imported on first use; users see the same public names.
    import enum
    import pickle

    import virtcore
    from virtcore import storage
    from virtcore.storage import StoragePoolState, StorageVolInfo, StorageVolType

    assert issubclass(StoragePoolState, enum.IntEnum) and StoragePoolState.RUNNING == 2
    assert virtcore.StorageVolType is StorageVolType is storage.StorageVolType
    assert {StorageVolInfo.__module__, StoragePoolState.__module__, storage.UploadSink.__module__} == {
        "virtcore.storage"
    }
    info = StorageVolInfo(StorageVolType.FILE, 10, 5)
    assert pickle.loads(pickle.dumps(info)) == info and info.type is StorageVolType.FILE
    assert all(hasattr(storage, name) for name in storage.__all__)
    assert all(hasattr(virtcore, name) for name in virtcore.__all__)
    with pytest.raises(AttributeError, match="no attribute 'StoragePoolStates'"):
        virtcore.StoragePoolStates  # noqa: B018


def test_the_deferred_network_types_are_still_virtcore_network_s() -> None:
    # virtcore._networktypes is imported on first use; users see the same public names.
    import enum
    import pickle

    import virtcore
    from virtcore import network
    from virtcore.network import ANY_SOURCE, InterfaceAddressSource, IPAddrType, NetworkDHCPLease

    assert issubclass(IPAddrType, enum.IntEnum) and IPAddrType.IPV6 == 1
    assert virtcore.NetworkDHCPLease is NetworkDHCPLease is network.NetworkDHCPLease
    assert {NetworkDHCPLease.__module__, InterfaceAddressSource.__module__} == {"virtcore.network"}
    assert ANY_SOURCE[0] is InterfaceAddressSource.LEASE
    lease = NetworkDHCPLease(
        "virbr0", 0, IPAddrType.IPV4, "52:54:00:00:00:01", None, "10.0.0.2", 24, None, None
    )
    assert pickle.loads(pickle.dumps(lease)) == lease and lease.type is IPAddrType.IPV4
    assert all(hasattr(network, name) for name in network.__all__)
    with pytest.raises(AttributeError, match="no attribute 'IPAddrTypes'"):
        network.IPAddrTypes  # noqa: B018


#: Report the modules that called compile() (other than the import system compiling a
#: source with no bytecode yet) during the workload in argv[1].
COMPILES = """
import builtins, sys
callers = []
real = builtins.compile
def counting(*args, **kwargs):
    caller = sys._getframe(1).f_globals.get("__name__", "")
    if not caller.startswith(("importlib", "_frozen_importlib")):
        callers.append(caller)
    return real(*args, **kwargs)
builtins.compile = counting
{workload}
print("compiled", ",".join(callers))
"""


def test_a_warm_open_compiles_nothing(tmp_path: Path) -> None:
    # The first compile() of a process costs ~8M instructions (a typing.ForwardRef compiles its
    # string: a NamedTuple in a module with ``from __future__ import annotations`` makes one per field).
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTCORE_DEFAULT_URI")}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    code = COMPILES.format(workload=OPEN_LOOKUP_INFO)
    for _ in range(2):  # the first run writes the discovery and hook caches, the second uses them
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
        )
        assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["compiled "]
