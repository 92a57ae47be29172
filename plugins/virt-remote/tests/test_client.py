"""The client against daemons that misbehave: a tiny fake server, and a real libvirtd stopped dead.

Every fault is a named VirtError, never a hang, and memory stays bounded
whatever length a hostile peer announces.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import virt_remote
from virt_remote.daemons import Libvirtd, libvirtd_missing

import virtcore
from virtcore.errors import AuthUnavailableError, ErrorNumber, NoDomainError, RPCError, VirtError
from virtcore.rpc.message import FrameReader, Header, MessageType, pack_message
from virtcore.rpc.protocol import REMOTE
from virtcore.testing.support import wait_for

#: Sent last by a behaviour: the fake daemon then hangs up.
CLOSE = b"<close>"

#: What the fake daemon does with one call: bytes to send back, or None to say nothing.
Behaviour = Callable[[Header, object], bytes | None]


def _reply(call: Header, ret: object = None) -> bytes:
    return REMOTE.reply(call, ret)


def _polite(call: Header, args: object) -> bytes | None:
    """Answer the opening handshake as libvirtd does (auth none, no keepalive, no callbacks)."""
    name = REMOTE.procedure(call.proc).name
    if name == "AUTH_LIST":
        return _reply(call, {"types": [0]})
    if name == "CONNECT_SUPPORTS_FEATURE":
        return _reply(call, {"supported": 0})
    if name in ("CONNECT_OPEN", "CONNECT_CLOSE", "CONNECT_DOMAIN_EVENT_REGISTER_ANY"):
        return _reply(call)
    return None


class FakeDaemon:
    """A unix socket that answers the handshake, then does what ``hostile`` says to the first other call."""

    def __init__(self, path: Path, hostile: Behaviour) -> None:
        self.path = path
        self.hostile = hostile
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(4)
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        frames = FrameReader()
        try:
            while data := conn.recv(65536):
                for header, payload in frames.feed(data):
                    if header.prog != REMOTE.number or header.type != MessageType.CALL:
                        continue
                    args = REMOTE.procedure(header.proc).decode_args(payload)
                    answer = _polite(header, args)
                    if answer is None:
                        answer = self.hostile(header, args)
                    if answer is not None:
                        conn.sendall(answer.removesuffix(CLOSE))
                        if answer.endswith(CLOSE):
                            conn.shutdown(socket.SHUT_RDWR)
                            return
        except (OSError, VirtError):
            pass

    def close(self) -> None:
        self.server.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[Callable[[Behaviour], str]]:
    daemons: list[FakeDaemon] = []

    def make(hostile: Behaviour) -> str:
        d = FakeDaemon(tmp_path / f"fake{len(daemons)}.sock", hostile)
        daemons.append(d)
        return f"test+unix:///default?socket={d.path}"

    yield make
    for d in daemons:
        d.close()


def _raw(length: int, rest: bytes = b"") -> Behaviour:
    return lambda call, args: struct.pack(">I", length) + rest


def _header(call: Header, **changes: int) -> bytes:
    fields = call.reply()._asdict() | changes
    return struct.pack(">IIiiIi", *fields.values())


@pytest.mark.parametrize(
    ("hostile", "match"),
    [
        (_raw(0xFFFFFFFF), "too large"),  # 4 GiB announced: refused before any of it is read
        (_raw(40 << 20), "too large"),  # above libvirt's 32 MiB cap
        (_raw(8), "too small"),
        (lambda call, args: struct.pack(">I", 1000) + _header(call) + b"x" * 10 + CLOSE, "closed"),
        (lambda call, args: struct.pack(">I", 28) + _header(call, type=99), "unknown type"),
        (lambda call, args: pack_message(call.reply()._replace(serial=999_999)), "serial 999999"),
        (lambda call, args: pack_message(call.reply(), b"\x00\x00\x00\x01"), "runs past the end"),
        (lambda call, args: b"GET / HTTP/1.1\r\n\r\n", "too large|too small|unknown"),
    ],
    ids=["4GiB", "40MiB", "short", "truncated", "bad-type", "wrong-serial", "bad-payload", "garbage"],
)
def test_hostile_replies_are_rpc_errors_with_bounded_memory(
    fake: Callable[[Behaviour], str], hostile: Behaviour, match: str
) -> None:
    conn = virtcore.open(fake(hostile))
    try:
        tracemalloc.start()
        with pytest.raises(VirtError, match=match) as exc:
            conn.get_type()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert exc.value.code in (ErrorNumber.RPC, ErrorNumber.INTERNAL_ERROR) or isinstance(
            exc.value, RPCError
        )
        assert peak < 8 << 20  # never the announced length
        if not isinstance(exc.value, RPCError):
            return
        # the connection is dead now, and says so, rather than hang
        with pytest.raises(RPCError):
            conn.hostname()
    finally:
        conn.close()


def test_a_reply_with_an_error_structure_is_the_daemons_virterror(fake: Callable[[Behaviour], str]) -> None:
    def no_domain(call: Header, args: object) -> bytes:
        return REMOTE.error_reply(call, NoDomainError("no domain with matching name 'ghost'"))

    with virtcore.open(fake(no_domain)) as conn:
        with pytest.raises(NoDomainError, match="no domain with matching name 'ghost'") as exc:
            conn.lookup_domain("ghost")
        assert exc.value.code == ErrorNumber.NO_DOMAIN
        with pytest.raises(NoDomainError):  # an error reply leaves the connection working
            conn.lookup_domain("ghost")


@pytest.mark.parametrize(("types", "names"), [([1], "sasl"), ([2], "polkit"), ([1, 2], "sasl, polkit")])
def test_sasl_and_polkit_are_refused_naming_them(tmp_path: Path, types: list[int], names: str) -> None:
    path = tmp_path / "auth.sock"

    def serve(server: socket.socket) -> None:
        conn, _ = server.accept()
        with conn:
            frames = FrameReader()
            while data := conn.recv(65536):
                for header, _ in frames.feed(data):
                    if REMOTE.procedure(header.proc).name == "AUTH_LIST":
                        conn.sendall(_reply(header, {"types": types}))

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    threading.Thread(target=serve, args=(server,), daemon=True).start()
    try:
        with pytest.raises(AuthUnavailableError, match=f"requires {names} authentication") as exc:
            virtcore.open(f"test+unix:///default?socket={path}")
        assert exc.value.code == ErrorNumber.AUTH_UNAVAILABLE
    finally:
        server.close()


def test_a_silent_daemon_is_found_dead_by_keepalive(
    fake: Callable[[Behaviour], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(virt_remote, "_keepalive", (0.2, 2))

    def supports_keepalive_then_silence(call: Header, args: object) -> bytes | None:
        return None  # never answers anything but the handshake, never pongs

    uri = fake(supports_keepalive_then_silence)
    # The handshake above says keepalive is unsupported: the client must not ping then,
    # and a silent daemon is only found dead when it offers keepalive. Offer it:
    monkeypatch.setattr(
        "virt_remote.client.RemoteClient.supports_feature",
        _supports_everything,
    )
    with virtcore.open(uri) as conn:
        with pytest.raises(RPCError, match="keepalive timeout") as exc:
            conn.get_type()
        assert exc.value.code == ErrorNumber.RPC


def test_a_daemon_stalled_inside_a_message_is_found_dead_by_keepalive(
    fake: Callable[[Behaviour], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(virt_remote, "_keepalive", (0.2, 2))
    monkeypatch.setattr("virt_remote.client.RemoteClient.supports_feature", _supports_everything)
    uri = fake(lambda call, args: struct.pack(">I", 1000) + _header(call) + b"x" * 10)  # then nothing
    with virtcore.open(uri) as conn, pytest.raises(RPCError, match="keepalive timeout"):
        conn.get_type()


async def _supports_everything(self: object, feature: int) -> bool:
    return feature == 10  # VIR_DRV_FEATURE_PROGRAM_KEEPALIVE


@pytest.fixture
def own_libvirtd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Libvirtd]:
    """A libvirtd of this test's own (it gets stopped)."""
    why = libvirtd_missing()
    if why is not None:
        pytest.skip(f"no libvirtd: {why}")
    with Libvirtd(tmp_path_factory.mktemp("own-libvirtd")) as daemon:
        yield daemon


