"""Fixtures shared by several test modules."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from built_once import built_once, process_from_json, process_to_json
from project_runs import run
from two_funds import canonical_of, history_table

from helpers.ingest.daily_flows import derive_daily_flows
from helpers.paths import copy_project_inputs

# The `reliability` fixture and the generated reliability table (tests/support/reliability.py).
pytest_plugins = ["reliability"]


@pytest.fixture(scope="session")
def published_run(tmp_path_factory) -> tuple[Path, object]:
    """One run of the whole pipeline on the shipped data, into a temporary copy of the project:
    (the project, the finished process); once for the whole test run, also under pytest-xdist
    (built_once.py). Tests read it; a test that changes files copies it."""

    def build(folder: Path) -> dict:
        project = copy_project_inputs(folder / "project")
        return {"project": str(project), "result": process_to_json(run(project))}

    built = built_once(tmp_path_factory, "published_run", build)
    result = process_from_json(built["result"])
    assert result.returncode == 0, result.stderr
    return Path(built["project"]), result


@pytest.fixture
def history() -> pd.DataFrame:
    """Two funds over four trading days (tests/support/two_funds.py), rows deliberately out of
    order, with a pass-through column."""
    return history_table()


@pytest.fixture
def daily(history) -> pd.DataFrame:
    """The daily flows of `history`."""
    return derive_daily_flows(history)


@pytest.fixture
def canonical(daily) -> pd.DataFrame:
    """The canonical flows table of `daily` (no N-PORT months)."""
    return canonical_of(daily)
