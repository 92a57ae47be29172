"""The ``virtcore`` command line, in the spirit of ``virsh``.

``virtcore [-c URI] [-r] COMMAND [ARGS]``; run ``virtcore --help`` for the
list of commands. :func:`main` takes an argv list and returns the exit
status (0 success, 1 error, 130 interrupted), so tests can call it directly.

Adding a command
================

Every command is a function registered with the :func:`command` decorator;
the parser is built from the registry, so nothing else needs editing::

    @command(
        "domblkstat",                             # the command's name
        DOMAIN,                                   # shared positional: name, id or UUID
        arg("device", help="disk target, e.g. vda"),
        arg("--human", action="store_true", help="..."),   # any add_argument() args
    )
    def _domblkstat(ctx: Context, ns: argparse.Namespace) -> int | None:
        '''Print a disk's I/O counters.'''      # first line: the --help summary
        dom = ctx.domain(ns.domain)               # resolves name / id / UUID like virsh
        rd_req, rd_bytes, wr_req, wr_bytes, errs = dom.block_stats(ns.device)
        ctx.out(f"{ns.device} rd_req {rd_req}", ...)
        return None                               # None or 0: success; an int: exit status

Rules a handler follows:

* Print results with ``ctx.out(...)`` (stdout) and nothing else; never
  ``sys.exit``. Raise a :class:`~virtcore.errors.VirtError` for anything the
  user got wrong: :func:`main` prints it as ``error: <message>`` on one line
  and exits 1. ``OSError`` from a file you open yourself is turned into one
  too, but prefer :meth:`Context.read_text`, which names the file.
* ``ctx.conn`` opens the connection (from ``-c``, ``-r`` and
  ``$VIRTCORE_DEFAULT_URI``) the first time it is used; a command that never
  touches it works without any URI. It is closed after the command.
* Keep startup light: import heavy modules (lxml, the XML model) inside the
  handler, not at the top of the module.
* A name with a space makes a command group: ``@command("domxml validate",
  ...)`` gives ``virtcore domxml validate ...``; the group ``domxml`` is made
  on first use (``group_help`` sets its summary once).
* Commands may live in another module of the package: add its dotted name to
  :data:`COMMAND_MODULES`; it is imported when the parser is built and
  registers its commands with the same decorator.

Messages follow virsh's wording ("Domain 'test' started"), and so do the
``list``, ``dominfo``, ``domstate`` and ``nodeinfo`` layouts. The storage
commands (``pool-*``, ``vol-*``) are in :mod:`virtcore.cli_storage`, the network
commands (``net-*``) in :mod:`virtcore.cli_network`, the snapshot commands
(``snapshot-*``) in :mod:`virtcore.cli_snapshot`, the guest agent's
(``qemu-agent-command``, ``guestinfo``, ``set-user-password``, ``domfsfreeze``,
``domfsthaw``, ``domtime``) in :mod:`virtcore.cli_agent`, the host device, host
interface and secret commands (``nodedev-*``, ``iface-*``, ``secret-*``) in
:mod:`virtcore.cli_nodedev`, :mod:`virtcore.cli_iface` and :mod:`virtcore.cli_secret`, the host's free
memory and CPU baseline (``freecell``, ``cpu-baseline``) in :mod:`virtcore.cli_node`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any, NamedTuple, NoReturn

import virtcore
from virtcore import __version__, drivers, limits
from virtcore.connection import OPERATIONS, domain_xml_from_native, domain_xml_to_native
from virtcore.drivers import InstalledDriver
from virtcore.errors import (
    InvalidArgError,
    NoConnectError,
    NoDomainError,
    NoSupportError,
    ReadFailedError,
    VirtError,
    XMLError,
)
from virtcore.types import DomainState, RunningReason, ShutoffReason
from virtcore.uri import DEFAULT_URI_ENV, URI, default_uri

if TYPE_CHECKING:
    from virtcore.auth import Auth
    from virtcore.connection import Connection, Domain

__all__ = [
    "terminal_auth",
    "DEFAULT_URI_ENV",
    "COMMANDS",
    "COMMAND_MODULES",
    "DOMAIN",
    "Command",
    "Context",
    "DriverSupport",
    "FROM_PLUGIN_CLASSES",
    "arg",
    "build_parser",
    "command",
    "looks_like_uuid",
    "main",
    "parse_command_line",
    "parse_size",
    "scaled_integer",
    "probe_drivers",
    "state_name",
    "reason_name",
]

#: Set to a non-empty value to get a traceback for unexpected (internal) errors.
DEBUG_ENV = "VIRTCORE_DEBUG"

#: Exit statuses.
EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130

#: Modules (dotted names) whose import registers more commands.
COMMAND_MODULES: tuple[str, ...] = (
    "virtcore.cli_storage",
    "virtcore.cli_network",
    "virtcore.cli_snapshot",
    "virtcore.cli_agent",
    "virtcore.cli_nodedev",
    "virtcore.cli_iface",
    "virtcore.cli_secret",
    "virtcore.cli_serve",
    "virtcore.cli_node",
    "virtcore.cli_tunables",
)


# ---------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------


class Arg(NamedTuple):
    """One ``add_argument`` call: positional flags/names and keyword options."""

    flags: tuple[str, ...]
    options: dict[str, Any]


def arg(*flags: str, **options: Any) -> Arg:
    """Describe an argument exactly as :meth:`argparse.ArgumentParser.add_argument` takes it."""
    return Arg(flags, options)


#: The domain positional every domain command takes.
DOMAIN = arg("domain", metavar="DOMAIN", help="domain name, id or UUID")

Handler = Callable[["Context", argparse.Namespace], "int | None"]


class Command(NamedTuple):
    """A registered command."""

    name: str
    handler: Handler
    args: tuple[Arg, ...]
    help: str
    description: str
    aliases: tuple[str, ...]


#: Every registered command, by full name (``"list"``, ``"domxml validate"``).
COMMANDS: dict[str, Command] = {}
#: Summaries of command groups, by group name.
GROUP_HELP: dict[str, str] = {}


def command(
    name: str,
    *args: Arg,
    help: str | None = None,  # noqa: A002 - argparse's word
    aliases: Sequence[str] = (),
    group_help: str | None = None,
) -> Callable[[Handler], Handler]:
    """Register the decorated function as the command ``name`` (see the module docstring).

    ``help`` defaults to the first line of the function's docstring, the
    long description to the whole docstring.
    """
    parts = name.split()
    if not parts or len(parts) > 2:
        raise ValueError(f"command name must be one word or 'group word', not {name!r}")
    if group_help is not None and len(parts) == 2:
        GROUP_HELP.setdefault(parts[0], group_help)

    def register(fn: Handler) -> Handler:
        full = " ".join(parts)
        if full in COMMANDS:
            raise ValueError(f"command {full!r} is registered twice")
        groups = {n.split()[0] for n in COMMANDS if " " in n}
        if (len(parts) == 1 and full in groups) or (len(parts) == 2 and parts[0] in COMMANDS):
            raise ValueError(f"command {full!r} clashes with a command group of the same name")
        doc = (fn.__doc__ or "").strip()
        summary = help if help is not None else (doc.splitlines()[0] if doc else "")
        COMMANDS[full] = Command(full, fn, tuple(args), summary, doc, tuple(aliases))
        return fn

    return register


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------


class _UsageError(Exception):
    """argparse found a usage error; the message is printed as ``error: ...``."""


class _ParserExitError(Exception):
    def __init__(self, status: int, message: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of calling ``sys.exit``."""

    def error(self, message: str) -> NoReturn:
        m = re.match(r"argument (?:COMMAND|SUBCOMMAND): invalid choice: ('[^']*')", message)
        if m:
            raise _UsageError(f"unknown command: {m.group(1)} (see '{self.prog} --help')")
        raise _UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise _ParserExitError(status, message)


