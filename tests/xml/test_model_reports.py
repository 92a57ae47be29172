"""The report and the formatter every declaratively described model shares (virtcore/xml/_spec.py).

Pools, volumes, networks and snapshots are each one ``typed(...)`` description;
what their XML holds beyond it is listed by the one :func:`virtcore.xml.unmodelled`
(paths from the model's root tag), refused by ``strict=True``, and written back;
formatting a value XML cannot hold is an ``XMLError`` naming the object.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest

from virtcore.errors import XMLError
from virtcore.xml import parse_network, parse_pool, parse_snapshot, parse_volume, unmodelled

CASES: list[tuple[Callable[..., Any], str, str, str]] = [
    (
        parse_pool,
        "<pool type='dir'><name>p</name><target><path>/p</path></target><x/><source y='1'/></pool>",
        "storage pool 'p'",
        "pool",
    ),
    (
        parse_volume,
        "<volume><name>v</name><capacity>1</capacity><x/><target y='1'/></volume>",
        "storage volume 'v'",
        "volume",
    ),
    (
        parse_network,
        "<network><name>n</name><x/><bridge name='b0' y='1'/></network>",
        "network 'n'",
        "network",
    ),
    (
        parse_snapshot,
        "<domainsnapshot><name>s</name><x/><memory snapshot='no' y='1'/></domainsnapshot>",
        "snapshot 's'",
        "domainsnapshot",
    ),
]


@pytest.mark.parametrize(("parse", "text", "what", "root"), CASES, ids=[c[3] for c in CASES])
def test_one_report_and_one_formatter_serve_every_described_model(
    parse: Callable[..., Any], text: str, what: str, root: str
) -> None:
    obj = parse(text)
    found = unmodelled(obj)
    assert f"{root}/x" in found and any(p.endswith("/@y") for p in found), found
    assert all(p.startswith(f"{root}/") for p in found)
    with pytest.raises(XMLError, match=f"{what} has XML the model does not cover"):
        parse(text, strict=True)
    again = parse(obj.to_xml())
    assert unmodelled(again) == found  # kept and written back
    assert unmodelled(attrs.evolve(obj, raw=None)) == []  # built in Python: nothing unmodelled
    # A name XML cannot hold is refused: by the model's own check, else by the formatter, naming it.
    with pytest.raises(
        XMLError, match=r"name 'a\\x01b' cannot contain|'a\x01b' holds text XML cannot represent"
    ):
        attrs.evolve(obj, name="a\x01b").to_xml()
