"""The test driver's CPU baseline (libvirt's ``testConnectBaselineCPU``), as far as it goes without a
CPU model database.

libvirt parses every ``<cpu>`` (its ``<arch>`` and ``<model>`` are required)
and asks its CPU driver for the newest model every CPU can run. virt-test
has no model database: it answers the baseline of CPUs that all name the
same model and vendor without extra features (that model, ``fallback='forbid'``,
as libvirt) and refuses the rest with ``OperationUnsupportedError``.
"""

from __future__ import annotations

from virtcore.errors import OperationUnsupportedError, XMLError
from virtcore.xml import CPU
from virtcore.xml._parser import secure_parse
from virtcore.xml._spec import format_xml

__all__ = ["baseline_cpu"]


def _identity(text: str) -> tuple[str, str, str | None, int]:
    """``(arch, model, vendor, number of features)`` of one ``<cpu>`` document."""
    root = secure_parse(text)
    if root.tag != "cpu":
        raise XMLError("XML does not contain expected 'cpu' element")
    arch = (root.findtext("arch") or "").strip()
    if not arch:
        raise XMLError("Missing CPU architecture")
    cpu = CPU.from_element(root)
    if not cpu.model:
        raise XMLError("Missing CPU model name")
    return arch, cpu.model, cpu.vendor, len(cpu.features)


def baseline_cpu(xml_cpus: list[str], expand_features: bool) -> str:
    """The baseline ``<cpu>`` of ``xml_cpus`` (at least one), as libvirt's test driver formats it."""
    found = [_identity(text) for text in xml_cpus]
    arch, model, vendor, _ = found[0]
    if any(f[:3] != (arch, model, vendor) or f[3] for f in found) or expand_features:
        raise OperationUnsupportedError(
            "baseline of CPUs differing in arch, model, vendor or features, or with their features"
            " expanded, needs a CPU model database virt-test does not have"
        )
    cpu = CPU(mode="custom", match="exact", model=model, model_fallback="forbid", vendor=vendor)
    return format_xml(cpu, "baseline CPU", single_quotes=True)
