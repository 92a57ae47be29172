"""A test domain's checkpoints, kept in memory, with libvirt's test driver's rules and errors.

A checkpoint needs a running domain (``OPERATION_UNSUPPORTED`` otherwise). Its
parent is the domain's newest checkpoint; without a name it is named by its creation
time; without ``<disks>`` every disk of the domain gets a bitmap named as the
checkpoint, and a listed disk the domain lacks is ``CONFIG_UNSUPPORTED``. The
definition it was taken of is embedded. Deleting one moves its children to its
parent (or deletes them too, with ``children``). Lookups of unknown names, and
the parent of the first, are ``NO_DOMAIN_CHECKPOINT`` from the test domain.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from virtcore import errors, hookimpl
from virtcore.errors import (
    ConfigUnsupportedError,
    NoDomainCheckpointError,
    OperationFailedError,
    OperationUnsupportedError,
)

if TYPE_CHECKING:
    from virt_test.node import Node, TestDomain
    from virtcore.xml.checkpoint import CheckpointDef

__all__ = ["TestCheckpoints"]


def _missing(name: str) -> NoDomainCheckpointError:
    return NoDomainCheckpointError(
        f"no domain checkpoint with matching name '{name}'", domain=errors.ErrorDomain.TEST
    )


def _get(dom: TestDomain, name: str) -> CheckpointDef:
    found: CheckpointDef | None = dom.checkpoints.get(name)
    if found is None:
        raise _missing(name)
    return found


class TestCheckpoints:
    """The checkpoint hook implementations over one node's domains."""

    __test__ = False  # not a pytest test class

    def __init__(self, node: Node) -> None:
        self.node = node

    @hookimpl
    def virt_domain_checkpoint_create_xml(self, uuid: str, xml: str) -> str:
        import attrs  # saves attrs on open: only checkpoints need it

        from virtcore.xml import format_domain  # saves ~170 ms on open: lxml and the XML model
        from virtcore.xml.checkpoint import CheckpointDisk, parse_checkpoint  # saves the XML model on open
        from virtcore.xml.snapshot import SnapshotParent  # saves the XML model on open

        wanted = parse_checkpoint(xml)
        with self.node.lock:
            dom = self.node.get(uuid)
            if not dom.active:
                raise OperationUnsupportedError(
                    "cannot create checkpoint for inactive domain", domain=errors.ErrorDomain.TEST
                )
            definition = dom.definition()
            now = int(time.time())
            name = wanted.name or str(now)
            if name in dom.checkpoints:
                raise OperationFailedError(
                    f"domain moment {name} already exists", domain=errors.ErrorDomain.DOMAIN
                )
            targets = [d.target_dev for d in definition.disks if d.target_dev]
            for disk in wanted.disks:
                if disk.name not in targets:
                    raise ConfigUnsupportedError(
                        f"no disk named '{disk.name}'", domain=errors.ErrorDomain.DOMAIN_CHECKPOINT
                    )
            listed = {d.name: d for d in wanted.disks}
            disks = []
            for target in targets:
                d = listed.get(target, CheckpointDisk(name=target, checkpoint="bitmap"))
                if d.checkpoint is None:
                    d = attrs.evolve(d, checkpoint="bitmap")
                if d.checkpoint == "bitmap" and d.bitmap is None:
                    d = attrs.evolve(d, bitmap=name)
                disks.append(d)
            parent = next(reversed(dom.checkpoints), None)
            made = attrs.evolve(
                wanted,
                name=name,
                creation_time=now,
                parent=None if parent is None else SnapshotParent(name=parent),
                disks=tuple(disks),
            ).with_domain(format_domain(definition))
            dom.checkpoints[name] = made
        return name

    @hookimpl
    def virt_domain_list_all_checkpoints(self, uuid: str) -> list[str]:
        with self.node.lock:
            return list(self.node.get(uuid).checkpoints)

    @hookimpl
    def virt_domain_checkpoint_lookup_by_name(self, uuid: str, name: str) -> str:
        with self.node.lock:
            _get(self.node.get(uuid), name)
        return name

    @hookimpl
    def virt_domain_checkpoint_get_xml_desc(self, uuid: str, name: str, no_domain: bool) -> str:
        with self.node.lock:
            cp = _get(self.node.get(uuid), name)
        return cp.to_xml(no_domain=no_domain)

    @hookimpl
    def virt_domain_checkpoint_get_parent(self, uuid: str, name: str) -> str:
        with self.node.lock:
            parent = _get(self.node.get(uuid), name).parent_name
        if parent is None:
            raise NoDomainCheckpointError(
                f"checkpoint '{name}' does not have a parent", domain=errors.ErrorDomain.TEST
            )
        return parent

    @hookimpl
    def virt_domain_checkpoint_delete(self, uuid: str, name: str, children: bool) -> bool:
        import attrs  # saves attrs on open: only checkpoints need it

        from virtcore.xml.snapshot import SnapshotParent  # saves ~170 ms on open: the XML model

        with self.node.lock:
            dom = self.node.get(uuid)
            gone = _get(dom, name)
            doomed = {name}
            if children:
                for cp_name, cp in dom.checkpoints.items():  # oldest first: parents before children
                    if cp.parent_name in doomed:
                        doomed.add(cp_name)
            for cp_name in doomed:
                del dom.checkpoints[cp_name]
            new_parent = None if gone.parent_name is None else SnapshotParent(name=gone.parent_name)
            for cp_name, cp in list(dom.checkpoints.items()):
                if cp.parent_name == name:
                    dom.checkpoints[cp_name] = attrs.evolve(cp, parent=new_parent)
        return True
