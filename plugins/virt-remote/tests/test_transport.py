"""Transports carry bytes to a daemon: a unix socket, the system ssh through a real sshd, a command."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from virt_remote.daemons import Sshd
from virt_remote.options import parse_options
from virt_remote.transport import Channel, connect, pki_paths, ssh_argv

from virtcore.errors import ErrorNumber, SystemError_
from virtcore.uri import URI


@pytest.fixture
def echo_socket(tmp_path: Path) -> Iterator[Path]:
    """A unix socket that echoes what it reads, upper-cased, one connection at a time."""
    path = tmp_path / "echo.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(65536):
                    conn.sendall(data.upper())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield path
    stop.set()
    server.close()


async def _round_trip(channel: Channel, payload: bytes) -> bytes:
    try:
        channel.writer.write(payload)
        await channel.writer.drain()
        return await asyncio.wait_for(channel.reader.readexactly(len(payload)), 30)
    finally:
        await channel.aclose()


def _open(text: str) -> Channel:
    return asyncio.run(connect(parse_options(URI.parse(text), False)))


def test_ssh_argv_is_libvirts_with_the_host_after_double_dash() -> None:
    o = parse_options(
        URI.parse("qemu+ssh://admin@h.example:2222/system?keyfile=/k&no_tty=1&no_verify=1"), False
    )
    argv = ssh_argv(o)
    assert argv[:-2] == [
        "ssh",
        "-p",
        "2222",
        "-l",
        "admin",
        "-i",
        "/k",
        "-T",
        "-e",
        "none",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "--",
    ]
    assert argv[-2] == "h.example"
    assert argv[-1].startswith("sh -c ")
    plain = ssh_argv(parse_options(URI.parse("qemu+ssh://h.example/system"), False))
    assert plain == ["ssh", "-T", "-e", "none", "--", "h.example", plain[-1]]
    assert "virt-ssh-helper" in plain[-1] and "qemu:///system" in plain[-1]


def test_unix_socket_round_trip(echo_socket: Path) -> None:
    async def go() -> tuple[str, bytes]:
        ch = await connect(parse_options(URI.parse(f"test+unix:///default?socket={echo_socket}"), False))
        return ch.what, await _round_trip(ch, b"hello")

    assert asyncio.run(go()) == (f"socket '{echo_socket}'", b"HELLO")


def test_a_missing_socket_is_a_system_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SystemError_, match=f"Failed to connect socket to '{tmp_path}/none'") as exc:
        _open(f"test+unix:///default?socket={tmp_path}/none")
    assert exc.value.code == ErrorNumber.SYSTEM_ERROR


def test_ext_runs_the_command_on_our_stream(tmp_path: Path) -> None:
    async def go() -> bytes:
        ch = await connect(parse_options(URI.parse("test+ext:///default?command=/bin/cat"), False))
        return await _round_trip(ch, b"through cat")

    assert asyncio.run(go()) == b"through cat"


def test_a_missing_command_names_it() -> None:
    with pytest.raises(SystemError_, match="cannot run '/nonexistent/prog'"):
        _open("test+ext:///default?command=/nonexistent/prog")


def test_ssh_through_a_real_sshd_reaches_the_socket_with_netcat(sshd: Sshd, echo_socket: Path) -> None:
    uri = f"test+ssh://root@127.0.0.1:{sshd.port}/default?keyfile={sshd.client_key}&no_verify=1&no_tty=1&socket={echo_socket}"

    async def go() -> bytes:
        ch = await connect(parse_options(URI.parse(uri), False))
        return await _round_trip(ch, b"x" * 200_000)

    assert asyncio.run(go()) == b"X" * 200_000


def test_ssh_verifies_the_host_key_unless_told_not_to(sshd: Sshd, echo_socket: Path, tmp_path: Path) -> None:
    # no_verify=0 and a known_hosts that does not know the key: ssh refuses, and says so
    uri = f"test+ssh://root@127.0.0.1:{sshd.port}/default?keyfile={sshd.client_key}&no_tty=1&socket={echo_socket}"

    async def go() -> tuple[bytes, str | None]:
        ch = await connect(parse_options(URI.parse(uri), False))
        data = await asyncio.wait_for(ch.reader.read(10), 30)
        await asyncio.sleep(0)
        await asyncio.to_thread(ch.process.wait, 30)  # type: ignore[union-attr]
        said = ch.process_error()
        await ch.aclose()
        return data, said

    data, said = asyncio.run(go())
    assert data == b""
    assert said is not None and "Host key verification failed" in said


def test_pki_paths_are_libvirts(tmp_path: Path) -> None:
    assert pki_paths(str(tmp_path)) == (
        tmp_path / "cacert.pem",
        tmp_path / "clientkey.pem",
        tmp_path / "clientcert.pem",
    )
    system = pki_paths(None)
    assert {str(p) for p in system} <= {
        "/etc/pki/CA/cacert.pem",
        "/etc/pki/libvirt/private/clientkey.pem",
        "/etc/pki/libvirt/clientcert.pem",
    } or all(".pki/libvirt" in str(p) for p in system)


def test_tls_with_missing_certificates_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(SystemError_, match=f"{tmp_path}/cacert.pem"):
        _open(f"test+tls://127.0.0.1:1/default?pkipath={tmp_path}")


def test_ssh_with_the_host_key_verified(sshd: Sshd, echo_socket: Path) -> None:
    # command= names the ssh binary (libvirt's meaning): one that trusts the sshd's known_hosts
    uri = (
        f"test+ssh://root@127.0.0.1:{sshd.port}/default?keyfile={sshd.client_key}&no_tty=1"
        f"&socket={echo_socket}&command={sshd.ssh_wrapper}"
    )

    async def go() -> bytes:
        ch = await connect(parse_options(URI.parse(uri), False))
        return await _round_trip(ch, b"verified")

    assert asyncio.run(go()) == b"VERIFIED"


def _openssl(*args: str) -> None:
    import subprocess

    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    """libvirt's pki layout (cacert.pem, clientcert.pem, clientkey.pem) with a server cert for 127.0.0.1."""
    import shutil

    if shutil.which("openssl") is None:
        pytest.skip("needs openssl to make certificates")
    d = tmp_path / "pki"
    d.mkdir()
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    _openssl("req", "-x509", *ec, "-days", "1", "-subj", "/CN=test CA",
             "-keyout", str(d / "cakey.pem"), "-out", str(d / "cacert.pem"))  # fmt: skip
    for who, ext in (("server", "subjectAltName=IP:127.0.0.1"), ("client", "extendedKeyUsage=clientAuth")):
        key, csr, cert = d / f"{who}key.pem", d / f"{who}.csr", d / f"{who}cert.pem"
        _openssl("req", *ec, "-subj", f"/CN={who}", "-keyout", str(key), "-out", str(csr))
        (d / f"{who}.ext").write_text(ext + "\n")
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(d / "cacert.pem"),
                 "-CAkey", str(d / "cakey.pem"), "-CAcreateserial", "-days", "1",
                 "-extfile", str(d / f"{who}.ext"), "-out", str(cert))  # fmt: skip
    return d


