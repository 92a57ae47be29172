"""Logging in to a test node file with ``<auth>`` users, on libvirt's test driver and on virt-test.

Each step opens the node file with some credentials; its outcome is
``["ok", prompts]`` (the credential requests the callback saw: type number,
prompt, challenge) or ``["err", code, domain, prompts]``.
``test_auth_vs_libvirt.py`` plays it here with virtcore and, in a subprocess
of Debian's ``/usr/bin/python3``, with python3-libvirt (``python3
auth_scenario.py NODEFILE`` prints the outcomes as JSON), and compares.

This file must run under a Python without virtcore: it imports neither
virtcore nor libvirt at module level.
"""

from __future__ import annotations

import json
import sys
from typing import Any

#: The node file: a user with a password, one without.
NODE = """<node>
  <auth>
    <user password='astrongpassword'>astrongusername</user>
    <user>nopassword</user>
  </auth>
</node>
"""

AUTHNAME, PASSPHRASE, NOECHOPROMPT = 2, 5, 7
BOTH = [AUTHNAME, PASSPHRASE]

#: label -> (credential types, username, password, callback status, read-only); None: no credentials
STEPS: list[tuple[str, Any]] = [
    ("no credentials", None),
    ("the right user and password", (BOTH, "astrongusername", "astrongpassword", 0, False)),
    (
        "read-only, right, no-echo prompt",
        ([AUTHNAME, NOECHOPROMPT], "astrongusername", "astrongpassword", 0, True),
    ),
    ("a wrong password", (BOTH, "astrongusername", "wrong", 0, False)),
    ("an unknown user", (BOTH, "nobody", "astrongpassword", 0, False)),
    ("a user without a password", (BOTH, "nopassword", "anything", 0, False)),
    ("no AUTHNAME type", ([PASSPHRASE], "astrongusername", "astrongpassword", 0, False)),
    ("no password type", ([AUTHNAME], "astrongusername", "astrongpassword", 0, False)),
    ("the callback fails", (BOTH, "astrongusername", "astrongpassword", -1, False)),
]


def play(open_auth: Any, uri: str) -> list[tuple[str, list[Any]]]:
    """Every step's outcome.

    ``open_auth(uri, credtypes, callback, read_only)`` opens (``callback`` None: a plain
    open) and returns something to close, or raises; ``open_auth.code_of(exc)`` reads
    an error's ``[code, domain]``.
    """
    out = []
    for label, spec in STEPS:
        prompts: list[Any] = []
        if spec is None:
            call = lambda: open_auth(uri, None, None, False)  # noqa: E731
        else:
            types, user, password, status, read_only = spec

            def answer(
                items: list[Any],
                user: str = user,
                password: str = password,
                status: int = status,
                prompts: list[Any] = prompts,
            ) -> int:
                for kind, prompt, challenge, setter in items:
                    prompts.append([kind, prompt, challenge])
                    setter(user if kind == AUTHNAME else password)
                return status

            call = lambda types=types, answer=answer, ro=read_only: open_auth(uri, types, answer, ro)  # noqa: E731
        try:
            call().close()
            out.append((label, ["ok", prompts]))
        except Exception as exc:
            code = open_auth.code_of(exc)
            if code is None:
                raise
            out.append((label, ["err", *code, prompts]))
    return out


class LibvirtOpen:
    """``open_auth`` over python3-libvirt."""

    def __init__(self) -> None:
        import libvirt  # only under Debian's python3

        libvirt.registerErrorHandler(lambda *_: None, None)
        self.lv = libvirt

    def __call__(self, uri: str, types: Any, answer: Any, read_only: bool) -> Any:
        lv = self.lv
        if answer is None:
            return lv.open(uri)

        def cb(creds: list[Any], _opaque: object) -> int:
            items = [(c[0], c[1], c[2], lambda v, c=c: c.__setitem__(4, v)) for c in creds]
            return int(answer(items))

        return lv.openAuth(uri, [types, cb, None], lv.VIR_CONNECT_RO if read_only else 0)

    def code_of(self, exc: BaseException) -> list[int] | None:
        if isinstance(exc, self.lv.libvirtError):
            return [exc.get_error_code(), exc.get_error_domain()]
        return None


class VirtcoreOpen:
    """``open_auth`` over virtcore."""

    def __call__(self, uri: str, types: Any, answer: Any, read_only: bool) -> Any:
        import virtcore
        from virtcore.auth import Auth

        opener = virtcore.open_read_only if read_only else virtcore.open
        if answer is None:
            return opener(uri)

        def cb(creds: list[Any]) -> int:
            items = [
                (int(c.type), c.prompt, c.challenge, lambda v, c=c: setattr(c, "result", v)) for c in creds
            ]
            return int(answer(items))

        return opener(uri, auth=Auth(types, cb))

    def code_of(self, exc: BaseException) -> list[int] | None:
        from virtcore.errors import VirtError

        return [int(exc.code), int(exc.domain)] if isinstance(exc, VirtError) else None


if __name__ == "__main__":
    print(json.dumps(play(LibvirtOpen(), f"test://{sys.argv[1]}")))
