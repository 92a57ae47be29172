"""I/O thread statistics through the remote driver: ``CONNECT_GET_ALL_DOMAIN_STATS``' ``iothread`` group.

The same test against ``virtcore serve`` (virt-test's ``test:///default``) and against
Debian's libvirtd (libvirt's own test driver, whose bulk statistics have the ``state``
and ``iothread`` groups): a running guest's I/O threads with their polling, none for
one without, ``OperationInvalidError`` for a shut-off one, the daemon's lookup error
for one that is gone.
"""

from __future__ import annotations

import asyncio
import os
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_support import Served
from virt_remote.daemons import Libvirtd

import virtcore
from virtcore import domstats
from virtcore.errors import NoDomainError, OperationInvalidError
from virtcore.testing import DEFAULT_TEMPLATE


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = Served(tmp_path_factory.mktemp("serve"), ["test:///default"])
    yield server
    log = server.stop()
    assert "Traceback" not in log, log


@pytest.fixture(params=["serve", "libvirtd"])
def uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "serve":
        return str(request.getfixturevalue("served").uri("test:///default"))
    libvirtd: Libvirtd = request.getfixturevalue("libvirtd")
    return libvirtd.uri()


@pytest.fixture
def guest(uri: str) -> Iterator[virtcore.Domain]:
    """A running guest of the test driver, of this test's own, undefined afterwards."""
    with virtcore.open(uri) as conn:
        name = f"bulk-stats-{os.getpid()}"
        dom = conn.define_domain(
            DEFAULT_TEMPLATE.replace("{name}", name).replace("{uuid}", str(uuidlib.uuid4()))
        )
        try:
            dom.start()
            yield dom
        finally:
            if dom.is_active():
                dom.destroy()
            dom.undefine()


def test_a_running_guests_iothreads_and_their_polling(guest: virtcore.Domain) -> None:
    assert guest.iothread_stats() == []
    guest.add_iothread(3, live=True)
    guest.add_iothread(1, live=True)
    guest.set_iothread_params(3, {"poll_max_ns": 4000, "poll_grow": 2, "poll_shrink": 3}, live=True)
    assert guest.iothread_stats() == [
        (3, {"poll-max-ns": 4000, "poll-grow": 2, "poll-shrink": 3}),
        (1, {"poll-max-ns": 32768, "poll-grow": 0, "poll-shrink": 0}),  # the test driver's defaults
    ]
    guest.suspend()
    assert [i for i, _ in guest.iothread_stats()] == [3, 1]  # a paused guest is still active


def _wire_types(uri: str, dom: virtcore.Domain, stats: int) -> dict[str, int]:
    """Each field of ``dom``'s record and its ``VIR_TYPED_PARAM_*`` type, as the daemon sent them."""
    from virt_remote import RemoteClient
    from virt_remote.options import parse_options

    from virtcore.uri import URI

    async def ask() -> dict[str, int]:
        client = await RemoteClient.open(parse_options(URI.parse(uri), read_only=True))
        try:
            wire = {"name": dom.name, "uuid": uuidlib.UUID(dom.uuid).bytes, "id": dom.id}
            r = await client.call(
                "CONNECT_GET_ALL_DOMAIN_STATS", {"doms": [wire], "stats": stats, "flags": 0}
            )
            return {p["field"]: p["value"][0] for p in r["retStats"][0]["params"]}
        finally:
            await client.aclose()

    return asyncio.run(ask())


def test_the_records_typed_parameters_have_libvirts_types(uri: str, guest: virtcore.Domain) -> None:
    guest.add_iothread(2, live=True)
    int_, uint, ullong = 1, 2, 4  # VIR_TYPED_PARAM_INT, _UINT, _ULLONG
    assert _wire_types(uri, guest, domstats.STATS_STATE | domstats.STATS_IOTHREAD) == {
        "state.state": int_,
        "state.reason": int_,
        "iothread.count": uint,
        "iothread.2.poll-max-ns": ullong,
        "iothread.2.poll-grow": uint,
        "iothread.2.poll-shrink": uint,
    }


def test_a_shut_off_guest_has_no_iothread_statistics(guest: virtcore.Domain) -> None:
    guest.destroy()
    with pytest.raises(OperationInvalidError, match=guest.name):
        guest.iothread_stats()


def test_a_guest_that_is_gone_is_the_daemons_lookup_error(uri: str) -> None:
    with virtcore.open(uri) as conn:
        dom = conn.create_domain(
            DEFAULT_TEMPLATE.replace("{name}", f"bulk-gone-{os.getpid()}").replace(
                "{uuid}", str(uuidlib.uuid4())
            )
        )
        dom.destroy()  # transient: gone
        with pytest.raises(NoDomainError) as raised:  # virt-test names the UUID; libvirt's test driver not
            dom.iothread_stats()
        assert dom.uuid in str(raised.value) or "Domain not found" in str(raised.value)
