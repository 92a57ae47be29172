"""The secret commands of the ``virtcore`` command line: virsh's ``secret-*``.

Registered with :func:`virtcore.cli.command` (this module is listed in
:data:`virtcore.cli.COMMAND_MODULES`). Output follows virsh: the
``secret-list`` table (UUID, usage), the secret's XML, its value in base64
(``--plain``: as is), and virsh's messages (``Secret UUID created``). A value
is given in base64 on the command line (as virsh takes it) or read from a file
(``--file``; ``--plain``: the file's bytes as they are), so a secret need not
appear in the process list.
"""

from __future__ import annotations

import argparse
import sys

from virtcore.cli import Context, arg, command, format_table
from virtcore.errors import InvalidArgError

__all__: list[str] = []

#: The secret positional of secret commands.
SECRET = arg("secret", metavar="SECRET", help="secret UUID")


@command("secret-list")
def _secret_list(ctx: Context, ns: argparse.Namespace) -> None:
    """List secrets: UUID and usage."""
    rows = []
    for s in sorted(ctx.conn.list_secrets(), key=lambda s: s.uuid):
        usage = s.usage_type.name.lower()
        rows.append([s.uuid, f"{usage} {s.usage_id}" if s.usage_id else usage])
    ctx.out(*format_table(["UUID", "Usage"], rows), "")


@command("secret-define", arg("file", metavar="FILE", help="secret XML file ('-' for stdin)"))
def _secret_define(ctx: Context, ns: argparse.Namespace) -> None:
    """Define (or redefine) a secret from an XML file."""
    secret = ctx.conn.define_secret(ctx.read_text(ns.file, "secret XML file"))
    ctx.out(f"Secret {secret.uuid} created", "")


@command("secret-dumpxml", SECRET)
def _secret_dumpxml(ctx: Context, ns: argparse.Namespace) -> None:
    """Print a secret's XML (never its value)."""
    ctx.out(ctx.conn.lookup_secret_by_uuid(ns.secret).xml_desc().rstrip("\n"), "")


@command(
    "secret-set-value",
    SECRET,
    arg("base64", metavar="BASE64", nargs="?", help="the value, base64-encoded"),
    arg("--file", metavar="FILE", help="read the value from FILE (base64, or raw with --plain)"),
    arg("--plain", action="store_true", help="the file holds the value itself, not base64"),
)
def _secret_set_value(ctx: Context, ns: argparse.Namespace) -> None:
    """Set a secret's value."""
    import base64  # saves base64 on every other command
    import binascii

    from virtcore.secret import MAX_SECRET_VALUE

    if (ns.base64 is None) == (ns.file is None):
        raise InvalidArgError("give the value either as BASE64 or with --file, not both or neither")
    if ns.file is not None:
        raw = _read_value(ns.file, MAX_SECRET_VALUE * 2)
        text = raw if ns.plain else raw.strip()
    else:
        if ns.plain:
            raise InvalidArgError("--plain needs --file")
        text = ns.base64.encode("ascii", "replace")
    try:
        value = text if ns.plain else base64.b64decode(text, validate=True)
    except binascii.Error:
        raise InvalidArgError("Failed to decode the secret value: it is not base64") from None
    secret = ctx.conn.lookup_secret_by_uuid(ns.secret)
    secret.set_value(value)
    ctx.out("Secret value set", "")


def _read_value(path: str, limit: int) -> bytes:
    try:
        if path == "-":
            data = sys.stdin.buffer.read(limit + 1)
        else:
            with open(path, "rb") as fh:
                data = fh.read(limit + 1)
    except OSError as exc:
        raise InvalidArgError(f"cannot read secret value file '{path}': {exc.strerror}") from None
    if len(data) > limit:
        raise InvalidArgError(f"secret value file '{path}' is larger than {limit} bytes")
    return data


@command("secret-get-value", SECRET, arg("--plain", action="store_true", help="print the value as is"))
def _secret_get_value(ctx: Context, ns: argparse.Namespace) -> None:
    """Print a secret's value, base64-encoded (--plain: as UTF-8 text)."""
    import base64  # saves base64 on every other command

    value = ctx.conn.lookup_secret_by_uuid(ns.secret).value()
    if ns.plain:  # as text: what ctx.out can print (a value that is not UTF-8 shows replacement marks)
        ctx.out(value.decode("utf-8", "replace"))
        return
    ctx.out(base64.b64encode(value).decode("ascii"), "")


@command("secret-undefine", SECRET)
def _secret_undefine(ctx: Context, ns: argparse.Namespace) -> None:
    """Remove a secret and its value."""
    secret = ctx.conn.lookup_secret_by_uuid(ns.secret)
    secret.undefine()
    ctx.out(f"Secret {secret.uuid} deleted", "")
