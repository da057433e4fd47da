"""The researcher's JupyterLab: `make lab` serves the project on the project's kernel, a kernel
of the project's environment that reloads edited helpers and, started beside the notebooks,
works in the project root (where their relative paths point, as under papermill)."""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
import yaml
from diamond_project import PIPELINE, make_diamond_project, run, statuses, write_notebook
from jupyter_client.manager import KernelManager
from repository import MAKE, PROJECT_KERNEL, ROOT

from helpers.paths import DEFAULT_LAYOUT

# One worker (pytest-xdist) runs these, so `make` registers the kernel in the environment once,
# never twice at the same time.
pytestmark = pytest.mark.xdist_group("lab")

KERNEL_TIMEOUT = 120  # seconds for a kernel to start or answer, on a busy 2-core machine
LAB_START_TIMEOUT = 180  # seconds for JupyterLab to answer its API
LAB_STOP_TIMEOUT = 60


@pytest.fixture(scope="module")
def project_kernel() -> str:
    """The project's kernel, registered (or brought up to date) by the Makefile's own rule."""
    kernelspec = Path(sys.prefix, "share", "jupyter", "kernels", PROJECT_KERNEL, "kernel.json")
    result = subprocess.run(
        [*MAKE, str(kernelspec)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert kernelspec.is_file(), f"`make {kernelspec}` did not write it"
    return PROJECT_KERNEL


@contextlib.contextmanager
def started_kernel(name: str, cwd: Path):
    """A client of a kernel started from the kernelspec `name` in `cwd`, as JupyterLab starts
    one for a notebook in that folder; shut down on leaving."""
    manager = KernelManager(kernel_name=name)
    manager.start_kernel(cwd=str(cwd))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=KERNEL_TIMEOUT)
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def evaluate(client, code: str, expression: str):
    """Run `code` as a cell, then return the value of `expression` (a Python literal)."""
    reply = client.execute_interactive(
        code, user_expressions={"value": expression}, timeout=KERNEL_TIMEOUT
    )["content"]
    assert reply["status"] == "ok", f"{code!r} failed: {reply.get('traceback')}"
    value = reply["user_expressions"]["value"]
    assert value["status"] == "ok", f"{expression!r} failed: {value.get('traceback')}"
    return ast.literal_eval(value["data"]["text/plain"])


def test_every_notebook_names_the_project_kernel():
    """So JupyterLab opens each on the kernel that works in the project root, and papermill runs
    it on the same one."""
    for notebook in sorted(DEFAULT_LAYOUT.notebooks_dir.glob("*.ipynb")):
        kernel = json.loads(notebook.read_text(encoding="utf-8"))["metadata"]["kernelspec"]
        assert kernel["name"] == PROJECT_KERNEL, notebook.name


def test_the_project_kernel_reloads_an_edited_module_without_restart(
    project_kernel: str, tmp_path: Path
):
    module = tmp_path / "edited_helper.py"
    module.write_text("def answer():\n    return 'before the edit'\n")
    with started_kernel(project_kernel, cwd=tmp_path) as kernel:
        imported = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import edited_helper"
        assert evaluate(kernel, imported, "edited_helper.answer()") == "before the edit"

        module.write_text("def answer():\n    return 'after the edit'\n")
        # autoreload looks at modification times: make this edit's unmistakably newer
        later = module.stat().st_mtime + 10
        os.utime(module, (later, later))
        assert evaluate(kernel, "pass", "edited_helper.answer()") == "after the edit"


# What a kernel has of the three things a researcher's kernel needs and a run's does not.
KERNEL_EXTRAS = (
    "{'autoreload': 'IPython.extensions.autoreload' in get_ipython().extension_manager.loaded,"
    " 'debugger': __import__('sys').modules.get('debugpy') is not None,"
    " 'history': get_ipython().history_manager.enabled}"
)


def test_a_run_starts_the_project_kernel_without_autoreload_debugger_or_history(
    project_kernel: str, tmp_path: Path
):
    """A run starts a kernel for one notebook, which has nothing to reload, nobody to attach a
    debugger and no researcher to recall its cells: the kernel JupyterLab starts has all three,
    the run's none."""
    everything = {"autoreload": True, "debugger": True, "history": True}
    with started_kernel(project_kernel, cwd=tmp_path) as kernel:
        assert evaluate(kernel, "pass", KERNEL_EXTRAS) == everything

    (tmp_path / "project").mkdir()
    project = make_diamond_project(tmp_path / "project")
    for notebook in project.notebooks_dir.glob("*.ipynb"):
        notebook.unlink()
    probe = {"inputs": ["data/raw/numbers.txt"], "outputs": ["data/processed/extras.json"]}
    project.pipeline_file.write_text(yaml.safe_dump({**PIPELINE, "notebooks": {"probe": probe}}))
    write_notebook(
        project.notebooks_dir / "probe.ipynb",
        'processed_dir = "data/processed"',
        "from pathlib import Path\n"
        f"Path(processed_dir, 'extras.json').write_text(repr({KERNEL_EXTRAS}))",
    )
    notebook = nbformat.read(project.notebooks_dir / "probe.ipynb", as_version=4)
    notebook.metadata["kernelspec"]["name"] = project_kernel
    nbformat.write(notebook, project.notebooks_dir / "probe.ipynb")

    assert statuses(run(project)) == {"probe": "executed"}
    extras = (project.processed_dir / "extras.json").read_text()
    assert ast.literal_eval(extras) == dict.fromkeys(everything, False)


def test_beside_the_notebooks_the_project_kernel_works_in_the_project_root(project_kernel: str):
    with started_kernel(project_kernel, cwd=DEFAULT_LAYOUT.notebooks_dir) as kernel:
        assert Path(evaluate(kernel, "import os", "os.getcwd()")) == ROOT
        assert evaluate(kernel, "pass", "os.path.isfile('pipeline.yaml')")


def test_elsewhere_the_project_kernel_stays_where_it_started(project_kernel: str, tmp_path: Path):
    """E.g. in the runner's staging copy of the project, whose files are the ones to read."""
    with started_kernel(project_kernel, cwd=tmp_path) as kernel:
        assert Path(evaluate(kernel, "import os", "os.getcwd()")) == tmp_path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def lab_api(port: int, token: str, path: str) -> bytes:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def test_make_lab_serves_the_notebooks_with_the_project_kernel(project_kernel: str, tmp_path: Path):
    port, token = free_port(), secrets.token_hex(16)
    lab_args = [
        "--no-browser",
        f"--port={port}",
        "--ServerApp.port_retries=0",  # fail on a taken port rather than move to another
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.token={token}",
    ]
    if os.geteuid() == 0:  # CI's containers run as root, which JupyterLab refuses by default
        lab_args.append("--allow-root")
    # An empty home folder: JupyterLab needs nothing of the researcher's ~/.jupyter.
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("JUPYTER") and name != "IPYTHONDIR"
    }
    environment["HOME"] = str(tmp_path / "home")
    log_file = tmp_path / "lab.log"
    with log_file.open("w") as log:
        lab = subprocess.Popen(
            # git-setup is left out: a test does not change the checkout's .git/config
            [*MAKE, "--old-file=git-setup", "lab", f"ARGS={' '.join(lab_args)}"],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: make, jupyter and the kernels
        )
    try:
        wait_for_lab(lab, port, token, log_file)

        kernelspecs = json.loads(lab_api(port, token, "/api/kernelspecs"))
        assert project_kernel in kernelspecs["kernelspecs"], kernelspecs["kernelspecs"].keys()
        assert kernelspecs["default"] == project_kernel

        page = lab_api(port, token, "/lab").decode()
        config = json.loads(
            re.search(r'<script id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S)[1]
        )
        assert Path(config["serverRoot"]) == ROOT
        assert config["preferredPath"] == "notebooks"
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        try:
            lab.wait(timeout=LAB_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait()


def wait_for_lab(lab: subprocess.Popen, port: int, token: str, log_file: Path) -> dict:
    """JupyterLab's /api/status once it answers; fails with its log if it exits or never does."""
    deadline = time.monotonic() + LAB_START_TIMEOUT
    while time.monotonic() < deadline:
        if lab.poll() is not None:
            pytest.fail(f"make lab exited with {lab.returncode}:\n{log_file.read_text()}")
        try:
            return json.loads(lab_api(port, token, "/api/status"))
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer in {LAB_START_TIMEOUT} s:\n{log_file.read_text()}")
