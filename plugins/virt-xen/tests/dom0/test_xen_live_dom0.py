"""virt-xen against the real Xen 4.17 toolstack and XenStore (runs inside dom0 only)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from xenhelpers import console_log, guest_xml, wait_for

import virtcore
from virtcore import DomainEventType, DomainState
from virtcore.errors import (
    InvalidArgError,
    NoDomainError,
    NoSupportError,
    OperationDeniedError,
    OperationFailedError,
    OperationInvalidError,
)
from virtcore.types import PausedReason, RunningReason, ShutoffReason
from virtcore.xml import parse_domain

BOOT_TIMEOUT = 180.0  # a PV guest under Xen under TCG: seconds when idle, much more when not


def xl(*args: str) -> str:
    return subprocess.run(["xl", *args], capture_output=True, text=True, timeout=60, check=True).stdout


def xl_names() -> list[str]:
    return [line.split()[0] for line in xl("list").splitlines()[1:] if line.split()]


def xs_read(path: str) -> str:
    return subprocess.run(["xenstore-read", path], capture_output=True, text=True, timeout=30).stdout.strip()


def booted(name: str) -> bool:
    return "GUEST-MARKER" in console_log(name)


def test_host_facts_come_from_the_hypervisor(conn: virtcore.Connection) -> None:
    info = xl("info")
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    assert conn.get_type() == "Xen"
    assert conn.get_version() // 1_000 == int(fields["xen_major"]) * 1000 + int(fields["xen_minor"])
    node = conn.node_info()
    assert node.cpus == int(fields["nr_cpus"])
    assert node.memory == int(fields["total_memory"]) * 1024
    caps = conn.capabilities_xml()
    assert "<os_type>xen</os_type>" in caps and "xenpv" in caps


def test_each_channel_is_a_plugin_and_xenstore_answers_lookups_first(conn: virtcore.Connection) -> None:
    kinds = {p.__class__.__name__ for p in conn.driver_objects()}
    assert {"XenStoreChannel", "ToolstackChannel", "HypervisorChannel", "DefinitionsChannel"} <= kinds
    impls = conn.implementers("domain_lookup_by_name")  # in the order they are asked
    assert impls[0].__class__.__name__ == "XenStoreChannel"
    assert impls[-1].__class__.__name__ == "DefinitionsChannel"
    dom0 = conn.lookup_domain_by_id(0)
    assert dom0.name == "Domain-0"


def test_define_start_and_look_up_through_xenstore(conn: virtcore.Connection, name: str, root: Path) -> None:
    dom = conn.define_domain(guest_xml(name))
    assert (root / "etc" / f"{name}.xml").exists()
    assert dom.state()[0] == DomainState.SHUTOFF and dom.id == -1
    assert name not in xl_names()
    store_channel = next(p for p in conn.driver_objects() if p.__class__.__name__ == "XenStoreChannel")
    assert store_channel.virt_domain_lookup_by_name(name=name) is None  # inactive: XenStore declines

    dom.start()
    assert name in xl_names()
    assert dom.state() == (DomainState.RUNNING, RunningReason.BOOTED)
    domid = dom.id
    assert domid > 0
    assert xs_read(f"/local/domain/{domid}/name") == name
    ref = store_channel.virt_domain_lookup_by_name(name=name)
    assert ref is not None and (ref.id, ref.uuid) == (domid, dom.uuid)
    assert conn.lookup_domain_by_id(domid) == dom
    assert conn.lookup_domain_by_uuid(dom.uuid) == dom
    info = dom.info()
    assert info.max_memory == 128 * 1024 and info.memory == 128 * 1024
    assert info.nr_virt_cpu == 1
    wait_for(lambda: booted(name), BOOT_TIMEOUT, f"{name} to print its marker")
    assert dom.info().cpu_time > 0
    assert parse_domain(dom.xml_desc()).uuid == dom.uuid
    assert f'id="{domid}"' in dom.xml_desc() or f"id='{domid}'" in dom.xml_desc()


def test_pause_resume_shutdown(conn: virtcore.Connection, name: str) -> None:
    dom = conn.define_domain(guest_xml(name))
    dom.start()
    wait_for(lambda: booted(name), BOOT_TIMEOUT, f"{name} to boot")
    dom.suspend()
    assert dom.state() == (DomainState.PAUSED, PausedReason.USER)
    assert "p" in xl("list", str(dom.id)).splitlines()[1].split()[4]
    with pytest.raises(OperationInvalidError, match=name):
        dom.suspend()
    dom.resume()
    assert dom.state() == (DomainState.RUNNING, RunningReason.UNPAUSED)
    dom.shutdown()
    wait_for(lambda: name not in xl_names(), BOOT_TIMEOUT, f"{name} to power off")
    assert dom.state() == (DomainState.SHUTOFF, ShutoffReason.SHUTDOWN)
    assert dom.is_persistent()


def test_destroy_and_state_errors(conn: virtcore.Connection, name: str) -> None:
    dom = conn.define_domain(guest_xml(name))
    with pytest.raises(OperationInvalidError, match=name):
        dom.destroy()
    dom.start()
    old = dom.id
    dom.destroy()
    assert name not in xl_names()
    assert dom.state() == (DomainState.SHUTOFF, ShutoffReason.DESTROYED)
    with pytest.raises(NoDomainError):
        conn.lookup_domain_by_id(old)


def test_save_and_restore(conn: virtcore.Connection, name: str, tmp_path: Path) -> None:
    dom = conn.define_domain(guest_xml(name))
    dom.start()
    wait_for(lambda: booted(name), BOOT_TIMEOUT, f"{name} to boot")
    image = tmp_path / "guest.save"
    dom.save(image)
    assert image.stat().st_size > 16 * 1024 * 1024  # the guest's memory is in there
    assert name not in xl_names()
    assert dom.state() == (DomainState.SHUTOFF, ShutoffReason.SAVED)
    restored = conn.restore_domain(image)
    assert restored == dom and name in xl_names()
    assert restored.state() == (DomainState.RUNNING, RunningReason.RESTORED)
    assert restored.info().memory == 128 * 1024
    junk = tmp_path / "junk.img"
    junk.write_bytes(b"junk" * 100)
    with pytest.raises(InvalidArgError, match=r"junk\.img"):
        conn.restore_domain(junk)


def test_live_memory_and_vcpus(conn: virtcore.Connection, name: str) -> None:
    dom = conn.define_domain(guest_xml(name))
    dom.start()
    wait_for(lambda: booted(name), BOOT_TIMEOUT, f"{name} to boot")
    dom.set_memory(96 * 1024)
    assert xs_read(f"/local/domain/{dom.id}/memory/target") == str(96 * 1024)
    assert dom.info().memory == 96 * 1024
    with pytest.raises(InvalidArgError, match="max memory"):
        dom.set_memory(1024 * 1024)
    dom.set_vcpus(2)
    wait_for(lambda: dom.info().nr_virt_cpu == 2, 60, "the second vCPU to come online")
    with pytest.raises(InvalidArgError, match="exceeds"):
        dom.set_vcpus(3)


def test_xl_errors_carry_xls_message(conn: virtcore.Connection, name: str) -> None:
    xml = guest_xml(name).replace("/guest/vmlinuz", "/nonexistent/kernel-image")
    with pytest.raises(OperationFailedError) as exc:
        conn.create_domain(xml)
    assert "xl create" in str(exc.value)
    assert name not in xl_names()


def test_events_for_operations_done_through_us(conn: virtcore.Connection, name: str) -> None:
    seen: list[DomainEventType] = []
    conn.on_domain_event(lambda d, e, detail: seen.append(e) if d.name == name else None)
    dom = conn.define_domain(guest_xml(name))
    dom.start()
    dom.suspend()
    dom.resume()
    dom.destroy()
    dom.undefine()
    assert seen == [
        DomainEventType.DEFINED,
        DomainEventType.STARTED,
        DomainEventType.SUSPENDED,
        DomainEventType.RESUMED,
        DomainEventType.STOPPED,
        DomainEventType.UNDEFINED,
    ]


_UNPRIVILEGED = r"""
import json, os, sys
os.setgid(65534); os.setuid(65534)
import virtcore
out = {}
with virtcore.open_read_only(sys.argv[1]) as c:
    out["channels"] = sorted(p.__class__.__name__ for p in c.driver_objects())
    out["domains"] = sorted((d.name, d.id) for d in c.list_domains(active=True))
    d = c.lookup_domain(sys.argv[2])
    out["lookup"] = [d.name, d.uuid, d.id]
    out["info"] = list(c.lookup_domain_by_id(d.id).info())
    out["can_create"] = c.supports("domain_create")
    try:
        d.destroy()
    except virtcore.VirtError as e:
        out["destroy"] = type(e).__name__
    try:
        c.define_domain("<domain type='xen'><name>x</name><memory>1024</memory></domain>")
    except virtcore.VirtError as e:
        out["define"] = type(e).__name__
