"""Volumes through real qemu-img: create, overlay, clone, resize, wipe, delete, upload, download, refresh."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import pytest
from storage_testxml import volume_xml
from virt_storage import writeback

import virtcore
from virtcore.errors import ArgumentUnsupportedError, InvalidArgError, NoStorageVolError
from virtcore.storage import StoragePool, StorageVolType, StorageVolWipeAlgorithm
from virtcore.xml.volume import parse_volume

MiB = 1 << 20


def qemu_info(path: Path) -> dict[str, object]:
    out = subprocess.run(
        ["qemu-img", "info", "--output=json", "-U", str(path)], capture_output=True, text=True, check=True
    ).stdout
    data: dict[str, object] = json.loads(out)
    return data


def test_create_qcow2_and_raw_volumes(pool: StoragePool, images: Path) -> None:
    q = pool.create_volume(volume_xml("a.qcow2", 64 * MiB, extra=""))
    assert q.key == q.path == str(images / "a.qcow2")
    info = qemu_info(images / "a.qcow2")
    assert info["format"] == "qcow2" and info["virtual-size"] == 64 * MiB
    assert info["format-specific"]["data"]["compat"] == "1.1"  # type: ignore[index]
    vi = q.info()
    assert vi.type == StorageVolType.FILE and vi.capacity == 64 * MiB and vi.allocation < MiB
    assert oct(os.stat(q.path).st_mode & 0o777) == "0o600"
    r = pool.create_volume(volume_xml("b.img", 4 * MiB, "raw"))
    assert os.path.getsize(r.path) == 4 * MiB
    assert r.info().allocation >= 4 * MiB  # raw: allocation defaults to capacity, and is allocated
    sparse = pool.create_volume(volume_xml("c.img", 8 * MiB, "raw", allocation=0))
    assert sparse.info().capacity == 8 * MiB and sparse.info().allocation < MiB
    desc = parse_volume(q.xml_desc())
    assert desc.name == "a.qcow2" and desc.key == q.path and desc.capacity == 64 * MiB
    assert desc.target is not None and desc.target.format == "qcow2" and desc.target.path == q.path
    assert [v.name for v in pool.list_volumes()] == ["a.qcow2", "b.img", "c.img"]
    assert pool.lookup_volume("b.img") == r


def test_permissions_and_metadata_preallocation(pool: StoragePool, images: Path) -> None:
    extra = "<permissions><mode>0640</mode></permissions>"
    xml = (
        f"<volume><name>m.qcow2</name><capacity>{32 * MiB}</capacity><allocation>0</allocation>"
        f"<target><format type='qcow2'/>{extra}</target></volume>"
    )
    v = pool.create_volume(xml, prealloc_metadata=True)
    assert os.stat(v.path).st_mode & 0o777 == 0o640
    plain = pool.create_volume(volume_xml("p.qcow2", 32 * MiB, allocation=0))
    assert os.path.getsize(v.path) > os.path.getsize(plain.path)  # the metadata is laid out


def test_an_overlay_on_a_base_image_reads_through(pool: StoragePool, images: Path, tmp_path: Path) -> None:
    base = pool.create_volume(volume_xml("base.raw", 4 * MiB, "raw"))
    payload = b"virtcore!" * 1000
    base.upload(io.BytesIO(payload + bytes(4 * MiB - len(payload))))
    xml = volume_xml(
        "overlay.qcow2",
        4 * MiB,
        extra=f"<backingStore><path>{base.path}</path><format type='raw'/></backingStore>",
    )
    overlay = pool.create_volume(xml)
    info = qemu_info(images / "overlay.qcow2")
    assert info["backing-filename"] == base.path and info["backing-filename-format"] == "raw"
    desc = parse_volume(overlay.xml_desc())
    assert desc.backing_store is not None and desc.backing_store.path == base.path
    assert desc.backing_store.format == "raw"
    # the overlay's guest-visible bytes are the base's
    out = tmp_path / "flat.raw"
    subprocess.run(["qemu-img", "convert", "-O", "raw", overlay.path, str(out)], check=True)
    assert out.read_bytes()[: len(payload)] == payload


def test_an_overlay_without_a_backing_format_probes_it(pool: StoragePool) -> None:
    base = pool.create_volume(volume_xml("base.qcow2", 4 * MiB))
    nocap = (
        "<volume><name>top.qcow2</name><target><format type='qcow2'/></target>"
        f"<backingStore><path>{base.path}</path></backingStore></volume>"
    )
    with pytest.raises(virtcore.errors.XMLError, match=r"capacity"):
        pool.create_volume(nocap)
    top = pool.create_volume(
        volume_xml("top.qcow2", 4 * MiB, extra=f"<backingStore><path>{base.path}</path></backingStore>")
    )
    assert qemu_info(Path(top.path))["backing-filename-format"] == "qcow2"


@pytest.mark.parametrize(
    ("src_fmt", "dst_fmt"), [("qcow2", "raw"), ("raw", "qcow2"), ("qcow2", "vmdk"), ("raw", "vdi")]
)
def test_clone_converts_any_format_to_any(
    pool: StoragePool, src_fmt: str, dst_fmt: str, tmp_path: Path
) -> None:
    src = pool.create_volume(volume_xml(f"src.{src_fmt}", 4 * MiB, src_fmt, allocation=0))
    payload = os.urandom(3 * MiB)
    raw_in = tmp_path / "in.raw"
    raw_in.write_bytes(payload)
    subprocess.run(
        ["qemu-img", "convert", "-n", "-f", "raw", "-O", src_fmt, str(raw_in), src.path], check=True
    )
    copy = pool.create_volume_from(
        f"<volume><name>copy.{dst_fmt}</name><capacity>0</capacity>"
        f"<target><format type='{dst_fmt}'/></target></volume>",
        src,
    )
    assert qemu_info(Path(copy.path))["format"] == dst_fmt
    assert copy.info().capacity == 4 * MiB
    out = tmp_path / "out.raw"
    subprocess.run(["qemu-img", "convert", "-O", "raw", copy.path, str(out)], check=True)
    assert out.read_bytes()[: len(payload)] == payload


def test_a_clone_larger_than_its_source_is_grown(pool: StoragePool) -> None:
    src = pool.create_volume(volume_xml("s.qcow2", 4 * MiB))
    big = pool.create_volume_from(volume_xml("big.qcow2", 16 * MiB), src)
    assert big.info().capacity == 16 * MiB


def test_resize_grows_and_shrinks_only_when_asked(pool: StoragePool) -> None:
    v = pool.create_volume(volume_xml("r.qcow2", 8 * MiB))
    v.resize(16 * MiB)
    assert v.info().capacity == 16 * MiB
    v.resize(4 * MiB, delta=True)
    assert v.info().capacity == 20 * MiB
    with pytest.raises(InvalidArgError, match=r"without the shrink flag"):
        v.resize(4 * MiB)
    v.resize(4 * MiB, shrink=True)
    assert v.info().capacity == 4 * MiB
    v.resize(MiB, delta=True, shrink=True)
    assert v.info().capacity == 3 * MiB
    raw = pool.create_volume(volume_xml("r.raw", MiB, "raw", allocation=0))
    raw.resize(2 * MiB, allocate=True)
    assert raw.info().capacity == 2 * MiB and raw.info().allocation >= MiB
    with pytest.raises(InvalidArgError, match=r"not enough free space"):
        raw.resize(1 << 62, allocate=True)
    assert raw.info().capacity == 2 * MiB


def test_wipe_zeroes_the_content(pool: StoragePool, tmp_path: Path) -> None:
    raw = pool.create_volume(volume_xml("w.raw", MiB, "raw"))
    raw.upload(io.BytesIO(b"\xff" * MiB))
    raw.wipe()
    assert Path(raw.path).read_bytes() == bytes(MiB)
    q = pool.create_volume(volume_xml("w.qcow2", 2 * MiB))
    data = tmp_path / "d.raw"
    data.write_bytes(b"\xab" * MiB)
    subprocess.run(["qemu-img", "convert", "-n", "-f", "raw", "-O", "qcow2", str(data), q.path], check=True)
    q.wipe(StorageVolWipeAlgorithm.ZERO)
    out = tmp_path / "o.raw"
    subprocess.run(["qemu-img", "convert", "-O", "raw", q.path, str(out)], check=True)
    assert out.read_bytes() == bytes(2 * MiB) and q.info().capacity == 2 * MiB
    with pytest.raises(ArgumentUnsupportedError, match=r"'gutmann'"):
        q.wipe(StorageVolWipeAlgorithm.GUTMANN)


def test_delete_removes_the_file_and_the_handle_goes_stale(
    pool: StoragePool, conn: virtcore.Connection
) -> None:
    v = pool.create_volume(volume_xml("d.qcow2", MiB))
    path = v.path
    v.delete()
    assert not os.path.exists(path)
    with pytest.raises(NoStorageVolError, match=r"d.qcow2"):
        v.info()
    with pytest.raises(NoStorageVolError, match=r"d.qcow2"):
        pool.lookup_volume("d.qcow2")
    with pytest.raises(NoStorageVolError):
        conn.lookup_storage_volume_by_path(path)


def test_upload_and_download_stream_with_progress(pool: StoragePool, tmp_path: Path) -> None:
    v = pool.create_volume(volume_xml("u.raw", 3 * MiB, "raw"))
    payload = os.urandom(3 * MiB + 123)
    src = tmp_path / "src.bin"
    src.write_bytes(payload)
    seen: list[tuple[int, int]] = []
    with src.open("rb") as f:
        assert v.upload(f, progress=lambda d, t: seen.append((d, t))) == len(payload)
    assert seen[-1] == (len(payload), len(payload)) and len(seen) == 4
    assert Path(v.path).read_bytes() == payload
    out = io.BytesIO()
    assert v.download(out) == len(payload) and out.getvalue() == payload
    part = io.BytesIO()
    assert v.download(part, offset=MiB, length=10) == 10 and part.getvalue() == payload[MiB : MiB + 10]
    v.upload(io.BytesIO(b"Z" * 5), offset=2)  # a range writes in place
    assert Path(v.path).read_bytes()[:8] == payload[:2] + b"ZZZZZ" + payload[7:8]
    with pytest.raises(InvalidArgError, match=r"offset"):
        v.download(io.BytesIO(), offset=len(payload) + 1)


def test_an_aborted_upload_leaves_the_volume_as_it_was(pool: StoragePool, images: Path) -> None:
    v = pool.create_volume(volume_xml("keep.raw", MiB, "raw"))
    v.upload(io.BytesIO(b"A" * MiB))

    class Failing(io.RawIOBase):
        name = "/dev/failing"

        def __init__(self) -> None:
            self.calls = 0

        def readable(self) -> bool:
            return True

        def readinto(self, b: memoryview) -> int:  # type: ignore[override]
            self.calls += 1
            if self.calls > 1:
                raise OSError(5, "Input/output error")
            b[: len(b)] = b"B" * len(b)
            return len(b)

    with pytest.raises(virtcore.errors.ReadFailedError, match=r"/dev/failing"):
        v.upload(Failing())  # type: ignore[arg-type]
    assert Path(v.path).read_bytes() == b"A" * MiB
    assert sorted(p.name for p in images.iterdir()) == ["keep.raw"]


def test_refresh_finds_volumes_made_outside_virtcore(pool: StoragePool, images: Path) -> None:
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", str(images / "outside.qcow2"), "5M"], check=True
    )
    (images / "notes.txt").write_bytes(b"hello")
    os.mkdir(images / "subdir")
    pool.refresh()
    assert [v.name for v in pool.list_volumes()] == ["notes.txt", "outside.qcow2"]
    v = pool.lookup_volume("outside.qcow2")
    assert v.info().capacity == 5 * MiB
    assert parse_volume(v.xml_desc()).target.format == "qcow2"  # type: ignore[union-attr]
    (images / "outside.qcow2").unlink()
    pool.refresh()
    assert [v.name for v in pool.list_volumes()] == ["notes.txt"]


def test_lookup_by_key_and_path_through_symlinks(
    pool: StoragePool, conn: virtcore.Connection, tmp_path: Path
) -> None:
    v = pool.create_volume(volume_xml("k.qcow2", MiB))
    assert conn.lookup_storage_volume_by_key(v.key) == v
    assert conn.lookup_storage_volume_by_path(v.path) == v
    alias = tmp_path / "alias"
    alias.symlink_to(Path(v.path).parent)
    assert conn.lookup_storage_volume_by_path(str(alias / "k.qcow2")) == v
    with pytest.raises(NoStorageVolError, match=r"/etc/passwd"):
        conn.lookup_storage_volume_by_path("/etc/passwd")
    pool.destroy()
    with pytest.raises(NoStorageVolError):
        conn.lookup_storage_volume_by_key(v.key)


def test_keys_and_paths_are_stable_across_connections_and_refresh(uri: str, pool: StoragePool) -> None:
    v = pool.create_volume(volume_xml("s.qcow2", MiB))
    key, path = v.key, v.path
    pool.refresh()
    with virtcore.open(uri) as other:
        again = other.lookup_storage_pool("images").lookup_volume("s.qcow2")
        assert (again.key, again.path) == (key, path)
        assert other.lookup_storage_volume_by_key(key).name == "s.qcow2"


def test_files_that_cannot_be_volume_names_are_not_listed(pool: StoragePool, images: Path) -> None:
    (images / "-o").write_bytes(b"x")
    (images / "ok.img").write_bytes(b"x")
    pool.refresh()
    assert [v.name for v in pool.list_volumes()] == ["ok.img"]
    assert (images / "-o").exists()  # not ours to remove


def test_a_whole_upload_writes_over_without_truncating_and_keeps_holes(pool: StoragePool) -> None:
    v = pool.create_volume(volume_xml("t.raw", 64 * MiB, "raw", allocation=0))
    v.upload(io.BytesIO(b"A" * (2 * MiB)))
    v.upload(io.BytesIO(b"B" * MiB))  # as libvirt: what lies beyond stays
    st = os.stat(v.path)
    assert st.st_size == 64 * MiB and st.st_blocks * 512 < 8 * MiB  # still sparse
    with open(v.path, "rb") as f:
        assert f.read(3 * MiB) == b"B" * MiB + b"A" * MiB + bytes(MiB)
    assert v.info().capacity == 64 * MiB


def test_a_refresh_during_an_upload_leaves_its_hidden_copy_alone(pool: StoragePool, images: Path) -> None:
    v = pool.create_volume(volume_xml("up.raw", MiB, "raw"))
    seen: list[list[str]] = []

    def during(done: int, total: int) -> None:
        pool.refresh()  # as another process may, while the upload is under way
        seen.append(sorted(p.name for p in images.iterdir()))

    v.upload(io.BytesIO(b"C" * (3 * MiB)), progress=during)
    assert all(len(names) == 2 for names in seen)  # the volume and its copy in the making
    assert Path(v.path).read_bytes() == b"C" * (3 * MiB)
    assert [p.name for p in images.iterdir()] == ["up.raw"]


def test_a_new_volume_is_durable_when_create_returns(
    pool: StoragePool, images: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The data is synced before the name appears, and the directory after it (the name itself)."""
    done: list[tuple[str, str]] = []
    real_fsync, real_fdatasync, real_link = os.fsync, os.fdatasync, os.link

    def fsync(fd: int) -> None:
        done.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def fdatasync(fd: int) -> None:
        done.append(("fdatasync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fdatasync(fd)

    def link(src: str, dst: str) -> None:
        real_link(src, dst)
        done.append(("link", dst))

    real_start = writeback._start_write()
    assert real_start is not None  # Linux: sync_file_range exists

    def start_write() -> writeback.StartWrite:
        def start(fd: int) -> object:
            written_out.add(os.readlink(f"/proc/self/fd/{fd}"))
            return real_start(fd)

        return start

    written_out: set[str] = set()
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "fdatasync", fdatasync)
    monkeypatch.setattr(os, "link", link)
    monkeypatch.setattr(writeback, "_start_write", start_write)
    for name, xml in (
        ("d.qcow2", volume_xml("d.qcow2", 4 * MiB)),
        ("e.qcow2", volume_xml("e.qcow2", 4 * MiB)),
    ):
        done.clear()
        written_out.clear()
        if name == "d.qcow2":
            pool.create_volume(xml)
            assert not written_out  # qemu-img create syncs what it writes: no early write-out
        else:
            pool.create_volume_from(xml, pool.lookup_volume("d.qcow2"))
            assert written_out == {done[0][1]}  # the copy was written out while qemu-img made it
        final = str(images / name)
        assert [op for op, _ in done] == ["fdatasync", "link", "fsync"], done
        assert os.path.dirname(done[0][1]) == str(images) and done[0][1] != final  # the temporary
        assert done[1:] == [("link", final), ("fsync", str(images))]
    assert sorted(p.name for p in images.iterdir()) == ["d.qcow2", "e.qcow2"]  # no temporary left
