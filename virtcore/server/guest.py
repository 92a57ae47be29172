"""The guest agent's procedures (file systems, clock, passwords, guest info), answered with the core's API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from virtcore.rpc import typedparams
from virtcore.server.registry import check_flags, domain_of, handler

if TYPE_CHECKING:
    from virtcore.server.daemon import Session

__all__: list[str] = []


@handler("DOMAIN_FSFREEZE")
def _fs_freeze(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virDomainFSFreeze")
    agent = domain_of(session, args["dom"]).agent
    return {"filesystems": agent.fs_freeze(args["mountpoints"] or None)}


@handler("DOMAIN_FSTHAW")
def _fs_thaw(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virDomainFSThaw")
    agent = domain_of(session, args["dom"]).agent
    return {"filesystems": agent.fs_thaw(args["mountpoints"] or None)}


@handler("DOMAIN_GET_TIME")
def _get_time(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virDomainGetTime")
    seconds, nseconds = domain_of(session, args["dom"]).agent.get_time()
    return {"seconds": seconds, "nseconds": nseconds}


@handler("DOMAIN_SET_TIME")
def _set_time(session: Session, args: dict[str, Any]) -> None:
    flags = check_flags(args["flags"], 0x1, "virDomainSetTime")  # SYNC 1
    agent = domain_of(session, args["dom"]).agent
    if flags & 1:
        agent.set_time(sync=True)
    else:
        agent.set_time(args["seconds"], args["nseconds"])


@handler("DOMAIN_SET_USER_PASSWORD")
def _set_user_password(session: Session, args: dict[str, Any]) -> None:
    flags = check_flags(args["flags"], 0x1, "virDomainSetUserPassword")  # ENCRYPTED 1
    agent = domain_of(session, args["dom"]).agent
    agent.set_user_password(args["user"], args["password"], crypted=bool(flags & 1))


@handler("DOMAIN_GET_GUEST_INFO")
def _guest_info(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virDomainGetGuestInfo")
    info = domain_of(session, args["dom"]).agent.guest_info(args["types"])
    return {"params": typedparams.to_wire(info)}
