"""The recipe of docs/xml-model.rst: one typed attribute on <disk> is one line.

A ``typed(...)`` field declares where its value lives; parsing, both formatting
paths and the coverage report take it from there.
"""

from __future__ import annotations

import attrs
import pytest

from virtcore.errors import XMLError
from virtcore.xml import Disk, format_domain, parse_domain, secure_parse
from virtcore.xml._coverage import uncovered
from virtcore.xml._spec import UINT, typed
from virtcore.xml._textfmt import _format_text


@attrs.frozen
class IoDisk(Disk):
    """A <disk> with two more typed attributes, declared as the recipe says."""

    driver_io: str | None = typed("cattr", "driver", "io")
    queues: int | None = typed("cattr", "driver", "queues", conv=UINT)


SOURCE = (
    "<disk type='file' device='disk'><driver name='qemu' type='raw' io='native' queues='0x4'/>"
    "<source file='/a.img'/><target dev='vda' bus='virtio'/><unknown/></disk>"
)


def test_the_extra_attributes_are_parsed() -> None:
    d = IoDisk.from_element(secure_parse(SOURCE))
    assert (d.driver_io, d.queues, d.driver_name, d.source) == ("native", 4, "qemu", "/a.img")


def test_unchanged_values_keep_their_spelling_and_changed_ones_are_written() -> None:
    d = IoDisk.from_element(secure_parse(SOURCE))
    drv = d.to_element().find("driver")
    assert drv is not None and drv.get("io") == "native" and drv.get("queues") == "0x4"
    drv = attrs.evolve(d, driver_io="threads", queues=None).to_element().find("driver")
    assert drv is not None
    assert (drv.get("io"), drv.get("queues"), drv.get("name")) == ("threads", None, "qemu")


def test_a_disk_built_in_python_gets_the_child_in_libvirts_order() -> None:
    el = IoDisk(source="/b.img", target_dev="vdb", driver_io="io_uring").to_element()
    assert [c.tag for c in el] == ["driver", "source", "target"]
    assert el[0].attrib == {"io": "io_uring"}


def test_the_text_formatter_writes_them() -> None:
    d = parse_domain(
        "<domain type='test'><name>vm</name><memory>1024</memory><os><type>hvm</type></os></domain>"
    )
    disk = IoDisk(source="/b.img", target_dev="vdb", driver_io="native")
    text = format_domain(attrs.evolve(d, devices=(disk,)))
    assert '<driver io="native"/>' in text
    assert _format_text(attrs.evolve(d, devices=(disk,)), None) == text


def test_coverage_includes_them() -> None:
    el = secure_parse(SOURCE)
    assert uncovered(el, Disk.covered(), "disk") == ["disk/driver/@io", "disk/driver/@queues", "disk/unknown"]
    assert uncovered(el, IoDisk.covered(), "disk") == ["disk/unknown"]


def test_an_invalid_value_is_refused_naming_the_place() -> None:
    with pytest.raises(XMLError, match="<disk><driver> attribute 'queues'"):
        IoDisk.from_element(secure_parse(SOURCE.replace("0x4", "lots")))
