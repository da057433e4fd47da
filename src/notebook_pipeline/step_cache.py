"""The step store: every execution of every notebook, addressed by its execution key, with the
outputs it wrote, its executed notebook and its pages.

    .chinaflows/cache/steps/<step>/<key>/entry.json       the key, its fingerprint, timings,
                                                          the outputs' digests, the last page key
                                        /notebook.ipynb   the executed notebook
                                        /outputs/<path>   each declared output, as written
                                        /pages/<page key>.html
    .chinaflows/cache/steps/<step>/last.json              the key of the step's latest entry
    .chinaflows/cache/steps/<step>/<key>.lock             held while the key is looked up and
                                                          executed (one execution per key)

An entry is built in a folder of its own beside its place (owned by the building process,
ownership) and renamed into place: a reader sees a whole entry or none. When the place is
taken, another process made the same entry: theirs is kept. An execution is reused when its
key matches and its saved outputs still have the recorded content: they are restored into the
run's staging project (hard links where the file system allows), so data/processed need not
hold them any more, and single runs and sweeps serve each other. A page is reused when its page
key matches too; otherwise it is rendered again from the saved notebook (store_page).

`prune` keeps the store bounded: entries unused for a number of days are deleted
(`chinaflows cache prune --keep-days N`), each step's latest entry is always kept.
"""

from __future__ import annotations

import errno
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import filelock

from notebook_pipeline import files
from notebook_pipeline.fingerprint import MISSING, file_sha256, notebook_source_sha256
from notebook_pipeline.ownership import delete_unowned, own_folder, release_folder

_ENTRY = "entry.json"
_LAST = "last.json"
NOTEBOOK_FILE = "notebook.ipynb"
OUTPUTS_DIR = "outputs"
PAGES_DIR = "pages"
BUILDING_PREFIX = ".building-"
_LOCK_SUFFIX = ".lock"


