"""The ``virtcore`` domain tunables commands (blkiotune, blkdeviotune, numatune, vcpupin,
emulatorpin, iothreadinfo/add/del/pin, domiftune),
in-process against ``test:///default``, their output compared with virsh's own on
libvirt's test driver where virsh (Debian's libvirt-clients) is installed.
"""

from __future__ import annotations

import shlex

import pytest
from cli_support import Run, virsh

pytestmark = pytest.mark.usefixtures("fresh_default")

SAME_AS_VIRSH = [
    ["blkiotune test", "numatune test", "vcpupin test", "emulatorpin test"],
    [
        "blkiotune test --weight 300 --device-weights /dev/sda,100,/dev/sdb,5",
        "blkiotune test --device-read-bytes-sec /dev/sdb,1000 --config",
        "blkiotune test",
        "blkiotune test --config",
        "blkiotune test --device-weights /dev/sda,0",
        "blkiotune test --live",
    ],
    [
        "numatune test --mode preferred --nodeset 0-1",
        "numatune test",
        "numatune test --nodeset 1,3,2 --config",
        "numatune test --config",
    ],
    [
        "vcpupin test 0 1-2",
        "vcpupin test",
        "vcpupin test 1",
        "vcpupin test --config",
        "emulatorpin test 3 --config",
        "emulatorpin test --config",
        "emulatorpin test 0-2,^1",
        "emulatorpin test",
        "destroy test",
        "vcpupin test",
        "emulatorpin test",
    ],
    [
        "blkdeviotune test vda",
        "blkdeviotune test vda --total-bytes-sec 5 --total-bytes-sec-max 10K",
        "blkdeviotune test /guest/diskimage1",
        "blkdeviotune test vda --group-name g --read-iops-sec 3 --read-iops-sec-max 9 --config",
        "blkdeviotune test vda --config",
        "blkdeviotune test vda --live",
    ],
    [
        "iothreadinfo test",
        "iothreadadd test 5",
        "iothreadadd test 3 --config",
        "iothreadpin test 5 1-2",
        "iothreadinfo test",
        "iothreadinfo test --config",
        "iothreadpin test 3 4,6 --config",
        "iothreadinfo test --config",
        "iothreaddel test 5",
        "iothreadinfo test",
    ],
    [
        "domiftune test testnet0",
        "domiftune test testnet0 --inbound 100,200,300,4 --outbound 7,,9",
        "domiftune test testnet0",
        "domiftune test aa:bb:cc:dd:ee:ff --config",
        "domiftune test testnet0 --outbound 5 --config",
        "domiftune test testnet0 --config",
        "domiftune test testnet0 --inbound 0",
        "domiftune test testnet0",
    ],
]


@pytest.mark.parametrize("commands", SAME_AS_VIRSH, ids=["; ".join(c)[:60] for c in SAME_AS_VIRSH])
def test_output_is_virshs(run: Run, commands: list[str]) -> None:
    expected = virsh(*commands)
    ours = ""
    for line in commands:
        status, out, err = run(*shlex.split(line))
        assert (status, err) == (0, ""), line
        ours += out
    assert ours == expected


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["blkiotune", "test", "--device-weights", "/dev/sda"], "unable to parse blkio device"),
        (["blkiotune", "test", "--device-weights", "/dev/sda,x"], "of device '/dev/sda'"),
        (["blkiotune", "test", "--live", "--config", "--weight", "1"], "mutually exclusive"),
        (["numatune", "test", "--nodeset", "x"], "Failed to parse bitmap 'x'"),
        (["numatune", "test", "--mode", "interleave", "--config"], "'placement' is 'static'"),
        (["vcpupin", "test", "5", "0"], "requested vcpu '5' is not present"),
        (["vcpupin", "test", "0", "0-99"], "names a CPU the host lacks"),
        (["emulatorpin", "test", "x"], "cpulist"),
        (["emulatorpin", "nosuch"], "Domain not found"),
        (["blkdeviotune", "test", "vdz"], "disk 'vdz' was not found"),
        (
            ["blkdeviotune", "test", "vda", "--total-iops-sec", "5"],
            "cannot be set higher than total_iops_sec_max",
        ),
        (["blkdeviotune", "test", "vda", "--size-iops-sec", "x"], "size-iops-sec"),
        (["domiftune", "test", "vnet9"], "'vnet9' is not a known interface"),
        (["domiftune", "test", "testnet0", "--inbound", "1,x"], "invalid rate"),
        (["iothreadadd", "test", "0"], "invalid value of 0 for iothread_id"),
        (["iothreaddel", "test", "3"], "cannot find IOThread '3'"),
        (["iothreadpin", "test", "3", "0"], "iothreadid 3 not found"),
    ],
)
def test_errors_are_one_line_naming_the_thing(run: Run, argv: list[str], message: str) -> None:
    status, out, err = run(*argv)
    assert status == 1 and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_a_refused_change_leaves_the_tunables_as_they_were(run: Run) -> None:
    assert run("blkiotune", "test", "--weight", "300", "--device-weights", "/dev/sda,100")[0] == 0
    before = run("blkiotune", "test")
    status, _, err = run("blkiotune", "test", "--weight", "5", "--device-weights", "/dev/sdb,1,/dev/sdc,x")
    assert status == 1 and "/dev/sdc" in err
    assert run("blkiotune", "test") == before


def test_read_only_refuses_changes_but_shows(run: Run) -> None:
    assert run("vcpupin", "test", read_only=True)[0] == 0
    status, _, err = run("emulatorpin", "test", "1", read_only=True)
    assert status == 1 and err.startswith("error: operation forbidden")
