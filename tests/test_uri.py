"""Connection URIs parse as libvirt's do, and bad ones raise InvalidArgError naming them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

import virtcore
from virtcore import uri
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


#: What parse() reads without urllib, as the regular expression it used to be (the code checks
#: it with str methods: compiling this cost every cold open ~0.8M instructions).
_PLAIN_LOCAL = re.compile(r"([a-z][a-z0-9.-]*)(?:\+([a-z][a-z0-9.-]*))?:///([A-Za-z0-9._~/-]*)")


@given(st.text(alphabet="az09.-+:/AZ_~?#%@ \n\x00é", max_size=24))
def test_the_plain_local_check_accepts_what_its_regular_expression_does(text: str) -> None:
    found = _PLAIN_LOCAL.fullmatch(text)
    assert uri._plain_local(text) == (found.groups() if found else None)
    scheme = text.split("://", 1)[0]
    scheme_re = r"[a-z][a-z0-9.-]*(\+[a-z][a-z0-9.-]*)?"
    assert (uri._split_scheme(scheme) is None) == (re.fullmatch(scheme_re, scheme) is None)


@pytest.mark.parametrize("text", ["test:///default", "qemu+unix:///system", "a.b-c+d:///x/Y_~.-"])
def test_the_plain_local_check_reads_the_usual_uris(text: str) -> None:
    found = _PLAIN_LOCAL.fullmatch(text)
    assert found is not None and uri._plain_local(text) == found.groups()


def test_parse_of_a_plain_local_uri_does_not_import_urllib() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from virtcore.uri import URI; URI.parse('test:///default'); "
        "print('urllib.parse' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("text", "remote"),
    [
        ("test:///default", False),
        ("qemu:///embed?root=/tmp/x", False),
        ("test+unix:///default", True),
        ("test+unix:///default?socket=/tmp/s", True),
        ("qemu+ssh://root@host.example/system", True),
        ("qemu+ext:///system?command=/bin/true", True),
        ("qemu+libssh://host.example/system", True),
        ("qemu://host.example/system", True),
        ("test://localhost/default", True),  # libvirt sets no local host apart either
        ("xen://", False),
    ],
)
def test_a_transport_or_a_host_makes_a_uri_remote(text: str, remote: bool) -> None:
    u = URI.parse(text)
    assert u.is_remote is remote
    assert u.is_local is (not remote)


@pytest.fixture
def no_remote_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process as if no distribution declared the ``remote`` driver."""
    from virtcore import drivers

    lookup = drivers._lookup
    monkeypatch.setattr(drivers, "_loaded", {k: v for k, v in drivers._loaded.items() if k != "remote"})
    monkeypatch.setattr(drivers, "_lookup", lambda scheme: None if scheme == "remote" else lookup(scheme))


@pytest.mark.parametrize(
    "text",
    [
        "test+unix:///default",
        "test+unix:///default?socket=/nonexistent/sock",
        "test+ssh://root@127.0.0.1/default",
        "test://127.0.0.1/default",
    ],
)
def test_a_remote_uri_never_opens_the_local_driver(no_remote_driver: None, text: str) -> None:
    # Before: test+unix:///default silently opened the in-process test driver, a state
    # the daemon's clients never see. Now it reaches the remote driver, or fails naming the URI.
    with pytest.raises(NoConnectError, match="names a transport or a host") as exc:
        virtcore.open(text)
    assert exc.value.code == ErrorNumber.NO_CONNECT
    assert repr(text) in str(exc.value)
    with pytest.raises(NoConnectError):
        virtcore.open_read_only(text)
    with virtcore.open("test:///default") as conn:  # the local URI still opens the local driver
        assert conn.get_type() == "TEST"
