"""What every conformance test calls: :func:`need` (xfail on a missing operation) and :func:`wait_for`.

Its own module so that each part of the suite (domains in
:mod:`virtcore.testing.conformance`, storage in
:mod:`virtcore.testing.storage_conformance`) uses them without importing
the other.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

import virtcore

__all__ = ["need", "wait_for"]


def need(conn: virtcore.Connection, *operations: str) -> None:
    """xfail the calling test when the driver lacks one of ``operations``."""
    for op in operations:
        if not conn.supports(op):
            pytest.xfail(f"driver {conn.parsed_uri.driver!r} does not implement {op}")


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` until true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)
