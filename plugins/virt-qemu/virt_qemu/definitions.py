"""Persistent definitions: define, undefine, the XML, autostart marks.

Definitions are ``config/UUID.xml`` (atomic writes under ``config/.lock``);
the autostart mark is ``config/autostart/UUID``.
"""

from __future__ import annotations

import contextlib
import os

from virt_qemu.connection import Part
from virt_qemu.hoststate import Dom, domain_event
from virt_qemu.paths import FileLock
from virt_qemu.snapshottree import TreeFiles
from virtcore import hookimpl
from virtcore.errors import NoDomainError, OperationInvalidError, SystemError_
from virtcore.files import write_atomically
from virtcore.types import DefinedDetail, DomainEventType, DomainRef, UndefinedDetail
from virtcore.xml import format_domain, parse_domain

__all__ = ["Definitions"]


class Definitions(Part):
    """The hooks that read and change persistent definitions."""

    @hookimpl
    def virt_domain_define_xml(self, xml: str) -> DomainRef:
        """Write the persistent definition (atomically)."""
        h = self.host
        d = parse_domain(xml)
        h.validate(d)
        h.sync()
        cfg_lock = FileLock(h.layout.config / ".lock")
        with cfg_lock.held(), h.lock:
            h.seen_gen = -1
            h.sync()
            same = h.check_conflicts(d)
            path = h.layout.config / f"{d.uuid}.xml"
            write_atomically(path, format_domain(d).encode())
            existed = same is not None and same.config is not None
            dom = same or Dom(d.uuid, d.name)
            h.doms[d.uuid] = dom
            dom.config = d
            with contextlib.suppress(OSError):
                dom.config_mtime = path.stat().st_mtime_ns
            if not dom.active:
                h.rename(dom, d.name)
            h.bump()
            ref = dom.ref
        h.emit(
            domain_event(
                ref, DomainEventType.DEFINED, DefinedDetail.UPDATED if existed else DefinedDetail.ADDED
            )
        )
        return ref

    @hookimpl
    def virt_domain_undefine(self, uuid: str, snapshots_metadata: bool) -> bool:
        """Remove the persistent definition (and, with ``snapshots_metadata``, the snapshot tree).

        A domain with snapshots is refused without ``snapshots_metadata``, as libvirt
        refuses it: the tree would outlive the definition it belongs to.
        """
        h = self.host
        dom = h.get(uuid)
        trees = TreeFiles(h.layout.config)
        tree_lock = trees.lock(uuid)
        with dom.job, tree_lock.held(), FileLock(h.layout.config / ".lock").held():
            h.still_known(dom)
            if dom.config is None:
                raise OperationInvalidError(f"cannot undefine transient domain '{dom.name}'")
            n = len(trees.read(uuid))
            if n and not snapshots_metadata:
                state = "active" if dom.active else "inactive"
                raise OperationInvalidError(
                    f"cannot delete {state} domain with {n} snapshots (domain '{dom.name}')"
                )
            trees.remove(uuid)
            tree_lock.remove()  # whoever waits on it finds the file gone and locks afresh
            with contextlib.suppress(FileNotFoundError):
                os.unlink(h.layout.config / "autostart" / uuid)
            try:
                os.unlink(h.layout.config / f"{uuid}.xml")
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise SystemError_(f"cannot remove definition of '{dom.name}': {exc.strerror}") from None
            ref = dom.ref
            with h.lock:
                dom.config = None
                if not dom.active:
                    h.forget(dom)
            if not dom.active:
                h.discovery.remove_records(uuid)
            h.bump()
        h.emit(domain_event(ref, DomainEventType.UNDEFINED, UndefinedDetail.REMOVED))
        return True

    @hookimpl
    def virt_domain_is_persistent(self, uuid: str) -> bool:
        """Whether a persistent definition exists."""
        h = self.host
        h.sync()
        return h.get(uuid).config is not None

    @hookimpl
    def virt_domain_get_xml_desc(self, uuid: str, inactive: bool) -> str:
        """The live or persistent XML."""
        dom = self.host.current(uuid)
        if dom.live is not None and not (inactive and dom.config is not None):
            return format_domain(dom.live, domain_id=dom.id)
        if dom.config is None:
            raise NoDomainError(f"domain '{dom.name}' is no longer defined")
        return format_domain(dom.config)

    @hookimpl
    def virt_domain_get_autostart(self, uuid: str) -> bool:
        """Whether the autostart mark exists."""
        h = self.host
        h.get(uuid)
        return (h.layout.config / "autostart" / uuid).exists()

    @hookimpl
    def virt_domain_set_autostart(self, uuid: str, autostart: bool) -> bool:
        """Create or remove the autostart mark."""
        h = self.host
        dom = h.get(uuid)
        h.still_known(dom)
        if dom.config is None:
            raise OperationInvalidError(f"cannot set autostart for transient domain '{dom.name}'")
        mark = h.layout.config / "autostart" / uuid
        try:
            if autostart:
                mark.touch()
            else:
                with contextlib.suppress(FileNotFoundError):
                    mark.unlink()
        except OSError as exc:
            raise SystemError_(f"cannot change autostart of '{dom.name}': {exc.strerror}") from None
        return True
