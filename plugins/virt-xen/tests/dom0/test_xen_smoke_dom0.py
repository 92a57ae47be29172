"""Smoke test run inside dom0: the toolstack answers."""
import subprocess


def test_xl_list_shows_dom0() -> None:
    out = subprocess.run(["xl", "list"], capture_output=True, text=True, timeout=30, check=True).stdout
    assert "Domain-0" in out
