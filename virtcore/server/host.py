"""The node devices' and secrets' procedures, answered with the core's API.

Node devices travel by name (``remote_nonnull_node_device`` is just the
name); secrets by UUID with their usage (``remote_nonnull_secret``), found
again by UUID as libvirt's daemon finds them. Flag numbers are libvirt's
(``virConnectListAllNodeDeviceFlags``, ``virConnectListAllSecretsFlags``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from virtcore.server.registry import check_flags, handler, uuid_bytes, uuid_str

if TYPE_CHECKING:
    from virtcore.connection import Connection
    from virtcore.nodedev import NodeDevice
    from virtcore.secret import Secret
    from virtcore.server.daemon import Session

__all__ = ["wire_device", "wire_secret", "secret_of"]

#: ``VIR_CONNECT_LIST_NODE_DEVICES_INACTIVE`` and ``_ACTIVE``: every device virtcore lists is active.
_DEV_INACTIVE, _DEV_ACTIVE = 1 << 30, 1 << 31


def _conn(session: Session) -> Connection:
    return session.connection()


def _names(names: list[str], most: int) -> dict[str, Any]:
    return {"names": names[: max(most, 0)]}


# -- node devices -------------------------------------------------------------------------------------


def wire_device(dev: NodeDevice) -> dict[str, Any]:
    """``remote_nonnull_node_device``."""
    return {"name": dev.name}


def _devices(session: Session, cap: str | None, flags: int, what: str) -> list[NodeDevice]:
    check_flags(flags, 0, what)
    return _conn(session).list_node_devices(cap)


@handler("CONNECT_LIST_ALL_NODE_DEVICES")
def _list_all_devices(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    from virtcore.nodedev import NODE_DEVICE_CAPS

    caps_mask = (1 << len(NODE_DEVICE_CAPS)) - 1
    flags = check_flags(
        args["flags"], caps_mask | _DEV_INACTIVE | _DEV_ACTIVE, "virConnectListAllNodeDevices"
    )
    if flags & _DEV_INACTIVE and not flags & _DEV_ACTIVE:
        devices = []
    else:
        devices = _conn(session).list_node_devices()
        wanted = {cap for i, cap in enumerate(NODE_DEVICE_CAPS) if flags & (1 << i)}
        if wanted:
            devices = [d for d in devices if wanted.intersection(d.capabilities())]
    out = [wire_device(d) for d in devices]
    return {"devices": out if args["need_results"] else [], "ret": len(out)}


@handler("NODE_NUM_OF_DEVICES")
def _num_of_devices(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"num": len(_devices(session, args["cap"], args["flags"], "virNodeNumOfDevices"))}


@handler("NODE_LIST_DEVICES")
def _list_devices(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    devices = _devices(session, args["cap"], args["flags"], "virNodeListDevices")
    return _names([d.name for d in devices], args["maxnames"])


@handler("NODE_DEVICE_LOOKUP_BY_NAME")
def _device_by_name(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"dev": wire_device(_conn(session).lookup_node_device(args["name"]))}


@handler("NODE_DEVICE_GET_XML_DESC")
def _device_xml(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virNodeDeviceGetXMLDesc")
    return {"xml": _conn(session).lookup_node_device(args["name"]).xml_desc()}


@handler("NODE_DEVICE_GET_PARENT")
def _device_parent(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"parentName": _conn(session).lookup_node_device(args["name"]).parent}


@handler("NODE_DEVICE_NUM_OF_CAPS")
def _device_num_caps(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"num": len(_conn(session).lookup_node_device(args["name"]).capabilities())}


@handler("NODE_DEVICE_LIST_CAPS")
def _device_caps(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return _names(_conn(session).lookup_node_device(args["name"]).capabilities(), args["maxnames"])


@handler("NODE_DEVICE_CREATE_XML")
def _device_create(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0x1, "virNodeDeviceCreateXML")  # VALIDATE: always
    return {"dev": wire_device(_conn(session).create_node_device(args["xml_desc"]))}


@handler("NODE_DEVICE_DESTROY")
def _device_destroy(session: Session, args: dict[str, Any]) -> None:
    _conn(session).lookup_node_device(args["name"]).destroy()


# -- secrets -------------------------------------------------------------------------------------------


def wire_secret(secret: Secret) -> dict[str, Any]:
    """``remote_nonnull_secret``."""
    return {"uuid": uuid_bytes(secret.uuid), "usageType": int(secret.usage_type), "usageID": secret.usage_id}


def secret_of(session: Session, wire: dict[str, Any]) -> Secret:
    """The secret a wire handle names (by UUID)."""
    return _conn(session).lookup_secret_by_uuid(uuid_str(wire["uuid"]))


@handler("CONNECT_LIST_ALL_SECRETS")
def _list_all_secrets(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    # EPHEMERAL 1, NO_EPHEMERAL 2, PRIVATE 4, NO_PRIVATE 8: not offered (refused as unsupported).
    check_flags(args["flags"], 0, "virConnectListAllSecrets")
    out = [wire_secret(s) for s in _conn(session).list_secrets()]
    return {"secrets": out if args["need_results"] else [], "ret": len(out)}


@handler("CONNECT_NUM_OF_SECRETS")
def _num_of_secrets(session: Session, args: None) -> dict[str, Any]:
    return {"num": len(_conn(session).list_secrets())}


@handler("CONNECT_LIST_SECRETS")
def _list_secrets(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    uuids = [s.uuid for s in _conn(session).list_secrets()]
    return {"uuids": uuids[: max(args["maxuuids"], 0)]}


@handler("SECRET_LOOKUP_BY_UUID")
def _secret_by_uuid(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"secret": wire_secret(secret_of(session, args))}


@handler("SECRET_LOOKUP_BY_USAGE")
def _secret_by_usage(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    found = _conn(session).lookup_secret_by_usage(args["usageType"], args["usageID"])
    return {"secret": wire_secret(found)}


@handler("SECRET_DEFINE_XML")
def _secret_define(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virSecretDefineXML")
    return {"secret": wire_secret(_conn(session).define_secret(args["xml"]))}


@handler("SECRET_GET_XML_DESC")
def _secret_xml(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virSecretGetXMLDesc")
    return {"xml": secret_of(session, args["secret"]).xml_desc()}


@handler("SECRET_SET_VALUE")
def _secret_set_value(session: Session, args: dict[str, Any]) -> None:
    check_flags(args["flags"], 0, "virSecretSetValue")
    secret_of(session, args["secret"]).set_value(bytes(args["value"]))


@handler("SECRET_GET_VALUE")
def _secret_get_value(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], 0, "virSecretGetValue")
    return {"value": secret_of(session, args["secret"]).value()}


@handler("SECRET_UNDEFINE")
def _secret_undefine(session: Session, args: dict[str, Any]) -> None:
    secret_of(session, args["secret"]).undefine()
