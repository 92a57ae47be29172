"""The ``virtcore`` guest-agent commands, in-process against ``test:///default``.

Where virsh (Debian's libvirt-clients) is installed, the output of each
command sequence is compared with virsh's own on libvirt's test driver.
(``guestinfo`` and ``qemu-agent-command`` are not offered by the test driver:
they are run on a real guest in ``plugins/virt-qemu/tests/test_qemu_agent.py``.)
"""

from __future__ import annotations

import shlex

import pytest
from cli_support import Run, virsh

pytestmark = pytest.mark.usefixtures("fresh_default")


SAME_AS_VIRSH = [
    ["domfsfreeze test", "domfsfreeze test", "domfsthaw test --mountpoint /boot", "domfsthaw test"],
    ["domfsfreeze test --mountpoint / --mountpoint /boot", "domfsthaw test --mountpoint /"],
    ["set-user-password test root secret", "set-user-password test root '$6$abc$def' --encrypted"],
    [
        "domtime test",
        "domtime test --time 1000",
        "domtime test",
        "domtime test --pretty",
        "domtime test --sync",
    ],
]


@pytest.mark.parametrize("commands", SAME_AS_VIRSH, ids=["; ".join(c) for c in SAME_AS_VIRSH])
def test_output_is_virshs(run: Run, commands: list[str]) -> None:
    expected = virsh(*commands)
    ours = ""
    for line in commands:
        status, out, err = run(*shlex.split(line))
        assert (status, err) == (0, ""), line
        ours += out
    assert ours == expected


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["domfsfreeze", "test", "--mountpoint", "/nope"], "mount point not found: /nope"),
        (["domtime", "test", "--now", "--sync"], "Options --now and --sync are mutually exclusive"),
        (["guestinfo", "test"], "domain_get_guest_info"),
        (["qemu-agent-command", "test", '{"execute":"guest-ping"}'], "domain_qemu_agent_command"),
        (["qemu-agent-command", "test", "not", "json"], "not valid JSON"),
        (["set-user-password", "nosuch", "root", "x"], "Domain not found"),
    ],
)
def test_errors_are_one_line_naming_the_thing(run: Run, argv: list[str], message: str) -> None:
    status, out, err = run(*argv)
    assert status == 1 and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_stopped_domain_and_read_only(run: Run) -> None:
    assert run("domfsfreeze", "test", read_only=True)[2].startswith("error: operation forbidden")
    run("destroy", "test")
    status, _, err = run("domfsthaw", "test")
    assert status == 1 and "'test' is not running" in err
