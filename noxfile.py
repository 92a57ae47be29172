"""Development sessions: ``nox -s tests``, ``lint``, ``typecheck``, ``bench``, ``docs``.

Each session installs the core and every driver distribution under
``plugins/`` from this checkout into its own virtualenv.
"""

from __future__ import annotations

from pathlib import Path

import nox

ROOT = Path(__file__).parent
PLUGINS = sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())
# hatchling: the plugin-story test builds a third-party driver offline with it; mypy: a test
# checks that the dispatch table is typed by the hookspecs (a misspelled operation fails mypy).
TEST_DEPS = [
    "pytest>=8",
    "hypothesis>=6.100",
    "pytest-timeout>=2.3",
    "hatchling>=1.18",
    "mypy>=1.10",
    "lxml-stubs",
]
# pytest: autodoc imports virtcore.testing.conformance, the conformance suite, which runs under
# pytest (virtcore's "testing" extra). tests/test_docs_build.py checks this list is complete.
DOCS_DEPS = ["sphinx>=7", "pytest>=8"]

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True


def _install_project(session: nox.Session, *extra: str) -> None:
    session.install("-e", str(ROOT), *[arg for p in PLUGINS for arg in ("-e", str(p))], *extra)


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """The test suites of the core and of every driver, real QEMU and Xen included."""
    _install_project(session, *TEST_DEPS)
    # libvirt's test data: ../shared when it is there, else fetched once into ~/.cache
    # (offline, it says why and the tests that need the data skip in one line).
    session.run("python", str(ROOT / "tests" / "libvirt_testdata.py"), "fetch")
    paths = ["tests", *[str(p / "tests") for p in PLUGINS if (p / "tests").is_dir()]]
    session.run("pytest", *paths, *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over everything."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the core and the drivers."""
    _install_project(session, "mypy>=1.10", "lxml-stubs", "pytest", "hypothesis")
    packages = ["virtcore", *[str(p / p.name.replace("-", "_")) for p in PLUGINS]]
    # virt-libvirt installs top-level modules (libvirt, libvirt_qemu...) beside its package.
    packages += [str(m) for p in PLUGINS for m in sorted(p.glob("*.py"))]
    session.run("mypy", *packages)


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """Sphinx HTML docs, warnings as errors (the support matrix is generated from the installed drivers)."""
    _install_project(session, *DOCS_DEPS)
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Per-operation cost, side by side with libvirt where it is importable."""
    _install_project(session)
    session.run("python", str(ROOT / "bench" / "run.py"), *session.posargs)
