"""What the command-line tests share: the default URI, the ``run`` result type and virsh as a peer.

The ``run`` and ``fresh_default`` fixtures are in ``tests/conftest.py``; this module
holds what a test module calls itself.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

import pytest

__all__ = ["DEFAULT", "Run", "virsh"]

DEFAULT = "test:///default"

#: ``run(*argv, uri=DEFAULT, read_only=False) -> (status, stdout, stderr)``.
Run = Callable[..., tuple[int, str, str]]


def virsh(*commands: str, uri: str = DEFAULT) -> str:
    """virsh's stdout for ``commands`` run in one virsh process on ``uri`` (libvirt's test:///default).

    Skips the calling test when virsh (Debian's libvirt-clients) is not installed.
    """
    exe = shutil.which("virsh")
    if exe is None:
        pytest.skip("virsh (Debian's libvirt-clients) is not installed: nothing to compare with")
    done = subprocess.run([exe, "-c", uri, "; ".join(commands)], capture_output=True, text=True, timeout=60)
    return done.stdout