try:
    virtcore.open(sys.argv[1])
except virtcore.VirtError as e:
    out["rw_open"] = type(e).__name__
print(json.dumps(out))
"""


def test_read_only_connection_works_through_xenstore_alone(conn: virtcore.Connection, name: str) -> None:
    dom = conn.define_domain(guest_xml(name))
    dom.start()
    sock = Path("/run/xenstored/socket")
    old_mode = stat.S_IMODE(sock.stat().st_mode)
    os.chmod(sock, 0o666)  # the seed's read-only proxy: XenStore opened to unprivileged users
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _UNPRIVILEGED, "xen:///system", name],
            capture_output=True, text=True, timeout=60, cwd="/", env=dict(os.environ, HOME="/tmp"),
        )  # fmt: skip
    finally:
        os.chmod(sock, old_mode)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert "ToolstackChannel" not in out["channels"] and "XenStoreChannel" in out["channels"]
    assert [name, dom.id] in [list(x) for x in out["domains"]]
    assert out["lookup"] == [name, dom.uuid, dom.id]
    assert out["info"][0] == DomainState.RUNNING and out["info"][2] == 128 * 1024
    assert out["can_create"] is False
    # no toolstack: nobody implements destroy; definitions exist but are read-only here
    assert out["destroy"] == NoSupportError.__name__
    assert out["define"] == OperationDeniedError.__name__
    assert out["rw_open"] == "NoConnectError"
    assert name in xl_names()
