"""libvirt-python's ``libvirt_qemu`` module (QEMU-specific API), backed by virtcore."""

from __future__ import annotations
