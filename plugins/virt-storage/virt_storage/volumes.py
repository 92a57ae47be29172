"""File volumes: the images in a pool's target directory, made and changed through ``qemu-img``.

The directory is the truth: a volume is a regular file in it (whoever made
it), its key and path are its absolute path, and what it holds is what
``qemu-img info`` reports. A volume being made lives under a hidden temporary
name (:data:`TEMP_PREFIX`) until it is complete, then takes its name without
replacing anything: an interrupted create leaves no volume that claims to be
complete, and the leftover is never listed (refresh removes it).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import os
import stat
from collections.abc import Callable

import attrs

from virt_storage import qemuimg
from virt_storage.backends import check_target
from virt_storage.header import quick_probe
from virt_storage.writeback import fill_durably
from virtcore.errors import (
    ArgumentUnsupportedError,
    ErrorDomain,
    InvalidArgError,
    NoStorageVolError,
    OperationFailedError,
    StorageVolExistError,
    SystemError_,
    XMLError,
)
from virtcore.storage import StorageVolInfo, StorageVolType, StorageVolWipeAlgorithm
from virtcore.xml import Permissions
from virtcore.xml.pool import PoolDef
from virtcore.xml.volume import BackingStore, VolumeDef, VolumeTarget, parse_volume

__all__ = [
    "TEMP_PREFIX",
    "FilePool",
    "check_volume_name",
    "claim_temporary",
    "temporary",
]

#: What the hidden name of a volume being made starts with; no volume may be named so.
TEMP_PREFIX = ".virtcore-part-"
_CHUNK = 1 << 20
STORAGE = ErrorDomain.STORAGE


def check_volume_name(name: str, pool: str) -> str:
    """``name`` when it can name a volume (a file) of ``pool``, else ``XMLError`` naming it."""
    what = f"storage volume name {name!r} in pool '{pool}'"
    if not name or "/" in name or "\0" in name or "\n" in name or name in (".", ".."):
        raise XMLError(f"{what}: a volume name cannot be empty, '.', '..' or hold '/', NUL or a newline")
    if name.startswith("-"):
        raise XMLError(f"{what}: a volume name cannot start with '-'")
    if name.startswith(TEMP_PREFIX):
        raise XMLError(f"{what}: names starting with '{TEMP_PREFIX}' are virt-storage's temporaries")
    if len(name.encode()) > 255:
        raise XMLError(f"{what}: longer than 255 bytes")
    return name


def _volume_name(name: str) -> bool:
    """Whether a file called ``name`` can be a volume (a file named ``-x`` made by others cannot)."""
    try:
        check_volume_name(name, "")
    except XMLError:
        return False
    return True


def _available(target: str) -> int:
    st = os.statvfs(target)
    return st.f_bavail * st.f_frsize


@attrs.frozen
class FilePool:
    """The volumes of one active file-based (``dir``, ``fs``) pool."""

    pool: PoolDef

    @functools.cached_property
    def target(self) -> str:
        """The pool's directory, checked (no symbolic link on the way) once per ``FilePool``.

        A ``FilePool`` lives for one operation: the check (a ``realpath``, a ``lstat`` of
        every component) is not repeated at each of the operation's steps.
        """
        return check_target(self.pool)

    @property
    def _what(self) -> str:
        return f"storage pool '{self.pool.name}'"

    # -- finding -------------------------------------------------------------

    def names(self) -> list[str]:
        """The volumes' names: the regular files of the directory, sorted, temporaries left out."""
        try:
            entries = list(os.scandir(self.target))
        except OSError as exc:
            raise SystemError_(f"cannot read {self._what} at '{self.target}': {exc.strerror}") from None
        return sorted(e.name for e in entries if _volume_name(e.name) and e.is_file(follow_symlinks=False))

    def path_of(self, name: str) -> str:
        """The path of the existing volume ``name``; ``NoStorageVolError`` if none."""
        try:
            check_volume_name(name, self.pool.name)
        except XMLError:
            raise NoStorageVolError(f"no storage vol with matching name '{name}'") from None
        path = os.path.join(self.target, name)
        try:
            st = os.lstat(path)
        except OSError:
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            raise NoStorageVolError(f"no storage vol with matching name '{name}' in {self._what}")
        return path

    def owns(self, path: str) -> str | None:
        """The volume name of ``path`` (a path in this pool's directory), if it is a volume here."""
        directory, name = os.path.split(path)
        if directory != self.target:
            return None
        try:
            self.path_of(name)
        except NoStorageVolError:
            return None
        return name

    # -- describing ----------------------------------------------------------

    def info(self, name: str) -> StorageVolInfo:
        """Type, capacity and allocation of volume ``name``."""
        path = self.path_of(name)
        capacity = _format_and_capacity(path, f"storage volume '{name}'")[1]
        return StorageVolInfo(StorageVolType.FILE, capacity, _allocation(path))

    def describe(self, name: str) -> VolumeDef:
        """Volume ``name`` as a model: what the file and ``qemu-img info`` say."""
        path = self.path_of(name)
        image = qemuimg.info(path, f"storage volume '{name}'")
        st = os.stat(path)
        backing = None
        if image.backing is not None:
            backing_path, backing_format = image.backing
            backing = BackingStore(path=backing_path, format=backing_format)
        return VolumeDef(
            name=name,
            type="file",
            key=path,
            capacity=image.capacity,
            allocation=image.allocation,
            physical=st.st_size,
            target=VolumeTarget(
                path=path,
                format=image.format,
                permissions=Permissions(mode=stat.S_IMODE(st.st_mode), owner=st.st_uid, group=st.st_gid),
            ),
            backing_store=backing,
        )

    def capacity(self) -> tuple[int, int, int]:
        """``(capacity, allocation, available)`` of the file system holding the pool (statvfs)."""
        try:
            st = os.statvfs(self.target)
        except OSError as exc:
            raise SystemError_(f"cannot read {self._what} at '{self.target}': {exc.strerror}") from None
        capacity = st.f_blocks * st.f_frsize
        return capacity, capacity - st.f_bfree * st.f_frsize, st.f_bavail * st.f_frsize

    def remove_leftovers(self) -> None:
        """Delete temporaries an interrupted create or upload left behind.

        The caller holds the state lock, so no create is under way; an upload in
        progress holds an ``flock`` on its temporary, which is left alone.
        """
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.target):
                if entry.name.startswith(TEMP_PREFIX) and entry.is_file(follow_symlinks=False):
                    _remove_unclaimed(entry.path)

    # -- making --------------------------------------------------------------

    def parse(self, xml: str, *, require_capacity: bool = True) -> VolumeDef:
        """Parse volume XML for this pool, refusing a name or path that is not a file of it."""
        vol = parse_volume(xml, pool=self.pool, require_capacity=require_capacity)
        check_volume_name(vol.name, self.pool.name)
        path = os.path.join(self.target, vol.name)
        given = vol.target.path if vol.target is not None else None
        if given is not None and os.path.normpath(given) != path:
            raise XMLError(
                f"target path '{given}' of storage volume '{vol.name}' is not '{path}' in {self._what}"
            )
        if os.path.lexists(path):
            raise StorageVolExistError(f"storage volume '{vol.name}' already exists in {self._what}")
        return vol

    def _check_space(self, vol: VolumeDef, needed: int) -> None:
        available = _available(self.target)
        if needed > available:
            raise OperationFailedError(
                f"not enough free space in {self._what} for storage volume '{vol.name}': "
                f"{needed} bytes needed, {available} available"
            )

    def _backing(self, vol: VolumeDef, xml: str) -> tuple[str | None, str | None]:
        """The backing store's path (checked readable) and format (probed when the XML names none)."""
        if vol.backing_store is None or vol.backing_store.path is None:
            return None, None
        path = vol.backing_store.path
        what = f"backing store '{path}' of storage volume '{vol.name}'"
        if not path.startswith("/"):
            raise XMLError(f"{what} must be an absolute path")
        try:
            with open(path, "rb") as fh:
                fh.read(1)
        except OSError as exc:
            raise OperationFailedError(f"{what} is not readable: {exc.strerror or exc}") from None
        declared = parse_volume(xml, require_capacity=False).backing_store
        fmt = declared.format if declared is not None else None
        if fmt is None:
            fmt = _format_and_capacity(path, what)[0]
        return path, fmt

    def create(self, xml: str, *, prealloc_metadata: bool) -> str:
        """Create the volume ``xml`` defines; its name."""
        vol = self.parse(xml)
        backing_path, backing_format = self._backing(vol, xml)
        fmt = vol.target.format if vol.target is not None else "raw"
        raw = qemuimg.qemu_img_format(fmt, f"storage volume '{vol.name}'") == "raw"
        if raw:
            self._check_space(vol, min(vol.allocation or 0, vol.capacity or 0))
        self._check_space(vol, 0)

        def make(tmp: str) -> None:
            qemuimg.run(
                qemuimg.create_argv(
                    vol,
                    tmp,
                    backing_path=backing_path,
                    backing_format=backing_format,
                    prealloc_metadata=prealloc_metadata,
                ),
                f"cannot create storage volume '{vol.name}' in {self._what}",
            )
            if raw and vol.allocation:
                _allocate(tmp, min(vol.allocation, vol.capacity or 0))

        self._publish(vol, make, bulk=False)  # qemu-img create syncs the little it writes
        return vol.name

    def clone(self, xml: str, source_path: str, *, prealloc_metadata: bool) -> str:
        """Create the volume ``xml`` defines holding a copy of the image at ``source_path``; its name.

        The source's format is probed (one ``qemu-img info``); a source on a backing
        chain is copied flattened.
        """
        vol = self.parse(xml, require_capacity=False)
        what = f"storage volume '{vol.name}'"
        source_format, source_capacity = _format_and_capacity(source_path, f"the source of {what}")
        self._check_space(vol, _allocation(source_path))

        def make(tmp: str) -> None:
            qemuimg.run(
                qemuimg.convert_argv(
                    vol, tmp, source_path, source_format, prealloc_metadata=prealloc_metadata
                ),
                f"cannot copy '{source_path}' into {what} in {self._what}",
            )
            if vol.capacity is not None and vol.capacity > source_capacity:
                qemuimg.run(
                    qemuimg.resize_argv(
                        tmp,
                        vol.target.format if vol.target else None,
                        vol.capacity,
                        shrink=False,
                        allocate=False,
                    ),
                    f"cannot grow {what} to {vol.capacity} bytes",
                )

        self._publish(vol, make, bulk=True)  # qemu-img convert syncs nothing
        return vol.name

    def _publish(self, vol: VolumeDef, make: Callable[[str], None], *, bulk: bool) -> None:
        """Run ``make(temporary path)``, set the permissions, then give the file its name.

        The data is on disk before the name is linked (synced after ``make``; with
        ``bulk``, written out while it runs: :func:`~virt_storage.writeback.fill_durably`), and
        the name is on disk before this returns (one sync of the directory, which
        on a journaling file system also commits the permissions set before it).
        """
        final = os.path.join(self.target, vol.name)
        tmp = temporary(self.target)
        try:
            fill_durably(tmp, lambda: make(tmp), early=bulk)
            perms = vol.target.permissions if vol.target is not None else None
            os.chmod(tmp, perms.mode if perms is not None and perms.mode is not None else 0o600)
            if perms is not None and (perms.owner is not None or perms.group is not None):
                os.chown(
                    tmp,
                    perms.owner if perms.owner is not None else -1,
                    perms.group if perms.group is not None else -1,
                )
            _link_no_replace(tmp, final, f"storage volume '{vol.name}' in {self._what}")
        except OSError as exc:
            raise SystemError_(f"cannot create storage volume '{vol.name}': {exc.strerror or exc}") from None
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        # one sync of the directory makes the new name (and the temporary's removal) durable
        _fsync_directory(self.target, f"storage volume '{vol.name}'")

    # -- changing ------------------------------------------------------------

    def delete(self, name: str) -> None:
        """Delete volume ``name``."""
        path = self.path_of(name)
        try:
            os.unlink(path)
        except OSError as exc:
            raise SystemError_(f"cannot delete storage volume '{name}': {exc.strerror}") from None

    def resize(
        self,
        name: str,
        capacity: int,
        *,
        delta: bool,
        allocate: bool,
        shrink: bool,
        before_shrinking: Callable[[], None] | None = None,
    ) -> None:
        """Change the capacity of volume ``name`` (libvirt's flags).

        ``before_shrinking`` is called (and may raise) right before a resize that would
        make the volume smaller.
        """
        path = self.path_of(name)
        what = f"storage volume '{name}'"
        fmt, current = _format_and_capacity(path, what)
        if delta:
            capacity = current - capacity if shrink else current + capacity
        if capacity < 0:
            raise InvalidArgError(f"cannot shrink {what} below 0 bytes")
        if capacity >= 1 << 63:
            raise InvalidArgError(f"capacity {capacity} of {what} overflows")
        if capacity < current and not shrink:
            raise InvalidArgError(f"cannot shrink {what} to {capacity} bytes without the shrink flag")
        if allocate:
            needed = capacity - current
            available = _available(self.target)
            if needed > available:
                raise InvalidArgError(
                    f"not enough free space in {self._what} to allocate {needed} more bytes for {what}: "
                    f"{available} available"
                )
        if capacity == current:
            return
        if capacity < current and before_shrinking is not None:
            before_shrinking()
        qemuimg.run(
            qemuimg.resize_argv(path, fmt, capacity, shrink=capacity < current, allocate=allocate),
            f"cannot resize {what} to {capacity} bytes",
        )

    def wipe(self, name: str, algorithm: int) -> None:
        """Overwrite volume ``name`` with zeros (a raw file in place; another format is made anew, empty)."""
        if algorithm != StorageVolWipeAlgorithm.ZERO:
            try:
                label = StorageVolWipeAlgorithm(algorithm).name.lower()
            except ValueError:
                label = str(algorithm)
            raise ArgumentUnsupportedError(f"wipe algorithm '{label}' is not supported (only zero)")
        path = self.path_of(name)
        what = f"storage volume '{name}'"
        image = qemuimg.info(path, what)
        if image.format == "raw":
            _zero(path, what)
            return
        backing = image.backing
        fresh = VolumeDef(
            name=name,
            capacity=image.capacity,
            target=VolumeTarget(format=image.format),
            backing_store=BackingStore(path=backing[0], format=backing[1]) if backing else None,
        )
        tmp = temporary(self.target)
        try:
            qemuimg.run(qemuimg.create_argv(fresh, tmp), f"cannot wipe {what}")
            st = os.stat(path)
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
            os.chown(tmp, st.st_uid, st.st_gid)
            _fsync(tmp)
            os.replace(tmp, path)
        except OSError as exc:
            raise SystemError_(f"cannot wipe {what}: {exc.strerror or exc}") from None
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        _fsync_directory(self.target, what)


