"""The driver conformance suite: what every virtcore driver must do, through the public API only.

In the spirit of nova's fake driver tests: one mixin of tests, run over every
driver. virtcore runs it on its own drivers (``tests/conformance``); a
third-party driver author runs it on theirs by subclassing
:class:`DriverConformance` in a test module and giving it a URI::

    import pytest
    from virtcore.testing import DriverConformance

    class TestMyDriver(DriverConformance):
        @pytest.fixture
        def uri(self, tmp_path):
            return f"mydrv:///{tmp_path}"

        @pytest.fixture
        def template(self):          # domain XML your driver can run
            return MY_TEMPLATE       # with {name} and {uuid} placeholders

Operations the driver does not implement are reported as xfail ("driver
'mydrv' does not implement domain_suspend"), so the gaps stay visible.
Fixtures to override: ``uri`` (required), ``template``, ``shutdown_timeout``,
``capability_schema`` (libvirt's capability.rng, to validate capabilities),
for storage ``storage_pool_template`` and ``volume_template`` (see
:mod:`virtcore.testing.storage_conformance`), and for networks
``network_template`` (see :mod:`virtcore.testing.network_conformance`). Domain
snapshots (:mod:`virtcore.testing.snapshot_conformance`) use the domain ``template``.
Requires pytest (``pip install virtcore[testing]``).
"""

from __future__ import annotations

import io
import os
import re
import threading
import uuid as uuidlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

import virtcore
import virtcore.tunables
from virtcore import DomainEventType, DomainState
from virtcore.errors import (
    ErrorDomain,
    ErrorNumber,
    InternalError,
    InvalidArgError,
    InvalidConnError,
    NoDomainError,
    NoDomainMetadataError,
    OperationDeniedError,
    OperationFailedError,
    OperationInvalidError,
    SystemError_,
    VirtError,
    XMLDetailError,
    XMLError,
)
from virtcore.testing.agent_conformance import AgentConformance
from virtcore.testing.hostobject_conformance import HostObjectConformance
from virtcore.testing.network_conformance import NetworkConformance
from virtcore.testing.snapshot_conformance import SnapshotConformance
from virtcore.testing.storage_conformance import StorageConformance
from virtcore.testing.support import need, wait_for
from virtcore.types import DomainMetadataType, PausedReason, RunningReason, ShutoffReason

__all__ = ["DEFAULT_TEMPLATE", "DriverConformance", "need", "wait_for"]

Conn = virtcore.Connection
Dom = virtcore.Domain
Define = Callable[..., Dom]

#: A small HVM domain with ``{name}`` and ``{uuid}`` placeholders: what the
#: test driver accepts. Real hypervisors need a template they can boot.
DEFAULT_TEMPLATE = """\
<domain type='test'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>256</memory>
  <currentMemory unit='MiB'>128</currentMemory>
  <vcpu current='1'>2</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/images/{name}.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:12:34:56'/>
      <source network='default'/>
    </interface>
  </devices>
</domain>
"""


def _cleanup(conn: virtcore.Connection, names: list[str]) -> None:
    for name in names:
        try:
            dom = conn.lookup_domain(name)
        except virtcore.errors.NoDomainError:
            continue
        try:
            if dom.is_active():
                dom.destroy()
        except virtcore.errors.VirtError:
            pass
        try:
            if dom.is_persistent():
                dom.undefine()
        except virtcore.errors.VirtError:
            pass


