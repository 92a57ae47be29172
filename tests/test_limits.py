"""One set of rules for what a definition may hold, applied at define for every driver.

Each test runs over the mock driver (``test:///`` on a private node file), the real
QEMU driver (``qemu:///embed`` on a temporary root) and the Xen driver (over virt-xen's
fake ``xl``): define needs no running guest, so no guest is started.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import virtcore
from virtcore import limits
from virtcore.errors import ErrorNumber, InvalidArgError, VirtError, XMLError
from virtcore.limits import MAX_MEMORY_KIB, MAX_VCPUS
from virtcore.xml import parse_domain

EMPTY_NODE = "<node></node>"


def _domain_xml(
    domain_type: str,
    name: str = "limits",
    *,
    memory: str = "65536",
    vcpu: str = "1",
    vcpu_current: str | None = None,
) -> str:
    current = "" if vcpu_current is None else f" current='{vcpu_current}'"
    return (
        f"<domain type='{domain_type}'><name>{name}</name>"
        f"<memory unit='KiB'>{memory}</memory><vcpu{current}>{vcpu}</vcpu>"
        "<os><type arch='x86_64'>hvm</type></os></domain>"
    )


def _test_uri(tmp_path: Path) -> tuple[str, str]:
    node = tmp_path / "node.xml"
    node.write_text(EMPTY_NODE)
    return f"test://{node}", "test"


def _qemu_uri(tmp_path: Path) -> tuple[str, str]:
    if shutil.which("qemu-system-x86_64") is None:
        pytest.fail("qemu-system-x86_64 is not installed; the qemu driver cannot be tested")
    root = tmp_path / "root"
    root.mkdir()
    return f"qemu:///embed?root={root}", "qemu"


def _xen_uri(tmp_path: Path) -> tuple[str, str]:
    # virt-xen's own fake ``xl`` (a script keeping domains in a JSON file): no Xen needed
    source = Path(__file__).resolve().parents[1] / "plugins/virt-xen/tests/test_driver_fake_xl.py"
    spec = importlib.util.spec_from_file_location("virt_xen_fake_xl", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    xl = tmp_path / "bin" / "xl"
    xl.parent.mkdir()
    xl.write_text(module.FAKE_XL.replace("PYTHON", sys.executable))
    xl.chmod(0o755)
    return f"xen:///system?root={tmp_path / 'root'}&xl={xl}&xenstore={tmp_path / 'no-socket'}", "xen"


DRIVERS = {"test": _test_uri, "qemu": _qemu_uri, "xen": _xen_uri}


@pytest.fixture(params=sorted(DRIVERS))
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """``(uri, domain type)`` of a fresh, empty connection target for each driver."""
    make = DRIVERS[request.param]
    return make(tmp_path)


@pytest.fixture
def conn(driver: tuple[str, str]) -> Iterator[virtcore.Connection]:
    """A read-write connection to the driver under test."""
    c = virtcore.open(driver[0])
    try:
        yield c
    finally:
        c.close()


def _names(uri: str) -> list[str]:
    with virtcore.open(uri) as c:
        return sorted(d.name for d in c.list_domains())


def _names_in_child(uri: str, out: multiprocessing.queues.Queue[object]) -> None:
    try:
        out.put(_names(uri))
    except BaseException as exc:  # reported to the parent, which fails on it
        out.put(repr(exc))


# ---------------------------------------------------------------------------- define


@pytest.mark.parametrize(
    ("case", "kwargs", "needle"),
    [
        ("memory-zero", {"memory": "0"}, "<memory>"),
        ("vcpus-2**64", {"vcpu": str(2**64)}, "<vcpu>"),
        ("vcpus-100000", {"vcpu": "100000"}, "<vcpu>"),
        ("vcpus-above-max", {"vcpu": str(MAX_VCPUS + 1)}, str(MAX_VCPUS + 1)),
        ("current-vcpus-huge", {"vcpu": "2", "vcpu_current": str(2**64)}, "current"),
        ("memory-too-large", {"memory": str(MAX_MEMORY_KIB + 1)}, "<memory>"),
    ],
)
def test_define_refuses_out_of_range_numbers(
    conn: virtcore.Connection, driver: tuple[str, str], case: str, kwargs: dict[str, str], needle: str
) -> None:
    with pytest.raises(XMLError) as info:
        conn.define_domain(_domain_xml(driver[1], **kwargs))
    assert info.value.code == ErrorNumber.XML_ERROR
    assert needle in str(info.value)
    assert conn.list_domains() == []


@pytest.mark.parametrize(
    "name",
    ["a\nb", "tab\there", "next\u0085line", "a/b", "   "],
    ids=["newline", "tab", "c1-control", "slash", "blank"],
)
def test_define_refuses_bad_names(conn: virtcore.Connection, driver: tuple[str, str], name: str) -> None:
    xml = _domain_xml(driver[1], name=name)
    with pytest.raises(XMLError) as info:
        conn.define_domain(xml)
    # A blank name is no name: libvirt's NO_NAME (an XMLError); the others are malformed names.
    assert info.value.code == (ErrorNumber.NO_NAME if not name.strip() else ErrorNumber.XML_ERROR)
    assert "name" in str(info.value)
    assert conn.list_domains() == []


def test_define_accepts_the_limits(conn: virtcore.Connection, driver: tuple[str, str]) -> None:
    dom = conn.define_domain(_domain_xml(driver[1], name="edge", memory="1", vcpu=str(MAX_VCPUS)))
    info = dom.info()
    assert (info.max_memory, info.nr_virt_cpu) == (1, MAX_VCPUS)


# ---------------------------------------------------------------------------- setters


def test_set_max_memory_out_of_range_is_refused_and_the_domain_stays(
    driver: tuple[str, str], conn: virtcore.Connection
) -> None:
    uri, domain_type = driver
    dom = conn.define_domain(_domain_xml(domain_type))
    with pytest.raises(InvalidArgError) as info:
        dom.set_max_memory(2**63)
    assert str(2**63) in str(info.value)
    assert info.value.code == ErrorNumber.INVALID_ARG
    with pytest.raises(InvalidArgError, match=str(MAX_MEMORY_KIB + 1)):
        dom.set_max_memory(MAX_MEMORY_KIB + 1)
    # the definition was not touched: it still reads back, and (qemu, whose definitions
    # live on disk) a second connection and a second process still list it
    assert dom.info().max_memory == 65536
    assert parse_domain(dom.xml_desc(inactive=True)).memory == 65536
    if domain_type == "qemu":  # a test:/// file node is private to each connection
        assert _names(uri) == ["limits"]
        ctx = multiprocessing.get_context("spawn")
        out: multiprocessing.queues.Queue[object] = ctx.Queue()
        proc = ctx.Process(target=_names_in_child, args=(uri, out))
        proc.start()
        try:
            assert out.get(timeout=120) == ["limits"]
        finally:
            proc.join(timeout=60)
    # and redefining the name works
    xml = _domain_xml(domain_type, memory="131072").replace("</name>", f"</name><uuid>{dom.uuid}</uuid>")
    conn.define_domain(xml)
    assert dom.info().max_memory == 131072


def test_set_max_memory_at_the_limit_round_trips(driver: tuple[str, str], conn: virtcore.Connection) -> None:
    uri, domain_type = driver
    dom = conn.define_domain(_domain_xml(domain_type))
    dom.set_max_memory(MAX_MEMORY_KIB)
    assert dom.info().max_memory == MAX_MEMORY_KIB
    if domain_type == "qemu":
        with virtcore.open(uri) as other:
            assert other.lookup_domain("limits").info().max_memory == MAX_MEMORY_KIB


@pytest.mark.parametrize("value", [0, -1, 2**63, MAX_MEMORY_KIB + 1, True, 1.5])
def test_set_memory_out_of_range(conn: virtcore.Connection, driver: tuple[str, str], value: object) -> None:
    dom = conn.define_domain(_domain_xml(driver[1]))
    with pytest.raises(InvalidArgError, match="memory") as info:
        dom.set_memory(value)  # type: ignore[arg-type]
    assert repr(value) in str(info.value) or str(value) in str(info.value)
    assert dom.info().memory == 65536


@pytest.mark.parametrize("value", [0, -3, MAX_VCPUS + 1, 2**64, False])
def test_set_vcpus_out_of_range(conn: virtcore.Connection, driver: tuple[str, str], value: object) -> None:
    dom = conn.define_domain(_domain_xml(driver[1], vcpu="2"))
    with pytest.raises(InvalidArgError, match="vcpu") as info:
        dom.set_vcpus(value)  # type: ignore[arg-type]
    assert str(value) in str(info.value)
    assert dom.info().nr_virt_cpu == 2


def test_every_rule_error_is_a_virt_error() -> None:
    from virtcore import limits

    for bad in (None, "", "a/b", "x\n", 3):
        with pytest.raises(VirtError):
            limits.check_name(bad)
    for bad_number in (None, "1", 0, -1, MAX_MEMORY_KIB + 1, 2.0):
        with pytest.raises(VirtError):
            limits.check_memory(bad_number)


@given(st.text(alphabet=st.characters(max_codepoint=0x3000), max_size=12))
def test_the_control_character_check_finds_what_its_regular_expression_finds(text: str) -> None:
    # check_name reads control characters with str methods (no regex compiled on a cold open).
    found = re.search("[\x00-\x1f\x7f-\x9f]", text)
    assert limits._control_char(text) == (found.group() if found else None)
