"""The domain tunables virt-qemu does not serve yet, each a strict xfail naming it.

libvirt's QEMU driver does them through cgroups (block I/O weights, NUMA memory),
QMP (``block_set_io_throttle``, ``object-add iothread``, the vCPU threads' affinity
from ``query-cpus-fast``) and the definition; virt-qemu has none of them yet, so each
call is ``NoSupportError`` naming the operation (the test driver does them all:
tests/conformance, plugins/virt-libvirt/tests/test_compat_tunables.py). These run on a
defined guest: the refusal comes before any QEMU would be started.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator

import pytest

import virtcore
from virtcore.errors import NoSupportError

pytestmark = pytest.mark.skipif(
    shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86 is not installed"
)

GUEST = """<domain type='qemu'><name>tunables</name><memory unit='MiB'>64</memory><vcpu>2</vcpu>
<os><type arch='x86_64'>hvm</type></os><devices>
<disk type='file' device='disk'><source file='/nonexistent.img'/><target dev='vda' bus='virtio'/></disk>
<interface type='user'><mac address='52:54:00:aa:00:02'/></interface></devices></domain>"""

#: (operation, what virt-qemu would need to serve it, the call)
GAPS: list[tuple[str, str, Callable[[virtcore.Domain], object]]] = [
    ("domain_get_blkio_parameters", "the blkio cgroup", lambda d: d.blkio_parameters()),
    ("domain_set_blkio_parameters", "the blkio cgroup", lambda d: d.set_blkio_parameters({"weight": 100})),
    ("domain_get_numa_parameters", "<numatune> and the cpuset cgroup", lambda d: d.numa_parameters()),
    (
        "domain_set_numa_parameters",
        "<numatune> and the cpuset cgroup",
        lambda d: d.set_numa_parameters({"numa_mode": 0}),
    ),
    ("domain_get_block_io_tune", "<iotune> and QMP block_set_io_throttle", lambda d: d.block_io_tune("vda")),
    (
        "domain_set_block_io_tune",
        "<iotune> and QMP block_set_io_throttle",
        lambda d: d.set_block_io_tune("vda", {"total_iops_sec": 0}),
    ),
    ("domain_get_vcpu_pin_info", "<vcpupin> and the vCPU threads' affinity", lambda d: d.vcpu_pin_info()),
    (
        "domain_pin_vcpu",
        "the vCPU threads (query-cpus-fast) and sched_setaffinity",
        lambda d: d.pin_vcpu(0, (True,)),
    ),
    ("domain_get_emulator_pin_info", "<emulatorpin>", lambda d: d.emulator_pin_info()),
    (
        "domain_pin_emulator",
        "<emulatorpin> and the emulator threads' affinity",
        lambda d: d.pin_emulator((True,)),
    ),
    ("domain_get_io_thread_info", "<iothreadids> and QMP query-iothreads", lambda d: d.iothread_info()),
    ("domain_add_io_thread", "QMP object-add iothread", lambda d: d.add_iothread(1, config=True)),
    ("domain_del_io_thread", "QMP object-del", lambda d: d.del_iothread(1, config=True)),
    ("domain_pin_io_thread", "<iothreadpin>", lambda d: d.pin_iothread(1, (True,), config=True)),
    ("domain_set_io_thread_params", "QMP qom-set on the iothread", lambda d: d.set_iothread_params(1, {})),
    ("domain_get_io_thread_stats", "QMP query-iothreads", lambda d: d.iothread_stats()),
    (
        "domain_get_interface_parameters",
        "<bandwidth> and tc on the TAP",
        lambda d: d.interface_parameters("52:54:00:aa:00:02"),
    ),
    (
        "domain_set_interface_parameters",
        "<bandwidth> and tc on the TAP",
        lambda d: d.set_interface_parameters("52:54:00:aa:00:02", {"inbound.average": 1}),
    ),
]


@pytest.fixture
def defined(conn: virtcore.Connection) -> Iterator[virtcore.Domain]:
    """The guest, defined (never started); undefined after."""
    dom = conn.define_domain(GUEST)
    yield dom
    dom.undefine()


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(
            call,
            id=op,
            marks=pytest.mark.xfail(
                strict=True, raises=NoSupportError, reason=f"virt-qemu does not serve {op} yet: needs {needs}"
            ),
        )
        for op, needs, call in GAPS
    ],
)
def test_virt_qemu_tunable(defined: virtcore.Domain, call: Callable[[virtcore.Domain], object]) -> None:
    call(defined)


def test_the_gaps_are_what_the_driver_lacks(conn: virtcore.Connection) -> None:
    assert [op for op, _, _ in GAPS if conn.supports(op)] == []
