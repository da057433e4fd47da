"""The step cache on its own: one entry per notebook, found by its execution key while its
outputs are what the execution wrote, with the page and the page key it was rendered under."""

from __future__ import annotations

from pathlib import Path

import pytest

from notebook_pipeline.fingerprint import file_sha256
from notebook_pipeline.step_cache import StepCache, output_digests


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
        notebook=root / "report" / "total.ipynb",
        page=root / "report" / "total.html",
        page_key="p",
        page_fingerprint={"title": "Total"},
    )
    return cache


def test_an_entry_is_found_by_its_execution_key_with_its_page_key(cache, root):
    found = cache.lookup("total", "k", root)
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
    assert cache.lookup("total", "another key", root) is None
    assert cache.lookup("other", "k", root) is None
    assert cache.last("other") is None
    assert cache.last("total") is not None  # the last execution, whatever its key


def test_a_changed_or_deleted_output_invalidates_the_entry(cache, root):
    output = root / "data" / "processed" / "total.txt"
    output.write_text("13")
    assert cache.lookup("total", "k", root) is None
    output.write_text("12")  # the bytes the execution wrote
    assert cache.lookup("total", "k", root) is not None
    output.unlink()
    assert cache.lookup("total", "k", root) is None


def test_a_missing_notebook_invalidates_the_entry_a_missing_page_only_the_page(cache, root):
    cache.last("total").page.unlink()
    found = cache.lookup("total", "k", root)
    assert found is not None and not found.page_is_current("p")
    found.notebook.unlink()
    assert cache.lookup("total", "k", root) is None


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
    after = cache.lookup("total", "k", root)
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
    assert after.page_is_current("p2") and not after.page_is_current("p")
    assert [p.name for p in cache.folder.iterdir()] == ["total"]  # nothing left aside


def test_an_entry_of_an_older_version_has_no_page_key(cache, root):
    entry = cache.folder / "total" / "entry.json"
    entry.write_text('{"key": "k", "outputs": {}}')
    found = cache.lookup("total", "k", root)
    assert found is not None
    assert found.page_key == "" and not found.page_is_current("p")
