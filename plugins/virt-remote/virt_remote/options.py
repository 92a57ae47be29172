"""What a remote URI asks for, read as libvirt's remote driver reads it.

``DRIVER+TRANSPORT://[USER@][HOST][:PORT]/PATH?PARAMS``: the transport (``unix``
when there is no host, ``tls`` when there is one and none is named), the
daemon's socket (``socket=``, else chosen by ``mode=``), how ssh reaches it
(``proxy=``, ``keyfile=``, ``no_verify=``, ``no_tty=``, ``netcat=``,
``command=``), TLS's ``pkipath=``, and the URI the daemon is asked to open
(``name=``, else the URI without transport, host and the parameters read here;
any other parameter is passed through to the daemon, as libvirt does).
Parameter names are case-insensitive, as libvirt's.

Every value that will reach a command line is checked here: a host, user,
key file, socket or netcat path, or name that could be read as an option
(a leading ``-``) or is not what it claims to be is refused with
:class:`~virtcore.errors.InvalidArgError` naming it.
"""

from __future__ import annotations

import os
import re
from urllib.parse import quote

import attrs

from virtcore.errors import InvalidArgError, NoSupportError, OperationUnsupportedError
from virtcore.uri import URI

__all__ = [
    "MODES",
    "PROXIES",
    "TRANSPORTS",
    "RemoteOptions",
    "daemon_socket",
    "parse_options",
]

#: libvirt's transports (``remoteDriverTransport``), in its order.
TRANSPORTS = ("tls", "unix", "ssh", "libssh2", "ext", "tcp", "libssh")
#: ``mode=``: which daemon's socket (``remoteDriverMode``).
MODES = ("auto", "legacy", "direct")
#: ``proxy=``: what runs at the far end of ssh (``virNetClientProxy``).
PROXIES = ("auto", "netcat", "native")

#: libvirt's default ports (``LIBVIRTD_TLS_PORT``, ``LIBVIRTD_TCP_PORT``).
TLS_PORT = 16514
TCP_PORT = 16509

#: Parameters the client reads (string ones); the rest go to the daemon.
_STRING_PARAMS = (
    "name",
    "command",
    "socket",
    "auth",
    "sshauth",
    "netcat",
    "keyfile",
    "pkipath",
    "known_hosts",
    "known_hosts_verify",
    "tls_priority",
    "mode",
    "proxy",
)
_BOOL_PARAMS = ("no_sanity", "no_verify", "no_tty")
#: Read and dropped (libvirt's virauth.c reads it).
_DROPPED_PARAMS = ("authfile",)

#: A host name or an IPv4/IPv6 literal: letters, digits, ``.-_:``, never a leading ``-``.
_HOST = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._:-]*\Z")
#: A user name as useradd allows it (and ssh needs no more).
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._@-]*\$?\Z")
_MAX_NAME = 1024


@attrs.frozen
class RemoteOptions:
    """One remote URI, decided: where to connect, how, and what to open there."""

    #: The URI as given.
    uri: str
    #: One of :data:`TRANSPORTS`.
    transport: str
    #: The driver part of the scheme (``test`` for ``test+unix://``), or ``""`` for ``remote://``.
    driver: str
    #: The URI the daemon is asked to open (``name=``, else derived).
    name: str
    #: Host and port (``localhost`` when the URI names none; port ``None``: the transport's default).
    host: str
    port: int | None
    user: str | None
    #: ``socket=`` when given, else the socket :func:`daemon_socket` chose (unix and ssh only).
    socket: str | None
    #: ``socket=`` was given explicitly.
    socket_given: bool
    #: ``command=``: the ssh binary for ssh, the program to run for ext.
    command: str | None
    keyfile: str | None
    netcat: str | None
    pkipath: str | None
    auth: str | None
    mode: str
    proxy: str
    no_verify: bool
    no_tty: bool
    no_sanity: bool
    read_only: bool


