"""The remote driver's hooks for the host's objects: node devices, host interfaces, secrets.

Mixed into :class:`virt_remote.driver.RemoteDriver`. Node devices travel by
name (``remote_nonnull_node_device``); interfaces by name with their MAC
(``remote_nonnull_interface``); secrets by UUID with their usage
(``remote_nonnull_secret``). libvirt's daemon finds an interface again by its
name and a secret by its UUID, so a handle carries the MAC or the usage last
seen for it (empty when none was: the daemon does not read them). The
one-procedure hooks on an interface or a secret are rows of
:data:`virtcore.rpc.calls.CALLS`, derived in :mod:`virt_remote.driver`.
"""

from __future__ import annotations

from typing import Any

from virtcore.errors import InternalError
from virtcore.hookspecs import hookimpl
from virtcore.interface import InterfaceRef
from virtcore.nodedev import NodeDeviceRef
from virtcore.secret import SecretRef, SecretUsageType

__all__ = ["HostObjectHooks", "secret_ref"]

Wire = dict[str, Any]

#: ``VIR_CONNECT_LIST_INTERFACES_INACTIVE``, ``VIR_CONNECT_LIST_INTERFACES_ACTIVE``.
_IFACES_INACTIVE, _IFACES_ACTIVE = 1, 2
#: ``VIR_INTERFACE_XML_INACTIVE``.
_IFACE_XML_INACTIVE = 1


def secret_ref(wire: Wire) -> SecretRef:
    """The :class:`~virtcore.secret.SecretRef` of a ``remote_nonnull_secret``.

    :raises InternalError: a usage type this virtcore does not know (a newer daemon's).
    """
    raw = bytes(wire["uuid"]).hex()
    if len(raw) != 32:
        raise InternalError(f"a secret UUID of {len(wire['uuid'])} bytes from the daemon")
    uuid = f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
    try:
        usage = SecretUsageType(wire["usageType"])
    except ValueError:
        raise InternalError(f"secret {uuid}: usage type {wire['usageType']} unknown to virtcore") from None
    return SecretRef(uuid, usage, wire["usageID"])


