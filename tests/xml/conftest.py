"""Shared fixtures for the XML tests: libvirt's RelaxNG schemas."""

from __future__ import annotations

import pytest
from libvirt_testdata import require
from lxml import etree


@pytest.fixture(scope="session")
def domain_rng() -> etree.RelaxNG:
    """libvirt's domain.rng, compiled once per session."""
    return etree.RelaxNG(etree.parse(str(require("schemas", "domain.rng"))))


@pytest.fixture(scope="session")
def capability_rng() -> etree.RelaxNG:
    """libvirt's capability.rng, compiled once per session."""
    return etree.RelaxNG(etree.parse(str(require("schemas", "capability.rng"))))
