"""Where things are: the one place that knows the repository's layout.

Code elsewhere asks a `ProjectLayout` for a path instead of writing path strings. Notebooks get
their folders as parameters (relative to the project root, which is papermill's working folder),
so that a run into a temporary copy of the project touches nothing here.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

ROOT_ENV_VAR = "CHINAFLOWS_ROOT"

# Raw inputs (data/raw), one name each; see data/raw/README.md for their columns.
RAW_FILES = {
    "etf_universe": "etf_universe.csv",
    "reported_flows": "reported_flows.csv",
    "flow_claims": "flow_claims.csv",
    "survey_editions": "survey_editions.csv",
    "survey_figures": "survey_figures.csv",
    "survey_claims": "survey_claims.csv",
    "events": "events.csv",
}
SAMPLE_FUND_HISTORY = Path("sample") / "fund_history_sample.csv"
USER_FUND_HISTORY_DIR = "fund_history"
USER_FLOWS_DIR = "flows"

# Tables and results written to data/processed by the notebooks.
PROCESSED_FILES = {
    **{name: f"{name}.parquet" for name in RAW_FILES},
    "fund_history": "fund_history.parquet",
    "daily_flows": "daily_flows.parquet",
    "calendar_gaps": "calendar_gaps.parquet",
    "data_quality": "data_quality.parquet",
    "flows_summary": "flows_summary.json",
    "survey_summary": "survey_summary.json",
    "headline": "headline.json",
}


def project_root() -> Path:
    """The repository root: $CHINAFLOWS_ROOT if set, else the folder holding pipeline.yaml."""
    if env_root := os.environ.get(ROOT_ENV_VAR):
        return Path(env_root).resolve()
    return Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ProjectLayout:
    """The folders and files of one copy of the project (the real one or a temporary copy)."""

    root: Path

    @property
    def pipeline_file(self) -> Path:
        return self.root / "pipeline.yaml"

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
        """The runner's own files (cache, staging, lock); not committed, safe to delete."""
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


def raw_path(raw_dir: str | Path, name: str) -> Path:
    """Path of the raw table `name` (a key of RAW_FILES) inside `raw_dir`."""
    return Path(raw_dir) / RAW_FILES[name]


def processed_path(processed_dir: str | Path, name: str) -> Path:
    """Path of the processed table or result `name` (a key of PROCESSED_FILES)."""
    return Path(processed_dir) / PROCESSED_FILES[name]


DEFAULT_LAYOUT = ProjectLayout(project_root())


def copy_project_inputs(target: Path, source: ProjectLayout = DEFAULT_LAYOUT) -> Path:
    """Copy what a run reads (notebooks/, pipeline.yaml, data/raw) into `target`, leaving out
    the researcher's own files in the drop-in folders (their READMEs are kept): a copy for
    tests and benchmarks that runs on the shipped data. Returns `target`."""
    copy = ProjectLayout(Path(target))
    own_data = {source.raw_dir / USER_FUND_HISTORY_DIR, source.raw_dir / USER_FLOWS_DIR}

    def own_files(folder: str, names: list[str]) -> list[str]:
        if Path(folder) not in own_data:
            return []
        return [name for name in names if not name.startswith("README")]

    copy.root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source.notebooks_dir, copy.notebooks_dir)
    shutil.copy2(source.pipeline_file, copy.pipeline_file)
    shutil.copytree(source.raw_dir, copy.raw_dir, ignore=own_files)
    return copy.root
