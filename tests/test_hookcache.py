"""The hook cache: a warm open binds the driver's hooks without pluggy, and pluggy still decides.

pluggy validates a driver's implementations (argument names within the
specification's, every hook known) the first time it registers them, and
:mod:`virtcore._hookcache` records what it accepted; a later process binds
those classes without importing pluggy. These tests pin that the shortcut
never accepts what pluggy would refuse (a cold cache, a changed set of
installed distributions, an edited module all go back to pluggy), and that
anything outside the common case (a wrapper, several implementations of a
hook) goes through pluggy with pluggy's semantics.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import virtcore
from virtcore import _hookcache, hookimpl
from virtcore.drivers import hook_names
from virtcore.errors import OperationFailedError

TOY = '''\
"""A third-party driver as a distribution would install it."""
from virtcore import DomainInfo, DomainRef, DomainState, hookimpl

REF = DomainRef("alpha", "00000000-0000-0000-0000-00000000000a", 1)


def open_connection(uri, read_only):
    return [Toy()]


class Toy:
    @hookimpl
    def virt_connect_get_type(self):
        return "TOY"

    @hookimpl
    def virt_domain_lookup_by_name(self, name):
        return REF if name == "alpha" else None

    @hookimpl
    def virt_domain_get_info(self, ARG):
        return DomainInfo(DomainState.RUNNING, 4096, 2048, 1, 0)
'''

#: Open toy:///, look up and ask for info; then say whether pluggy was imported
#: and whether the connection bound its hooks without it.
PROBE = """\
import sys, virtcore
try:
    with virtcore.open("toy:///") as conn:
        print("info", conn.lookup_domain("alpha").info().state.name)
        print("lean", conn._lean is not None)
except virtcore.VirtError as exc:
    print("refused", type(exc).__name__, exc.code, exc)
