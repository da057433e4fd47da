"""Sweeps on the diamond project, on an in-process Dask cluster: one graph, no work done
twice, a failing combination, an unchanged re-run without a kernel, no kernel left behind, a
single run alongside a sweep, stale clean-up against a live owner, a worker whose environment
differs, and what the sweep's pages say."""

from __future__ import annotations

import json
import threading

import filelock
import jupyter_core.utils
import pytest
import yaml
from diamond_project import (
    AS_OF,
    copy_project,
    make_diamond_project,
    refuse_kernels,
    run,
    statuses,
)
from kernel_processes import kernels_of

from notebook_pipeline import execution, site
from notebook_pipeline.failures import ExitCode, RunFailed
from notebook_pipeline.ownership import own_folder, owner_lock_file
from notebook_pipeline.spec import RunIndex
from notebook_pipeline.staging import staging_folders, sweep_stale_staging
from notebook_pipeline.sweep_graph import check_worker
from notebook_pipeline.sweep_run import run_sweep

pytestmark = pytest.mark.pipeline


def make_swept_diamond(root):
    """The diamond project with a sweep over `fail`, which only the last notebook declares."""
    project = make_diamond_project(root)
    pipeline = yaml.safe_load(project.pipeline_file.read_text())
    pipeline["sweeps"] = {"joins": {"title": "Joins", "grid": {"fail": [False, True]}}}
    project.pipeline_file.write_text(yaml.safe_dump(pipeline, sort_keys=False))
    return project


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """The swept diamond after one sweep, and what the sweep returned."""
    project = make_swept_diamond(tmp_path_factory.mktemp("swept"))
    # An event loop in this thread's context, as an earlier test in the process may leave:
    # the in-process workers copy the context, and each notebook must still get a loop of its own.
    jupyter_core.utils.ensure_event_loop()
    outcome = run_sweep(project, "joins", n_workers=2, processes=False)
    return project, outcome


def test_an_axis_only_a_downstream_step_declares_does_not_rerun_upstream(swept):
    project, outcome = swept
    # source, left, right once; join for each combination (one of them fails)
    assert outcome.executed == 4
    store = project.cache_dir / "steps"
    for step, entries in {"source": 1, "left": 1, "right": 1, "join": 1}.items():
        assert len([p for p in (store / step).iterdir() if p.is_dir()]) == entries, step


def test_a_failing_combination_is_listed_and_the_others_publish(swept):
    project, outcome = swept
    assert [f.combination for f in outcome.failures] == ["fail-true"]
    assert outcome.failures[0].step == "join"
    assert outcome.failures[0].exit_code == ExitCode.NOTEBOOK_ERROR
    assert outcome.published == ["fail-false"]
    folder = project.reports_dir / "sweeps" / "joins"
    run = json.loads((folder / "fail-false" / "run.json").read_text())
    assert (run["sweep"], run["combination"], run["overrides"]) == (
        "joins",
        "fail-false",
        {"fail": False},
    )
    assert not (folder / "fail-true").exists()
    manifest = json.loads((folder / "sweep.json").read_text())
    assert [c["status"] for c in manifest["combinations"]] == ["succeeded", "failed"]
    assert manifest["combinations"][1]["headline"] is None
    assert "fail-false/index.html" in (folder / "index.html").read_text()
    assert "sweeps/joins" in (project.reports_dir / "index.html").read_text()


def test_an_unchanged_rerun_starts_no_kernel(swept, tmp_path, monkeypatch):
    project = copy_project(swept[0].root, tmp_path / "copy")
    project.pipeline_file.write_text(
        project.pipeline_file.read_text().replace("- true\n", "")
    )  # the failing combination out
    refuse_kernels(monkeypatch)
    outcome = run_sweep(project, "joins", n_workers=1, processes=False)
    assert (outcome.executed, outcome.failures) == (0, [])


def test_stale_cleanup_spares_a_live_owner_and_frees_a_dead_one(tmp_path):
    project = make_diamond_project(tmp_path)
    live = project.staging_dir / "task-live"
    dead = project.staging_dir / "task-dead"
    owner = own_folder(live)
    own_folder(dead).release()  # as a killed process's lock is
    sweep_stale_staging(project)
    assert live.is_dir() and not dead.exists()
    owner.release()
    sweep_stale_staging(project)
    assert not live.exists()


