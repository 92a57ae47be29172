"""Property tests of the storage models: pools and volumes built in Python round-trip through
their XML, and every field change made to a parsed one survives formatting."""

from __future__ import annotations

import string

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from virtcore.limits import LLONG_MAX, UINT_MAX
from virtcore.xml import Permissions, PoolDef, VolumeDef, parse_pool, parse_volume
from virtcore.xml.pool import PoolSource, PoolTarget, SourceDevice, SourceHost
from virtcore.xml.volume import (
    FILE_FORMATS,
    BackingStore,
    Cipher,
    Encryption,
    EncryptionSecret,
    VolumeFeatures,
    VolumeTarget,
)

_word = st.text(alphabet=string.ascii_letters + string.digits + "_.", min_size=1, max_size=12).filter(
    lambda w: w not in (".", "..")
)
_path = st.builds(lambda parts: "/" + "/".join(parts), st.lists(_word, min_size=1, max_size=4))
_size = st.none() | st.integers(0, LLONG_MAX)
_uuid = st.uuids().map(str)
_perms = st.none() | st.builds(
    Permissions,
    mode=st.none() | st.integers(0, 0o777),
    owner=st.none() | st.integers(0, UINT_MAX - 1),
    group=st.none() | st.integers(0, UINT_MAX - 1),
    label=st.none() | _word,
)

_pools = st.one_of(
    st.builds(
        PoolDef,
        type=st.just("dir"),
        name=_word,
        uuid=_uuid,
        capacity=_size,
        allocation=_size,
        available=_size,
        target=st.builds(PoolTarget, path=_path, permissions=_perms),
    ),
    st.builds(
        PoolDef,
        type=st.just("netfs"),
        name=_word,
        uuid=_uuid,
        source=st.builds(
            PoolSource,
            hosts=st.lists(
                st.builds(SourceHost, name=_word, port=st.none() | st.integers(1, 65535)), min_size=1
            ).map(tuple),
            dir=_path,
            format=st.sampled_from(["auto", "nfs", "glusterfs", "cifs"]),
        ),
        target=st.builds(PoolTarget, path=_path, permissions=_perms),
    ),
    st.builds(
        PoolDef,
        type=st.just("logical"),
        name=_word,
        uuid=_uuid,
        source=st.builds(
            PoolSource,
            devices=st.lists(st.builds(SourceDevice, path=_path), max_size=3).map(tuple),
            name=_word,
        ),
    ),
)

_encryption = st.none() | st.builds(
    Encryption,
    format=st.sampled_from(["luks", "qcow", "default"]),
    secrets=st.lists(st.builds(EncryptionSecret, type=st.just("passphrase"), uuid=_uuid), max_size=1).map(
        tuple
    ),
    cipher=st.none()
    | st.builds(Cipher, name=st.just("aes"), size=st.sampled_from([128, 256]), mode=st.just("xts")),
)
_volumes = st.builds(
    VolumeDef,
    name=_word,
    type=st.sampled_from(["file", "block", "dir"]),
    key=st.none() | _path,
    capacity=st.integers(0, LLONG_MAX),
    allocation=st.integers(0, LLONG_MAX),
    physical=_size,
    target=st.none()
    | st.builds(
        VolumeTarget,
        path=st.none() | _path,
        format=st.none() | st.sampled_from(FILE_FORMATS),
        permissions=_perms,
        encryption=_encryption,
        compat=st.none() | st.sampled_from(["0.10", "1.1"]),
        cluster_size=st.none() | st.integers(512, 2**21),
        nocow=st.booleans(),
    ),
    backing_store=st.none()
    | st.builds(BackingStore, path=_path, format=st.sampled_from(FILE_FORMATS), permissions=_perms),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_pools)
def test_generated_pools_round_trip(p: PoolDef) -> None:
    text = p.to_xml()
    again = parse_pool(text)
    assert again == p
    assert again.to_xml() == text


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_volumes)
def test_generated_volumes_round_trip(v: VolumeDef) -> None:
    text = v.to_xml()
    again = parse_volume(text)
    assert again == v
    assert again.to_xml() == text


@settings(max_examples=100, deadline=None)
@given(
    capacity=st.integers(0, LLONG_MAX),
    mode=st.integers(0, 0o777),
    lazy=st.booleans(),
    path=_path,
)
def test_changes_to_a_parsed_volume_survive_formatting(
    capacity: int, mode: int, lazy: bool, path: str
) -> None:
    v = parse_volume(
        "<volume><name>a</name><capacity unit='G'>1</capacity><target><path>/x</path>"
        "<format type='qcow2'/><permissions><mode>0644</mode><owner>0</owner></permissions>"
        "<unknown/></target></volume>"
    )
    assert v.target is not None and v.target.permissions is not None
    target = attrs.evolve(
        v.target,
        path=path,
        permissions=attrs.evolve(v.target.permissions, mode=mode),
        features=VolumeFeatures(lazy_refcounts=lazy),
    )
    changed = attrs.evolve(v, capacity=capacity, target=target)
    again = parse_volume(changed.to_xml())
    assert again == changed
    assert again.target is not None and again.target.lazy_refcounts == lazy
    assert "<unknown/>" in again.to_xml()
