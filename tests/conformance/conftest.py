"""The driver conformance suite: one set of tests, written against the public API, run on every driver.

Select drivers with ``--driver-uri`` (repeatable). In a URI, ``{tmp}`` is
replaced by a fresh directory per test and ``{session_tmp}`` by one directory
for the whole run. For ``test://`` URIs naming a file that does not exist, an
empty node file is written there first.

Drivers that can only run particular guests (a real QEMU needs a kernel) give
a domain template with ``--domain-template FILE``: domain XML in which
``{name}`` and ``{uuid}`` are replaced. The default template is a small HVM
domain that the test driver accepts.

Operations a driver does not implement are reported as xfail ("driver X does
not implement domain_suspend"), so the gaps stay visible.
"""

from __future__ import annotations

import os
import uuid as uuidlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import virtcore

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

DEFAULT_TEMPLATE = """\
<domain type='test'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>256</memory>
  <currentMemory unit='MiB'>128</currentMemory>
  <vcpu current='1'>2</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/images/{name}.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:12:34:56'/>
      <source network='default'/>
    </interface>
  </devices>
</domain>
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


@pytest.fixture
def uri(driver_uri: str, tmp_path: Path, session_dir: Path) -> str:
    text = driver_uri.replace("{tmp}", str(tmp_path)).replace("{session_tmp}", str(session_dir))
    if text.startswith("test:///") and text != "test:///default":
        path = Path(text[len("test://") :])
        if not path.exists():
            path.write_text(SEED_NODE)
    return text


@pytest.fixture
def created() -> list[str]:
    """Names of the domains this test made; the ``conn`` fixture removes them afterwards."""
    return []


@pytest.fixture
def conn(uri: str, created: list[str]) -> Iterator[virtcore.Connection]:
    c = virtcore.open(uri)
    try:
        yield c
    finally:
        _cleanup(c, created)
        c.close()


def _cleanup(c: virtcore.Connection, names: list[str]) -> None:
    for name in names:
        try:
            dom = c.lookup_domain(name)
        except virtcore.errors.NoDomainError:
            continue
        try:
            if dom.is_active():
                dom.destroy()
        except virtcore.errors.VirtError:
            pass
        try:
            if dom.is_persistent():
                dom.undefine()
        except virtcore.errors.VirtError:
            pass


@pytest.fixture
def template(request: pytest.FixtureRequest) -> str:
    path = request.config.getoption("--domain-template")
    if path:
        return Path(path).read_text()
    return DEFAULT_TEMPLATE


@pytest.fixture
def make_xml(template: str, request: pytest.FixtureRequest) -> Callable[..., str]:
    """``make_xml(suffix="")`` -> ``(xml)`` of a domain with a unique name for this test."""
    base = "conf-" + request.node.name.split("[")[0].removeprefix("test_")[:40].replace("_", "-")

    def make(suffix: str = "", uuid: str | None = None) -> str:
        name = base + (f"-{suffix}" if suffix else "") + f"-{os.getpid()}"
        return template.replace("{name}", name).replace("{uuid}", uuid or str(uuidlib.uuid4()))

    return make


@pytest.fixture
def define(
    conn: virtcore.Connection, make_xml: Callable[..., str], created: list[str]
) -> Callable[..., virtcore.Domain]:
    """Define a domain from the template and clean it up after the test."""

    def do(suffix: str = "", uuid: str | None = None) -> virtcore.Domain:
        need(conn, "domain_define_xml")
        dom = conn.define_domain(make_xml(suffix, uuid))
        created.append(dom.name)
        return dom

    return do


@pytest.fixture
def running(conn: virtcore.Connection, define: Callable[..., virtcore.Domain]) -> virtcore.Domain:
    """A defined domain, started."""
    dom = define()
    need(conn, "domain_create")
    dom.start()
    return dom


def need(conn: virtcore.Connection, *operations: str) -> None:
    """xfail the test when the driver lacks one of ``operations``."""
    for op in operations:
        if not conn.supports(op):
            pytest.xfail(f"driver {conn.parsed_uri.driver!r} does not implement {op}")
