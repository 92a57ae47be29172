"""Remote URIs are read as libvirt's remote driver reads them (remote_driver.c, remote_sockets.c)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from virt_remote.options import parse_options

from virtcore.errors import (
    ErrorNumber,
    InvalidArgError,
    NoSupportError,
    OperationUnsupportedError,
    VirtError,
)
from virtcore.uri import URI


def opts(text: str, read_only: bool = False):  # type: ignore[no-untyped-def]
    return parse_options(URI.parse(text), read_only)


@pytest.mark.parametrize(
    ("text", "transport", "host", "name"),
    [
        ("test+unix:///default", "unix", "localhost", "test:///default"),
        ("qemu+ssh://root@h.example:2222/system", "ssh", "h.example", "qemu:///system"),
        ("qemu://h.example/system", "tls", "h.example", "qemu:///system"),
        ("qemu+TLS://h.example/system", "tls", "h.example", "qemu:///system"),
        ("qemu+tcp://h.example/system", "tcp", "h.example", "qemu:///system"),
        ("qemu+ext:///system?command=/bin/cat", "ext", "localhost", "qemu:///system"),
        ("remote+unix:///", "unix", "localhost", ""),  # the daemon probes
    ],
)
def test_transport_host_and_the_daemons_uri(text: str, transport: str, host: str, name: str) -> None:
    o = opts(text)
    assert (o.transport, o.host, o.name) == (transport, host, name)


def test_parameters_the_client_reads_are_not_passed_to_the_daemon() -> None:
    o = opts(
        "qemu+ssh://u@h/system?keyfile=/k&no_verify=1&no_tty=1&SOCKET=/s&proxy=netcat&extra=a%20b&authfile=/x"
    )
    assert (o.keyfile, o.no_verify, o.no_tty, o.socket, o.proxy) == ("/k", True, True, "/s", "netcat")
    assert o.name == "qemu:///system?extra=a%20b"  # unknown ones pass through, as libvirt's do
    assert opts("qemu+ssh://h/system?name=qemu:///session").name == "qemu:///session"


def test_booleans_are_integers_as_libvirts() -> None:
    assert opts("test+unix:///default?no_verify=0").no_verify is False
    assert opts("test+unix:///default?no_verify=2").no_verify is True
    with pytest.raises(InvalidArgError, match="Failed to parse value of URI component no_verify"):
        opts("test+unix:///default?no_verify=yes")


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("qemu+carrier://h/system", InvalidArgError, "transport in URL .* not recognised"),
        ("qemu+unix://h/system", InvalidArgError, "using unix socket and remote server 'h'"),
        ("qemu+ext:///system", InvalidArgError, "for 'ext' transport, command is required"),
        ("qemu+unix:///system?mode=fast", InvalidArgError, "Unknown remote mode 'fast'"),
        ("qemu+ssh://h/system?proxy=carrier", InvalidArgError, "Unknown proxy type 'carrier'"),
        ("qemu+ssh://h/system?proxy=native&netcat=/bin/nc", InvalidArgError, "netcat path not valid"),
        ("qemu+ssh://h/system?mode=direct", OperationUnsupportedError, "direct socket mode for ssh"),
        ("qemu+tls://h/system?mode=direct", OperationUnsupportedError, "direct socket mode for tls"),
        ("qemu+libssh://h/system", NoSupportError, "libssh transport"),
        ("qemu+unix:///system?socket=relative/sock", InvalidArgError, "must be an absolute path"),
    ],
)
def test_refused_uris_name_what_is_wrong(text: str, error: type[VirtError], match: str) -> None:
    with pytest.raises(error, match=match) as exc:
        opts(text)
    assert exc.value.code == error.code


@pytest.mark.parametrize(
    "text",
    [
        "qemu+ssh://-oProxyCommand=evil/system",
        "qemu+ssh://-oProxyCommand%3Devil@h/system",
        "qemu+ssh://h/system?keyfile=-oProxyCommand=evil",
        "qemu+ssh://h/system?netcat=-e",
        "qemu+ssh://h/system?socket=-x",
        "qemu+ssh://h/system?command=-oProxyCommand=evil",
        "qemu+ssh://h/system?name=-r",
        "qemu+ssh://h%20x/system",
    ],
)
def test_no_user_string_can_become_an_option(text: str) -> None:
    with pytest.raises(VirtError) as exc:
        opts(text)
    assert exc.value.code in (ErrorNumber.INVALID_ARG,)


def test_socket_given_wins_and_means_netcat_over_ssh() -> None:
    o = opts("qemu+ssh://h/system?socket=/run/x-sock")
    assert (o.socket, o.proxy, o.socket_given) == ("/run/x-sock", "netcat", True)
    assert opts("qemu+ssh://h/system").proxy == "auto"


@pytest.mark.skipif(
    os.geteuid() != 0, reason="the system sockets are root's (a user's are in XDG_RUNTIME_DIR)"
)
def test_modes_choose_the_daemon_socket_as_libvirt() -> None:
    assert opts("qemu+unix:///system?mode=legacy").socket == "/var/run/libvirt/libvirt-sock"
    assert opts("qemu+unix:///system?mode=direct").socket == "/var/run/libvirt/virtqemud-sock"
    assert (
        opts("qemu+unix:///system?mode=direct", read_only=True).socket == "/var/run/libvirt/virtqemud-sock-ro"
    )
    assert opts("qemu+ssh://h/system").socket == "/var/run/libvirt/libvirt-sock"  # auto over ssh: legacy
    with pytest.raises(OperationUnsupportedError, match="no URI is set"):
        opts("remote+unix:///?mode=direct")
    # auto over unix: the modular daemon's socket when it exists, else libvirtd's
    direct = Path("/var/run/libvirt/virtqemud-sock")
    expected = str(direct) if direct.exists() else "/var/run/libvirt/libvirt-sock"
    assert opts("qemu+unix:///system").socket == expected


def test_a_users_test_driver_uses_the_session_daemon(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert opts("test+unix:///default").socket == f"{tmp_path}/libvirt/libvirt-sock"
    assert opts("qemu+unix:///session?mode=direct").socket == f"{tmp_path}/libvirt/virtqemud-sock"
    assert opts("qemu+ssh://h/session").proxy == "native"
