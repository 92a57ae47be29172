"""A fresh clone runs its tests without ../shared, and the fetched libvirt data is exactly
the locked bytes (see tests/libvirt_testdata.py)."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import subprocess
import sys
import tarfile
from pathlib import Path

import libvirt_testdata
import pytest
from libvirt_testdata import LibvirtDataError, Lock, assemble

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "conformance" / "libvirt"


def _clone(dest: Path) -> Path:
    """The checkout's files (tracked and new, as git sees them) copied to ``dest``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout  # fmt: skip
    for rel in filter(None, listed.decode().split("\0")):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            (dest / rel).write_bytes(src.read_bytes())
            (dest / rel).chmod(src.stat().st_mode)
    return dest


def _pytest(clone: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "VIRTCORE_LIBVIRT"))}
    env["XDG_CACHE_HOME"] = str(cache)  # an empty cache: nothing fetched yet
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-ra", *args],
        cwd=clone, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip


def test_a_fresh_clone_without_shared_runs_and_skips_the_corpus_in_one_line(tmp_path: Path) -> None:
    clone = _clone(tmp_path / "clone")
    assert not (tmp_path / "shared").exists()
    tests = ["tests", *(str(p.relative_to(clone)) for p in sorted(clone.glob("plugins/*/tests")))]
    collected = _pytest(clone, tmp_path / "cache", "--collect-only", "-q", *tests)
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    # Tests that need the data next to tests that do not; the former skip, the rest run.
    ran = _pytest(
        clone, tmp_path / "cache", "-q", "tests/xml/test_corpus.py",
        "tests/xml/test_elements.py", "tests/xml/test_capabilities.py", "tests/test_errors.py",
        "tests/xml/test_storage_corpus.py", "tests/xml/test_storage_xml.py",
        "plugins/virt-test/tests/test_test_driver.py", "plugins/virt-xen/tests/test_native_vectors.py",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    skips = [line for line in ran.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skips) == 1, "\n".join(skips)
    assert "libvirt's test data is not available" in skips[0]
    assert str(tmp_path / "cache") in skips[0]  # says where it looked
    assert " passed" in ran.stdout.splitlines()[-1]


def _tarball(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:xz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _lock(path: Path, tarball: Path, files: dict[str, tuple[str, bytes]]) -> Lock:
    sha = hashlib.sha256(tarball.read_bytes()).hexdigest()
    lines = [f"tarball\t1.0.0\t{tarball.name}\t{sha}\ttrixie"]
    lines += [
        f"file\t{dest}\t1.0.0\t{member}\t{hashlib.sha256(data).hexdigest()}"
        for dest, (member, data) in files.items()
    ]
    path.write_text("\n".join(lines) + "\n")
    return Lock.read(path)


def test_the_fetched_tree_holds_exactly_the_locked_bytes(tmp_path: Path) -> None:
    rng = b"<grammar/>"
    xml = b"<domain/>"
    tarball = _tarball(
        tmp_path / "libvirt_1.0.0.orig.tar.xz",
        {"libvirt-1.0.0/src/conf/schemas/domain.rng": rng, "libvirt-1.0.0/tests/qemuxmlconfdata/a.xml": xml,
         "libvirt-1.0.0/src/qemu/qemu_command.c": b"int main;"},
    )  # fmt: skip
    lock = _lock(
        tmp_path / "good.lock", tarball,
        {"schemas/domain.rng": ("libvirt-1.0.0/src/conf/schemas/domain.rng", rng),
         "qemuxmlconf/a.xml": ("libvirt-1.0.0/tests/qemuxmlconfdata/a.xml", xml)},
    )  # fmt: skip
    tree = assemble(lock, {"1.0.0": tarball}, tmp_path / "cache" / "tree")
    files = sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file())
    assert files == ["VERSION", "qemuxmlconf/a.xml", "schemas/domain.rng"]
    assert (tree / "schemas/domain.rng").read_bytes() == rng
    assert "libvirt 1.0.0 (Debian trixie, libvirt_1.0.0.orig.tar.xz" in (tree / "VERSION").read_text()


def test_a_tarball_that_does_not_match_the_lock_leaves_nothing(tmp_path: Path) -> None:
    tarball = _tarball(
        tmp_path / "t.tar.xz", {"libvirt-1.0.0/a.xml": b"<changed/>", "libvirt-1.0.0/b.xml": b"<b/>"}
    )
    lock = _lock(
        tmp_path / "bad.lock", tarball,
        {"b/b.xml": ("libvirt-1.0.0/b.xml", b"<b/>"), "a/a.xml": ("libvirt-1.0.0/a.xml", b"<original/>")},
    )  # fmt: skip
    with pytest.raises(
        LibvirtDataError, match=r"libvirt-1\.0\.0/a\.xml does not match the lock \(for a/a\.xml\)"
    ):
        assemble(lock, {"1.0.0": tarball}, tmp_path / "cache" / "tree")
    assert list((tmp_path / "cache").iterdir()) == []  # no tree, no half-built temporary

    missing = _lock(tmp_path / "missing.lock", tarball, {"c.xml": ("libvirt-1.0.0/c.xml", b"<c/>")})
    with pytest.raises(LibvirtDataError, match=r"lacks 1 locked files, e\.g\. libvirt-1\.0\.0/c\.xml"):
        assemble(missing, {"1.0.0": tarball}, tmp_path / "cache" / "tree")
    assert list((tmp_path / "cache").iterdir()) == []


@pytest.mark.skipif(not SHARED.is_dir(), reason="compares the lock with ../shared, which is not here")
def test_the_lock_names_the_shared_bytes() -> None:
    """What ``fetch`` builds is what ../shared holds: same paths, same bytes, minus what no
    tarball has (the xend vectors and the shared area's own notes)."""
    lock = Lock.read()
    locked = {e.dest: e.sha256 for e in lock.entries if e.dest != libvirt_testdata.VIRTERROR_H}
    shared = {
        p.relative_to(SHARED).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in SHARED.rglob("*")
        if p.is_file()
    }
    assert {k: shared.get(k) for k in locked} == locked
    left_out = {k for k in shared if k not in locked}
    assert {k.split("/")[0] for k in left_out if "/" in k} <= {
        *libvirt_testdata.NOT_IN_TARBALLS,
        "testdriver",
    }
    assert {k for k in left_out if k.startswith("testdriver/")} == {"testdriver/default-node.xml"}
    assert len(locked) > 1500


def test_offline_the_fetch_says_why_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:  # a loopback port nobody listens on: nothing leaves the machine
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(libvirt_testdata, "SHARED", tmp_path / "no-shared")
    monkeypatch.delenv("VIRTCORE_LIBVIRT_TESTDATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("VIRTCORE_DEBIAN_MIRROR", f"http://127.0.0.1:{port}/debian")
    libvirt_testdata.locate.cache_clear()
    try:
        found = libvirt_testdata.fetch()
        again = libvirt_testdata.locate()
    finally:
        libvirt_testdata.locate.cache_clear()
    assert found.root is None and again == found
    assert found.missing.startswith("libvirt's test data is not available: no ")
    assert (
        "last fetch failed: no libvirt 11.3.0 source package from Debian trixie: apt-get update:"
        in found.missing
    )
    assert f"127.0.0.1:{port}" in found.missing
    assert sorted(p.name for p in (tmp_path / "cache" / "virtcore").iterdir()) == [
        "apt",
        "libvirt-testdata.failed",
    ]
