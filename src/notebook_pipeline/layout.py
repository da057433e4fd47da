"""Where a project's folders are: the one place that knows the layout the engine works in.

A project is a folder holding pipeline.yaml, with notebooks/, data/raw/, data/processed/ and
reports/ beside it, and the engine's own files in .chinaflows/. Code asks a `ProjectLayout` for a
path instead of writing path strings, so a run into a temporary copy touches nothing else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT_ENV_VAR = "CHINAFLOWS_ROOT"
PIPELINE_FILE = "pipeline.yaml"


def find_project_root(start: Path | None = None) -> Path:
    """The project root: $CHINAFLOWS_ROOT if set, else the nearest folder holding pipeline.yaml
    from `start` (the working folder) upwards, else `start` itself (a command then says that
    pipeline.yaml is missing)."""
    if env_root := os.environ.get(ROOT_ENV_VAR):
        return Path(env_root).resolve()
    start = (start or Path.cwd()).resolve()
    return next((d for d in (start, *start.parents) if (d / PIPELINE_FILE).is_file()), start)


@dataclass(frozen=True)
class ProjectLayout:
    """The folders and files of one copy of the project (the real one or a temporary copy)."""

    root: Path

    @property
    def pipeline_file(self) -> Path:
        return self.root / PIPELINE_FILE

    @property
    def notebooks_dir(self) -> Path:
        return self.root / "notebooks"

    @property
    def raw_dir(self) -> Path:
        return self.root / "data" / "raw"

    @property
    def processed_dir(self) -> Path:
        return self.root / "data" / "processed"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    def report_dir(self, as_of: str) -> Path:
        return self.reports_dir / as_of

    @property
    def failed_reports_dir(self) -> Path:
        """Where a failed run keeps its notebooks and pages, one folder per as-of date."""
        return self.reports_dir / "_failed"

    @property
    def work_dir(self) -> Path:
        """The engine's own files (cache, staging, lock); not committed, safe to delete."""
        return self.root / ".chinaflows"

    @property
    def cache_dir(self) -> Path:
        return self.work_dir / "cache"

    @property
    def staging_dir(self) -> Path:
        """Runs in progress: each builds its data and report here before publishing them."""
        return self.work_dir / "runs"

    @property
    def lock_file(self) -> Path:
        return self.work_dir / "run.lock"
