"""The one table of hooks that are a single remote procedure on a single object.

Many of the core's hooks are, over libvirt's remote program, one call that
names one object and passes a few scalars: ``virt_domain_suspend(uuid)`` is
``DOMAIN_SUSPEND {dom}``, a void reply; ``virt_network_get_autostart(uuid)``
is ``NETWORK_GET_AUTOSTART {net}`` answering ``{autostart}``. Such a hook is
described here once, as a :class:`Call`, and both ends are derived from the
description (go-libvirt's table-driven client is the model):

* the remote driver (``virt_remote.driver``) builds the hook implementation:
  the object's wire handle, the parameters under their wire names (booleans
  as ints), the reply's field as the hook's result (``True`` for a void one);
* the server (:mod:`virtcore.server.calls`) builds the procedure's handler:
  the object from its handle, its ``member`` called, read or set with the
  parameters in order, the result under the reply's field.

A hook that needs more (flags computed from several parameters, a reply
turned into a record, a handle in the reply) is written out where it is
used. To add one, add a row: the hook's parameters after the object's
(``uuid``, ``key`` for a volume, ``name`` for a host interface) are the ``params``, in the order the
core's method takes them. tests/test_rpc_calls.py holds every row against the
hookspecs and the protocol.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

__all__ = ["CALLS", "Call", "Param", "Target", "Access", "Scalar"]

#: The object a call names, by its wire handle's field (``remote_nonnull_domain`` is ``dom``...).
Target = Literal["dom", "net", "pool", "vol", "secret", "iface"]
#: How the server reaches the core: call a method, read or assign a property.
Access = Literal["call", "get", "set"]
#: The types a parameter or a reply carries (``bool`` travels as an int, ``bytes`` as opaque data).
Scalar = type[bool] | type[int] | type[str] | type[bytes]

#: The hook parameter that names the object, per target (the others' is ``uuid``).
_KEYS: dict[str, str] = {"vol": "key", "iface": "name"}


class Param(NamedTuple):
    """One hook parameter: its name in the hookspec, its field in the procedure's arguments, its type."""

    name: str
    wire: str
    kind: Scalar


class Call(NamedTuple):
    """One hook as one procedure on one object."""

    procedure: str
    target: Target
    member: str
    access: Access = "call"
    params: tuple[Param, ...] = ()
    #: The reply's field and type; ``None``: a void reply, the hook answers ``True``.
    reply: tuple[str, Scalar] | None = None
    #: libvirt's function whose ``flags`` argument the procedure has: the client sends 0, the
    #: server refuses anything else under that function's name.
    flags: str | None = None

    @property
    def key(self) -> str:
        """The hook's parameter naming the object (a volume's key, an interface's name, else the UUID)."""
        return _KEYS.get(self.target, "uuid")


def _p(name: str, kind: Scalar, wire: str | None = None) -> tuple[Param, ...]:
    return (Param(name, wire or name, kind),)


_AUTOSTART = _p("autostart", bool)
_XML = _p("xml", str)

