"""The test driver's capabilities XML (libvirt's ``testBuildCapabilities``, in our words)."""

from __future__ import annotations

from virtcore.types import NodeInfo

__all__ = ["capabilities_xml"]


def capabilities_xml(info: NodeInfo) -> str:
    """Host CPU (always i686, as libvirt's) and NUMA topology from ``info``; i686/x86_64 HVM guests."""
    cells = []
    per_cell = max(1, info.cpus // max(1, info.nodes))
    memory_per_cell = info.memory // max(1, info.nodes)
    cpu_id = 0
    for cell in range(info.nodes):
        cpus = "".join(
            f"            <cpu id='{cpu_id + i}' socket_id='{(cpu_id + i) // (info.cores * info.threads)}'"
            f" die_id='0' cluster_id='0' core_id='{((cpu_id + i) // info.threads) % info.cores}'"
            f" siblings='{cpu_id + i}'/>\n"
            for i in range(per_cell)
        )
        cpu_id += per_cell
        cells.append(
            f"        <cell id='{cell}'>\n"
            f"          <memory unit='KiB'>{memory_per_cell}</memory>\n"
            f"          <cpus num='{per_cell}'>\n{cpus}          </cpus>\n"
            f"        </cell>\n"
        )
    guests = "".join(
        f"  <guest>\n"
        f"    <os_type>hvm</os_type>\n"
        f"    <arch name='{arch}'>\n"
        f"      <wordsize>{size}</wordsize>\n"
        f"      <domain type='test'/>\n"
        f"    </arch>\n"
        f"    <features>\n{features}    </features>\n"
        f"  </guest>\n"
        for arch, size, features in (
            ("i686", 32, "      <pae/>\n      <nonpae/>\n"),
            ("x86_64", 64, "      <acpi default='on' toggle='yes'/>\n"),
        )
    )
    return (
        "<capabilities>\n"
        "  <host>\n"
        "    <cpu>\n"
        f"      <arch>i686</arch>\n"
        f"      <topology sockets='{info.sockets}' dies='1' cores='{info.cores}' threads='{info.threads}'/>\n"
        "    </cpu>\n"
        "    <power_management/>\n"
        "    <topology>\n"
        f"      <cells num='{info.nodes}'>\n{''.join(cells)}      </cells>\n"
        "    </topology>\n"
        "  </host>\n"
        f"{guests}"
        "</capabilities>\n"
    )
