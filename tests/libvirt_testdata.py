"""Where the tests find libvirt's own test data, and how a fresh clone gets it.

The tests compare virtcore with libvirt on libvirt's own test files (schemas, the
qemuxmlconf corpus, xl/xm vectors, test-driver nodes...). Those files are libvirt's and
never live in this repository. They are looked up, in this order, in:

1. ``$VIRTCORE_LIBVIRT_TESTDATA``, a directory laid out like (2);
2. ``../shared/conformance/libvirt`` beside the checkout (preferred when it is there);
3. ``$XDG_CACHE_HOME/virtcore/libvirt-testdata-DIGEST/`` (``~/.cache`` by default), built
   by ``python3 tests/libvirt_testdata.py fetch`` from libvirt's release tarballs, which
   it downloads from Debian's source packages with ``apt-get source --download-only``
   (a private apt configuration: the host's apt sources are left alone).

``libvirt-testdata.lock`` beside this file records the tarballs (libvirt version,
Debian suite, SHA-256) and, for every file, which tarball member it is and its SHA-256,
so the fetched tree holds exactly the bytes of (2) and nothing else. A test asks for a
folder with :func:`require`; when the data is not there the test is skipped, and every
such skip carries the same reason and location, so pytest's ``-ra`` summary shows it as
one line (the checkout's ``conftest.py`` sees to that, and names the data in the report's
header).

Command line: ``python3 tests/libvirt_testdata.py fetch`` (no-op when the data is found;
never fails the caller: when it cannot fetch it says why once and the tests skip),
``where`` (prints the data directory the tests will use; fails when there is none),
``lock --tarball VERSION:SUITE:PATH...`` (rewrites the lock from ``../shared`` and the
given tarballs; for maintainers).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: libvirt's data as the project's shared area lays it out, beside the checkout.
SHARED = ROOT.parent / "shared" / "conformance" / "libvirt"
#: The facts read off libvirt (error enums ...) in the shared area; not in any tarball.
SHARED_FACTS = SHARED.parent / "libvirt-facts.md"
LOCK = HERE / "libvirt-testdata.lock"
ENV_DIR = "VIRTCORE_LIBVIRT_TESTDATA"
ENV_MIRROR = "VIRTCORE_DEBIAN_MIRROR"
#: The host's own apt sources, read for the Debian archive it already uses.
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
#: Where libvirt's error enums are, inside the tarball and in the fetched tree.
VIRTERROR_H = "include/libvirt/virterror.h"

#: Folders of the shared area that no release tarball of the locked versions holds.
_XEND = "the xend S-expression vectors (libvirt removed them in 5.6.0; only ../shared has them)"
NOT_IN_TARBALLS = {"sexpr2xml": _XEND, "xml2sexpr": _XEND}


class LibvirtDataError(Exception):
    """libvirt's test data could not be fetched or does not match the lock (says why)."""


@dataclass(frozen=True)
class Tarball:
    """One libvirt release tarball named by the lock."""

    version: str
    filename: str
    sha256: str
    suite: str


@dataclass(frozen=True)
class Entry:
    """One file of the data tree: where it goes, which tarball member it is, its hash."""

    dest: str
    version: str
    member: str
    sha256: str


@dataclass(frozen=True)
class Lock:
    """The parsed ``libvirt-testdata.lock``."""

    tarballs: dict[str, Tarball]
    entries: list[Entry]
    digest: str

    @classmethod
    def read(cls, path: Path = LOCK) -> Lock:
        """Parse the lock file (tab-separated ``tarball`` and ``file`` lines; ``#`` comments)."""
        text = path.read_text()
        tarballs: dict[str, Tarball] = {}
        entries: list[Entry] = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line or line.startswith("#"):
                continue
            kind, *fields = line.split("\t")
            if kind == "tarball" and len(fields) == 4:
                tarballs[fields[0]] = Tarball(*fields)
            elif kind == "file" and len(fields) == 4:
                entries.append(Entry(*fields))
            else:
                raise LibvirtDataError(f"{path}:{number}: not a tarball or file line: {line!r}")
        for e in entries:
            if e.version not in tarballs:
                raise LibvirtDataError(
                    f"{path}: {e.dest} names libvirt {e.version}, which has no tarball line"
                )
        return cls(tarballs, entries, hashlib.sha256(text.encode()).hexdigest()[:12])


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/virtcore`` (a relative XDG value is ignored, as the spec says)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "virtcore"


