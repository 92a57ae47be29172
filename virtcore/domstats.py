"""libvirt's bulk domain statistics (``virConnectGetAllDomainStats``): the groups the core can fill.

A record of bulk statistics is a flat list of typed parameters per domain
(``state.state``, ``iothread.3.poll-max-ns``...), grouped by
``VIR_DOMAIN_STATS_*`` bits. :data:`GROUPS` describes, once, each group the
core fills from a :class:`virtcore.Domain` (the groups of libvirt's test
driver: ``state`` and ``iothread``), with libvirt's key names and types; the
server (``virtcore serve``) sends records made by :func:`record`, the remote
driver reads the I/O threads back with :func:`iothreads_of`. A group whose
source the domain's driver lacks, or that only a running domain has, is left
out of the record, as libvirt leaves it out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from virtcore.errors import NoSupportError, OperationInvalidError

if TYPE_CHECKING:
    from virtcore.connection import Domain

__all__ = ["STATS_STATE", "STATS_IOTHREAD", "Stat", "GROUPS", "SUPPORTED", "record", "iothreads_of"]

#: ``VIR_DOMAIN_STATS_STATE``, ``VIR_DOMAIN_STATS_IOTHREAD`` (libvirt-domain.h).
STATS_STATE, STATS_IOTHREAD = 1, 128
#: An I/O thread's polling keys (``iothread.<id>.<key>``) and libvirt's type of each.
_POLLING = {"poll-max-ns": "ullong", "poll-grow": "uint", "poll-shrink": "uint"}


class Stat(NamedTuple):
    """One typed parameter of a record: libvirt's key, libvirt's type name (``"uint"``...), the value."""

    key: str
    kind: str
    value: int


def _state(dom: Domain) -> list[Stat]:
    state, reason = dom.state()
    return [Stat("state.state", "int", int(state)), Stat("state.reason", "int", int(reason))]


def _iothread(dom: Domain) -> list[Stat]:
    found = dom.iothread_stats()
    if not found:
        return []
    out = [Stat("iothread.count", "uint", len(found))]
    for number, polling in found:
        out += [Stat(f"iothread.{number}.{key}", kind, polling[key]) for key, kind in _POLLING.items()]
    return out


#: Each group the core fills, by its bit, in libvirt's order.
GROUPS: dict[int, Callable[[Domain], list[Stat]]] = {STATS_STATE: _state, STATS_IOTHREAD: _iothread}
SUPPORTED = sum(GROUPS)


def record(dom: Domain, wanted: int) -> list[Stat]:
    """The statistics of ``dom`` for the groups ``wanted`` (bits of :data:`GROUPS`; others are ignored)."""
    out: list[Stat] = []
    for bit, fill in GROUPS.items():
        if wanted & bit:
            try:
                out += fill(dom)
            except (NoSupportError, OperationInvalidError):
                continue  # the driver cannot tell, or not while the domain is off: left out
    return out


def iothreads_of(params: Mapping[str, Any]) -> list[tuple[int, dict[str, int]]]:
    """The I/O threads a record's ``iothread`` group tells: ``(id, {poll-max-ns, ...})``, in its order.

    Only threads with polling keys are told (libvirt's QEMU driver leaves out a thread's when
    QEMU does not report them).
    """
    threads: dict[int, dict[str, int]] = {}
    for key, value in params.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "iothread" and parts[1].isdigit() and parts[2] in _POLLING:
            threads.setdefault(int(parts[1]), {})[parts[2]] = int(value)
    return list(threads.items())
