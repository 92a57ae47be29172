"""The driver's shape: parts by concern that implement their hooks themselves, on a typed,
shared host whose own concerns are objects of their own, with no import cycle (see the
README's "Where an operation goes").

No guest is started here: opening ``qemu:///embed`` only creates directories.
"""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import pytest
import virt_qemu
from virt_qemu import PARTS
from virt_qemu.connection import Part, QemuConnection
from virt_qemu.discovery import Discovery
from virt_qemu.host import Host
from virt_qemu.hoststate import HostState
from virt_qemu.monitors import Monitors
from virt_qemu.qmpevents import Events
from virt_qemu.runstates import RunStates
from virt_qemu.saverecovery import SaveRecovery
from virt_qemu.stopping import Stopping

import virtcore
from virtcore import drivers
from virtcore.drivers import declared_plugin_classes, hook_names, load_driver
from virtcore.errors import InvalidConnError
from virtcore.hookspecs import HOOKS

PACKAGE = Path(virt_qemu.__file__).parent
README = PACKAGE.parent / "README.md"

#: Every hook the QEMU driver served before the split into parts: none may be lost.
SERVED = {
    "virt_connect_open", "virt_connect_close", "virt_connect_get_type", "virt_connect_get_version",
    "virt_connect_get_hostname", "virt_connect_get_capabilities", "virt_node_get_info",
    "virt_connect_list_all_domains", "virt_domain_lookup_by_name", "virt_domain_lookup_by_uuid",
    "virt_domain_lookup_by_id", "virt_domain_is_persistent", "virt_domain_define_xml",
    "virt_domain_create_xml", "virt_domain_undefine", "virt_domain_create", "virt_domain_suspend",
    "virt_domain_resume", "virt_domain_shutdown", "virt_domain_reboot", "virt_domain_destroy",
    "virt_domain_save", "virt_domain_restore", "virt_domain_get_info", "virt_domain_get_state",
    "virt_domain_get_xml_desc", "virt_domain_set_memory", "virt_domain_set_max_memory",
    "virt_domain_set_vcpus", "virt_domain_get_autostart", "virt_domain_set_autostart",
    "virt_domain_attach_device", "virt_domain_detach_device", "virt_domain_block_stats",
    "virt_domain_interface_stats", "virt_domain_users_of_path",
    # the guest agent (virt_qemu.agent)
    "virt_domain_qemu_agent_command", "virt_domain_get_guest_info", "virt_domain_set_user_password",
    "virt_domain_fs_freeze", "virt_domain_fs_thaw", "virt_domain_get_time", "virt_domain_set_time",
    "virt_domain_interface_addresses",
    # the host's free memory and security model, a domain's control state (virt_qemu.resources)
    "virt_node_get_free_memory", "virt_node_get_cells_free_memory", "virt_node_get_security_model",
    "virt_domain_get_control_info",
    # reset and NMI (virt_qemu.lifecycle), a save image's XML (virt_qemu.saving)
    "virt_domain_reset", "virt_domain_inject_nmi", "virt_domain_save_image_get_xml_desc",
    # vCPU pinning through the vCPU threads' affinity (virt_qemu.resources)
    "virt_domain_get_vcpu_pin_info", "virt_domain_pin_vcpu",
} | {hook for hook in HOOKS if "snapshot" in hook}  # fmt: skip
#: Hooks several parts implement, each answering only its own sources and declining the
#: others (first result wins): a guest's addresses come from the neighbour table
#: (addresses.py) and from the guest agent.
PER_SOURCE = {"virt_domain_interface_addresses"}
#: The host's own concerns: ``Host`` attribute -> the class that owns it, each in its own module.
CONCERNS: dict[str, type] = {
    "discovery": Discovery,
    "monitors": Monitors,
    "events": Events,
    "runstates": RunStates,
    "stopping": Stopping,
    "saves": SaveRecovery,
}
#: What ``Host`` itself does besides wiring the concerns: client accounting and the event
#: worker, lookups, definitions, running domains' jobs, the persistent definition. A method
#: that belongs to a concern goes to its class, not here.
HOST_OWN = {
    "__init__", "sync", "_work_loop", "_follow", "open_client", "close_client", "release",
    "get", "by_name_get", "current", "still_known", "config_of", "list_refs",
    "validate", "check_conflicts", "claim", "unclaim", "require_active", "active_job", "save_config",
}  # fmt: skip
#: The one forward kept for its many callers (the parts look other processes' changes up
#: before nearly every call): ``Host.sync`` is ``host.discovery.sync``.
FORWARDS = {"sync"}