def fetched_dir(lock: Lock) -> Path:
    """The tree ``fetch`` builds for this lock (a new lock gets a new tree)."""
    return cache_dir() / f"libvirt-testdata-{lock.digest}"


def _failure_note() -> Path:
    return cache_dir() / "libvirt-testdata.failed"


@dataclass(frozen=True)
class Located:
    """What the tests use: a data directory and where it came from, or why there is none."""

    root: Path | None
    origin: str
    #: Why there is no data (``root`` is None), one line.
    missing: str = ""


@functools.cache
def locate() -> Located:
    """Find libvirt's test data without touching the network (see the module's docstring)."""
    env = os.environ.get(ENV_DIR)
    if env:
        path = Path(env)
        if path.is_dir():
            return Located(path, f"${ENV_DIR} ({path})")
        return Located(None, "", f"libvirt's test data is not available: ${ENV_DIR}={env} is not a directory")
    if SHARED.is_dir():
        return Located(SHARED, f"../shared beside the checkout ({SHARED})")
    lock = Lock.read()
    tree = fetched_dir(lock)
    if (tree / "VERSION").is_file():
        versions = " + ".join(f"libvirt {v}" for v in lock.tarballs)
        return Located(tree, f"{versions} from Debian, fetched into {tree}")
    why = f"no {SHARED} beside the checkout and no fetched copy in {tree}"
    try:
        last = _failure_note().read_text().strip().splitlines()[-1]
        why += f" (last fetch failed: {last})"
    except (OSError, IndexError):
        why += " (run: python3 tests/libvirt_testdata.py fetch)"
    return Located(None, "", f"libvirt's test data is not available: {why}")


#: How every reason for a skip for want of data begins.
SKIP_PREFIX = "libvirt's test data "

#: The one case a data-driven parameter list holds when the data is missing: the test then
#: calls :func:`require`, which skips it (so the skip folds with all the others).
MISSING = "no-libvirt-testdata"


def find(*parts: str) -> Path | None:
    """The folder or file ``parts`` of the data when it is there, else None (never skips:
    for building parameter lists at import time; use :data:`MISSING` for the empty case)."""
    root = locate().root
    path = root.joinpath(*parts) if root is not None else None
    return path if path is not None and path.exists() else None


def require(*parts: str) -> Path:
    """The data directory, or the folder or file ``parts`` in it (``require("schemas",
    "domain.rng")``); skips the calling test or module when it is not there.

    The reason is one per cause and begins with :data:`SKIP_PREFIX`; the checkout's
    conftest.py reports every such skip here, so pytest's summary folds them into one line
    however many modules and tests depend on the data.
    """
    import pytest

    found = locate()
    reason = found.missing
    if found.root is not None:
        path = found.root.joinpath(*parts)
        if path.exists():
            return path
        top = parts[0]
        lacks = NOT_IN_TARBALLS.get(top, f"{top}/")
        reason = f"libvirt's test data in {found.origin} lacks {lacks}"
    pytest.skip(reason, allow_module_level=True)


# ------------------------------------------------------------------ libvirt's error enums


def _enum_from_header(text: str, name: str) -> dict[int, str]:
    body = re.search(r"typedef enum \{([^{}]*)\}\s*" + name + ";", text)
    if body is None:
        raise LibvirtDataError(f"virterror.h has no enum {name}")
    code = re.sub(r"/\*.*?\*/", "", body.group(1), flags=re.S)
    code = "\n".join(line for line in code.splitlines() if not line.strip().startswith("#"))
    numbers: dict[int, str] = {}
    value = -1
    for item in filter(None, (part.strip() for part in code.split(","))):
        ident, _, explicit = (s.strip() for s in item.partition("="))
        value = int(explicit, 0) if explicit else value + 1
        if not ident.endswith("_LAST"):
            numbers[value] = ident
    return numbers