def test_tls_with_libvirts_pki_layout_verifies_both_ends(pki: Path) -> None:
    import ssl

    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(pki / "servercert.pem", pki / "serverkey.pem")
    server_ctx.load_verify_locations(pki / "cacert.pem")
    server_ctx.verify_mode = ssl.CERT_REQUIRED  # the daemon checks our client certificate too
    seen: list[str] = []

    async def go() -> bytes:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peer = writer.get_extra_info("peercert")
            seen.append(dict(x[0] for x in peer["subject"])["commonName"])
            writer.write((await reader.readexactly(5)).upper())
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        try:
            ch = await connect(
                parse_options(URI.parse(f"test+tls://127.0.0.1:{port}/default?pkipath={pki}"), False)
            )
            return await _round_trip(ch, b"hello")
        finally:
            server.close()
            await server.wait_closed()

    assert asyncio.run(go()) == b"HELLO"
    assert seen == ["client"]


def test_tls_refuses_a_server_its_ca_did_not_sign(pki: Path, tmp_path: Path) -> None:
    import shutil
    import ssl

    other = tmp_path / "other-pki"
    other.mkdir()
    for name in ("clientcert.pem", "clientkey.pem"):
        shutil.copy(pki / name, other / name)
    shutil.copy(pki / "clientcert.pem", other / "cacert.pem")  # trusts no CA that signed the server
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(pki / "servercert.pem", pki / "serverkey.pem")

    async def go() -> None:
        async def nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        server = await asyncio.start_server(nothing, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        try:
            await connect(
                parse_options(URI.parse(f"test+tls://127.0.0.1:{port}/default?pkipath={other}"), False)
            )
        finally:
            server.close()
            await server.wait_closed()

    with pytest.raises(SystemError_, match=r"TLS handshake with 127\.0\.0\.1:[0-9]+ failed"):
        asyncio.run(go())
