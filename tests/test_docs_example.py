"""The minimal driver of the plugin author guide (docs/plugins.rst) works as the guide shows.

The guide includes docs/examples/virt-hello verbatim and shows a console
session with it; this test loads that driver and replays the session through
the CLI, comparing the output line by line.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

import virtcore
from virtcore import drivers
from virtcore.cli import main

DOCS = Path(__file__).resolve().parents[1] / "docs"
EXAMPLE = DOCS / "examples" / "virt-hello"


@pytest.fixture
def hello_installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """virt-hello as if pip-installed: importable, and its entry point known to discovery."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    import virt_hello

    real = drivers.installed_drivers()
    fake = drivers.InstalledDriver("hello", "virt_hello:driver", "virt-hello", "0.1.0")
    monkeypatch.setattr(drivers, "installed_drivers", lambda: sorted([*real, fake], key=lambda d: d.scheme))
    monkeypatch.setitem(drivers._loaded, "hello", virt_hello.driver)
    yield


def _console_sessions(rst: str) -> list[tuple[list[str], list[str]]]:
    """``(argv, expected output lines)`` for each ``$ virtcore ...`` in console blocks of ``rst``."""
    sessions: list[tuple[list[str], list[str]]] = []
    in_console = False
    for line in rst.splitlines():
        if line.startswith(".. code-block::"):
            in_console = line.split("::", 1)[1].strip() == "console"
            continue
        if in_console and line and not line.startswith("   "):
            in_console = False
        if not in_console:
            continue
        body = line[3:]
        if body.startswith("$ virtcore "):
            sessions.append((shlex.split(body[len("$ virtcore ") :]), []))
        elif sessions and body.startswith("$ "):
            sessions.append(([], []))  # some other command: not replayed
        elif sessions and sessions[-1][0]:
            sessions[-1][1].append(body)
    return [(argv, out) for argv, out in sessions if argv and argv[:2] == ["-c", "hello:///default"]]


def test_guide_shows_the_example_files_verbatim() -> None:
    rst = (DOCS / "plugins.rst").read_text(encoding="utf-8")
    assert ".. literalinclude:: examples/virt-hello/pyproject.toml" in rst
    assert ".. literalinclude:: examples/virt-hello/virt_hello/__init__.py" in rst
    pyproject = (EXAMPLE / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(
        r'\[project\.entry-points\."virtcore\.drivers"\]\s*\nhello = "virt_hello:driver"', pyproject
    )


def test_console_session_of_the_guide(hello_installed: None, capsys: pytest.CaptureFixture[str]) -> None:
    sessions = _console_sessions((DOCS / "plugins.rst").read_text(encoding="utf-8"))
    assert len(sessions) == 3
    # One connection per command, as in separate processes: each starts from the driver's initial state.
    for argv, expected in sessions:
        status = main(argv)
        out, err = capsys.readouterr()
        got = (out + err).rstrip("\n").splitlines()
        want = "\n".join(expected).rstrip("\n").splitlines()
        assert got == want, argv
        assert status == (1 if err else 0)


def test_example_driver_supports_exactly_its_hooks(hello_installed: None) -> None:
    with virtcore.open("hello:///default") as conn:
        assert conn.supported_operations() == {
            "connect_get_type",
            "node_get_info",
            "connect_list_all_domains",
            "domain_lookup_by_name",
            "domain_lookup_by_uuid",
            "domain_get_state",
            "domain_get_info",
            "domain_suspend",
        }
        bob = conn.lookup_domain("bob")
        bob.suspend()
        with pytest.raises(virtcore.errors.OperationInvalidError, match="bob"):
            bob.suspend()
        with pytest.raises(virtcore.errors.NoDomainError):
            conn.lookup_domain("carol")
    with pytest.raises(virtcore.errors.NoConnectError, match="hello:///other"):
        virtcore.open("hello:///other")


def test_example_driver_in_the_drivers_listing(
    hello_installed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["drivers"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith(" hello "))
    assert line.split() == [
        "hello",
        "virt-hello",
        "0.1.0",
        "8",
        "of",
        str(len(virtcore.OPERATIONS)),
        "plugin",
        "classes",  # read from HelloDriver's hooks, no connection opened
    ]
