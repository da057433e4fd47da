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


# ipykernel's own launcher (ipykernel_launcher.py) with two changes for a kernel that runs one
# notebook and ends:
# - the module debugpy is mapped to None: importing it then fails, and ipykernel starts without
#   its debugger, as where debugpy is not installed;
# - once shutdown_request has stopped its loops, the kernel waits for its control thread to send
#   its last messages before Python's exit handlers stop the IOPub thread. Without the wait
#   (ipykernel 7.4), in about three shutdowns of four the control thread's last flush waits on
#   the stopped IOPub thread until jupyter_client terminates the kernel (SIGTERM), 2.5 s later,
#   so the notebook's step takes 2.5 s longer. The join's limit is for a loop that stopped
#   another way, whose control thread ipykernel's own exit handler then stops.
LAUNCH_FOR_ONE_NOTEBOOK = (
    "import sys\n"
    "if sys.path[0] == '':\n"
    "    del sys.path[0]\n"
    "sys.modules['debugpy'] = None\n"
    "from ipykernel.kernelapp import IPKernelApp\n"
    "app = IPKernelApp.instance()\n"
    "app.initialize()\n"
    "app.start()\n"
    "if getattr(app, 'control_thread', None) is not None:\n"
    "    app.control_thread.join(timeout=5)"
)
_IPYKERNEL_LAUNCHER = ["-m", "ipykernel_launcher"]
_FOR_THE_DEBUGGER = "-Xfrozen_modules=off"  # ipykernel's kernelspec adds it for debugpy
# A run's cells stay out of the researcher's IPython history (history.sqlite, shared by every
# kernel that runs at once): recording them is about a sixth of a bare kernel's time.
_WITHOUT_HISTORY = "--HistoryManager.enabled=False"


def for_one_notebook(command: list[str]) -> list[str]:
    """A kernel command as a run starts it, for one notebook that nobody attaches to: without
    the autoreload lines (nothing to reload; autoreload would look at every imported module
    before each cell, most of a second over a notebook of the study) and, for ipykernel's
    Python kernel, without its debugger (importing debugpy is a fifth of the kernel's start),
    without recording the cells in IPython's history, and ending as soon as it is asked to
    (LAUNCH_FOR_ONE_NOTEBOOK). Any other kernel's command is kept as it is, but for the
    autoreload lines."""
    dropped = {startup_argument(line) for line in AUTORELOAD_LINES}
    kept = [argument for argument in command if argument not in dropped]
    for at in range(len(kept) - 1):
        if kept[at : at + 2] == _IPYKERNEL_LAUNCHER:
            before = [argument for argument in kept[:at] if argument != _FOR_THE_DEBUGGER]
            return [*before, "-c", LAUNCH_FOR_ONE_NOTEBOOK, *kept[at + 2 :], _WITHOUT_HISTORY]
    return kept


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