def test_a_new_folder_is_taken_while_a_clean_up_looks_at_its_owner_file(tmp_path):
    """A clean-up (of another run, at the same moment) holds each owner file's lock for a moment
    to learn whether anyone owns it: a process taking a new folder then waits for it, rather
    than fail (a sweep failed so once, beside a run)."""
    folder = tmp_path / "staging" / "task-new"
    folder.parent.mkdir()
    looking = filelock.FileLock(
        owner_lock_file(folder), timeout=0, is_singleton=False, thread_local=False
    )  # released by the timer's thread
    looking.acquire()
    threading.Timer(0.3, looking.release).start()
    owner = own_folder(folder)
    assert folder.is_dir()
    owner.release()


def test_no_kernel_is_left_behind_after_a_sweep(swept):
    project, _ = swept
    assert kernels_of(project) == []
    assert staging_folders(project) == []


def count_executions(monkeypatch) -> list[str]:
    """The names of the notebooks executed from now on in this process (also by the tasks of
    an in-process cluster), in order."""
    executed: list[str] = []
    execute = execution.execute_step

    def counted(step, *args, **kwargs):
        executed.append(step.name)
        return execute(step, *args, **kwargs)

    monkeypatch.setattr(execution, "execute_step", counted)
    return executed


def test_a_single_run_alongside_a_sweep_both_publish_and_share_executions(tmp_path, monkeypatch):
    project = make_swept_diamond(tmp_path)
    executed = count_executions(monkeypatch)
    outcomes = []
    sweep = threading.Thread(
        target=lambda: outcomes.append(run_sweep(project, "joins", n_workers=2, processes=False))
    )
    sweep.start()
    try:
        record = run(project, lock_timeout=300)
    finally:
        sweep.join()
    [outcome] = outcomes
    assert outcome.published == ["fail-false"]
    assert record["status"] == "succeeded"
    # source, left and right have one execution key in the run and the sweep: each executed
    # once, by whichever took its lock first (the other waited, then reused it). join ran
    # for the run (no `fail` passed) and for each combination (`fail` passed).
    assert sorted(executed) == ["join", "join", "join", "left", "right", "source"], executed
    assert set(statuses(record).values()) <= {"executed", "cached"}
    folder = project.reports_dir / "sweeps" / "joins"
    assert json.loads((folder / "fail-false" / "run.json").read_text())["status"] == "succeeded"
    assert (project.report_dir(AS_OF) / "join.html").is_file()
    index = (project.reports_dir / "index.html").read_text()
    assert f'data-run="{AS_OF}"' in index and "sweeps/joins" in index
    assert staging_folders(project) == []


def test_a_worker_whose_environment_differs_is_refused_naming_it(tmp_path):
    project = make_diamond_project(tmp_path)
    with pytest.raises(RunFailed) as refused:
        check_worker(project.root, "0" * 64, None, "tcp://127.0.0.1:40123")
    assert refused.value.exit_code == ExitCode.USAGE
    message = str(refused.value)
    assert "Dask worker tcp://127.0.0.1:40123" in message
    assert "Python environment differs" in message and "expected 000000000000" in message
    with pytest.raises(RunFailed, match="no project at"):
        check_worker(tmp_path / "elsewhere", "0" * 64, None, "tcp://127.0.0.1:40123")


def test_the_sweep_page_states_the_as_of_dates_of_its_combinations():
    assert site.sweep_as_of([{"as_of": "2025-03-31"}, {"as_of": "2025-01-31"}]) == (
        "2025-01-31 to 2025-03-31"
    )
    assert site.sweep_as_of([{"as_of": "2025-12-31"}, {"as_of": "2025-12-31"}]) == "2025-12-31"


def test_a_combination_published_without_pages_links_none(tmp_path):
    run_record = {
        "title": "Diamond",
        "as_of": AS_OF,
        "finished": "2025-07-01T00:00:00",
        "sweep": "joins",
        "combination": "fail-false",
        "overrides": {"fail": False},
        "pages": "none",
        "notebooks": [{"name": "join", "title": "join", "status": "executed", "seconds": 1.0}],
    }
    page = site.render_run_index(
        tmp_path,
        run_record,
        site.HeadlineHtml(),
        RunIndex(),
        site.combination_index_nav("Joins"),
    ).read_text()
    assert 'href="join.html"' not in page and "--pages none" in page
    assert "fail = False" in page and 'href="../index.html"' in page
    assert 'href="../../../index.html"' in page  # the site index, from the combination
