"""Fixtures shared by several test modules."""

from __future__ import annotations

from pathlib import Path

import pytest
from project_runs import run

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
