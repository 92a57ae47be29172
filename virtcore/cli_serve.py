"""``virtcore serve``: run the server of libvirt's RPC protocol (see :mod:`virtcore.server`)."""

from __future__ import annotations

import argparse

from virtcore.cli import Context, arg, command
from virtcore.errors import InvalidArgError

__all__: list[str] = []


def _listen(value: str) -> str:
    if not value.startswith("unix:") or len(value) == len("unix:"):
        raise argparse.ArgumentTypeError(f"expected unix:PATH, not {value!r}")
    return value.removeprefix("unix:")


def _alias(value: str) -> tuple[str, str]:
    name, sep, uri = value.partition("=")
    if not sep or not name or not uri:
        raise argparse.ArgumentTypeError(
            f"expected NAME=URI (e.g. qemu:///system=qemu:///embed?root=DIR), not {value!r}"
        )
    return name, uri


def _mode(value: str) -> int:
    try:
        mode = int(value, 8)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an octal mode such as 0600, not {value!r}") from None
    if not 0 <= mode <= 0o777:
        raise argparse.ArgumentTypeError(f"mode {value} is out of range")
    return mode


@command(
    "serve",
    arg(
        "--uri",
        action="append",
        default=[],
        metavar="URI",
        help="a virtcore URI to serve (repeatable; the first is the default)",
    ),
    arg(
        "--alias",
        action="append",
        default=[],
        type=_alias,
        metavar="NAME=URI",
        help="serve URI to clients asking for NAME (libvirt's clients send no /embed URI to a daemon: "
        "qemu:///system=qemu:///embed?root=DIR)",
    ),
    arg(
        "--listen",
        action="append",
        default=[],
        type=_listen,
        metavar="unix:PATH",
        help="a read-write unix socket (mode 0600 unless --mode)",
    ),
    arg(
        "--listen-ro",
        action="append",
        default=[],
        type=_listen,
        metavar="unix:PATH",
        help="a read-only unix socket (mode 0666 unless --mode-ro)",
    ),
    arg("--mode", type=_mode, default=None, metavar="OCTAL", help="mode of the read-write sockets"),
    arg("--mode-ro", type=_mode, default=None, metavar="OCTAL", help="mode of the read-only sockets"),
    arg(
        "--keepalive-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="ping a silent client after this long (0: never; libvirtd's 5)",
    ),
    arg(
        "--keepalive-count",
        type=int,
        default=5,
        metavar="N",
        help="disconnect a client after N unanswered pings (libvirtd's 5)",
    ),
    arg("--stdio", action="store_true", help="serve one client on stdin/stdout (for ssh's command=)"),
    arg("--read-only", action="store_true", help="with --stdio: the client gets read-only access"),
)
def _serve(ctx: Context, ns: argparse.Namespace) -> None:
    """Serve virtcore URIs over libvirt's RPC protocol to virsh, libvirt-python and other clients.

    Clients connect with libvirt URIs such as
    ``test+unix:///default?socket=PATH`` or ``qemu+unix:///system?socket=PATH``
    (with ``--alias qemu:///system=qemu:///embed?root=DIR``);
    a URI the server does not serve is refused (NO_CONNECT). Access is
    AUTH_NONE, guarded by the socket file's owner and mode; read-only
    sockets give read-only connections.
    """
    import asyncio
    import logging

    from virtcore.server.daemon import Server

    uris = ns.uri or ([ctx.uri] if ctx.has_uri and not ns.alias else [])
    if not (ns.listen or ns.listen_ro or ns.stdio):
        raise InvalidArgError(
            "nothing to serve on: give --listen unix:PATH, --listen-ro unix:PATH or --stdio"
        )
    if ns.stdio and (ns.listen or ns.listen_ro):
        raise InvalidArgError(
            "--stdio serves one client on stdin/stdout and cannot be combined with --listen"
        )
    logging.basicConfig(level=logging.WARNING, format="virtcore serve: %(message)s", stream=ctx.stderr)
    if ns.keepalive_interval < 0 or ns.keepalive_count < 0:
        raise InvalidArgError("--keepalive-interval and --keepalive-count must not be negative")
    server = Server(
        uris, dict(ns.alias), keepalive_interval=ns.keepalive_interval, keepalive_count=ns.keepalive_count
    )

    async def main() -> None:
        import signal

        task = asyncio.current_task()
        assert task is not None
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
        if ns.stdio:
            try:
                await server.serve_stdio(read_only=ns.read_only)
            finally:
                server.close()
            return
        for path in ns.listen:
            await server.listen_unix(path, read_only=False, mode=ns.mode)
        for path in ns.listen_ro:
            await server.listen_unix(path, read_only=True, mode=ns.mode_ro)
        await server.serve_forever()

    try:
        asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    finally:
        server.close()
