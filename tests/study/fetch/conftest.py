"""The `world` each fetch test runs in (tests/support/source_world.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from source_server import SourceServer
from source_world import FakeClock, SourceWorld, make_project

from helpers.fetch.sources_file import SEC_USER_AGENT_ENV_VAR


@pytest.fixture
def world(tmp_path, monkeypatch) -> Iterator[SourceWorld]:
    """Every source served, the sources file written; no SEC User-Agent from the environment."""
    monkeypatch.delenv(SEC_USER_AGENT_ENV_VAR, raising=False)
    with SourceServer() as server:
        project = make_project(tmp_path / "project")
        world = SourceWorld(server, project, FakeClock(), tmp_path / "fetch.yaml")
        world.serve_everything()
        world.write_config()
        yield world
