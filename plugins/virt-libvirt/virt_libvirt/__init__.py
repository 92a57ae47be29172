"""The private package behind virt-libvirt's ``libvirt``, ``libvirtaio`` and ``libvirt_qemu`` modules.

The public face is libvirt-python's: ``import libvirt``. Nothing here is meant to be
imported by users directly.
"""