def temporary(directory: str) -> str:
    """A new empty file (0600) in ``directory``, named ``TEMP_PREFIX`` + 16 random hex digits."""
    for _ in range(100):
        path = os.path.join(directory, TEMP_PREFIX + os.urandom(8).hex())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            continue
        except OSError as exc:
            raise SystemError_(f"cannot create a file in '{directory}': {exc.strerror}") from None
        os.close(fd)
        return path
    raise SystemError_(f"cannot create a file in '{directory}': no free temporary name")


def _format_and_capacity(path: str, what: str) -> tuple[str, int]:
    """The image's format and virtual size: from its header when that says, else from qemu-img."""
    found = quick_probe(path)
    if found is not None:
        return found
    image = qemuimg.info(path, what)
    return image.format, image.capacity


def _allocation(path: str) -> int:
    """Bytes the file occupies on disk (what qemu-img calls its actual size)."""
    try:
        return os.stat(path).st_blocks * 512
    except OSError:
        return 0


def claim_temporary(directory: str) -> tuple[int, str]:
    """Like :func:`temporary`, but open for writing and ``flock``-ed: refresh leaves it alone.

    Returns ``(fd, path)``; the claim lasts until ``fd`` is closed.
    """
    while True:
        path = temporary(directory)
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            mine, there = os.fstat(fd), os.stat(path)
            if (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino):
                return fd, path
        except OSError:
            pass  # a refresh got to it first: it removes it; take another name
        os.close(fd)


