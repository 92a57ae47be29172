"""The one-procedure table (virtcore.rpc.calls.CALLS) held against the hookspecs, the protocol and both ends.

Behaviour over the wire is pinned by plugins/virt-remote/tests/test_remote_conformance.py (the
remote driver against ``virtcore serve`` and against libvirtd) and tests/test_serve.py (virsh
against ``virtcore serve``); these tests make a wrong row fail at its description.
"""

from __future__ import annotations

import inspect

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
