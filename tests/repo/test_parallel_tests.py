"""`make test` runs the tests on every core (pytest-xdist, `--dist loadgroup`): the tests of one
xdist_group (the timed tests, JupyterLab's) must land on one
worker, in turn. pytest 9.2 stopped reading the node ids that pytest-xdist 3.8 marks with the
group, which silently spread every group over the workers."""

from __future__ import annotations

import re
import subprocess
import sys

from repository import ROOT

GROUPED_TESTS = """
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("together")


@pytest.mark.parametrize("number", range(4))
def test_grouped(number):
    with Path("workers.txt").open("a") as record:
        record.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")
"""
OTHER_TESTS = """
import pytest


@pytest.mark.parametrize("number", range(8))
def test_other(number):
    pass
"""


def test_the_makefile_runs_the_tests_by_group_on_every_core():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^PARALLEL := -n auto --dist loadgroup$", makefile, re.MULTILINE)


def test_the_tests_of_one_group_run_on_one_worker(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # none of this project's settings
    (tmp_path / "test_grouped.py").write_text(GROUPED_TESTS)
    (tmp_path / "test_other.py").write_text(OTHER_TESTS)
    command = [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup"]
    done = subprocess.run(
        [*command, "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    workers = (tmp_path / "workers.txt").read_text().split()
    assert len(workers) == 4 and len(set(workers)) == 1, workers
