"""The project's Jupyter kernel, the one its notebooks name (pipeline.yaml: study.kernel): Python
of the project's environment.

Registered inside the environment (`sys.prefix`, nothing in the home folder) by `make` or by
`chinaflows kernel`. It is ipykernel's own kernelspec plus start-up lines that
- reload edited modules (the study's code) before each cell, so an edit needs no restart;
- move the kernel to the project root when JupyterLab starts it beside the notebooks, since the
  notebooks' relative paths (data/raw, ...) point from the root, as under papermill. Anywhere
  else (the runner's staging copy of the project) it stays where it was started.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ipykernel.kernelspec import install

from notebook_pipeline.layout import ProjectLayout
from notebook_pipeline.spec import load_pipeline


def display_name(kernel_name: str) -> str:
    """How JupyterLab lists the kernel."""
    return f"Python ({kernel_name})"


def startup_lines(layout: ProjectLayout) -> list[str]:
    """What the kernel runs as it starts: autoreload, and the move to the project root."""
    root, notebooks = str(layout.root), str(layout.notebooks_dir)
    return [
        "%load_ext autoreload",
        "%autoreload 2",
        # __import__ leaves no `os` in the researcher's namespace.
        f"if __import__('os').getcwd() == {notebooks!r}: __import__('os').chdir({root!r})",
    ]


def register_kernel(layout: ProjectLayout, prefix: str = sys.prefix) -> tuple[str, Path]:
    """Install (or bring up to date) the kernelspec for `layout`'s project; returns the name it
    is listed under and its folder."""
    name = load_pipeline(layout).study.kernel
    folder = Path(install(kernel_name=name, display_name=display_name(name), prefix=prefix))
    spec_file = folder / "kernel.json"
    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    spec["argv"] += [f"--IPKernelApp.exec_lines={line}" for line in startup_lines(layout)]
    spec_file.write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return display_name(name), folder
