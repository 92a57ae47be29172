"""The storage commands of the ``virtcore`` command line: virsh's ``pool-*`` and ``vol-*``.

Registered with :func:`virtcore.cli.command` like every other command (this
module is listed in :data:`virtcore.cli.COMMAND_MODULES`). Output follows
virsh: tables for ``pool-list`` and ``vol-list``, ``Label:`` lines with
virsh's units for ``pool-info`` and ``vol-info`` (``Capacity:       1.00
GiB``), and virsh's messages (``Pool images started``, ``Vol a.img created``).

A ``POOL`` argument is a pool's UUID or name. A ``VOL`` argument is found as
virsh finds it: by name in the pool given with ``--pool``, else as a key,
else as a path.
"""

from __future__ import annotations

import argparse
import os
import stat
from typing import TYPE_CHECKING, BinaryIO

from virtcore.cli import Context, arg, command, format_table, looks_like_uuid, scaled_integer
from virtcore.errors import (
    InvalidArgError,
    NoStoragePoolError,
    NoStorageVolError,
    NoSupportError,
    ReadFailedError,
    SystemError_,
)
from virtcore.progressbar import ProgressBar, pretty_capacity
from virtcore.storage import (
    StoragePool,
    StoragePoolState,
    StorageVolType,
    StorageVolume,
    StorageVolWipeAlgorithm,
)

if TYPE_CHECKING:
    from virtcore.connection import Connection

__all__ = [
    "POOL",
    "VOL",
    "VOL_POOL",
    "lookup_pool",
    "lookup_volume",
    "parse_bytes",
]

#: The pool positional of pool commands.
POOL = arg("pool", metavar="POOL", help="pool name or UUID")
#: The volume positional of volume commands.
VOL = arg("vol", metavar="VOL", help="volume name (with --pool), key or path")
#: ``--pool``, which lets ``VOL`` be a volume name.
VOL_POOL = arg("--pool", metavar="POOL", help="pool name or UUID holding VOL (needed when VOL is a name)")

_MAX_BYTES = (1 << 64) - 1


# ---------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------


def parse_bytes(text: str, what: str) -> int:
    """A byte count from virsh's scaled integers: ``"1073741824"``, ``"512M"``, ``"10G"``, ``"1T"``.

    A plain number is bytes; ``K``/``M``/``G``/``T``/``P``/``E`` (and ``KiB``...)
    are powers of 1024, ``KB``/``MB``... powers of 1000.

    :raises InvalidArgError: naming ``what`` and the text, for anything else
        or a size beyond 2**64-1 bytes.
    """
    size = scaled_integer(text, 1)
    if size is None:
        raise InvalidArgError(
            f"invalid {what} {text!r}: expected a number of bytes or a number with a unit (512M, 10G, 1T)"
        )
    if size > _MAX_BYTES:
        raise InvalidArgError(f"invalid {what} {text!r}: more than 2**64-1 bytes")
    return size


def lookup_pool(conn: Connection, text: str) -> StoragePool:
    """A pool by UUID (if ``text`` looks like one), else by name, as virsh finds it.

    :raises NoStoragePoolError: when neither matches (the driver's message names ``text``).
    """
    if looks_like_uuid(text):
        try:
            return conn.lookup_storage_pool_by_uuid(text)
        except (NoStoragePoolError, NoSupportError):
            pass
    return conn.lookup_storage_pool(text)


def lookup_volume(conn: Connection, text: str, pool: str | None) -> StorageVolume:
    """A volume as virsh finds it: by name in ``pool`` (if given), else by key, else by path.

    :raises NoStorageVolError: ``failed to get vol 'x'`` (suggesting ``--pool``
        when none was given) if nothing matches.
    :raises InvalidArgError: the volume found by key or path is in another pool than ``pool``.
    """
    found: StorageVolume | None = None
    in_pool = lookup_pool(conn, pool) if pool is not None else None
    if in_pool is not None and "/" not in text:  # a name never holds '/': that is a key or a path
        try:
            found = in_pool.lookup_volume(text)
        except NoStorageVolError:
            pass
    if found is None:
        try:
            found = conn.lookup_storage_volume_by_key(text)
        except NoStorageVolError:
            pass
    if found is None and "\0" not in text:
        try:
            found = conn.lookup_storage_volume_by_path(text)
        except NoStorageVolError:
            pass
    if found is None:
        hint = "" if in_pool is not None else ", specifying --pool might help"
        raise NoStorageVolError(f"failed to get vol '{text}'{hint}")
    if in_pool is not None and found.pool_name != in_pool.name:
        raise InvalidArgError(f"volume '{text}' is in pool '{found.pool_name}', not in pool '{in_pool.name}'")
    return found


