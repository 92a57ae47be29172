"""Cold start: the discovery cache that lets a fresh process skip importing stevedore.

A process that finds the cache current opens a driver without stevedore or
``importlib.metadata`` in ``sys.modules``; installing or removing a driver
distribution makes the cache stale; a corrupt, foreign or hostile cache file
is ignored and stevedore decides.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_plugin_story import make_venv, pip, write_toy_source

from virtcore import _drivercache, _hookcache, drivers
from virtcore.errors import NoConnectError

#: The URI schemes of the driver distributions under plugins/ (every one is installed
#: from this checkout for the tests), in the order installed_drivers() lists them. A
#: distribution there that is no driver (virt-libvirt: the libvirt modules) declares none.
SCHEMES = sorted(
    scheme
    for pyproject in (Path(__file__).resolve().parents[1] / "plugins").glob("*/pyproject.toml")
    for scheme in tomllib.loads(pyproject.read_text())["project"]
    .get("entry-points", {})
    .get("virtcore.drivers", {})
)

#: Open a URI (or, given "-", list the installed drivers), then say whether
#: the discovery modules were imported.
PROBE = """\
import sys, virtcore, virtcore.drivers
if sys.argv[1] == "-":
    print("drivers", ",".join(d.scheme for d in virtcore.drivers.installed_drivers()))
else:
    with virtcore.open(sys.argv[1]) as conn:
        print("type", conn.get_type())
        print("domains", ",".join(sorted(d.name for d in conn.list_domains())))
print("stevedore", "stevedore" in sys.modules)
print("importlib.metadata", "importlib.metadata" in sys.modules)
print("pathlib", "pathlib" in sys.modules)
print("pluggy", "pluggy" in sys.modules)
"""


def _probe(python: str | Path, uri: str, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTCORE_DEFAULT_URI")}
    env["XDG_CACHE_HOME"] = str(cache)
    out = subprocess.run(
        [str(python), "-c", PROBE, uri], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr
    return dict(line.split(" ", 1) for line in out.stdout.splitlines())


def _cache_files(cache: Path) -> list[Path]:
    return sorted((cache / "virtcore").glob("drivers-*.txt"))


def test_a_warm_cold_start_does_not_import_stevedore(tmp_path: Path) -> None:
    first = _probe(sys.executable, "test:///default", tmp_path)
    assert first["type"] == "TEST"
    assert first["stevedore"] == "True"  # no cache yet: stevedore discovers
    (written,) = _cache_files(tmp_path)
    assert "virt_test:driver" in written.read_text()
    second = _probe(sys.executable, "test:///default", tmp_path)
    # and, the hook cache written by the first open, the second binds the driver without pluggy
    expected = {"stevedore": "False", "importlib.metadata": "False", "pathlib": "False", "pluggy": "False"}
    assert second == {**first, **expected}


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A venv seeing this environment's packages, and the toy driver's source (not installed)."""
    root = tmp_path_factory.mktemp("coldstart")
    return make_venv(root / "venv"), write_toy_source(root)


