"""The user's XDG base directories, for drivers that keep per-user state.

The XDG Base Directory specification says a relative path in one of the
``XDG_*`` variables is invalid and must be ignored: each function here then
falls back to the specification's default under ``$HOME`` (an empty or unset
variable too). Using a relative value would scatter state under whatever the
working directory happens to be.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["cache_dir", "cache_home", "config_home", "data_home", "runtime_dir", "state_home"]


def _absolute_text(var: str) -> str | None:
    value = os.environ.get(var)
    return value if value and os.path.isabs(value) else None


def _absolute(var: str) -> Path | None:
    value = _absolute_text(var)
    return None if value is None else _path(value)


def _home_dir(var: str, *default: str) -> Path:
    return _path(_home_dir_text(var, *default))


def _home_dir_text(var: str, *default: str) -> str:
    return _absolute_text(var) or os.path.join(os.path.expanduser("~"), *default)


def _path(text: str) -> Path:
    # Imported here: a cold ``virtcore.open`` needs only cache_dir(), and
    # pathlib costs it ~3 ms.
    from pathlib import Path

    return Path(text)


def cache_dir() -> str:
    """:func:`cache_home` as a string, for the cold start's driver discovery cache."""
    return _home_dir_text("XDG_CACHE_HOME", ".cache")


def config_home() -> Path:
    """``$XDG_CONFIG_HOME`` if absolute, else ``~/.config``."""
    return _home_dir("XDG_CONFIG_HOME", ".config")


def cache_home() -> Path:
    """``$XDG_CACHE_HOME`` if absolute, else ``~/.cache``."""
    return _path(cache_dir())


def state_home() -> Path:
    """``$XDG_STATE_HOME`` if absolute, else ``~/.local/state``."""
    return _home_dir("XDG_STATE_HOME", ".local", "state")


def data_home() -> Path:
    """``$XDG_DATA_HOME`` if absolute, else ``~/.local/share``."""
    return _home_dir("XDG_DATA_HOME", ".local", "share")


def runtime_dir() -> Path | None:
    """``$XDG_RUNTIME_DIR`` if absolute, else ``None``: the specification gives it no default."""
    return _absolute("XDG_RUNTIME_DIR")
