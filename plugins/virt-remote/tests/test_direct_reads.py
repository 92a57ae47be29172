"""The sync API's connections read their replies in the calling threads (virt_remote.directread).

Against Debian's libvirtd: many threads calling at once on one connection
each get their own answers (one reads while the others' replies complete
their futures), events keep coming while calls run and while none does, and
the asyncio API's calls on the same connection are answered by the
connection's own reader thread.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from virt_remote import loop
from virt_remote.daemons import Libvirtd

import virtcore
from virtcore.testing.support import wait_for

DOMAIN = """<domain type='test'><name>{}</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64'>hvm</type></os></domain>"""


def _client(conn: virtcore.Connection) -> Any:
    (plugin,) = [p for p in conn._pm.get_plugins() if type(p).__name__ == "RemoteDriver"]
    return plugin._client


def test_threads_calling_at_once_each_get_their_own_answers(libvirtd: Libvirtd) -> None:
    with virtcore.open(libvirtd.uri()) as conn:
        assert _client(conn)._direct is not None  # a plain socket: read by its callers
        names = [f"direct-{i}" for i in range(8)]
        doms = [conn.define_domain(DOMAIN.format(n)) for n in names]
        try:

            def work(name: str) -> list[str]:
                return [conn.lookup_domain(name).name for _ in range(40)]

            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(work, names))
            assert answers == [[n] * 40 for n in names]
        finally:
            for dom in doms:
                dom.undefine()


def test_events_come_while_threads_call_and_while_none_does(libvirtd: Libvirtd) -> None:
    with virtcore.open(libvirtd.uri()) as conn, virtcore.open(libvirtd.uri()) as other:
        heard: list[str] = []
        conn.on_domain_event(lambda dom, event, detail: heard.append(f"{dom.name} {event.name}"))
        stop = threading.Event()

        def busy() -> int:
            n = 0
            while not stop.is_set():
                conn.lookup_domain("test")
                n += 1
            return n

        with ThreadPoolExecutor(2) as pool:
            callers = [pool.submit(busy) for _ in range(2)]
            dom = other.lookup_domain("test")  # another connection makes the changes
            dom.suspend()
            dom.resume()
            wait_for(lambda: heard[-1:] == ["test RESUMED"], 30, "the events heard while calls run")
            stop.set()
            assert all(c.result() > 0 for c in callers)
        del heard[:]
        dom.suspend()  # no call of conn's in flight: its own thread reads the event
        wait_for(lambda: heard == ["test SUSPENDED"], 30, "the event heard while no call runs")
        dom.resume()
        wait_for(lambda: heard == ["test SUSPENDED", "test RESUMED"], 30, "the last event")


def test_the_asyncio_api_on_a_direct_connection_is_answered(libvirtd: Libvirtd) -> None:
    with virtcore.open(libvirtd.uri()) as conn:
        client = _client(conn)

        async def both() -> list[Any]:
            import asyncio

            return list(
                await asyncio.gather(
                    *(client.call("DOMAIN_LOOKUP_BY_NAME", {"name": "test"}) for _ in range(20))
                )
            )

        answers = loop.run(both())
        assert [a["dom"]["name"] for a in answers] == ["test"] * 20
        assert conn.lookup_domain("test").name == "test"  # and the sync path still works after