def test_installing_or_removing_a_driver_distribution_invalidates_the_cache(
    bare_venv: tuple[Path, Path], tmp_path: Path
) -> None:
    # The bare venv sees the outer environment's distributions but cannot
    # import the editable drivers: list them, open only the toy.
    python, src = bare_venv
    assert _probe(python, "-", tmp_path) == {
        "drivers": ",".join(SCHEMES),
        "stevedore": "True",
        "importlib.metadata": "True",
        "pathlib": "True",
        "pluggy": "False",
    }
    assert _probe(python, "-", tmp_path)["stevedore"] == "False"  # warm
    pip(python, "install", "--no-deps", "--no-build-isolation", "--no-index", str(src))
    try:
        assert _probe(python, "-", tmp_path)["drivers"] == ",".join(sorted([*SCHEMES, "toy"]))
        found = _probe(python, "toy:///", tmp_path)
        assert (found["type"], found["domains"], found["stevedore"]) == ("TOY", "alpha,beta", "False")
        again = _probe(python, "toy:///", tmp_path)
        assert (again["type"], again["stevedore"]) == ("TOY", "False")
    finally:
        pip(python, "uninstall", "--yes", "toy-virt-driver")
    assert _probe(python, "-", tmp_path) == {
        "drivers": ",".join(SCHEMES),
        "stevedore": "True",
        "importlib.metadata": "True",
        "pathlib": "True",
        "pluggy": "False",
    }
    assert _probe(python, "-", tmp_path)["stevedore"] == "False"  # rewritten
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTCORE_DEFAULT_URI")}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    gone = subprocess.run(
        [str(python), "-c", "import virtcore; virtcore.open('toy:///')"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert "NoConnectError: no connection driver available for URI 'toy:///'" in gone.stderr


# ---------------------------------------------------------------------------
# In this process: a corrupt or hostile cache is ignored
# ---------------------------------------------------------------------------


@pytest.fixture
def fresh_discovery(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Discovery state as in a new process, with the cache under ``tmp_path``; yields the cache file."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(drivers, "_found", None)
    monkeypatch.setattr(drivers, "_found_by_stevedore", False)
    monkeypatch.setattr(drivers, "_loaded", {})
    yield Path(_drivercache.cache_file())


def _fill(cache_file: Path) -> str:
    """Let stevedore discover and write the cache; its text."""
    drivers.installed_drivers()
    text = cache_file.read_text()
    drivers._found = None
    drivers._found_by_stevedore = False
    return text


def _test_entry(text: str) -> list[str]:
    return next(line.split("\t") for line in text.splitlines() if line.startswith("test\t"))


def test_a_current_cache_is_used_without_stevedore(fresh_discovery: Path) -> None:
    _fill(fresh_discovery)
    assert drivers.load_driver("test", "test:///default") is sys.modules["virt_test"].driver
    assert drivers._found_by_stevedore is False


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"\xff\xfe not utf-8",
        b"virtcore-drivers-cache 1\n",
        b"virtcore-drivers-cache 1\nmany\n",
        b"virtcore-drivers-cache 9\n0\n",
        b"x" * (2 << 20),
    ],
    ids=["empty", "binary", "truncated", "bad-count", "other-format", "huge"],
)
def test_a_corrupt_cache_is_ignored_and_rewritten(fresh_discovery: Path, garbage: bytes) -> None:
    fresh_discovery.parent.mkdir(parents=True)
    fresh_discovery.write_bytes(garbage)
    assert drivers.load_driver("test", "test:///default") is sys.modules["virt_test"].driver
    assert drivers._found_by_stevedore is True
    assert fresh_discovery.read_text().startswith("virtcore-drivers-cache 1\n")


def test_a_hostile_target_is_not_imported(fresh_discovery: Path) -> None:
    # The cache is current and names the real distribution of the test driver,
    # but claims its entry point is os:system: the distribution does not declare
    # that, so stevedore's answer is used.
    text = _fill(fresh_discovery)
    fields = _test_entry(text)
    hostile = text.replace("\t".join(fields), "\t".join(["test", "os:system", *fields[2:]]))
    fresh_discovery.write_text(hostile)
    assert drivers.load_driver("test", "test:///default") is sys.modules["virt_test"].driver
    assert drivers._found_by_stevedore is True


def test_a_scheme_only_the_cache_knows_is_no_connect(fresh_discovery: Path) -> None:
    text = _fill(fresh_discovery)
    fields = _test_entry(text)
    fresh_discovery.write_text(text + "\t".join(["evil", "virt_test:driver", *fields[2:]]) + "\n")
    with pytest.raises(NoConnectError, match="'evil:///'"):
        drivers.load_driver("evil", "evil:///")


def test_an_entry_outside_the_installed_distributions_voids_the_cache(
    fresh_discovery: Path, tmp_path: Path
) -> None:
    text = _fill(fresh_discovery)
    fields = _test_entry(text)
    planted = tmp_path / "planted.dist-info"
    planted.mkdir()
    (planted / "entry_points.txt").write_text("[virtcore.drivers]\ntest = os:system\n")
    fresh_discovery.write_text(text.replace(fields[4], str(planted)))
    key = _drivercache.environment_key()
    assert _drivercache.read(key) is None
    assert drivers.load_driver("test", "test:///default") is sys.modules["virt_test"].driver


