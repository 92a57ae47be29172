"""``virtcore serve`` driven by real libvirt clients: Debian's virsh and python3-libvirt (issue 14).

Each test starts its own ``virtcore serve`` process serving ``test:///default``
(the mock's default node, private to that process) on unix sockets in a
temporary directory, and drives it with virsh or with python3-libvirt
through libvirt's C remote driver. A few tests speak the protocol directly
with :mod:`virtcore.rpc` to do what no polite client does (garbage, keepalive).
"""

from __future__ import annotations

import os
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from serve_support import SYSTEM_PYTHON, VIRSH, Served, has_python3_libvirt, virsh

from virtcore.errors import OperationAbortedError
from virtcore.rpc.errors import decode_error, encode_error
from virtcore.rpc.message import FrameReader, Header, MessageStatus, MessageType, pack_message
from virtcore.rpc.protocol import KEEPALIVE, REMOTE

pytestmark = pytest.mark.skipif(VIRSH is None, reason="Debian's virsh (libvirt-clients) is not installed")

TEST = "test:///default"
GUEST_XML = """<domain type='test'>
  <name>{name}</name>
  <memory unit='KiB'>65536</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
</domain>
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path, [TEST])
    yield server
    log = server.stop()
    assert not server.sock.exists() and not server.ro_sock.exists(), "sockets left behind"
    assert "Traceback" not in log, log


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_sockets_are_guarded_by_owner_and_mode(served: Served) -> None:
    rw, ro = served.sock.stat(), served.ro_sock.stat()
    assert stat.S_ISSOCK(rw.st_mode) and stat.S_IMODE(rw.st_mode) == 0o600
    assert stat.S_IMODE(ro.st_mode) == 0o666
    assert rw.st_uid == os.getuid()


def test_virsh_list_dominfo_dumpxml(served: Served) -> None:
    uri = served.uri(TEST)
    assert ok(virsh(uri, "list", "--all")).split() == ["1", "test", "running"]
    info = dict(line.split(":", 1) for line in ok(virsh(uri, "dominfo", "test")).splitlines() if ":" in line)
    assert info["Name"].strip() == "test" and info["State"].strip() == "running"
    assert info["UUID"].strip() == "6695eb01-f6a4-8304-79aa-97f2502e193f"
    assert info["Max memory"].strip() == "8388608 KiB" and info["CPU(s)"].strip() == "2"
    assert "<name>test</name>" in ok(virsh(uri, "dumpxml", "test"))
    assert ok(virsh(uri, "uri")).strip() == uri
    assert "CPU model:           i686" in ok(virsh(uri, "nodeinfo"))


def test_virsh_manages_a_domain_lifecycle(served: Served, tmp_path: Path) -> None:
    uri = served.uri(TEST)
    xml = tmp_path / "g.xml"
    xml.write_text(GUEST_XML.format(name="guest1"))
    ok(virsh(uri, "define", str(xml)))
    assert ok(virsh(uri, "domstate", "guest1")).strip() == "shut off"
    ok(virsh(uri, "start", "guest1"))
    ok(virsh(uri, "suspend", "guest1"))
    assert ok(virsh(uri, "domstate", "guest1")).strip() == "paused"
    ok(virsh(uri, "resume", "guest1"))
    assert ok(virsh(uri, "domstate", "guest1")).strip() == "running"
    image = tmp_path / "guest1.save"
    ok(virsh(uri, "save", "guest1", str(image)))
    assert image.stat().st_size > 0
    assert ok(virsh(uri, "domstate", "guest1")).strip() == "shut off"
    ok(virsh(uri, "restore", str(image)))
    assert ok(virsh(uri, "domstate", "guest1")).strip() == "running"
    ok(virsh(uri, "destroy", "guest1"))
    ok(virsh(uri, "undefine", "guest1"))
    gone = virsh(uri, "dominfo", "guest1")
    assert gone.returncode != 0 and "failed to get domain 'guest1'" in gone.stderr


def test_errors_reach_virsh_with_libvirts_words(served: Served, tmp_path: Path) -> None:
    uri = served.uri(TEST)
    again = virsh(uri, "resume", "test")
    assert (
        again.returncode != 0
        and "internal error: domain 'test' not paused" in again.stderr  # libvirt's test driver's words
    )
    bad = tmp_path / "bad.xml"
    bad.write_text("<domain type='test'><name>x</name>")
    malformed = virsh(uri, "define", str(bad))
    assert malformed.returncode != 0 and "XML error" in malformed.stderr, malformed.stderr


def test_a_uri_the_server_does_not_serve_is_no_connect(served: Served) -> None:
    result = virsh(served.uri("qemu:///system"), "list")
    assert result.returncode != 0
    assert "no connection driver available for qemu:///system" in result.stderr


def test_the_read_only_socket_refuses_changes(served: Served) -> None:
    ro = served.uri(TEST, read_only=True)
    assert ok(virsh(ro, "list")).split() == ["1", "test", "running"]
    denied = virsh(ro, "destroy", "test")
    assert denied.returncode != 0 and "read only access" in denied.stderr
    assert ok(virsh(served.uri(TEST), "domstate", "test")).strip() == "running"


def test_virsh_readonly_flag_on_the_rw_socket_is_read_only(served: Served) -> None:
    assert VIRSH is not None
    result = subprocess.run(
        [VIRSH, "-r", "-q", "-c", served.uri(TEST), "suspend", "test"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "read only access" in result.stderr


def test_virsh_event_loop_gets_lifecycle_events(served: Served) -> None:
    uri = served.uri(TEST)
    assert VIRSH is not None
    watcher = subprocess.Popen(
        [VIRSH, "-q", "-c", uri, "event", "--loop", "--event", "lifecycle", "--timeout", "10"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    got_one = threading.Event()

    def read() -> None:
        assert watcher.stdout is not None
        for line in watcher.stdout:
            lines.append(line.strip())
            got_one.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        # the watcher has registered once an event reaches it: pause and resume until one does
        for _ in range(50):
            ok(virsh(uri, "suspend", "test"))
            ok(virsh(uri, "resume", "test"))
            if got_one.wait(0.5):
                break
        ok(virsh(uri, "destroy", "test"))
        watcher.wait(60)
        reader.join(10)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    # the first pause may come before the watcher registered; the resume after it did not
    assert "event 'lifecycle' for domain 'test': Resumed Unpaused" in lines, lines
    assert "event 'lifecycle' for domain 'test': Stopped Destroyed" in lines, lines
    assert "event loop timed out" in lines, lines


def test_garbage_and_hostile_lengths_drop_only_that_client(served: Served) -> None:
    for junk in (
        b"\xff\xff\xff\xff" + b"x" * 60,
        struct.pack(">I", 8) + b"\0" * 8,
        b"GET / HTTP/1.1\r\n\r\n",
    ):
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(served.sock))
            s.sendall(junk)
            s.settimeout(30)
            assert s.recv(100) == b""  # the server hung up on it
    assert ok(virsh(served.uri(TEST), "list")).split() == ["1", "test", "running"]
    assert "too large" in served.log.read_text() or "too small" in served.log.read_text()


def _call(s: socket.socket, frames: FrameReader, data: bytes) -> list[tuple[object, bytes]]:
    s.sendall(data)
    got: list[tuple[object, bytes]] = []
    while not got:
        chunk = s.recv(65536)
        assert chunk, "server closed the connection"
        got += frames.feed(chunk)
    return got  # type: ignore[return-value]


def test_keepalive_ping_is_answered_and_calls_before_open_fail(served: Served) -> None:
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(served.sock))
        s.settimeout(30)
        frames = FrameReader()
        [(header, _)] = _call(s, frames, KEEPALIVE.event("PING", None))
        assert header.prog == KEEPALIVE.number and header.proc == 2 and header.type == MessageType.MESSAGE  # type: ignore[attr-defined]
        [(header, payload)] = _call(s, frames, REMOTE.call("DOMAIN_LOOKUP_BY_NAME", 5, {"name": "test"}))
        assert header.status == MessageStatus.ERROR and header.serial == 5  # type: ignore[attr-defined]
        assert "connection not open" in str(decode_error(payload))
        [(header, payload)] = _call(s, frames, REMOTE.call("AUTH_LIST", 6))
        assert REMOTE.procedure("AUTH_LIST").decode_ret(payload) == {"types": [0]}
        [(header, payload)] = _call(s, frames, REMOTE.call("CONNECT_OPEN", 7, {"name": TEST, "flags": 0}))
        assert header.status == MessageStatus.OK  # type: ignore[attr-defined]
        [(header, payload)] = _call(s, frames, REMOTE.call("DOMAIN_LOOKUP_BY_NAME", 8, {"name": "test"}))
        dom = REMOTE.procedure("DOMAIN_LOOKUP_BY_NAME").decode_ret(payload)["dom"]
        assert dom["name"] == "test" and dom["id"] == 1
        # a procedure the server does not serve is NO_SUPPORT naming it
        call = REMOTE.call("DOMAIN_GET_LAUNCH_SECURITY_INFO", 9, {"dom": dom, "flags": 0})
        [(header, payload)] = _call(s, frames, call)
        exc = decode_error(payload)
        assert int(exc.code) == 3 and "DOMAIN_GET_LAUNCH_SECURITY_INFO" in str(exc)


def test_stdio_serves_virsh_through_libvirts_ext_transport(tmp_path: Path) -> None:
    """``--stdio`` is what ssh's ``command=`` runs; libvirt's ext transport spawns it the same way."""
    wrapper = tmp_path / "serve-stdio"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} -m virtcore serve --stdio --uri {TEST}\n")
    wrapper.chmod(0o755)
    uri = f"test+ext:///default?command={wrapper}"
    assert ok(virsh(uri, "list", "--all")).split() == ["1", "test", "running"]
    assert ok(virsh(uri, "domstate", "test")).strip() == "running"
    read_only = tmp_path / "serve-stdio-ro"
    read_only.write_text(
        f"#!/bin/sh\nexec {sys.executable} -m virtcore serve --stdio --read-only --uri {TEST}\n"
    )
    read_only.chmod(0o755)
    denied = virsh(f"test+ext:///default?command={read_only}", "destroy", "test")
    assert denied.returncode != 0 and "read only access" in denied.stderr


# --- python3-libvirt ----------------------------------------------------------------------------------

PY_CLIENT = r"""
import sys, threading, libvirt
uri = sys.argv[1]
libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open(uri)
print("type", conn.getType())
dom = conn.lookupByName("test")
print("info", dom.info())
print("uuid", dom.UUIDString(), conn.lookupByUUIDString(dom.UUIDString()).name())
print("byid", conn.lookupByID(1).name())
print("names", sorted(d.name() for d in conn.listAllDomains()))
print("ids", conn.listDomainsID())
print("xml", "<name>test</name>" in dom.XMLDesc(0))
events = []
def cb(conn, d, event, detail, opaque):
    events.append((d.name(), event, detail, d.ID()))
