"""The ``virtcore`` storage commands (``pool-*``, ``vol-*``), run in-process against ``test:///default``.

``test:///default`` holds libvirt's ``default-pool`` (a dir pool at
``/default-pool``, 100 GiB, no volumes); its state is shared by the whole
process, so every test starts from and leaves libvirt's defaults. The
progress bar is checked on a real pseudo-terminal.
"""

from __future__ import annotations

import io
import os
import pty
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import DEFAULT, Run
from lxml import etree

import virtcore
from virtcore.cli import main
from virtcore.cli_storage import parse_bytes
from virtcore.errors import InvalidArgError, OperationFailedError
from virtcore.progressbar import ProgressBar, pretty_capacity
from virtcore.storage import StorageVolume

pytestmark = pytest.mark.usefixtures("fresh_default")

GiB = 1 << 30


def ok(result: tuple[int, str, str]) -> str:
    """The output of a command that must succeed quietly on stderr."""
    status, out, err = result
    assert (status, err) == (0, ""), err
    return out


def fails(result: tuple[int, str, str], expected: str) -> None:
    """A command that must fail with one ``error: <expected>`` line and exit 1."""
    assert result == (1, "", f"error: {expected}\n")


def info_fields(out: str) -> dict[str, str]:
    return {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in out.splitlines() if ":" in line}