def _pool(ctx: Context, ns: argparse.Namespace) -> StoragePool:
    return lookup_pool(ctx.conn, ns.pool)


def _vol(ctx: Context, ns: argparse.Namespace) -> StorageVolume:
    return lookup_volume(ctx.conn, ns.vol, ns.pool)


# ---------------------------------------------------------------------------
# virsh's words
# ---------------------------------------------------------------------------

_POOL_STATES = {
    StoragePoolState.INACTIVE: "inactive",
    StoragePoolState.BUILDING: "building",
    StoragePoolState.RUNNING: "running",
    StoragePoolState.DEGRADED: "degraded",
    StoragePoolState.INACCESSIBLE: "inaccessible",
}
#: States in which a pool reports its sizes.
_SIZED = (StoragePoolState.RUNNING, StoragePoolState.DEGRADED)


def _pool_state(state: int) -> str:
    try:
        return _POOL_STATES[StoragePoolState(state)]
    except ValueError:
        return "unknown"


def _vol_type(kind: int) -> str:
    try:
        return StorageVolType(kind).name.lower()
    except ValueError:
        return "unknown"


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _size(size: int, in_bytes: bool) -> str:
    return str(size) if in_bytes else pretty_capacity(size)


def _info_lines(rows: list[tuple[str, str]]) -> list[str]:
    return [f"{label:<15} {value}" for label, value in rows]


# ---------------------------------------------------------------------------
# Pools
# ---------------------------------------------------------------------------


@command(
    "pool-list",
    arg("--all", action="store_true", help="list active and inactive pools"),
    arg("--inactive", action="store_true", help="list inactive pools only"),
    arg("--details", action="store_true", help="also show persistence and sizes"),
    arg("--name", action="store_true", help="print only names, one per line"),
    arg("--uuid", action="store_true", help="print only UUIDs, one per line"),
)
def _pool_list(ctx: Context, ns: argparse.Namespace) -> None:
    """List storage pools (active ones unless --all or --inactive)."""
    if ns.all and ns.inactive:
        raise InvalidArgError("options --all and --inactive are mutually exclusive")
    if ns.details and (ns.name or ns.uuid):
        raise InvalidArgError("option --details cannot be combined with --name or --uuid")
    active: bool | None = False if ns.inactive else (None if ns.all else True)
    pools = sorted(ctx.conn.list_storage_pools(active=active), key=lambda p: (p.name.lower(), p.name))
    if ns.name or ns.uuid:
        for pool in pools:
            ctx.out(" ".join(x for x, on in ((pool.uuid, ns.uuid), (pool.name, ns.name)) if on))
        return
    rows: list[list[str]] = []
    for pool in pools:
        try:
            autostart = _yes_no(pool.autostart)
        except NoSupportError:
            autostart = "no autostart"
        except NoStoragePoolError:  # undefined while listing
            continue
        info = pool.info()
        if not ns.details:
            state = "inactive" if info.state == StoragePoolState.INACTIVE else "active"
            rows.append([pool.name, state, autostart])
            continue
        sizes = (
            [
                pretty_capacity(info.capacity),
                pretty_capacity(info.allocation),
                pretty_capacity(info.available),
            ]
            if info.state in _SIZED
            else ["-", "-", "-"]
        )
        rows.append([pool.name, _pool_state(info.state), autostart, _yes_no(pool.is_persistent()), *sizes])
    header = ["Name", "State", "Autostart"]
    if ns.details:
        header += ["Persistent", "Capacity", "Allocation", "Available"]
    ctx.out(*format_table(header, rows), "")


@command("pool-info", POOL, arg("--bytes", action="store_true", help="print sizes in bytes"))
def _pool_info(ctx: Context, ns: argparse.Namespace) -> None:
    """Print basic information about a storage pool."""
    pool = _pool(ctx, ns)
    info = pool.info()
    try:
        autostart = _yes_no(pool.autostart)
    except NoSupportError:
        autostart = "no autostart"
    try:
        persistent = _yes_no(pool.is_persistent())
    except NoSupportError:
        persistent = "unknown"
    rows = [
        ("Name:", pool.name),
        ("UUID:", pool.uuid),
        ("State:", _pool_state(info.state)),
        ("Persistent:", persistent),
        ("Autostart:", autostart),
    ]
    if info.state in _SIZED:
        rows += [
            ("Capacity:", _size(info.capacity, ns.bytes)),
            ("Allocation:", _size(info.allocation, ns.bytes)),
            ("Available:", _size(info.available, ns.bytes)),
        ]
    ctx.out(*_info_lines(rows), "")


