"""A node file's ``<auth>`` users are checked for real, exactly as libvirt's test driver checks them.

``auth_scenario.py`` opens one node file with several credentials on both sides
(virtcore with :class:`virtcore.auth.Auth`, python3-libvirt with ``openAuth``):
the same prompts are asked in the same order, and the same steps succeed or
fail with the same error code and domain.
"""

from __future__ import annotations

import json
from pathlib import Path

import auth_scenario
import pytest
from libvirt_peer import run_libvirt_side

import virtcore
from virtcore.auth import Auth, CredentialType
from virtcore.errors import AuthFailedError, ErrorDomain, ErrorNumber, InvalidArgError, XMLError


@pytest.fixture
def node(tmp_path: Path) -> Path:
    path = tmp_path / "auth-node.xml"
    path.write_text(auth_scenario.NODE)
    return path


def test_every_login_answers_as_libvirts_test_driver(node: Path) -> None:
    theirs = run_libvirt_side("auth_scenario.py", str(node))
    ours = json.loads(json.dumps(auth_scenario.play(auth_scenario.VirtcoreOpen(), f"test://{node}")))
    assert ours == theirs
    outcome = dict(ours)
    assert outcome["the right user and password"][0] == "ok"
    assert outcome["a wrong password"][:3] == ["err", ErrorNumber.AUTH_FAILED, ErrorDomain.TEST]


def _answer(user: str | None, password: str | None) -> Auth:
    def cb(creds: list[virtcore.auth.Credential]) -> int:
        for c in creds:
            c.result = user if c.type == CredentialType.AUTHNAME else password
        return 0

    return Auth([CredentialType.AUTHNAME, CredentialType.PASSPHRASE], cb)


def test_a_login_is_needed_and_checked(node: Path) -> None:
    uri = f"test://{node}"
    with pytest.raises(InvalidArgError, match="Missing authentication credentials") as exc:
        virtcore.open(uri)
    assert exc.value.domain == ErrorDomain.AUTH
    with pytest.raises(AuthFailedError, match="see test XML for the correct username/password"):
        virtcore.open(uri, auth=_answer("astrongusername", "astrongpassword "))
    with virtcore.open(uri, auth=_answer("astrongusername", "astrongpassword")) as conn:
        assert conn.get_type() == "TEST"
    with virtcore.open_read_only(uri, auth=_answer("nopassword", None)) as ro:
        assert ro.list_domains() == []
    with pytest.raises(AuthFailedError, match="the callback gave no username"):
        virtcore.open(uri, auth=_answer(None, "x"))


def test_a_callback_that_raises_is_a_failed_request(node: Path) -> None:
    def boom(creds: list[virtcore.auth.Credential]) -> int:
        raise RuntimeError("no terminal")

    with pytest.raises(AuthFailedError, match="Username request failed: no terminal"):
        virtcore.open(f"test://{node}", auth=Auth([CredentialType.AUTHNAME], boom))


def test_nodes_without_auth_ignore_credentials(tmp_path: Path) -> None:
    with virtcore.open("test:///default", auth=_answer("x", "y")) as conn:
        assert conn.lookup_domain("test").name == "test"


def test_an_auth_user_without_a_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "node.xml"
    path.write_text("<node><auth><user password='p'> </user></auth></node>")
    with pytest.raises(XMLError, match="missing username in /node/auth/user field"):
        virtcore.open(f"test://{path}")
