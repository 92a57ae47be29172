"""vCPU pinning on a real QEMU guest, and the domain tunables virt-qemu does not serve yet (each a
strict xfail naming it).

A vCPU is pinned as libvirt's QEMU driver pins it: the affinity of the vCPU's thread
(``query-cpus-fast`` names it) is set, and kept as the live definition's ``<vcpupin>``.

libvirt's QEMU driver does them through cgroups (block I/O weights, NUMA memory),
QMP (``block_set_io_throttle``, ``object-add iothread``, the vCPU threads' affinity
from ``query-cpus-fast``) and the definition; virt-qemu has none of them yet, so each
call is ``NoSupportError`` naming the operation (the test driver does them all:
tests/conformance, plugins/virt-libvirt/tests/test_compat_tunables.py). These run on a
defined guest: the refusal comes before any QEMU would be started.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

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


def _allowed_cpus(pid: int, tid: int) -> set[int]:
    """The CPUs thread ``tid`` of process ``pid`` may run on, as the kernel reports them."""
    status = Path(f"/proc/{pid}/task/{tid}/status").read_text()
    listed = next(
        line.split(":", 1)[1].strip() for line in status.splitlines() if line.startswith("Cpus_allowed_list")
    )
    found: set[int] = set()
    for part in listed.split(","):
        lo, _, hi = part.partition("-")
        found.update(range(int(lo), int(hi or lo) + 1))
    return found


def test_a_vcpu_is_pinned_through_its_threads_affinity(
    conn: virtcore.Connection, guest_xml: Callable[..., str], root: Path
) -> None:
    width = os.cpu_count() or 1
    dom = conn.define_domain(guest_xml("pinned", vcpus=1))
    try:
        assert dom.vcpu_pin_info() == [(True,) * width]
        with pytest.raises(virtcore.errors.OperationInvalidError):
            dom.pin_vcpu(0, (True,))
        dom.start()
        target = width - 1
        dom.pin_vcpu(0, tuple(c == target for c in range(width)))
        assert dom.vcpu_pin_info()[0] == tuple(c == target for c in range(width))
        assert f'<vcpupin vcpu="0" cpuset="{target}"/>' in dom.xml_desc()
        # the kernel agrees: one thread of the QEMU process (the vCPU's) runs only there
        pid = int(next(root.rglob(f"{dom.uuid}/pid")).read_text().strip())
        tasks = [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir()]
        assert [t for t in tasks if _allowed_cpus(pid, t) == {target}] != []
        if width > 1:
            assert len([t for t in tasks if _allowed_cpus(pid, t) == {target}]) == 1
        assert dom.vcpu_pin_info(config=True) == [(True,) * width]  # the persistent one is untouched
        with pytest.raises(virtcore.errors.InvalidArgError, match="vcpu '3'"):
            dom.pin_vcpu(3, (True,))
        with pytest.raises(virtcore.errors.InvalidArgError, match="Empty"):
            dom.pin_vcpu(0, (False,))
    finally:
        if dom.is_active():
            dom.destroy()
        dom.undefine()


def test_a_defined_vcpupin_is_applied_when_the_guest_starts(
    conn: virtcore.Connection, guest_xml: Callable[..., str], root: Path
) -> None:
    width = os.cpu_count() or 1
    target = width - 1
    xml = guest_xml("prepinned", vcpus=1)
    assert "</vcpu>" in xml
    xml = xml.replace("</vcpu>", f"</vcpu><cputune><vcpupin vcpu='0' cpuset='{target}'/></cputune>", 1)
    dom = conn.define_domain(xml)
    try:
        dom.start()
        pid = int(next(root.rglob(f"{dom.uuid}/pid")).read_text().strip())
        tasks = [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir()]
        assert [t for t in tasks if _allowed_cpus(pid, t) == {target}] != []
        assert dom.vcpu_pin_info()[0] == tuple(c == target for c in range(width))
    finally:
        if dom.is_active():
            dom.destroy()
        dom.undefine()
