"""``dom.agent``'s own logic (exec polling, file chunks, what is raised), over a scripted agent.

The operations without a libvirt entry point of their own are built in the core
on the one generic hook; here a plugin registered on ``test:///default`` plays
the agent, answering each JSON command from a script and recording it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import virtcore
from virtcore import hookimpl
from virtcore.errors import AgentCommandFailedError, AgentCommandTimeoutError, AgentUnresponsiveError

Answer = Callable[[dict[str, Any]], Any]


class ScriptedAgent:
    """Answers ``execute`` names from ``script`` (a value, or a function of the arguments)."""

    def __init__(self, script: dict[str, Any]) -> None:
        self.script = script
        self.sent: list[dict[str, Any]] = []

    @hookimpl
    def virt_domain_qemu_agent_command(self, uuid: str, command: str, timeout: float) -> str:
        msg = json.loads(command)
        self.sent.append(msg)
        answer = self.script[msg["execute"]]
        value = answer(msg.get("arguments", {})) if callable(answer) else answer
        return json.dumps({"return": value})


@pytest.fixture
def dom() -> Iterator[virtcore.Domain]:
    from virt_test import reset_default_node

    reset_default_node()
    with virtcore.open("test:///default") as conn:
        yield conn.lookup_domain("test")
    reset_default_node()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_exec_sends_argv_as_json_and_polls_until_the_program_ends(dom: virtcore.Domain) -> None:
    polls = iter([{"exited": False}, {"exited": False}, {"exited": True, "exitcode": 7,
                  "out-data": _b64(b"out"), "err-data": _b64(b"err")}])  # fmt: skip
    agent = ScriptedAgent({"guest-exec": {"pid": 42}, "guest-exec-status": lambda a: next(polls)})
    dom.connection.register_plugin(agent)
    assert dom.agent.exec(["/bin/echo", "-n; rm -rf /", "$(x)"], input=b"in") == (7, b"out", b"err")
    assert agent.sent[0] == {
        "execute": "guest-exec",
        "arguments": {"path": "/bin/echo", "arg": ["-n; rm -rf /", "$(x)"], "capture-output": True,
                      "input-data": _b64(b"in")},
    }  # fmt: skip
    assert [m["execute"] for m in agent.sent[1:]] == ["guest-exec-status"] * 3
    assert all(m["arguments"] == {"pid": 42} for m in agent.sent[1:])


def test_exec_of_a_program_killed_by_a_signal(dom: virtcore.Domain) -> None:
    agent = ScriptedAgent({"guest-exec": {"pid": 1}, "guest-exec-status": {"exited": True, "signal": 9}})
    dom.connection.register_plugin(agent)
    assert dom.agent.exec(["sleep", "9"]) == (-9, b"", b"")


def test_file_read_in_chunks_and_write(dom: virtcore.Domain) -> None:
    chunks = iter([{"buf-b64": _b64(b"abc"), "eof": False}, {"buf-b64": _b64(b"def"), "eof": True}])
    agent = ScriptedAgent({
        "guest-file-open": 5, "guest-file-read": lambda a: next(chunks), "guest-file-close": {},
        "guest-file-write": lambda a: {"count": len(base64.b64decode(a["buf-b64"]))}, "guest-file-flush": {},
    })  # fmt: skip
    dom.connection.register_plugin(agent)
    assert dom.agent.file_read("/etc/x") == b"abcdef"
    assert agent.sent[0] == {"execute": "guest-file-open", "arguments": {"path": "/etc/x", "mode": "r"}}
    assert agent.sent[-1] == {"execute": "guest-file-close", "arguments": {"handle": 5}}
    agent.sent.clear()
    dom.agent.file_write("/tmp/y", b"\0\xff")
    assert [m["execute"] for m in agent.sent] == [
        "guest-file-open", "guest-file-write", "guest-file-flush", "guest-file-close",
    ]  # fmt: skip
    assert agent.sent[1]["arguments"] == {"handle": 5, "buf-b64": _b64(b"\0\xff")}


def test_a_failed_read_raises_its_own_error_not_the_closes(dom: virtcore.Domain) -> None:
    def read(_: dict[str, Any]) -> Any:
        raise AgentCommandTimeoutError("guest-file-read: no answer")

    def close(_: dict[str, Any]) -> Any:
        raise AgentUnresponsiveError("no resync")

    agent = ScriptedAgent({"guest-file-open": 1, "guest-file-read": read, "guest-file-close": close})
    dom.connection.register_plugin(agent)
    with pytest.raises(AgentCommandTimeoutError, match="guest-file-read"):
        dom.agent.file_read("/etc/x")
    assert agent.sent[-1]["execute"] == "guest-file-close"  # it still tried to close


def test_a_reply_without_return_is_a_failed_command(dom: virtcore.Domain) -> None:
    class Odd:
        @hookimpl
        def virt_domain_qemu_agent_command(self, uuid: str, command: str, timeout: float) -> str:
            return '{"something": "else"}'

    dom.connection.register_plugin(Odd())
    with pytest.raises(AgentCommandFailedError, match="guest-ping"):
        dom.agent.ping()
    assert json.loads(dom.agent.command('{"execute": "guest-ping"}')) == {"something": "else"}
