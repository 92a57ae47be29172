"""Pool types: how each one is built, started, stopped and deleted on the host.

* ``dir``: the target directory. Build makes it (with the definition's mode
  and owner); a target that is, or passes through, a symbolic link to
  elsewhere is refused.
* ``fs``: a block device or image file holding a file system, mounted on the
  target. Build runs ``mkfs`` for the definition's format; start mounts it,
  destroy unmounts it.

Other types are refused with ``ConfigUnsupportedError`` naming the type;
``logical`` among them: its volumes are device-mapper devices, and the kernels
this driver is tested on (containers) offer no device-mapper, so LVM volume
groups can be made but no logical volume activated. Tools are run with
fixed options, ``--`` before any operand, and absolute paths only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

from virtcore.errors import (
    ConfigUnsupportedError,
    ErrorDomain,
    OperationFailedError,
    ResourceBusyError,
    StoragePoolBuiltError,
    SystemError_,
)
from virtcore.xml.pool import PoolDef

__all__ = ["SUPPORTED_TYPES", "Backend", "backend_for", "check_target", "target_of"]

STORAGE = ErrorDomain.STORAGE

#: ``fs`` pool formats and the tool that makes each (``auto`` cannot be built, only mounted).
_MKFS: dict[str, str] = {
    "ext2": "mkfs.ext2",
    "ext3": "mkfs.ext3",
    "ext4": "mkfs.ext4",
    "xfs": "mkfs.xfs",
    "vfat": "mkfs.vfat",
}
#: What ``mount -t`` gets per format (``auto``: let mount probe).
_MOUNTABLE = frozenset({*_MKFS, "auto", "iso9660", "udf"})
#: libvirt's default permissions of a directory it builds for a pool.
_DEFAULT_MODE = 0o711


def _what(pool: PoolDef) -> str:
    return f"storage pool '{pool.name}'"


def target_of(pool: PoolDef) -> str:
    """The pool's target directory (absolute, normalized)."""
    path = pool.target.path if pool.target is not None else None
    if not path or not path.startswith("/"):
        raise ConfigUnsupportedError(f"{_what(pool)} needs an absolute <target><path>", domain=STORAGE)
    return os.path.normpath(path)


def check_target(pool: PoolDef) -> str:
    """The target, refusing one that is, or passes through, a symbolic link to elsewhere.

    :raises OperationFailedError: the target resolves to another path (naming both).
    """
    target = target_of(pool)
    real = os.path.realpath(target)
    if real != target:
        raise OperationFailedError(
            f"target path '{target}' of {_what(pool)} is a symbolic link to '{real}': refused"
        )
    return target


def _run(argv: Sequence[str], what: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which(argv[0])
    if tool is None:
        raise OperationFailedError(f"{what}: {argv[0]} is not installed")
    try:
        return subprocess.run(
            [tool, *argv[1:]],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "LC_ALL": "C"},
            check=False,
        )
    except OSError as exc:
        raise OperationFailedError(f"{what}: cannot run {argv[0]}: {exc.strerror or exc}") from None


def _check(proc: subprocess.CompletedProcess[str], what: str) -> None:
    if proc.returncode != 0:
        detail = " ".join((proc.stderr or proc.stdout).split()) or f"exit status {proc.returncode}"
        raise OperationFailedError(f"{what}: {detail}")


class Backend:
    """A ``dir`` pool: a directory on the host. Subclasses add what lies under the directory."""

    def check(self, pool: PoolDef) -> None:
        """Refuse a definition this backend cannot serve (at define time, before anything is written)."""
        target_of(pool)

    def build(self, pool: PoolDef, overwrite: bool | None) -> None:
        """Make the target directory (and its parents) with the definition's permissions."""
        del overwrite
        target = check_target(pool)
        perms = pool.target.permissions if pool.target is not None else None
        mode = perms.mode if perms is not None and perms.mode is not None else _DEFAULT_MODE
        try:
            os.makedirs(target, mode=mode, exist_ok=True)
            check_target(pool)  # nothing swapped a link in meanwhile
            if not os.path.isdir(target):
                raise OperationFailedError(f"target path '{target}' of {_what(pool)} is not a directory")
            os.chmod(target, mode)
            if perms is not None and (perms.owner is not None or perms.group is not None):
                os.chown(
                    target,
                    perms.owner if perms.owner is not None else -1,
                    perms.group if perms.group is not None else -1,
                )
        except OSError as exc:
            raise SystemError_(f"cannot build {_what(pool)} at '{target}': {exc.strerror or exc}") from None

    def start(self, pool: PoolDef) -> None:
        """Check that the target directory is there."""
        target = check_target(pool)
        if not os.path.isdir(target):
            raise OperationFailedError(
                f"cannot start {_what(pool)}: target path '{target}' is not a directory "
                "(build the pool first)"
            )

    def stop(self, pool: PoolDef) -> None:
        """Nothing to undo for a directory."""

    def delete(self, pool: PoolDef) -> None:
        """Remove the target directory, which must be empty."""
        target = check_target(pool)
        try:
            os.rmdir(target)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise OperationFailedError(
                f"cannot delete {_what(pool)}: '{target}': {exc.strerror or exc}"
            ) from None


