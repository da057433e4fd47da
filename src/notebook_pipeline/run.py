"""A run of the pipeline: a graph of notebooks, run in parallel, cached by content, published
whole or not at all.

Before any kernel starts, pre-flight resolves and checks everything (preflight.resolve_run).
The run then works in a staging copy of the project (staging), executes each notebook after
the ones whose outputs it reads through an executor (execution), reuses the last execution of a
notebook whose execution key is unchanged (fingerprint, step_cache), rendering only its page
again when what the page alone depends on changed (its page key), and, when every notebook
succeeded, publishes data/processed and reports/<as_of>/. A failed run leaves both as they were
and keeps the failed notebook and its page in .chinaflows/failed/<as_of>/ (failures): nothing of
a run in progress or failed is ever under reports/, which is the published site.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import graphlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from notebook_pipeline import fingerprint, notebook_page, provenance, site
from notebook_pipeline.execution import (
    KERNEL_LOG_SUFFIX,
    code_cell_count,
    local_executor,
    run_and_render,
)
from notebook_pipeline.failures import (
    ExitCode,
    RunFailed,
    describe_disk_full,
    is_disk_full,
    notebook_failure,
)
from notebook_pipeline.fingerprint import (
    RunContext,
    page_fingerprint,
    run_context,
    step_fingerprint,
    step_inputs,
)
from notebook_pipeline.layout import ProjectLayout
from notebook_pipeline.ownership import own_folder, release_folder
from notebook_pipeline.preflight import resolve_run
from notebook_pipeline.progress import RunDisplay
from notebook_pipeline.spec import NotebookStep, Pipeline, page_outline, upstream_steps
from notebook_pipeline.staging import (
    detach_outputs,
    finish_publishing,
    keep_failed_run,
    make_staging_project,
    publish_processed,
    publish_report,
    publishing_interrupted,
    publishing_lock,
    report_staging_folder,
    start_publishing,
    sweep_stale_staging,
)
from notebook_pipeline.step_cache import StepCache, output_digests, restore_outputs


@dataclass
class StepRecord:
    """What run.json says about one notebook."""

    name: str
    title: str
    status: str  # "executed", "cached" (notebook and page reused) or "rendered" (page only)
    seconds: float  # spent in this run
    executed_seconds: float  # of the execution whose results the report shows
    started_at: str  # of that execution
    executed_at: str
    parameters: dict[str, Any]
    inputs: dict[str, str]  # declared input -> SHA-256 of its content
    outputs: dict[str, str] = field(default_factory=dict)
    key: str = ""  # its execution key
    page_key: str = ""
    # What the keys are digests of (step_fingerprint, page_fingerprint); kept in the cache to
    # say why a notebook re-runs or its page is rendered again, left out of run.json, which
    # lists the parameters and inputs already.
    fingerprint: dict[str, Any] = field(default_factory=dict, repr=False)
    page_fingerprint: dict[str, Any] = field(default_factory=dict, repr=False)

    def for_run_json(self) -> dict[str, Any]:
        """The record as run.json lists it (without the fingerprints)."""
        entry = asdict(self)
        del entry["fingerprint"], entry["page_fingerprint"]
        return entry


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def run_pipeline(
    layout: ProjectLayout,
    as_of: str | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    show_code: bool = False,
    jobs: int | None = None,
    force: bool = False,
    display: RunDisplay | None = None,
    lock_timeout: float = 0,
    executor: Callable[[int], Executor] = local_executor,
) -> Path:
    """Run the pipeline and publish reports/<as_of>/; returns that folder.

    Runs (and sweeps) of one project execute side by side, each in staging folders of its own;
    only publishing is one at a time, under the publishing lock (an OS file lock, free again at
    once when its holder is killed), for which a run waits `lock_timeout` seconds. A run first
    deletes the staging folders killed runs left (never a live one's). Notebooks execute
    through `executor(jobs)` (execution.local_executor: threads on this machine).
    """
    display = display or RunDisplay()
    layout.work_dir.mkdir(parents=True, exist_ok=True)
    try:
        sweep_stale_staging(layout)
        jobs = jobs or os.cpu_count() or 1
        run = _Run(layout, display, show_code, jobs, force, executor, lock_timeout)
        return run.run(as_of, dict(overrides or {}))
    except OSError as error:
        if not is_disk_full(error):
            raise
        raise RunFailed(ExitCode.DISK_FULL, describe_disk_full(error, layout.root)) from None
    finally:
        display.close()


class _Run:
    """One run, from its resolved parameters to the published report."""

    def __init__(
        self,
        layout: ProjectLayout,
        display: RunDisplay,
        show_code: bool,
        jobs: int,
        force: bool,
        executor: Callable[[int], Executor],
        lock_timeout: float,
    ):
        self.layout = layout
        self.display = display
        self.show_code = show_code
        self.jobs = jobs
        self.force = force
        self.executor = executor
        self.cache = StepCache(layout.cache_dir)
        self.as_of = ""
        self.lock_timeout = lock_timeout
        self.forced_since = _now() if force else ""  # --force: reuse only what is newer

    def run(self, as_of: str | None, overrides: dict[str, Any]) -> Path:
        started = _now()
        pipeline, as_of, parameters = resolve_run(self.layout, as_of, overrides)
        headline_file, headline_html = site.headline_hook(pipeline)
        self.as_of = as_of
        run_id = f"{as_of}-{uuid.uuid4().hex[:8]}"
        work = self.layout.staging_dir / run_id
        owner = own_folder(work)
        report_staging = report_staging_folder(self.layout, run_id)
        try:
            project = make_staging_project(self.layout, work, lock_timeout=self.lock_timeout)
            self.project = project
            self.pipeline = pipeline
            self.page = notebook_page.PageContext(
                self.layout, as_of, self.layout.report_dir(as_of), pipeline, self.show_code
            )
            report_staging.mkdir(parents=True)
            versions = fingerprint.installed_versions(self.layout.cache_dir)
            context = run_context(pipeline.study.package, self.show_code, as_of, versions)
            records = self._run_graph(pipeline, parameters, project, report_staging, context)
            for published in pipeline.publish:
                shutil.copy2(project.root / published, report_staging / Path(published).name)
            for log in report_staging.glob(f"*{KERNEL_LOG_SUFFIX}"):
                log.unlink()
            run = {
                "title": pipeline.title,
                "as_of": as_of,
                "status": "succeeded",
                "started": started,
                "finished": _now(),
                "jobs": self.jobs,
                "forced": self.force,
                "git": provenance.git_state(self.layout.root),
                "python": versions["python"],
                "packages": provenance.project_package_versions(
                    versions, pipeline.study.package, self.layout.cache_dir
                ),
                "environment_sha256": context.environment_sha256,
                "study_sha256": context.study_sha256,
                "notebooks": [records[step.name].for_run_json() for step in pipeline.steps],
            }
            (report_staging / "run.json").write_text(json.dumps(run, indent=2), encoding="utf-8")

            headline = site.read_headline(report_staging, headline_file)
            site.render_run_index(report_staging, run, headline_html(headline), pipeline.run_index)
            with publishing_lock(self.layout, self.lock_timeout):
                finish_interrupted_publishing(self.layout, pipeline)
                start_publishing(self.layout)
                publish_processed(project.processed_dir, self.layout.processed_dir)
                target = publish_report(report_staging, self.layout, as_of)
                site.render_site_index(
                    self.layout.reports_dir, pipeline.title, headline_file, headline_html
                )
                finish_publishing(self.layout)
            return target
        finally:
            shutil.rmtree(report_staging, ignore_errors=True)
            release_folder(work, owner)

    def _run_graph(
        self,
        pipeline: Pipeline,
        parameters: dict[str, dict[str, Any]],
        project: ProjectLayout,
        report_staging: Path,
        context: RunContext,
    ) -> dict[str, StepRecord]:
        """Each notebook after the ones whose outputs it reads, up to `jobs` at a time."""
        steps = {step.name: step for step in pipeline.steps}
        sorter = graphlib.TopologicalSorter(
            {step.name: upstream_steps(pipeline, step) for step in pipeline.steps}
        )
        sorter.prepare()
        for step in pipeline.steps:
            self.display.add(step.name, code_cell_count(step.path))

        records: dict[str, StepRecord] = {}
        ready: list[str] = []
        running: dict[Future, str] = {}
        failure: tuple[NotebookStep, BaseException] | None = None
        with self.executor(self.jobs) as pool:
            while failure is None and sorter.is_active():
                ready += sorted(sorter.get_ready())
                while ready and len(running) < self.jobs:
                    step = steps[ready.pop(0)]
                    record = self._fingerprinted(step, parameters[step.name], project, context)
                    future = pool.submit(self._step, step, record, project, report_staging)
                    running[future] = step.name
                if not running:
                    continue
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    name = running.pop(future)
                    try:
                        records[name] = future.result()
                    except Exception as error:  # noqa: BLE001 - reported with its notebook below
                        self.display.failed(name)
                        failure = failure or (steps[name], error)
                        continue
                    sorter.done(name)
        if failure is not None:
            self._fail(*failure, parameters, report_staging)
        return records

    def _step(
        self, step: NotebookStep, record: StepRecord, project: ProjectLayout, report_staging: Path
    ) -> StepRecord:
        """The notebook's execution from the step store, else executed now and stored, holding
        the OS lock of its execution key (StepCache.key_lock) meanwhile: a run, a sweep or
        another run that needs the same execution at the same time waits, then reuses it."""
        with self.cache.key_lock(step.name, record.key):
            if self._reuse(step, record, project, report_staging):
                return record
            detach_outputs(step, project)
            self.display.running(step.name)
            record.started_at = _now()
            seconds = run_and_render(
                step, record.parameters, project, report_staging, self.display, self.page
            )
            record.seconds = record.executed_seconds = seconds
            record.executed_at = _now()
            record.outputs = output_digests(project.root, step.outputs)
            self.cache.store(
                record.name,
                record.key,
                fingerprint=record.fingerprint,
                seconds=record.executed_seconds,
                started=record.started_at,
                finished=record.executed_at,
                outputs=record.outputs,
                root=project.root,
                notebook=report_staging / f"{record.name}.ipynb",
                page=report_staging / f"{record.name}.html",
                page_key=record.page_key,
                page_fingerprint=record.page_fingerprint,
            )
            self.display.done(step.name, seconds)
        return record

    def _reuse(
        self, step: NotebookStep, record: StepRecord, project: ProjectLayout, report_staging: Path
    ) -> bool:
        """Take the notebook's execution from the step store if one was made under its
        execution key (no kernel), its outputs restored into the staging project: its page too
        if one was rendered under its page key, else render its page again from it."""
        # --force: only an execution made since this run started (by another run meanwhile)
        cached = self.cache.lookup(record.name, record.key, made_since=self.forced_since)
        if cached is None:
            return False
        restore_outputs(cached, project.root)
        shutil.copy2(cached.notebook, report_staging / f"{record.name}.ipynb")
        if cached.page_is_current(record.page_key):
            shutil.copy2(cached.page_for(record.page_key), report_staging / f"{record.name}.html")
            record.status = "cached"
            self.display.cached(record.name)
        else:
            clock = time.perf_counter()
            notebook_page.render_page(step, record.parameters, report_staging, self.page, project)
            record.seconds = time.perf_counter() - clock
            record.status = "rendered"
            self.cache.store_page(
                record.name,
                record.key,
                notebook=report_staging / f"{record.name}.ipynb",
                page=report_staging / f"{record.name}.html",
                page_key=record.page_key,
                page_fingerprint=record.page_fingerprint,
            )
            self.display.rendered(record.name, record.seconds)
        record.executed_seconds = cached.seconds
        record.started_at = cached.started
        record.executed_at = cached.finished
        record.outputs = cached.outputs
        return True

    def _fingerprinted(self, step, parameters, project: ProjectLayout, context) -> StepRecord:
        """The record of `step` in this run, with its execution and page keys."""
        inputs = step_inputs(step, project.root)
        parts = step_fingerprint(step, parameters, inputs, context)
        key = fingerprint.digest(parts)
        page_parts = page_fingerprint(step, key, context, page_outline(self.pipeline, step))
        return StepRecord(
            name=step.name,
            title=step.title,
            status="executed",
            seconds=0.0,
            executed_seconds=0.0,
            started_at="",
            executed_at="",
            parameters=parameters,
            inputs=inputs,
            key=key,
            page_key=fingerprint.digest(page_parts),
            fingerprint=parts,
            page_fingerprint=page_parts,
        )

    def _fail(self, step, error, parameters, report_staging: Path):
        """Stop the run for `step`'s `error`: keep the failed run, raise RunFailed."""
        from jupyter_client.kernelspec import NoSuchKernel

        executed = report_staging / f"{step.name}.ipynb"
        if isinstance(error, NoSuchKernel):
            raise RunFailed(
                ExitCode.USAGE,
                f"{step.name}: its notebook names the Jupyter kernel {error.name!r}, which is not"
                " registered in this environment; `chinaflows kernel` registers the project's"
                " kernel (make does it for you)",
            ) from None
        if is_disk_full(error):
            # Keeping the failed run would need room: it is discarded with the staging folders.
            raise RunFailed(
                ExitCode.DISK_FULL,
                describe_disk_full(error, self.layout.root, step.name, executed),
            ) from None
        if executed.exists():
            failed = self.layout.failed_reports_dir / self.as_of
            page = dataclasses.replace(self.page, published_dir=failed, show_code=True)
            notebook_page.render_page(
                step, parameters[step.name], report_staging, page, self.project
            )
        with publishing_lock(self.layout, self.lock_timeout):
            failed = keep_failed_run(report_staging, self.layout, self.as_of)
        raise notebook_failure(
            step.name,
            error,
            failed,
            self.pipeline.study.invalid_data_errors,
            KERNEL_LOG_SUFFIX,
        ) from None


def finish_interrupted_publishing(layout: ProjectLayout, pipeline: Pipeline) -> None:
    """Finish the job of a publisher killed while publishing, which may have swapped its report
    in without listing it in the site index (the publishing lock's recovery has put back a
    report moved aside). Call it holding the publishing lock."""
    if not publishing_interrupted(layout):
        return
    if layout.reports_dir.is_dir():
        headline_file, headline_html = site.headline_hook(pipeline)
        site.render_site_index(layout.reports_dir, pipeline.title, headline_file, headline_html)
    finish_publishing(layout)
