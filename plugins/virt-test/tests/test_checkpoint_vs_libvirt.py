"""virt-test's domain checkpoints against libvirt's own test driver, side by side (no difference allowed).

libvirt-python's own ``tests/test_domain_checkpoint.py`` creates ``<domaincheckpoint/>``
on ``test:///default``'s domain and deletes it; the scenario does that and the rest of
the checkpoint API harnesses call (names, XML, parents, errors).
"""

from __future__ import annotations

import json

import checkpoint_scenario
import pytest
import virt_test
from libvirt_peer import run_libvirt_side

import virtcore
from virtcore.errors import ErrorDomain, NoDomainCheckpointError


@pytest.fixture(autouse=True)
def fresh_default() -> None:
    virt_test.reset_default_node()


def test_every_step_answers_as_libvirts_test_driver() -> None:
    theirs = run_libvirt_side("checkpoint_scenario.py")
    ours = json.loads(json.dumps(checkpoint_scenario.play(checkpoint_scenario.VirtcoreSide())))
    assert ours == theirs
    outcome = dict(ours)
    assert outcome["create <domaincheckpoint/>"] == ["ok", "T"]  # named by its creation time
    assert outcome["the first has no parent"] == ["err", 103]
    assert outcome["a checkpoint of a stopped domain"] == ["err", 84]


def test_libvirt_pythons_checkpoint_test_passes_on_virtcore() -> None:
    with virtcore.open("test:///default") as conn:
        dom = conn.lookup_domain("test")
        cp = dom.create_checkpoint("<domaincheckpoint/>")
        assert dom.list_checkpoints() == [cp]
        cp.delete()
        assert dom.list_checkpoints() == []
        with pytest.raises(NoDomainCheckpointError) as exc:
            dom.lookup_checkpoint(cp.name)
        assert exc.value.domain == ErrorDomain.TEST
