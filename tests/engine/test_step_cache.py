"""The step store on its own: many entries per notebook, each found by its execution key while
its saved outputs are what the execution wrote, with the pages and page keys it was rendered
under; entries are put in place whole, restored into a staging project, and pruned."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from notebook_pipeline.fingerprint import file_sha256
from notebook_pipeline.ownership import own_folder
from notebook_pipeline.step_cache import (
    BUILDING_PREFIX,
    StepCache,
    output_digests,
    restore_outputs,
)


@pytest.fixture
def root(tmp_path) -> Path:
    """A project whose notebook `total` wrote data/processed/total.txt, with its executed
    notebook and page in a report folder."""
    (tmp_path / "data" / "processed").mkdir(parents=True)
    (tmp_path / "data" / "processed" / "total.txt").write_text("12")
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "total.ipynb").write_text('{"cells": []}')
    (tmp_path / "report" / "total.html").write_text("<p>page one</p>")
    return tmp_path


@pytest.fixture
def cache(root) -> StepCache:
    """A cache holding the execution of `total` under the keys "k" and "p"."""
    cache = StepCache(root / ".cache")
    cache.store(
        "total",
        "k",
        fingerprint={"notebook": "n"},
        seconds=1.5,
        started="2025-06-30T10:00:00",
        finished="2025-06-30T10:00:01",
        outputs=output_digests(root, ["data/processed/total.txt"]),
        root=root,
        notebook=root / "report" / "total.ipynb",
        page=root / "report" / "total.html",
        page_key="p",
        page_fingerprint={"title": "Total"},
    )
    return cache


def test_an_entry_is_found_by_its_execution_key_with_its_page_key(cache, root):
    found = cache.lookup("total", "k")
    assert found is not None
    assert (found.key, found.seconds, found.fingerprint) == ("k", 1.5, {"notebook": "n"})
    assert found.outputs == {
        "data/processed/total.txt": file_sha256(root / "data/processed/total.txt")
    }
    assert found.notebook.read_text() == '{"cells": []}'
    assert found.page.read_text() == "<p>page one</p>"
    assert (found.page_key, found.page_fingerprint) == ("p", {"title": "Total"})
    assert found.page_is_current("p")
    assert not found.page_is_current("another page key")
    assert cache.last("total") == found


def test_another_key_or_an_unknown_notebook_finds_nothing(cache, root):
    assert cache.lookup("total", "another key") is None
    assert cache.lookup("other", "k") is None
    assert cache.last("other") is None
    assert cache.last("total") is not None  # the last execution, whatever its key


def test_a_changed_or_deleted_output_invalidates_the_entry(cache, root):
    output = cache.last("total").saved_output("data/processed/total.txt")
    output.unlink()  # a hard link to the one in `root`: broken before writing, as a run does
    output.write_text("13")
    assert cache.lookup("total", "k") is None
    output.write_text("12")  # the bytes the execution wrote
    assert cache.lookup("total", "k") is not None
    output.unlink()
    assert cache.lookup("total", "k") is None


def test_a_missing_notebook_invalidates_the_entry_a_missing_page_only_the_page(cache, root):
    cache.last("total").page.unlink()
    found = cache.lookup("total", "k")
    assert found is not None and not found.page_is_current("p")
    found.notebook.unlink()
    assert cache.lookup("total", "k") is None


def test_a_page_rendered_again_replaces_the_page_and_keeps_the_execution(cache, root):
    before = cache.last("total")
    (root / "report" / "total.html").write_text("<p>page two</p>")
    (root / "report" / "total.ipynb").write_text('{"cells": [], "metadata": {}}')
    cache.store_page(
        "total",
        notebook=root / "report" / "total.ipynb",
        page=root / "report" / "total.html",
        page_key="p2",
        page_fingerprint={"title": "Total, renamed"},
    )
    after = cache.lookup("total", "k")
    assert after is not None
    assert (after.page_key, after.page_fingerprint) == ("p2", {"title": "Total, renamed"})
    assert after.page.read_text() == "<p>page two</p>"
    assert after.notebook.read_text() == '{"cells": [], "metadata": {}}'
    assert (after.key, after.fingerprint, after.seconds, after.started, after.finished) == (
        before.key,
        before.fingerprint,
        before.seconds,
        before.started,
        before.finished,
    )
    assert after.outputs == before.outputs
    # The earlier page stays beside it: another run of the same execution may ask for it.
    assert after.page_is_current("p2") and after.page_is_current("p")
    assert not after.page_is_current("another page key")
    assert [p.name for p in cache.folder.iterdir()] == ["total"]  # nothing left aside


def test_an_entry_of_the_one_per_notebook_layout_is_not_reused(cache, root):
    older = cache.folder / "older"
    older.mkdir()
    (older / "entry.json").write_text('{"key": "k", "outputs": {}}')
    (older / "notebook.ipynb").write_text('{"cells": []}')
    assert cache.lookup("older", "k") is None and cache.last("older") is None


def store_total(cache: StepCache, root: Path, key: str, content: str):
    """Store an execution of `total` that wrote `content` under `key`."""
    (root / "data" / "processed" / "total.txt").unlink()
    (root / "data" / "processed" / "total.txt").write_text(content)
    return cache.store(
        "total",
        key,
        fingerprint={"notebook": key},
        seconds=1.0,
        started="2025-06-30T11:00:00",
        finished="2025-06-30T11:00:01",
        outputs=output_digests(root, ["data/processed/total.txt"]),
        root=root,
        notebook=root / "report" / "total.ipynb",
        page=root / "report" / "total.html",
        page_key=f"page-{key}",
        page_fingerprint={},
    )


def test_many_entries_per_notebook_each_with_its_outputs_restored_anywhere(cache, root, tmp_path):
    store_total(cache, root, "k2", "99")
    assert cache.last("total").key == "k2"
    staging = tmp_path / "staging"
    restore_outputs(cache.lookup("total", "k"), staging)
    assert (staging / "data/processed/total.txt").read_text() == "12"
    restore_outputs(cache.lookup("total", "k2"), staging)
    assert (staging / "data/processed/total.txt").read_text() == "99"
    # data/processed no longer has to hold them
    (root / "data" / "processed" / "total.txt").unlink()
    assert cache.lookup("total", "k") is not None


def test_an_entry_made_twice_keeps_the_first_and_leaves_nothing_aside(cache, root):
    first = cache.last("total")
    again = store_total(cache, root, "k", "12")
    assert again.folder == first.folder and again.fingerprint == {"notebook": "n"}
    assert sorted(p.name for p in (cache.folder / "total").iterdir()) == ["k", "last.json"]


def test_prune_deletes_unused_entries_but_the_latest_and_those_in_use(cache, root):
    store_total(cache, root, "k2", "99")
    store_total(cache, root, "k3", "98")
    old = time.time() - 10 * 86400
    for key in ("k", "k2", "k3"):
        os.utime(cache.entry_folder("total", key), (old, old))
    with cache.key_lock("total", "k2"):  # a task is reading it
        pruned = cache.prune(keep_days=7)
    assert pruned == [cache.entry_folder("total", "k")]
    assert cache.entry("total", "k") is None
    assert cache.lookup("total", "k2") is not None and cache.last("total").key == "k3"
    assert cache.prune(keep_days=7, now=old) == []


def test_a_half_built_entry_is_swept_only_once_its_builder_is_gone(cache):
    building = cache.folder / "total" / f"{BUILDING_PREFIX}live"
    owner = own_folder(building)
    cache.sweep_unfinished()
    assert building.is_dir()
    owner.release()  # as a killed builder's OS lock is
    cache.sweep_unfinished()
    assert not building.exists()