POOL_XML = """<pool type='dir'>
  <name>images</name>
  <uuid>0c3b1c1e-6a8c-4d1c-9f5e-2b7d8f6a1e01</uuid>
  <target><path>/images</path></target>
</pool>
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# ---------------------------------------------------------------------------
# Pools
# ---------------------------------------------------------------------------


def test_pool_list_is_virshs_table(run: Run) -> None:
    assert ok(run("pool-list")) == (
        " Name           State    Autostart\n"
        "------------------------------------\n"
        " default-pool   active   no\n"
        "\n"
    )
    assert ok(run("pool-list", "--inactive")).splitlines()[2:] == [""]
    assert ok(run("pool-list", "--name")) == "default-pool\n"


def test_pool_list_details_and_names(run: Run, tmp_path: Path) -> None:
    ok(run("pool-define", write(tmp_path, "pool.xml", POOL_XML)))
    assert ok(run("pool-list", "--all", "--details")).splitlines() == [
        " Name           State      Autostart   Persistent   Capacity     Allocation   Available",
        "-" * 90,
        " default-pool   running    no          yes          100.00 GiB   0.00 B       100.00 GiB",
        " images         inactive   no          yes          -            -            -",
        "",
    ]
    uuid = info_fields(ok(run("pool-info", "default-pool")))["UUID"]
    assert ok(run("pool-list", "--all", "--uuid", "--name")) == (
        f"{uuid} default-pool\n0c3b1c1e-6a8c-4d1c-9f5e-2b7d8f6a1e01 images\n"
    )
    fails(
        run("pool-list", "--details", "--name"),
        "invalid argument: option --details cannot be combined with --name or --uuid",
    )


def test_pool_info_has_virshs_labels_and_units(run: Run) -> None:
    out = ok(run("pool-info", "default-pool"))
    lines = out.splitlines()
    assert lines[0] == "Name:           default-pool"
    assert lines[2:] == [
        "State:          running",
        "Persistent:     yes",
        "Autostart:      no",
        "Capacity:       100.00 GiB",
        "Allocation:     0.00 B",
        "Available:      100.00 GiB",
        "",
    ]
    uuid = info_fields(out)["UUID"]
    # the pool is found by UUID too, and --bytes prints bytes
    fields = info_fields(ok(run("pool-info", "--bytes", uuid)))
    assert (fields["Name"], fields["Capacity"], fields["Allocation"]) == ("default-pool", str(100 * GiB), "0")


def test_pool_lifecycle(run: Run, tmp_path: Path) -> None:
    xml = write(tmp_path, "pool.xml", POOL_XML)
    assert ok(run("pool-define", xml)) == f"Pool images defined from {xml}\n\n"
    assert ok(run("pool-list", "--inactive")).splitlines()[2] == " images   inactive   no"
    assert [r.split()[:2] for r in ok(run("pool-list", "--all")).splitlines()[2:-1]] == [
        ["default-pool", "active"],
        ["images", "inactive"],
    ]
    fields = info_fields(ok(run("pool-info", "images")))
    assert fields["State"] == "inactive" and "Capacity" not in fields
    assert ok(run("pool-build", "images")) == "Pool images built\n\n"
    assert ok(run("pool-start", "images")) == "Pool images started\n\n"
    assert ok(run("pool-autostart", "images")) == "Pool images marked as autostarted\n\n"
    assert info_fields(ok(run("pool-info", "images")))["Autostart"] == "yes"
    assert ok(run("pool-autostart", "--disable", "images")) == "Pool images unmarked as autostarted\n\n"
    assert ok(run("pool-refresh", "images")) == "Pool images refreshed\n\n"
    root = etree.fromstring(ok(run("pool-dumpxml", "images")).encode())
    assert (root.get("type"), root.findtext("name"), root.findtext("target/path")) == (
        "dir",
        "images",
        "/images",
    )
    assert (
        etree.fromstring(ok(run("pool-dumpxml", "--inactive", "images")).encode()).findtext("name")
        == "images"
    )
    # a running pool cannot be undefined
    status, out, err = run("pool-undefine", "images")
    assert (status, out) == (1, "") and err.startswith("error: Requested operation is not valid: ")
    assert "images" in err
    assert ok(run("pool-destroy", "images")) == "Pool images destroyed\n\n"
    assert ok(run("pool-delete", "images")) == "Pool images deleted\n\n"
    assert ok(run("pool-undefine", "images")) == "Pool images has been undefined\n\n"
    assert "images" not in ok(run("pool-list", "--all"))


def test_pool_create_makes_a_transient_running_pool(run: Run, tmp_path: Path) -> None:
    xml = write(tmp_path, "pool.xml", POOL_XML)
    assert ok(run("pool-create", xml)) == f"Pool images created from {xml}\n\n"
    fields = info_fields(ok(run("pool-info", "images")))
    assert (fields["State"], fields["Persistent"]) == ("running", "no")
    ok(run("pool-destroy", "images"))
    assert "images" not in ok(run("pool-list", "--all"))


def test_pool_errors_are_one_line(run: Run, tmp_path: Path) -> None:
    status, out, err = run("pool-info", "nosuch")
    assert (status, out) == (1, "")
    assert err.startswith("error: Storage pool not found: ") and "'nosuch'" in err and err.count("\n") == 1
    fails(
        run("pool-list", "--all", "--inactive"),
        "invalid argument: options --all and --inactive are mutually exclusive",
    )
    fails(
        run("pool-define", str(tmp_path / "missing.xml")),
        f"failed to read: pool XML file '{tmp_path / 'missing.xml'}': No such file or directory",
    )


# ---------------------------------------------------------------------------
# Volumes
# ---------------------------------------------------------------------------


def test_vol_create_as_with_virsh_suffixes_then_list_and_info(run: Run) -> None:
    assert ok(run("vol-create-as", "default-pool", "a.img", "1G")) == "Vol a.img created\n\n"
    assert (
        ok(run("vol-create-as", "default-pool", "B.qcow2", "512M", "--format", "qcow2"))
        == "Vol B.qcow2 created\n\n"
    )
    assert ok(run("vol-list", "default-pool")) == (
        " Name      Path\n"
        "----------------------------------\n"
        " a.img     /default-pool/a.img\n"
        " B.qcow2   /default-pool/B.qcow2\n"
        "\n"
    )
    details = ok(run("vol-list", "default-pool", "--details")).splitlines()
    assert details[0].split() == ["Name", "Path", "Type", "Capacity", "Allocation"]
    assert details[2].split()[:5] == ["a.img", "/default-pool/a.img", "file", "1.00", "GiB"]
    assert details[3].split()[:5] == ["B.qcow2", "/default-pool/B.qcow2", "file", "512.00", "MiB"]
    lines = ok(run("vol-info", "a.img", "--pool", "default-pool")).splitlines()
    assert lines[:3] == ["Name:           a.img", "Type:           file", "Capacity:       1.00 GiB"]
    assert lines[3].startswith("Allocation:     ")
    assert info_fields(ok(run("vol-info", "--bytes", "/default-pool/a.img")))["Capacity"] == str(GiB)
    root = etree.fromstring(ok(run("vol-dumpxml", "B.qcow2", "--pool", "default-pool")).encode())
    assert (root.findtext("name"), root.find("target/format").get("type")) == ("B.qcow2", "qcow2")


@pytest.mark.parametrize("how", [("a.img", "--pool", "default-pool"), ("/default-pool/a.img",)])
def test_volumes_are_addressed_as_virsh_does(run: Run, how: tuple[str, ...]) -> None:
    ok(run("vol-create-as", "default-pool", "a.img", "1M"))
    assert ok(run("vol-path", *how)) == "/default-pool/a.img\n\n"
    key = ok(run("vol-key", *how)).strip()
    assert ok(run("vol-name", key)) == "a.img\n\n"
    assert ok(run("vol-pool", *how)) == "default-pool\n\n"
    uuid = info_fields(ok(run("pool-info", "default-pool")))["UUID"]
    assert ok(run("vol-pool", "--uuid", *how)) == f"{uuid}\n\n"


def test_volume_not_found_suggests_pool(run: Run, tmp_path: Path) -> None:
    ok(run("vol-create-as", "default-pool", "a.img", "1M"))
    fails(
        run("vol-info", "a.img"),
        "Storage volume not found: failed to get vol 'a.img', specifying --pool might help",
    )
    fails(
        run("vol-info", "b.img", "--pool", "default-pool"),
        "Storage volume not found: failed to get vol 'b.img'",
    )
    ok(run("pool-create", write(tmp_path, "pool.xml", POOL_XML)))
    fails(
        run("vol-info", "/default-pool/a.img", "--pool", "images"),
        "invalid argument: volume '/default-pool/a.img' is in pool 'default-pool', not in pool 'images'",
    )


def test_vol_create_as_builds_the_xml_through_the_model(run: Run) -> None:
    out = ok(
        run(
            "vol-create-as",
            "default-pool",
            "o.qcow2",
            "10G",
            "--allocation",
            "1M",
            "--format",
            "qcow2",
            "--print-xml",
        )
    )
    root = etree.fromstring(out.encode())
    assert root.findtext("name") == "o.qcow2"
    assert (
        int(root.findtext("capacity")) * {"bytes": 1}[root.find("capacity").get("unit", "bytes")] == 10 * GiB
    )
    assert root.findtext("allocation") is not None
    assert root.find("target/format").get("type") == "qcow2"
    # --print-xml creates nothing
    assert "o.qcow2" not in ok(run("vol-list", "default-pool"))


def test_vol_create_as_with_a_backing_volume(run: Run) -> None:
    ok(run("vol-create-as", "default-pool", "base.img", "1G"))
    assert ok(
        run(
            "vol-create-as", "default-pool", "top.qcow2", "1G", "--format", "qcow2",
            "--backing-vol", "base.img", "--backing-vol-format", "raw",
        )
    ) == "Vol top.qcow2 created\n\n"  # fmt: skip
    root = etree.fromstring(ok(run("vol-dumpxml", "/default-pool/top.qcow2")).encode())
    assert root.findtext("backingStore/path") == "/default-pool/base.img"
    assert root.find("backingStore/format").get("type") == "raw"
    fails(run("vol-create-as", "default-pool", "x.qcow2", "1G", "--backing-vol", "nosuch"),
          "Storage volume not found: failed to get vol 'nosuch', specifying --pool might help")  # fmt: skip


UNITS = "expected a number of bytes or a number with a unit (512M, 10G, 1T)"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("a.img", "10Q"), f"invalid argument: invalid capacity '10Q': {UNITS}"),
        (("a.img", "-1"), f"invalid argument: invalid capacity '-1': {UNITS}"),
        (("a.img", "16E"), "invalid argument: invalid capacity '16E': more than 2**64-1 bytes"),
        (("a.img", "1G", "--allocation", "lots"), f"invalid argument: invalid allocation 'lots': {UNITS}"),
        (("../a.img", "1G"), "XML error: storage volume name '../a.img' cannot contain '/'"),
        (("--", "-a.img", "1G"), "XML error: storage volume name '-a.img' cannot start with '-'"),
        (
            ("a.img", "1G", "--format", "bogus"),
            "unsupported configuration: unknown volume format type 'bogus' in <target>"
            " of storage volume 'a.img'",
        ),
        (
            ("a.img", "1G", "--backing-vol-format", "raw"),
            "invalid argument: option --backing-vol-format needs --backing-vol",
        ),
    ],
)
def test_vol_create_as_refuses_bad_input_and_creates_nothing(
    run: Run, args: tuple[str, ...], expected: str
) -> None:
    fails(run("vol-create-as", "default-pool", *args), expected)
    assert ok(run("vol-list", "default-pool")).splitlines()[2:] == [""]


def test_vol_create_from_xml_clone_and_delete(run: Run, tmp_path: Path) -> None:
    xml = write(tmp_path, "vol.xml", "<volume><name>x.img</name><capacity unit='M'>4</capacity></volume>")
    assert ok(run("vol-create", "default-pool", xml)) == f"Vol x.img created from {xml}\n\n"
    assert (
        ok(run("vol-clone", "x.img", "y.img", "--pool", "default-pool")) == "Vol y.img cloned from x.img\n\n"
    )
    assert info_fields(ok(run("vol-info", "--bytes", "/default-pool/y.img")))["Capacity"] == str(4 << 20)
    assert ok(run("vol-delete", "x.img", "--pool", "default-pool")) == "Vol x.img deleted\n\n"
    assert [r.split()[0] for r in ok(run("vol-list", "default-pool")).splitlines()[2:-1]] == ["y.img"]
    status, _, err = run("vol-clone", "/default-pool/y.img", "y.img")
    assert status == 1 and err.startswith(
        "error: storage volume 'y.img' in storage pool 'default-pool' exists already"
    )


def test_vol_resize(run: Run) -> None:
    ok(run("vol-create-as", "default-pool", "a.img", "1G"))

    def capacity() -> int:
        return int(info_fields(ok(run("vol-info", "--bytes", "/default-pool/a.img")))["Capacity"])

    assert (
        ok(run("vol-resize", "/default-pool/a.img", "2G"))
        == "Size of volume 'a.img' successfully changed to 2G\n\n"
    )
    assert capacity() == 2 * GiB
    assert ok(run("vol-resize", "/default-pool/a.img", "1G", "--delta")) == (
        "Size of volume 'a.img' successfully changed by 1G\n\n"
    )
    assert capacity() == 3 * GiB
    # a negative CAPACITY follows '--', or argparse would take it for an option
    ok(run("vol-resize", "/default-pool/a.img", "--delta", "--shrink", "--", "-512M"))
    assert capacity() == 3 * GiB - (512 << 20)
    fails(
        run("vol-resize", "/default-pool/a.img", "--", "-1G"),
        "invalid argument: negative size '-1G' requires --delta and --shrink",
    )
    assert capacity() == 3 * GiB - (512 << 20)


def test_vol_resize_allocate_allocates_the_new_space(run: Run) -> None:
    ok(run("vol-create-as", "default-pool", "a.img", "1G", "--allocation", "0"))

    def sizes() -> tuple[str, str]:
        fields = info_fields(ok(run("vol-info", "--bytes", "/default-pool/a.img")))
        return fields["Capacity"], fields["Allocation"]

    assert sizes() == (str(GiB), "0")
    ok(run("vol-resize", "/default-pool/a.img", "2G"))
    assert sizes() == (str(2 * GiB), "0")  # sparse
    ok(run("vol-resize", "/default-pool/a.img", "3G", "--allocate"))
    assert sizes() == (str(3 * GiB), str(3 * GiB))


def test_vol_wipe(run: Run, tmp_path: Path) -> None:
    ok(run("vol-create-as", "default-pool", "a.img", "4K"))
    src = tmp_path / "data"
    src.write_bytes(b"\xff" * 4096)
    ok(run("vol-upload", "/default-pool/a.img", str(src)))
    assert ok(run("vol-wipe", "/default-pool/a.img")) == "Vol a.img wiped\n\n"
    ok(run("vol-download", "/default-pool/a.img", str(tmp_path / "back")))
    assert (tmp_path / "back").read_bytes() == b"\0" * 4096
    fails(
        run("vol-wipe", "/default-pool/a.img", "--algorithm", "shred"),
        "invalid argument: unsupported wipe algorithm 'shred' (expected one of zero, nnsa, dod, bsi, "
        "gutmann, schneier, pfitzner7, pfitzner33, random, trim)",
    )


def test_upload_and_download_round_trip_without_a_bar_when_piped(run: Run, tmp_path: Path) -> None:
    ok(run("vol-create-as", "default-pool", "a.img", "3M"))
    data = os.urandom(3 << 20)
    (tmp_path / "in").write_bytes(data)
    assert run("vol-upload", "a.img", str(tmp_path / "in"), "--pool", "default-pool") == (0, "", "")
    assert run("vol-download", "a.img", str(tmp_path / "out"), "--pool", "default-pool") == (0, "", "")
    assert (tmp_path / "out").read_bytes() == data
    # a window: --offset and --length
    ok(run("vol-download", "/default-pool/a.img", str(tmp_path / "part"), "--offset", "1M", "--length", "1K"))
    assert (tmp_path / "part").read_bytes() == data[1 << 20 : (1 << 20) + 1024]
    # an upload into a window changes only that window
    (tmp_path / "patch").write_bytes(b"\xaa" * 4096)
    ok(run("vol-upload", "/default-pool/a.img", str(tmp_path / "patch"), "--offset", "2M", "--length", "1K"))
    ok(run("vol-download", "/default-pool/a.img", str(tmp_path / "out")))
    expected = data[: 2 << 20] + b"\xaa" * 1024 + data[(2 << 20) + 1024 :]
    assert (tmp_path / "out").read_bytes() == expected


def test_upload_of_a_missing_file_names_it(run: Run, tmp_path: Path) -> None:
    ok(run("vol-create-as", "default-pool", "a.img", "1M"))
    missing = tmp_path / "missing"
    fails(
        run("vol-upload", "/default-pool/a.img", str(missing)),
        f"failed to read: upload source '{missing}': No such file or directory",
    )


def test_a_failed_download_leaves_no_file(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ok(run("vol-create-as", "default-pool", "a.img", "1M"))

    def broken(self: StorageVolume, target: io.BufferedWriter, **_: object) -> int:
        target.write(b"half")
        raise OperationFailedError("stream broke")

    monkeypatch.setattr(StorageVolume, "download", broken)
    fails(run("vol-download", "/default-pool/a.img", str(tmp_path / "out")), "operation failed: stream broke")
    assert list(tmp_path.iterdir()) == []
    # an existing file keeps its old content
    (tmp_path / "out").write_bytes(b"old")
    fails(run("vol-download", "/default-pool/a.img", str(tmp_path / "out")), "operation failed: stream broke")
    assert list(tmp_path.iterdir()) == [tmp_path / "out"] and (tmp_path / "out").read_bytes() == b"old"


def test_download_replaces_a_file_keeping_its_mode(run: Run, tmp_path: Path) -> None:
    ok(run("vol-create-as", "default-pool", "a.img", "4K"))
    target = tmp_path / "out"
    target.write_bytes(b"old content")
    target.chmod(0o640)
    ok(run("vol-download", "/default-pool/a.img", str(target)))
    assert target.read_bytes() == b"\0" * 4096
    assert target.stat().st_mode & 0o777 == 0o640
    assert list(tmp_path.iterdir()) == [target]  # no temporary left beside it


def test_download_into_a_missing_directory_names_it(run: Run, tmp_path: Path) -> None:
    ok(run("vol-create-as", "default-pool", "a.img", "1M"))
    target = tmp_path / "no" / "out"
    fails(
        run("vol-download", "/default-pool/a.img", str(target)),
        f"download target '{target}': No such file or directory",
    )


def test_read_only_connection_lists_but_refuses_changes(run: Run) -> None:
    assert "default-pool" in ok(run("pool-list", read_only=True))
    status, out, err = run("vol-create-as", "default-pool", "a.img", "1M", read_only=True)
    assert (status, out) == (1, "") and err.startswith("error: operation forbidden: read only access")
    assert ok(run("vol-list", "default-pool")).splitlines()[2:] == [""]


class _NoStorageDriver:
    """A hypervisor driver with no storage at all."""

    @virtcore.hookimpl
    def virt_connect_get_type(self) -> str:
        return "NOSTORAGE"


def test_a_driver_without_storage_says_so(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    from virtcore import drivers

    monkeypatch.setitem(drivers._loaded, "nostorage", lambda uri, ro: [_NoStorageDriver()])
    status, out, err = run("pool-list", uri="nostorage:///")
    assert (status, out) == (1, "")
    assert err.startswith("error: this function is not supported by the connection driver: ")
    assert "storage_pools" in err and err.count("\n") == 1


# ---------------------------------------------------------------------------
# The progress bar: on a terminal only
# ---------------------------------------------------------------------------


class Terminal:
    """A real pseudo-terminal to stand in for ``sys.stderr``: :meth:`attach` it, read with :meth:`drawn`.

    (Attached in the test body: pytest's capture sets ``sys.stderr`` again when the test starts.)
    """

    def __init__(self) -> None:
        self.master, slave = pty.openpty()
        self.stream = open(slave, "w", encoding="utf-8", closefd=True)  # noqa: SIM115 - closed by close()
        os.set_blocking(self.master, False)
        self._chunks: list[bytes] = []

    def attach(self, monkeypatch: pytest.MonkeyPatch, *, stdout: bool = False) -> None:
        """Make it ``sys.stderr`` (and ``sys.stdout`` too with ``stdout=True``)."""
        monkeypatch.setattr(sys, "stderr", self.stream)
        if stdout:
            monkeypatch.setattr(sys, "stdout", self.stream)

    def drawn(self) -> str:
        """Everything drawn on the terminal so far."""
        self.stream.flush()
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            self._chunks.append(chunk)
        return b"".join(self._chunks).decode()

    def close(self) -> None:
        self.stream.close()
        os.close(self.master)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    term = Terminal()
    yield term
    term.close()


def _bar_states(text: str) -> list[str]:
    """The successive states of a bar (each ``\\r``-redrawn line, padding stripped)."""
    return [s.rstrip() for s in text.replace("\r\n", "\n").split("\r") if s.strip()]


def test_upload_and_download_draw_a_bar_on_a_terminal(
    run: Run, tmp_path: Path, terminal: Terminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(run("vol-create-as", "default-pool", "a.img", "4M"))
    terminal.attach(monkeypatch)
    src = tmp_path / "in"
    src.write_bytes(os.urandom(4 << 20))
    status = main(["-c", DEFAULT, "vol-upload", "/default-pool/a.img", str(src)])
    assert status == 0
    states = _bar_states(terminal.drawn())
    label = f"Uploading {src} to vol a.img: "
    assert all(s.startswith(label) for s in states)
    assert states[-1] == f"{label}[{'#' * 30}] 100% 4.00 MiB / 4.00 MiB"
    assert any(" 25% 1.00 MiB / 4.00 MiB" in s for s in states)
    assert terminal.drawn().endswith("\n")

    status = main(["-c", DEFAULT, "vol-download", "/default-pool/a.img", str(tmp_path / "out")])
    assert status == 0
    text = terminal.drawn()
    down = _bar_states(text[text.index("Downloading") :])
    assert down[-1].endswith("] 100% 4.00 MiB / 4.00 MiB")
    assert down[-1].startswith(f"Downloading vol a.img to {tmp_path / 'out'}: [")
    assert (tmp_path / "out").read_bytes() == src.read_bytes()


def test_clone_draws_a_bar_on_a_terminal(
    run: Run, terminal: Terminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(run("vol-create-as", "default-pool", "a.img", "2M"))
    terminal.attach(monkeypatch)
    assert main(["-c", DEFAULT, "vol-clone", "/default-pool/a.img", "b.img"]) == 0
    states = _bar_states(terminal.drawn())
    assert states[-1] == f"Cloning vol a.img: [{'#' * 30}] 100% 2.00 MiB / 2.00 MiB"


def test_while_running_shows_activity_until_the_work_returns() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, "Cloning")
    bar.TICK = 0.001

    def work() -> int:
        for _ in range(10_000):  # until the helper thread has drawn the marker (bounded)
            if "<=>" in stream.getvalue():
                return 42
            threading.Event().wait(0.001)
        raise AssertionError("no activity marker was drawn")

    assert bar.while_running(work) == 42
    drawn = stream.getvalue()
    assert drawn.startswith("\rCloning: [") and "<=>" in drawn
    assert all(t.name != "virtcore-progress" for t in threading.enumerate())  # stopped: draws no more


def test_progress_bar_only_on_terminals() -> None:
    assert ProgressBar.on_terminal(io.StringIO(), "x") is None
    bar = ProgressBar(io.StringIO(), "Copying")
    assert bar.line(0, 0) == "Copying: 0.00 B"
    assert bar.line(512, 1024) == f"Copying: [{'#' * 15}{' ' * 15}]  50% 512.00 B / 1.00 KiB"


# ---------------------------------------------------------------------------
# Sizes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [("0", 0), ("1", 1), ("1b", 1), ("10G", 10 * GiB), ("10GiB", 10 * GiB), ("512M", 512 << 20),
     ("1T", 1 << 40), ("1k", 1024), ("1KB", 1000), ("2MB", 2_000_000), ("1E", 1 << 60), ("15E", 15 << 60)],
)  # fmt: skip
def test_parse_bytes(text: str, size: int) -> None:
    assert parse_bytes(text, "capacity") == size


@pytest.mark.parametrize("text", ["", "G", "1.5G", "1X", "-1", "16E", "18446744073709551616"])
def test_parse_bytes_rejects(text: str) -> None:
    with pytest.raises(InvalidArgError, match="capacity"):
        parse_bytes(text, "capacity")


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0.00 B"), (1023, "1023.00 B"), (1024, "1.00 KiB"), (GiB, "1.00 GiB"), (100 * GiB, "100.00 GiB"),
     (3 * GiB // 2, "1.50 GiB"), ((1 << 64) - 1, "16.00 EiB")],
)  # fmt: skip
def test_pretty_capacity_is_virshs(size: int, text: str) -> None:
    assert pretty_capacity(size) == text


# ---------------------------------------------------------------------------
# The session docs/cli.rst shows
# ---------------------------------------------------------------------------

CLI_DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.rst"


def _doc_session() -> list[str]:
    """The console block of the "Storage pools and volumes" section, unindented."""
    text = CLI_DOC.read_text(encoding="utf-8")
    section = text[text.index("Storage pools and volumes\n") :]
    block = section[section.index(".. code-block:: console\n\n") :].split("\n")[2:]
    lines = []
    for line in block:
        if line and not line.startswith("   "):
            break
        lines.append(line[3:])
    assert lines[-1] == "", "the block ends with a blank line"
    return lines[:-1]  # the blank line closing the block; the one before it is output


def _final_lines(terminal_text: str) -> list[str]:
    """What a terminal shows: each line as its last ``\\r`` redraw left it."""
    text = terminal_text.replace("\r\n", "\n")
    return [line.rsplit("\r", 1)[-1].rstrip() for line in text.split("\n")[:-1]]


def test_the_documented_session_replays(
    tmp_path: Path, terminal: Terminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    with virtcore.open(DEFAULT) as conn:  # the session starts on a host without pools
        pool = conn.lookup_storage_pool("default-pool")
        pool.destroy()
        pool.undefine()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VIRTCORE_DEFAULT_URI", DEFAULT)
    (tmp_path / "cirros.qcow2").write_bytes(os.urandom(16 << 20))
    lines = _doc_session()
    assert lines[0].startswith("$ export VIRTCORE_DEFAULT_URI=")
    i, replayed = 1, 0
    while i < len(lines):
        command = lines[i]
        assert command.startswith("$ "), command
        expected = []
        i += 1
        while i < len(lines) and not lines[i].startswith("$ "):
            expected.append(lines[i])
            i += 1
        words = command[2:].split(" | grep ")
        argv = shlex.split(words[0])
        if argv[0] == "cat":  # the doc shows a file's content: write it
            (tmp_path / argv[1]).write_text("\n".join(expected) + "\n", encoding="utf-8")
            continue
        assert argv[0] == "virtcore"
        terminal.attach(monkeypatch, stdout=True)  # both streams on one terminal: the order a user sees
        before = len(terminal.drawn())
        main(argv[1:])
        got = _final_lines(terminal.drawn()[before:])
        if len(words) == 2:
            got = [line for line in got if words[1] in line]
        assert got == expected, command
        replayed += 1
    assert replayed >= 10


def test_the_storage_commands_load_no_xml_model() -> None:
    """Registering them (every command line run does) keeps lxml and attrs off the common path."""
    code = (
        "import sys, virtcore.cli_storage; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('lxml', 'attrs', 'tempfile')))"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert p.stdout == "[]\n"


def test_help_lists_the_storage_commands(run: Run) -> None:
    status, out, _ = run("--help", uri=None)
    assert status == 0
    for name in (
        "pool-define",
        "pool-list",
        "vol-create-as",
        "vol-upload",
        "vol-download",
        "vol-clone",
        "vol-pool",
    ):
        assert f"    {name}" in out


def test_a_volume_a_running_domain_uses_is_not_deleted(run: Run, tmp_path: Path) -> None:
    ok(run("vol-create-as", "default-pool", "a.img", "1M"))
    ok(
        run(
            "create",
            write(
                tmp_path,
                "d.xml",
                "<domain type='test'><name>d</name><memory unit='KiB'>131072</memory><vcpu>1</vcpu>"
                "<os><type>hvm</type></os><devices><disk type='file' device='disk'>"
                "<source file='/default-pool/a.img'/><target dev='vda' bus='virtio'/></disk>"
                "</devices></domain>",
            ),
        )
    )
    busy = "storage volume 'a.img' of pool 'default-pool' is in use by running domain 'd'"
    fails(run("vol-delete", "a.img", "--pool", "default-pool"), f"resource busy: cannot delete it: {busy}")
    fails(
        run("pool-destroy", "default-pool"), f"resource busy: cannot stop storage pool 'default-pool': {busy}"
    )
    assert "a.img" in ok(run("vol-list", "default-pool"))
    ok(run("destroy", "d"))
    assert ok(run("vol-delete", "a.img", "--pool", "default-pool")) == "Vol a.img deleted\n\n"
