"""Fixtures shared by the ingest tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers.paths import DEFAULT_LAYOUT, RAW_FILES, SAMPLE_FUND_HISTORY


@pytest.fixture
def raw_dir(tmp_path) -> Path:
    """The shipped facts and sample, with empty folders for the researcher's own files and no
    fund data of anyone's (test modules that need the whole shipped folder define their own)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    for file in RAW_FILES.values():
        shutil.copy2(DEFAULT_LAYOUT.raw_dir / file, raw / file)
    (raw / SAMPLE_FUND_HISTORY).parent.mkdir()
    shutil.copy2(DEFAULT_LAYOUT.raw_dir / SAMPLE_FUND_HISTORY, raw / SAMPLE_FUND_HISTORY)
    for folder in ("fund_history", "flows"):
        (raw / folder).mkdir()
    return raw
