"""The side-by-side tests' shared part: playing a scenario, and running its libvirt side.

``test_*_vs_libvirt.py`` play a scenario (``*_scenario.py``: steps over a side's
adapter) on virt-test here and the same scenario on libvirt's own test driver
through python3-libvirt, which only Debian's ``/usr/bin/python3`` can import.
Both sides record each step the same way (:func:`play`). Test modules are
imported by bare name, so this shared helper has a name no other test
directory uses; the scenario scripts import it too, under Debian's python3,
so it imports nothing that python3 lacks (pytest) at module level.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

#: A step's outcome: ``["ok", value]`` (plain JSON values) or ``["err", code]`` (libvirt's error number).
Outcome = list[Any]

HERE = Path(__file__).parent
#: The interpreter that has python3-libvirt (Debian's).
SYSTEM_PYTHON = "/usr/bin/python3"


class Side(Protocol):
    """What :func:`play` needs of a side's adapter."""

    def error_code(self, exc: BaseException) -> int | None:
        """libvirt's error number of ``exc``, or ``None`` when it is not the side's error."""


def plain(value: object) -> object:
    """A step's value as recorded: text, numbers and lists as they are, anything else (handles) ``None``."""
    return value if isinstance(value, (str, int, list)) else None


def play(
    side: Side,
    steps: Iterable[tuple[str, Callable[[], object]]],
    record: Callable[[object], object] = plain,
) -> list[tuple[str, Outcome]]:
    """Run every step in order: ``(label, ["ok", record(value)])`` or ``(label, ["err", code])``.

    An exception that is not the side's error (``side.error_code`` answers ``None``) propagates.
    """
    outcomes: list[tuple[str, Outcome]] = []
    for label, call in steps:
        try:
            value = call()
        except Exception as exc:
            code = side.error_code(exc)
            if code is None:
                raise
            outcomes.append((label, ["err", code]))
            continue
        outcomes.append((label, ["ok", record(value)]))
    return outcomes


def run_libvirt_side(script: str, *args: str) -> Any:
    """Run ``script`` (a file next to this one) under Debian's python3; what it prints, as JSON.

    Skips the calling test when that python3 cannot import libvirt: there is nothing to compare with.
    """
    import pytest  # not at module level: the scenario scripts import this module without pytest

    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import libvirt"], capture_output=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip(
            f"{SYSTEM_PYTHON} cannot import libvirt (Debian's python3-libvirt): nothing to compare with"
        )
    out = subprocess.run(
        [SYSTEM_PYTHON, str(HERE / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout)
