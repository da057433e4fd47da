"""Each notebook runs on its own with the plain papermill CLI, from the project root and with its
default parameters, once the notebooks whose outputs it reads have run: a researcher can use
papermill as they know it, without `chinaflows`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers.paths import ProjectLayout, copy_project_inputs
from notebook_pipeline.new_notebook import TEMPLATE_NOTEBOOK
from notebook_pipeline.spec import NotebookStep, load_pipeline

# One worker (pytest-xdist) runs these tests, so the notebooks run once for all of them
# (standalone_runs is module-scoped: each worker would run them again).
pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("papermill")]


def papermill(project: ProjectLayout, notebook: Path, executed: Path):
    """`python -m papermill NOTEBOOK OUTPUT` in the project root: no -p, no --cwd."""
    return subprocess.run(
        [sys.executable, "-m", "papermill", notebook.relative_to(project.root), executed],
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def standalone_runs(tmp_path_factory):
    """A fresh copy of the project (no data/processed yet) in which each step ran, in pipeline
    order, with the papermill CLI: (the project, the executed folder, [(step, process)])."""
    project = ProjectLayout(copy_project_inputs(tmp_path_factory.mktemp("project")))
    assert not project.processed_dir.exists()  # so every output found below was written here
    executed = project.root.parent / "executed"
    executed.mkdir()
    runs: list[tuple[NotebookStep, subprocess.CompletedProcess]] = []
    for step in load_pipeline(project).steps:
        runs.append((step, papermill(project, step.path, executed / step.path.name)))
    return project, executed, runs


def test_every_step_runs_with_the_papermill_cli(standalone_runs):
    _, _, runs = standalone_runs
    failed = {step.name: result.stderr[-2000:] for step, result in runs if result.returncode}
    assert not failed, failed


def test_every_step_writes_its_declared_outputs(standalone_runs):
    project, _, runs = standalone_runs
    missing = {
        step.name: [output for output in step.outputs if not (project.root / output).is_file()]
        for step, _ in runs
    }
    assert all(not outputs for outputs in missing.values()), missing


def test_the_template_runs_as_it_is(standalone_runs):
    project, executed, _ = standalone_runs
    result = papermill(
        project, project.notebooks_dir / TEMPLATE_NOTEBOOK, executed / TEMPLATE_NOTEBOOK
    )
    assert result.returncode == 0, result.stderr[-2000:]
    outputs = [
        output
        for cell in nbformat.read(executed / TEMPLATE_NOTEBOOK, as_version=4).cells
        for output in cell.get("outputs", [])
    ]
    said = [o.data["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {})]
    assert any("the technology cohort's net flow was" in text for text in said), said
