"""Shared fixtures for the XML tests: the libvirt corpus and its RelaxNG schemas."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = REPO_ROOT.parent / "shared" / "conformance" / "libvirt"

if not (CORPUS / "schemas" / "domain.rng").is_file():
    # Not a skip: without the corpus these tests cannot say anything, and that is an error.
    raise RuntimeError(
        f"libvirt conformance corpus not found at {CORPUS} (expected ../shared/conformance/libvirt)"
    )


@pytest.fixture(scope="session")
def domain_rng() -> etree.RelaxNG:
    """libvirt's domain.rng, compiled once per session."""
    return etree.RelaxNG(etree.parse(str(CORPUS / "schemas" / "domain.rng")))


@pytest.fixture(scope="session")
def capability_rng() -> etree.RelaxNG:
    """libvirt's capability.rng, compiled once per session."""
    return etree.RelaxNG(etree.parse(str(CORPUS / "schemas" / "capability.rng")))
