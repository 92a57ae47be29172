"""Block and interface statistics from the Xen backends' sysfs counters, on a host without
Xen: a fake XenStore and a fake sysfs tree. The real blkback/netback are read in dom0/."""

from __future__ import annotations

from pathlib import Path

import pytest
from virt_xen import _channels
from virt_xen._channels import XenContext, XenStoreChannel
from virt_xen._store import ConfigStore
from virt_xen._xenstore import StoreDomain

from virtcore.errors import InvalidArgError, NoDomainError
from virtcore.uri import URI

U = "33333333-3333-3333-3333-333333333333"


class FakeStore:
    def __init__(self, tree: dict[str, str]) -> None:
        self.tree = tree

    def domains(self) -> list[StoreDomain]:
        return [StoreDomain(7, "g", U)]

    def read(self, path: str) -> str | None:
        return self.tree.get(path)

    def ls(self, path: str) -> list[str]:
        kids = {k[len(path) + 1 :].split("/")[0] for k in self.tree if k.startswith(path + "/")}
        return sorted(kids)


@pytest.fixture
def channel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> XenStoreChannel:
    be = tmp_path / "xen-backend"
    net = tmp_path / "net"
    monkeypatch.setattr(_channels, "SYSFS_XEN_BACKEND", be)
    monkeypatch.setattr(_channels, "SYSFS_NET", net)
    vals = {"rd_req": 3, "rd_sect": 8, "wr_req": 2, "wr_sect": 16, "oo_req": 1}
    (be / "vbd-7-51728/statistics").mkdir(parents=True)
    for k, v in vals.items():
        (be / "vbd-7-51728/statistics" / k).write_text(f"{v}\n")
    (net / "vif7.0/statistics").mkdir(parents=True)
    names = (
        "rx_bytes",
        "rx_packets",
        "rx_errors",
        "rx_dropped",
        "tx_bytes",
        "tx_packets",
        "tx_errors",
        "tx_dropped",
    )
    for i, n in enumerate(names):
        (net / "vif7.0/statistics" / n).write_text(f"{i + 1}\n")
    xs = FakeStore({
        "/local/domain/0/backend/vbd/7/51728/dev": "xvdb",
        "/local/domain/0/backend/vif/7/0/mac": "00:16:3e:00:00:07",
    })  # fmt: skip
    ctx = XenContext(uri=URI.parse("xen:///system"), read_only=True,
                     store=ConfigStore(tmp_path / "etc", tmp_path / "run"), xl=None, xs=xs)  # type: ignore[arg-type]  # fmt: skip
    return XenStoreChannel(ctx)


def test_block_stats_from_blkback_counters(channel: XenStoreChannel) -> None:
    assert channel.virt_domain_block_stats(uuid=U, device="xvdb") == (3, 8 * 512, 2, 16 * 512, 1)
    with pytest.raises(InvalidArgError, match="xvdc"):
        channel.virt_domain_block_stats(uuid=U, device="xvdc")
    with pytest.raises(NoDomainError):
        channel.virt_domain_block_stats(uuid="44444444-4444-4444-4444-444444444444", device="xvdb")


def test_interface_stats_are_the_guests_view_of_the_vif(channel: XenStoreChannel) -> None:
    # dom0's vif transmits what the guest receives: tx and rx swap
    expect = (5, 6, 7, 8, 1, 2, 3, 4)
    assert channel.virt_domain_interface_stats(uuid=U, device="00:16:3E:00:00:07") == expect
    assert channel.virt_domain_interface_stats(uuid=U, device="vif7.0") == expect
    with pytest.raises(InvalidArgError):
        channel.virt_domain_interface_stats(uuid=U, device="vif7.1")
