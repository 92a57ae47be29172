"""Credentials for connections that need them: libvirt's ``virConnectAuth`` in Python.

A caller that can answer questions passes an :class:`Auth` to
:func:`virtcore.open` (``auth=``): the credential types it can answer and a
callback. A driver that needs a username or a password asks through
:func:`ask_username` and :func:`ask_password`, which call the callback with
:class:`Credential` requests, as libvirt's ``virAuthGetUsername`` and
``virAuthGetPassword`` do; the callback fills in each one's ``result`` and
returns 0 (anything negative: it could not)::

    def answer(creds):
        for c in creds:
            c.result = "admin" if c.type == CredentialType.AUTHNAME else getpass.getpass(c.prompt)
        return 0

    conn = virtcore.open("test:///srv/node.xml",
                         auth=Auth([CredentialType.AUTHNAME, CredentialType.PASSPHRASE], answer))

The errors are libvirt's: no :class:`Auth` where one is needed is
``InvalidArgError`` (``"Missing authentication credentials"``); an :class:`Auth`
without the credential type asked, or a callback that fails, is
``AuthFailedError`` from the ``AUTH`` error domain. (libvirt also reads answers
from an ``auth.conf`` file first; virtcore does not.)
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import NamedTuple

from virtcore import errors
from virtcore.errors import AuthFailedError, InvalidArgError

__all__ = ["Auth", "Credential", "CredentialType", "ask_password", "ask_username"]


class CredentialType(enum.IntEnum):
    """``virConnectCredentialType``: what a credential request asks for."""

    USERNAME = 1
    AUTHNAME = 2
    LANGUAGE = 3
    CNONCE = 4
    PASSPHRASE = 5
    ECHOPROMPT = 6
    NOECHOPROMPT = 7
    REALM = 8
    EXTERNAL = 9


class Credential:
    """``virConnectCredential``: one request; the callback sets :attr:`result` (text)."""

    __slots__ = ("challenge", "defresult", "prompt", "result", "type")

    def __init__(self, type: CredentialType, prompt: str, challenge: str, defresult: str | None) -> None:  # noqa: A002
        #: What is asked for.
        self.type = type
        #: The question to show a user (``"Enter username for localhost"``).
        self.prompt = prompt
        #: What the question is about (the host name).
        self.challenge = challenge
        #: The default answer (``None``: none).
        self.defresult = defresult
        #: The answer: set by the callback.
        self.result: str | None = None

    def __repr__(self) -> str:
        return f"<virtcore.auth.Credential {self.type.name} {self.prompt!r}>"


#: ``callback(credentials) -> int``: fill in each credential's ``result``; return 0, or
#: a negative number when it cannot answer.
AuthCallback = Callable[[list[Credential]], int]


class Auth(NamedTuple):
    """``virConnectAuth``: the credential types the caller answers, and the callback that answers them."""

    credtypes: Sequence[CredentialType | int]
    callback: AuthCallback | None


def _auth_error(detail: str) -> AuthFailedError:
    return AuthFailedError(detail, domain=errors.ErrorDomain.AUTH)


def _ask(auth: Auth | None, wanted: tuple[CredentialType, ...], prompt: str, host: str, what: str) -> str:
    if auth is None:
        raise InvalidArgError("Missing authentication credentials", domain=errors.ErrorDomain.AUTH)
    for kind in auth.credtypes:
        if kind not in wanted:
            continue
        if auth.callback is None:
            raise InvalidArgError("Missing authentication callback", domain=errors.ErrorDomain.AUTH)
        cred = Credential(CredentialType(kind), prompt, host, None)
        try:
            status = auth.callback([cred])
        except Exception as exc:  # a caller's callback: its failure is a failed request, named
            raise _auth_error(f"{what.capitalize()} request failed: {exc}") from exc
        if status is not None and status < 0:
            raise _auth_error(f"{what.capitalize()} request failed")
        if not isinstance(cred.result, str):
            raise _auth_error(f"{what.capitalize()} request failed: the callback gave no {what}")
        return cred.result
    names = " or ".join(f"VIR_CRED_{k.name}" for k in wanted)
    raise _auth_error(f"Missing {names} credential type")


def ask_username(auth: Auth | None, host: str = "localhost") -> str:
    """Ask the caller for a username (an ``AUTHNAME`` credential), as ``virAuthGetUsername`` does.

    :raises InvalidArgError: no :class:`Auth` (``"Missing authentication credentials"``) or no callback.
    :raises AuthFailedError: the caller does not answer ``AUTHNAME``, or the callback failed.
    """
    return _ask(auth, (CredentialType.AUTHNAME,), f"Enter username for {host}", host, "username")


def ask_password(auth: Auth | None, username: str, host: str = "localhost") -> str:
    """Ask the caller for ``username``'s password (``PASSPHRASE`` or ``NOECHOPROMPT``), as libvirt does.

    :raises InvalidArgError: no :class:`Auth` or no callback.
    :raises AuthFailedError: the caller answers neither type, or the callback failed.
    """
    kinds = (CredentialType.PASSPHRASE, CredentialType.NOECHOPROMPT)
    return _ask(auth, kinds, f"Enter {username}'s password for {host}", host, "password")