@pytest.mark.parametrize(
    ("scheme", "target"),
    [
        ("te st", "virt_test:driver"),
        ("", "virt_test:driver"),
        ("test", "virt_test:driver:x"),
        ("test", "virt_test:"),
        ("test", ":driver"),
        ("test", "virt test:driver"),
    ],
    ids=["space-in-name", "empty-name", "two-colons", "empty-attr", "empty-module", "space-in-target"],
)
def test_an_entry_the_specification_does_not_allow_voids_the_cache(
    fresh_discovery: Path, scheme: str, target: str
) -> None:
    text = _fill(fresh_discovery)
    fields = _test_entry(text)
    fresh_discovery.write_text(text.replace("\t".join(fields), "\t".join([scheme, target, *fields[2:]])))
    assert _drivercache.read(_drivercache.environment_key()) is None
    assert drivers.load_driver("test", "test:///default") is sys.modules["virt_test"].driver
    assert drivers._found_by_stevedore is True


#: Characters around the edges of ``\w``: separators, Unicode letters and digits, marks, spaces.
_EDGES = st.sampled_from("aZ09_.:+-/ \t\n\x00\u00e9\u00b2\u0663\u0301\u00a0\u2028\u4e2d")


@given(st.text(st.one_of(_EDGES, st.characters()), max_size=8))
def test_the_entry_syntax_checks_are_the_specification_patterns(text: str) -> None:
    # _drivercache checks names and targets with str methods (cheaper to import
    # than compiling the patterns); they must accept exactly what the patterns do.
    assert _drivercache._is_name(text) == bool(re.fullmatch(r"[\w.+-]+", text))
    assert _drivercache._is_target(text) == bool(re.fullmatch(r"[\w.]+(:[\w.]+)?", text))


def test_a_symlinked_cache_is_not_followed(fresh_discovery: Path, tmp_path: Path) -> None:
    text = _fill(fresh_discovery)
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text(text)
    fresh_discovery.unlink()
    fresh_discovery.symlink_to(elsewhere)
    assert _drivercache.read(_drivercache.environment_key()) is None


def test_an_unwritable_cache_directory_only_means_no_cache(
    monkeypatch: pytest.MonkeyPatch, fresh_discovery: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # no directory can be made under a file
    assert drivers.load_driver("test", "test:///default") is sys.modules["virt_test"].driver
    assert [d.scheme for d in drivers.installed_drivers()] == SCHEMES
    assert not fresh_discovery.exists()


def test_a_stale_key_is_ignored(
    fresh_discovery: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(fresh_discovery)
    key = _drivercache.environment_key()
    assert _drivercache.read(key) is not None
    new_dist = tmp_path / "site" / "newcomer-1.0.dist-info"
    new_dist.mkdir(parents=True)
    monkeypatch.syspath_prepend(str(new_dist.parent))
    changed = _drivercache.environment_key()
    assert changed != key and any("newcomer-1.0.dist-info" in line for line in changed)
    assert _drivercache.read(changed) is None


def test_a_dangling_metadata_link_does_not_hide_its_neighbours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    (site / "real-1.0.dist-info").mkdir(parents=True)
    (site / "gone-1.0.dist-info").symlink_to(tmp_path / "nowhere")
    monkeypatch.syspath_prepend(str(site))
    key = _drivercache.environment_key()
    assert f"{site / 'gone-1.0.dist-info'}\t-1" in key
    assert any(line.startswith(f"{site / 'real-1.0.dist-info'}\t") for line in key)


def test_one_interpreter_with_two_paths_keeps_two_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    # Processes of one interpreter with different PYTHONPATHs see different distributions: a
    # file of their own each, or alternating them would rewrite one cache on every run.
    first = (_drivercache.cache_file(), _hookcache.cache_file())
    monkeypatch.setattr(sys, "path", [*sys.path, "/nonexistent/other-site"])
    second = (_drivercache.cache_file(), _hookcache.cache_file())
    assert len({*first, *second}) == 4
    assert all(os.path.dirname(f) == os.path.dirname(first[0]) for f in second)
