"""The runner's memory of each notebook's last execution, keyed by content.

For each notebook the cache keeps one entry: the key its execution was made under (a digest of
everything its results depend on), the digests of the outputs it wrote, its executed notebook,
its page and the page key that page was rendered under (fingerprint.page_fingerprint). An
entry's execution is reused only when the key matches and the outputs in data/processed still
have the recorded content; anything else re-executes the notebook. Its page is reused too when
the page key matches as well; otherwise the page is rendered again from the saved notebook and
the entry takes the new page (store_page).
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from notebook_pipeline import files
from notebook_pipeline.fingerprint import MISSING, file_sha256, notebook_source_sha256

_ENTRY = "entry.json"
NOTEBOOK_FILE = "notebook.ipynb"
PAGE_FILE = "page.html"


@dataclass(frozen=True)
class CachedStep:
    """A notebook's last execution: its key, its outputs' digests, its notebook, and its page
    with the page key it was rendered under."""

    key: str
    seconds: float  # of the execution that made the entry
    started: str
    finished: str
    outputs: dict[str, str]  # declared output path -> SHA-256
    folder: Path
    fingerprint: dict[str, Any]  # what `key` is a digest of (fingerprint.step_fingerprint)
    page_key: str = ""  # "" in entries of older versions: their page is rendered again
    page_fingerprint: dict[str, Any] = field(default_factory=dict)  # what page_key digests

    @property
    def notebook(self) -> Path:
        """The executed notebook."""
        return self.folder / NOTEBOOK_FILE

    @property
    def page(self) -> Path:
        """Its page, as rendered under `page_key`."""
        return self.folder / PAGE_FILE

    def page_is_current(self, page_key: str) -> bool:
        """Whether the saved page was rendered under `page_key` (and is still there)."""
        return self.page_key == page_key and self.page.is_file()


def output_digests(root: Path, outputs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """The SHA-256 of each output under `root` ("missing" where there is none)."""
    return {o: file_sha256(root / o) if (root / o).is_file() else MISSING for o in outputs}


def changed_outputs(cached: CachedStep, root: Path) -> list[str]:
    """The outputs under `root` that are missing or no longer what the execution wrote."""
    current = output_digests(root, list(cached.outputs))
    return [o for o, digest in current.items() if digest == MISSING or digest != cached.outputs[o]]


class StepCache:
    """The entries of a project's notebooks' last executions, under its cache folder."""

    def __init__(self, cache_dir: Path):
        self.folder = cache_dir / "steps"

    def last(self, step_name: str) -> CachedStep | None:
        """The entry of the notebook's last execution, whatever it was made under."""
        folder = self.folder / step_name
        try:
            entry = json.loads((folder / _ENTRY).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return CachedStep(
            key=entry.get("key", ""),
            seconds=entry.get("seconds", 0.0),
            started=entry.get("started", ""),
            finished=entry.get("finished", ""),
            outputs=entry.get("outputs", {}),
            folder=folder,
            fingerprint=entry.get("fingerprint", {}),
            page_key=entry.get("page_key", ""),
            page_fingerprint=entry.get("page_fingerprint", {}),
        )

    def lookup(self, step_name: str, key: str, root: Path) -> CachedStep | None:
        """The entry for `step_name` if it was made under the execution key `key`, its executed
        notebook is saved and its outputs under `root` are still the ones it wrote. Whether its
        page can be reused as well is `page_is_current`."""
        cached = self.last(step_name)
        if cached is None or cached.key != key:
            return None
        if not cached.notebook.is_file():
            return None
        if changed_outputs(cached, root):
            return None
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
        notebook: Path,
        page: Path,
        page_key: str,
        page_fingerprint: dict[str, Any],
    ) -> None:
        """Replace the entry for `step_name` (built aside, then swapped in by renames)."""
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
        self._replace(step_name, entry, notebook, page)

    def store_page(
        self,
        step_name: str,
        *,
        notebook: Path,
        page: Path,
        page_key: str,
        page_fingerprint: dict[str, Any],
    ) -> None:
        """Give the entry for `step_name` a page rendered again under `page_key`, keeping its
        execution: `notebook` is the entry's executed notebook as the page was rendered from it
        (made publishable for that run's report folder)."""
        entry = files.read_json(self.folder / step_name / _ENTRY)
        entry.update(page_key=page_key, page_fingerprint=page_fingerprint)
        self._replace(step_name, entry, notebook, page)

    def _replace(self, step_name: str, entry: dict[str, Any], notebook: Path, page: Path) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        building = self.folder / f".{step_name}-{uuid.uuid4().hex[:8]}"
        building.mkdir()
        shutil.copy2(notebook, building / NOTEBOOK_FILE)
        shutil.copy2(page, building / PAGE_FILE)
        files.write_json(entry, building / _ENTRY)
        files.replace_folder(building, self.folder / step_name)


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
