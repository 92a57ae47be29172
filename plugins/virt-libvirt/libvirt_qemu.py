"""libvirt-python's ``libvirt_qemu`` module (QEMU-specific API), backed by virtcore.

``qemuAgentCommand`` talks to the guest agent through virtcore; the QEMU monitor
passthrough (``qemuMonitorCommand``...) and ``qemuAttach`` raise ``libvirtError``
VIR_ERR_NO_SUPPORT naming their C function: virtcore keeps QMP to itself.
"""

from virt_libvirt._qemu_constants import *  # noqa: F403 - every VIR_* constant of libvirt's QEMU API
from virt_libvirt.qemu import missing as _missing
from virt_libvirt.qemu import qemuAgentCommand

globals().update(_missing())

__all__ = ["qemuAgentCommand"]