cid = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)
dom.suspend(); dom.resume()
import time
deadline = time.monotonic() + 20
while len(events) < 2 and time.monotonic() < deadline:
    libvirt.virEventRunDefaultImpl()
print("events", events)
conn.domainEventDeregisterAny(cid)
try:
    dom.resume()
except libvirt.libvirtError as e:
    print("error", e.get_error_code(), e.get_error_message())
new = conn.defineXML(sys.argv[2])
new.create()
print("state", new.state())
new.destroy(); new.undefine()
conn.close()
"""


@pytest.mark.skipif(not has_python3_libvirt(), reason="Debian's python3-libvirt is not installed")
def test_python3_libvirt_through_its_c_remote_driver(served: Served) -> None:
    result = subprocess.run(
        [SYSTEM_PYTHON, "-c", PY_CLIENT, served.uri(TEST), GUEST_XML.format(name="pyguest")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert out["type"] == "TEST"
    assert out["info"] == "[1, 8388608, 2097152, 2, " + out["info"].split(", ")[4]
    assert out["uuid"] == "6695eb01-f6a4-8304-79aa-97f2502e193f test"
    assert out["byid"] == "test" and out["names"] == "['test']" and out["ids"] == "[1]"
    assert out["xml"] == "True"
    # SUSPENDED/PAUSED, RESUMED/UNPAUSED, in order, with the running domain's id
    assert out["events"] == "[('test', 3, 0, 1), ('test', 4, 0, 1)]"
    assert out["error"] == "1 internal error: domain 'test' not paused"  # libvirt 9.0 test driver's
    assert out["state"] == "[1, 1]"


def test_many_clients_at_once(served: Served) -> None:
    uri = served.uri(TEST)
    results: list[subprocess.CompletedProcess[str]] = []

    def one() -> None:
        results.append(virsh(uri, "dominfo", "test"))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and all(r.returncode == 0 and "running" in r.stdout for r in results)


def test_virsh_storage_pools_and_volumes(served: Served) -> None:
    uri = served.uri(TEST)
    assert ok(virsh(uri, "pool-list", "--all")).split() == ["default-pool", "active", "no"]
    info = ok(virsh(uri, "pool-info", "default-pool"))
    assert "Capacity:       100.00 GiB" in info and "State:          running" in info
    ok(virsh(uri, "vol-create-as", "default-pool", "a.img", "1G"))
    assert ok(virsh(uri, "vol-list", "default-pool")).split() == ["a.img", "/default-pool/a.img"]
    assert "Capacity:       1.00 GiB" in ok(virsh(uri, "vol-info", "a.img", "--pool", "default-pool"))
    assert ok(virsh(uri, "vol-path", "a.img", "--pool", "default-pool")).strip() == "/default-pool/a.img"
    assert ok(virsh(uri, "vol-pool", "/default-pool/a.img")).strip() == "default-pool"
    ok(virsh(uri, "vol-resize", "a.img", "2G", "--pool", "default-pool"))
    assert "Capacity:       2.00 GiB" in ok(virsh(uri, "vol-info", "a.img", "--pool", "default-pool"))
    exists = virsh(uri, "vol-create-as", "default-pool", "a.img", "1G")
    assert exists.returncode != 0 and "a.img" in exists.stderr
    ok(virsh(uri, "vol-delete", "a.img", "--pool", "default-pool"))
    assert ok(virsh(uri, "vol-list", "default-pool")).split() == []
    assert "<name>default-pool</name>" in ok(virsh(uri, "pool-dumpxml", "default-pool"))


def test_virsh_networks(served: Served, tmp_path: Path) -> None:
    uri = served.uri(TEST)
    assert ok(virsh(uri, "net-list", "--all")).split() == ["default", "active", "no", "yes"]
    assert "Bridge:         virbr0" in ok(virsh(uri, "net-info", "default"))
    xml = tmp_path / "n.xml"
    xml.write_text("<network><name>extra</name><bridge name='virbr9'/></network>")
    ok(virsh(uri, "net-define", str(xml)))
    assert ok(virsh(uri, "net-list", "--inactive")).split() == ["extra", "inactive", "no", "yes"]
    ok(virsh(uri, "net-start", "extra"))
    ok(virsh(uri, "net-autostart", "extra"))
    assert "Autostart:      yes" in ok(virsh(uri, "net-info", "extra"))
    ok(virsh(uri, "net-destroy", "extra"))
    ok(virsh(uri, "net-undefine", "extra"))
    gone = virsh(uri, "net-info", "extra")
    assert gone.returncode != 0 and "extra" in gone.stderr


def test_virsh_snapshots(served: Served) -> None:
    uri = served.uri(TEST)
    ok(virsh(uri, "snapshot-create-as", "test", "s1"))
    ok(virsh(uri, "snapshot-create-as", "test", "s2"))
    assert ok(virsh(uri, "snapshot-list", "test", "--name")).split() == ["s1", "s2"]
    assert ok(virsh(uri, "snapshot-list", "test", "--roots", "--name")).split() == ["s1"]
    assert ok(virsh(uri, "snapshot-current", "test", "--name")).strip() == "s2"
    assert ok(virsh(uri, "snapshot-parent", "test", "s2")).strip() == "s1"
    info = ok(virsh(uri, "snapshot-info", "test", "s1"))
    assert "Children:       1" in info and "Current:        no" in info
    ok(virsh(uri, "snapshot-revert", "test", "s1", "--paused"))
    assert ok(virsh(uri, "domstate", "test")).strip() == "paused"
    assert ok(virsh(uri, "snapshot-current", "test", "--name")).strip() == "s1"
    assert "<name>s1</name>" in ok(virsh(uri, "snapshot-dumpxml", "test", "s1"))
    ok(virsh(uri, "snapshot-delete", "test", "s1", "--children"))
    assert ok(virsh(uri, "snapshot-list", "test", "--name")).split() == []
    nosuch = virsh(uri, "snapshot-info", "test", "nosuch")
    assert nosuch.returncode != 0 and "nosuch" in nosuch.stderr


def test_virsh_domifaddr(served: Served) -> None:
    out = ok(virsh(served.uri(TEST), "domifaddr", "test"))
    assert "ipv4" in out and "/24" in out


def test_serve_usage_errors(run: Callable[..., tuple[int, str, str]]) -> None:
    status, _, err = run("serve", "--uri", TEST, uri=None)
    assert status == 1 and "nothing to serve on" in err
    status, _, err = run("serve", "--alias", "qemu:///system", "--stdio", uri=None)
    assert status == 1 and "expected NAME=URI" in err
    status, _, err = run("serve", "--listen", "tcp:0.0.0.0:16509", uri=None)
    assert status == 1 and "expected unix:PATH" in err
    status, _, err = run("serve", "--stdio", "--listen", "unix:/x", "--uri", TEST, uri=None)
    assert status == 1 and "cannot be combined" in err


def test_a_file_in_the_sockets_place_is_not_replaced(
    tmp_path: Path, run: Callable[..., tuple[int, str, str]]
) -> None:
    precious = tmp_path / "precious"
    precious.write_text("data")
    status, _, err = run("serve", "--uri", TEST, "--listen", f"unix:{precious}", uri=None)
    assert status == 1 and "refusing to replace" in err and "not a socket" in err
    assert precious.read_text() == "data"


def test_aliases_serve_an_embedded_root_under_the_name_clients_send(tmp_path: Path) -> None:
    server = Served(tmp_path, [], read_only_socket=False, aliases={"test:///other": TEST})
    try:
        assert ok(virsh(server.uri("test:///other"), "list", "--name")).split() == ["test"]
        assert ok(virsh(server.uri(TEST), "list", "--name")).split() == ["test"]
        refused = virsh(server.uri("test:///third"), "list")
        assert (
            refused.returncode != 0 and "no connection driver available for test:///third" in refused.stderr
        )
    finally:
        server.stop()


def test_the_pacer_keeps_blocking_procedures_off_the_event_loop() -> None:
    from virtcore.server.daemon import Pacer

    pacer = Pacer()
    key = ("test:///default", "DOMAIN_GET_INFO")
    assert not pacer.fast(key)  # unknown: a worker thread
    for _ in range(Pacer.FAST):
        assert pacer.timed(key, lambda: b"reply") == b"reply"
    assert pacer.fast(key)  # fast every time: on the loop

    def blocks() -> bytes:
        time.sleep(Pacer.SLOW_S * 4)  # a driver call waiting on its hypervisor
        return b"late"

    assert pacer.timed(key, blocks) == b"late"
    assert not pacer.fast(key)  # back to the threads until fast again FAST times in a row
    assert not pacer.fast(("qemu:///system", "DOMAIN_GET_INFO"))  # learnt per served URI


def test_virsh_vol_upload_and_download_stream_the_bytes(served: Served, tmp_path: Path) -> None:
    uri = served.uri(TEST)
    data = os.urandom(3 * 1024 * 1024 + 17)  # several stream messages and a ragged end
    src, out = tmp_path / "data.bin", tmp_path / "out.bin"
    src.write_bytes(data)
    ok(virsh(uri, "vol-create-as", "default-pool", "a.img", "8M"))
    # one virsh process: the transfer, then a call on the same connection (the stream closed cleanly)
    ok(virsh(uri, f"vol-upload a.img {src} --pool default-pool; vol-info a.img --pool default-pool"))
    ok(virsh(uri, "vol-download", "a.img", str(out), "--pool", "default-pool", "--length", str(len(data))))
    assert out.read_bytes() == data
    ok(
        virsh(
            uri,
            "vol-download",
            "a.img",
            str(out),
            "--pool",
            "default-pool",
            "--offset",
            "17",
            "--length",
            "1000",
        )
    )
    assert out.read_bytes() == data[17:1017]
    missing = virsh(uri, "vol-upload", "nosuch.img", str(src), "--pool", "default-pool")
    assert missing.returncode != 0 and "nosuch.img" in missing.stderr


def test_uploads_are_refused_on_read_only_sockets(served: Served, tmp_path: Path) -> None:
    ok(virsh(served.uri(TEST), "vol-create-as", "default-pool", "a.img", "1M"))
    src = tmp_path / "data.bin"
    src.write_bytes(b"x" * 1000)
    denied = virsh(
        served.uri(TEST, read_only=True), "vol-upload", "a.img", str(src), "--pool", "default-pool"
    )
    assert denied.returncode != 0 and "read only access" in denied.stderr


def test_a_client_abort_ends_an_upload_and_is_confirmed(served: Served) -> None:
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(served.sock))
        s.settimeout(30)
        frames = FrameReader()
        _call(s, frames, REMOTE.call("CONNECT_OPEN", 1, {"name": TEST, "flags": 0}))
        [(_, payload)] = _call(
            s, frames, REMOTE.call("STORAGE_POOL_LOOKUP_BY_NAME", 2, {"name": "default-pool"})
        )
        pool = REMOTE.procedure("STORAGE_POOL_LOOKUP_BY_NAME").decode_ret(payload)["pool"]
        xml = "<volume><name>ab.img</name><capacity>1048576</capacity></volume>"
        [(_, payload)] = _call(
            s, frames, REMOTE.call("STORAGE_VOL_CREATE_XML", 3, {"pool": pool, "xml": xml, "flags": 0})
        )
        vol = REMOTE.procedure("STORAGE_VOL_CREATE_XML").decode_ret(payload)["vol"]
        call = REMOTE.call("STORAGE_VOL_UPLOAD", 4, {"vol": vol, "offset": 0, "length": 0, "flags": 0})
        [(reply, _)] = _call(s, frames, call)
        assert reply.type == MessageType.REPLY and reply.status == MessageStatus.OK  # type: ignore[attr-defined]
        header = REMOTE.header("STORAGE_VOL_UPLOAD", 4, MessageType.STREAM, MessageStatus.CONTINUE)
        s.sendall(pack_message(header, b"y" * 5000))
        abort = header._replace(status=MessageStatus.ERROR)
        [(confirm, payload)] = _call(
            s, frames, pack_message(abort, encode_error(OperationAbortedError("by me")))
        )
        assert confirm.type == MessageType.STREAM and confirm.status == MessageStatus.OK and payload == b""  # type: ignore[attr-defined]
        # the connection goes on
        [(h, _)] = _call(s, frames, REMOTE.call("CONNECT_GET_TYPE", 5))
        assert h.status == MessageStatus.OK  # type: ignore[attr-defined]


def test_virsh_tuning_and_guest_agent_commands(served: Served) -> None:
    uri = served.uri(TEST)
    ok(virsh(uri, "setmem", "test", "1048576"))
    assert "Used memory:    1048576 KiB" in ok(virsh(uri, "dominfo", "test"))
    ok(virsh(uri, "setvcpus", "test", "1", "--live"))
    counts = ok(virsh(uri, "vcpucount", "test")).split()
    assert counts == [
        "maximum",
        "config",
        "2",
        "maximum",
        "live",
        "2",
        "current",
        "config",
        "1",
        "current",
        "live",
        "1",
    ]
    assert VIRSH is not None  # without -q, virsh tells the counts the agent gave
    froze = subprocess.run(
        [VIRSH, "-c", uri, "domfsfreeze", "test"], capture_output=True, text=True, timeout=60
    )
    assert "Froze 2 filesystem(s)" in froze.stdout, froze.stderr
    thawed = subprocess.run(
        [VIRSH, "-c", uri, "domfsthaw", "test"], capture_output=True, text=True, timeout=60
    )
    assert "Thawed 2 filesystem(s)" in thawed.stdout, thawed.stderr
    assert ok(virsh(uri, "domtime", "test")).startswith("Time: ")
    ok(virsh(uri, "set-user-password", "test", "root", "secret"))
    unsupported = virsh(uri, "guestinfo", "test", "--os")  # the mock has no guest info: NO_SUPPORT comes back
    assert unsupported.returncode != 0 and "not supported" in unsupported.stderr


def test_pipelined_calls_wait_for_the_open_before_them(served: Served) -> None:
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(served.sock))
        s.settimeout(30)
        s.sendall(
            REMOTE.call("AUTH_LIST", 1)
            + REMOTE.call("CONNECT_OPEN", 2, {"name": TEST, "flags": 0})
            + REMOTE.call("DOMAIN_LOOKUP_BY_NAME", 3, {"name": "test"})
            + REMOTE.call("CONNECT_GET_TYPE", 4)
        )
        frames, got = FrameReader(), []
        while len(got) < 4:
            got += frames.feed(s.recv(65536))
    by_serial = {h.serial: (h, p) for h, p in got}
    assert all(h.status == MessageStatus.OK for h, _ in by_serial.values()), [
        str(decode_error(p)) for h, p in by_serial.values() if h.status != MessageStatus.OK
    ]
    assert REMOTE.procedure("DOMAIN_LOOKUP_BY_NAME").decode_ret(by_serial[3][1])["dom"]["name"] == "test"
    assert REMOTE.procedure("CONNECT_GET_TYPE").decode_ret(by_serial[4][1]) == {"type": "TEST"}


def test_a_client_leaving_mid_upload_leaves_the_server_serving(served: Served) -> None:
    ok(virsh(served.uri(TEST), "vol-create-as", "default-pool", "gone.img", "1M"))
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(served.sock))
        s.settimeout(30)
        frames = FrameReader()
        _call(s, frames, REMOTE.call("CONNECT_OPEN", 1, {"name": TEST, "flags": 0}))
        vol = {"pool": "default-pool", "name": "gone.img", "key": "/default-pool/gone.img"}
        _call(
            s,
            frames,
            REMOTE.call("STORAGE_VOL_UPLOAD", 2, {"vol": vol, "offset": 0, "length": 0, "flags": 0}),
        )
        header = REMOTE.header("STORAGE_VOL_UPLOAD", 2, MessageType.STREAM, MessageStatus.CONTINUE)
        s.sendall(pack_message(header, b"q" * 100000))
    # the upload was aborted with its session; the server goes on
    assert ok(virsh(served.uri(TEST), "vol-info", "gone.img", "--pool", "default-pool"))
    assert ok(virsh(served.uri(TEST), "list", "--name")).split() == ["test"]


def test_keepalive_pings_a_silent_client_and_drops_a_dead_one(tmp_path: Path) -> None:
    extra = ["--keepalive-interval", "0.5", "--keepalive-count", "3"]
    server = Served(tmp_path, [TEST], read_only_socket=False, extra=extra)

    def pings(s: socket.socket, frames: FrameReader, n: int) -> None:
        got: list[tuple[Header, bytes]] = []
        while len(got) < n:
            chunk = s.recv(65536)
            assert chunk, "the server hung up on a client answering its pings"
            got += frames.feed(chunk)
        assert {(h.prog, h.proc, h.type) for h, _ in got} == {(KEEPALIVE.number, 1, MessageType.MESSAGE)}

    try:
        with socket.socket(socket.AF_UNIX) as alive:
            alive.connect(str(server.sock))
            alive.settimeout(30)
            frames = FrameReader()
            _call(alive, frames, REMOTE.call("CONNECT_SUPPORTS_FEATURE", 1, {"feature": 10}))
            for _ in range(4):  # more pings than the count: each answered, the client stays
                pings(alive, frames, 1)
                alive.sendall(KEEPALIVE.event("PONG", None))
            [(h, _)] = _call(alive, frames, REMOTE.call("CONNECT_GET_LIB_VERSION", 9))
            assert h.status == MessageStatus.OK
        with socket.socket(socket.AF_UNIX) as dead:
            dead.connect(str(server.sock))
            dead.settimeout(30)
            _call(dead, FrameReader(), REMOTE.call("CONNECT_SUPPORTS_FEATURE", 1, {"feature": 10}))
            data = b""
            while chunk := dead.recv(65536):  # it never answers: its pings, then the server hangs up
                data += chunk
            assert len(FrameReader().feed(data)) == 3
    finally:
        log = server.stop()
    assert "no answer to 3 keepalive pings" in log


def test_save_and_restore_flags_reach_the_driver(served: Served, tmp_path: Path) -> None:
    """VIR_DOMAIN_SAVE_RUNNING / _PAUSED travel in DOMAIN_SAVE_FLAGS / DOMAIN_RESTORE_FLAGS to the
    driver, from virsh and from virt-remote; test:/// (as libvirt's test driver) takes neither."""
    import virtcore
    from virtcore.errors import ArgumentUnsupportedError

    uri = served.uri(TEST)
    image = tmp_path / "test.save"
    refused = virsh(uri, "save", "test", str(image), "--paused")
    assert refused.returncode != 0 and "saving a domain into a chosen state" in refused.stderr
    with virtcore.open(uri) as conn:
        dom = conn.lookup_domain("test")
        with pytest.raises(ArgumentUnsupportedError, match="saving a domain into a chosen state"):
            dom.save(image, running=True)
        assert not image.exists()
        dom.save(image)
        with pytest.raises(ArgumentUnsupportedError, match="restoring a domain into a chosen state"):
            conn.restore_domain(image, paused=True)
        assert conn.restore_domain(image).state()[0] == 1  # VIR_DOMAIN_RUNNING