@command(
    "pool-dumpxml",
    POOL,
    arg("--inactive", action="store_true", help="print the persistent definition, not the live one"),
)
def _pool_dumpxml(ctx: Context, ns: argparse.Namespace) -> None:
    """Print a storage pool's XML description."""
    ctx.out(_pool(ctx, ns).xml_desc(inactive=ns.inactive).rstrip("\n"))


@command("pool-define", arg("file", metavar="FILE", help="pool XML file ('-' for stdin)"))
def _pool_define(ctx: Context, ns: argparse.Namespace) -> None:
    """Define (but do not build or start) a persistent storage pool from an XML file."""
    xml = ctx.read_text(ns.file, "pool XML file")
    pool = ctx.conn.define_storage_pool(xml)
    ctx.out(f"Pool {pool.name} defined from {ns.file}", "")


@command(
    "pool-create",
    arg("file", metavar="FILE", help="pool XML file ('-' for stdin)"),
    arg("--build", action="store_true", help="build the pool before starting it"),
)
def _pool_create(ctx: Context, ns: argparse.Namespace) -> None:
    """Create and start a transient storage pool from an XML file."""
    xml = ctx.read_text(ns.file, "pool XML file")
    pool = ctx.conn.create_storage_pool(xml, build=ns.build)
    ctx.out(f"Pool {pool.name} created from {ns.file}", "")


@command(
    "pool-build",
    POOL,
    arg("--overwrite", action="store_true", help="build even over existing data"),
    arg("--no-overwrite", action="store_true", help="refuse to build over existing data"),
)
def _pool_build(ctx: Context, ns: argparse.Namespace) -> None:
    """Build a storage pool: make its directory, filesystem or volume group on the host."""
    if ns.overwrite and ns.no_overwrite:
        raise InvalidArgError("options --overwrite and --no-overwrite are mutually exclusive")
    pool = _pool(ctx, ns)
    pool.build(overwrite=True if ns.overwrite else (False if ns.no_overwrite else None))
    ctx.out(f"Pool {pool.name} built", "")


def _pool_action(name: str, method: str, message: str, summary: str) -> None:
    """Register ``name POOL``: call ``method`` on the pool, print ``message``."""

    def handler(ctx: Context, ns: argparse.Namespace) -> None:
        pool = _pool(ctx, ns)
        getattr(pool, method)()
        ctx.out(message.format(name=pool.name), "")

    handler.__doc__ = summary
    handler.__name__ = f"_pool_{method}"
    command(name, POOL)(handler)


_pool_action(
    "pool-start", "start", "Pool {name} started", "Start (activate) a defined, inactive storage pool."
)
_pool_action("pool-destroy", "destroy", "Pool {name} destroyed", "Stop a storage pool; its data stays.")
_pool_action(
    "pool-delete", "delete", "Pool {name} deleted", "Delete what pool-build made for an inactive pool."
)
_pool_action(
    "pool-undefine",
    "undefine",
    "Pool {name} has been undefined",
    "Remove an inactive storage pool's persistent definition.",
)
_pool_action(
    "pool-refresh", "refresh", "Pool {name} refreshed", "Rescan a pool for volumes made or removed outside."
)


@command(
    "pool-autostart", POOL, arg("--disable", action="store_true", help="stop starting the pool with the host")
)
def _pool_autostart(ctx: Context, ns: argparse.Namespace) -> None:
    """Mark a storage pool to start with the host (or not, with --disable)."""
    pool = _pool(ctx, ns)
    pool.autostart = not ns.disable
    verb = "unmarked" if ns.disable else "marked"
    ctx.out(f"Pool {pool.name} {verb} as autostarted", "")


# ---------------------------------------------------------------------------
# Volumes: creating
# ---------------------------------------------------------------------------

_PREALLOC = arg(
    "--prealloc-metadata", action="store_true", help="preallocate metadata (qcow2) instead of full allocation"
)