class DriverConformance(
    StorageConformance, NetworkConformance, SnapshotConformance, AgentConformance, HostObjectConformance
):
    """The conformance tests, as a mixin: subclass it and override the ``uri`` fixture.

    Storage pools and volumes (:class:`StorageConformance`), virtual
    networks (:class:`~virtcore.testing.network_conformance.NetworkConformance`)
    domain snapshots (:class:`~virtcore.testing.snapshot_conformance.SnapshotConformance`)
    the guest agent (:class:`~virtcore.testing.agent_conformance.AgentConformance`) and
    node devices, host interfaces and secrets
    (:class:`~virtcore.testing.hostobject_conformance.HostObjectConformance`) are tested
    too: each of those tests xfails on a driver without that operation.
    """

    # -- fixtures a driver's test module overrides ---------------------------

    @pytest.fixture
    def uri(self) -> str:
        """The URI of the driver under test: override this fixture."""
        raise NotImplementedError("override the 'uri' fixture in your DriverConformance subclass")

    @pytest.fixture
    def template(self) -> str:
        """Domain XML with ``{name}`` and ``{uuid}`` placeholders that the driver can run."""
        return DEFAULT_TEMPLATE

    @pytest.fixture
    def shutdown_timeout(self) -> float:
        """Seconds a guest may take to power off after ``shutdown()``."""
        return 60.0

    @pytest.fixture
    def capability_schema(self) -> Path | None:
        """libvirt's ``capability.rng``, to validate capabilities XML against (None: not checked)."""
        return None

    @pytest.fixture
    def wrong_state_errors(self) -> Mapping[str, type[VirtError]]:
        """Each domain operation's error class for the wrong state, where not ``OperationInvalidError``.

        Keys are ``start``, ``suspend``, ``resume``, ``shutdown``, ``destroy`` and
        ``reboot``. libvirt's QEMU and libxl drivers refuse all of them as
        ``VIR_ERR_OPERATION_INVALID`` (the default); a driver that follows another
        libvirt driver (libvirt 9.0's test driver: ``VIR_ERR_INTERNAL_ERROR`` for
        start, suspend, resume and shutdown) names its classes here.
        """
        return {}

    # -- fixtures the tests use ------------------------------------------------

    @pytest.fixture
    def created(self) -> list[str]:
        """Names of the domains this test made; ``conn`` removes them afterwards."""
        return []

    @pytest.fixture
    def conn(self, uri: str, created: list[str]) -> Iterator[virtcore.Connection]:
        """A read-write connection to ``uri``; domains the test made are removed afterwards."""
        c = virtcore.open(uri)
        try:
            yield c
        finally:
            _cleanup(c, created)
            c.close()

    @pytest.fixture
    def make_xml(self, template: str, request: pytest.FixtureRequest) -> Callable[..., str]:
        """``make_xml(suffix="", uuid=None)``: XML of a domain with a name unique to this test."""
        base = "conf-" + request.node.name.split("[")[0].removeprefix("test_")[:40].replace("_", "-")

        def make(suffix: str = "", uuid: str | None = None) -> str:
            name = base + (f"-{suffix}" if suffix else "") + f"-{os.getpid()}"
            return template.replace("{name}", name).replace("{uuid}", uuid or str(uuidlib.uuid4()))

        return make

    @pytest.fixture
    def define(self, conn: Conn, make_xml: Callable[..., str], created: list[str]) -> Define:
        """Define a domain from the template (removed after the test)."""

        def do(suffix: str = "", uuid: str | None = None) -> virtcore.Domain:
            need(conn, "domain_define_xml")
            dom = conn.define_domain(make_xml(suffix, uuid))
            created.append(dom.name)
            return dom

        return do

    @pytest.fixture
    def running(self, conn: Conn, define: Define) -> virtcore.Domain:
        """A defined domain, started."""
        dom = define()
        need(conn, "domain_create")
        dom.start()
        return dom

    # -- connection -----------------------------------------------------------

    def test_close_is_idempotent_and_final(self, uri: str) -> None:
        conn = virtcore.open(uri)
        assert conn.is_alive()
        conn.close()
        conn.close()
        assert not conn.is_alive()
        with pytest.raises(InvalidConnError) as exc:
            conn.list_domains()
        assert exc.value.code == ErrorNumber.INVALID_CONN

    def test_hook_names_match_the_contract(self, uri: str) -> None:
        """Every ``virt_*`` method of the driver's objects and declared classes is a marked hook."""
        from virtcore.drivers import declared_plugin_classes, hook_names, load_driver
        from virtcore.errors import VirtError
        from virtcore.uri import URI

        scheme = URI.parse(uri).driver
        try:
            with virtcore.open_read_only(uri) as conn:  # opening checks the objects it gets
                objects = conn.driver_objects()
            for cls in declared_plugin_classes(load_driver(scheme, uri)) or ():
                hook_names(cls)
        except VirtError as exc:
            pytest.fail(f"driver {scheme!r} breaks the hook contract: {exc}")
        assert objects, f"driver {scheme!r} registered no objects"

    def test_context_manager_closes(self, uri: str) -> None:
        with virtcore.open(uri) as conn:
            assert conn.uri == uri
        assert conn.closed

    def test_identity_of_the_hypervisor(self, conn: Conn) -> None:
        need(conn, "connect_get_type", "connect_get_version", "connect_get_hostname")
        assert conn.get_type() and isinstance(conn.get_type(), str)
        assert isinstance(conn.get_version(), int) and conn.get_version() >= 0
        assert conn.hostname()

    def test_node_info_is_consistent(self, conn: Conn) -> None:
        need(conn, "node_get_info")
        info = conn.node_info()
        assert info.memory > 0 and info.cpus > 0 and info.mhz >= 0
        assert info.cpus <= info.nodes * info.sockets * info.cores * info.threads

    def test_node_free_memory_per_cell(self, conn: Conn) -> None:
        need(conn, "node_get_free_memory", "node_get_cells_free_memory")
        free = conn.free_memory()
        assert isinstance(free, int) and free >= 0
        # Every cell the host has, then one past the last: libvirt's "Range exceeds available cells".
        try:
            cells = conn.cells_free_memory(0, 1024)
        except InvalidArgError:
            cells = []  # a host without cells (libvirt's test driver on a node file)
        assert all(isinstance(c, int) and c >= 0 for c in cells)
        with pytest.raises(InvalidArgError):
            conn.cells_free_memory(len(cells), 1)
        if cells:
            assert conn.cells_free_memory(len(cells) - 1, 5) == cells[-1:]
            assert len(conn.cells_free_memory(0, 1)) == 1
        for start, count in ((-1, 1), (0, 0), (0, -1), (True, 1)):
            with pytest.raises(InvalidArgError):
                conn.cells_free_memory(start, count)

    def test_node_security_model(self, conn: Conn, uri: str) -> None:
        need(conn, "node_get_security_model", "node_get_free_memory")
        model = conn.security_model()
        assert isinstance(model.model, str) and isinstance(model.doi, str)
        assert model.model or not model.doi  # no model, no DOI
        with virtcore.open_read_only(uri) as ro:  # both are read-only safe
            assert ro.security_model() == model
            assert ro.free_memory() >= 0

    def test_cpu_baseline_refuses_what_is_no_cpu(self, conn: Conn) -> None:
        need(conn, "connect_baseline_cpu")
        with pytest.raises(InvalidArgError, match="no CPUs"):
            conn.baseline_cpu([])
        with pytest.raises(XMLError):
            conn.baseline_cpu(["<cpu><model>"])
        with pytest.raises(XMLError, match="model"):
            conn.baseline_cpu(["<cpu><arch>x86_64</arch></cpu>"])
        with pytest.raises(XMLError, match="'cpu'"):
            conn.baseline_cpu(["<capabilities/>"])

    def test_cpu_baseline_of_one_model_is_that_model(self, conn: Conn) -> None:
        need(conn, "connect_baseline_cpu")
        from lxml import etree

        cpu = "<cpu><arch>x86_64</arch><model>Westmere</model><vendor>Intel</vendor></cpu>"
        root = etree.fromstring(conn.baseline_cpu([cpu, cpu]).encode())
        assert (root.tag, root.get("mode"), root.get("match")) == ("cpu", "custom", "exact")
        assert (root.findtext("model"), root.findtext("vendor")) == ("Westmere", "Intel")

    def test_control_info_of_a_running_domain(self, conn: Conn, define: Define) -> None:
        need(conn, "domain_get_control_info", "domain_create")
        from virtcore.types import ControlState

        dom = define()
        with pytest.raises(OperationInvalidError):
            dom.control_info()
        dom.start()
        info = dom.control_info()
        assert info.state in tuple(ControlState)
        assert info.state_time >= 0

    def test_capabilities_validate_against_libvirts_schema(
        self, conn: Conn, capability_schema: Path | None
    ) -> None:
        need(conn, "connect_get_capabilities")
        if capability_schema is None:
            pytest.xfail("no libvirt capability.rng given (override the capability_schema fixture)")
        from lxml import etree

        schema = etree.RelaxNG(etree.parse(str(capability_schema)))
        doc = etree.fromstring(conn.capabilities_xml().encode())
        assert schema.validate(doc), schema.error_log.last_error

    def test_supports_reflects_the_driver(self, conn: Conn) -> None:
        ops = conn.supported_operations()
        assert ops <= set(virtcore.OPERATIONS)
        for op in virtcore.OPERATIONS:
            assert conn.supports(op) == (op in ops)
        assert "domain_lookup_by_name" in ops

    # -- discovery ------------------------------------------------------------

    def test_define_then_lookup_every_way(self, conn: Conn, define: Define) -> None:
        dom = define()
        assert dom.state()[0] == DomainState.SHUTOFF
        assert dom.id == -1
        assert dom.is_persistent()
        assert not dom.is_active()
        assert conn.lookup_domain(dom.name) == dom
        assert conn.lookup_domain_by_uuid(dom.uuid) == dom
        assert conn.lookup_domain_by_uuid(dom.uuid.upper()) == dom
        assert conn.lookup_domain_by_uuid(dom.uuid.replace("-", "")) == dom
        assert dom in conn.list_domains()
        assert dom in conn.list_domains(active=False)
        assert dom not in conn.list_domains(active=True)

    def test_unknown_domains_raise_no_domain(self, conn: Conn) -> None:
        with pytest.raises(NoDomainError, match="nosuch-domain") as exc:
            conn.lookup_domain("nosuch-domain")
        assert exc.value.code == ErrorNumber.NO_DOMAIN
        with pytest.raises(NoDomainError):
            conn.lookup_domain_by_uuid(str(uuidlib.uuid4()))
        with pytest.raises(NoDomainError):
            conn.lookup_domain_by_id(999_999)

    def test_malformed_identifiers_raise_invalid_arg(self, conn: Conn) -> None:
        with pytest.raises(InvalidArgError, match="not-a-uuid"):
            conn.lookup_domain_by_uuid("not-a-uuid")
        with pytest.raises(InvalidArgError):
            conn.lookup_domain_by_id(-5)

    def test_stale_handle_after_undefine(self, define: Define) -> None:
        dom = define()
        dom.undefine()
        with pytest.raises(NoDomainError):
            dom.info()

    # -- addresses ------------------------------------------------------------

    def test_a_shut_off_domain_has_no_addresses_to_wait_for(self, conn: Conn, define: Define) -> None:
        """``lease`` is answered by every driver (the core derives it from the networks)."""
        dom = define()
        with pytest.raises(OperationInvalidError, match=f"domain '{dom.name}' is not running") as exc:
            dom.interface_addresses("lease")
        assert exc.value.code == ErrorNumber.OPERATION_INVALID
        with pytest.raises(OperationInvalidError, match=dom.name):
            dom.wait_for_addresses(timeout=30, source="lease")  # at once, not after the timeout
        with pytest.raises(InvalidArgError, match="unknown interface address source 'dhcp'"):
            dom.interface_addresses("dhcp")

    # -- lifecycle ------------------------------------------------------------

    def test_start_gives_running_with_an_id(
        self, conn: Conn, running: Dom, wrong_state_errors: Mapping[str, type[VirtError]]
    ) -> None:
        assert running.state() == (DomainState.RUNNING, RunningReason.BOOTED)
        assert running.id > 0
        assert conn.lookup_domain_by_id(running.id) == running
        assert running in conn.list_domains(active=True)
        assert running.is_active()
        with pytest.raises(wrong_state_errors.get("start", OperationInvalidError), match=running.name):
            running.start()

    def test_suspend_and_resume(
        self, conn: Conn, running: Dom, wrong_state_errors: Mapping[str, type[VirtError]]
    ) -> None:
        need(conn, "domain_suspend", "domain_resume")
        with pytest.raises(wrong_state_errors.get("resume", OperationInvalidError), match=running.name):
            running.resume()
        running.suspend()
        assert running.state() == (DomainState.PAUSED, PausedReason.USER)
        assert running.info().state == DomainState.PAUSED
        with pytest.raises(wrong_state_errors.get("suspend", OperationInvalidError), match=running.name):
            running.suspend()
        running.resume()
        assert running.state() == (DomainState.RUNNING, RunningReason.UNPAUSED)

    def test_destroy(
        self, conn: Conn, running: Dom, wrong_state_errors: Mapping[str, type[VirtError]]
    ) -> None:
        need(conn, "domain_destroy")
        old_id = running.id
        running.destroy()
        assert running.state() == (DomainState.SHUTOFF, ShutoffReason.DESTROYED)
        assert running.id == -1
        with pytest.raises(NoDomainError):
            conn.lookup_domain_by_id(old_id)
        for op in (running.destroy, running.suspend, running.shutdown, running.reboot):
            with pytest.raises(
                wrong_state_errors.get(op.__name__, OperationInvalidError), match=running.name
            ):
                op()

    def test_ids_are_not_reused(self, conn: Conn, running: Dom) -> None:
        need(conn, "domain_destroy")
        first = running.id
        running.destroy()
        running.start()
        assert running.id > 0 and running.id != first

    def test_shutdown_powers_off(self, conn: Conn, running: Dom, shutdown_timeout: float) -> None:
        need(conn, "domain_shutdown")
        running.shutdown()
        wait_for(
            lambda: running.state()[0] == DomainState.SHUTOFF,
            shutdown_timeout,
            f"{running.name} to power off",
        )
        assert running.state() == (DomainState.SHUTOFF, ShutoffReason.SHUTDOWN)

    def test_reboot_keeps_the_domain_active(self, conn: Conn, running: Dom) -> None:
        need(conn, "domain_reboot")
        running.reboot()
        assert running.is_active()
        # The id may change (Xen reboots into a new domain), but it must be live.
        assert running.id > 0
        assert conn.lookup_domain_by_id(running.id) == running

    def test_reset_and_nmi_keep_the_domain_running_and_need_it_active(self, conn: Conn, running: Dom) -> None:
        need(conn, "domain_reset", "domain_inject_nmi", "domain_destroy")
        old_id = running.id
        running.reset()
        running.inject_nmi()
        assert running.state()[0] == DomainState.RUNNING
        assert running.id == old_id
        running.destroy()
        for op in (running.reset, running.inject_nmi):
            with pytest.raises(OperationInvalidError, match=running.name) as exc:
                op()
            assert exc.value.code == ErrorNumber.OPERATION_INVALID

    def test_a_defined_or_started_domain_is_not_updated(self, conn: Conn, define: Define) -> None:
        need(conn, "domain_is_updated", "domain_create")
        dom = define()
        assert dom.is_updated() is False
        dom.start()
        assert dom.is_updated() is False

    def test_memory_stats_period_is_the_balloons_stats_period(self, conn: Conn, running: Dom) -> None:
        need(conn, "domain_set_memory_stats_period", "domain_destroy")
        xml = running.xml_desc()
        if "<memballoon" not in xml or '<memballoon model="none"' in xml:
            with pytest.raises(InternalError, match=running.name):
                running.set_memory_stats_period(5, live=True)
            return
        running.set_memory_stats_period(5, live=True)
        assert '<stats period="5"/>' in running.xml_desc()
        running.set_memory_stats_period(0)
        assert "<stats " not in running.xml_desc()
        with pytest.raises(InvalidArgError):
            running.set_memory_stats_period(-1)
        with pytest.raises(InvalidArgError):
            running.set_memory_stats_period(5, live=True, config=True)
        running.destroy()
        with pytest.raises(OperationInvalidError):
            running.set_memory_stats_period(5, live=True)

    def test_transient_domain_vanishes_when_stopped(
        self, conn: Conn, make_xml: Callable[..., str], created: list[str]
    ) -> None:
        need(conn, "domain_create_xml", "domain_destroy")
        dom = conn.create_domain(make_xml("transient"))
        created.append(dom.name)
        assert dom.is_active() and not dom.is_persistent()
        with pytest.raises(OperationInvalidError):
            dom.undefine()
        dom.destroy()
        with pytest.raises(NoDomainError):
            conn.lookup_domain(dom.name)

    def test_create_xml_of_an_active_domain_is_refused(self, conn: Conn, running: Dom) -> None:
        need(conn, "domain_create_xml", "domain_get_xml_desc")
        xml = running.xml_desc(inactive=True)
        with pytest.raises(OperationInvalidError, match=running.name):
            conn.create_domain(xml)
        with pytest.raises(OperationFailedError, match=running.name):
            conn.create_domain(xml.replace(running.uuid, str(uuidlib.uuid4())))
        assert running.is_active() and running.is_persistent()

    def test_undefine_running_makes_it_transient(self, conn: Conn, running: Dom) -> None:
        need(conn, "domain_undefine", "domain_destroy")
        running.undefine()
        assert running.is_active() and not running.is_persistent()
        running.destroy()
        with pytest.raises(NoDomainError):
            conn.lookup_domain(running.name)

    def test_redefine_with_another_uuid_is_refused(self, conn: Conn, define: Define) -> None:
        dom = define()
        xml = dom.xml_desc(inactive=True).replace(dom.uuid, str(uuidlib.uuid4()))
        with pytest.raises(OperationFailedError, match=dom.name):
            conn.define_domain(xml)

    def test_redefine_same_domain_updates_it(self, conn: Conn, define: Define) -> None:
        import attrs

        from virtcore.xml import format_domain, parse_domain

        dom = define()
        d = parse_domain(dom.xml_desc(inactive=True))
        again = conn.define_domain(format_domain(attrs.evolve(d, vcpu=d.vcpu + 1, current_vcpus=d.vcpu + 1)))
        assert again == dom
        assert dom.info().nr_virt_cpu == d.vcpu + 1

    def test_save_and_restore_through_a_real_file(self, conn: Conn, running: Dom, tmp_path: Path) -> None:
        need(conn, "domain_save", "domain_restore")
        image = tmp_path / "saved.img"
        running.save(image)
        assert image.stat().st_size > 0
        assert running.state() == (DomainState.SHUTOFF, ShutoffReason.SAVED)
        restored = conn.restore_domain(image)
        assert restored == running
        assert restored.state() == (DomainState.RUNNING, RunningReason.RESTORED)
        assert restored.id > 0

    def test_a_save_image_tells_its_domain_xml_and_is_left_as_it_was(
        self, conn: Conn, running: Dom, tmp_path: Path
    ) -> None:
        need(conn, "domain_save", "domain_save_image_get_xml_desc")
        image = tmp_path / "saved.img"
        running.save(image)
        before = image.read_bytes()
        xml = conn.save_image_xml_desc(image)
        assert f"<name>{running.name}</name>" in xml and running.uuid in xml
        assert image.read_bytes() == before
        assert running.state() == (DomainState.SHUTOFF, ShutoffReason.SAVED)
        with pytest.raises(SystemError_, match=r"missing\.img"):
            conn.save_image_xml_desc(tmp_path / "missing.img")
        junk = tmp_path / "junk.img"
        junk.write_bytes(b"not a save image\n" * 64)
        with pytest.raises(InvalidArgError, match=r"junk\.img") as exc:
            conn.save_image_xml_desc(junk)
        assert exc.value.code == ErrorNumber.INVALID_ARG

    def test_managed_save_is_resumed_by_the_next_start(self, conn: Conn, define: Define) -> None:
        need(conn, "domain_managed_save", "domain_has_managed_save_image", "domain_managed_save_remove")
        running = define()
        need(conn, "domain_create")
        running.start()  # only now: a driver without managed save boots no guest for nothing
        assert not running.has_managed_save_image()
        running.managed_save()
        assert running.state() == (DomainState.SHUTOFF, ShutoffReason.SAVED)
        assert running.has_managed_save_image()
        with pytest.raises(OperationInvalidError):
            running.managed_save()  # not running
        with pytest.raises(OperationInvalidError, match="managed save"):
            running.undefine()
        running.start()
        assert running.state()[0] == DomainState.RUNNING and not running.has_managed_save_image()
        running.managed_save()
        running.managed_save_remove()
        running.managed_save_remove()  # none: nothing to do
        assert not running.has_managed_save_image()

    def test_scheduler_parameters_are_kept(self, conn: Conn, define: Define) -> None:
        need(conn, "domain_get_scheduler_type", "domain_get_scheduler_parameters")
        need(conn, "domain_set_scheduler_parameters", "domain_create")
        running = define()
        running.start()
        name, count = running.scheduler_type()
        params = running.scheduler_parameters()
        assert isinstance(name, str) and name and count == len(params)
        first = next(iter(params))
        running.set_scheduler_parameters({first: params[first] + 1})
        assert running.scheduler_parameters()[first] == params[first] + 1
        with pytest.raises(virtcore.errors.ArgumentUnsupportedError, match="no_such_parameter"):
            running.set_scheduler_parameters({"no_such_parameter": 1})
        with pytest.raises(InvalidArgError, match=first):
            running.set_scheduler_parameters({first: -1})

    def test_memory_parameters_are_kept_in_memtune(self, conn: Conn, define: Define) -> None:
        need(conn, "domain_get_memory_parameters", "domain_set_memory_parameters")
        dom = define()
        unlimited = virtcore.limits.MEMORY_PARAM_UNLIMITED
        assert dom.memory_parameters() == dict.fromkeys(
            ("hard_limit", "soft_limit", "swap_hard_limit"), unlimited
        )
        dom.set_memory_parameters({"hard_limit": 1 << 20, "soft_limit": 1 << 19})
        assert dom.memory_parameters() == {
            "hard_limit": 1 << 20,
            "soft_limit": 1 << 19,
            "swap_hard_limit": unlimited,
        }
        assert '<hard_limit unit="KiB">1048576</hard_limit>' in dom.xml_desc()
        with pytest.raises(InvalidArgError, match="swap_hard_limit"):
            dom.set_memory_parameters({"swap_hard_limit": 1 << 10})
        with pytest.raises(InvalidArgError, match="no_such"):
            dom.set_memory_parameters({"no_such": 1})
        with pytest.raises(InvalidArgError, match="soft_limit"):
            dom.set_memory_parameters({"soft_limit": -1})
        assert dom.memory_parameters()["soft_limit"] == 1 << 19

    def test_blkio_and_numa_tunables_are_kept_in_the_definition(self, conn: Conn, define: Define) -> None:
        need(
            conn,
            "domain_get_blkio_parameters",
            "domain_set_blkio_parameters",
            "domain_get_numa_parameters",
            "domain_set_numa_parameters",
        )
        dom = define()
        assert dom.blkio_parameters() == {"weight": 0} | dict.fromkeys(
            [n for n in virtcore.tunables.BLKIO_PARAMETERS if n != "weight"], ""
        )
        dom.set_blkio_parameters({"weight": 500, "device_weight": "/dev/sda,100,/dev/sdb,0"})
        dom.set_blkio_parameters({"device_read_bytes_sec": "/dev/sdb,4096", "device_weight": "/dev/sda,0"})
        got = dom.blkio_parameters(config=True)
        assert (got["weight"], got["device_weight"], got["device_read_bytes_sec"]) == (
            500,
            "",
            "/dev/sdb,4096",
        )
        assert "<read_bytes_sec>4096</read_bytes_sec>" in dom.xml_desc()
        with pytest.raises(InvalidArgError, match="/dev/sdc"):
            dom.set_blkio_parameters({"weight": 1, "device_weight": "/dev/sdc,x"})
        with pytest.raises(virtcore.errors.ArgumentUnsupportedError, match="no_such"):
            dom.set_blkio_parameters({"no_such": 1})
        with pytest.raises(InvalidArgError, match="mutually exclusive"):
            dom.blkio_parameters(live=True, config=True)
        with pytest.raises(OperationInvalidError, match="not running"):
            dom.blkio_parameters(live=True)
        assert dom.blkio_parameters()["weight"] == 500
        assert dom.numa_parameters() == {"numa_mode": 0, "numa_nodeset": ""}
        dom.set_numa_parameters({"numa_mode": 2, "numa_nodeset": "2,0,1"})
        assert dom.numa_parameters() == {"numa_mode": 2, "numa_nodeset": "0-2"}
        assert '<memory mode="interleave" nodeset="0-2"/>' in dom.xml_desc()
        with pytest.raises(InvalidArgError, match="not-a-set"):
            dom.set_numa_parameters({"numa_nodeset": "not-a-set"})
        with pytest.raises(InvalidArgError, match="mode"):
            dom.set_numa_parameters({"numa_mode": 99})
        assert dom.numa_parameters() == {"numa_mode": 2, "numa_nodeset": "0-2"}

    def test_disk_io_throttling_is_kept_in_iotune(self, conn: Conn, define: Define) -> None:
        need(conn, "domain_get_block_io_tune", "domain_set_block_io_tune")
        dom = define()
        found = re.search(r"<disk\b.*?<target dev=[\"']([^\"']+)[\"']", dom.xml_desc(), re.S)
        assert found, "the conformance template's domain has a disk"
        disk = found.group(1)
        names = virtcore.tunables.BLOCK_IOTUNE_PARAMETERS
        assert dom.block_io_tune(disk) == {n: "" if k == "string" else 0 for n, k in names.items()}
        dom.set_block_io_tune(disk, {"read_bytes_sec": 4096, "read_bytes_sec_max": 8192, "group_name": "g"})
        got = dom.block_io_tune(disk, config=True)
        assert (got["read_bytes_sec"], got["read_bytes_sec_max"], got["group_name"]) == (4096, 8192, "g")
        assert "<read_bytes_sec>4096</read_bytes_sec>" in dom.xml_desc()
        with pytest.raises(InvalidArgError, match="total and read/write of bytes_sec"):
            dom.set_block_io_tune(disk, {"total_bytes_sec": 1, "total_bytes_sec_max": 2})
        with pytest.raises(InvalidArgError, match="vdzz"):
            dom.block_io_tune("vdzz")
        with pytest.raises(virtcore.errors.ArgumentUnsupportedError, match="no_such"):
            dom.set_block_io_tune(disk, {"no_such": 1})
        assert dom.block_io_tune(disk)["total_bytes_sec"] == 0

    def test_iothreads_are_kept_in_the_definition(self, conn: Conn, define: Define) -> None:
        need(
            conn,
            "domain_get_io_thread_info",
            "domain_add_io_thread",
            "domain_del_io_thread",
            "domain_pin_io_thread",
        )
        dom = define()
        assert dom.iothread_info() == []
        dom.add_iothread(3)
        dom.add_iothread(1)
        with pytest.raises(InvalidArgError, match="'3'"):
            dom.add_iothread(3)
        assert [i for i, _ in dom.iothread_info()] == [3, 1]
        assert "<iothreads>2</iothreads>" in dom.xml_desc()
        dom.pin_iothread(1, (False, True))
        pinned = dict(dom.iothread_info())[1]
        assert pinned[:2] == (False, True) and not any(pinned[2:])
        with pytest.raises(InvalidArgError, match="Empty"):
            dom.pin_iothread(1, (False,))
        with pytest.raises(InvalidArgError, match="9"):
            dom.pin_iothread(9, (True,))
        dom.del_iothread(1)
        with pytest.raises(InvalidArgError, match="'1'"):
            dom.del_iothread(1)
        assert [i for i, _ in dom.iothread_info(config=True)] == [3]
        assert "iothreadpin" not in dom.xml_desc()

    def test_interface_rate_limits_are_kept_in_bandwidth(self, conn: Conn, define: Define) -> None:
        need(conn, "domain_get_interface_parameters", "domain_set_interface_parameters")
        dom = define()
        found = re.search(r"<interface\b.*?<mac address=[\"']([^\"']+)[\"']", dom.xml_desc(), re.S)
        assert found, "the conformance template's domain has an interface"
        mac = found.group(1)
        assert dom.interface_parameters(mac) == dict.fromkeys(virtcore.tunables.INTERFACE_PARAMETERS, 0)
        dom.set_interface_parameters(
            mac, {"inbound.average": 100, "inbound.burst": 20, "outbound.average": 7}
        )
        got = dom.interface_parameters(mac.upper(), config=True)
        assert (got["inbound.average"], got["inbound.burst"], got["outbound.average"]) == (100, 20, 7)
        assert '<inbound average="100" burst="20"/>' in dom.xml_desc()
        dom.set_interface_parameters(mac, {"inbound.average": 0})
        assert dom.interface_parameters(mac)["inbound.average"] == 0
        assert dom.interface_parameters(mac)["outbound.average"] == 7
        with pytest.raises(InvalidArgError, match="not a known interface"):
            dom.interface_parameters("no-such-nic")
        with pytest.raises(virtcore.errors.ArgumentUnsupportedError, match="nope"):
            dom.set_interface_parameters(mac, {"nope": 1})

    def test_vcpu_and_emulator_pinning(self, conn: Conn, define: Define) -> None:
        need(
            conn,
            "domain_get_vcpu_pin_info",
            "domain_pin_vcpu",
            "domain_get_emulator_pin_info",
            "domain_pin_emulator",
            "domain_create",
            "domain_destroy",
        )
        dom = define()
        everywhere = dom.emulator_pin_info()
        assert all(everywhere) and dom.vcpu_pin_info() == [everywhere] * len(dom.vcpu_pin_info())
        with pytest.raises(OperationInvalidError):
            dom.pin_vcpu(0, (True,))
        dom.pin_emulator((False, True), config=True)
        assert dom.emulator_pin_info() == (False, True) + (False,) * (len(everywhere) - 2)
        with pytest.raises(InvalidArgError, match="Empty cpu list"):
            dom.pin_emulator((False,))
        dom.start()
        try:
            dom.pin_vcpu(0, (True, False, True))
            assert dom.vcpu_pin_info()[0] == (True, False, True) + (False,) * (len(everywhere) - 3)
            if conn.supports("domain_get_vcpus"):  # the running vCPUs report the pin too
                assert dom.vcpus()[1][0][:3] == (True, False, True)
            with pytest.raises(InvalidArgError, match="vcpu '99'"):
                dom.pin_vcpu(99, (True,))
            assert dom.vcpu_pin_info(config=True)[0] == everywhere  # a vCPU is pinned live only
        finally:
            dom.destroy()

    def test_hostname_of_a_running_guest(self, conn: Conn, define: Define) -> None:
        need(conn, "domain_get_hostname", "domain_destroy", "domain_create")
        running = define()
        running.start()
        assert running.hostname()
        running.destroy()
        with pytest.raises(OperationInvalidError):
            running.hostname()

    def test_screenshot_streams_an_image(self, conn: Conn, define: Define) -> None:
        need(conn, "domain_screenshot", "domain_create")
        dom = define()
        dom.start()
        out = io.BytesIO()
        mime = dom.screenshot(out)
        assert mime.startswith("image/") and len(out.getvalue()) > 0
        if mime == "image/png":
            assert out.getvalue().startswith(b"\x89PNG\r\n\x1a\n")
        with pytest.raises(InvalidArgError, match="screen"):
            dom.screenshot(io.BytesIO(), -1)

    def test_metadata_is_kept_per_definition(self, conn: Conn, define: Define) -> None:
        need(conn, "domain_get_metadata", "domain_set_metadata", "domain_create", "domain_get_xml_desc")
        dom = define()
        dom.start()
        desc, title, element = DomainMetadataType
        with pytest.raises(NoDomainMetadataError):
            dom.metadata(desc)
        dom.set_metadata(title, "running title")  # current: the live definition
        assert dom.metadata(title) == "running title" == dom.metadata(title, live=True)
        with pytest.raises(NoDomainMetadataError):
            dom.metadata(title, config=True)
        dom.set_metadata(
            element, "<tag n='1'/>", "conf", "http://conformance.example/", live=True, config=True
        )
        assert dom.metadata(element, "http://conformance.example/", config=True) == '<tag n="1"/>'
        assert "http://conformance.example/" in dom.xml_desc() and "running title" in dom.xml_desc()
        dom.set_metadata(element, None, None, "http://conformance.example/")
        with pytest.raises(NoDomainMetadataError):
            dom.metadata(element, "http://conformance.example/")
        with pytest.raises(InvalidArgError, match="newlines"):
            dom.set_metadata(title, "two\nlines")
        with pytest.raises(XMLError):
            dom.set_metadata(element, "<unclosed", "k", "http://conformance.example/")

    def test_statistics_of_a_running_guest_have_libvirts_shapes(self, conn: Conn, define: Define) -> None:
        need(conn, "domain_memory_stats", "domain_get_vcpus", "domain_get_cpu_stats", "domain_create")
        dom = define()
        dom.start()
        stats = dom.memory_stats()
        assert set(stats) <= set(virtcore.types.MEMORY_STAT_NAMES)
        assert all(isinstance(v, int) and v >= 0 for v in stats.values())
        info, maps = dom.vcpus()
        host_cpus = conn.node_info().cpus
        assert [v.number for v in info] == list(range(len(info))) and len(maps) == len(info) > 0
        assert all(len(m) >= host_cpus and any(m) for m in maps)
        (totals,) = dom.cpu_stats()
        assert totals["cpu_time"] >= 0
        assert all("cpu_time" in per for per in dom.cpu_stats(total=False))
        dom.destroy()
        for call in (dom.memory_stats, dom.vcpus, dom.cpu_stats):
            with pytest.raises(OperationInvalidError):
                call()

    def test_checkpoints_chain_and_delete(self, conn: Conn, define: Define) -> None:
        need(conn, "domain_checkpoint_create_xml", "domain_list_all_checkpoints", "domain_create")
        need(
            conn, "domain_checkpoint_get_parent", "domain_checkpoint_delete", "domain_checkpoint_get_xml_desc"
        )
        dom = define()
        with pytest.raises(virtcore.errors.OperationUnsupportedError):
            dom.create_checkpoint("<domaincheckpoint><name>c0</name></domaincheckpoint>")
        dom.start()
        first = dom.create_checkpoint()
        second = dom.create_checkpoint("<domaincheckpoint><name>c2</name></domaincheckpoint>")
        assert dom.list_checkpoints() == [first, second] and second.parent() == first
        assert first.children() == [second]
        assert "<domain type=" in second.xml_desc() and "<domain type=" not in second.xml_desc(no_domain=True)
        with pytest.raises(virtcore.errors.NoDomainCheckpointError):
            first.parent()
        first.delete()
        with pytest.raises(virtcore.errors.NoDomainCheckpointError):
            second.parent()  # moved up to the deleted one's parent: none
        second.delete()
        assert dom.list_checkpoints() == []

    def test_save_paused_domain_restores_paused(self, conn: Conn, running: Dom, tmp_path: Path) -> None:
        need(conn, "domain_save", "domain_restore", "domain_suspend")
        running.suspend()
        running.save(tmp_path / "paused.img")
        dom = conn.restore_domain(tmp_path / "paused.img")
        assert dom.state()[0] == DomainState.PAUSED

    def test_restore_rejects_files_that_are_not_save_images(self, conn: Conn, tmp_path: Path) -> None:
        need(conn, "domain_restore")
        junk = tmp_path / "junk.img"
        junk.write_bytes(b"this is not a save image\n" * 10)
        with pytest.raises(InvalidArgError, match=re.escape("junk.img")):
            conn.restore_domain(junk)
        with pytest.raises(virtcore.VirtError, match=re.escape("missing.img")):
            conn.restore_domain(tmp_path / "missing.img")

    def test_save_to_an_unwritable_place_keeps_the_domain_running(
        self, conn: Conn, running: Dom, tmp_path: Path
    ) -> None:
        need(conn, "domain_save")
        with pytest.raises(virtcore.VirtError, match="no-such-dir"):
            running.save(tmp_path / "no-such-dir" / "x.img")
        assert running.is_active()

    # -- definitions and resources ---------------------------------------------

    def test_xml_desc_round_trips(self, running: Dom) -> None:
        from virtcore.xml import parse_domain

        live = parse_domain(running.xml_desc())
        assert (live.name, live.uuid) == (running.name, running.uuid)
        assert f"id='{running.id}'" in running.xml_desc() or f'id="{running.id}"' in running.xml_desc()
        inactive = parse_domain(running.xml_desc(inactive=True))
        assert inactive.uuid == running.uuid

    def test_info_matches_the_definition(self, define: Define) -> None:
        from virtcore.xml import parse_domain

        dom = define()
        d = parse_domain(dom.xml_desc())
        info = dom.info()
        assert info.state == DomainState.SHUTOFF
        assert (info.max_memory, info.memory, info.nr_virt_cpu) == (
            d.memory,
            d.current_memory,
            d.current_vcpus,
        )
        assert info.cpu_time == 0

    def test_set_memory(self, conn: Conn, define: Define) -> None:
        need(conn, "domain_set_memory")
        dom = define()
        maximum = dom.info().max_memory
        with pytest.raises(InvalidArgError, match="max"):
            dom.set_memory(maximum + 1024)
        dom.set_memory(maximum // 2)
        assert dom.info().memory == maximum // 2
        with pytest.raises(InvalidArgError):
            dom.set_memory(0)

    def test_set_vcpus(self, conn: Conn, define: Define) -> None:
        need(conn, "domain_set_vcpus")
        dom = define()
        with pytest.raises(InvalidArgError, match="exceeds"):
            dom.set_vcpus(4096)
        dom.set_vcpus(2)
        assert dom.info().nr_virt_cpu == 2

    def test_autostart(self, conn: Conn, define: Define, make_xml: Callable[..., str]) -> None:
        need(conn, "domain_get_autostart", "domain_set_autostart")
        dom = define()
        assert dom.autostart is False
        dom.autostart = True
        assert dom.autostart is True
        dom.autostart = False
        assert dom.autostart is False

    def test_bad_xml_is_an_xml_error(self, conn: Conn) -> None:
        need(conn, "domain_define_xml")
        for bad in ("<domain", "<domain type='test'><name>x</name>", "not xml at all"):
            with pytest.raises(XMLError) as exc:  # not well formed: libvirt's parser's XML_DETAIL
                conn.define_domain(bad)
            assert isinstance(exc.value, XMLDetailError)
            assert (exc.value.code, exc.value.domain) == (ErrorNumber.XML_DETAIL, ErrorDomain.DOMAIN)

    def test_hostile_xml_is_refused(self, conn: Conn) -> None:
        need(conn, "domain_define_xml")
        bomb = (
            '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
            "<domain type='test'><name>&c;</name><memory>1024</memory></domain>"
        )
        with pytest.raises(XMLError):
            conn.define_domain(bomb)
        external = (
            '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            "<domain type='test'><name>&x;</name><memory>1024</memory></domain>"
        )
        with pytest.raises(XMLError):
            conn.define_domain(external)
        assert all("root:" not in d.name for d in conn.list_domains())

    # -- read-only -------------------------------------------------------------

    def test_read_only_connection_refuses_every_mutation(self, uri: str, conn: Conn, define: Define) -> None:
        dom = define()
        with virtcore.open_read_only(uri) as ro:
            assert ro.read_only
            # A test:///FILE URI gives each connection a private node: there the
            # read-only connection sees the file's domains, not the one just defined.
            visible = {d.name: d for d in ro.list_domains()}
            rdom = visible.get(dom.name) or next(iter(visible.values()))
            before = rdom.state()
            attempts: dict[str, Callable[[], object]] = {
                "domain_create": rdom.start,
                "domain_destroy": rdom.destroy,
                "domain_suspend": rdom.suspend,
                "domain_reset": rdom.reset,
                "domain_inject_nmi": rdom.inject_nmi,
                "domain_undefine": rdom.undefine,
                "domain_set_memory": lambda: rdom.set_memory(1024),
                "domain_set_vcpus": lambda: rdom.set_vcpus(1),
                "domain_define_xml": lambda: ro.define_domain(dom.xml_desc()),
                "domain_save": lambda: rdom.save("/nonexistent/x"),
                "connect_domain_xml_to_native": lambda: ro.domain_xml_to_native("any", dom.xml_desc()),
                "connect_domain_xml_from_native": lambda: ro.domain_xml_from_native("any", "name = 'x'"),
                "domain_set_blkio_parameters": lambda: rdom.set_blkio_parameters({"weight": 10}),
                "domain_set_numa_parameters": lambda: rdom.set_numa_parameters({"numa_mode": 0}),
                "domain_set_block_io_tune": lambda: rdom.set_block_io_tune("vda", {"total_iops_sec": 0}),
                "domain_set_interface_parameters": lambda: rdom.set_interface_parameters("x", {}),
                "domain_pin_vcpu": lambda: rdom.pin_vcpu(0, (True,)),
                "domain_pin_emulator": lambda: rdom.pin_emulator((True,)),
                "domain_add_io_thread": lambda: rdom.add_iothread(1),
                "domain_del_io_thread": lambda: rdom.del_iothread(1),
                "domain_pin_io_thread": lambda: rdom.pin_iothread(1, (True,)),
                "domain_set_io_thread_params": lambda: rdom.set_iothread_params(1, {}),
            }
            for op, attempt in attempts.items():
                if not ro.supports(op):
                    continue
                with pytest.raises(OperationDeniedError) as exc:
                    attempt()
                assert exc.value.code == ErrorNumber.OPERATION_DENIED
                assert op in str(exc.value)
            assert rdom.state() == before
        assert dom.state()[0] == DomainState.SHUTOFF and dom.is_persistent()

    # -- native configuration formats ---------------------------------------------

    def test_native_format_a_driver_does_not_convert_is_invalid_arg(self, conn: Conn) -> None:
        need(conn, "connect_domain_xml_to_native", "connect_domain_xml_from_native")
        with pytest.raises(InvalidArgError, match="no-such-format") as exc:
            conn.domain_xml_to_native("no-such-format", "<domain/>")
        assert exc.value.code == ErrorNumber.INVALID_ARG
        with pytest.raises(InvalidArgError, match="no-such-format"):
            conn.domain_xml_from_native("no-such-format", "")

    # -- events ---------------------------------------------------------------

    def test_lifecycle_events_reach_callbacks(self, conn: Conn, define: Define) -> None:
        need(conn, "domain_suspend", "domain_resume", "domain_destroy")
        seen: list[tuple[str, DomainEventType]] = []
        lock = threading.Lock()

        def record(dom: virtcore.Domain, event: DomainEventType, detail: int) -> None:
            with lock:
                seen.append((dom.name, event))

        cid = conn.on_domain_event(record)
        dom = define()
        dom.start()
        dom.suspend()
        dom.resume()
        dom.destroy()
        dom.undefine()
        expected = [
            DomainEventType.DEFINED,
            DomainEventType.STARTED,
            DomainEventType.SUSPENDED,
            DomainEventType.RESUMED,
            DomainEventType.STOPPED,
            DomainEventType.UNDEFINED,
        ]

        def mine() -> list[DomainEventType]:
            with lock:
                return [e for n, e in seen if n == dom.name]

        wait_for(lambda: len(mine()) >= len(expected), 30, "six lifecycle events")
        assert mine() == expected
        conn.remove_domain_event(cid)
        with pytest.raises(InvalidArgError):
            conn.remove_domain_event(cid)