class HostObjectHooks:
    """The node device, host interface and secret hooks of one connection (a mixin of RemoteDriver)."""

    #: Secret UUID -> its usage type and id; interface name -> its MAC (set by RemoteDriver).
    _secrets: dict[str, tuple[int, str]]
    _ifaces: dict[str, str]

    def _call(self, procedure: str, args: Wire | None = None) -> Any:
        raise NotImplementedError  # RemoteDriver's

    # -- handles ------------------------------------------------------------

    def _secretref(self, wire: Wire) -> SecretRef:
        ref = secret_ref(wire)
        self._secrets[ref.uuid] = (int(ref.usage_type), ref.usage_id)
        return ref

    def _secret(self, uuid: str) -> Wire:
        usage_type, usage_id = self._secrets.get(uuid, (0, ""))
        raw = bytes.fromhex(uuid.replace("-", ""))
        return {"uuid": raw, "usageType": usage_type, "usageID": usage_id}

    def _ifaceref(self, wire: Wire) -> InterfaceRef:
        self._ifaces[wire["name"]] = wire["mac"]
        return InterfaceRef(wire["name"], wire["mac"])

    def _iface(self, name: str) -> Wire:
        return {"name": name, "mac": self._ifaces.get(name, "")}

    # -- node devices -------------------------------------------------------

    @hookimpl
    def virt_connect_list_all_node_devices(self, cap: str | None) -> list[NodeDeviceRef]:
        """``CONNECT_LIST_ALL_NODE_DEVICES``; by a capability's name, ``NODE_NUM_OF_DEVICES`` and
        ``NODE_LIST_DEVICES`` (the daemon matches the name, nested capabilities too)."""
        if cap is None:
            r = self._call("CONNECT_LIST_ALL_NODE_DEVICES", {"need_results": 1, "flags": 0})
            return [NodeDeviceRef(d["name"], None) for d in r["devices"]]
        num = self._call("NODE_NUM_OF_DEVICES", {"cap": cap, "flags": 0})["num"]
        names = self._call("NODE_LIST_DEVICES", {"cap": cap, "maxnames": num, "flags": 0})["names"]
        return [NodeDeviceRef(name, None) for name in names]

    @hookimpl
    def virt_node_device_lookup_by_name(self, name: str) -> NodeDeviceRef:
        """``NODE_DEVICE_LOOKUP_BY_NAME``."""
        return NodeDeviceRef(self._call("NODE_DEVICE_LOOKUP_BY_NAME", {"name": name})["dev"]["name"], None)

    @hookimpl
    def virt_node_device_get_xml_desc(self, name: str) -> str:
        """``NODE_DEVICE_GET_XML_DESC``."""
        return str(self._call("NODE_DEVICE_GET_XML_DESC", {"name": name, "flags": 0})["xml"])

    @hookimpl
    def virt_node_device_get_parent(self, name: str) -> str:
        """``NODE_DEVICE_GET_PARENT`` (no name: a root, ``""``)."""
        return str(self._call("NODE_DEVICE_GET_PARENT", {"name": name})["parentName"] or "")

    @hookimpl
    def virt_node_device_list_caps(self, name: str) -> list[str]:
        """``NODE_DEVICE_NUM_OF_CAPS``, then ``NODE_DEVICE_LIST_CAPS`` for that many (as libvirt-python)."""
        num = self._call("NODE_DEVICE_NUM_OF_CAPS", {"name": name})["num"]
        return [str(c) for c in self._call("NODE_DEVICE_LIST_CAPS", {"name": name, "maxnames": num})["names"]]

    @hookimpl
    def virt_node_device_create_xml(self, xml: str) -> NodeDeviceRef:
        """``NODE_DEVICE_CREATE_XML``."""
        dev = self._call("NODE_DEVICE_CREATE_XML", {"xml_desc": xml, "flags": 0})["dev"]
        return NodeDeviceRef(dev["name"], None)

    @hookimpl
    def virt_node_device_destroy(self, name: str) -> bool:
        """``NODE_DEVICE_DESTROY``."""
        self._call("NODE_DEVICE_DESTROY", {"name": name})
        return True

    # -- host interfaces ----------------------------------------------------

    @hookimpl
    def virt_connect_list_all_interfaces(self, active: bool | None) -> list[InterfaceRef]:
        """``CONNECT_LIST_ALL_INTERFACES``."""
        flags = 0 if active is None else (_IFACES_ACTIVE if active else _IFACES_INACTIVE)
        r = self._call("CONNECT_LIST_ALL_INTERFACES", {"need_results": 1, "flags": flags})
        return [self._ifaceref(i) for i in r["ifaces"]]

    @hookimpl
    def virt_interface_lookup_by_name(self, name: str) -> InterfaceRef:
        """``INTERFACE_LOOKUP_BY_NAME``."""
        return self._ifaceref(self._call("INTERFACE_LOOKUP_BY_NAME", {"name": name})["iface"])

    @hookimpl
    def virt_interface_lookup_by_mac_string(self, mac: str) -> InterfaceRef:
        """``INTERFACE_LOOKUP_BY_MAC_STRING``."""
        return self._ifaceref(self._call("INTERFACE_LOOKUP_BY_MAC_STRING", {"mac": mac})["iface"])

    @hookimpl
    def virt_interface_define_xml(self, xml: str) -> InterfaceRef:
        """``INTERFACE_DEFINE_XML``."""
        return self._ifaceref(self._call("INTERFACE_DEFINE_XML", {"xml": xml, "flags": 0})["iface"])

    @hookimpl
    def virt_interface_get_xml_desc(self, name: str, inactive: bool) -> str:
        """``INTERFACE_GET_XML_DESC`` (``VIR_INTERFACE_XML_INACTIVE`` = 1)."""
        args = {"iface": self._iface(name), "flags": _IFACE_XML_INACTIVE if inactive else 0}
        return str(self._call("INTERFACE_GET_XML_DESC", args)["xml"])

    # -- secrets ------------------------------------------------------------

    @hookimpl
    def virt_connect_list_all_secrets(self) -> list[SecretRef]:
        """``CONNECT_LIST_ALL_SECRETS``."""
        r = self._call("CONNECT_LIST_ALL_SECRETS", {"need_results": 1, "flags": 0})
        return [self._secretref(s) for s in r["secrets"]]

    @hookimpl
    def virt_secret_lookup_by_uuid(self, uuid: str) -> SecretRef:
        """``SECRET_LOOKUP_BY_UUID``."""
        raw = bytes.fromhex(uuid.replace("-", ""))
        return self._secretref(self._call("SECRET_LOOKUP_BY_UUID", {"uuid": raw})["secret"])

    @hookimpl
    def virt_secret_lookup_by_usage(self, usage_type: SecretUsageType, usage_id: str) -> SecretRef:
        """``SECRET_LOOKUP_BY_USAGE``."""
        args = {"usageType": int(usage_type), "usageID": usage_id}
        return self._secretref(self._call("SECRET_LOOKUP_BY_USAGE", args)["secret"])

    @hookimpl
    def virt_secret_define_xml(self, xml: str) -> SecretRef:
        """``SECRET_DEFINE_XML``."""
        return self._secretref(self._call("SECRET_DEFINE_XML", {"xml": xml, "flags": 0})["secret"])
