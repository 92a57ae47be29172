"""The handlers of the procedures in :data:`virtcore.rpc.calls.CALLS`, derived from the table.

Each row becomes one handler: the object its wire handle names, the core's
``member`` called (or read, or assigned) with the arguments in the row's
order, the result under the reply's field (booleans as ints). :func:`serve`
also registers a row under another procedure of the same shape (libvirt's
``*_FLAGS`` variants).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from virtcore.rpc.calls import CALLS, Call, Target
from virtcore.server.host import iface_of, secret_of
from virtcore.server.objects import net_of, pool_of, vol_of
from virtcore.server.registry import check_flags, domain_of, handler

if TYPE_CHECKING:
    from virtcore.server.daemon import Session

__all__ = ["serve"]

#: How a wire handle becomes the core's object, per target.
_RESOLVE: dict[Target, Callable[[Session, dict[str, Any]], Any]] = {
    "dom": domain_of,
    "net": net_of,
    "pool": pool_of,
    "vol": vol_of,
    "secret": secret_of,
    "iface": iface_of,
}


def _handler(call: Call) -> Callable[[Session, dict[str, Any]], dict[str, Any] | None]:
    resolve = _RESOLVE[call.target]
    params = tuple((p.wire, p.kind) for p in call.params)

    def run(session: Session, args: dict[str, Any]) -> dict[str, Any] | None:
        if call.flags is not None and "flags" in args:
            check_flags(args["flags"], 0, call.flags)
        obj = resolve(session, args[call.target])
        values = [kind(args[wire]) for wire, kind in params]
        if call.access == "set":
            setattr(obj, call.member, *values)
            return None
        member = getattr(obj, call.member)
        result = member if call.access == "get" else member(*values)
        if call.reply is None:
            return None
        field, kind = call.reply
        return {field: int(result) if kind is bool else kind(result)}

    run.__name__ = run.__qualname__ = f"serve_{call.procedure.lower()}"
    return run


def serve(call: Call, procedure: str | None = None, flags: str | None = None) -> None:
    """Register ``call``'s handler under its procedure, or under ``procedure`` (checking ``flags``)."""
    if procedure is not None:
        call = call._replace(procedure=procedure, flags=flags)
    handler(call.procedure)(_handler(call))


for _call in CALLS.values():
    serve(_call)
serve(CALLS["virt_domain_destroy"], "DOMAIN_DESTROY_FLAGS", "virDomainDestroyFlags")
serve(CALLS["virt_domain_shutdown"], "DOMAIN_SHUTDOWN_FLAGS", "virDomainShutdownFlags")