def _enum_from_facts(text: str, heading: str) -> dict[int, str]:
    # "0 OK, 1 INTERNAL_ERROR, ..., 41 VIR_WAR_NO_NETWORK": the section's prefix is left off.
    prefix = "VIR_ERR_" if heading == "**virErrorNumber**" else "VIR_FROM_"
    section = text.split(heading, 1)[1].split("\n", 2)[1]
    numbers = {}
    for item in section.strip().rstrip(".").split(", "):
        num, name = item.strip().split(" ", 1)
        numbers[int(num)] = name if name.startswith("VIR_") else prefix + name
    return numbers


def error_enums() -> tuple[dict[int, str], dict[int, str]]:
    """libvirt's ``virErrorNumber`` and ``virErrorDomain`` as ``{value: C name}``.

    Read from ``include/libvirt/virterror.h`` of the fetched tarball, or else from the
    shared area's ``libvirt-facts.md`` (read off the same header); skips when neither is there.
    """
    found = locate()
    header = found.root / VIRTERROR_H if found.root is not None else None
    if header is not None and header.is_file():
        text = header.read_text()
        return _enum_from_header(text, "virErrorNumber"), _enum_from_header(text, "virErrorDomain")
    if found.root == SHARED and SHARED_FACTS.is_file():
        text = SHARED_FACTS.read_text()
        return _enum_from_facts(text, "**virErrorNumber**"), _enum_from_facts(text, "**virErrorDomain**")
    require(*VIRTERROR_H.split("/"))
    raise AssertionError("unreachable: require() skips")


