"""What libvirt's post-parse fills into a domain definition the test driver reads.

libvirt's parser gives an ``<os><type>`` without ``arch`` the driver's default
architecture: the test driver's is i686 (``defArch``), whatever the host. Its
common post-parse (every driver's) boots an HVM guest from ``hd`` when neither
``<os><boot>`` nor a device's ``<boot order>`` says where. (``<vcpu placement>``'s
default is the XML model's own: a definition built in Python has it too.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from virtcore.xml import DomainDef

#: The architecture libvirt 9.0's test driver gives a guest whose ``<os><type>`` names none.
DEFAULT_ARCH = "i686"


def with_driver_defaults(definition: DomainDef) -> DomainDef:
    """``definition`` with what libvirt's test driver fills in when the XML leaves it out."""
    os_ = definition.os
    if os_.arch is None:
        os_ = attrs.evolve(os_, arch=DEFAULT_ARCH)
    if os_.type == "hvm" and not os_.boot and not _device_boot_order(definition):
        os_ = attrs.evolve(os_, boot=("hd",))
    return definition if os_ is definition.os else attrs.evolve(definition, os=os_)


def _device_boot_order(definition: DomainDef) -> bool:
    return any(getattr(dev, "boot_order", None) for dev in definition.devices)
