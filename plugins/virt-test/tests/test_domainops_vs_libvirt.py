"""virt-test's scheduler, managed save and host name against libvirt's own test driver, side by side.

``domainops_scenario.py`` runs on ``test:///default`` here with virtcore and in
Debian's ``/usr/bin/python3`` with python3-libvirt; every step must give the same
answer, except the differences in :data:`DIFFERENCES`, each with its reason and
both sides pinned.
"""

from __future__ import annotations

import json
from typing import Any

import domainops_scenario
import pytest
import virt_test
from libvirt_peer import run_libvirt_side

#: label -> (libvirt's outcome, virt-test's outcome, why they differ)
DIFFERENCES: dict[str, tuple[list[Any], list[Any], str]] = {
    "weight after": (
        ["ok", {"weight": 50}],
        ["ok", {"weight": 100}],
        "libvirt's test driver accepts a new weight and forgets it (its code says XXX);"
        " virt-test keeps it, as every real driver does",
    ),
    "vCPUs (times vary)": (
        ["ok", [[[0, 1, 15], [1, 1, 15]], [[True] * 8, [True] * 8]]],
        ["ok", [[[0, 1, 15], [1, 1, 15]], [[True] * 16, [True] * 16]]],
        "libvirt-python cuts each affinity map to the CPU count virNodeGetCPUMap gives (the test"
        " driver says 8); virtcore returns the driver's map: one flag per host CPU (16)",
    ),
}


@pytest.fixture(autouse=True)
def fresh_default() -> None:
    virt_test.reset_default_node()


def test_every_step_answers_as_libvirts_test_driver() -> None:
    theirs = run_libvirt_side("domainops_scenario.py")
    ours = json.loads(json.dumps(domainops_scenario.play(domainops_scenario.VirtcoreSide())))
    assert [label for label, _ in ours] == [label for label, _ in theirs]
    mismatches = []
    for (label, mine), (_, their) in zip(ours, theirs, strict=True):
        expected = (their, their) if label not in DIFFERENCES else DIFFERENCES[label][:2]
        if (their, mine) != expected:
            mismatches.append(f"{label}: libvirt {their}, virt-test {mine}")
    assert mismatches == []
    outcome = dict(ours)
    assert outcome["scheduler type"] == ["ok", ["fair", 1]]
    assert outcome["host name"] == ["ok", "testhost"]
    assert outcome["undefine with an image"] == ["err", 55]
    assert outcome["state after"] == ["ok", [5, 5]]  # shut off, saved
    assert outcome["memory statistics"][1]["actual"] == 2097152
    assert outcome["CPU per host CPU"][1][1] == {"cpu_time": 24386308518, "vcpu_time": 23151740628}
    assert outcome["screenshot"] == ["ok", ["image/png", "89504e470d0a1a0a"]]  # a PNG's signature
    assert outcome["the new element"] == ["ok", "<baz/>"]
    assert outcome["the persistent title"] == ["err", 80]


def test_a_domains_host_name_is_its_name_and_host_as_in_libvirts_test_driver(testdriver_dir) -> None:
    import virtcore

    with virtcore.open(f"test://{testdriver_dir}/testnode.xml") as conn:
        names = {d.name: d.hostname() for d in conn.list_domains(active=True)}
    assert names == {"fc4": "fc4host", "fc5": "fc5host", "fv0": "fv0host"}


def test_block_info_answers_libvirts_test_driver_sizes_and_refuses_unknown_disks(testdriver_dir) -> None:
    import virtcore
    from virtcore.errors import InvalidArgError

    with virtcore.open(f"test://{testdriver_dir}/testnode.xml") as conn:
        fv0 = conn.lookup_domain("fv0")
        # by target or by source, running or not: libvirt's test driver has no images, one answer
        assert fv0.block_info("hda") == (1099506450432, 1099511627776, 1099511627776)
        fv0.destroy()
        assert fv0.block_info("/root/fv0") == fv0.block_info("hda")
        with pytest.raises(InvalidArgError, match="invalid path sdz not assigned to domain"):
            fv0.block_info("sdz")


def test_a_transient_domain_has_no_managed_save(testdriver_dir) -> None:
    import virtcore
    from virtcore.errors import OperationInvalidError

    with virtcore.open("test:///default") as conn:
        dom = conn.lookup_domain("test")
        dom.undefine()  # running: it goes on, transient
        with pytest.raises(OperationInvalidError, match="cannot do managed save for transient domain"):
            dom.managed_save()
        assert dom.is_active() and not dom.has_managed_save_image()