@command(
    "vol-create",
    POOL,
    arg("file", metavar="FILE", help="volume XML file ('-' for stdin)"),
    _PREALLOC,
)
def _vol_create(ctx: Context, ns: argparse.Namespace) -> None:
    """Create a volume in a pool from an XML file."""
    xml = ctx.read_text(ns.file, "volume XML file")
    vol = _pool(ctx, ns).create_volume(xml, prealloc_metadata=ns.prealloc_metadata)
    ctx.out(f"Vol {vol.name} created from {ns.file}", "")


@command(
    "vol-create-as",
    POOL,
    arg("name", metavar="NAME", help="the new volume's name"),
    arg("capacity", metavar="CAPACITY", help="size: bytes, or with a unit (10G, 512M, 1T)"),
    arg("--allocation", metavar="SIZE", help="initial allocation: bytes, or with a unit"),
    arg("--format", metavar="FORMAT", help="image format: raw, qcow2, qed, vmdk..."),
    arg(
        "--backing-vol", metavar="VOL", help="the volume (name in POOL, key or path) to layer the new one on"
    ),
    arg("--backing-vol-format", metavar="FORMAT", help="the backing volume's format"),
    _PREALLOC,
    arg("--print-xml", action="store_true", help="print the volume XML instead of creating the volume"),
)
def _vol_create_as(ctx: Context, ns: argparse.Namespace) -> None:
    """Create a volume from a name, a capacity and options (the XML is made for you)."""
    from virtcore.xml.volume import BackingStore, VolumeDef, VolumeTarget  # saves ~170 ms (lxml, the model)

    capacity = parse_bytes(ns.capacity, "capacity")
    allocation = parse_bytes(ns.allocation, "allocation") if ns.allocation is not None else None
    if ns.backing_vol_format is not None and ns.backing_vol is None:
        raise InvalidArgError("option --backing-vol-format needs --backing-vol")
    pool = _pool(ctx, ns)
    backing = None
    if ns.backing_vol is not None:
        base = _backing_volume(ctx, pool, ns.backing_vol)
        backing = BackingStore(path=base.path, format=ns.backing_vol_format)
    definition = VolumeDef(
        name=ns.name,
        capacity=capacity,
        allocation=allocation,
        target=VolumeTarget(format=ns.format) if ns.format is not None else None,
        backing_store=backing,
    )
    xml = definition.to_xml()
    if ns.print_xml:
        ctx.out(xml)
        return
    vol = pool.create_volume(xml, prealloc_metadata=ns.prealloc_metadata)
    ctx.out(f"Vol {vol.name} created", "")


def _backing_volume(ctx: Context, pool: StoragePool, text: str) -> StorageVolume:
    """The backing volume named by ``--backing-vol``: a name in ``pool``, a key or a path."""
    try:
        return pool.lookup_volume(text)
    except NoStorageVolError:
        return lookup_volume(ctx.conn, text, None)


@command(
    "vol-clone",
    VOL,
    arg("newname", metavar="NEWNAME", help="the clone's name"),
    VOL_POOL,
    _PREALLOC,
)
def _vol_clone(ctx: Context, ns: argparse.Namespace) -> None:
    """Clone a volume into a new one in the same pool."""
    import attrs  # keeps attrs (the model's base) off every other command's path

    from virtcore.xml.volume import parse_volume  # saves ~170 ms (lxml, the model)

    source = _vol(ctx, ns)
    pool = source.pool()
    original = parse_volume(source.xml_desc())
    target = original.target
    clone = attrs.evolve(
        original,
        name=ns.newname,
        key=None,
        target=attrs.evolve(target, path=None) if target is not None else None,
    )
    xml = clone.to_xml()

    def work() -> StorageVolume:
        return pool.create_volume_from(xml, source, prealloc_metadata=ns.prealloc_metadata)

    bar = ProgressBar.on_terminal(ctx.stderr, f"Cloning vol {source.name}")
    if bar is None:
        vol = work()
    else:
        try:
            vol = bar.while_running(work)
            size = source.info().capacity
            bar.update(size, size)
        finally:
            bar.finish()
    ctx.out(f"Vol {vol.name} cloned from {source.name}", "")


# ---------------------------------------------------------------------------
# Volumes: inspecting
# ---------------------------------------------------------------------------