def _module_imports() -> dict[str, set[str]]:
    """``virt_qemu`` module -> the ``virt_qemu`` modules it imports (anywhere in the file,
    ``TYPE_CHECKING`` blocks included)."""
    modules = {
        ("virt_qemu" if p.stem == "__init__" else f"virt_qemu.{p.stem}"): p for p in PACKAGE.glob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                submodules = {f"{node.module}.{a.name}" for a in node.names} & modules.keys()
                # ``from virt_qemu import argv`` is an arrow to virt_qemu.argv, not to the package
                found.update(submodules or {node.module})
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def test_the_driver_modules_import_each_other_without_cycles() -> None:
    graph = _module_imports()
    assert "virt_qemu.host" in graph and "virt_qemu.lifecycle" in graph
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(mod: str, path: list[str]) -> None:
        state[mod] = 1
        for dep in sorted(graph[mod]):
            if state.get(dep) == 1:
                pytest.fail(f"import cycle: {' -> '.join([*path, mod, dep])}")
            if dep not in state:
                visit(dep, [*path, mod])
        state[mod] = 2

    for mod in sorted(graph):
        if mod not in state:
            visit(mod, [])


def test_the_host_core_does_not_know_the_parts() -> None:
    """The parts and the launcher sit on the host: it imports none of them (nor the package
    entry); it starts domains through the Starter a client hands it."""
    part_modules = {cls.__module__ for cls in PARTS}
    above = part_modules | {"virt_qemu", "virt_qemu.launching"}
    assert not _module_imports()["virt_qemu.host"] & above


def _methods(cls: type) -> set[str]:
    """The functions ``cls`` defines in its own body (properties included)."""
    return {name for name, value in vars(cls).items() if callable(value) or isinstance(value, property)}


def test_each_host_concern_is_a_class_of_its_own_module_wired_on_the_shared_state(uri: str) -> None:
    modules = {cls.__module__ for cls in CONCERNS.values()}
    assert len(modules) == len(CONCERNS)
    assert not modules & {"virt_qemu.host", "virt_qemu.hoststate"}
    graph = _module_imports()
    assert modules <= graph["virt_qemu.host"]  # the host wires them
    part_modules = {cls.__module__ for cls in PARTS} | {"virt_qemu", "virt_qemu.launching"}
    for mod in modules:  # they work on the shared state, never on the Host or a part
        assert "virt_qemu.hoststate" in graph[mod], mod
        assert not graph[mod] & ({"virt_qemu.host"} | part_modules), mod
    assert issubclass(Host, HostState)
    conn = virtcore.open(uri)
    try:
        h = next(p for p in conn.driver_objects() if isinstance(p, Part)).host
        for attr, cls in CONCERNS.items():
            concern = getattr(h, attr)
            assert type(concern) is cls, attr
            assert concern.host is h, attr  # one shared state
    finally:
        conn.close()


def test_no_concern_grows_back_into_the_host() -> None:
    """``Host`` and ``HostState`` define none of a concern's methods (but the one forward),
    and ``Host`` itself only what :data:`HOST_OWN` lists."""
    concern_methods = set().union(*(_methods(cls) for cls in CONCERNS.values())) - {"__init__"}
    for cls in (Host, HostState):
        grown = (_methods(cls) & concern_methods) - FORWARDS
        assert not grown, f"{cls.__name__} defines concern methods again: {sorted(grown)}"
    assert _methods(Host) == HOST_OWN, sorted(_methods(Host) ^ HOST_OWN)
    forward = ast.parse((PACKAGE / "host.py").read_text())
    bodies = {
        node.name: node.body
        for cls in forward.body
        if isinstance(cls, ast.ClassDef) and cls.name == "Host"
        for node in cls.body
        if isinstance(node, ast.FunctionDef)
    }
    for name in FORWARDS:  # a forward only forwards: docstring and one call
        assert len(bodies[name]) == 2, name


def test_each_part_is_its_own_module_and_each_hook_has_one_owner() -> None:
    assert declared_plugin_classes(virt_qemu.driver) == PARTS
    assert len({cls.__module__ for cls in PARTS}) == len(PARTS)
    owners: dict[str, list[str]] = {}
    for cls in PARTS:
        assert issubclass(cls, Part)
        for hook in hook_names(cls):
            owners.setdefault(hook, []).append(cls.__name__)
    shared = {hook: names for hook, names in owners.items() if len(names) > 1 and hook not in PER_SOURCE}
    assert not shared, f"hooks implemented by several parts: {shared}"
    assert set(owners) == SERVED


def test_the_host_is_typed_and_nothing_is_ignored() -> None:
    assert typing.get_type_hints(Part.host.fget)["return"] is Host
    for path in PACKAGE.glob("*.py"):
        assert "type: ignore" not in path.read_text(), path.name


@pytest.mark.parametrize("storage", [True, False], ids=["with-storage", "without-storage"])
def test_a_connection_is_served_by_the_parts_on_one_shared_host(
    root: Path, uri: str, storage: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not storage:
        real_lookup = drivers._lookup  # the storage driver, if installed, is not
        monkeypatch.delitem(drivers._loaded, "storage", raising=False)
        monkeypatch.setattr(drivers, "_lookup", lambda s: None if s == "storage" else real_lookup(s))
    elif not any(d.scheme == "storage" for d in drivers.installed_drivers()):
        pytest.skip("no storage driver is installed to be a secondary driver")
    conn = virtcore.open(uri)
    objects = conn.driver_objects()
    # The secondary (storage, network) drivers' objects, when installed, are registered first.
    parts = [p for p in objects if isinstance(p, Part)]
    secondary = set(declared_plugin_classes(load_driver("storage", "storage://")) or ()) if storage else set()
    if any(d.scheme == "network" for d in drivers.installed_drivers()):
        secondary |= set(declared_plugin_classes(load_driver("network", "network://")) or ())
    try:
        assert [type(p) for p in parts] == list(PARTS)
        assert objects[len(objects) - len(parts) :] == tuple(parts)
        assert {type(o) for o in objects[: len(objects) - len(parts)]} <= secondary
        for cls in PARTS:
            for hook in hook_names(cls):
                if hook.removeprefix("virt_") in virtcore.OPERATIONS:  # not the internal hooks
                    answering = [type(o) for o in conn.implementers(hook)]
                    assert answering == [cls] or (hook in PER_SOURCE and cls in answering), hook
        hosts = {id(p.host) for p in parts if isinstance(p, Part)}
        assert len(hosts) == 1
        mine = parts[0]
        assert isinstance(mine, QemuConnection)
        other = virtcore.open_read_only(uri)
        try:
            theirs = next(p for p in other.driver_objects() if isinstance(p, QemuConnection))
            assert theirs.host is mine.host  # one host per URI and process
        finally:
            other.close()
    finally:
        conn.close()
    for p in parts:
        assert isinstance(p, Part)
        with pytest.raises(InvalidConnError, match="not open"):
            p.host  # noqa: B018 - the property is what is tested


def test_the_readme_says_where_each_concern_goes() -> None:
    text = README.read_text()
    assert "## Where an operation goes" in text
    section = text.split("## Where an operation goes", 1)[1].split("\n## ", 1)[0]
    for cls in PARTS:
        assert f"{cls.__module__.rsplit('.', 1)[1]}.py" in section, cls.__module__
        assert cls.__name__ in section, cls.__name__
