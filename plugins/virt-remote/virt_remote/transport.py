"""Byte streams to a daemon: a unix socket, a command's stdio (ssh, ext), TCP with or without TLS.

:func:`connect` opens the stream a :class:`~virt_remote.options.RemoteOptions`
names and returns a :class:`Channel`: asyncio's reader and writer and what
closing it must also end (the ssh process). ssh is the system ``ssh``, spawned
the way libvirt spawns it (:func:`ssh_argv`), so ``ssh_config``, agents,
``ProxyJump`` and ``known_hosts`` all apply; at the far end it runs
``virt-ssh-helper`` or ``nc -U`` per ``proxy=`` (:func:`remote_command`). No
user string becomes an option: :mod:`virt_remote.options` refused leading
dashes and odd host and user names, the host follows ``--``, and the far
end's command quotes every value.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import socket
import ssl
import subprocess
from pathlib import Path

from virt_remote.options import TCP_PORT, TLS_PORT, RemoteOptions
from virtcore.errors import NoSupportError, SystemError_

__all__ = ["Channel", "connect", "pki_paths", "remote_command", "ssh_argv"]

#: asyncio's stream buffer: one full libvirt message (the codec caps those) plus slack.
STREAM_LIMIT = 1 << 20
#: Environment passed to ssh (libvirt's ``virNetSocketNewConnectSSH`` list, and the common ones).
_SSH_ENV = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "TMPDIR",
    "XDG_RUNTIME_DIR",
    "KRB5CCNAME",
    "SSH_AUTH_SOCK",
    "SSH_ASKPASS",
    "OPENSSL_CONF",
    "DISPLAY",
    "XAUTHORITY",
)
_STDERR_KEPT = 4096


class Channel:
    """A connected byte stream to a daemon, and the process behind it if any."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        what: str,
        process: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self.reader = reader
        self.writer = writer
        #: What it is connected to, for messages (``socket '/run/libvirt/libvirt-sock'``).
        self.what = what
        self.process = process

    def process_error(self) -> str | None:
        """What the command said on stderr when it has exited, for an error message."""
        proc = self.process
        if proc is None or proc.poll() is None or proc.stderr is None:
            return None
        with contextlib.suppress(OSError, ValueError):
            said = proc.stderr.read(_STDERR_KEPT).decode("utf-8", "replace").strip()
            return f"{self.what} exited with status {proc.returncode}" + (f": {said}" if said else "")
        return None

    async def aclose(self) -> None:
        """Close the stream; end the command (it gets EOF first, then SIGTERM, then SIGKILL)."""
        with contextlib.suppress(OSError, RuntimeError, TimeoutError):
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 2)
        proc = self.process
        if proc is None:
            return
        for stop in (None, proc.terminate, proc.kill):
            if stop is not None and proc.poll() is None:
                with contextlib.suppress(OSError):
                    stop()
            try:
                await asyncio.to_thread(proc.wait, 2)
                break
            except subprocess.TimeoutExpired:
                continue
        if proc.stderr is not None:
            proc.stderr.close()


async def connect(opts: RemoteOptions) -> Channel:
    """Open the stream ``opts`` names.

    :raises SystemError_: the socket, host or command cannot be reached (naming it).
    :raises NoSupportError: a transport virtcore does not implement.
    """
    if opts.transport == "unix":
        assert opts.socket is not None
        return await _unix(opts.socket)
    if opts.transport == "ssh":
        return await _command(ssh_argv(opts), f"ssh to {opts.host}")
    if opts.transport == "ext":
        assert opts.command is not None
        return await _command([opts.command], f"command {opts.command!r}")
    if opts.transport in ("tls", "tcp"):
        return await _tcp(opts)
    raise NoSupportError(f"the {opts.transport} transport of URI {opts.uri!r}")


async def _unix(path: str) -> Channel:
    try:
        reader, writer = await asyncio.open_unix_connection(path, limit=STREAM_LIMIT)
    except OSError as exc:
        raise SystemError_(f"Failed to connect socket to '{path}': {exc.strerror or exc}") from None
    return Channel(reader, writer, f"socket '{path}'")