def parse_command_line(parser: argparse.ArgumentParser, args: Sequence[str]) -> argparse.Namespace:
    """Parse ``args`` with a parser from :func:`build_parser`; usage errors say what is wrong.

    An unknown option is reported as one (argparse would first complain that
    no command was given), with the help of the command it was given to; a
    missing command last.

    Raises the command line's usage error (printed as ``error: ...`` by
    :func:`main`) for anything wrong.
    """
    ns, extras = parser.parse_known_args(list(args))
    words = [w for w in (getattr(ns, "command", None), getattr(ns, "subcommand", None)) if w]
    if extras:
        # the help to point at: the command's, if the first stray word came after its name
        before = list(args)[: list(args).index(extras[0])]
        prog = " ".join([parser.prog, *words]) if words and words[0] in before else parser.prog
        options = [e for e in extras if e.startswith("-") and e != "-"]
        stray = options or extras
        what = ("unknown option" if options else "unexpected argument") + ("s" if len(stray) > 1 else "")
        listed = ", ".join(repr(e) for e in stray)
        raise _UsageError(f"{what}: {listed} (see '{prog} --help')")
    if not hasattr(ns, "_handler"):
        prog = " ".join([parser.prog, *words])
        raise _UsageError(f"{prog}: a command is required (see '{prog} --help')")
    return ns


def _load_command_modules() -> None:
    for modname in COMMAND_MODULES:
        importlib.import_module(modname)


#: Top-level options and whether each takes a value (what :func:`_command_word` may skip).
_TOP_OPTIONS = {"-c": True, "--connect": True, "-r": False, "--readonly": False}


def _command_word(args: Sequence[str]) -> str | None:
    """The registered command (or group) word ``args`` run, if that is plain to see; else ``None``.

    Only the simple shapes are read (``[-c URI] [-r] WORD ...``); anything
    else (``--help``, ``-cURI``, an unknown word) gives ``None``.
    """
    words = iter(args)
    for word in words:
        if word in _TOP_OPTIONS:
            if _TOP_OPTIONS[word] and next(words, None) is None:
                return None
            continue
        if word.startswith("-"):
            return None
        known = {c.name.split()[0] for c in COMMANDS.values()}
        known.update(a for c in COMMANDS.values() for a in c.aliases)
        return word if word in known else None
    return None


