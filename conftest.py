"""pytest configuration for every test tree of the checkout (core and plugins).

Tests find libvirt's test data through ``tests/libvirt_testdata.py`` (on the path through
``pythonpath`` in pyproject.toml). Here: the report header names that data, and the skips
of tests that need absent data are folded into one summary line; hypothesis asserts no timing.
"""

from __future__ import annotations

import sys
from collections.abc import Generator
from pathlib import Path

import pytest

# pyproject's ``pythonpath`` puts tests/ on the path, but a run whose arguments include a
# file outside the checkout (a child pytest given a template in /tmp) finds no ini file.
if (_TESTS := str(Path(__file__).resolve().parent / "tests")) not in sys.path:
    sys.path.insert(0, _TESTS)

import libvirt_testdata

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # hypothesis is a test dependency; without it its tests fail to import anyway
    pass
else:
    # Speed is measured in the benches, never asserted in a test: hypothesis's per-example
    # deadline (200 ms) and its too-slow health check failed property tests on a loaded
    # machine for no defect of the code.
    settings.register_profile("virtcore", deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("virtcore")

_REQUIRE_LINE = libvirt_testdata.require.__code__.co_firstlineno


def pytest_report_header() -> str:
    """Which libvirt test data this run uses, or why there is none."""
    found = libvirt_testdata.locate()
    return f"libvirt test data: {found.origin}" if found.root is not None else found.missing


def _at_require(report: pytest.TestReport | pytest.CollectReport) -> None:
    # pytest places a skip raised in a fixture at the test that asked for the fixture, and a
    # skipped module at the line that raised; placed at one line, the summary folds them all.
    if report.skipped and isinstance(report.longrepr, tuple):
        message = str(report.longrepr[2])
        if message.removeprefix("Skipped: ").startswith(libvirt_testdata.SKIP_PREFIX):
            report.longrepr = (libvirt_testdata.__file__, _REQUIRE_LINE, message)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A test skipped for want of libvirt's data is reported at ``require()``."""
    report = yield
    _at_require(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """A module skipped for want of libvirt's data is reported at ``require()``."""
    report = yield
    _at_require(report)
    return report
