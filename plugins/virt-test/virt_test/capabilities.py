"""The test driver's capabilities XML (libvirt's ``testBuildCapabilities``, in our words).

libvirt 9.0's test driver describes an i686 host (features ``pae`` and
``nonpae``, page sizes 4 KiB, 8 KiB, 2 MiB and 1 GiB, no IOMMU, security
model ``testSecurity``), its NUMA cells (those of ``test:///default``; a node
file gives none), and two i686 guest types, ``hvm`` and ``xen``, both run by
``/usr/bin/test-hv``. A cell's CPUs carry ``cluster_id='0'``, as libvirt since
9.1 writes them and its ``capability.rng`` requires with the other topology
attributes (9.0 leaves it out). Compared with python3-libvirt in virt-libvirt's
``tests/test_consumer_programs.py`` and ``tests/test_node_calls.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

from virt_test.node import NumaCell

__all__ = ["capabilities_xml", "SECURITY_MODEL", "SECURITY_DOI", "PAGE_SIZES"]

#: The security model and DOI of libvirt's test driver.
SECURITY_MODEL = "testSecurity"
SECURITY_DOI = ""
#: The host's page sizes in KiB, in libvirt's order.
PAGE_SIZES = (4, 8, 2048, 1024 * 1024)
_EMULATOR = "/usr/bin/test-hv"


def _cell(index: int, cell: NumaCell) -> str:
    # The first page size of cell 1 is 8 KiB, of every other cell 4 KiB; then the huge pages, none free.
    first = PAGE_SIZES[1] if index == 1 else PAGE_SIZES[0]
    pages = [(first, cell.memory // first)] + [(size, 0) for size in PAGE_SIZES[2:]]
    page_lines = "".join(f"          <pages unit='KiB' size='{size}'>{n}</pages>\n" for size, n in pages)
    cpu_lines = "".join(
        f"            <cpu id='{c}' socket_id='{c // 8}' die_id='0' cluster_id='0' core_id='{c % 8}'"
        f" siblings='{c}'/>\n"
        for c in cell.cpu_ids
    )
    return (
        f"        <cell id='{index}'>\n"
        f"          <memory unit='KiB'>{cell.memory}</memory>\n"
        f"{page_lines}"
        f"          <cpus num='{len(cell.cpu_ids)}'>\n{cpu_lines}          </cpus>\n"
        "        </cell>\n"
    )


def _guest(os_type: str) -> str:
    return (
        "  <guest>\n"
        f"    <os_type>{os_type}</os_type>\n"
        "    <arch name='i686'>\n"
        "      <wordsize>32</wordsize>\n"
        f"      <emulator>{_EMULATOR}</emulator>\n"
        "      <domain type='test'/>\n"
        "    </arch>\n"
        "    <features>\n"
        "      <pae/>\n"
        "      <nonpae/>\n"
        "    </features>\n"
        "  </guest>\n"
    )


def capabilities_xml(cells: Sequence[NumaCell]) -> str:
    """The capabilities document of a test node whose NUMA cells are ``cells``."""
    pages = "".join(f"      <pages unit='KiB' size='{size}'/>\n" for size in PAGE_SIZES)
    return (
        "<capabilities>\n\n"
        "  <host>\n"
        "    <cpu>\n"
        "      <arch>i686</arch>\n"
        "      <features>\n"
        "        <pae/>\n"
        "        <nonpae/>\n"
        "      </features>\n"
        f"{pages}"
        "    </cpu>\n"
        "    <power_management/>\n"
        "    <iommu support='no'/>\n"
        "    <topology>\n"
        f"      <cells num='{len(cells)}'>\n"
        f"{''.join(_cell(i, c) for i, c in enumerate(cells))}"
        "      </cells>\n"
        "    </topology>\n"
        "    <secmodel>\n"
        f"      <model>{SECURITY_MODEL}</model>\n"
        f"      <doi>{SECURITY_DOI}</doi>\n"
        "    </secmodel>\n"
        "  </host>\n\n"
        f"{_guest('hvm')}\n{_guest('xen')}\n"
        "</capabilities>\n"
    )