async def _command(argv: list[str], what: str) -> Channel:
    """Run ``argv`` with its stdin and stdout on one end of a socket pair; we talk on the other."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    env = {k: v for k, v in os.environ.items() if k in _SSH_ENV}
    try:
        proc = subprocess.Popen(
            argv,
            stdin=theirs.fileno(),
            stdout=theirs.fileno(),
            stderr=subprocess.PIPE,
            env=env,
            close_fds=True,
            start_new_session=True,  # a terminal's ^C goes to us, not to ssh
        )
    except OSError as exc:
        ours.close()
        raise SystemError_(f"cannot run {argv[0]!r} for {what}: {exc.strerror or exc}") from None
    finally:
        theirs.close()
    if proc.stderr is not None:
        os.set_blocking(proc.stderr.fileno(), False)
    reader, writer = await asyncio.open_unix_connection(sock=ours, limit=STREAM_LIMIT)
    return Channel(reader, writer, what, proc)


def remote_command(opts: RemoteOptions) -> str:
    """The command ssh runs at the far end: ``virt-ssh-helper NAME`` or ``nc -U SOCKET`` per ``proxy=``.

    One shell string (ssh hands its command to the far user's shell): ``sh -c``
    with every value quoted. ``auto`` runs ``virt-ssh-helper`` when the far host
    has it, else netcat, as libvirt does; netcat gets ``-q0`` where it knows the
    option (OpenBSD's), so that it exits when we close.
    """
    nc = shlex.quote(opts.netcat or "nc")
    sock = shlex.quote(opts.socket or "")
    netcat = (
        f"if {nc} -q 2>&1 | grep 'requires an argument' >/dev/null 2>&1; then ARG=-q0; else ARG=; fi; "
        f"exec {nc} $ARG -U {sock}"
    )
    helper = f"exec virt-ssh-helper {'-r ' if opts.read_only else ''}{shlex.quote(opts.name)}"
    if opts.proxy == "netcat":
        script = netcat
    elif opts.proxy == "native":
        script = helper
    else:
        script = f"if command -v virt-ssh-helper >/dev/null 2>&1; then {helper}; else {netcat}; fi"
    return "sh -c " + shlex.quote(script)


def ssh_argv(opts: RemoteOptions) -> list[str]:
    """The ssh command line, as libvirt's ``virNetSocketNewConnectSSH`` builds it.

    ``-p``, ``-l``, ``-i`` from the URI; ``-T -e none`` always (no terminal, no
    escape character: the stream is binary); ``-o BatchMode=yes`` with
    ``no_tty=1`` (never prompt); ``-o StrictHostKeyChecking=no`` with
    ``no_verify=1``, and (virtcore's addition) ``-o UserKnownHostsFile=/dev/null``
    so that an unverified key is not written into the user's ``known_hosts``;
    ``--``, the host, and :func:`remote_command`. ``command=`` names another ssh binary.
    """
    argv = [opts.command or "ssh"]
    if opts.port is not None:
        argv += ["-p", str(opts.port)]
    if opts.user is not None:
        argv += ["-l", opts.user]
    if opts.keyfile is not None:
        argv += ["-i", opts.keyfile]
    argv += ["-T", "-e", "none"]
    if opts.no_tty:
        argv += ["-o", "BatchMode=yes"]
    if opts.no_verify:
        argv += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    return [*argv, "--", opts.host, remote_command(opts)]


def pki_paths(pkipath: str | None) -> tuple[Path, Path, Path]:
    """``(cacert, clientkey, clientcert)`` as libvirt finds them.

    ``pkipath=DIR``: ``DIR/cacert.pem``, ``DIR/clientkey.pem``, ``DIR/clientcert.pem``.
    Else a non-root user's ``~/.pki/libvirt/`` when it holds any of the three, else the
    system's ``/etc/pki/CA/cacert.pem``, ``/etc/pki/libvirt/private/clientkey.pem`` and
    ``/etc/pki/libvirt/clientcert.pem``.
    """
    names = ("cacert.pem", "clientkey.pem", "clientcert.pem")
    if pkipath is not None:
        base = Path(pkipath)
        return base / names[0], base / names[1], base / names[2]
    if os.geteuid() != 0:
        user = Path.home() / ".pki" / "libvirt"
        if any((user / n).exists() for n in names):
            return user / names[0], user / names[1], user / names[2]
    pki = Path("/etc/pki")
    return (
        pki / "CA" / "cacert.pem",
        pki / "libvirt" / "private" / "clientkey.pem",
        pki / "libvirt" / "clientcert.pem",
    )


def tls_context(opts: RemoteOptions) -> ssl.SSLContext:
    """A client context with libvirt's certificates; ``no_verify=1`` skips checking the server's.

    :raises SystemError_: a certificate or key that is missing or does not load (naming it).
    """
    cacert, key, cert = pki_paths(opts.pkipath)
    for path in (key, cert) if opts.no_verify else (cacert, key, cert):
        if not path.is_file():
            raise SystemError_(f"Cannot access TLS file '{path}': No such file or directory")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        if opts.no_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        else:
            ctx.load_verify_locations(cafile=os.fspath(cacert))
        ctx.load_cert_chain(certfile=os.fspath(cert), keyfile=os.fspath(key))
    except (OSError, ssl.SSLError) as exc:
        raise SystemError_(f"Cannot load TLS certificates ({cacert}, {cert}, {key}): {exc}") from None
    return ctx


async def _tcp(opts: RemoteOptions) -> Channel:
    tls = opts.transport == "tls"
    port = opts.port or (TLS_PORT if tls else TCP_PORT)
    ctx = tls_context(opts) if tls else None
    what = f"{'TLS' if tls else 'TCP'} {opts.host}:{port}"
    try:
        reader, writer = await asyncio.open_connection(
            opts.host, port, ssl=ctx, server_hostname=opts.host if tls else None, limit=STREAM_LIMIT
        )
    except ssl.SSLError as exc:
        raise SystemError_(f"TLS handshake with {opts.host}:{port} failed: {exc}") from None
    except OSError as exc:
        raise SystemError_(
            f"unable to connect to server at '{opts.host}:{port}': {exc.strerror or exc}"
        ) from None
    return Channel(reader, writer, what)
