"""Reading the test guest's console while QEMU is still writing it."""

from __future__ import annotations

from pathlib import Path

from virt_qemu.testguest import TICK, last_tick


def test_last_tick_counts_whole_lines_only(tmp_path: Path) -> None:
    log = tmp_path / "console.log"
    assert last_tick(log) == 0  # no console yet
    log.write_text(f"boot\r\n{TICK} 1\r\n{TICK} 2\r\n{TICK} ")  # the third line is being written
    assert last_tick(log) == 2
    log.write_text(f"{TICK} 1\n{TICK} 1")  # "vc-tick 1" of what will be "vc-tick 12"
    assert last_tick(log) == 1
    log.write_text(f"{TICK} 1\n{TICK} 12\n")
    assert last_tick(log) == 12
