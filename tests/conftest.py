"""Fixtures of the core's tests: running the command line in-process, and a fresh ``test:///default``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cli_support import DEFAULT, Run

from virtcore.cli import main


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """``run("list", "--all", uri=...)`` -> ``(status, stdout, stderr)``; ``uri=None`` gives no ``-c``."""
    monkeypatch.delenv("VIRTCORE_DEFAULT_URI", raising=False)
    monkeypatch.delenv("VIRTCORE_DEBUG", raising=False)

    def call(*argv: str, uri: str | None = DEFAULT, read_only: bool = False) -> tuple[int, str, str]:
        capsys.readouterr()
        args = (["-c", uri] if uri is not None else []) + (["-r"] if read_only else []) + list(argv)
        status = main(args)
        out, err = capsys.readouterr()
        return status, out, err

    return call


@pytest.fixture
def fresh_default() -> Iterator[None]:
    """libvirt's default contents for ``test:///default`` before and after the test.

    The command-line test modules use it for every test (``pytestmark``). A connection held
    open for the test keeps the state from one command to the next, as one libvirtd would
    (libvirt's test driver forgets ``test:///default`` when its last connection closes).
    """
    from virt_test import reset_default_node

    import virtcore

    reset_default_node()
    held = virtcore.open("test:///default")
    yield
    held.close()
    reset_default_node()
