"""Fixtures shared by several test modules."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from project_runs import run
from two_funds import history_table

from helpers.ingest.daily_flows import derive_daily_flows
from helpers.paths import copy_project_inputs

# The `reliability` fixture and the generated reliability table (tests/support/reliability.py).
pytest_plugins = ["reliability"]


@pytest.fixture(scope="session")
def published_run(tmp_path_factory) -> tuple[Path, object]:
    """One run of the whole pipeline on the shipped data, into a temporary copy of the project:
    (the project, the finished process). Tests read it; a test that changes files copies it."""
    project = copy_project_inputs(tmp_path_factory.mktemp("project"))
    result = run(project)
    assert result.returncode == 0, result.stderr
    return project, result


@pytest.fixture
def history() -> pd.DataFrame:
    """Two funds over four trading days (tests/two_funds.py), rows deliberately out of order,
    with a pass-through column."""
    return history_table()


@pytest.fixture
def daily(history) -> pd.DataFrame:
    """The daily flows of `history`."""
    return derive_daily_flows(history)