@command("vol-list", POOL, arg("--details", action="store_true", help="also show type and sizes"))
def _vol_list(ctx: Context, ns: argparse.Namespace) -> None:
    """List the volumes of a storage pool."""
    vols = sorted(_pool(ctx, ns).list_volumes(), key=lambda v: (v.name.lower(), v.name))
    rows = []
    for vol in vols:
        row = [vol.name, vol.path]
        if ns.details:
            info = vol.info()
            row += [_vol_type(info.type), pretty_capacity(info.capacity), pretty_capacity(info.allocation)]
        rows.append(row)
    header = ["Name", "Path"] + (["Type", "Capacity", "Allocation"] if ns.details else [])
    ctx.out(*format_table(header, rows), "")


@command("vol-info", VOL, VOL_POOL, arg("--bytes", action="store_true", help="print sizes in bytes"))
def _vol_info(ctx: Context, ns: argparse.Namespace) -> None:
    """Print basic information about a volume."""
    vol = _vol(ctx, ns)
    info = vol.info()
    rows = [
        ("Name:", vol.name),
        ("Type:", _vol_type(info.type)),
        ("Capacity:", _size(info.capacity, ns.bytes)),
        ("Allocation:", _size(info.allocation, ns.bytes)),
    ]
    ctx.out(*_info_lines(rows), "")


@command("vol-dumpxml", VOL, VOL_POOL)
def _vol_dumpxml(ctx: Context, ns: argparse.Namespace) -> None:
    """Print a volume's XML description."""
    ctx.out(_vol(ctx, ns).xml_desc().rstrip("\n"))


@command("vol-path", VOL, VOL_POOL)
def _vol_path(ctx: Context, ns: argparse.Namespace) -> None:
    """Print a volume's path."""
    ctx.out(_vol(ctx, ns).path, "")


@command("vol-key", VOL, VOL_POOL)
def _vol_key(ctx: Context, ns: argparse.Namespace) -> None:
    """Print a volume's key."""
    ctx.out(_vol(ctx, ns).key, "")


@command("vol-name", VOL, VOL_POOL)
def _vol_name(ctx: Context, ns: argparse.Namespace) -> None:
    """Print a volume's name (VOL given as a key or path)."""
    ctx.out(_vol(ctx, ns).name, "")


@command("vol-pool", VOL, VOL_POOL, arg("--uuid", action="store_true", help="print the pool's UUID"))
def _vol_pool(ctx: Context, ns: argparse.Namespace) -> None:
    """Print the name (or UUID) of the pool holding a volume."""
    vol = _vol(ctx, ns)
    ctx.out(vol.pool().uuid if ns.uuid else vol.pool_name, "")


# ---------------------------------------------------------------------------
# Volumes: changing
# ---------------------------------------------------------------------------


@command("vol-delete", VOL, VOL_POOL)
def _vol_delete(ctx: Context, ns: argparse.Namespace) -> None:
    """Delete a volume and its data."""
    vol = _vol(ctx, ns)
    vol.delete()
    ctx.out(f"Vol {vol.name} deleted", "")


_ALGORITHMS = {a.name.lower(): a for a in StorageVolWipeAlgorithm}


@command(
    "vol-wipe",
    VOL,
    VOL_POOL,
    arg("--algorithm", metavar="ALG", help=f"wiping pattern: {', '.join(_ALGORITHMS)} (default zero)"),
)
def _vol_wipe(ctx: Context, ns: argparse.Namespace) -> None:
    """Overwrite a volume's data so that earlier content cannot be read."""
    algorithm = StorageVolWipeAlgorithm.ZERO
    if ns.algorithm is not None:
        if ns.algorithm not in _ALGORITHMS:
            raise InvalidArgError(
                f"unsupported wipe algorithm '{ns.algorithm}' (expected one of {', '.join(_ALGORITHMS)})"
            )
        algorithm = _ALGORITHMS[ns.algorithm]
    vol = _vol(ctx, ns)
    vol.wipe(algorithm)
    ctx.out(f"Vol {vol.name} wiped", "")


@command(
    "vol-resize",
    VOL,
    arg(
        "capacity",
        metavar="CAPACITY",
        help="new size (or change, with --delta): bytes, or with a unit; a negative one follows --",
    ),
    VOL_POOL,
    arg("--delta", action="store_true", help="CAPACITY is a change of the current size"),
    arg(
        "--shrink", action="store_true", help="allow the volume to shrink (a negative CAPACITY with --delta)"
    ),
    arg("--allocate", action="store_true", help="allocate the new space instead of leaving it sparse"),
)
def _vol_resize(ctx: Context, ns: argparse.Namespace) -> None:
    """Change a volume's capacity."""
    text = ns.capacity.strip()
    if text.startswith("-"):  # virsh's convenience: a shrinking delta may be written negative
        if not (ns.delta and ns.shrink):
            raise InvalidArgError(f"negative size '{ns.capacity}' requires --delta and --shrink")
        text = text[1:]
    capacity = parse_bytes(text, "capacity")
    vol = _vol(ctx, ns)
    vol.resize(capacity, delta=ns.delta, allocate=ns.allocate, shrink=ns.shrink)
    how = "by" if ns.delta else "to"
    ctx.out(f"Size of volume '{vol.name}' successfully changed {how} {text}", "")


