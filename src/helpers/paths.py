"""Where the study's files are: the names of its raw and processed tables.

The project's folders are the engine's (notebook_pipeline.layout); this module names what the
study keeps in them. Notebooks get their folders as parameters (relative to the project root,
which is papermill's working folder), so that a run into a temporary copy of the project touches
nothing here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from notebook_pipeline.layout import ProjectLayout, find_project_root

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
# What `chinaflows fetch` keeps: <source>/<TICKER>/<UTC time>_<name>, and <source>/manifest.csv
FETCH_SOURCES_FILE = "fetch.yaml"  # at the project root; `chinaflows fetch --config` names another
FETCHED_DIR = "fetched"
FETCH_MANIFEST = "manifest.csv"

# Tables and results written to data/processed by the notebooks.
PROCESSED_FILES = {
    **{name: f"{name}.parquet" for name in RAW_FILES},
    "fund_history": "fund_history.parquet",
    "daily_flows": "daily_flows.parquet",
    "fund_flows": "fund_flows.parquet",
    "fund_sources": "fund_sources.parquet",
    "flow_crosscheck": "flow_crosscheck.parquet",
    "restatements": "restatements.parquet",
    "calendar_gaps": "calendar_gaps.parquet",
    "data_quality": "data_quality.parquet",
    "flows_summary": "flows_summary.json",
    "survey_summary": "survey_summary.json",
    "headline": "headline.json",
    "headline_chart": "headline_chart.svg",
}


def raw_path(raw_dir: str | Path, name: str) -> Path:
    """Path of the raw table `name` (a key of RAW_FILES) inside `raw_dir`."""
    return Path(raw_dir) / RAW_FILES[name]


def processed_path(processed_dir: str | Path, name: str) -> Path:
    """Path of the processed table or result `name` (a key of PROCESSED_FILES)."""
    return Path(processed_dir) / PROCESSED_FILES[name]


# The project this process works in: found from the working folder (or $CHINAFLOWS_ROOT).
DEFAULT_LAYOUT = ProjectLayout(find_project_root())


def copy_project_inputs(target: Path, source: ProjectLayout = DEFAULT_LAYOUT) -> Path:
    """Copy what a run reads (notebooks/, pipeline.yaml, data/raw) into `target`, leaving out
    the researcher's own files in the drop-in folders and the downloads of `chinaflows fetch`
    (READMEs are kept): a copy for tests and benchmarks that runs on the shipped data. Returns
    `target`."""
    copy = ProjectLayout(Path(target))
    own_data = {
        source.raw_dir / folder for folder in (USER_FUND_HISTORY_DIR, USER_FLOWS_DIR, FETCHED_DIR)
    }

    def own_files(folder: str, names: list[str]) -> list[str]:
        if Path(folder) not in own_data:
            return []
        return [name for name in names if not name.startswith("README")]

    copy.root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source.notebooks_dir, copy.notebooks_dir)
    shutil.copy2(source.pipeline_file, copy.pipeline_file)
    shutil.copytree(source.raw_dir, copy.raw_dir, ignore=own_files)
    return copy.root
