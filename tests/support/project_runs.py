"""Runs of the whole pipeline, as a user runs it, into a temporary copy of the project.

Shared by the pipeline tests (test_end_to_end.py), the site tests and the browser tests; the
session fixtures `published_run` and `own_data_run` in conftest.py run it once for all of them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

from built_once import built_in, process_to_json

from helpers.paths import ProjectLayout, copy_project_inputs


def run(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "helpers.cli", "run", "--project-dir", str(project), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def build_published_run(folder: Path) -> dict:
    """A copy of the project in `folder` and its `chinaflows run` on the shipped data (as
    built_once's `build` returns them): the session fixture `published_run` in conftest.py."""
    project = copy_project_inputs(folder / "project")
    return {"project": str(project), "result": process_to_json(run(project))}


def seed_from_published_run(build_folder: Path, project: Path) -> None:
    """Copies into `project` the step store of the shared published run (built_once's, waited for
    or built from `build_folder`, a shared run's own folder): the content-addressed store keeps
    every notebook's last execution, so a run on other fund data re-executes only the notebooks
    whose inputs change (the survey notebook, on the same survey, is served from the store)."""
    published = built_in(build_folder.parent, "published_run", build_published_run)
    store = ProjectLayout(Path(published["project"])).cache_dir
    shutil.copytree(store, ProjectLayout(project).cache_dir)


def run_in_process(project: Path, *args: str, capsys) -> subprocess.CompletedProcess:
    """`chinaflows run` in this process (no interpreter to start, and a monkeypatched engine
    applies); returns what the command printed and its exit code, as `run` does. Without
    --quiet it shows its progress as a process whose stderr is not a terminal does: log lines,
    here on the stderr that `capsys` captures."""
    from helpers.cli import main
    from notebook_pipeline import cli, progress

    def display_for(quiet: bool) -> progress.RunDisplay:
        return progress.display_for(quiet, sys.stderr)  # the stream of now, captured

    capsys.readouterr()  # start from nothing printed
    with mock.patch.object(cli, "display_for", display_for):
        code = main(["run", "--project-dir", str(project), *args])
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, int(code), out, err)
