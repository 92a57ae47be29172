"""Atomic writes: the old file or the new one, never a torn one, and errors that name the file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from virtcore.errors import ErrorNumber, SystemError_
from virtcore.files import create_temporary, sync_directory, write_atomically, write_temporary


def test_replaces_the_file_with_the_given_mode(tmp_path: Path) -> None:
    target = tmp_path / "dom.xml"
    target.write_bytes(b"old")
    write_atomically(target, b"new contents", mode=0o640)
    assert target.read_bytes() == b"new contents"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["dom.xml"]


def test_failure_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "dom.xml"
    target.write_bytes(b"old")

    with pytest.raises(TypeError):
        write_atomically(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["dom.xml"]


def test_unwritable_place_is_a_system_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SystemError_, match="no-such-dir") as exc:
        write_atomically(tmp_path / "no-such-dir" / "x", b"data")
    assert exc.value.code == ErrorNumber.SYSTEM_ERROR


def test_default_mode_is_private(tmp_path: Path) -> None:
    write_atomically(tmp_path / "d.xml", b"new" * 1000)
    assert stat.S_IMODE((tmp_path / "d.xml").stat().st_mode) == 0o600


def test_without_sync(tmp_path: Path) -> None:
    write_atomically(tmp_path / "status", b"running", sync=False)
    assert (tmp_path / "status").read_bytes() == b"running"


def test_planted_symlink_at_the_target_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    target = tmp_path / "dom.xml"
    target.symlink_to(victim)
    write_atomically(target, b"new")
    assert not target.is_symlink() and target.read_bytes() == b"new"
    assert victim.read_bytes() == b"precious"


def test_temporaries_are_unpredictable_and_never_open_what_is_planted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    names = iter(["0" * 16, "1" * 16])
    monkeypatch.setattr("virtcore.files._token", lambda: next(names))
    planted = tmp_path / f".image.{'0' * 16}.partial"
    planted.symlink_to(victim)  # an attacker who guessed the first name
    fd, tmp = create_temporary(tmp_path / "image", suffix=".partial")
    try:
        os.write(fd, b"save data")
    finally:
        os.close(fd)
    assert tmp == str(tmp_path / f".image.{'1' * 16}.partial")
    assert not os.path.islink(tmp) and stat.S_IMODE(os.stat(tmp).st_mode) == 0o600
    assert victim.read_bytes() == b"precious" and planted.is_symlink()


def test_two_temporaries_never_share_a_name(tmp_path: Path) -> None:
    made = [create_temporary(tmp_path / "x") for _ in range(20)]
    for fd, _ in made:
        os.close(fd)
    assert len({name for _, name in made}) == 20
    assert all(os.path.basename(name).startswith(".x.") for _, name in made)


def test_temporary_in_a_missing_directory_names_the_target(tmp_path: Path) -> None:
    with pytest.raises(SystemError_, match="no-such-dir/image"):
        create_temporary(tmp_path / "no-such-dir" / "image")


def test_a_temporary_written_ahead_holds_the_data_beside_the_target_until_renamed(tmp_path: Path) -> None:
    target = tmp_path / "tree.xml"
    target.write_bytes(b"old")
    tmp = write_temporary(target, b"new", mode=0o640)
    assert os.path.dirname(tmp) == str(tmp_path) and os.path.basename(tmp).startswith(".tree.xml.")
    assert Path(tmp).read_bytes() == b"new" and stat.S_IMODE(os.stat(tmp).st_mode) == 0o640
    assert target.read_bytes() == b"old"  # nothing changes until the caller renames it
    os.replace(tmp, target)
    sync_directory(tmp_path)
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["tree.xml"]


def test_a_temporary_that_cannot_be_written_leaves_nothing_and_names_the_target(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        write_temporary(tmp_path / "tree.xml", "not bytes")  # type: ignore[arg-type]
    assert os.listdir(tmp_path) == []
    with pytest.raises(SystemError_, match="no-such-dir"):
        write_temporary(tmp_path / "no-such-dir" / "tree.xml", b"data")
