"""Network XML for virt-network's tests."""

from __future__ import annotations


def net_xml(
    name: str,
    bridge: str | None = "vtbr0",
    ip: str = "10.77.0.1",
    prefix: int = 24,
    *,
    mode: str | None = None,
    dhcp: bool = True,
    extra: str = "",
) -> str:
    """A network ``name`` on ``bridge`` with ``ip``/``prefix`` (DHCP from .10 to .100) in ``mode``."""
    base = ip.rsplit(".", 1)[0]
    fwd = f"<forward mode='{mode}'/>" if mode else ""
    br = f"<bridge name='{bridge}'/>" if bridge is not None else ""
    rng = f"<dhcp><range start='{base}.10' end='{base}.100'/></dhcp>" if dhcp else ""
    return (
        f"<network><name>{name}</name>{fwd}{br}{extra}"
        f"<ip address='{ip}' prefix='{prefix}'>{rng}</ip></network>"
    )
