"""Guest NICs on virtual networks in virt-qemu: bridges resolved through the connection, TAPs named.

The pure part (which bridge, which ``vnetN``, what the live XML records) is
pinned here; the real guest on a real network, in a namespace of the test's
own, is in ``test_qemu_network_guest.py``.
"""

from __future__ import annotations

import pytest
from virt_qemu.netifaces import host_mac, name_taps, resolve_bridges, tap_names_free

from virtcore.errors import ConfigUnsupportedError, NoNetworkError, NoSupportError, OperationInvalidError
from virtcore.xml import format_domain, parse_domain

XML = """<domain type='qemu'><name>web</name><memory>131072</memory><os><type>hvm</type></os><devices>
<interface type='network'><mac address='52:54:00:00:0d:01'/><source network='lan'/></interface>
<interface type='user'><mac address='52:54:00:00:0d:02'/></interface>
<interface type='network'><mac address='52:54:00:00:0d:03'/><source network='lab'/>
  <target dev='mytap'/></interface>
<interface type='network'><mac address='52:54:00:00:0d:04'/><source network='lan'/></interface>
</devices></domain>"""


def bridges_of(name: str) -> str:
    known = {"lan": "vcbr0", "lab": "vcbr1"}
    if name == "down":
        raise OperationInvalidError(f"network '{name}' is not active")
    if name not in known:
        raise NoNetworkError(f"no network with matching name '{name}'")
    return known[name]


def test_each_network_nic_gets_its_bridge_and_a_free_vnet_name_recorded_in_the_live_xml() -> None:
    d = parse_domain(XML)
    bridges = resolve_bridges(d, bridges_of)
    assert bridges == {0: "vcbr0", 2: "vcbr1", 3: "vcbr0"}
    live = name_taps(d, bridges)
    nics = live.interfaces
    assert [(n.source_bridge, n.target_dev) for n in nics] == [
        ("vcbr0", nics[0].target_dev),
        (None, None),
        ("vcbr1", "mytap"),
        ("vcbr0", nics[3].target_dev),
    ]
    assert nics[0].target_dev != nics[3].target_dev
    assert {nics[0].target_dev, nics[3].target_dev} <= {f"vnet{n}" for n in range(64)}
    text = format_domain(live)
    assert '<source network="lan" bridge="vcbr0"/>' in text
    assert f'<target dev="{nics[0].target_dev}"/>' in text
    assert parse_domain(text).interfaces[2].source_bridge == "vcbr1"  # the live XML reads back


def test_vnet_names_skip_what_is_taken() -> None:
    first = next(tap_names_free(1, set()))
    assert list(tap_names_free(2, {first})) == [n for n in tap_names_free(3, set()) if n != first][:2]
    assert host_mac("52:54:00:AB:00:01") == "fe:54:00:ab:00:01"


@pytest.mark.parametrize(
    ("network", "error", "message"),
    [
        ("down", OperationInvalidError, r"network 'down' is not active"),
        ("nowhere", NoNetworkError, r"'nowhere' \(network of interface 0 of domain 'web'\)"),
    ],
)
def test_a_network_that_cannot_serve_refuses_the_start_naming_the_nic(
    network: str, error: type[Exception], message: str
) -> None:
    d = parse_domain(XML.replace("'lan'", f"'{network}'"))
    with pytest.raises(error, match=message):
        resolve_bridges(d, bridges_of)


def test_without_a_network_driver_or_with_unsafe_names_nothing_starts() -> None:
    d = parse_domain(XML)
    with pytest.raises(NoSupportError, match="connection is not open"):
        resolve_bridges(d, None)

    def no_driver(name: str) -> str:
        raise NoSupportError(
            "this function is not supported by the connection driver: network_lookup_by_name"
        )

    with pytest.raises(NoSupportError, match="is a network driver installed"):
        resolve_bridges(d, no_driver)
    with pytest.raises(ConfigUnsupportedError, match="bridge '-x' is not a usable interface name"):
        resolve_bridges(d, lambda name: "-x")
    with pytest.raises(ConfigUnsupportedError, match="target dev of interface 2"):
        resolve_bridges(parse_domain(XML.replace("mytap", "a/b")), bridges_of)


def test_a_vnet_name_from_an_earlier_run_is_picked_afresh_and_a_chosen_name_kept() -> None:
    d = parse_domain(
        XML.replace(
            "<source network='lan'/></interface>",
            "<source network='lan'/><target dev='vnet9999'/></interface>",
            1,
        )
    )
    live = name_taps(d, resolve_bridges(d, bridges_of))
    names = [n.target_dev for n in live.interfaces]
    assert names[0] != "vnet9999" and names[0] is not None and names[0].startswith("vnet")
    assert names[2] == "mytap"
