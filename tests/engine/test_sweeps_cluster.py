"""A sweep on a real Dask cluster: a `dask scheduler` and two `dask worker` processes started by
the test on 127.0.0.1, one worker killed (SIGKILL) while it runs a task. The sweep completes,
nothing half-written is published or stored, no kernel is left, every process is stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest
import yaml
from diamond_project import make_diamond_project, write_notebook
from kernel_processes import kernels_of
from waiting import wait_until

from notebook_pipeline.staging import staging_folders, sweep_stale_staging
from notebook_pipeline.sweep_run import run_sweep

# Its own group: a cluster of three processes plus kernels is all two cores can take.
pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("dask_cluster")]

DASK = Path(sys.executable).with_name("dask")

# `right` of the diamond, which can wait for the test: it writes its kernel's process id to
# signals/right.pid, then waits until signals/release exists.
PAUSING_RIGHT = (
    'processed_dir = "data/processed"\n'
    'signal_dir = "signals"  # where the kernel and the test signal each other\n'
    "wait_for_release = False  # wait until signal_dir/release exists",
    "import os, time\n"
    "from pathlib import Path\n"
    "Path(signal_dir, 'right.pid').write_text(str(os.getpid()))\n"
    "while wait_for_release and not Path(signal_dir, 'release').exists():\n"
    "    time.sleep(0.05)\n"
    "total = int(Path(processed_dir, 'total.txt').read_text())\n"
    "Path(processed_dir, 'right.txt').write_text(str(total % 2))",
)


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and two single-threaded workers on 127.0.0.1: the scheduler file's path.
    Every process (and its children) is killed at the end."""
    scheduler_file = tmp_path / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": tmp_path}
    started = [
        subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0"]
            + ["--scheduler-file", scheduler_file, "--no-dashboard"],
            **quiet,
        )
    ]
    try:
        assert wait_until(scheduler_file.is_file), "the scheduler did not start"
        for _ in range(2):
            started.append(
                subprocess.Popen(
                    [DASK, "worker", "--scheduler-file", scheduler_file]
                    + ["--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
                    **quiet,
                )
            )
        yield scheduler_file
    finally:
        for process in started:
            for child in psutil.Process(process.pid).children(recursive=True):
                child.kill()
            process.kill()
            process.wait()


def test_a_worker_killed_mid_task_the_sweep_completes_whole(tmp_path, cluster):
    (tmp_path / "project").mkdir()
    project = make_diamond_project(tmp_path / "project")
    write_notebook(project.notebooks_dir / "right.ipynb", *PAUSING_RIGHT)
    (project.root / "signals").mkdir()
    pipeline = yaml.safe_load(project.pipeline_file.read_text())
    pipeline["sweeps"] = {
        "joins": {"title": "Joins", "grid": {"wait_for_release": [True], "fail": [False]}}
    }
    project.pipeline_file.write_text(yaml.safe_dump(pipeline, sort_keys=False))
    pid_file = project.root / "signals" / "right.pid"

    outcomes = []
    sweep = threading.Thread(
        target=lambda: outcomes.append(run_sweep(project, "joins", scheduler=str(cluster)))
    )
    sweep.start()
    try:
        assert wait_until(pid_file.is_file), "right's kernel did not start"
        kernel = psutil.Process(int(pid_file.read_text()))
        worker = kernel.parent()  # the worker process that runs the task
        pid_file.unlink()
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=60)
        # the task runs again on the other worker (or the worker its nanny restarts)
        assert wait_until(pid_file.is_file), "right did not run again"
    finally:
        (project.root / "signals" / "release").touch()
        sweep.join()

    [outcome] = outcomes
    combination = "wait_for_release-true_fail-false"
    assert (outcome.published, outcome.failures) == ([combination], [])
    folder = project.reports_dir / "sweeps" / "joins" / combination
    run = json.loads((folder / "run.json").read_text())
    assert [nb["name"] for nb in run["notebooks"]] == ["source", "left", "right", "join"]
    assert (folder / "right.html").is_file() and (folder / "join.html").is_file()
    # nothing half-written: no hidden folder under reports/, one whole entry per step
    assert not [p for p in project.reports_dir.rglob(".*")]
    store = project.cache_dir / "steps"
    for step in ("source", "left", "right", "join"):
        entries = [p for p in (store / step).iterdir() if p.is_dir()]
        assert [p.name.startswith(".") for p in entries] == [False], entries
    # the killed task's staging folder lost its owner with the worker: the next clean-up frees it
    sweep_stale_staging(project)
    assert staging_folders(project) == []
    assert wait_until(lambda: not kernels_of(project)), kernels_of(project)
    assert os.path.isfile(cluster)  # the cluster was used, not a local one
