"""The side-by-side tests' shared step loop (libvirt_peer.play), on a side of its own."""

from __future__ import annotations

import pytest
from libvirt_peer import play

from virtcore.errors import NoDomainError, VirtError


class _Side:
    def error_code(self, exc: BaseException) -> int | None:
        return exc.code if isinstance(exc, VirtError) else None


def _fail(exc: BaseException) -> object:
    raise exc


def test_each_step_records_its_answer_or_its_error_code_and_goes_on() -> None:
    steps = [
        ("text", lambda: "a"),
        ("a handle", lambda: object()),
        ("no domain", lambda: _fail(NoDomainError("no domain with matching name 'x'"))),
        ("a list", lambda: [1, "b"]),
    ]
    assert play(_Side(), steps) == [
        ("text", ["ok", "a"]),
        ("a handle", ["ok", None]),
        ("no domain", ["err", 42]),
        ("a list", ["ok", [1, "b"]]),
    ]
    assert play(_Side(), steps[:1], lambda v: [v]) == [("text", ["ok", ["a"]])]


def test_an_error_that_is_not_the_side_s_stops_the_scenario() -> None:
    ran: list[str] = []
    steps = [("boom", lambda: _fail(KeyError("bug"))), ("after", lambda: ran.append("after"))]
    with pytest.raises(KeyError, match="bug"):
        play(_Side(), steps)
    assert ran == []
