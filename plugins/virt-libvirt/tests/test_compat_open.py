"""Opening a connection through the ``libvirt`` module, and the error a bad URI gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import libvirt
import pytest
from compat_peer import SYSTEM_PYTHON, clean_env, debian_libvirt_missing


def test_open_gives_a_virconnect_on_the_uri() -> None:
    conn = libvirt.open("test:///default")
    assert type(conn) is libvirt.virConnect
    assert conn.getURI() == "test:///default"
    assert conn.close() == 0


def test_a_uri_no_driver_serves_is_no_connect() -> None:
    with pytest.raises(libvirt.libvirtError) as caught:
        libvirt.open("nosuch:///x")
    assert caught.value.get_error_code() == 5  # VIR_ERR_NO_CONNECT
    assert "nosuch:///x" in caught.value.get_error_message()


#: Opens ``test://PATH`` for each PATH given; prints each error as (code, domain, message).
OPEN_NODE_FILES = r"""
import json, sys
import libvirt
libvirt.registerErrorHandler(lambda ctx, err: None, None)
out = {}
for path in sys.argv[1:]:
    try:
        libvirt.open("test://" + path).close()
        out[path] = ["ok"]
    except libvirt.libvirtError as e:
        out[path] = [e.get_error_code(), e.get_error_domain(), e.get_error_message()]
print(json.dumps(out))
"""

_CASES = {
    "missing.xml": None,  # not created
    "mismatch.xml": "<node>\n  <domain type='test'><name>a</name>\n</node>\n",
    "truncated.xml": "<node>\n  <a>\n",
    "badattr.xml": "\n\n  <node x=>",
    "tabs.xml": "<node>\n\t<a></b>\n</node>",
    "eof.xml": "<node>\n<domain></node>",  # no final newline
    "empty.xml": "",
}


def _node_files(tmp_path: Path) -> list[str]:
    for name, text in _CASES.items():
        if text is not None:
            (tmp_path / name).write_text(text)
    (tmp_path / "adir.xml").mkdir()
    return [str(tmp_path / name) for name in (*_CASES, "adir.xml")]


def test_a_node_file_the_test_driver_cannot_parse_fails_as_libvirts(
    side_by_side: Any, tmp_path: Path
) -> None:
    """libvirt 9.0's test driver: a file it cannot open is XML_ERROR "failed to parse xml document",
    one not well formed (a directory reads as empty) its parser's report (XML_DETAIL), in VIR_FROM_TEST."""
    theirs, ours = side_by_side.run(OPEN_NODE_FILES, *_node_files(tmp_path))
    assert ours == theirs
    missing = str(tmp_path / "missing.xml")
    assert theirs[missing] == [27, 12, f"XML error: failed to parse xml document '{missing}'"]
    assert {code for code, *_ in theirs.values()} == {27, 35}  # XML_ERROR, XML_DETAIL
    assert theirs[str(tmp_path / "mismatch.xml")][2].endswith("\n</node>\n-------^")


def test_an_unreadable_node_file_fails_as_libvirts(tmp_path: Path) -> None:
    """A node file there but not readable (by an unprivileged user): XML_ERROR, as a missing one."""
    if debian_libvirt_missing() is not None:
        pytest.skip(debian_libvirt_missing())
    secret = tmp_path / "secret.xml"
    secret.write_text("<node/>")
    secret.chmod(0)
    tmp_path.chmod(0o755)
    as_nobody: list[str] = []
    if os.geteuid() == 0:  # root reads any file: open it as nobody
        as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    outs = []
    for python in (SYSTEM_PYTHON, sys.executable):
        run = subprocess.run(
            [*as_nobody, python, "-c", OPEN_NODE_FILES, str(secret)],
            capture_output=True,
            text=True,
            timeout=120,
            env=clean_env(),
            cwd="/",
        )
        assert run.returncode == 0, run.stderr
        outs.append(json.loads(run.stdout))
    theirs, ours = outs
    assert theirs == {str(secret): [27, 12, f"XML error: failed to parse xml document '{secret}'"]}
    assert ours == theirs


def test_a_node_file_with_another_root_fails_in_libvirts_code_and_domain(
    side_by_side: Any, tmp_path: Path
) -> None:
    """Code and domain as libvirt's (XML_ERROR, VIR_FROM_XML); the words name the file too, where
    libvirt's "expecting root element of 'node', not 'notnode'" does not."""
    wrong = tmp_path / "wrong.xml"
    wrong.write_text("<notnode/>")
    theirs, ours = side_by_side.run(OPEN_NODE_FILES, str(wrong))
    assert theirs[str(wrong)][:2] == ours[str(wrong)][:2] == [27, 5]
    assert str(wrong) in ours[str(wrong)][2]