def parse_options(uri: URI, read_only: bool) -> RemoteOptions:
    """Decide ``uri`` as libvirt's ``doRemoteOpen`` does.

    :raises InvalidArgError: an unknown transport, mode or proxy, a bad boolean
        parameter, ``+unix`` with a host, ``+ext`` without ``command=``, or a value
        that could be read as a command-line option.
    :raises NoSupportError: a transport virtcore does not implement (``libssh``, ``libssh2``).
    :raises OperationUnsupportedError: ``mode=direct`` over a transport that is not ``unix``.
    """
    text = uri.text
    transport = _transport(uri)
    strings: dict[str, str] = {}
    bools: dict[str, bool] = {}
    passed: list[tuple[str, str]] = []
    for key, value in uri.params.items():
        lower = key.lower()
        if lower in _STRING_PARAMS:
            strings[lower] = value
        elif lower in _BOOL_PARAMS:
            bools[lower] = _bool_param(text, key, value)
        elif lower not in _DROPPED_PARAMS:
            passed.append((key, value))

    mode = strings.get("mode", "auto")
    if mode not in MODES:
        raise InvalidArgError(f"Unknown remote mode '{mode}' in URI {text!r}")
    socket_given = "socket" in strings
    proxy = strings.get("proxy")
    if proxy is None:
        flags_user = _user_daemon(uri)
        proxy = "netcat" if socket_given else ("native" if flags_user else "auto")
    elif proxy not in PROXIES:
        raise InvalidArgError(f"Unknown proxy type '{proxy}' in URI {text!r}")
    netcat = strings.get("netcat")
    if proxy == "auto" and netcat is not None:
        proxy = "netcat"
    if proxy == "native" and netcat is not None:
        raise InvalidArgError(f"URI {text!r}: netcat path not valid with native proxy mode")
    command = strings.get("command")
    if transport == "ext" and not command:
        raise InvalidArgError(f"URI {text!r}: for 'ext' transport, command is required")
    if transport in ("libssh", "libssh2"):
        raise NoSupportError(
            f"the {transport} transport of URI {text!r} (virtcore spawns the system ssh: use +ssh)"
        )

    host = uri.host or "localhost"
    if not _HOST.match(host):
        raise InvalidArgError(f"URI {text!r}: host name {host!r} is not valid")
    if uri.user is not None and not _USER.match(uri.user):
        raise InvalidArgError(f"URI {text!r}: user name {uri.user!r} is not valid")
    for key in ("keyfile", "netcat", "command", "pkipath", "socket"):
        given = strings.get(key)
        if given is not None and (not given or given.startswith("-") or "\0" in given):
            raise InvalidArgError(f"URI {text!r}: {key}={given!r} is not a valid path")
    socket: str | None = strings.get("socket")
    if socket is not None and not os.path.isabs(socket):
        raise InvalidArgError(f"URI {text!r}: socket={socket!r} must be an absolute path")

    driver = uri.driver
    name: str | None = strings.get("name")
    if name is None:
        name = "" if driver == "remote" else _daemon_uri(driver, uri.path, passed)
    if len(name) > _MAX_NAME or name.startswith("-") or any(ord(c) < 0x20 for c in name):
        raise InvalidArgError(f"URI {text!r}: name={name!r} is not a valid URI for the daemon")

    if transport in ("unix", "ssh") and socket is None:
        socket = daemon_socket(uri, transport, mode, read_only)
    elif mode == "direct" and transport not in ("unix", "ssh"):
        raise OperationUnsupportedError(f"Cannot use direct socket mode for {transport} transport")
    return RemoteOptions(
        uri=text,
        transport=transport,
        driver="" if driver == "remote" else driver,
        name=name,
        host=host,
        port=uri.port,
        user=uri.user,
        socket=socket,
        socket_given=socket_given,
        command=command,
        keyfile=strings.get("keyfile"),
        netcat=netcat,
        pkipath=strings.get("pkipath"),
        auth=strings.get("auth"),
        mode=mode,
        proxy=proxy,
        no_verify=bools.get("no_verify", False),
        no_tty=bools.get("no_tty", False),
        no_sanity=bools.get("no_sanity", False),
        read_only=read_only,
    )