def link_or_copy(source: str | Path, target: str | Path) -> None:
    """Hard-link `source` as `target` (instant), else copy it."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


@dataclass(frozen=True)
class CachedStep:
    """One execution of a notebook: its key, its outputs' digests, its notebook, and the page
    key its latest page was rendered under."""

    key: str
    seconds: float  # of the execution that made the entry
    started: str
    finished: str
    outputs: dict[str, str]  # declared output path -> SHA-256
    folder: Path
    fingerprint: dict[str, Any]  # what `key` is a digest of (fingerprint.step_fingerprint)
    page_key: str = ""  # of its latest page; "" when it has none
    page_fingerprint: dict[str, Any] = field(default_factory=dict)  # what page_key digests

    @property
    def notebook(self) -> Path:
        """The executed notebook."""
        return self.folder / NOTEBOOK_FILE

    @property
    def page(self) -> Path:
        """Its latest page, as rendered under `page_key`."""
        return self.page_for(self.page_key)

    def page_for(self, page_key: str) -> Path:
        """Its page as rendered under `page_key` (which may not exist)."""
        return self.folder / PAGES_DIR / f"{page_key}.html"

    def saved_output(self, output: str) -> Path:
        """Where the entry keeps the declared output `output`."""
        return self.folder / OUTPUTS_DIR / output

    def page_is_current(self, page_key: str) -> bool:
        """Whether a page rendered under `page_key` is saved."""
        return bool(page_key) and self.page_for(page_key).is_file()


def output_digests(root: Path, outputs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """The SHA-256 of each output under `root` ("missing" where there is none)."""
    return {o: file_sha256(root / o) if (root / o).is_file() else MISSING for o in outputs}


def changed_outputs(cached: CachedStep) -> list[str]:
    """The outputs the entry no longer holds as the execution wrote them."""
    changed = []
    for output, recorded in cached.outputs.items():
        saved = cached.saved_output(output)
        if recorded == MISSING:
            continue
        if not saved.is_file() or file_sha256(saved) != recorded:
            changed.append(output)
    return changed


def restore_outputs(cached: CachedStep, root: Path) -> None:
    """Put the entry's outputs in place under `root` (a staging project), replacing what is
    there: hard links where the file system allows, else copies."""
    for output, recorded in cached.outputs.items():
        target = root / output
        target.unlink(missing_ok=True)
        if recorded == MISSING:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        link_or_copy(cached.saved_output(output), target)


class StepCache:
    """The step store of a project, under its cache folder."""

    def __init__(self, cache_dir: Path):
        self.folder = cache_dir / "steps"

    def entry_folder(self, step_name: str, key: str) -> Path:
        """Where the entry of `step_name` under `key` is kept."""
        return self.folder / step_name / key

    def key_lock(self, step_name: str, key: str) -> filelock.BaseFileLock:
        """The OS lock that one process holds while it looks up and executes `key`: a second
        task with the same key waits, then finds the entry (on one machine or a shared file
        system alike)."""
        (self.folder / step_name).mkdir(parents=True, exist_ok=True)
        return filelock.FileLock(
            self.folder / step_name / f"{key}{_LOCK_SUFFIX}", is_singleton=False
        )

    def entry(self, step_name: str, key: str) -> CachedStep | None:
        """The entry of `step_name` under `key`, whatever state its files are in."""
        folder = self.entry_folder(step_name, key)
        try:
            entry = files.read_json(folder / _ENTRY)
        except (OSError, ValueError):
            return None
        return CachedStep(
            key=entry.get("key", key),
            seconds=entry.get("seconds", 0.0),
            started=entry.get("started", ""),
            finished=entry.get("finished", ""),
            outputs=entry.get("outputs", {}),
            folder=folder,
            fingerprint=entry.get("fingerprint", {}),
            page_key=entry.get("page_key", ""),
            page_fingerprint=entry.get("page_fingerprint", {}),
        )

    def last(self, step_name: str) -> CachedStep | None:
        """The entry of the notebook's latest execution, whatever it was made under."""
        try:
            key = files.read_json(self.folder / step_name / _LAST)["key"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return self.entry(step_name, key)

    def lookup(self, step_name: str, key: str, *, made_since: str = "") -> CachedStep | None:
        """The entry for `step_name` under the execution key `key` if its executed notebook is
        saved and its saved outputs are still the ones it wrote (and, with `made_since`, it
        finished at or after that time: --force). Whether a page can be reused as well is
        `page_is_current`."""
        cached = self.entry(step_name, key)
        if cached is None or not cached.notebook.is_file() or changed_outputs(cached):
            return None
        if made_since and cached.finished < made_since:
            return None
        os.utime(cached.folder)  # in use: prune keeps it
        return cached

    def store(
        self,
        step_name: str,
        key: str,
        *,
        fingerprint: dict[str, Any],
        seconds: float,
        started: str,
        finished: str,
        outputs: dict[str, str],
        root: Path,
        notebook: Path,
        page: Path,
        page_key: str,
        page_fingerprint: dict[str, Any],
    ) -> CachedStep:
        """Save an execution of `step_name` under `key`, its `outputs` taken from under `root`;
        returns the entry (another process's, should it have made the same one first)."""
        entry = {
            "key": key,
            "fingerprint": fingerprint,
            "page_key": page_key,
            "page_fingerprint": page_fingerprint,
            "seconds": seconds,
            "started": started,
            "finished": finished,
            "outputs": outputs,
        }
        target = self.entry_folder(step_name, key)
        building = target.with_name(f"{BUILDING_PREFIX}{uuid.uuid4().hex[:12]}")
        owner = own_folder(building)
        try:
            shutil.copy2(notebook, building / NOTEBOOK_FILE)
            (building / PAGES_DIR).mkdir()
            if page_key and page.is_file():
                shutil.copy2(page, building / PAGES_DIR / f"{page_key}.html")
            for output, digest in outputs.items():
                if digest != MISSING:
                    saved = building / OUTPUTS_DIR / output
                    saved.parent.mkdir(parents=True, exist_ok=True)
                    link_or_copy(root / output, saved)
            files.write_json(entry, building / _ENTRY)
            try:
                building.rename(target)
            except OSError as error:
                # Taken: another process made the same entry; theirs is kept, ours deleted below.
                if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
        finally:
            release_folder(building, owner)
        files.write_json({"key": key}, self.folder / step_name / _LAST)
        return self.entry(step_name, key)

    def store_page(
        self,
        step_name: str,
        key: str | None = None,
        *,
        notebook: Path,
        page: Path,
        page_key: str,
        page_fingerprint: dict[str, Any],
    ) -> None:
        """Give the entry of `step_name` under `key` (its latest entry by default) a page
        rendered under `page_key`, keeping its execution: `notebook` is the entry's executed
        notebook as the page was rendered from it (made publishable for its report folder)."""
        cached = self.entry(step_name, key) if key else self.last(step_name)
        if cached is None:
            return  # pruned meanwhile: the next run renders the page again
        saved = cached.page_for(page_key)
        saved.parent.mkdir(exist_ok=True)
        files.write_atomically(saved, lambda tmp: shutil.copy2(page, tmp))
        files.write_atomically(cached.notebook, lambda tmp: shutil.copy2(notebook, tmp))
        entry = files.read_json(cached.folder / _ENTRY)
        entry.update(page_key=page_key, page_fingerprint=page_fingerprint)
        files.write_json(entry, cached.folder / _ENTRY)
        files.write_json({"key": cached.key}, self.folder / step_name / _LAST)

    def sweep_unfinished(self) -> None:
        """Delete the entries that killed processes left half-built (no live owner)."""
        steps = self.folder.iterdir() if self.folder.is_dir() else []
        for step in (p for p in steps if p.is_dir()):
            delete_unowned(step.glob(f"{BUILDING_PREFIX}*"))

    def prune(self, keep_days: float, now: float | None = None) -> list[Path]:
        """Delete the entries not made or reused for `keep_days` days (by `now`, a Unix time),
        but each step's latest one and those in use (their key lock held); returns them."""
        cutoff = (time.time() if now is None else now) - keep_days * 86400
        pruned = []
        steps = self.folder.iterdir() if self.folder.is_dir() else []
        for step in sorted(p for p in steps if p.is_dir()):
            latest = self.last(step.name)
            for folder in sorted(p for p in step.iterdir() if p.is_dir()):
                if folder.name.startswith(".") or (latest and folder == latest.folder):
                    continue
                if folder.stat().st_mtime >= cutoff:
                    continue
                lock = self.key_lock(step.name, folder.name)
                try:
                    lock.acquire(timeout=0)
                except filelock.Timeout:
                    continue
                try:
                    retired = folder.with_name(f".pruned-{uuid.uuid4().hex[:12]}")
                    folder.rename(retired)  # gone at once for readers, then deleted
                    shutil.rmtree(retired, ignore_errors=True)
                    pruned.append(folder)
                finally:
                    lock.release()
        return pruned


def cached_notebook_parameters(cache_dir: Path, notebook: Path) -> dict[str, Any]:
    """A notebook's declared parameters, inspected once per notebook content.

    Inspecting needs papermill, whose import alone takes longer than a run with nothing to do.
    """
    from notebook_pipeline.spec import notebook_parameters

    store = cache_dir / "parameters" / f"{notebook_source_sha256(notebook)}.json"
    if store.is_file():
        return files.read_json(store)
    declared = notebook_parameters(notebook)
    files.write_json(declared, store)
    return declared
