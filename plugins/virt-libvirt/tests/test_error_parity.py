"""Failing calls side by side: virt-test's errors are libvirt 9.0's test driver's (code, domain, message).

``programs/failing_calls.py`` makes ~90 calls that fail (every object type: domains
in every wrong state, unknown names/UUIDs/IDs, bad XML, duplicates, unknown flags;
snapshots, checkpoints, networks, pools, volumes, node devices, interfaces,
secrets) and prints each error as ``[code, domain, message]``. It runs unchanged
under Debian's python3-libvirt against libvirt's own test driver and under
virt-libvirt against virt-test; every call must fail alike but for

- :data:`DIFFERENT_ERRORS`: a different code or domain, each a strict xfail naming why;
- :data:`DIFFERENT_MESSAGES`: the same code and domain in other words, each a strict
  xfail naming why (mostly: virtcore's message names the object where libvirt 9.0's
  test driver says ``"domain is not running"`` or ``"Domain not found"`` alone).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from compat_peer import SideBySide

PROGRAM = Path(__file__).parent / "programs" / "failing_calls.py"

_SECRETS = (
    "libvirt 9.0's test driver has no secrets (NO_SUPPORT); virt-test keeps them, as libvirt's secret driver"
)
#: key -> why virt-test's error has another code or domain than libvirt 9.0's test driver's.
DIFFERENT_ERRORS: dict[str, str] = {
    "net_leases_bad_flags": (
        "libvirt 9.0's test driver has no virNetworkGetDHCPLeases (NO_SUPPORT); virt-libvirt checks the flags"
    ),
    "secret_define": _SECRETS,
    "secret_define_bad_xml": _SECRETS,
    "secret_lookup_usage": _SECRETS,
    "secret_lookup_uuid": _SECRETS,
    "net_destroy_inactive": (
        "libvirt 9.0's test driver 'destroys' a network that is not running;"
        " virt-test refuses (OPERATION_INVALID)"
        " as libvirt's network driver"
    ),
    "transient_autostart": (
        "libvirt 9.0's test driver sets autostart on a transient domain; virt-test refuses as its QEMU driver"
    ),
    "transient_undefine": (
        "libvirt 9.0's test driver 'undefines' a transient domain; virt-test refuses as its QEMU driver"
    ),
    "vol_create_dup": (
        "libvirt 9.0's test driver: OPERATION_FAILED;"
        " virt-test: STORAGE_VOL_EXIST, as libvirt's storage driver"
    ),
    "vol_resize_shrink": (
        "libvirt 9.0's test driver has no virStorageVolResize (NO_SUPPORT); virt-test resizes (and refuses"
        " shrinking below the allocation: INVALID_ARG)"
    ),
    "run_set_max_memory_live": (
        "libvirt 9.0's test driver refuses setMaxMemory on a running domain (OPERATION_INVALID);"
        " virt-test sets it"
    ),
}

_NAMES = "virtcore's message names the object; libvirt 9.0's test driver's does not"
_PARSER = (
    "libvirt quotes libxml2's report with the document's name and a caret line; virtcore gives lxml's"
    " message after 'XML error: malformed document:'"
)
#: key -> why the code and domain agree but the words differ.
DIFFERENT_MESSAGES: dict[str, str] = {
    "run_set_memory_parameters_bad_flags": (
        "libvirt 9.0's testDomainSetMemoryParameters names testDomainGetMemoryParameters in its flags error"
    ),
    "ckpt_create_bad_xml": _PARSER,
    "dom_create_bad_xml": _PARSER,
    "dom_define_bad_xml": _PARSER,
    "iface_define_bad_xml": _PARSER,
    "net_define_bad_xml": _PARSER,
    "nodedev_create_bad_xml": _PARSER,
    "pool_define_bad_xml": _PARSER,
    "snap_create_bad_xml": _PARSER,
    "vol_create_bad_xml": _PARSER,
    "dom_define_no_name": "virtcore's message also says which element lacks its <name>",
    "net_define_no_name": "virtcore's message also says which element lacks its <name>",
    "dom_lookup_id": _NAMES,
    "dom_lookup_name": _NAMES,
    "dom_lookup_uuid": _NAMES,
    "off_block_stats": _NAMES,
    "off_destroy": _NAMES,
    "off_get_cpu_stats": _NAMES,
    "off_interface_stats": _NAMES,
    "off_memory_stats": _NAMES,
    "off_hostname": _NAMES,
    "off_interface_addresses": _NAMES,
    "off_managed_save": _NAMES,
    "off_reboot": _NAMES,
    "off_save": _NAMES,
    "pool_list_vols_inactive": _NAMES,
    "iface_create_running": _NAMES,
    "run_block_stats_unknown": _NAMES,
    "run_interface_stats_unknown": _NAMES,
    "run_set_memory_too_much": "virtcore's message gives both sizes; libvirt 9.0's test driver's gives none",
    "dom_define_dup_uuid": "virtcore's message also names the domain that was being defined",
    "dom_define_wrong_root": "virtcore's XML layer words a wrong root element its own way",
    "gone_destroy": "libvirt names a vanished domain by its handle's name too; virtcore's handle is its UUID",
    "gone_get_info": "libvirt names a vanished domain by its handle's name too;"
    " virtcore's handle is its UUID",
    "run_set_vcpus_too_many": (
        "libvirt 9.0's test driver compares with the hypervisor's 32 vCPUs;"
        " virt-test with the domain's maximum"
    ),
    "net_port_lookup": (
        "virt-libvirt names virNetworkPortLookupByUUIDString in NO_SUPPORT;"
        " libvirt the inner virNetworkPortLookupByUUID"
    ),
}


@pytest.fixture(scope="module")
def outputs() -> tuple[dict[str, Any], dict[str, Any]]:
    """(libvirt-python on libvirt's test driver, virt-libvirt on virt-test): each call's error."""
    return SideBySide().run_program(PROGRAM, "test:///default")


def _error(entry: list[Any]) -> list[Any]:
    return entry[:3]


def test_every_call_of_the_program_fails_on_libvirts_side(
    outputs: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    theirs, ours = outputs
    assert theirs.keys() == ours.keys()
    assert len(theirs) > 80
    succeeded = {k for k, v in theirs.items() if v == ["ok"]}
    assert succeeded == {"net_destroy_inactive", "transient_autostart", "transient_undefine"}


def test_failing_calls_fail_with_libvirts_code_and_domain(
    outputs: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    theirs, ours = outputs
    compared = [k for k in theirs if k not in DIFFERENT_ERRORS]
    assert {k: _error(ours[k]) for k in compared} == {k: _error(theirs[k]) for k in compared}


def test_failing_calls_say_libvirts_words(outputs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    theirs, ours = outputs
    compared = [k for k in theirs if k not in DIFFERENT_ERRORS and k not in DIFFERENT_MESSAGES]
    assert {k: ours[k] for k in compared} == {k: theirs[k] for k in compared}


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=why), id=k)
        for k, why in DIFFERENT_ERRORS.items()
    ],
)
def test_known_code_or_domain_difference(outputs: tuple[dict[str, Any], dict[str, Any]], key: str) -> None:
    theirs, ours = outputs
    assert _error(ours[key]) == _error(theirs[key])


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=why), id=k)
        for k, why in DIFFERENT_MESSAGES.items()
    ],
)
def test_known_message_difference(outputs: tuple[dict[str, Any], dict[str, Any]], key: str) -> None:
    theirs, ours = outputs
    assert _error(ours[key]) == _error(theirs[key])  # the code and domain agree: only the words differ
    assert ours[key] == theirs[key]