_OFFSET = arg("--offset", metavar="BYTES", default="0", help="where in the volume to start")
_LENGTH = arg("--length", metavar="BYTES", default="0", help="how many bytes to move (default: all)")


@command(
    "vol-upload",
    VOL,
    arg("file", metavar="FILE", help="the file whose bytes go into the volume"),
    VOL_POOL,
    _OFFSET,
    _LENGTH,
)
def _vol_upload(ctx: Context, ns: argparse.Namespace) -> None:
    """Write a file's contents into a volume (a progress bar on a terminal)."""
    offset, length = parse_bytes(ns.offset, "offset"), parse_bytes(ns.length, "length")
    vol = _vol(ctx, ns)
    try:
        source = open(ns.file, "rb")  # noqa: SIM115 - closed below, after the bar
    except OSError as exc:
        raise ReadFailedError(f"upload source '{ns.file}': {exc.strerror or exc}") from None
    bar = ProgressBar.on_terminal(ctx.stderr, f"Uploading {ns.file} to vol {vol.name}")
    try:
        vol.upload(source, offset=offset, length=length, progress=bar.update if bar else None)
    finally:
        source.close()
        if bar is not None:
            bar.finish()


@command(
    "vol-download",
    VOL,
    arg("file", metavar="FILE", help="where to write the volume's bytes"),
    VOL_POOL,
    _OFFSET,
    _LENGTH,
)
def _vol_download(ctx: Context, ns: argparse.Namespace) -> None:
    """Write a volume's contents into a file (a progress bar on a terminal).

    A regular FILE is written whole or not at all: the data goes to a
    temporary file next to it, renamed over FILE when complete.
    """
    offset, length = parse_bytes(ns.offset, "offset"), parse_bytes(ns.length, "length")
    vol = _vol(ctx, ns)
    bar = ProgressBar.on_terminal(ctx.stderr, f"Downloading vol {vol.name} to {ns.file}")
    try:
        with _OutputFile(ns.file) as target:
            vol.download(target, offset=offset, length=length, progress=bar.update if bar else None)
    finally:
        if bar is not None:
            bar.finish()


class _OutputFile:
    """A file written whole or not at all (a temporary beside it, synced and renamed on success).

    A file it replaces keeps its permission bits; a new one gets the umask's.
    Something that is not a regular file (``/dev/null``, a pipe) is written in place.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._tmp: str | None = None
        self._fh: BinaryIO | None = None
        self._mode: int | None = None

    def __enter__(self) -> BinaryIO:
        try:
            st = os.stat(self.path)
            in_place = not stat.S_ISREG(st.st_mode)
            self._mode = stat.S_IMODE(st.st_mode)
        except FileNotFoundError:
            in_place = False
        except OSError as exc:
            raise SystemError_(f"download target '{self.path}': {exc.strerror or exc}") from None
        try:
            if in_place:
                self._fh = open(self.path, "wb")
            else:
                import tempfile  # keeps tempfile (random, shutil) off every other command's path

                where = os.path.dirname(os.path.abspath(self.path))
                fd, self._tmp = tempfile.mkstemp(dir=where, prefix=".virtcore-download-")
                self._fh = os.fdopen(fd, "wb")
        except OSError as exc:
            raise SystemError_(f"download target '{self.path}': {exc.strerror or exc}") from None
        return self._fh

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        assert self._fh is not None
        try:
            if self._tmp is not None and kind is None:
                self._fh.flush()
                os.fsync(self._fh.fileno())
            self._fh.close()
            if self._tmp is not None and kind is None:
                os.chmod(self._tmp, self._mode if self._mode is not None else 0o666 & ~_umask())
                os.replace(self._tmp, self.path)
                self._tmp = None
        except OSError as err:
            if kind is None:
                raise SystemError_(f"download target '{self.path}': {err.strerror or err}") from None
        finally:
            if self._tmp is not None:
                try:
                    os.unlink(self._tmp)
                except OSError:
                    pass


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
