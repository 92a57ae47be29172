"""Errors carry libvirt's numbers and message templates."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from virtcore import errors
from virtcore.errors import ErrorDomain, ErrorNumber, VirtError

FACTS = Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "libvirt-facts.md"


def _facts_numbers(heading: str) -> dict[int, str]:
    text = FACTS.read_text()
    section = text.split(heading, 1)[1].split("\n", 2)[1]
    numbers = {}
    for item in section.strip().rstrip(".").split(", "):
        num, name = item.strip().split(" ", 1)
        numbers[int(num)] = name.strip().replace("VIR_WAR_", "WAR_")
    return numbers


def test_error_numbers_match_libvirt() -> None:
    facts = _facts_numbers("**virErrorNumber**")
    assert len(facts) == len(ErrorNumber) == 114
    for num, name in facts.items():
        assert ErrorNumber[name] == num, name


def test_error_domains_match_libvirt() -> None:
    facts = _facts_numbers("**virErrorDomain**")
    assert len(facts) == len(ErrorDomain) == 73
    for num, name in facts.items():
        assert ErrorDomain[name] == num, name


@pytest.mark.parametrize(
    ("cls", "detail", "message"),
    [
        (errors.NoDomainError, "nosuch", "Domain not found: nosuch"),
        (
            errors.OperationInvalidError,
            "domain is not running",
            "Requested operation is not valid: domain is not running",
        ),
        (errors.InvalidArgError, "x", "invalid argument: x"),
        (errors.XMLError, "bad", "XML error: bad"),
        (
            errors.NoSupportError,
            "domain_suspend",
            "this function is not supported by the connection driver: domain_suspend",
        ),
        (errors.OperationDeniedError, None, "operation forbidden for read only access"),
        (errors.NoConnectError, "foo:///", "no connection driver available for foo:///"),
        (errors.ConfigUnsupportedError, "x", "unsupported configuration: x"),
        (errors.OperationFailedError, "x", "operation failed: x"),
    ],
)
def test_messages_follow_libvirts_templates(cls: type[VirtError], detail: str | None, message: str) -> None:
    exc = cls(detail)
    assert str(exc) == message == exc.message
    assert exc.detail == detail
    assert isinstance(exc, VirtError)


def test_code_to_class() -> None:
    assert errors.error_for_code(42) is errors.NoDomainError
    assert errors.error_for_code(55) is errors.OperationInvalidError
    assert errors.error_for_code(99) is VirtError


def test_errors_pickle_with_their_domain() -> None:
    exc = errors.NoDomainError("x", domain=ErrorDomain.QEMU)
    again = pickle.loads(pickle.dumps(exc))
    assert type(again) is errors.NoDomainError
    assert (again.code, again.domain, str(again)) == (
        ErrorNumber.NO_DOMAIN,
        ErrorDomain.QEMU,
        "Domain not found: x",
    )
