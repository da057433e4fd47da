"""Runs of the whole pipeline, as a user runs it, into a temporary copy of the project.

Shared by the pipeline tests (test_end_to_end.py), the site tests and the browser tests; the
session fixture `published_run` in conftest.py runs it once for all of them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from helpers.paths import DEFAULT_LAYOUT, USER_FLOWS_DIR, USER_FUND_HISTORY_DIR


def without_own_data(folder: str, names: list[str]) -> list[str]:
    """Leave out a researcher's own files in the drop-in folders: runs here use the sample."""
    if Path(folder).name in (USER_FUND_HISTORY_DIR, USER_FLOWS_DIR):
        return [name for name in names if name != "README.md"]
    return []


def copy_project(target: Path) -> Path:
    """The parts of the project a run reads: notebooks, raw data, pipeline.yaml."""
    source = DEFAULT_LAYOUT.root
    shutil.copytree(source / "notebooks", target / "notebooks")
    shutil.copytree(source / "data" / "raw", target / "data" / "raw", ignore=without_own_data)
    shutil.copy2(source / "pipeline.yaml", target / "pipeline.yaml")
    return target


def run(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "helpers.cli", "run", "--project-dir", str(project), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
