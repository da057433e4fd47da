"""Where a project's folders are: the one place that knows the layout the engine works in.

A project is a folder holding pipeline.yaml, with notebooks/, data/raw/, data/processed/ and
reports/ beside it, and the engine's own files in .chinaflows/. reports/ is the static site and
is published as it is: runs in progress, kernel logs and failed runs live in .chinaflows/. Code
asks a `ProjectLayout` for a path instead of writing path strings, so a run into a temporary
copy touches nothing else.
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
        """pipeline.yaml: the notebooks, their inputs, outputs and parameters."""
        return self.root / PIPELINE_FILE

    @property
    def notebooks_dir(self) -> Path:
        """The notebooks the pipeline runs (kept without outputs)."""
        return self.root / "notebooks"

    @property
    def raw_dir(self) -> Path:
        """The inputs: read by the notebooks, never written by a run."""
        return self.root / "data" / "raw"

    @property
    def processed_dir(self) -> Path:
        """What the notebooks write, published whole when a run succeeds."""
        return self.root / "data" / "processed"

    @property
    def reports_dir(self) -> Path:
        """The static site: its index and one folder per published run, nothing else."""
        return self.root / "reports"

    def report_dir(self, as_of: str) -> Path:
        """The published run of `as_of`."""
        return self.reports_dir / as_of

    @property
    def failed_reports_dir(self) -> Path:
        """Where a failed run keeps its notebooks, pages and kernel logs, one folder per as-of
        date: in the engine's folder, never under reports/, which is published as it is."""
        return self.work_dir / "failed"

    @property
    def work_dir(self) -> Path:
        """The engine's own files (cache, staging, lock); not committed, safe to delete."""
        return self.root / ".chinaflows"

    @property
    def cache_dir(self) -> Path:
        """The last execution of each notebook, reused while its fingerprint is unchanged."""
        return self.work_dir / "cache"

    @property
    def staging_dir(self) -> Path:
        """Runs in progress: each builds its data and report here before publishing them."""
        return self.work_dir / "runs"

    @property
    def publishing_marker(self) -> Path:
        """Present while a run publishes (from data/processed to the site index): a run that
        finds it left by a killed run rewrites the site index first."""
        return self.work_dir / "publishing"

    @property
    def lock_file(self) -> Path:
        """The OS file lock that lets one run at a time work in the project."""
        return self.work_dir / "run.lock"
