"""The execution module's seams: no run changes the process's working folder, so two projects
run in one process at once, each through the executor it is given."""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from diamond_project import AS_OF, make_diamond_project

from notebook_pipeline.execution import local_executor
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