class FsBackend(Backend):
    """An ``fs`` pool: a file system on a block device or image file, mounted on the target."""

    @staticmethod
    def _source(pool: PoolDef) -> tuple[str, str]:
        what = _what(pool)
        devices = pool.source.devices
        if len(devices) != 1 or not devices[0].path or not devices[0].path.startswith("/"):
            raise ConfigUnsupportedError(
                f"{what} needs one <source><device path=...> (absolute)", domain=STORAGE
            )
        fmt = pool.source.format or "auto"
        if fmt not in _MOUNTABLE:
            raise ConfigUnsupportedError(
                f"file system format '{fmt}' of {what} is not supported", domain=STORAGE
            )
        return os.path.normpath(devices[0].path), fmt

    @staticmethod
    def _probe(device: str, what: str) -> str | None:
        """The file system type ``blkid`` finds on ``device``, if any."""
        proc = _run(["blkid", "-p", "-s", "TYPE", "-o", "value", "--", device], what)
        if proc.returncode == 2:  # nothing found
            return None
        _check(proc, f"{what}: cannot probe '{device}'")
        return proc.stdout.strip() or None

    def check(self, pool: PoolDef) -> None:
        """A target, and one absolute source device of a format it can mount."""
        super().check(pool)
        self._source(pool)

    def build(self, pool: PoolDef, overwrite: bool | None) -> None:
        """Make the target directory, then the file system (``overwrite``: even over existing data)."""
        device, fmt = self._source(pool)
        what = _what(pool)
        if fmt not in _MKFS:
            raise ConfigUnsupportedError(f"cannot build {what}: format '{fmt}' has no mkfs", domain=STORAGE)
        if not os.path.exists(device):
            raise OperationFailedError(f"cannot build {what}: source '{device}' does not exist")
        super().build(pool, overwrite)
        if not overwrite:
            found = self._probe(device, what)
            if found is not None:
                raise StoragePoolBuiltError(
                    f"cannot build {what}: source '{device}' already holds a {found} file system "
                    "(build with overwrite to replace it)"
                )
        force = ["-F"] if fmt.startswith("ext") else ["-f"] if fmt == "xfs" else []
        _check(_run([_MKFS[fmt], "-q", *force, "--", device], what), f"cannot build {what}: mkfs failed")

    def start(self, pool: PoolDef) -> None:
        """Mount the source on the target."""
        super().start(pool)
        device, fmt = self._source(pool)
        target = check_target(pool)
        what = _what(pool)
        if os.path.ismount(target):
            raise OperationFailedError(f"cannot start {what}: '{target}' is already a mount point")
        options = ["nodev", "nosuid"]
        if os.path.isfile(device):
            options.append("loop")
        if pool.mount_opts is not None:
            options += [o.name for o in pool.mount_opts.options if o.name]
        argv = ["mount", "-o", ",".join(options)]
        if fmt != "auto":
            argv += ["-t", fmt]
        _check(_run([*argv, "--", device, target], what), f"cannot start {what}: mount failed")

    def stop(self, pool: PoolDef) -> None:
        """Unmount the target."""
        target = check_target(pool)
        what = _what(pool)
        if not os.path.ismount(target):
            return
        proc = _run(["umount", "--", target], what)
        if proc.returncode != 0:
            detail = " ".join(proc.stderr.split())
            if "busy" in detail:
                raise ResourceBusyError(f"cannot stop {what}: '{target}' is busy: {detail}")
            _check(proc, f"cannot stop {what}: umount failed")

    def delete(self, pool: PoolDef) -> None:
        """Remove the target directory (the file system on the source stays)."""
        super().delete(pool)


_BACKENDS: dict[str, Backend] = {"dir": Backend(), "fs": FsBackend()}
#: The pool types this driver serves.
SUPPORTED_TYPES = frozenset(_BACKENDS)


def backend_for(pool: PoolDef) -> Backend:
    """The backend of ``pool``'s type.

    :raises ConfigUnsupportedError: a type this driver does not serve (naming it).
    """
    backend = _BACKENDS.get(pool.type)
    if backend is None:
        raise ConfigUnsupportedError(
            f"storage pool type '{pool.type}' of pool '{pool.name}' is not supported by virt-storage "
            f"(supported: {', '.join(sorted(SUPPORTED_TYPES))})",
            domain=STORAGE,
        )
    return backend
