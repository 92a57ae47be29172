"""The guest-agent half of the conformance suite: ``dom.agent``, through the public API only.

:class:`AgentConformance` is mixed into :class:`~virtcore.testing.DriverConformance`,
so every driver run through the suite meets these tests; a driver without an
agent operation sees the test xfail naming it (``need``). They need no agent
in the guest: the suite's domains may have one or not, and every agent
operation must then either answer or say why with libvirt's codes, at once:
``OperationInvalidError`` on a shut-off domain, ``OperationDeniedError`` on a
read-only connection, ``AgentUnresponsiveError`` (86) when the guest has no
agent. What a real agent answers is each driver's own tests' business
(virt-qemu: ``tests/test_qemu_agent.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import virtcore
from virtcore.errors import AgentUnresponsiveError, ErrorNumber, OperationDeniedError, OperationInvalidError
from virtcore.testing.support import need

__all__ = ["AgentConformance", "AGENT_CALLS"]

Conn = virtcore.Connection
Dom = virtcore.Domain

#: Each agent operation (as ``Connection.supports`` names it) and a call of it.
AGENT_CALLS: list[tuple[str, Callable[[Dom], object]]] = [
    ("domain_qemu_agent_command", lambda d: d.agent.ping(timeout=10)),
    ("domain_get_guest_info", lambda d: d.agent.guest_info()),
    ("domain_set_user_password", lambda d: d.agent.set_user_password("root", "conformance")),
    ("domain_fs_freeze", lambda d: d.agent.fs_freeze()),
    ("domain_fs_thaw", lambda d: d.agent.fs_thaw()),
    ("domain_get_time", lambda d: d.agent.get_time()),
    ("domain_interface_addresses", lambda d: d.interface_addresses("agent")),
]

_IDS = [op for op, _ in AGENT_CALLS]


class AgentConformance:
    """Conformance tests for the guest agent (a mixin of ``DriverConformance``)."""

    @pytest.mark.parametrize(("operation", "call"), AGENT_CALLS, ids=_IDS)
    def test_agent_of_a_shut_off_domain_is_operation_invalid(
        self, conn: Conn, define: Callable[..., Dom], operation: str, call: Callable[[Dom], object]
    ) -> None:
        dom = define()
        need(conn, operation)
        with pytest.raises(OperationInvalidError) as exc:
            call(dom)
        assert exc.value.code == ErrorNumber.OPERATION_INVALID
        assert dom.name in str(exc.value) or "not running" in str(exc.value)

    @pytest.mark.parametrize(("operation", "call"), AGENT_CALLS, ids=_IDS)
    def test_agent_is_refused_on_a_read_only_connection(
        self, conn: Conn, running: Dom, uri: str, operation: str, call: Callable[[Dom], object]
    ) -> None:
        need(conn, operation)
        with virtcore.open_read_only(uri) as ro:
            # A test:///FILE URI gives each connection a private node: any domain of it will do
            # (the refusal comes before the driver is asked).
            visible = {d.uuid: d for d in ro.list_domains()}
            target = visible.get(running.uuid) or next(iter(visible.values()))
            with pytest.raises(OperationDeniedError):
                call(target)

    # Not the agent's interface addresses: libvirt's test driver makes them up from the
    # domain's virtual networks, and fails when the node lacks one.
    @pytest.mark.parametrize(("operation", "call"), AGENT_CALLS[:-1], ids=_IDS[:-1])
    def test_agent_of_a_running_domain_answers_or_says_there_is_none(
        self, conn: Conn, running: Dom, operation: str, call: Callable[[Dom], object]
    ) -> None:
        need(conn, operation)
        try:
            call(running)
        except AgentUnresponsiveError as exc:
            assert exc.code == ErrorNumber.AGENT_UNRESPONSIVE
            assert running.name in str(exc)
        assert running.state()[0] == virtcore.DomainState.RUNNING  # the agent changed nothing else