print("pluggy", "pluggy" in sys.modules)
"""


def _install(site: Path, version: str, arg: str) -> Path:
    """The toy driver, as version ``version`` of a distribution in ``site``, its info hook taking ``arg``."""
    for old in site.glob("toy_virt-*.dist-info"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    meta = site / f"toy_virt-{version}.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text(f"Metadata-Version: 2.1\nName: toy-virt\nVersion: {version}\n")
    (meta / "entry_points.txt").write_text("[virtcore.drivers]\ntoy = toy_virt:open_connection\n")
    module = site / "toy_virt.py"
    module.write_text(TOY.replace("ARG", arg))
    return module


def _probe(site: Path, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "VIRTCORE_DEFAULT_URI"}
    # No bytecode: a source restored to the same size and mtime must not be served from a stale .pyc.
    env.update(XDG_CACHE_HOME=str(cache), PYTHONPATH=str(site), PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    text = re.sub("Plugin '[0-9]+'", "Plugin 'N'", out.stdout)
    return dict(line.split(" ", 1) for line in text.splitlines())


GOOD = {"info": "RUNNING", "lean": "False", "pluggy": "True"}
WARM = {"info": "RUNNING", "lean": "True", "pluggy": "False"}


def _refusal(arg: str) -> str:
    """The VirtError pluggy's refusal becomes (the plugin's name is its id: shown as N)."""
    return (
        f"OperationFailedError 9 operation failed: driver 'toy' plugin Toy: Plugin 'N' for hook "
        f"'virt_domain_get_info' hookimpl definition: virt_domain_get_info({arg}) Argument(s) "
        f"{{'{arg}'}} are declared in the hookimpl but can not be found in the hookspec"
    )


def test_a_warm_open_binds_the_hooks_pluggy_accepted_without_pluggy(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _install(site, "1.0", "uuid")
    assert _probe(site, tmp_path / "cache") == GOOD
    assert _probe(site, tmp_path / "cache") == WARM


def test_a_bad_hookimpl_is_refused_by_pluggy_on_a_cold_cache(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _install(site, "1.0", "uuix")
    for _ in range(2):  # a refusal is never recorded: the second open is refused the same way
        assert _probe(site, tmp_path / "cache") == {"refused": _refusal("uuix"), "pluggy": "True"}


def test_a_bad_hookimpl_is_refused_when_the_installed_set_changes(tmp_path: Path) -> None:
    # Version 2.0 replaces 1.0 with a wrong argument name in a module of the same size and
    # modification time: only the new set of installed distributions tells the record is stale.
    site, cache = tmp_path / "site", tmp_path / "cache"
    site.mkdir()
    module = _install(site, "1.0", "uuid")
    assert _probe(site, cache) == GOOD
    assert _probe(site, cache) == WARM
    before = module.stat()
    _install(site, "2.0", "uuix")
    os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert module.stat().st_size == before.st_size and module.stat().st_mtime_ns == before.st_mtime_ns
    assert _probe(site, cache) == {"refused": _refusal("uuix"), "pluggy": "True"}


def test_a_bad_hookimpl_is_refused_when_an_installed_module_is_edited(tmp_path: Path) -> None:
    # An editable install: the same distribution, its module edited in place.
    site, cache = tmp_path / "site", tmp_path / "cache"
    site.mkdir()
    module = _install(site, "1.0", "uuid")
    assert _probe(site, cache) == GOOD
    assert _probe(site, cache) == WARM
    (meta,) = site.glob("*.dist-info")
    meta_mtime = meta.stat().st_mtime_ns
    module.write_text(TOY.replace("ARG", "a_wrong_name"))
    os.utime(meta, ns=(meta_mtime, meta_mtime))  # the installed set is unchanged
    assert _probe(site, cache) == {"refused": _refusal("a_wrong_name"), "pluggy": "True"}


@pytest.fixture
def warm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A hook cache under ``tmp_path`` that has recorded test:///default's classes."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with virtcore.open("test:///default") as conn:
        assert conn._lean is None  # cold: pluggy registered, and the cache recorded it
    return tmp_path


class _Doubler:
    @hookimpl(wrapper=True)
    def virt_domain_get_info(self, uuid: str):  # type: ignore[no-untyped-def]
        info = yield
        return info._replace(memory=info.memory * 2)


class _Channel:
    def __init__(self) -> None:
        self.asked: list[str] = []

    @hookimpl
    def virt_domain_lookup_by_name(self, name: str) -> None:
        self.asked.append(name)  # declines: the driver's own implementation answers


def test_a_wrapper_added_later_goes_through_pluggy(warm: Path) -> None:
    with virtcore.open("test:///default") as conn:
        assert conn._lean is not None
        dom = conn.lookup_domain("test")
        plain = dom.info()
        conn.register_plugin(_Doubler())
        assert conn._lean is None and "pluggy" in sys.modules
        assert dom.info().memory == 2 * plain.memory
        assert [type(o).__name__ for o in conn.driver_objects()][-1] == "_Doubler"


def test_a_second_implementation_is_asked_in_pluggy_s_order(warm: Path) -> None:
    with virtcore.open("test:///default") as conn:
        channel = _Channel()
        conn.register_plugin(channel)
        # pluggy asks the last registered first: the channel declines, the driver answers.
        assert conn.lookup_domain("test").name == "test" and channel.asked == ["test"]
        assert [type(o).__name__ for o in conn.implementers("domain_lookup_by_name")] == [
            "_Channel",
            "TestDriver",
        ]


def test_two_implementations_of_a_hook_are_never_bound_without_pluggy(warm: Path) -> None:
    import virt_test

    from virtcore.uri import URI

    objects = list(virt_test.driver(URI.parse("test:///default"), False))
    checked = [(o, hook_names(o)) for o in objects]
    assert _hookcache.bind(checked) is not None
    assert _hookcache.bind([*checked, checked[0]]) is None  # the same class twice: two implementations
    assert _hookcache.bind(checked, _Channel()) is None  # a class pluggy never accepted


def test_an_instance_s_own_marked_function_is_left_to_pluggy(warm: Path) -> None:
    import virt_test

    from virtcore.uri import URI

    objects = list(virt_test.driver(URI.parse("test:///default"), False))
    objects[0].virt_domain_get_info = hookimpl(lambda uuid: None)  # type: ignore[attr-defined]
    assert _hookcache.bind([(o, hook_names(o)) for o in objects]) is None


def test_a_refused_plugin_added_later_leaves_the_connection_as_it_was(warm: Path) -> None:
    class Bad:
        @hookimpl
        def virt_domain_get_info(self, bogus: str) -> None: ...

    with virtcore.open("test:///default") as conn:
        with pytest.raises(OperationFailedError, match="bogus"):
            conn.register_plugin(Bad())
        assert conn.lookup_domain("test").info().state == virtcore.DomainState.RUNNING
        assert not any(isinstance(o, Bad) for o in conn.driver_objects())


def test_a_class_changed_since_it_was_recorded_is_left_to_pluggy(
    warm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As a module edited after this process imported it, recorded by another process:
    # the file is what the record says, the class in memory is not.
    import virt_test
    from virt_test import TestDriver

    from virtcore.uri import URI

    def checked() -> list[tuple[object, frozenset[str]]]:
        objects = virt_test.driver(URI.parse("test:///default"), False)
        return [(o, hook_names(o)) for o in objects]

    assert _hookcache.bind(checked()) is not None
    with monkeypatch.context() as m:
        m.setattr(TestDriver, "virt_domain_get_info", hookimpl(lambda self, uuid, extra: None))
        assert _hookcache.bind(checked()) is None  # its arguments changed
    with monkeypatch.context() as m:
        added = hookimpl(lambda self, native_format, xml: None)
        m.setattr(TestDriver, "virt_connect_domain_xml_to_native", added, raising=False)
        assert _hookcache.bind(checked()) is None  # a hook was added
    with monkeypatch.context() as m:
        m.delattr(TestDriver, "virt_domain_get_info")
        assert _hookcache.bind(checked()) is None  # a hook is gone
    assert _hookcache.bind(checked()) is not None
