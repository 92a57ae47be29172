"""The test daemons are real and contained: Debian's virsh reaches libvirtd's test driver through them."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from virt_remote.daemons import Libvirtd, Sshd

pytestmark = pytest.mark.skipif(
    shutil.which("virsh") is None, reason="needs Debian's virsh (libvirt-clients)"
)


def _virsh(uri: str, *args: str) -> str:
    out = subprocess.run(["virsh", "-c", uri, *args], capture_output=True, text=True, timeout=120, check=True)
    return out.stdout


def test_libvirtd_serves_its_test_driver_on_its_own_socket(libvirtd: Libvirtd) -> None:
    assert str(libvirtd.socket).startswith(str(libvirtd.root))
    assert libvirtd.socket.is_socket()
    assert "test" in _virsh(libvirtd.uri(), "list", "--all", "--name").split()
    assert "Name:           test" in _virsh(libvirtd.uri(), "dominfo", "test")


def test_sshd_lets_the_generated_key_in_and_reaches_libvirtd(libvirtd: Libvirtd, sshd: Sshd) -> None:
    # virsh's ssh verifies the host key against the sshd's own known_hosts (command= names
    # the ssh binary): nothing is written to the user's ~/.ssh/known_hosts.
    uri = (
        f"test+ssh://root@127.0.0.1:{sshd.port}/default?keyfile={sshd.client_key}"
        f"&no_tty=1&socket={libvirtd.socket}&command={sshd.ssh_wrapper}"
    )
    assert "test" in _virsh(uri, "list", "--all", "--name").split()


@pytest.mark.skipif(shutil.which("virt-ssh-helper") is None, reason="needs virt-ssh-helper (libvirt-daemon)")
@pytest.mark.parametrize("proxy", ["native", "auto"])
def test_virt_ssh_helper_at_the_far_end(libvirtd: Libvirtd, sshd: Sshd, proxy: str) -> None:
    # No socket=: the far end runs virt-ssh-helper (proxy=native, or auto finding it),
    # which opens test:///default on the daemon where libvirt looks for it.
    import virtcore

    uri = (
        f"test+ssh://root@127.0.0.1:{sshd.port}/default?keyfile={sshd.client_key}"
        f"&no_verify=1&no_tty=1&proxy={proxy}"
    )
    with virtcore.open(uri) as conn:
        assert conn.lookup_domain("test").is_active()
        assert conn.get_type() == "TEST"