# ------------------------------------------------------------------ fetching


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def host_debian_archive() -> str:
    """The Debian archive the host's apt already uses (the first ``deb`` source of a Debian
    suite, in one-line or deb822 form); libvirt's source packages come from the same place."""
    files: list[Path] = []
    for place in APT_SOURCES:
        if place.is_dir():
            files += sorted(p for p in place.iterdir() if p.suffix in (".list", ".sources"))
        elif place.is_file():
            files.append(place)
    for f in files:
        try:
            text = f.read_text(errors="replace")
        except OSError:
            continue
        if f.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields = dict(re.findall(r"^(\S+):\s*(.*)$", stanza, re.M))
                uris = fields.get("URIs", "").split()
                binary = "deb" in fields.get("Types", "").split()
                if binary and uris and "-security" not in fields.get("Suites", ""):
                    return uris[0]
        else:
            for m in re.finditer(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", text, re.M):
                if not m.group(2).endswith("-security"):
                    return m.group(1)
    raise LibvirtDataError(
        f"no Debian archive in the host's apt sources ({', '.join(map(str, APT_SOURCES))}); "
        f"set {ENV_MIRROR} to one"
    )


class _Apt:
    """apt-get and apt-cache over a private configuration: deb-src lines for the lock's
    suites, their own lists and cache under ``cache_dir()/apt``; the host's apt is untouched."""

    def __init__(self, lock: Lock) -> None:
        self.home = cache_dir() / "apt"
        for sub in ("lists/partial", "cache/archives/partial", "sources.list.d"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        mirror = os.environ.get(ENV_MIRROR) or host_debian_archive()
        suites = sorted({t.suite for t in lock.tarballs.values()})
        sources = self.home / "sources.list"
        sources.write_text("".join(f"deb-src {mirror} {suite} main\n" for suite in suites))
        self.options = [
            *("-o", f"Dir::Etc::sourcelist={sources}"),
            *("-o", f"Dir::Etc::sourceparts={self.home / 'sources.list.d'}"),
            *("-o", f"Dir::State::Lists={self.home / 'lists'}"),
            *("-o", f"Dir::Cache={self.home / 'cache'}"),
        ]
        if os.geteuid() == 0:  # downloads land in root's cache: no _apt sandbox user
            self.options += ["-o", "APT::Sandbox::User=root"]

    def run(self, tool: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        exe = shutil.which(tool)
        if exe is None:
            raise LibvirtDataError(f"{tool} is not installed (libvirt's tarballs come from Debian's archive)")
        return subprocess.run(
            [exe, "-q", *self.options, *args], cwd=cwd, capture_output=True, text=True, timeout=900
        )

    def source_versions(self) -> tuple[list[str], str]:
        """libvirt's source versions in the suites, and what went wrong updating the index
        (apt-get update exits 0 when it cannot reach the mirror: it only warns)."""
        update = self.run("apt-get", "update")
        problems = [line for line in update.stderr.splitlines() if line.startswith(("E:", "W: Failed"))]
        if update.returncode != 0 and not problems:
            problems = [_last_line(update.stderr or update.stdout)]
        show = self.run("apt-cache", "showsrc", "libvirt")
        return re.findall(r"^Version: (\S+)$", show.stdout, re.M), "; ".join(problems[:1])


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def _download(lock: Lock) -> dict[str, Path]:
    """Each locked tarball, from the cache or downloaded; checked against the lock's SHA-256."""
    paths: dict[str, Path] = {}
    apt: _Apt | None = None
    versions: list[str] = []
    problem = ""
    for version, tarball in lock.tarballs.items():
        folder = cache_dir() / f"libvirt-{version}"
        path = folder / tarball.filename
        if not (path.is_file() and _file_sha256(path) == tarball.sha256):
            if apt is None:
                apt = _Apt(lock)
                versions, problem = apt.source_versions()
            debian = [v for v in versions if v.split(":")[-1].startswith(version + "-")]
            if not debian:
                raise LibvirtDataError(
                    f"no libvirt {version} source package from Debian {tarball.suite}: "
                    + (f"apt-get update: {problem}" if problem else f"found {', '.join(versions) or 'none'}")
                )
            folder.mkdir(parents=True, exist_ok=True)
            # Only the .orig tarball matters; a missing .dsc or signature does not.
            got = apt.run("apt-get", "source", "--download-only", f"libvirt={debian[0]}", cwd=folder)
            if not path.is_file():
                raise LibvirtDataError(f"apt-get source libvirt={debian[0]}: " + _last_line(got.stderr))
            if _file_sha256(path) != tarball.sha256:
                path.unlink()
                raise LibvirtDataError(f"{tarball.filename} from Debian does not have the locked SHA-256")
        paths[version] = path
    return paths


def _members(path: Path, wanted: set[str]) -> Iterator[tuple[str, bytes]]:
    with tarfile.open(path, "r:*") as tar:
        for info in tar:
            if info.name in wanted and info.isfile():
                f = tar.extractfile(info)
                if f is not None:
                    yield info.name, f.read()


def assemble(lock: Lock, tarballs: dict[str, Path], dest: Path) -> Path:
    """Build the data tree ``dest`` from the tarballs: exactly the lock's files, each checked
    against its SHA-256, plus ``VERSION``. Built beside ``dest`` and renamed into place, so
    ``dest`` is either complete or absent."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        for version, path in tarballs.items():
            by_member: dict[str, list[Entry]] = {}
            for e in lock.entries:
                if e.version == version:
                    by_member.setdefault(e.member, []).append(e)
            for member, data in _members(path, set(by_member)):
                for e in by_member.pop(member):
                    if _sha256(data) != e.sha256:
                        raise LibvirtDataError(
                            f"{path.name}: {member} does not match the lock (for {e.dest})"
                        )
                    target = tmp / e.dest
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
            if by_member:
                raise LibvirtDataError(
                    f"{path.name} lacks {len(by_member)} locked files, e.g. {min(by_member)}"
                )
        described = " + ".join(
            f"libvirt {v} (Debian {t.suite}, {t.filename} sha256 {t.sha256})"
            for v, t in lock.tarballs.items()
        )
        (tmp / "VERSION").write_text(f"{described}\nlock {lock.digest}\n")
        try:
            tmp.rename(dest)
        except OSError:
            if not (dest / "VERSION").is_file():  # not a concurrent fetch that won the race
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def fetch() -> Located:
    """Make libvirt's test data available (download when needed); record why when it cannot."""
    found = locate()
    if found.root is not None:
        return found
    lock = Lock.read()
    note = _failure_note()
    try:
        assemble(lock, _download(lock), fetched_dir(lock))
    except (LibvirtDataError, OSError, subprocess.SubprocessError, tarfile.TarError) as exc:
        note.parent.mkdir(parents=True, exist_ok=True)
        note.write_text(f"{exc}\n")
    else:
        note.unlink(missing_ok=True)
    locate.cache_clear()
    return locate()


# ------------------------------------------------------------------ the lock (maintainers)


def make_lock(shared: Path, tarballs: dict[str, tuple[Path, str]]) -> str:
    """The lock text for ``shared`` (every file found by content in a tarball) plus virterror.h.

    ``tarballs``: ``{version: (path, debian suite)}``, the first one preferred; a folder
    whose name carries a version (``qemuxml2argv-9.0.0``) prefers that version's member.
    """
    by_hash: dict[str, list[tuple[str, str]]] = {}
    lines = ["# libvirt's test data for virtcore's tests: see tests/libvirt_testdata.py.", "#"]
    lines.append("# tarball\tVERSION\tFILE\tSHA256\tDEBIAN SUITE")
    extras: list[str] = []
    for version, (path, suite) in tarballs.items():
        lines.append(f"tarball\t{version}\t{path.name}\t{_file_sha256(path)}\t{suite}")
        with tarfile.open(path, "r:*") as tar:
            for info in tar:
                f = tar.extractfile(info) if info.isfile() else None
                if f is not None:
                    digest = _sha256(f.read())
                    by_hash.setdefault(digest, []).append((version, info.name))
                    if info.name.split("/", 1)[-1] == VIRTERROR_H and not extras:
                        extras.append(f"file\t{VIRTERROR_H}\t{version}\t{info.name}\t{digest}")
    lines.append("# file\tPATH IN THE DATA TREE\tVERSION\tTARBALL MEMBER\tSHA256")
    for path in sorted(p for p in shared.rglob("*") if p.is_file()):
        rel = path.relative_to(shared).as_posix()
        digest = _file_sha256(path)
        found = by_hash.get(digest, [])
        if not found:
            continue
        first = rel.split("/", 1)[0]

        def rank(c: tuple[str, str], first: str = first, name: str = path.name) -> tuple[bool, bool]:
            return (c[1].rsplit("/", 1)[-1] != name, not first.endswith("-" + c[0]))

        version, member = min(found, key=rank)
        lines.append(f"file\t{rel}\t{version}\t{member}\t{digest}")
    lines.extend(extras)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``fetch``, ``where`` or ``lock`` (see the module's docstring)."""
    parser = argparse.ArgumentParser(prog="libvirt_testdata.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="use ../shared or the cache, else download from Debian")
    sub.add_parser("where", help="print the data directory the tests will use (exit 1: none)")
    lock = sub.add_parser("lock", help="rewrite the lock from ../shared and tarballs")
    lock.add_argument("--tarball", action="append", required=True, metavar="VERSION:SUITE:PATH")
    args = parser.parse_args(argv)
    if args.command == "lock":
        tarballs = {}
        for spec in args.tarball:
            version, suite, path = spec.split(":", 2)
            tarballs[version] = (Path(path), suite)
        LOCK.write_text(make_lock(SHARED, tarballs))
        return 0
    if args.command == "where":
        found = locate()
        if found.root is None:
            print(found.missing, file=sys.stderr)
            return 1
        print(found.root)
        return 0
    found = fetch()
    # One line either way; never a failure: without the data the corpus tests skip, saying why.
    print(f"libvirt test data: {found.origin}" if found.root else found.missing)
    return 0


if __name__ == "__main__":
    sys.exit(main())
