"""The discovery cache: which distributions declare ``virtcore.drivers`` entry points.

stevedore finds the drivers, but importing it (with ``importlib.metadata``)
costs a fresh process more than everything else ``virtcore.open`` does. What
it found is kept here, per Python environment, in
``$XDG_CACHE_HOME/virtcore/drivers-ENV.txt``, and a later process reads that
instead of importing stevedore.

The cache is keyed by the installed distributions: the path and modification
time of every ``*.dist-info`` / ``*.egg-info`` directory on :data:`sys.path`
(installing, upgrading or removing a distribution replaces its directory, so
the key changes). A cache whose key differs is stale and ignored.

Nothing in the file is trusted: it must be a regular file of ours, small,
well formed, and every entry must name a distribution of the current key.
Before a cached entry is used, :func:`declares` checks that its
distribution's own ``entry_points.txt`` still declares it, so an edited or
hostile cache can point at nothing a distribution does not declare. Any
doubt makes the caller fall back to stevedore. Writing is best effort: a
read-only or absent cache directory only means no cache.
"""

# No ``from __future__ import annotations`` here: typing.NamedTuple compiles each string
# annotation (a ForwardRef per field); real types save ~0.4M instructions of ``import virtcore``.

import binascii
import os
import stat
import sys
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from virtcore import files, xdg
from virtcore.errors import VirtError

__all__ = [
    "CachedEntry",
    "cache_file",
    "declares",
    "environment_file",
    "environment_key",
    "read",
    "read_rows",
    "write",
    "write_rows",
]

_HEADER = "virtcore-drivers-cache 1"
_MAX_BYTES = 1 << 20
_METADATA_SUFFIXES = (".dist-info", ".egg-info")


class CachedEntry(NamedTuple):
    """One ``virtcore.drivers`` entry point, and the distribution that declares it."""

    scheme: str
    target: str
    distribution: str
    version: str
    metadata_dir: str


def _is_name(text: str) -> bool:
    """An entry-point name as the specification allows it: ``[\\w.+-]+``.

    Checked with str methods, not a regular expression: compiling the two
    patterns cost a cold open ~0.3 ms (``\\w`` is ``isalnum()`` or ``_``).
    """
    return bool(text) and all(c.isalnum() or c in "_.+-" for c in text)


def _is_target(text: str) -> bool:
    """An entry-point target as the specification allows it: ``[\\w.]+(:[\\w.]+)?``."""
    module, colon, attr = text.partition(":")
    return _is_dotted(module) and (not colon or _is_dotted(attr))


def _is_dotted(text: str) -> bool:
    return bool(text) and all(c.isalnum() or c in "_." for c in text)


def environment_key() -> tuple[str, ...]:
    """``PATH<TAB>MTIME_NS`` of every distribution metadata directory on :data:`sys.path`, in order."""
    key: list[str] = []
    for entry in sys.path:
        directory = os.path.abspath(entry or os.curdir)
        try:
            names = os.listdir(directory)
        except OSError:  # absent, not a directory (a zip archive), unreadable: nothing found there
            continue
        # Names joined by hand, not DirEntry objects or os.path.join: the standard library's
        # directories hold hundreds of entries, and this is ~0.7M instructions of a cold open less.
        prefix = directory if directory.endswith(os.sep) else directory + os.sep
        paths = sorted([prefix + n for n in names if n.endswith(_METADATA_SUFFIXES)])
        key.extend([f"{path}\t{_mtime(path)}" for path in paths])
    return tuple(key)


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:  # a dangling link: still part of the key, as a distribution that cannot be read
        return -1


def environment_file(kind: str) -> str:
    """``$XDG_CACHE_HOME/virtcore/KIND-ENV.txt``: a cache file of this Python environment.

    ENV names the interpreter, its prefix and :data:`sys.path`: processes of one
    interpreter with different paths (``PYTHONPATH``) see different distributions,
    and sharing one file they would overwrite each other's cache on every run.
    """
    env = "\0".join([sys.prefix, sys.version, *sys.path]).encode("utf-8", "surrogateescape")
    return os.path.join(xdg.cache_dir(), "virtcore", f"{kind}-{binascii.crc32(env):08x}.txt")


def cache_file() -> str:
    """The discovery cache file of this Python environment (see :func:`environment_file`)."""
    return environment_file("drivers")


def read(key: Sequence[str]) -> list[CachedEntry] | None:
    """The cached entries if the cache was written for ``key``; ``None`` for anything else."""
    rows = read_rows(cache_file(), _HEADER, key)
    if rows is None:
        return None
    known = {line.rsplit("\t", 1)[0] for line in key}
    entries = []
    for fields in rows:
        if len(fields) != len(CachedEntry._fields):
            return None
        entry = CachedEntry(*fields)
        if not (_is_name(entry.scheme) and _is_target(entry.target) and entry.metadata_dir in known):
            return None
        entries.append(entry)
    return entries


def write(key: Sequence[str], entries: Iterable[CachedEntry]) -> None:
    """Store ``entries`` under ``key``, atomically; silently nothing if the directory refuses."""
    rows = list(entries)
    for entry in rows:
        if not (_is_name(entry.scheme) and _is_target(entry.target)):
            return  # not representable: stay uncached rather than write something ambiguous
    write_rows(cache_file(), _HEADER, key, rows)


def read_rows(path: str, header: str, key: Sequence[str]) -> list[list[str]] | None:
    """The tab-separated rows of the cache file ``path`` if it was written with ``header`` for ``key``.

    ``None`` for anything else: absent, not a regular file of ours, too big, malformed, another key.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_size > _MAX_BYTES:
            return None
        raw = os.read(fd, _MAX_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        lines = raw.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return None
    count = len(key)
    if len(lines) < count + 3 or lines[0] != header or lines[-1] != "" or lines[1] != str(count):
        return None
    if tuple(lines[2 : 2 + count]) != tuple(key):
        return None
    return [line.split("\t") for line in lines[2 + count : -1]]


def write_rows(path: str, header: str, key: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Store tab-separated ``rows`` under ``header`` and ``key`` in ``path``, atomically.

    Silently nothing if a field holds a tab or a newline, or the directory refuses.
    """
    table = [list(row) for row in rows]
    if any("\t" in f or "\n" in f for row in table for f in row):
        return  # not representable: stay uncached rather than write something ambiguous
    text = "\n".join([header, str(len(key)), *key, *("\t".join(row) for row in table)]) + "\n"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        files.write_atomically(path, text.encode("utf-8", "surrogateescape"))
    except (OSError, VirtError, UnicodeEncodeError):
        return  # read-only home, no space, a file in the way: run without a cache


def declares(metadata_dir: str, name: str, target: str, group: str) -> bool:
    """Whether the distribution in ``metadata_dir`` declares ``name = target`` under ``group``.

    Read from its ``entry_points.txt``, the file stevedore reads too.
    """
    try:
        with open(os.path.join(metadata_dir, "entry_points.txt"), encoding="utf-8") as f:
            text = f.read(_MAX_BYTES)
    except (OSError, UnicodeDecodeError):
        return False
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif section == group and "=" in line:
            key, _, value = line.partition("=")
            if key.strip() == name and value.strip() == target:
                return True
    return False
