"""virtcore.hoststate: the state every secondary driver keeps, on real directories.

The storage and network drivers' stores are subclasses of
:class:`~virtcore.hoststate.DefinitionStore` made through
:func:`~virtcore.hoststate.shared_store`; these tests pin the shared part
once (file names, listing, autostart links, the once-per-boot marker, one
store per layout).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from virtcore.errors import SystemError_
from virtcore.hoststate import DefinitionStore, HostDirs, host_dirs, shared_store
from virtcore.uri import URI


class _Things(DefinitionStore[HostDirs]):
    what = "thing"
    suffixes = (".xml", ".json")


def _layout(root: Path, scheme: str = "things") -> HostDirs:
    return host_dirs(URI.parse(f"{scheme}:///embed?root={root}"), scheme, HostDirs)


def test_one_store_per_layout_and_maker_in_a_process(tmp_path: Path) -> None:
    made: list[HostDirs] = []

    def make(layout: HostDirs) -> _Things:
        made.append(layout)
        return _Things(layout)

    stores: list[_Things] = []
    threads = [
        threading.Thread(target=lambda: stores.append(shared_store(_layout(tmp_path), make)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and all(s is stores[0] for s in stores)
    # Its directories exist (0700 definitions), and its lock is the store's one lock.
    layout = made[0]
    assert layout.config.is_dir() and layout.autostart.is_dir() and layout.run.is_dir()
    assert layout.config.stat().st_mode & 0o777 == 0o700
    assert stores[0].lock is shared_store(_layout(tmp_path), make).lock
    # Another root, scheme or maker is another store.
    assert shared_store(_layout(tmp_path / "b"), make) is not stores[0]
    assert shared_store(_layout(tmp_path, "others"), make) is not stores[0]
    assert shared_store(_layout(tmp_path), _Things) is not stores[0]


def test_the_names_are_the_definition_files_of_etc_and_run(tmp_path: Path) -> None:
    store = shared_store(_layout(tmp_path), _Things)
    layout = store.layout
    (layout.config / "a.xml").write_text("<a/>")
    (layout.run / "b.xml").write_text("<b/>")
    (layout.run / "c.json").write_text("{}")
    (layout.run / "a.xml").write_text("<a/>")
    (layout.config / ".d.xml.tmp").write_text("")  # a write in progress
    (layout.config / ".e.xml").write_text("")
    (layout.config / "f.txt").write_text("")
    (layout.run / "things.lock").write_text("")
    assert store.names() == ["a", "b", "c"]
    assert (store._config("a"), store._status("a"), store._link("a")) == (
        layout.config / "a.xml",
        layout.run / "a.xml",
        layout.config / "autostart" / "a.xml",
    )


def test_autostart_links_are_relative_and_removed_with_the_definition(tmp_path: Path) -> None:
    store = shared_store(_layout(tmp_path), _Things)
    (store.layout.config / "a.xml").write_text("<a/>")
    store.set_autostart("a", True)
    store.set_autostart("a", True)  # idempotent
    assert os.readlink(store._link("a")) == os.path.join("..", "a.xml")
    assert store.autostart_link("a") and (store.layout.autostart / "a.xml").read_text() == "<a/>"
    store.set_autostart("a", False)
    store.set_autostart("a", False)
    assert not store.autostart_link("a")
    store.set_autostart("a", True)
    store.remove_config("a")
    store.remove_config("a")  # nothing left to remove is not an error
    assert not store.autostart_link("a") and not (store.layout.config / "a.xml").exists()


def test_a_link_that_cannot_be_made_is_a_system_error_naming_the_object(tmp_path: Path) -> None:
    store = shared_store(_layout(tmp_path), _Things)
    store.layout.autostart.rmdir()
    store.layout.autostart.write_text("")  # not a directory: even root cannot link in it
    with pytest.raises(SystemError_, match="cannot change autostart of thing 'a'"):
        store.set_autostart("a", True)
    with pytest.raises(SystemError_, match="cannot remove"):
        store.remove_config("a")


def test_first_open_answers_true_once_per_run_directory(tmp_path: Path) -> None:
    store = shared_store(_layout(tmp_path), _Things)
    assert [store.first_open(), store.first_open()] == [True, False]
    (store.layout.run / "autostarted").unlink()  # a reboot empties /run
    assert store.first_open()
