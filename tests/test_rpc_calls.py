"""The one-procedure table (virtcore.rpc.calls.CALLS) held against the hookspecs, the protocol and both ends.

Behaviour over the wire is pinned by plugins/virt-remote/tests/test_remote_conformance.py (the
remote driver against ``virtcore serve`` and against libvirtd) and tests/test_serve.py (virsh
against ``virtcore serve``); these tests make a wrong row fail at its description.
"""

from __future__ import annotations

import inspect
import re

import pytest
from pluggy._decorators import varnames

from virtcore import hookspecs
from virtcore.rpc._remote_protocol import TYPES
from virtcore.rpc.calls import CALLS, Call
from virtcore.rpc.protocol import REMOTE

ROWS = sorted(CALLS.items())


def _fields(type_name: str | None) -> list[str]:
    if type_name is None:
        return []
    kind, body = TYPES[type_name]
    assert kind == "struct", type_name
    return [name for name, _ in body]


@pytest.mark.parametrize(("hook", "call"), ROWS, ids=[h for h, _ in ROWS])
def test_a_row_names_a_hookspec_with_its_parameters(hook: str, call: Call) -> None:
    spec = getattr(hookspecs, hook)
    params = list(inspect.signature(spec).parameters)
    assert params == [call.key, *(p.name for p in call.params)]


@pytest.mark.parametrize(("hook", "call"), ROWS, ids=[h for h, _ in ROWS])
def test_a_row_matches_its_procedures_arguments_and_reply(hook: str, call: Call) -> None:
    proc = REMOTE.procedure(call.procedure)
    expected = [call.target, *(p.wire for p in call.params)] + (["flags"] if call.flags else [])
    assert _fields(proc.args) == expected
    assert _fields(proc.ret) == ([] if call.reply is None else [call.reply[0]])


def test_the_remote_driver_implements_every_row_with_the_hookspecs_names() -> None:
    from virt_remote.driver import RemoteDriver

    for hook, call in ROWS:
        impl = getattr(RemoteDriver, hook)
        assert varnames(impl)[0] == (call.key, *(p.name for p in call.params)), hook
        assert call.procedure in (impl.__doc__ or ""), hook


def test_the_server_answers_every_row_and_the_flags_variants() -> None:
    from virtcore.server import daemon  # noqa: F401 - registers the handlers
    from virtcore.server.registry import HANDLERS

    for _, call in ROWS:
        assert call.procedure in HANDLERS
    assert {"DOMAIN_DESTROY_FLAGS", "DOMAIN_SHUTDOWN_FLAGS"} <= set(HANDLERS)


# -- every hook over the wire -------------------------------------------------------------------------

_GAP = "not carried yet (a known gap: the driver answers NO_SUPPORT through virt-remote)"

#: The hookspecs the remote driver does not implement, and why. A new hook must land in
#: RemoteDriver (with its procedure named in its docstring) or here, with its reason.
NOT_CARRIED: dict[str, str] = {
    "virt_domain_event": "an observer hook (broadcast to plugins in the process), not a call",
    "virt_domain_users_of_path": (
        "asked of the drivers in the process about their own host's files; the daemon's drivers "
        "ask their own before they delete or shrink anything"
    ),
    "virt_domain_qemu_agent_command": "libvirt carries it in its QEMU program, not the remote one",
    "virt_domain_screenshot": f"{_GAP}: DOMAIN_SCREENSHOT is a stream procedure",
    **dict.fromkeys(
        (
            "virt_domain_checkpoint_create_xml",
            "virt_domain_checkpoint_delete",
            "virt_domain_checkpoint_get_parent",
            "virt_domain_checkpoint_get_xml_desc",
            "virt_domain_checkpoint_lookup_by_name",
            "virt_domain_list_all_checkpoints",
        ),
        f"{_GAP}: checkpoints",
    ),
    **dict.fromkeys(
        (
            "virt_connect_get_max_vcpus",
            "virt_connect_get_sysinfo",
            "virt_node_get_cpu_stats",
            "virt_domain_get_block_info",
            "virt_domain_get_cpu_stats",
            "virt_domain_get_hostname",
            "virt_domain_get_metadata",
            "virt_domain_set_metadata",
            "virt_domain_get_scheduler_parameters",
            "virt_domain_get_scheduler_type",
            "virt_domain_set_scheduler_parameters",
            "virt_domain_get_vcpus",
            "virt_domain_has_managed_save_image",
            "virt_domain_managed_save",
            "virt_domain_managed_save_remove",
            "virt_domain_memory_stats",
        ),
        _GAP,
    ),
}

_HOOKS = sorted(hookspecs.HOOKS)


def _procedures_named(doc: str | None) -> list[str]:
    known = {p.name for p in REMOTE.procedures()}
    return [p for p in re.findall(r"``([A-Z0-9_]+)``", doc or "") if p in known]


def test_every_hook_is_carried_by_the_remote_driver_or_is_a_listed_exception() -> None:
    from virt_remote.driver import RemoteDriver

    missing = [h for h in _HOOKS if not hasattr(RemoteDriver, h) and h not in NOT_CARRIED]
    assert not missing, f"hooks virt-remote does not carry and NOT_CARRIED does not explain: {missing}"
    stale = [h for h in NOT_CARRIED if h not in _HOOKS or hasattr(RemoteDriver, h)]
    assert not stale, f"NOT_CARRIED lists hooks that are gone or carried now: {stale}"


def test_every_procedure_the_remote_driver_calls_is_served() -> None:
    from virt_remote.driver import RemoteDriver

    from virtcore.server import daemon  # noqa: F401 - registers the handlers
    from virtcore.server.registry import HANDLERS

    streams = {"STORAGE_VOL_UPLOAD", "STORAGE_VOL_DOWNLOAD"}  # the session opens the transfers itself
    unserved = {}
    for hook in _HOOKS:
        impl = getattr(RemoteDriver, hook, None)
        if impl is None or hook == "virt_connect_open":  # the connection's own: events, below
            continue
        procedures = _procedures_named(impl.__doc__)
        assert procedures, f"RemoteDriver.{hook}'s docstring names no procedure"
        unserved[hook] = [p for p in procedures if p not in HANDLERS and p not in streams]
    assert {h: p for h, p in unserved.items() if p} == {}
