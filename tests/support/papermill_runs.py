"""Each notebook of the pipeline run with the plain papermill CLI, from the project root and with
its default parameters, as a researcher runs it without `chinaflows`.

The runs of the pipeline's steps are shared (the session fixture `papermill_runs` in
conftest.py, started as the session starts); test_papermill_cli.py checks them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from built_once import process_to_json

from helpers.paths import ProjectLayout, copy_project_inputs
from notebook_pipeline.spec import load_pipeline

# papermill issue 511: jupyter_client hands the kernel TCP ports that it found free, and
# another process (a test's server, a connection's source port) can take one before the kernel
# binds it; the kernel then dies before it starts. `chinaflows run` gives its kernels Unix
# sockets instead (execution._kernel_manager); the plain CLI has only TCP.
PORT_TAKEN = "zmq.error.ZMQError: Address already in use"


def papermill(
    project: ProjectLayout, notebook: Path, executed: Path
) -> subprocess.CompletedProcess:
    """`python -m papermill NOTEBOOK OUTPUT` in the project root: no -p, no --cwd; run again,
    once, if its kernel died at start on a port taken meanwhile (PORT_TAKEN)."""

    def run_once() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "papermill", notebook.relative_to(project.root), executed],
            cwd=project.root,
            capture_output=True,
            text=True,
            timeout=600,
        )

    result = run_once()
    return run_once() if result.returncode and PORT_TAKEN in result.stderr else result


def build_papermill_runs(folder: Path) -> dict:
    """A fresh copy of the project in `folder` (no data/processed yet) in which each step ran, in
    pipeline order, with the papermill CLI (as built_once's `build` returns them: the project,
    the folder of executed notebooks and each step's name with its process)."""
    project = ProjectLayout(copy_project_inputs(folder / "project"))
    assert not project.processed_dir.exists()  # so every output found later was written here
    executed = folder / "executed"
    executed.mkdir()
    runs = [
        [step.name, process_to_json(papermill(project, step.path, executed / step.path.name))]
        for step in load_pipeline(project).steps
    ]
    return {"project": str(project.root), "executed": str(executed), "runs": runs}
