"""Testing aids for virtcore users and driver authors (needs pytest: ``pip install virtcore[testing]``).

:class:`DriverConformance` is the conformance suite every virtcore driver
passes, as a mixin to run over your own driver; see
:mod:`virtcore.testing.conformance`. (To test code that *uses* virtcore
without a hypervisor, install ``virt-test`` and use its pytest fixtures.)
"""

from __future__ import annotations

from virtcore.testing.conformance import DEFAULT_TEMPLATE, DriverConformance, need, wait_for

__all__ = ["DEFAULT_TEMPLATE", "DriverConformance", "need", "wait_for"]
