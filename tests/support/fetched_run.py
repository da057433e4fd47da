"""A copy of the project with nothing but fetched fund data: `chinaflows fetch` from the sources
served on 127.0.0.1 (source_world.py, invented numbers), then `chinaflows run` on what it kept.

Its fetch and run are shared (the session fixture `fetch_then_run` in conftest.py, started as
the session starts); the run starts from the published run's step store
(project_runs.seed_from_published_run). test_fetch_then_run.py checks them.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from built_once import process_to_json
from project_runs import run, seed_from_published_run
from source_server import SourceServer
from source_world import CORE, FakeClock, SourceWorld

from helpers.paths import copy_project_inputs
from notebook_pipeline.layout import ProjectLayout


class FetchOutcome(NamedTuple):
    """What the fetch reported: its exit code and its summary for a person."""

    exit_code: int
    summary: str


def build_fetch_then_run(folder: Path) -> dict:
    """A copy of the project in `folder`, the fetch of every core fund into it and its
    `chinaflows run` (as built_once's `build` returns them, the fetch as a FetchOutcome)."""
    project = copy_project_inputs(folder / "project")
    with SourceServer() as server:
        world = SourceWorld(server, ProjectLayout(project), FakeClock(), folder / "fetch.yaml")
        world.serve_everything()
        world.write_config()
        report = world.fetch(CORE)
    fetched = FetchOutcome(int(report.exit_code()), report.summary())
    seed_from_published_run(folder, project)
    return {
        "project": str(project),
        "result": process_to_json(run(project)),
        "fetch": fetched._asdict(),
    }