#: Hook name -> its one procedure. Keep one object kind together, in the hookspecs' order.
CALLS: dict[str, Call] = {
    # -- domains
    "virt_domain_is_persistent": Call(
        "DOMAIN_IS_PERSISTENT", "dom", "is_persistent", reply=("persistent", bool)
    ),
    "virt_domain_is_updated": Call("DOMAIN_IS_UPDATED", "dom", "is_updated", reply=("updated", bool)),
    "virt_domain_create": Call("DOMAIN_CREATE", "dom", "start"),
    "virt_domain_suspend": Call("DOMAIN_SUSPEND", "dom", "suspend"),
    "virt_domain_resume": Call("DOMAIN_RESUME", "dom", "resume"),
    "virt_domain_shutdown": Call("DOMAIN_SHUTDOWN", "dom", "shutdown"),
    "virt_domain_reboot": Call("DOMAIN_REBOOT", "dom", "reboot", flags="virDomainReboot"),
    "virt_domain_reset": Call("DOMAIN_RESET", "dom", "reset", flags="virDomainReset"),
    "virt_domain_inject_nmi": Call("DOMAIN_INJECT_NMI", "dom", "inject_nmi", flags="virDomainInjectNMI"),
    "virt_domain_destroy": Call("DOMAIN_DESTROY", "dom", "destroy"),
    "virt_domain_set_memory": Call("DOMAIN_SET_MEMORY", "dom", "set_memory", params=_p("memory", int)),
    "virt_domain_set_max_memory": Call(
        "DOMAIN_SET_MAX_MEMORY", "dom", "set_max_memory", params=_p("memory", int)
    ),
    "virt_domain_set_vcpus": Call("DOMAIN_SET_VCPUS", "dom", "set_vcpus", params=_p("count", int, "nvcpus")),
    "virt_domain_get_autostart": Call(
        "DOMAIN_GET_AUTOSTART", "dom", "autostart", "get", reply=("autostart", bool)
    ),
    "virt_domain_set_autostart": Call("DOMAIN_SET_AUTOSTART", "dom", "autostart", "set", _AUTOSTART),
    "virt_domain_attach_device": Call("DOMAIN_ATTACH_DEVICE", "dom", "attach_device", params=_XML),
    "virt_domain_detach_device": Call("DOMAIN_DETACH_DEVICE", "dom", "detach_device", params=_XML),
    # -- storage pools
    "virt_storage_pool_destroy": Call("STORAGE_POOL_DESTROY", "pool", "destroy"),
    "virt_storage_pool_delete": Call("STORAGE_POOL_DELETE", "pool", "delete", flags="virStoragePoolDelete"),
    "virt_storage_pool_undefine": Call("STORAGE_POOL_UNDEFINE", "pool", "undefine"),
    "virt_storage_pool_refresh": Call(
        "STORAGE_POOL_REFRESH", "pool", "refresh", flags="virStoragePoolRefresh"
    ),
    "virt_storage_pool_get_autostart": Call(
        "STORAGE_POOL_GET_AUTOSTART", "pool", "autostart", "get", reply=("autostart", bool)
    ),
    "virt_storage_pool_set_autostart": Call(
        "STORAGE_POOL_SET_AUTOSTART", "pool", "autostart", "set", _AUTOSTART
    ),
    "virt_storage_pool_is_persistent": Call(
        "STORAGE_POOL_IS_PERSISTENT", "pool", "is_persistent", reply=("persistent", bool)
    ),
    # -- storage volumes
    "virt_storage_vol_get_path": Call("STORAGE_VOL_GET_PATH", "vol", "path", "get", reply=("name", str)),
    # -- networks
    "virt_network_create": Call("NETWORK_CREATE", "net", "start"),
    "virt_network_destroy": Call("NETWORK_DESTROY", "net", "destroy"),
    "virt_network_undefine": Call("NETWORK_UNDEFINE", "net", "undefine"),
    "virt_network_get_autostart": Call(
        "NETWORK_GET_AUTOSTART", "net", "autostart", "get", reply=("autostart", bool)
    ),
    "virt_network_set_autostart": Call("NETWORK_SET_AUTOSTART", "net", "autostart", "set", _AUTOSTART),
    "virt_network_is_active": Call("NETWORK_IS_ACTIVE", "net", "is_active", reply=("active", bool)),
    "virt_network_is_persistent": Call(
        "NETWORK_IS_PERSISTENT", "net", "is_persistent", reply=("persistent", bool)
    ),
    "virt_network_get_bridge_name": Call(
        "NETWORK_GET_BRIDGE_NAME", "net", "bridge_name", "get", reply=("name", str)
    ),
    # -- host interfaces
    "virt_interface_is_active": Call("INTERFACE_IS_ACTIVE", "iface", "is_active", reply=("active", bool)),
    "virt_interface_undefine": Call("INTERFACE_UNDEFINE", "iface", "undefine"),
    "virt_interface_create": Call("INTERFACE_CREATE", "iface", "start", flags="virInterfaceCreate"),
    "virt_interface_destroy": Call("INTERFACE_DESTROY", "iface", "destroy", flags="virInterfaceDestroy"),
    # -- secrets
    "virt_secret_get_xml_desc": Call(
        "SECRET_GET_XML_DESC", "secret", "xml_desc", reply=("xml", str), flags="virSecretGetXMLDesc"
    ),
    "virt_secret_set_value": Call(
        "SECRET_SET_VALUE", "secret", "set_value", params=_p("value", bytes), flags="virSecretSetValue"
    ),
    "virt_secret_get_value": Call(
        "SECRET_GET_VALUE", "secret", "value", reply=("value", bytes), flags="virSecretGetValue"
    ),
    "virt_secret_undefine": Call("SECRET_UNDEFINE", "secret", "undefine"),
}
