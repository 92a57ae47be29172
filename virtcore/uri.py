"""Connection URIs, in libvirt's form.

``driver[+transport]://[user@][host][:port]/[path][?query]``

>>> u = URI.parse("qemu+ssh://root@example.org:2222/system?keyfile=/k")
>>> (u.driver, u.transport, u.user, u.host, u.port, u.path, u.params["keyfile"])
('qemu', 'ssh', 'root', 'example.org', 2222, '/system', '/k')

The driver part picks the installed driver (the ``virtcore.drivers`` entry
point of that name); everything else is for the driver to interpret. As in
libvirt, a URI naming a transport (``+unix``, ``+ssh``, ``+tls``, ``+ext``...)
or a host is *remote* (:attr:`URI.is_remote`): it goes to the driver
registered as :data:`REMOTE_DRIVER`, which reaches the daemon serving it, and
never to the local driver of its scheme.
"""

# No ``from __future__ import annotations`` here: typing.NamedTuple compiles each string
# annotation (a ForwardRef per field); real types save ~0.7M instructions of ``import virtcore``.

import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from virtcore.errors import InvalidArgError

__all__ = ["DEFAULT_URI_ENV", "REMOTE_DRIVER", "URI", "default_uri", "is_driver_name"]

#: The environment variable naming the URI to open when none is given (libvirt's
#: ``LIBVIRT_DEFAULT_URI``); ``virtcore.open()`` and the command line read it.
DEFAULT_URI_ENV = "VIRTCORE_DEFAULT_URI"

#: The scheme of the driver serving every remote URI (libvirt's remote driver):
#: the ``virtcore.drivers`` entry point ``remote`` (the ``virt-remote`` distribution).
REMOTE_DRIVER = "remote"

# The scheme and the plain local URI are checked with str methods, not regular expressions:
# compiling the two patterns cost every cold ``virtcore.open`` ~1.5M instructions.
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")
#: What a driver or transport name holds after its first letter (``[a-z0-9.-]``).
_NAME_CHARS = _LOWER | frozenset("0123456789.-")
#: What the path of a plain local URI holds (``[A-Za-z0-9._~/-]``).
_PLAIN_PATH_CHARS = _NAME_CHARS | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ_~/")
_MAX_URI = 4096


def is_driver_name(text: str) -> bool:
    """Whether ``text`` is a driver (URI scheme) or transport name: ``[a-z][a-z0-9.-]*``."""
    return bool(text) and text[0] in _LOWER and _NAME_CHARS.issuperset(text)


def _split_scheme(scheme: str) -> tuple[str, str | None] | None:
    """``driver[+transport]`` as ``(driver, transport or None)``, or ``None`` if it is not that."""
    driver, plus, transport = scheme.partition("+")
    if not is_driver_name(driver) or (plus and not is_driver_name(transport)):
        return None
    return driver, transport if plus else None


def _plain_local(text: str) -> tuple[str, str | None, str] | None:
    """``(driver, transport, path)`` of a local URI with nothing to decode (``test:///default``):
    no host, user, port, query, fragment or percent-escape, so urlsplit would only split it."""
    scheme, sep, path = text.partition(":///")
    if not sep or not _PLAIN_PATH_CHARS.issuperset(path):
        return None
    names = _split_scheme(scheme)
    return None if names is None else (*names, path)


class URI(NamedTuple):
    """A parsed connection URI (immutable). Build one with :meth:`URI.parse`.

    A named tuple rather than an attrs class: every ``virtcore.open`` builds
    one, and keeping attrs out of that path saves a cold process ~10 ms.
    """

    driver: str
    transport: str | None = None
    user: str | None = None
    host: str | None = None
    port: int | None = None
    path: str = ""
    params: Mapping[str, str] = MappingProxyType({})
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> "URI":
        """Parse ``text``; a malformed URI raises :class:`InvalidArgError` naming it."""
        if not isinstance(text, str):
            raise InvalidArgError(f"URI must be a string, not {type(text).__name__}")
        if len(text) > _MAX_URI:
            raise InvalidArgError(f"URI is longer than {_MAX_URI} characters")
        if any(ord(c) < 0x20 or c.isspace() for c in text):
            raise InvalidArgError(f"malformed URI {text!r}: it contains whitespace or control characters")
        if "://" not in text:
            raise InvalidArgError(f"malformed URI {text!r}: expected driver[+transport]://[host]/[path]")
        plain = _plain_local(text)
        if plain is not None:
            driver, transport, path = plain
            return cls(driver=driver, transport=transport, path="/" + path, text=text)
        return cls._split(text)

    @classmethod
    def _split(cls, text: str) -> "URI":
        """Parse a URI that passed :meth:`parse`'s checks, through :func:`urllib.parse.urlsplit`."""
        scheme = text.split("://", 1)[0].lower()
        if _split_scheme(scheme) is None:
            raise InvalidArgError(f"malformed URI {text!r}: bad driver name {scheme!r}")
        # Imported here: the common local URIs never need it (see parse), and
        # urllib.parse (with ipaddress) is ~5% of a cold virtcore.open.
        from urllib.parse import parse_qsl, unquote, urlsplit

        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError as exc:
            raise InvalidArgError(f"malformed URI {text!r}: {exc}") from None
        driver, _, transport = scheme.partition("+")
        try:
            query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
        except ValueError:
            raise InvalidArgError(f"malformed URI {text!r}: bad query {parts.query!r}") from None
        if parts.fragment:
            raise InvalidArgError(f"malformed URI {text!r}: a fragment is not allowed")
        return cls(
            driver=driver,
            transport=transport or None,
            user=unquote(parts.username) if parts.username else None,
            host=parts.hostname or None,
            port=port,
            path=unquote(parts.path),
            params=MappingProxyType(dict(query)),
            text=text,
        )

    @property
    def is_remote(self) -> bool:
        """True when the URI names a transport or a host: libvirt's remote driver serves it.

        ``test+unix:///default`` means the daemon's test driver, reached through its
        socket, and ``qemu://host/system`` a daemon on ``host``: neither is ever the
        local driver of the scheme (libvirt does not treat ``localhost`` apart either).
        """
        return self.transport is not None or self.host is not None

    @property
    def is_local(self) -> bool:
        """True when the URI is served by the local driver of its scheme (``driver:///path``)."""
        return not self.is_remote

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"URI({self.text!r})"


def default_uri() -> str | None:
    """The URI ``$VIRTCORE_DEFAULT_URI`` names, or ``None`` when it is unset or empty."""
    return os.environ.get(DEFAULT_URI_ENV) or None
