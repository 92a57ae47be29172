"""XDG base directories: relative values are ignored, as the XDG spec says (issue 8, item 14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from virtcore import xdg

HOMES = [
    ("XDG_CONFIG_HOME", xdg.config_home, ".config"),
    ("XDG_CACHE_HOME", xdg.cache_home, ".cache"),
    ("XDG_STATE_HOME", xdg.state_home, ".local/state"),
    ("XDG_DATA_HOME", xdg.data_home, ".local/share"),
]


@pytest.mark.parametrize(("var", "fn", "default"), HOMES)
def test_absolute_values_are_used_relative_and_empty_ones_ignored(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, var: str, fn: object, default: str
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    get = fn  # type: ignore[assignment]
    monkeypatch.setenv(var, str(tmp_path / "xdg"))
    assert get() == tmp_path / "xdg"
    for ignored in ("relative/dir", ".", "~/x", ""):
        monkeypatch.setenv(var, ignored)
        assert get() == home / default, ignored
        assert get().is_absolute()
    monkeypatch.delenv(var)
    assert get() == home / default


def test_runtime_dir_has_no_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert xdg.runtime_dir() == tmp_path
    for ignored in ("run/user", ""):
        monkeypatch.setenv("XDG_RUNTIME_DIR", ignored)
        assert xdg.runtime_dir() is None
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert xdg.runtime_dir() is None