def test_virsh_pinning_and_iothreads_answer_as_libvirts_test_driver(served: Served) -> None:
    steps = (
        "vcpupin test 0 1-2; vcpupin test; emulatorpin test 3 --config; emulatorpin test --config;"
        " iothreadadd test 5; iothreadadd test 2 --config; iothreadpin test 5 1,3; iothreadinfo test;"
        " iothreadinfo test --config; iothreaddel test 5; iothreadinfo test; emulatorpin test"
    )
    assert VIRSH is not None
    direct = subprocess.run([VIRSH, "-q", "-c", TEST, steps], capture_output=True, text=True, timeout=60)
    assert direct.returncode == 0, direct.stderr
    assert ok(virsh(served.uri(TEST), steps)) == direct.stdout


def test_virsh_tunables_answer_as_libvirts_test_driver(served: Served) -> None:
    # virsh asks each GET_* how many parameters there are first, with VIR_TYPED_PARAM_STRING_OKAY;
    # the refusals come first, while both nodes are as they started
    steps = (
        "blkiotune test; blkiotune test --weight 300 --device-weights /dev/sda,50"
        " --device-read-bytes-sec /dev/sdb,4096; blkiotune test; blkiotune test --config;"
        " numatune test; numatune test --nodeset 0 --config; numatune test --mode interleave --config;"
        " numatune test --config; blkdeviotune test vda;"
        " blkdeviotune test vda --total-bytes-sec 1000 --total-bytes-sec-max 2000 --read-iops-sec 20"
        " --read-iops-sec-max 30 --group-name g1 --live; blkdeviotune test vda;"
        " blkdeviotune test vda --config;"
        " domiftune test testnet0; domiftune test aa:bb:cc:dd:ee:ff --inbound 100,200,300 --outbound 50;"
        " domiftune test testnet0; domiftune test testnet0 --config"
    )
    assert VIRSH is not None
    for refused in (
        "blkiotune test --weight 0",
        "blkdeviotune test vda --total-bytes-sec 1000",
        "blkdeviotune test vdzz",
        "domiftune test no-such-nic",
        "numatune test --nodeset not-a-set --config",
    ):
        theirs = subprocess.run(
            [VIRSH, "-q", "-c", TEST, refused], capture_output=True, text=True, timeout=60
        )
        ours = virsh(served.uri(TEST), refused)
        assert theirs.returncode != 0 and ours.returncode != 0, refused
        assert ours.stderr == theirs.stderr, refused
    direct = subprocess.run([VIRSH, "-q", "-c", TEST, steps], capture_output=True, text=True, timeout=60)
    assert direct.returncode == 0, direct.stderr
    out = ok(virsh(served.uri(TEST), steps))
    assert out == direct.stdout
    assert "device_read_bytes_sec: /dev/sdb,4096" in out and "group_name     : g1" in out
    assert "inbound.burst  : 300" in out and "numa_mode      : interleave" in out