def build_parser(args: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser, built from :data:`COMMANDS`.

    Given the command line ``args``, only the command it names is added (when
    :func:`_command_word` can tell which): parsing it gives the same result,
    and a run does not pay for building some sixty sub-parsers it never
    uses. Without ``args`` (or for ``--help``, an unknown command...) every
    command is added.
    """
    _load_command_modules()
    wanted = _command_word(args) if args is not None else None
    parser = _Parser(
        prog="virtcore",
        description="Manage virtual machines through virtcore drivers (a virsh-like tool).",
        epilog=f"The URI defaults to ${DEFAULT_URI_ENV}. Run 'virtcore drivers' for installed drivers.",
    )
    parser.add_argument(
        "-c",
        "--connect",
        metavar="URI",
        dest="uri",
        help=f"hypervisor connection URI (default: ${DEFAULT_URI_ENV})",
    )
    parser.add_argument("-r", "--readonly", action="store_true", help="open the connection read-only")
    parser.add_argument("-V", "--version", action="version", version=f"virtcore {__version__}")
    # not "required": parse_command_line reports a missing command after unknown options
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    groups: dict[str, argparse._SubParsersAction[Any]] = {}
    for cmd in sorted(COMMANDS.values(), key=lambda c: c.name):
        parts = cmd.name.split()
        if wanted is not None and wanted != parts[0] and wanted not in cmd.aliases:
            continue
        target = sub
        if len(parts) == 2:
            group = parts[0]
            if group not in groups:
                gp = sub.add_parser(group, help=GROUP_HELP.get(group, f"{group} commands"))
                gsub = gp.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", title="subcommands")
                groups[group] = gsub
            target = groups[group]
        p = target.add_parser(
            parts[-1],
            help=cmd.help,
            description=cmd.description or None,
            aliases=list(cmd.aliases),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        for a in cmd.args:
            p.add_argument(*a.flags, **a.options)
        p.set_defaults(_handler=cmd.handler)
    return parser


# ---------------------------------------------------------------------------
# The context a handler gets
# ---------------------------------------------------------------------------


class Context:
    """What a command handler works with: the lazily opened connection and output streams."""

    def __init__(self, uri: str | None, read_only: bool, stdout: IO[str], stderr: IO[str]) -> None:
        self.uri_arg = uri
        self.read_only = read_only
        self.stdout = stdout
        self.stderr = stderr
        self._conn: Connection | None = None

    @property
    def has_uri(self) -> bool:
        """Whether a URI is known (``-c`` or ``$VIRTCORE_DEFAULT_URI``): :attr:`conn` can open."""
        return bool(self.uri_arg or default_uri())

    @property
    def uri(self) -> str:
        """The URI to connect to: ``-c``, else ``$VIRTCORE_DEFAULT_URI``; an error if neither."""
        uri = self.uri_arg or default_uri()
        if not uri:
            raise InvalidArgError(
                f"no connection URI: give one with -c URI or set ${DEFAULT_URI_ENV} (e.g. test:///default)"
            )
        return uri

    @property
    def conn(self) -> Connection:
        """The connection, opened on first use (read-only with ``-r``)."""
        if self._conn is None:
            uri, auth = self.uri, terminal_auth()
            opener = virtcore.open_read_only if self.read_only else virtcore.open
            self._conn = opener(uri) if auth is None else opener(uri, auth=auth)
        return self._conn

    def close(self) -> None:
        """Close the connection if one was opened."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    def out(self, *lines: str) -> None:
        """Print lines to stdout."""
        for line in lines:
            print(line, file=self.stdout)

    def domain(self, text: str) -> Domain:
        """Find a domain as virsh does: by id if ``text`` is a number, else by UUID, else by name.

        :raises NoDomainError: ``"Domain not found: <text>"`` when nothing matches.
        """
        return lookup_domain(self.conn, text)

    def read_text(self, path: str, what: str = "file") -> str:
        """The UTF-8 text of ``path`` (``-`` reads stdin); failures name the file.

        At most :data:`virtcore.xml.MAX_XML_BYTES` plus one byte is read, so an
        endless or huge file (``/dev/zero``) is refused without filling memory.
        """
        from virtcore.xml import MAX_XML_BYTES  # saves ~170 ms (lxml, the model) on commands reading no XML

        where = "on standard input" if path == "-" else f"'{path}'"
        data: bytes
        try:
            if path == "-":
                stream = getattr(sys.stdin, "buffer", None)  # None for a text-only stream
                if stream is not None:
                    data = stream.read(MAX_XML_BYTES + 1)
                else:  # characters are at least a byte each: still bounded
                    data = sys.stdin.read(MAX_XML_BYTES + 1).encode("utf-8")
            else:
                with open(path, "rb") as fh:
                    data = fh.read(MAX_XML_BYTES + 1)
        except OSError as exc:
            raise ReadFailedError(f"{what} {where}: {exc.strerror or exc}") from None
        if len(data) > MAX_XML_BYTES:
            raise XMLError(f"{what} {where} is larger than the limit of {MAX_XML_BYTES} bytes")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise XMLError(f"{what} {where} is not valid UTF-8") from None


def terminal_auth() -> Auth | None:
    """virsh's default credentials: a driver's questions (a test node file's ``<auth>`` login)
    are asked on the terminal, passwords without echo. ``None`` when stdin is no terminal."""
    if not sys.stdin.isatty():
        return None
    from virtcore.auth import Auth, Credential, CredentialType  # saves a module: only terminals ask

    def ask(creds: list[Credential]) -> int:
        import getpass  # saves getpass (termios) on every command that asks nothing

        for cred in creds:
            if cred.type in (CredentialType.PASSPHRASE, CredentialType.NOECHOPROMPT):
                cred.result = getpass.getpass(f"{cred.prompt}: ")
            else:
                print(f"{cred.prompt}: ", end="", file=sys.stderr, flush=True)
                line = sys.stdin.readline()
                if not line:
                    return -1
                cred.result = line.rstrip("\n")
        return 0

    kinds = (CredentialType.AUTHNAME, CredentialType.PASSPHRASE, CredentialType.ECHOPROMPT)
    return Auth(kinds, ask)


def looks_like_uuid(text: str) -> bool:
    """Whether ``text`` is a UUID in one of its common spellings (so virsh tries a lookup by UUID)."""
    s = text.strip()
    if len(s) not in (32, 36):
        return False
    import uuid  # saves ~4 ms on lookups by name: only a UUID-shaped argument needs it

    try:
        uuid.UUID(s)
    except ValueError:
        return False
    return True


def lookup_domain(conn: Connection, text: str) -> Domain:
    """A domain by id (if ``text`` is a non-negative integer), UUID (if it looks like one) or name.

    Each form that does not match falls through to the next, as in virsh; a
    name that happens to look like an id still resolves.
    """
    if text.isdigit():
        try:
            return conn.lookup_domain_by_id(int(text))
        except (NoDomainError, NoSupportError):
            pass
    if looks_like_uuid(text):
        try:
            return conn.lookup_domain_by_uuid(text)
        except (NoDomainError, NoSupportError):
            pass
    try:
        return conn.lookup_domain(text)
    except NoDomainError:
        raise NoDomainError(text) from None


# ---------------------------------------------------------------------------
# Formatting helpers (virsh's words)
# ---------------------------------------------------------------------------

_STATE_NAMES = {
    DomainState.NOSTATE: "no state",
    DomainState.RUNNING: "running",
    DomainState.BLOCKED: "idle",
    DomainState.PAUSED: "paused",
    DomainState.SHUTDOWN: "in shutdown",
    DomainState.SHUTOFF: "shut off",
    DomainState.CRASHED: "crashed",
    DomainState.PMSUSPENDED: "pmsuspended",
}

_reason_names: dict[DomainState, dict[int, str]] = {}


def _reasons() -> dict[DomainState, dict[int, str]]:
    """virsh's words for the reasons of each state, built on first use."""
    if not _reason_names:
        from virtcore.types import CrashedReason, PausedReason, ShutdownReason  # saves ~3M instr. of list

        _reason_names.update(
            {
                DomainState.RUNNING: {
                    RunningReason.UNKNOWN: "unknown",
                    RunningReason.BOOTED: "booted",
                    RunningReason.MIGRATED: "migrated",
                    RunningReason.RESTORED: "restored",
                    RunningReason.FROM_SNAPSHOT: "from snapshot",
                    RunningReason.UNPAUSED: "unpaused",
                    RunningReason.MIGRATION_CANCELED: "migration canceled",
                    RunningReason.SAVE_CANCELED: "save canceled",
                    RunningReason.WAKEUP: "event wakeup",
                    RunningReason.CRASHED: "crashed",
                    RunningReason.POSTCOPY: "post-copy",
                },
                DomainState.PAUSED: {
                    PausedReason.UNKNOWN: "unknown",
                    PausedReason.USER: "user",
                    PausedReason.MIGRATION: "migrating",
                    PausedReason.SAVE: "saving",
                    PausedReason.DUMP: "dumping",
                    PausedReason.IOERROR: "I/O error",
                    PausedReason.WATCHDOG: "watchdog",
                    PausedReason.FROM_SNAPSHOT: "from snapshot",
                    PausedReason.SHUTTING_DOWN: "shutting down",
                    PausedReason.SNAPSHOT: "creating snapshot",
                    PausedReason.CRASHED: "crashed",
                    PausedReason.STARTING_UP: "starting up",
                },
                DomainState.SHUTDOWN: {ShutdownReason.UNKNOWN: "unknown", ShutdownReason.USER: "user"},
                DomainState.SHUTOFF: {
                    ShutoffReason.UNKNOWN: "unknown",
                    ShutoffReason.SHUTDOWN: "shutdown",
                    ShutoffReason.DESTROYED: "destroyed",
                    ShutoffReason.CRASHED: "crashed",
                    ShutoffReason.MIGRATED: "migrated",
                    ShutoffReason.SAVED: "saved",
                    ShutoffReason.FAILED: "failed",
                    ShutoffReason.FROM_SNAPSHOT: "from snapshot",
                    ShutoffReason.DAEMON: "daemon",
                },
                DomainState.CRASHED: {CrashedReason.UNKNOWN: "unknown", CrashedReason.PANICKED: "panicked"},
            }
        )
    return _reason_names


def state_name(state: int) -> str:
    """virsh's word for a domain state (``"shut off"`` for SHUTOFF)."""
    try:
        return _STATE_NAMES[DomainState(state)]
    except ValueError:
        return "unknown"


def reason_name(state: int, reason: int) -> str:
    """virsh's word for the reason a domain is in ``state``."""
    try:
        return _reasons().get(DomainState(state), {}).get(reason, "unknown")
    except ValueError:
        return "unknown"


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Lines of a virsh table: `` Id   Name   State``, a rule, then the rows."""
    widths = [len(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        return "".join(f" {c.ljust(w)}  " for c, w in zip(cells, widths, strict=False)).rstrip()

    return [line(header), "-" * sum(w + 3 for w in widths), *(line(r) for r in rows)]


#: Unit suffixes (lower case) and their scale, as virsh reads scaled integers.
_UNITS = {
    "b": 1,
    "k": 1024,
    "kib": 1024,
    "kb": 1000,
    "m": 1024**2,
    "mib": 1024**2,
    "mb": 1000**2,
    "g": 1024**3,
    "gib": 1024**3,
    "gb": 1000**3,
    "t": 1024**4,
    "tib": 1024**4,
    "tb": 1000**4,
    "p": 1024**5,
    "pib": 1024**5,
    "pb": 1000**5,
    "e": 1024**6,
    "eib": 1024**6,
    "eb": 1000**6,
}


def scaled_integer(text: str, default_scale: int) -> int | None:
    """``text`` as a number with an optional unit (``512M``, ``2GiB``, ``1000KB``); ``None`` if it is not.

    A plain number is multiplied by ``default_scale``. Units are virsh's:
    ``K``/``KiB`` and the like are powers of 1024, ``KB`` and the like powers of 1000.
    """
    s = text.strip()
    digits = len(s) - len(s.lstrip("0123456789"))
    number, unit = s[:digits], s[digits:].strip().lower()
    scale = default_scale if not unit else _UNITS.get(unit)
    if not number or scale is None:
        return None
    return int(number) * scale


def parse_size(text: str) -> int:
    """A memory size in KiB from ``"524288"`` (KiB), ``"512M"``, ``"2GiB"``, ``"1000000KB"`` ...

    Like virsh, a plain number is KiB and byte counts round up to whole KiB.

    :raises InvalidArgError: not a positive size with a known unit.
    """
    size = scaled_integer(text, 1024)
    if size is None:
        raise InvalidArgError(
            f"invalid size {text!r}: expected a number of KiB or a number with a unit (512M, 2G)"
        )
    kib = -(-size // 1024)
    if kib <= 0:
        raise InvalidArgError(f"invalid size {text!r}: must be positive")
    return kib


def _positive_int(text: str, what: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise InvalidArgError(f"{what} must be a positive integer, not {text!r}") from None
    if value <= 0:
        raise InvalidArgError(f"{what} must be a positive integer, not {text!r}")
    return value


def _version_string(version: int) -> str:
    major, rest = divmod(version, 1_000_000)
    minor, release = divmod(rest, 1_000)
    return f"{major}.{minor}.{release}"


def _parse_xml(text: str, what: str) -> Any:
    """Parse driver output with virtcore's one hardened parser; ``what`` names the document."""
    from virtcore.xml import secure_parse  # saves ~170 ms (lxml, the model) on commands that parse nothing

    try:
        return secure_parse(text)
    except XMLError as exc:
        raise XMLError(f"driver returned malformed XML for {what}: {exc.detail}") from None


# ---------------------------------------------------------------------------
# Connection and host commands
# ---------------------------------------------------------------------------


@command("uri")
def _uri(ctx: Context, ns: argparse.Namespace) -> None:
    """Print the connection's URI."""
    ctx.out(ctx.conn.uri)


@command("hostname")
def _hostname(ctx: Context, ns: argparse.Namespace) -> None:
    """Print the host's name."""
    ctx.out(ctx.conn.hostname())


@command("version")
def _version(ctx: Context, ns: argparse.Namespace) -> None:
    """Print the library's and the hypervisor's versions."""
    conn = ctx.conn
    hv_type = conn.get_type()
    ctx.out(
        f"Using library: virtcore {__version__}",
        f"Using API: {hv_type} {__version__}",
        f"Running hypervisor: {hv_type} {_version_string(conn.get_version())}",
    )


@command("nodeinfo")
def _nodeinfo(ctx: Context, ns: argparse.Namespace) -> None:
    """Print the host's CPUs and memory."""
    info = ctx.conn.node_info()
    rows = [
        ("CPU model:", info.model),
        ("CPU(s):", str(info.cpus)),
        ("CPU frequency:", f"{info.mhz} MHz"),
        ("CPU socket(s):", str(info.sockets)),
        ("Core(s) per socket:", str(info.cores)),
        ("Thread(s) per core:", str(info.threads)),
        ("NUMA cell(s):", str(info.nodes)),
        ("Memory size:", f"{info.memory} KiB"),
    ]
    ctx.out(*(f"{label:<20} {value}" for label, value in rows))


@command("capabilities")
def _capabilities(ctx: Context, ns: argparse.Namespace) -> None:
    """Print the capabilities XML of the host and its guests."""
    ctx.out(ctx.conn.capabilities_xml().rstrip("\n"))


@command(
    "domxml validate",
    arg("file", metavar="FILE", help="domain XML file to check"),
    arg("--schema", metavar="RNG", help="also validate against this RelaxNG schema (libvirt's domain.rng)"),
    arg("--strict", action="store_true", help="also report elements virtcore does not model"),
    group_help="domain XML tools",
)
def _domxml_validate(ctx: Context, ns: argparse.Namespace) -> int | None:
    """Check a domain XML file: print its problems, exit 1 if there are any."""
    from virtcore.xml import validate_file  # saves ~170 ms (lxml, the model) on every other command

    problems = validate_file(ns.file, ns.schema, strict=ns.strict)
    if problems:
        ctx.out(*(f"{ns.file}: {p}" for p in problems))
        return EXIT_ERROR
    ctx.out(f"{ns.file} validates")
    return None


@command(
    "domxml-to-native",
    arg("format", metavar="FORMAT", help="the driver's native format, e.g. xen-xl or xen-xm"),
    arg("file", metavar="FILE", help="domain XML file"),
)
def _domxml_to_native(ctx: Context, ns: argparse.Namespace) -> None:
    """Convert domain XML to a hypervisor's native config format."""
    xml = ctx.read_text(ns.file, "domain XML file")
    if ctx.has_uri:
        text = ctx.conn.domain_xml_to_native(ns.format, xml)
    else:  # no URI: the converters installed drivers declare, no connection
        text = domain_xml_to_native(ns.format, xml)
    ctx.out(text.rstrip("\n"))


@command(
    "domxml-from-native",
    arg("format", metavar="FORMAT", help="the driver's native format, e.g. xen-xl, xen-xm or xen-sxpr"),
    arg("file", metavar="FILE", help="native config file"),
)
def _domxml_from_native(ctx: Context, ns: argparse.Namespace) -> None:
    """Convert a hypervisor's native config to domain XML."""
    config = ctx.read_text(ns.file, "native config file")
    if ctx.has_uri:
        xml = ctx.conn.domain_xml_from_native(ns.format, config)
    else:
        xml = domain_xml_from_native(ns.format, config)
    ctx.out(xml.rstrip("\n"))


# ---------------------------------------------------------------------------
# Listing and inspecting domains
# ---------------------------------------------------------------------------


@command(
    "list",
    arg("--all", action="store_true", help="list active and inactive domains"),
    arg("--inactive", action="store_true", help="list inactive domains only"),
    arg("--name", action="store_true", help="print only names, one per line"),
    arg("--uuid", action="store_true", help="print only UUIDs, one per line"),
)
def _list(ctx: Context, ns: argparse.Namespace) -> None:
    """List domains (active ones unless --all or --inactive)."""
    active: bool | None = False if ns.inactive else (None if ns.all else True)
    rows: list[tuple[int, str, str, str]] = []
    for dom in ctx.conn.list_domains(active=active):
        try:
            state = dom.state()[0]
            dom_id = dom.id
        except NoDomainError:  # vanished while listing
            continue
        rows.append((dom_id, dom.name, dom.uuid, state_name(state)))
    # virsh's order: active domains by id, then inactive ones by name.
    rows.sort(key=lambda r: (r[0] < 0, r[0] if r[0] >= 0 else 0, r[1]))
    if ns.name or ns.uuid:
        for _id, name, uuid, _ in rows:
            ctx.out(" ".join(x for x, on in ((uuid, ns.uuid), (name, ns.name)) if on))
        return
    body = [(str(i) if i >= 0 else "-", name, state) for i, name, _, state in rows]
    ctx.out(*format_table(("Id", "Name", "State"), body), "")


@command("dominfo", DOMAIN)
def _dominfo(ctx: Context, ns: argparse.Namespace) -> None:
    """Print basic information about a domain."""
    dom = ctx.domain(ns.domain)
    info = dom.info()
    dom_id = dom.id
    try:
        root = _parse_xml(dom.xml_desc(), f"domain '{dom.name}'")
        os_type = root.findtext("os/type") or "unknown"
    except NoSupportError:
        os_type = "unknown"

    def optional(fn: Callable[[], bool], yes: str, no: str) -> str:
        try:
            return yes if fn() else no
        except NoSupportError:
            return "unknown"

    rows = [
        ("Id:", str(dom_id) if dom_id >= 0 else "-"),
        ("Name:", dom.name),
        ("UUID:", dom.uuid),
        ("OS Type:", os_type),
        ("State:", state_name(info.state)),
        ("CPU(s):", str(info.nr_virt_cpu)),
    ]
    if dom_id >= 0:
        rows.append(("CPU time:", f"{info.cpu_time / 1e9:.1f}s"))
    rows += [
        ("Max memory:", f"{info.max_memory} KiB"),
        ("Used memory:", f"{info.memory} KiB"),
        ("Persistent:", optional(dom.is_persistent, "yes", "no")),
        ("Autostart:", optional(lambda: dom.autostart, "enable", "disable")),
    ]
    ctx.out(*(f"{label:<15} {value}" for label, value in rows), "")


@command("domstate", DOMAIN, arg("--reason", action="store_true", help="also print the reason for the state"))
def _domstate(ctx: Context, ns: argparse.Namespace) -> None:
    """Print a domain's state."""
    state, reason = ctx.domain(ns.domain).state()
    if ns.reason:
        ctx.out(f"{state_name(state)} ({reason_name(state, reason)})", "")
    else:
        ctx.out(state_name(state), "")


#: virsh's words for a domain's control state and for the reason of its error state.
_CONTROL_STATES = ("ok", "background job", "occupied", "error")
_CONTROL_ERRORS = ("", "unknown", "monitor failure", "internal (locking) error")


@command("domcontrol", DOMAIN)
def _domcontrol(ctx: Context, ns: argparse.Namespace) -> None:
    """Print what the interface controlling a running domain is doing."""
    from virtcore.types import ControlState  # saves ~0.5M instructions of every command: built on first use

    info = ctx.domain(ns.domain).control_info()
    name = _CONTROL_STATES[info.state]
    if info.state not in (ControlState.OK, ControlState.ERROR):
        ctx.out(f"{name} ({info.state_time / 1000:.3f}s)", "")
    elif info.state == ControlState.ERROR and info.details > 0:
        reason = _CONTROL_ERRORS[info.details] if info.details < len(_CONTROL_ERRORS) else "unknown"
        ctx.out(f"{name}: {reason}", "")
    else:
        ctx.out(name, "")


@command("domid", DOMAIN)
def _domid(ctx: Context, ns: argparse.Namespace) -> None:
    """Print a domain's id ('-' when it is inactive)."""
    dom_id = ctx.domain(ns.domain).id
    ctx.out(str(dom_id) if dom_id >= 0 else "-", "")


@command("domname", DOMAIN)
def _domname(ctx: Context, ns: argparse.Namespace) -> None:
    """Print a domain's name."""
    ctx.out(ctx.domain(ns.domain).name, "")


@command("domuuid", DOMAIN)
def _domuuid(ctx: Context, ns: argparse.Namespace) -> None:
    """Print a domain's UUID."""
    ctx.out(ctx.domain(ns.domain).uuid, "")


@command(
    "dumpxml",
    DOMAIN,
    arg("--inactive", action="store_true", help="print the persistent definition, not the live one"),
)
def _dumpxml(ctx: Context, ns: argparse.Namespace) -> None:
    """Print a domain's XML description."""
    ctx.out(ctx.domain(ns.domain).xml_desc(inactive=ns.inactive).rstrip("\n"))


# ---------------------------------------------------------------------------
# Lifecycle
# ---------------------------------------------------------------------------


def _simple_action(name: str, method: str, message: str, summary: str) -> None:
    def handler(ctx: Context, ns: argparse.Namespace) -> None:
        dom = ctx.domain(ns.domain)
        getattr(dom, method)()
        ctx.out(message.format(name=dom.name), "")

    handler.__doc__ = summary
    handler.__name__ = f"_{method}"
    command(name, DOMAIN)(handler)


_simple_action("start", "start", "Domain '{name}' started", "Start a defined, inactive domain.")
_simple_action("shutdown", "shutdown", "Domain '{name}' is being shutdown", "Gracefully shut down a domain.")
_simple_action("reboot", "reboot", "Domain '{name}' is being rebooted", "Reboot a domain.")
_simple_action("reset", "reset", "Domain '{name}' was reset", "Reset a domain at once (the reset button).")
_simple_action("destroy", "destroy", "Domain '{name}' destroyed", "Stop a domain at once (pull the plug).")
_simple_action("suspend", "suspend", "Domain '{name}' suspended", "Pause a running domain.")
_simple_action("resume", "resume", "Domain '{name}' resumed", "Resume a paused domain.")


@command("inject-nmi", DOMAIN)
def _inject_nmi(ctx: Context, ns: argparse.Namespace) -> None:
    """Send a non-maskable interrupt to a domain (prints only virsh's blank line)."""
    ctx.domain(ns.domain).inject_nmi()
    ctx.out("")


@command(
    "undefine",
    DOMAIN,
    arg("--snapshots-metadata", action="store_true", help="also forget the domain's snapshots' metadata"),
)
def _undefine(ctx: Context, ns: argparse.Namespace) -> None:
    """Remove a domain's persistent definition."""
    dom = ctx.domain(ns.domain)
    dom.undefine(snapshots_metadata=ns.snapshots_metadata)
    ctx.out(f"Domain '{dom.name}' has been undefined", "")


@command("define", arg("file", metavar="FILE", help="domain XML file ('-' for stdin)"))
def _define(ctx: Context, ns: argparse.Namespace) -> None:
    """Define (but do not start) a persistent domain from an XML file."""
    xml = ctx.read_text(ns.file, "domain XML file")
    dom = ctx.conn.define_domain(xml)
    ctx.out(f"Domain '{dom.name}' defined from {ns.file}", "")


@command("create", arg("file", metavar="FILE", help="domain XML file ('-' for stdin)"))
def _create(ctx: Context, ns: argparse.Namespace) -> None:
    """Create and start a transient domain from an XML file."""
    xml = ctx.read_text(ns.file, "domain XML file")
    dom = ctx.conn.create_domain(xml)
    ctx.out(f"Domain '{dom.name}' created from {ns.file}", "")


_RUNNING = arg("--running", action="store_true", help="come back running, whatever the state it was saved in")
_PAUSED = arg("--paused", action="store_true", help="come back paused, whatever the state it was saved in")


@command("save", DOMAIN, arg("file", metavar="FILE", help="where to write the state"), _RUNNING, _PAUSED)
def _save(ctx: Context, ns: argparse.Namespace) -> None:
    """Save a running domain's state to a file and stop it."""
    dom = ctx.domain(ns.domain)
    dom.save(ns.file, running=ns.running, paused=ns.paused)
    ctx.out(f"Domain '{dom.name}' saved to {ns.file}", "")


@command("save-image-dumpxml", arg("file", metavar="FILE", help="a file written by 'save'"))
def _save_image_dumpxml(ctx: Context, ns: argparse.Namespace) -> None:
    """Print the domain XML a file written by 'save' holds."""
    ctx.out(ctx.conn.save_image_xml_desc(ns.file).rstrip("\n"))


@command("restore", arg("file", metavar="FILE", help="a file written by 'save'"), _RUNNING, _PAUSED)
def _restore(ctx: Context, ns: argparse.Namespace) -> None:
    """Restore a domain from a file written by 'save'."""
    ctx.conn.restore_domain(ns.file, running=ns.running, paused=ns.paused)
    ctx.out(f"Domain restored from {ns.file}", "")


# ---------------------------------------------------------------------------
# Resources and devices
# ---------------------------------------------------------------------------


@command(
    "setmem", DOMAIN, arg("size", metavar="SIZE", help="new current memory: KiB, or with a unit (512M, 2G)")
)
def _setmem(ctx: Context, ns: argparse.Namespace) -> None:
    """Change a domain's current memory (balloon target)."""
    ctx.domain(ns.domain).set_memory(parse_size(ns.size))


@command(
    "dommemstat",
    DOMAIN,
    arg("--period", type=int, metavar="SECONDS", help="set the balloon statistics period instead (0: off)"),
    arg("--live", action="store_true", help="with --period: change the running domain"),
    arg("--config", action="store_true", help="with --period: change the persistent definition"),
    arg("--current", action="store_true", help="with --period: change the current definition"),
)
def _dommemstat(ctx: Context, ns: argparse.Namespace) -> None:
    """Print a running domain's memory statistics, or set their period with --period."""
    dom = ctx.domain(ns.domain)
    if ns.period is not None:
        dom.set_memory_stats_period(ns.period, live=ns.live, config=ns.config)
        ctx.out("")
        return
    ctx.out(*(f"{name} {value}" for name, value in dom.memory_stats().items()), "")


@command("setmaxmem", DOMAIN, arg("size", metavar="SIZE", help="new maximum memory: KiB, or with a unit"))
def _setmaxmem(ctx: Context, ns: argparse.Namespace) -> None:
    """Change a domain's maximum memory."""
    ctx.domain(ns.domain).set_max_memory(parse_size(ns.size))


@command(
    "memtune",
    DOMAIN,
    arg("--hard-limit", metavar="SIZE", help="new hard limit: KiB, or with a unit"),
    arg("--soft-limit", metavar="SIZE", help="new soft limit: KiB, or with a unit"),
    arg("--swap-hard-limit", metavar="SIZE", help="new swap hard limit: KiB, or with a unit"),
)
def _memtune(ctx: Context, ns: argparse.Namespace) -> None:
    """Show a domain's memory tunables, or change those given (virsh memtune)."""
    dom = ctx.domain(ns.domain)
    given = {"hard_limit": ns.hard_limit, "soft_limit": ns.soft_limit, "swap_hard_limit": ns.swap_hard_limit}
    changes = {k: parse_size(v) for k, v in given.items() if v is not None}
    if changes:
        dom.set_memory_parameters(changes)
        return
    for name, value in dom.memory_parameters().items():
        ctx.out(f"{name:<15}: {'unlimited' if value == limits.MEMORY_PARAM_UNLIMITED else value}")


@command("setvcpus", DOMAIN, arg("count", metavar="COUNT", help="number of active vCPUs"))
def _setvcpus(ctx: Context, ns: argparse.Namespace) -> None:
    """Change a domain's number of active vCPUs."""
    ctx.domain(ns.domain).set_vcpus(_positive_int(ns.count, "vCPU count COUNT"))


@command(
    "autostart", DOMAIN, arg("--disable", action="store_true", help="stop starting the domain with the host")
)
def _autostart(ctx: Context, ns: argparse.Namespace) -> None:
    """Mark a domain to start with the host (or not, with --disable)."""
    dom = ctx.domain(ns.domain)
    dom.autostart = not ns.disable
    verb = "unmarked" if ns.disable else "marked"
    ctx.out(f"Domain '{dom.name}' {verb} as autostarted", "")


@command(
    "attach-device", DOMAIN, arg("file", metavar="FILE", help="one device element in XML ('-' for stdin)")
)
def _attach_device(ctx: Context, ns: argparse.Namespace) -> None:
    """Attach a device described in an XML file."""
    xml = ctx.read_text(ns.file, "device XML file")
    ctx.domain(ns.domain).attach_device(xml)
    ctx.out("Device attached successfully", "")


@command(
    "detach-device", DOMAIN, arg("file", metavar="FILE", help="one device element in XML ('-' for stdin)")
)
def _detach_device(ctx: Context, ns: argparse.Namespace) -> None:
    """Detach the device described in an XML file."""
    xml = ctx.read_text(ns.file, "device XML file")
    ctx.domain(ns.domain).detach_device(xml)
    ctx.out("Device detached successfully", "")


# ---------------------------------------------------------------------------
# Drivers and what they support
# ---------------------------------------------------------------------------


#: :attr:`DriverSupport.source` of support read from a driver's declared plugin classes.
FROM_PLUGIN_CLASSES = "plugin classes"


class DriverSupport(NamedTuple):
    """What one installed driver supports, as found by :func:`probe_drivers`.

    ``source`` says where ``operations`` come from: :data:`FROM_PLUGIN_CLASSES`
    (the driver's declared classes, no connection opened) or the URI of the
    connection that was asked (also in ``uri``). ``operations`` is ``None``
    when neither was possible (``note`` says why): the driver's support is then
    unknown, not empty. ``via`` maps the operations (among ``operations``) that
    an installed secondary driver serves for this one, and not the driver
    itself, to that driver's scheme (``"storage"``).
    """

    scheme: str
    distribution: str | None
    version: str | None
    uri: str | None
    operations: frozenset[str] | None
    note: str
    source: str = ""
    via: tuple[tuple[str, str], ...] = ()

    def served_by(self, operation: str) -> str | None:
        """Who serves ``operation``: ``"yes"`` (the driver), a secondary driver's scheme, or ``None``."""
        if self.operations is None or operation not in self.operations:
            return None
        return dict(self.via).get(operation, "yes")


def driver_default_uri(driver: InstalledDriver) -> str | None:
    """The URI to probe ``driver`` with: the ``default_uri`` it declares, if any.

    Loads (imports) the driver. A driver with no safe default (one that would
    need a running hypervisor, or a path) has none; probe it with ``-c``.
    """
    return drivers.declared_default_uri(drivers.load_driver(driver.scheme, f"{driver.scheme}://"))


def _static_support(driver: InstalledDriver) -> DriverSupport | None:
    """Support read from the plugin classes the driver declares; ``None`` if it declares none."""
    classes = drivers.declared_plugin_classes(drivers.load_driver(driver.scheme, f"{driver.scheme}://"))
    if classes is None:
        return None
    own = drivers.static_operations(classes)
    via: dict[str, str] = {}
    for scheme in drivers.declared_secondary(drivers.load_driver(driver.scheme, f"{driver.scheme}://")):
        try:
            secondary = drivers.load_driver(scheme, f"{scheme}://")
        except NoConnectError:
            continue  # not installed: its operations stay unsupported
        extra = drivers.declared_plugin_classes(secondary)
        for op in sorted(drivers.static_operations(extra or ()) - own):
            via.setdefault(op, scheme)
    return DriverSupport(
        driver.scheme,
        driver.distribution,
        driver.version,
        None,
        own | frozenset(via),
        "",
        FROM_PLUGIN_CLASSES,
        tuple(sorted(via.items())),
    )


def _probe(uri: str) -> tuple[frozenset[str], tuple[tuple[str, str], ...]]:
    """What a read-only connection to ``uri`` supports, and which of it its secondary drivers serve."""
    with virtcore.open_read_only(uri) as conn:
        ops = conn.supported_operations()
        via: dict[str, str] = {}
        scheme = URI.parse(uri).driver
        for secondary in drivers.declared_secondary(drivers.load_driver(scheme, uri)):
            try:
                classes = drivers.declared_plugin_classes(drivers.load_driver(secondary, f"{secondary}://"))
            except NoConnectError:
                continue
            for op in ops:
                impls = conn.implementers(op)
                if impls and classes and all(isinstance(i, classes) for i in impls):
                    via.setdefault(op, secondary)
        return ops, tuple(sorted(via.items()))


def probe_drivers(uri: str | None = None) -> list[DriverSupport]:
    """Each installed driver's supported operations, or only the driver of ``uri``.

    Without ``uri``, each driver's operations are read from the plugin classes
    it declares (:func:`virtcore.drivers.describe_driver`): no connection is
    opened. A driver declaring none is opened *read-only* on its default URI
    (nothing is changed), or reported as unknown if it has none. With ``uri``,
    that connection is asked (:meth:`Connection.supported_operations`): what
    the driver serves there, which may be less than it can.
    """
    installed = drivers.installed_drivers()
    if uri is not None:
        scheme = URI.parse(uri).driver
        info = next((d for d in installed if d.scheme == scheme), None)
        ops, via = _probe(uri)  # raises NoConnectError for an uninstalled scheme
        return [
            DriverSupport(
                scheme,
                info.distribution if info else None,
                info.version if info else None,
                uri,
                ops,
                "",
                uri,
                via,
            )
        ]
    found = []
    for d in installed:
        try:
            static = _static_support(d)
            if static is not None:
                found.append(static)
                continue
            default = driver_default_uri(d)
            if default is None:
                found.append(
                    DriverSupport(
                        d.scheme,
                        d.distribution,
                        d.version,
                        None,
                        None,
                        "declares no plugin classes and no default URI; probe with -c URI",
                    )
                )
                continue
            ops, via = _probe(default)
            found.append(DriverSupport(d.scheme, d.distribution, d.version, default, ops, "", default, via))
        except VirtError as exc:
            found.append(
                DriverSupport(d.scheme, d.distribution, d.version, None, None, f"cannot probe: {exc}")
            )
    return found


@command(
    "drivers",
    arg("--kind", choices=("all", "mutating", "read-only"), default="all", help="which operations to show"),
)
def _drivers(ctx: Context, ns: argparse.Namespace) -> None:
    """List installed drivers and the operations each supports.

    Without -c, each driver's operations are read from the hook
    implementations of the plugin classes it declares: no connection is
    opened. A driver declaring none is opened read-only on its default URI,
    or listed with '?' for every operation (unknown, not unsupported) if it
    has none. With -c, the connection to that URI is asked: what the driver
    serves there. 'yes' means a hook implementation covers the operation; a
    driver's name ('storage') means that installed secondary driver serves it
    on this driver's connections; 'mutating' operations are refused on
    read-only connections.
    """
    support = probe_drivers(ctx.uri_arg)
    if not support:
        ctx.out("No drivers are installed (none declares a 'virtcore.drivers' entry point).")
        return
    total = len(OPERATIONS)
    rows = []
    for s in support:
        count = f"{len(s.operations)} of {total}" if s.operations is not None else "?"
        rows.append((s.scheme, s.distribution or "?", s.version or "?", count, s.source or "-"))
    ctx.out(*format_table(("Driver", "Distribution", "Version", "Operations", "Source"), rows), "")
    notes = [f"{s.scheme}: {s.note}" for s in support if s.note]
    if notes:
        ctx.out(*notes, "")
    ops = sorted(
        (op, mut) for op, mut in OPERATIONS.items() if ns.kind == "all" or (ns.kind == "mutating") == mut
    )
    matrix = []
    for op, mut in ops:
        cells = [op, "mutating" if mut else "read-only"]
        for s in support:
            cells.append("?" if s.operations is None else (s.served_by(op) or "no"))
        matrix.append(cells)
    ctx.out(*format_table(("Operation", "Kind", *(s.scheme for s in support)), matrix), "")


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script exits with it)."""
    args = list(sys.argv[1:] if argv is None else argv)
    stdout, stderr = sys.stdout, sys.stderr
    ctx: Context | None = None
    try:
        parser = build_parser(args)
        try:
            ns = parse_command_line(parser, args)
        except _ParserExitError as exc:  # --help, --version
            if exc.message:
                print(exc.message.rstrip("\n"), file=stderr)
            return exc.status
        except _UsageError as exc:
            print(f"error: {_one_line(str(exc))}", file=stderr)
            return EXIT_ERROR
        ctx = Context(ns.uri, ns.readonly, stdout, stderr)
        handler: Handler = ns._handler
        status = handler(ctx, ns)
        stdout.flush()
        return EXIT_OK if status is None else int(status)
    except KeyboardInterrupt:
        print("error: interrupted", file=stderr)
        return EXIT_INTERRUPTED
    except VirtError as exc:
        print(f"error: {_one_line(str(exc))}", file=stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader went away (virtcore list | head): stop quietly.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return EXIT_ERROR
    except OSError as exc:
        where = f" '{exc.filename}'" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=stderr)
        return EXIT_ERROR
    except Exception as exc:  # a bug: still one line, the traceback on request
        if os.environ.get(DEBUG_ENV):
            import traceback  # saves ~3 ms on every run: only a crash with the debug variable set prints one

            traceback.print_exc(file=stderr)
        print(
            f"error: internal error: {type(exc).__name__}: {_one_line(str(exc))} "
            f"(set {DEBUG_ENV}=1 for a traceback)",
            file=stderr,
        )
        return EXIT_ERROR
    finally:
        if ctx is not None:
            try:
                ctx.close()
            except Exception:  # closing must not mask the command's outcome
                pass
