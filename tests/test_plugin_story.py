"""The plugin story, end to end: a third-party driver distribution, pip-installed into a fresh venv.

Nothing here is faked: the distribution is built by pip from a temporary
directory, its entry point lands in the venv's metadata, and a new Python
process finds it through stevedore when it opens ``toy:///``.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

TOY_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "toy-virt-driver"
version = "1.0"
dependencies = ["virtcore"]

[project.entry-points."virtcore.drivers"]
toy = "toy_driver:open_connection"

[tool.hatch.build.targets.wheel]
include = ["toy_driver.py"]
"""

TOY_MODULE = '''\
"""A third-party virtcore driver: two VMs that never change."""
from virtcore import DomainRef, DomainInfo, DomainState, hookimpl
from virtcore.errors import NoDomainError

VMS = {"alpha": DomainRef("alpha", "00000000-0000-0000-0000-00000000000a", 1),
       "beta": DomainRef("beta", "00000000-0000-0000-0000-00000000000b", -1)}


def open_connection(uri, read_only):
    return [ToyDriver()]


class ToyDriver:
    @hookimpl
    def virt_connect_get_type(self):
        return "TOY"

    @hookimpl
    def virt_connect_list_all_domains(self, active):
        return [r for r in VMS.values() if active is None or (r.id > 0) == active]

    @hookimpl
    def virt_domain_lookup_by_name(self, name):
        try:
            return VMS[name]
        except KeyError:
            raise NoDomainError(name) from None

    @hookimpl
    def virt_domain_get_info(self, uuid):
        running = any(r.uuid == uuid and r.id > 0 for r in VMS.values())
        state = DomainState.RUNNING if running else DomainState.SHUTOFF
        return DomainInfo(state, 4096, 2048, 1, 0)
'''

USER_SCRIPT = """\
import virtcore
from virtcore.errors import NoSupportError, OperationDeniedError
with virtcore.open("toy:///anything") as conn:
    print("type", conn.get_type())
    print("domains", sorted(d.name for d in conn.list_domains()))
    print("active", [d.name for d in conn.list_domains(active=True)])
    print("info", tuple(conn.lookup_domain("alpha").info()))
    print("ops", sorted(conn.supported_operations()))
    try:
        conn.lookup_domain("alpha").suspend()
    except NoSupportError as exc:
        print("suspend", exc.code, exc)
"""


def write_toy_source(root: Path) -> Path:
    """The toy driver's source tree under ``root``, ready for ``pip install``."""
    src = root / "toy-virt-driver"
    src.mkdir()
    (src / "pyproject.toml").write_text(TOY_PYPROJECT)
    (src / "toy_driver.py").write_text(TOY_MODULE)
    return src


def make_venv(env_dir: Path) -> Path:
    """A fresh venv that sees this environment's packages (virtcore and its dependencies); its python."""
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    here = [p for p in sys.path if p and Path(p).is_dir() and "site-packages" in p]
    here += site.getsitepackages()
    Path(purelib, "outer-environment.pth").write_text("\n".join(dict.fromkeys(here)) + "\n")
    return python


def pip(python: Path, *args: str) -> None:
    """Run pip in ``python``'s venv, offline."""
    subprocess.run(
        [python, "-m", "pip", *args, "--quiet"],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def toy_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("plugin-story")
    src = write_toy_source(root)
    # The outer environment's packages are visible to the new venv, so the
    # install needs no network.
    python = make_venv(root / "venv")
    pip(python, "install", "--no-deps", "--no-build-isolation", "--no-index", str(src))
    return python


def _run(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTCORE_DEFAULT_URI")}
    return subprocess.run([str(python), *args], capture_output=True, text=True, timeout=120, env=env)


def test_installed_driver_is_found_through_its_entry_point(toy_venv: Path) -> None:
    out = _run(toy_venv, "-c", USER_SCRIPT)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert lines["type"] == "TOY"
    assert lines["domains"] == "['alpha', 'beta']"
    assert lines["active"] == "['alpha']"
    assert lines["info"] == "(<DomainState.RUNNING: 1>, 4096, 2048, 1, 0)"
    assert lines["ops"] == repr(
        sorted(["connect_get_type", "connect_list_all_domains", "domain_lookup_by_name", "domain_get_info"])
    )
    assert lines["suspend"] == "3 this function is not supported by the connection driver: domain_suspend"


def test_uninstalled_scheme_is_no_connect_in_the_same_venv(toy_venv: Path) -> None:
    out = _run(toy_venv, "-c", "import virtcore; virtcore.open('nothere:///')")
    assert out.returncode != 0
    assert "NoConnectError: no connection driver available for URI 'nothere:///'" in out.stderr


def test_cli_lists_the_third_party_driver(toy_venv: Path) -> None:
    out = _run(toy_venv, "-m", "virtcore", "drivers")
    assert out.returncode == 0, out.stderr
    assert "toy" in out.stdout
    assert "toy_driver:open_connection" in out.stdout or "toy-virt-driver" in out.stdout
