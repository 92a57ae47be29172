"""Running one unchanged script under Debian's python3-libvirt and under virt-libvirt, side by side.

A script imports ``libvirt`` and prints JSON. :meth:`SideBySide.run` runs it
with Debian's ``/usr/bin/python3`` (whose ``libvirt`` is python3-libvirt: the
virtualenv's modules are not on its path) and with this virtualenv's Python
(whose ``libvirt`` is virt-libvirt's), and gives both outputs. Test modules
are imported by bare name, so this helper has a name no other test directory uses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

#: The interpreter that has python3-libvirt (Debian's).
SYSTEM_PYTHON = "/usr/bin/python3"
HERE = Path(__file__).parent


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a child interpreter: no PYTHONPATH that could mix the two ``libvirt`` modules."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LIBVIRT_DEFAULT_URI")}
    env.update(extra)
    return env


def run_script(python: str, code: str, *args: str, env: dict[str, str] | None = None) -> Any:
    """Run ``code`` (a script's text) under ``python``; what it printed, as JSON."""
    return _run_json([python, "-c", code, *args], env)


def run_program(python: str, program: Path, *args: str) -> Any:
    """Run the script file ``program`` under ``python`` (its directory first on ``sys.path``, so
    it imports the modules next to it, e.g. ``programs/recording.py``); what it printed, as JSON."""
    return _run_json([python, str(program), *args], None)


def _run_json(argv: list[str], env: dict[str, str] | None) -> Any:
    what = argv[0] if argv[1] == "-c" else f"{argv[0]} {argv[1]}"
    out = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=300,
        env=env or clean_env(),
        cwd="/",
    )
    if out.returncode != 0:
        raise AssertionError(f"{what} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout)


def debian_libvirt_missing() -> str | None:
    """Why Debian's python3-libvirt cannot be compared with, or None."""
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import libvirt"], capture_output=True, timeout=60, env=clean_env(), cwd="/"
    )
    if probe.returncode != 0:
        return f"{SYSTEM_PYTHON} cannot import libvirt (Debian's python3-libvirt): nothing to compare with"
    return None


class SideBySide:
    """Runs a script under both ``libvirt`` modules."""

    def run(self, code: str, *args: str) -> tuple[Any, Any]:
        """``(libvirt-python's output, virt-libvirt's output)``; skips when Debian's is not there."""
        why = debian_libvirt_missing()
        if why is not None:
            pytest.skip(why)
        return run_script(SYSTEM_PYTHON, code, *args), run_script(sys.executable, code, *args)

    def run_program(self, program: Path, *args: str) -> tuple[Any, Any]:
        """:meth:`run` of the script file ``program`` (see :func:`run_program`)."""
        why = debian_libvirt_missing()
        if why is not None:
            pytest.skip(why)
        return run_program(SYSTEM_PYTHON, program, *args), run_program(sys.executable, program, *args)
