"""libvirt-python 9.0.0's source (its tests/ and examples/), fetched from PyPI at test time, never vendored.

``pip download --no-deps --no-binary :all: libvirt-python==9.0.0`` once into
``$XDG_CACHE_HOME/virtcore/libvirt-python-9.0.0/`` (``~/.cache`` by default),
checked against the SHA-256 below and unpacked there. Offline, :func:`require`
skips the calling test with one line saying why.
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

VERSION = "9.0.0"
#: The sdist's SHA-256 (PyPI's libvirt-python-9.0.0.tar.gz).
SHA256 = "49702d33fa8cbcae19fa727467a69f7ae2241b3091324085ca1cc752b2b414ce"
SDIST = f"libvirt-python-{VERSION}.tar.gz"
PIP_DOWNLOAD = (sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:")


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/virtcore`` (a relative XDG value is ignored, as the spec says)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "virtcore"


@functools.cache
def fetch() -> Path | str:
    """The unpacked source tree, or why it could not be had."""
    home = cache_dir() / f"libvirt-python-{VERSION}"
    tree = home / f"libvirt-python-{VERSION}"
    if (tree / "tests").is_dir() and (tree / "examples").is_dir():
        return tree
    home.mkdir(parents=True, exist_ok=True)
    sdist = home / SDIST
    if not sdist.exists():
        out = subprocess.run(
            [*PIP_DOWNLOAD, "-d", str(home), f"libvirt-python=={VERSION}"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if not sdist.exists():
            last = (out.stderr.strip().splitlines() or ["no output"])[-1]
            return f"cannot download libvirt-python {VERSION} from PyPI: {last}"
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != SHA256:
        sdist.unlink()
        return f"{SDIST} has SHA-256 {digest}, not {SHA256}: removed"
    with tarfile.open(sdist) as tar:
        tar.extractall(home, filter="data")
    return tree


def require() -> Path:
    """The source tree; skips the calling test when it cannot be fetched."""
    got = fetch()
    if isinstance(got, str):
        pytest.skip(got)
    return got