def _remove_unclaimed(path: str) -> None:
    """Delete the temporary at ``path`` unless someone holds a claim on it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        mine, there = os.fstat(fd), os.stat(path)
        if (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino):
            os.unlink(path)
    except OSError:
        pass  # claimed (an upload in progress), or already gone
    finally:
        os.close(fd)


def _allocate(path: str, size: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        if size:
            os.posix_fallocate(fd, 0, size)
    finally:
        os.close(fd)


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(directory: str, what: str) -> None:
    """Sync ``directory``: names linked, renamed or removed in it are on disk when this returns."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise SystemError_(
            f"{what} is in place but its directory '{directory}' cannot be synced: {exc.strerror or exc}"
        ) from None


def _link_no_replace(tmp: str, final: str, what: str) -> None:
    """Give ``tmp`` (data already fsynced) the name ``final`` unless something already has it.

    A hard link, then the caller unlinks ``tmp``; a rename where links are not supported.
    """
    try:
        os.link(tmp, final)
    except FileExistsError:
        raise StorageVolExistError(f"{what} already exists") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        # a file system without hard links (vfat): checked, then renamed under the state lock
        if os.path.lexists(final):
            raise StorageVolExistError(f"{what} already exists") from None
        os.rename(tmp, final)
    # The data is synced before the link and the directory after it (by the caller), so
    # after a host crash the name is never there over half the data.


def _zero(path: str, what: str) -> None:
    """Write zeros over the whole file, a chunk at a time."""
    zeros = bytes(_CHUNK)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError as exc:
        raise SystemError_(f"cannot wipe {what}: {exc.strerror}") from None
    try:
        size = os.fstat(fd).st_size
        done = 0
        while done < size:
            done += os.write(fd, zeros[: min(_CHUNK, size - done)])
        os.fsync(fd)
    except OSError as exc:
        raise SystemError_(f"cannot wipe {what}: {exc.strerror}") from None
    finally:
        os.close(fd)
