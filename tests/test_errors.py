"""Errors carry libvirt's numbers and message templates."""

from __future__ import annotations

import enum
import pickle

import pytest
from libvirt_testdata import error_enums

from virtcore import errors
from virtcore.errors import ErrorDomain, ErrorNumber, VirtError


def _member(c_name: str) -> str:
    """The ErrorNumber/ErrorDomain member of a C name (VIR_ERR_OK: OK, VIR_WAR_NO_NETWORK: WAR_NO_NETWORK)."""
    for prefix in ("VIR_ERR_", "VIR_FROM_", "VIR_"):
        if c_name.startswith(prefix):
            return c_name[len(prefix) :]
    raise AssertionError(f"not a libvirt error enum name: {c_name}")


def test_error_numbers_match_libvirt() -> None:
    libvirt = error_enums()[0]
    assert len(libvirt) == len(ErrorNumber) == 114
    for num, name in libvirt.items():
        assert ErrorNumber[_member(name)] == num, name


def test_error_domains_match_libvirt() -> None:
    libvirt = error_enums()[1]
    assert len(libvirt) == len(ErrorDomain) == 73
    for num, name in libvirt.items():
        assert ErrorDomain[_member(name)] == num, name


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


def test_every_error_class_is_public_and_found_by_its_code() -> None:
    # One list (``__all__``) describes the error classes: error_for_code is derived from it.
    classes = [
        c
        for c in vars(errors).values()
        if isinstance(c, type)
        and issubclass(c, VirtError)
        and c is not VirtError
        and c.__module__ == errors.__name__
    ]
    assert errors.NoStorageVolError in classes and len(classes) >= 18
    # A subclass keeping its base's code only rewords the message (ParserReportError):
    # the code still finds the base, which the subclass is.
    rewordings = [c for c in classes if any(b in classes and b.code == c.code for b in c.__mro__[1:])]
    assert errors.ParserReportError in rewordings
    own = [c for c in classes if c not in rewordings]
    assert len({c.code for c in own}) == len(own)
    for cls in classes:
        assert cls.__name__ in errors.__all__
        found = errors.error_for_code(cls.code)
        assert found is cls if cls in own else (found in own and issubclass(cls, found))
    assert errors.error_for_code(errors.ErrorNumber.INTERNAL_ERROR) is errors.InternalError


def test_the_error_enums_are_public_int_enums_of_this_module() -> None:
    # They are built on first use (tests/test_cold_path.py), and still are virtcore.errors'.
    assert issubclass(ErrorNumber, enum.IntEnum) and issubclass(ErrorDomain, enum.IntEnum)
    assert ErrorNumber.__module__ == ErrorDomain.__module__ == "virtcore.errors"
    assert errors.NoStoragePoolError.code is ErrorNumber.NO_STORAGE_POOL
    assert errors.NoStoragePoolError("p").code is ErrorNumber.NO_STORAGE_POOL
    assert errors.NoStoragePoolError.default_domain is ErrorDomain.STORAGE
    assert pickle.loads(pickle.dumps(ErrorNumber.NO_DOMAIN)) is ErrorNumber.NO_DOMAIN
    with pytest.raises(AttributeError, match="no attribute 'ErrorNumbers'"):
        errors.ErrorNumbers  # noqa: B018
