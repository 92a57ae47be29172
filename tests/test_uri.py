"""Connection URIs parse as libvirt's do, and bad ones raise InvalidArgError naming them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import virtcore
from virtcore.errors import ErrorNumber, InvalidArgError, NoConnectError
from virtcore.uri import URI


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("test:///default", ("test", None, None, None, None, "/default")),
        ("qemu:///system", ("qemu", None, None, None, None, "/system")),
        (
            "qemu+ssh://root@host.example:2222/system",
            ("qemu", "ssh", "root", "host.example", 2222, "/system"),
        ),
        ("xen://", ("xen", None, None, None, None, "")),
        ("QEMU:///session", ("qemu", None, None, None, None, "/session")),
        (
            "test:///tmp/dir%20with%20space/node.xml",
            ("test", None, None, None, None, "/tmp/dir with space/node.xml"),
        ),
    ],
)
def test_parse(text: str, expected: tuple[object, ...]) -> None:
    u = URI.parse(text)
    assert (u.driver, u.transport, u.user, u.host, u.port, u.path) == expected
    assert str(u) == text


def test_query_parameters() -> None:
    u = URI.parse("qemu:///embed?root=/tmp/x&mode=fast")
    assert dict(u.params) == {"root": "/tmp/x", "mode": "fast"}
    with pytest.raises(TypeError):
        u.params["root"] = "y"  # type: ignore[index]


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "default",
        "test:/default",
        "://x",
        "1test:///",
        "test:///a b",
        "qemu://host:notaport/",
        "te st:///",
        "test:///x#frag",
        "test:///x\n",
    ],
)
def test_malformed_uris_raise_invalid_arg_naming_the_uri(bad: str) -> None:
    with pytest.raises(InvalidArgError) as exc:
        URI.parse(bad)
    assert exc.value.code == ErrorNumber.INVALID_ARG
    assert repr(bad) in str(exc.value) or "URI" in str(exc.value)


def test_open_with_a_malformed_uri() -> None:
    with pytest.raises(InvalidArgError, match="malformed URI"):
        virtcore.open("not a uri")


def test_open_with_no_driver_installed() -> None:
    with pytest.raises(
        NoConnectError, match="no connection driver available for URI 'nosuchdrv:///x'"
    ) as exc:
        virtcore.open("nosuchdrv:///x")
    assert exc.value.code == ErrorNumber.NO_CONNECT


def test_default_uri_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIRTCORE_DEFAULT_URI", raising=False)
    with pytest.raises(InvalidArgError, match="VIRTCORE_DEFAULT_URI"):
        virtcore.open()
    monkeypatch.setenv("VIRTCORE_DEFAULT_URI", "test:///default")
    with virtcore.open() as conn:
        assert conn.uri == "test:///default"


def test_overlong_uri() -> None:
    with pytest.raises(InvalidArgError, match="longer"):
        URI.parse("test:///" + "a" * 5000)


_NAME = st.from_regex(r"[a-z][a-z0-9.-]{0,8}", fullmatch=True)


@given(
    driver=_NAME,
    transport=st.none() | _NAME,
    path=st.text(alphabet="abcXYZ019._~/-", max_size=30),
)
def test_plain_local_uris_parse_as_urlsplit_parses_them(
    driver: str, transport: str | None, path: str
) -> None:
    # parse() reads driver[+transport]:///path without urllib (cold start): same result.
    text = f"{driver}{'+' + transport if transport else ''}:///{path}"
    assert URI.parse(text) == URI._split(text)


def test_parse_of_a_plain_local_uri_does_not_import_urllib() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from virtcore.uri import URI; URI.parse('test:///default'); "
        "print('urllib.parse' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"
