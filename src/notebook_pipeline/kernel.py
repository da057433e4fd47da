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

from notebook_pipeline.layout import ProjectLayout
from notebook_pipeline.spec import load_pipeline


def display_name(kernel_name: str) -> str:
    """How JupyterLab lists the kernel."""
    return f"Python ({kernel_name})"


# Reload edited modules before each cell: for the researcher's long-lived kernel in JupyterLab.
AUTORELOAD_LINES = ("%load_ext autoreload", "%autoreload 2")


def startup_lines(layout: ProjectLayout) -> list[str]:
    """What the kernel runs as it starts: autoreload, and the move to the project root."""
    root, notebooks = str(layout.root), str(layout.notebooks_dir)
    return [
        *AUTORELOAD_LINES,
        # __import__ leaves no `os` in the researcher's namespace.
        f"if __import__('os').getcwd() == {notebooks!r}: __import__('os').chdir({root!r})",
    ]


def startup_argument(line: str) -> str:
    """How the kernelspec's command passes one of the startup lines to the kernel."""
    return f"--IPKernelApp.exec_lines={line}"


def without_autoreload(command: list[str]) -> list[str]:
    """A kernel command without the autoreload lines: a kernel started for one notebook has
    nothing to reload, and autoreload would look at every imported module before each cell
    (most of a second over a notebook of the study)."""
    dropped = {startup_argument(line) for line in AUTORELOAD_LINES}
    return [argument for argument in command if argument not in dropped]


def register_kernel(layout: ProjectLayout, prefix: str = sys.prefix) -> tuple[str, Path]:
    """Install (or bring up to date) the kernelspec for `layout`'s project; returns the name it
    is listed under and its folder."""
    from ipykernel.kernelspec import install  # imported here: a run that executes nothing skips it

    name = load_pipeline(layout).study.kernel
    folder = Path(install(kernel_name=name, display_name=display_name(name), prefix=prefix))
    spec_file = folder / "kernel.json"
    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    spec["argv"] += [startup_argument(line) for line in startup_lines(layout)]
    spec_file.write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return display_name(name), folder
