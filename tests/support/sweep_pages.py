"""The robustness page (notebooks/sweep_robustness.ipynb) of two sweeps, each run with the plain
papermill CLI on its manifest (sweep_manifests.py) from the project root as the engine runs it,
and rendered as the engine renders a page.

Shared (the session fixture `sweep_pages` in conftest.py, started as the session starts);
test_sweep_page.py checks the pages.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from repository import PROJECT_KERNEL
from sweep_manifests import methods_sweep, month_ends_sweep

from helpers.paths import DEFAULT_LAYOUT
from notebook_pipeline.notebook_page import render_notebook_html

NOTEBOOK = "notebooks/sweep_robustness.ipynb"


def build_sweep_pages(folder: Path) -> dict:
    """The rendered page of each sweep ("methods": sample data, no failure; "month_ends": the
    researcher's own data, one failed date), by sweep name, built in `folder` (as built_once's
    `build` returns them: the pages' HTML under "pages")."""
    project = folder / "project"
    (project / "notebooks").mkdir(parents=True)
    shutil.copy2(DEFAULT_LAYOUT.root / NOTEBOOK, project / NOTEBOOK)
    shutil.copy2(DEFAULT_LAYOUT.pipeline_file, project / "pipeline.yaml")
    sweeps = project / "reports" / "sweeps"
    manifests = {
        "methods": methods_sweep(sweeps),
        "month_ends": month_ends_sweep(sweeps, flows_source="user"),
    }
    running = {
        name: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "papermill",
                NOTEBOOK,
                str(manifest.with_suffix(".ipynb")),
                "-k",
                PROJECT_KERNEL,
                "-p",
                "sweep_file",
                manifest.relative_to(project).as_posix(),
            ],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, manifest in manifests.items()
    }
    pages = {}
    for name, process in running.items():
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr[-3000:]
        executed = manifests[name].with_suffix(".ipynb")
        parameters = {"sweep_file": manifests[name].relative_to(project).as_posix()}
        page = render_notebook_html(
            executed, executed.parent / "index.html", "Robustness across runs", parameters
        )
        pages[name] = page.read_text(encoding="utf-8")
    return {"pages": pages}
