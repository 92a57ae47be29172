"""Atomic writes: the old file or the new one, never a torn one, and errors that name the file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from virtcore.errors import ErrorNumber, SystemError_
from virtcore.files import write_atomically


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
