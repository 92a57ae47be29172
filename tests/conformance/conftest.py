"""Run virtcore's conformance suite (virtcore.testing.DriverConformance) over our drivers.

Select drivers with ``--driver-uri`` (repeatable; default: the test driver,
both a private node file and ``test:///default``). In a URI, ``{tmp}`` is
replaced by a fresh directory per test and ``{session_tmp}`` by one
directory for the whole run. For ``test://`` URIs naming a file that does
not exist, a node file with one shut-off domain is written there first.

Drivers that can only run particular guests (a real QEMU needs a kernel)
give a domain template with ``--domain-template FILE``: domain XML in which
``{name}`` and ``{uuid}`` are replaced.
"""

from __future__ import annotations

from pathlib import Path

import pytest

DEFAULT_URIS = ["test://{tmp}/node.xml", "test:///default"]

#: The node written for ``test:///FILE`` URIs: one shut-off domain, so that a
#: second (private) connection to the file has something to look at.
SEED_NODE = """\
<node>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>seed</name>
    <memory unit='MiB'>64</memory>
    <os><type>hvm</type></os>
    <test:runstate>5</test:runstate>
  </domain>
</node>
"""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("virtcore conformance")
    group.addoption("--driver-uri", action="append", default=[], help="URI of a driver to check (repeatable)")
    group.addoption("--domain-template", default=None, help="domain XML with {name} and {uuid} placeholders")
    group.addoption(
        "--shutdown-timeout", type=float, default=60.0, help="seconds a guest may take to power off"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "driver_uri" in metafunc.fixturenames:
        uris = metafunc.config.getoption("--driver-uri") or DEFAULT_URIS
        metafunc.parametrize("driver_uri", uris, scope="session")


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("conformance-session")
