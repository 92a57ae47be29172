"""File helpers every driver needs: writes that a crash cannot tear.

Drivers keep definitions, runtime status and save images on disk. A crash
(of the program or of the host) in the middle of writing one must leave
either the old file or the new one, never half of each: write to a
temporary file in the same directory, fsync it, rename it over the target,
fsync the directory.
"""

from __future__ import annotations

import contextlib
import os
import tempfile

from virtcore.errors import SystemError_

__all__ = ["write_atomically"]


def write_atomically(
    path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600, sync: bool = True
) -> None:
    """Replace ``path`` with ``data`` atomically; ``mode`` is the new file's permission bits.

    ``sync=False`` skips the fsyncs, for state that a host crash makes moot
    anyway (runtime status under /run): the rename is still atomic.

    :raises SystemError_: the file cannot be written; the message names it.
    """
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", dir=directory)
    except OSError as exc:
        raise SystemError_(f"cannot write '{target}': {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise SystemError_(f"cannot write '{target}': {exc.strerror or exc}") from None
        raise
    if sync:
        with contextlib.suppress(OSError):
            dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
