"""The execution module's seams: no run changes the process's working folder, so two projects
run in one process at once, each through the executor it is given."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from diamond_project import AS_OF, make_diamond_project

from notebook_pipeline.execution import _kernel_manager, local_executor
from notebook_pipeline.run import run_pipeline

pytestmark = pytest.mark.pipeline


def test_two_projects_run_at_once_in_one_process(tmp_path):
    projects = []
    for name, numbers in (("one", "1 2 3\n"), ("two", "4 5 6\n")):
        (tmp_path / name).mkdir()
        project = make_diamond_project(tmp_path / name)
        (project.raw_dir / "numbers.txt").write_text(numbers)
        projects.append(project)
    folder = os.getcwd()
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(lambda p: run_pipeline(p, as_of=AS_OF, jobs=2), projects))
    assert os.getcwd() == folder
    # source doubles the sum (factor 2 in pipeline.yaml); left adds 10; join writes left,right.
    assert [(p.processed_dir / "join.txt").read_text() for p in projects] == ["22,0", "40,0"]
    for project, report in zip(projects, reports, strict=True):
        assert report == project.report_dir(AS_OF)
        assert json.loads((report / "run.json").read_text())["status"] == "succeeded"


def test_a_run_executes_through_the_executor_it_is_given(tmp_path):
    (tmp_path / "p").mkdir()
    project = make_diamond_project(tmp_path / "p")
    used = []

    def counted_executor(jobs):
        used.append(threading.current_thread().name)
        return local_executor(jobs)

    run_pipeline(project, as_of=AS_OF, executor=counted_executor)
    assert len(used) == 1


def test_a_run_kernel_asked_to_end_exits_by_itself(tmp_path):
    """A run's kernel, asked to end, exits by itself (status 0), not terminated by
    jupyter_client once its wait is over (-SIGTERM), as in about three shutdowns of four before
    LAUNCH_FOR_ONE_NOTEBOOK waited for ipykernel's control thread. Four kernels, one by one."""

    async def run_and_end() -> int:
        # The kernel's sockets in a folder of its own whose path is short enough for a socket,
        # as a run gives them.
        with tempfile.TemporaryDirectory() as sockets:
            manager = _kernel_manager(tmp_path / "kernels.log", tmp_path, Path(sockets))
            # Terminated after 4 s rather than 2.5 (half the wait), for a slow machine: still
            # before the 10 s that ipykernel's stuck flush waits.
            kernel = manager(kernel_name="python3", shutdown_wait_time=8)
            await kernel.start_kernel()
            process = kernel.provisioner.process
            client = kernel.client()
            client.start_channels()
            await client.wait_for_ready(timeout=60)
            await client.execute_interactive("total = 1 + 2", timeout=60)
            client.stop_channels()
            await kernel.shutdown_kernel()
            return process.wait()

    async def four_kernels() -> list[int]:
        return [await run_and_end() for _ in range(4)]

    assert asyncio.run(four_kernels()) == [0, 0, 0, 0]
