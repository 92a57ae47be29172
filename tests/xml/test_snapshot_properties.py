"""Property tests of the snapshot model: snapshots built in Python round-trip through their XML,
and any name is either refused with an XMLError or survives as written."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from virtcore.errors import XMLError
from virtcore.xml import SnapshotDef, parse_snapshot
from virtcore.xml.snapshot import (
    DISK_SNAPSHOT_MODES,
    SNAPSHOT_STATES,
    SnapshotDisk,
    SnapshotDiskSource,
    SnapshotDriver,
    SnapshotParent,
    check_snapshot_name,
)

_name = st.text(alphabet=string.ascii_letters + string.digits + "_.- ", min_size=1, max_size=16).filter(
    lambda n: n.strip() and not n.startswith("-") and n not in (".", "..")
)
_segment = st.from_regex(r"[a-z0-9_]{1,8}", fullmatch=True)
_path = st.builds(lambda parts: "/" + "/".join(parts), st.lists(_segment, min_size=1, max_size=3))
_disk_name = st.from_regex(r"vd[a-z]", fullmatch=True)
_internal = st.builds(
    SnapshotDisk,
    name=_disk_name,
    snapshot=st.sampled_from([m for m in DISK_SNAPSHOT_MODES if m != "external"]),
)
_external = st.builds(
    SnapshotDisk,
    name=_disk_name,
    snapshot=st.just("external"),
    source=st.builds(SnapshotDiskSource, file=_path),
    driver=st.none() | st.builds(SnapshotDriver, type=st.sampled_from(["qcow2", "qed", "raw"])),
)
_snapshots = st.builds(
    SnapshotDef,
    name=_name,
    description=st.none() | st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40),
    state=st.sampled_from(SNAPSHOT_STATES),
    parent=st.none() | st.builds(SnapshotParent, name=_name),
    creation_time=st.integers(0, 2**40),
    memory_snapshot=st.sampled_from(["no", "internal"]),
    disks=st.lists(_internal | _external, max_size=4).map(tuple),
)


@settings(max_examples=150, deadline=None)
@given(_snapshots)
def test_a_snapshot_built_in_python_round_trips(snap: SnapshotDef) -> None:
    text = snap.to_xml()
    again = parse_snapshot(text, redefine=True)
    assert again == snap
    assert again.to_xml() == text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12))
def test_any_name_is_refused_or_kept_as_written(name: str) -> None:
    try:
        check_snapshot_name(name)
    except XMLError:
        assert (
            "/" in name or not name.isprintable() or name.startswith("-") or name.strip() in ("", ".", "..")
        )
        return
    snap = SnapshotDef(name=name, creation_time=1)
    assert parse_snapshot(snap.to_xml(), redefine=True).name == name
