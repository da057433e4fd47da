"""Fixtures shared by several test modules."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest
from built_once import built_once, process_from_json, start_building
from diamond_project import make_diamond_project, run_once_for_all
from fetched_run import FetchOutcome, build_fetch_then_run
from own_data import build_own_data_run
from papermill_runs import build_papermill_runs
from project_runs import build_published_run
from real_format_funds import build_real_data_run
from sweep_pages import build_sweep_pages
from two_funds import canonical_of, history_table

from helpers.ingest.daily_flows import derive_daily_flows

# The `reliability` fixture and the generated reliability table (tests/support/reliability.py).
pytest_plugins = ["reliability"]


# The runs of the pipeline or of its notebooks that tests share (each fixture of that name returns
# what ran), and how each is built (built_once.py). Each starts as the session starts, so that
# its tests need not wait for it on one worker.
SHARED_RUNS = {
    "published_run": build_published_run,
    "own_data_run": build_own_data_run,
    "real_data_run": build_real_data_run,
    "fetch_then_run": build_fetch_then_run,
    "papermill_runs": build_papermill_runs,
    "sweep_pages": build_sweep_pages,
}


def pytest_collection_modifyitems(items) -> None:
    """Tests that read a shared run last, so that the other tests run while it is built; within
    each part the tests that run notebooks (marked `pipeline`) first, so that the quick ones
    fill the cores at the end (pytest-xdist hands tests out in this order)."""
    items.sort(
        key=lambda item: (
            bool(SHARED_RUNS.keys() & set(item.fixturenames)),
            item.get_closest_marker("pipeline") is None,
        )
    )


@pytest.fixture(scope="session", autouse=True)
def shared_runs_started(request, tmp_path_factory):
    """Starts, as the session starts, every shared run that a selected test reads, each on a
    thread of its own (under pytest-xdist a worker takes each run that no other has taken yet).
    The session ends when they are done."""
    needed = {name for item in request.session.items for name in item.fixturenames}
    started = [
        start_building(tmp_path_factory, name, build)
        for name, build in SHARED_RUNS.items()
        if name in needed
    ]
    yield
    for thread in started:
        thread.join()


def _shared_run(tmp_path_factory, name: str) -> tuple[Path, subprocess.CompletedProcess]:
    built = built_once(tmp_path_factory, name, SHARED_RUNS[name])
    result = process_from_json(built["result"])
    assert result.returncode == 0, result.stderr
    return Path(built["project"]), result


@pytest.fixture(scope="session")
def published_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """One run of the whole pipeline on the shipped data, into a temporary copy of the project:
    (the project, the finished process); once for the whole test run, also under pytest-xdist
    (built_once.py). Tests read it; a test that changes files copies it."""
    return _shared_run(tmp_path_factory, "published_run")


@pytest.fixture(scope="session")
def own_data_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """One run of the whole pipeline on a researcher's own fund files instead of the sample
    (tests/support/own_data.py): (the project, the finished process); once for the whole test
    run. Tests read it; a test that changes files copies it."""
    return _shared_run(tmp_path_factory, "own_data_run")


@pytest.fixture(scope="session")
def real_data_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """One run of the whole pipeline on real-format fund files (tests/support/real_format_funds.py):
    (the project, the finished process); once for the whole test run. Tests read it."""
    return _shared_run(tmp_path_factory, "real_data_run")


@pytest.fixture(scope="session")
def fetch_then_run(
    tmp_path_factory,
) -> tuple[Path, FetchOutcome, subprocess.CompletedProcess]:
    """`chinaflows fetch` from sources on 127.0.0.1 into a copy of the project, then its run
    (tests/support/fetched_run.py): (the project, the fetch's outcome, the run's finished
    process); once for the whole test run. Tests read it."""
    built = built_once(tmp_path_factory, "fetch_then_run", SHARED_RUNS["fetch_then_run"])
    return (
        Path(built["project"]),
        FetchOutcome(**built["fetch"]),
        process_from_json(built["result"]),
    )


@pytest.fixture(scope="session")
def papermill_runs(tmp_path_factory) -> tuple[Path, Path, list]:
    """Each step run with the plain papermill CLI in a fresh copy of the project, in pipeline
    order (tests/support/papermill_runs.py): (the project, the folder of executed notebooks,
    [(step name, finished process)]); once for the whole test run. Tests read it."""
    built = built_once(tmp_path_factory, "papermill_runs", SHARED_RUNS["papermill_runs"])
    runs = [(name, process_from_json(done)) for name, done in built["runs"]]
    return Path(built["project"]), Path(built["executed"]), runs


@pytest.fixture(scope="session")
def sweep_pages(tmp_path_factory) -> dict[str, str]:
    """The robustness page of a parameter sweep and of an as-of sweep
    (tests/support/sweep_pages.py), by sweep name; once for the whole test run."""
    return built_once(tmp_path_factory, "sweep_pages", SHARED_RUNS["sweep_pages"])["pages"]


@pytest.fixture(scope="session")
def diamond_that_ran(tmp_path_factory) -> Path:
    """The engine tests' diamond project (tests/support/diamond_project.py) after one run, once
    for the whole test run. A test that starts from a finished run copies it (copy_project)."""
    return run_once_for_all(tmp_path_factory, make_diamond_project)


@pytest.fixture
def history() -> pd.DataFrame:
    """Two funds over four trading days (tests/support/two_funds.py), rows deliberately out of
    order, with a pass-through column."""
    return history_table()


@pytest.fixture
def daily(history) -> pd.DataFrame:
    """The daily flows of `history`."""
    return derive_daily_flows(history)


@pytest.fixture
def canonical(daily) -> pd.DataFrame:
    """The canonical flows table of `daily` (no N-PORT months)."""
    return canonical_of(daily)
