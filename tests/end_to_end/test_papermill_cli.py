"""Each notebook runs on its own with the plain papermill CLI, from the project root and with its
default parameters, once the notebooks whose outputs it reads have run: a researcher can use
papermill as they know it, without `chinaflows`."""

from __future__ import annotations

import nbformat
import pytest
from papermill_runs import papermill

from helpers.paths import ProjectLayout
from notebook_pipeline.new_notebook import TEMPLATE_NOTEBOOK
from notebook_pipeline.spec import load_pipeline

# The steps' runs are shared (conftest.papermill_runs, tests/support/papermill_runs.py: once for
# the whole test run, on any worker).
pytestmark = pytest.mark.pipeline


@pytest.fixture
def standalone_runs(papermill_runs):
    """The copy of the project in which each step ran with the papermill CLI: (the project, the
    executed folder, [(step, process)])."""
    root, executed, processes = papermill_runs
    project = ProjectLayout(root)
    steps = {step.name: step for step in load_pipeline(project).steps}
    return project, executed, [(steps[name], done) for name, done in processes]


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


def test_the_template_runs_as_it_is(standalone_runs, tmp_path):
    project, _, _ = standalone_runs
    executed = tmp_path  # the shared runs are only read
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