def test_a_stopped_libvirtd_is_detected_and_a_new_connection_works_again(
    own_libvirtd: Libvirtd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(virt_remote, "_keepalive", (0.3, 2))
    conn = virtcore.open(own_libvirtd.uri())
    assert conn.lookup_domain("test").is_active()
    assert own_libvirtd.proc is not None
    os.kill(own_libvirtd.proc.pid, signal.SIGSTOP)
    try:
        with pytest.raises(RPCError, match="keepalive timeout"):
            conn.lookup_domain("test").info()
        with pytest.raises(RPCError):  # dead for good, no hang
            conn.get_type()
    finally:
        os.kill(own_libvirtd.proc.pid, signal.SIGCONT)
        conn.close()
    with virtcore.open(own_libvirtd.uri()) as again:  # reopened: works, events flow again
        seen: list[str] = []
        again.on_domain_event(lambda dom, event, detail: seen.append(event.name))
        dom = again.lookup_domain("test")
        dom.suspend()
        dom.resume()
        wait_for(lambda: seen[-2:] == ["SUSPENDED", "RESUMED"], 30, "events after reopening")


def test_a_missing_daemon_names_the_socket(tmp_path: Path) -> None:
    with pytest.raises(virtcore.errors.SystemError_, match=f"'{tmp_path}/none.sock'"):
        virtcore.open(f"test+unix:///default?socket={tmp_path}/none.sock")


def test_an_unserved_uri_is_the_daemons_no_connect(libvirtd: Libvirtd) -> None:
    with pytest.raises(VirtError) as exc:
        virtcore.open(f"nosuchdrv+unix:///x?socket={libvirtd.socket}")
    assert exc.value.code == ErrorNumber.NO_CONNECT


def test_read_only_over_the_read_only_socket(libvirtd: Libvirtd) -> None:
    with virtcore.open_read_only(f"test+unix:///default?socket={libvirtd.socket_ro}") as ro:
        assert ro.lookup_domain("test").is_active()
        with pytest.raises(virtcore.errors.OperationDeniedError):
            ro.lookup_domain("test").suspend()


def test_volume_upload_and_download_are_streams_through_libvirtds_storage_driver(
    libvirtd: Libvirtd, tmp_path: Path
) -> None:
    # libvirt's test driver has no streams: its real storage driver (a dir pool under
    # the test's directory, which the contained daemon shares) does.
    import io

    data = os.urandom(700_000)  # three stream packets
    with virtcore.open(libvirtd.uri("qemu", "/system")) as conn:
        pool = conn.define_storage_pool(
            f"<pool type='dir'><name>streams-{os.getpid()}</name>"
            f"<target><path>{tmp_path}/pool</path></target></pool>"
        )
        try:
            pool.build()
            pool.start()
            vol = pool.create_volume(
                "<volume><name>v.raw</name><capacity>1048576</capacity>"
                "<target><format type='raw'/></target></volume>"
            )
            assert vol.upload(io.BytesIO(data)) == len(data)
            assert (tmp_path / "pool" / "v.raw").read_bytes()[: len(data)] == data
            out = io.BytesIO()
            vol.download(out, length=len(data))
            assert out.getvalue() == data
            part = io.BytesIO()
            vol.download(part, offset=1000, length=5000)
            assert part.getvalue() == data[1000:6000]
            vol.delete()
        finally:
            pool.destroy()
            pool.undefine()


def test_a_call_larger_than_the_socket_buffer_goes_whole_and_in_order(libvirtd: Libvirtd) -> None:
    # 3 MB of XML: the socket takes it in parts; the rest must go before any later message.
    description = "x" * (3 << 20)
    with virtcore.open(libvirtd.uri()) as conn:
        name = f"big-{os.getpid()}"
        xml = (
            f"<domain type='test'><name>{name}</name><description>{description}</description>"
            "<memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>"
        )
        dom = conn.define_domain(xml)
        try:
            client = conn.driver_objects()[0]._client  # type: ignore[attr-defined]
            assert client._direct_fd is None  # the socket took it in parts: the loop sent the rest
            for _ in range(3):  # later calls, on the loop's path now, still line up
                assert description in dom.xml_desc()
                assert conn.lookup_domain("test").is_active()
        finally:
            dom.undefine()
