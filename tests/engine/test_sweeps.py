"""Sweeps on the diamond project, on an in-process Dask cluster: one graph, no work done
twice, a failing combination, an unchanged re-run without a kernel, stale clean-up against
a live owner."""

from __future__ import annotations

import json

import pytest
import yaml
from diamond_project import copy_project, make_diamond_project, refuse_kernels

from notebook_pipeline.failures import ExitCode
from notebook_pipeline.ownership import own_folder
from notebook_pipeline.staging import sweep_stale_staging
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
