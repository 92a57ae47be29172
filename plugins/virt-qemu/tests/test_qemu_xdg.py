"""qemu:///session under relative XDG_* values (issue 8, item 14): the XDG spec says to
ignore them, so state goes under $HOME, never under the working directory, and guests start."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

SESSION = r"""
import sys, virtcore
from virtcore import DomainState
with virtcore.open("qemu:///session") as conn:
    dom = conn.define_domain(sys.stdin.read())
    dom.start()
    try:
        assert dom.state()[0] == DomainState.RUNNING, dom.state()
    finally:
        dom.destroy()
        dom.undefine()
print("ok")
"""


@pytest.mark.timeout(300)
def test_session_ignores_relative_xdg_values(tmp_path: Path, guest_xml: Callable[..., str]) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "VIRTCORE_"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME="cfg",
        XDG_CACHE_HOME="cache",
        XDG_STATE_HOME="state",
        XDG_RUNTIME_DIR="run",
    )
    p = subprocess.run(
        [sys.executable, "-c", SESSION],
        input=guest_xml("xdg-relative"),
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert (p.returncode, p.stdout, p.stderr) == (0, "ok\n", "")
    assert list(work.iterdir()) == []  # nothing under the working directory
    assert (home / ".config" / "virtcore" / "qemu").is_dir()
    assert (home / ".cache" / "virtcore" / "qemu").is_dir()
