"""libvirt-python's ``libvirt_qemu`` module (QEMU-specific API), backed by virtcore."""

from __future__ import annotations

from virt_libvirt._qemu_constants import *  # noqa: F403 - every VIR_* constant of libvirt's QEMU API
