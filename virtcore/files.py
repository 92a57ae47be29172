"""File helpers every driver needs: writes that a crash cannot tear, temporaries nobody can plant.

Drivers keep definitions, runtime status and save images on disk. A crash
(of the program or of the host) in the middle of writing one must leave
either the old file or the new one, never half of each: write to a
temporary file in the same directory, fsync it, rename it over the target,
fsync the directory.

The temporary is created by :func:`create_temporary` under a name nobody can
guess, with ``O_CREAT|O_EXCL|O_NOFOLLOW``: a file or symbolic link planted
beside the target is never opened, truncated or written through. The final
rename replaces a symbolic link at the target itself, never the file it
points to.
"""

from __future__ import annotations

import contextlib
import os

from virtcore.errors import SystemError_

__all__ = ["create_temporary", "sync_directory", "write_atomically", "write_temporary"]

_TEMP_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_TEMP_ATTEMPTS = 100


def _token() -> str:
    """16 random hex digits from the OS's CSPRNG (what ``secrets.token_hex(8)`` gives).

    Not through :mod:`secrets`: it imports hmac, hashlib and random, ~8% of a
    cold ``virtcore.open`` (the test driver writes through this module).
    """
    return os.urandom(8).hex()


def create_temporary(path: str | os.PathLike[str], *, suffix: str = "") -> tuple[int, str]:
    """Create a new empty file (mode 0600) beside ``path``, to be renamed over it later.

    The file is named ``.NAME.RANDOM`` + ``suffix`` (NAME being ``path``'s
    base name, RANDOM 16 hex digits) and created exclusively without
    following symbolic links, so nothing planted in the directory is ever
    opened. Returns ``(fd, temporary path)``; the caller owns both.

    :raises SystemError_: the directory cannot hold the file; the message names ``path``.
    """
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    base = os.path.basename(target)
    for _ in range(_TEMP_ATTEMPTS):
        tmp = os.path.join(directory, f".{base}.{_token()}{suffix}")
        try:
            return os.open(tmp, _TEMP_FLAGS, 0o600), tmp
        except FileExistsError:
            continue
        except OSError as exc:
            raise SystemError_(f"cannot write '{target}': {exc.strerror or exc}") from None
    raise SystemError_(f"cannot write '{target}': no free temporary name in {directory}")


def write_temporary(
    path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600, sync: bool = True
) -> str:
    """Write ``data`` to a new temporary beside ``path`` (:func:`create_temporary`), synced unless
    ``sync`` is false; its path. The caller renames it into place (:func:`sync_directory` then
    makes the rename durable) or removes it.

    :raises SystemError_: the file cannot be written (nothing is left); the message names ``path``.
    """
    target = os.fspath(path)
    fd, tmp = create_temporary(target)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            if sync:
                os.fsync(fh.fileno())
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise SystemError_(f"cannot write '{target}': {exc.strerror or exc}") from None
        raise
    return tmp


def sync_directory(directory: str | os.PathLike[str]) -> None:
    """Make the renames and new names in ``directory`` durable (best effort: fsync of the directory)."""
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def write_atomically(
    path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600, sync: bool = True
) -> None:
    """Replace ``path`` with ``data`` atomically; ``mode`` is the new file's permission bits.

    ``sync=False`` skips the fsyncs, for state that a host crash makes moot
    anyway (runtime status under /run): the rename is still atomic.

    :raises SystemError_: the file cannot be written; the message names it.
    """
    target = os.fspath(path)
    tmp = write_temporary(target, data, mode=mode, sync=sync)
    try:
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise SystemError_(f"cannot write '{target}': {exc.strerror or exc}") from None
    if sync:
        sync_directory(os.path.dirname(os.path.abspath(target)))