def _transport(uri: URI) -> str:
    """libvirt's ``remoteSplitURIScheme``: the named transport, else ``tls`` with a host, ``unix`` without."""
    if uri.transport is None:
        return "tls" if uri.host is not None else "unix"
    transport = uri.transport.lower()
    if transport not in TRANSPORTS:
        raise InvalidArgError(
            f"remote_open: transport in URL {uri.text!r} not recognised "
            f"(should be {'|'.join(('tls', 'unix', 'ssh', 'ext', 'tcp', 'libssh2', 'libssh'))})"
        )
    if transport == "unix" and uri.host is not None:
        raise InvalidArgError(
            f"using unix socket and remote server '{uri.host}' is not supported ({uri.text!r})"
        )
    return transport


def _bool_param(text: str, key: str, value: str) -> bool:
    """libvirt's boolean parameters: an integer, true when not zero."""
    try:
        return int(value.strip(), 10) != 0
    except ValueError:
        raise InvalidArgError(f"Failed to parse value of URI component {key} in {text!r}") from None


def _daemon_uri(driver: str, path: str, passed: list[tuple[str, str]]) -> str:
    """The URI the daemon opens: the scheme's driver, the path and the passed-through parameters."""
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in passed)
    return f"{driver}://{quote(path, safe='/')}" + (f"?{query}" if query else "") if path else f"{driver}:///"


def _user_daemon(uri: URI) -> bool:
    """libvirt's ``REMOTE_DRIVER_OPEN_USER``: a non-root user's ``/session``, or ``test+...``."""
    return os.geteuid() != 0 and (
        uri.path == "/session" or (uri.transport is not None and uri.driver == "test")
    )


def _user_runtime_dir() -> str:
    """libvirt's ``virGetUserRuntimeDirectory``: ``$XDG_RUNTIME_DIR/libvirt``, else ``~/.cache/libvirt``."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "libvirt")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "libvirt")


def _socket_path(prefix: str, user: bool, read_only: bool) -> str:
    if user:
        return os.path.join(_user_runtime_dir(), f"{prefix}-sock")
    # libvirt builds $LOCALSTATEDIR/run, not /run: the far end of ssh may lack /run.
    return f"/var/run/libvirt/{prefix}-{'sock-ro' if read_only else 'sock'}"


def daemon_socket(uri: URI, transport: str, mode: str, read_only: bool) -> str:
    """The daemon's socket for ``uri`` when ``socket=`` names none (libvirt's ``remoteGetUNIXSocket``).

    ``direct`` is the modular daemon of the URI's driver (``virtqemud-sock``),
    ``legacy`` libvirtd's ``libvirt-sock``; ``auto`` over ``unix`` takes the
    modular one if its socket exists, else libvirtd's (Debian builds libvirt
    with libvirtd as the default), and over ssh always libvirtd's (the far end
    is probed by ``virt-ssh-helper`` instead).

    :raises OperationUnsupportedError: ``direct`` over ssh, or with no driver (``remote:///``).
    """
    user = _user_daemon(uri)
    driver = uri.driver if uri.driver != "remote" else None
    direct = _socket_path(f"virt{driver}d", user, read_only) if driver else None
    legacy = _socket_path("libvirt", user, read_only)
    if mode == "auto":
        modular = transport == "unix" and direct is not None and os.path.exists(direct)
        mode = "direct" if modular else "legacy"
    if mode == "legacy":
        return legacy
    if transport != "unix":
        raise OperationUnsupportedError(f"Cannot use direct socket mode for {transport} transport")
    if direct is None:
        raise OperationUnsupportedError("Cannot use direct socket mode if no URI is set")
    return direct
