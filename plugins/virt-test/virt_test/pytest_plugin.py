"""pytest fixtures for testing code that manages VMs, with no hypervisor.

Installed with virt-test and loaded automatically (entry point ``pytest11``)::

    def test_my_tool_pauses_idle_guests(virt_conn):
        dom = virt_conn.lookup_domain("test")            # libvirt's default node
        my_tool.pause_idle(virt_conn)
        assert dom.state()[0] == virtcore.DomainState.PAUSED

Fixtures:

``virt_conn``
    An open connection to a *private* copy of ``test:///default``: domain
    ``test`` running with id 1. Each test gets its own, so tests never see
    each other's changes. Closed after the test.
``virt_uri``
    The URI of that private node (``test:///tmp/.../node.xml``), for code
    that opens its own connections. Connections to the same URI do *not*
    share state: a file URI gives each connection its own node.
``virt_node_file``
    A factory: ``virt_node_file(xml)`` writes node XML (``<node>...</node>``)
    or a list of domain XML strings to a file and returns its ``test:///``
    URI.
``virt_events``
    A list that receives ``(domain_name, event, detail)`` for every lifecycle
    event on ``virt_conn``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

import virtcore
from virt_test import default_node_xml
from virtcore.types import DomainEventType

__all__ = ["virt_conn", "virt_uri", "virt_node_file", "virt_events"]


@pytest.fixture
def virt_node_file(tmp_path: Path) -> Callable[[str | Sequence[str]], str]:
    """Write node XML (or domain XML strings) to a temporary file; return its ``test:///`` URI."""
    counter = itertools.count()

    def write(content: str | Sequence[str]) -> str:
        if not isinstance(content, str):
            content = "<node>\n" + "\n".join(content) + "\n</node>\n"
        path = tmp_path / f"virt-test-node-{next(counter)}.xml"
        path.write_text(content, encoding="utf-8")
        return "test://" + str(path.resolve())

    return write


@pytest.fixture
def virt_uri(virt_node_file: Callable[[str | Sequence[str]], str]) -> str:
    """URI of a private node with libvirt's default contents."""
    return virt_node_file(default_node_xml())


@pytest.fixture
def virt_conn(virt_uri: str) -> Iterator[virtcore.Connection]:
    """An isolated read-write connection with libvirt's default contents."""
    conn = virtcore.open(virt_uri)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def virt_events(virt_conn: virtcore.Connection) -> Iterator[list[tuple[str, DomainEventType, int]]]:
    """Every lifecycle event on ``virt_conn``, as ``(name, event, detail)``."""
    seen: list[tuple[str, DomainEventType, int]] = []
    cid = virt_conn.on_domain_event(lambda dom, event, detail: seen.append((dom.name, event, detail)))
    yield seen
    if not virt_conn.closed:
        virt_conn.remove_domain_event(cid)
