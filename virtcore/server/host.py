"""The node devices', host interfaces' and secrets' procedures, answered with the core's API.

Node devices travel by name (``remote_nonnull_node_device`` is just the
name); host interfaces by name with their MAC (``remote_nonnull_interface``),
found again by name; secrets by UUID with their usage
(``remote_nonnull_secret``), found again by UUID, as libvirt's daemon finds
them. The one-procedure calls on an interface or a secret (is it active,
undefine, its value...) are rows of :data:`virtcore.rpc.calls.CALLS`, served
by :mod:`virtcore.server.calls` with :func:`iface_of` and :func:`secret_of`.
Flag numbers are libvirt's (``virConnectListAllNodeDeviceFlags``,
``virConnectListAllInterfacesFlags``, ``virConnectListAllSecretsFlags``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from virtcore.server.registry import check_flags, handler, uuid_bytes, uuid_str

if TYPE_CHECKING:
    from virtcore.connection import Connection
    from virtcore.interface import Interface
    from virtcore.nodedev import NodeDevice
    from virtcore.secret import Secret
    from virtcore.server.daemon import Session

__all__ = ["wire_device", "wire_iface", "iface_of", "wire_secret", "secret_of"]

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
        conn = _conn(session)
        devices = conn.list_node_devices()
        wanted = [cap for i, cap in enumerate(NODE_DEVICE_CAPS) if flags & (1 << i)]
        if wanted:  # by the core's matching, which finds nested capabilities (fc_host, vports) too
            having = {d.name for cap in wanted for d in conn.list_node_devices(cap)}
            devices = [d for d in devices if d.name in having]
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


# -- host interfaces ------------------------------------------------------------------------------------

#: ``VIR_CONNECT_LIST_INTERFACES_INACTIVE`` and ``_ACTIVE``.
_IFACE_INACTIVE, _IFACE_ACTIVE = 1, 2
#: ``VIR_INTERFACE_XML_INACTIVE``; ``VIR_INTERFACE_DEFINE_VALIDATE`` (the core always validates).
_IFACE_XML_INACTIVE = _IFACE_DEFINE_VALIDATE = 1


def wire_iface(iface: Interface) -> dict[str, Any]:
    """``remote_nonnull_interface``."""
    return {"name": iface.name, "mac": iface.mac}


def iface_of(session: Session, wire: dict[str, Any]) -> Interface:
    """The interface a wire handle names (by name)."""
    return _conn(session).lookup_interface(wire["name"])


@handler("CONNECT_LIST_ALL_INTERFACES")
def _list_all_ifaces(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    flags = check_flags(args["flags"], _IFACE_INACTIVE | _IFACE_ACTIVE, "virConnectListAllInterfaces")
    active = None if flags in (0, _IFACE_INACTIVE | _IFACE_ACTIVE) else bool(flags & _IFACE_ACTIVE)
    out = [wire_iface(i) for i in _conn(session).list_interfaces(active)]
    return {"ifaces": out if args["need_results"] else [], "ret": len(out)}


def _count_ifaces(active: bool) -> Any:
    def run(session: Session, args: None) -> dict[str, Any]:
        return {"num": len(_conn(session).list_interfaces(active))}

    return run


def _name_ifaces(active: bool) -> Any:
    def run(session: Session, args: dict[str, Any]) -> dict[str, Any]:
        return _names([i.name for i in _conn(session).list_interfaces(active)], args["maxnames"])

    return run


handler("CONNECT_NUM_OF_INTERFACES")(_count_ifaces(True))
handler("CONNECT_NUM_OF_DEFINED_INTERFACES")(_count_ifaces(False))
handler("CONNECT_LIST_INTERFACES")(_name_ifaces(True))
handler("CONNECT_LIST_DEFINED_INTERFACES")(_name_ifaces(False))


@handler("INTERFACE_LOOKUP_BY_NAME")
def _iface_by_name(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"iface": wire_iface(_conn(session).lookup_interface(args["name"]))}


@handler("INTERFACE_LOOKUP_BY_MAC_STRING")
def _iface_by_mac(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return {"iface": wire_iface(_conn(session).lookup_interface_by_mac(args["mac"]))}


@handler("INTERFACE_DEFINE_XML")
def _iface_define(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    check_flags(args["flags"], _IFACE_DEFINE_VALIDATE, "virInterfaceDefineXML")
    return {"iface": wire_iface(_conn(session).define_interface(args["xml"]))}


@handler("INTERFACE_GET_XML_DESC")
def _iface_xml(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    flags = check_flags(args["flags"], _IFACE_XML_INACTIVE, "virInterfaceGetXMLDesc")
    return {"xml": iface_of(session, args["iface"]).xml_desc(inactive=bool(flags))}


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
