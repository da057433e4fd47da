"""`chinaflows sweep NAME`: every combination of a sweep as one graph on Dask, each combination
published like a single run, then the sweep's manifest and page.

Every combination is checked before anything runs (sweep_spec.resolve_combinations), the plan
is made (sweep_graph.plan_sweep) and each unique task submitted to the cluster with the tasks
it reads from as dependencies. A failed task fails only the combinations that need it. Each
combination that succeeded is then published whole under the publishing lock into
reports/sweeps/<sweep>/<combination>/ (its run index, run.json, headline and, with pages, its
notebooks' pages); sweep.json lists every combination with its status, and the study's sweep
page (pipeline.yaml: sweep_page) is run on it and published as reports/sweeps/<sweep>/index.html.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from notebook_pipeline import files, fingerprint, notebook_page, provenance, site, sweep_spec
from notebook_pipeline.errors import InvalidDataError, InvalidParameterError
from notebook_pipeline.failures import ExitCode, RunFailed
from notebook_pipeline.layout import ProjectLayout
from notebook_pipeline.ownership import own_folder, release_folder
from notebook_pipeline.progress import SweepLine
from notebook_pipeline.spec import NotebookStep, Pipeline, load_pipeline
from notebook_pipeline.staging import make_staging_project, publish_report, publishing_lock
from notebook_pipeline.step_cache import StepCache, restore_outputs
from notebook_pipeline.sweep_graph import (
    SWEEPS_DIR,
    PlannedCombination,
    SweepPlan,
    TaskResult,
    combination_folder,
    combination_page_key,
    execute_task,
    plan_sweep,
)

PAGES_ALL_UP_TO = 50  # --pages default: every combination's pages up to this many combinations


@dataclass(frozen=True)
class SweepFailure:
    """A combination that was not published: the step that failed and where its run is kept."""

    combination: str
    step: str
    message: str
    exit_code: int


@dataclass
class SweepOutcome:
    """What a sweep did."""

    folder: Path  # reports/sweeps/<sweep>/
    published: list[str] = field(default_factory=list)
    failures: list[SweepFailure] = field(default_factory=list)
    executed: int = 0  # notebooks executed (kernels started)
    cached: int = 0  # tasks served by the step store


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def resolve_sweep(
    layout: ProjectLayout,
    name: str,
    show_code: bool = False,
    inputs: ProjectLayout | None = None,
):
    """The pipeline, the sweep, the run context and the plan, checked before anything runs;
    the inputs no step writes read under `inputs` (the sweep's staging project), else
    `layout`."""
    try:
        pipeline = load_pipeline(layout)
        sweep = sweep_spec.load_sweep(layout, name)
        resolved = sweep_spec.resolve_combinations(layout, pipeline, sweep)
    except InvalidParameterError as error:
        raise RunFailed(ExitCode.USAGE, str(error)) from None
    except InvalidDataError as error:
        raise RunFailed(ExitCode.INVALID_DATA, f"invalid data:\n{error}") from None
    versions = fingerprint.installed_versions(layout.cache_dir)
    context = fingerprint.run_context(pipeline.study.package, show_code, "", versions)
    plan = plan_sweep(inputs or layout, pipeline, resolved, context, sweep)
    return pipeline, sweep, context, plan


def run_sweep(
    layout: ProjectLayout,
    name: str,
    *,
    scheduler: str | None = None,
    pages: str | None = None,
    force: bool = False,
    show_code: bool = False,
    line: SweepLine | None = None,
    n_workers: int | None = None,
    processes: bool = True,
) -> SweepOutcome:
    """Run the sweep `name` on Dask (a local cluster, or the one at `scheduler`) and publish
    reports/sweeps/<name>/. `pages`: "all" or "none" (default: all up to PAGES_ALL_UP_TO
    combinations)."""
    from notebook_pipeline.dask_executor import dashboard_address, sweep_client
    from notebook_pipeline.staging import sweep_stale_staging

    line = line or SweepLine()
    started = _now()
    layout.work_dir.mkdir(parents=True, exist_ok=True)
    sweep_stale_staging(layout)
    work = layout.staging_dir / f"sweep-{name}-{uuid.uuid4().hex[:8]}"
    owner = own_folder(work)
    try:
        # One snapshot of data/raw for every task (taken under the run lock: a fetch is seen
        # whole or not at all), and the plan made on it.
        inputs = make_staging_project(layout, _inputs_folder(work), with_published_data=False)
        pipeline, sweep, context, plan = resolve_sweep(layout, name, show_code, inputs)
        with_pages = (
            pages or ("all" if len(plan.combinations) <= PAGES_ALL_UP_TO else "none")
        ) == "all"
        outcome = SweepOutcome(layout.reports_dir / SWEEPS_DIR / name)
        with sweep_client(scheduler, n_workers=n_workers, processes=processes) as client:
            if dashboard := dashboard_address(client):
                line.note(f"Dask dashboard: {dashboard}")
            results, errors = _run_tasks(
                client, layout, plan, context, show_code, force, started, inputs, line
            )
        outcome.executed = sum(r.status == "executed" for r in results.values())
        outcome.cached = sum(r.status == "cached" for r in results.values())
        manifest = []
        for combination in plan.combinations:
            failure = next(
                (
                    (step, errors[key])
                    for step, key in combination.plan_keys.items()
                    if key in errors
                ),
                None,
            )
            entry = {
                "name": combination.name,
                "folder": combination.name,
                "parameters": {**combination.overrides, "as_of": combination.as_of}
                if "as_of" in sweep.axes
                else dict(combination.overrides),
                "as_of": combination.as_of,
            }
            if failure is None:
                _publish_combination(
                    layout, pipeline, sweep, combination, results, context, work, with_pages
                )
                outcome.published.append(combination.name)
                headline, _ = site.headline_hook(pipeline)
                entry.update(
                    status="succeeded",
                    headline=f"{combination.name}/{headline}" if headline else None,
                    error="",
                )
            else:
                step, error = failure
                code = getattr(error, "exit_code", ExitCode.NOTEBOOK_ERROR)
                outcome.failures.append(SweepFailure(combination.name, step, str(error), code))
                entry.update(status="failed", headline=None, error=f"{step}: {error}")
            manifest.append(entry)
        _publish_sweep_page(layout, pipeline, sweep, manifest, work, context, show_code)
    finally:
        release_folder(work, owner)
    return outcome


def _inputs_folder(work: Path) -> Path:
    """The sweep's staging project in its folder `work`: the data/raw snapshot every task and
    page reads."""
    return work / "project"


def _run_tasks(client, layout, plan: SweepPlan, context, show_code, force, started, inputs, line):
    """Submit every task, its upstream tasks' futures as arguments; returns the results and
    the errors by plan key, showing the sweep's progress line meanwhile."""
    from distributed import as_completed

    made_since = started if force else ""
    futures = {}
    for plan_key, task in plan.tasks.items():
        futures[plan_key] = client.submit(
            execute_task,
            str(layout.root),
            task,
            context.environment_sha256,
            show_code,
            made_since,
            str(inputs.raw_dir),
            *(futures[u] for u in task.upstream),
            key=f"{task.step_name}-{plan_key[:16]}",
            pure=False,
        )
    by_future = {future.key: plan_key for plan_key, future in futures.items()}
    results: dict[str, TaskResult] = {}
    errors: dict[str, BaseException] = {}
    total = len(futures)

    def show() -> None:
        finished = results.keys() | errors.keys()
        ready = [
            k for k, t in plan.tasks.items() if k not in finished and finished >= set(t.upstream)
        ]
        cached = sum(r.status == "cached" for r in results.values())
        line.show(len(results), len(ready), cached, len(errors), total)

    show()
    for future in as_completed(list(futures.values())):
        plan_key = by_future[future.key]
        if future.status == "finished":
            results[plan_key] = future.result()
        else:
            errors[plan_key] = future.exception()
        show()
    line.close()
    return results, errors


def _publish_combination(
    layout: ProjectLayout,
    pipeline: Pipeline,
    sweep,
    combination: PlannedCombination,
    results: dict[str, TaskResult],
    context: fingerprint.RunContext,
    work: Path,
    with_pages: bool,
) -> Path:
    """Build a combination's report folder from the step store and publish it whole."""
    cache = StepCache(layout.cache_dir)
    relative = combination_folder(sweep.name, combination.name)
    folder = work / combination.name
    folder.mkdir()
    combination_context = dataclasses.replace(context, as_of=combination.as_of)
    nav = site.combination_page_nav(sweep.title)
    page = notebook_page.PageContext(
        layout, combination.as_of, layout.root / relative, pipeline, context.show_code, nav
    )
    steps = [results[combination.plan_keys[step.name]] for step in pipeline.steps]
    project = None
    records = []
    for step, result in zip(pipeline.steps, steps, strict=True):
        entry = cache.entry(step.name, result.key)
        page_key, page_parts = combination_page_key(
            pipeline, step.name, result.key, combination_context, nav
        )
        if with_pages:
            shutil.copy2(entry.notebook, folder / f"{step.name}.ipynb")
            if entry.page_is_current(page_key):
                shutil.copy2(entry.page_for(page_key), folder / f"{step.name}.html")
            else:
                if project is None:  # the page's facts read what the combination wrote
                    project = make_staging_project(
                        layout,
                        work / f"{combination.name}-project",
                        with_published_data=False,
                        raw_snapshot=ProjectLayout(_inputs_folder(work)).raw_dir,
                    )
                    for other in steps:
                        restore_outputs(cache.entry(other.step_name, other.key), project.root)
                notebook_page.render_page(
                    step, combination.parameters[step.name], folder, page, project
                )
                cache.store_page(
                    step.name,
                    result.key,
                    notebook=folder / f"{step.name}.ipynb",
                    page=folder / f"{step.name}.html",
                    page_key=page_key,
                    page_fingerprint=page_parts,
                )
        records.append(
            {
                **result.record,
                "status": result.status,
                "seconds": result.seconds if result.status == "executed" else 0.0,
                "page_key": page_key,
            }
        )
    producers = {o: s.name for s in pipeline.steps for o in s.outputs}
    keys = {result.step_name: result.key for result in steps}
    for published in pipeline.publish:
        entry = cache.entry(producers[published], keys[producers[published]])
        shutil.copy2(entry.saved_output(published), folder / Path(published).name)
    versions = fingerprint.installed_versions(layout.cache_dir)
    run = {
        "title": pipeline.title,
        "as_of": combination.as_of,
        "status": "succeeded",
        "sweep": sweep.name,
        "combination": combination.name,
        "overrides": combination.overrides,
        "pages": "all" if with_pages else "none",  # the notebooks' pages published, or not
        "finished": _now(),
        "git": provenance.git_state(layout.root),
        "python": versions["python"],
        "packages": provenance.project_package_versions(
            versions, pipeline.study.package, layout.cache_dir
        ),
        "environment_sha256": context.environment_sha256,
        "study_sha256": context.study_sha256,
        "notebooks": records,
    }
    files.write_json(run, folder / "run.json")
    headline_file, headline_html = site.headline_hook(pipeline)
    site.render_run_index(
        folder,
        run,
        headline_html(site.read_headline(folder, headline_file)),
        pipeline.run_index,
        site.combination_index_nav(sweep.title),
    )
    with publishing_lock(layout, timeout=-1):
        return publish_report(folder, layout, relative.removeprefix("reports/"))


def _publish_sweep_page(
    layout: ProjectLayout,
    pipeline: Pipeline,
    sweep,
    manifest: list[dict[str, Any]],
    work: Path,
    context: fingerprint.RunContext,
    show_code: bool,
) -> None:
    """Write sweep.json, run the study's sweep page on it (from the step store when nothing
    changed) and publish both, with the site index that lists the sweep."""
    relative = f"reports/{SWEEPS_DIR}/{sweep.name}"
    content = {
        "sweep": sweep.name,
        "title": sweep.title,
        "axes": list(sweep.axes),
        "combinations": manifest,
    }
    published = layout.root / relative
    sweep_page = sweep_spec.load_sweep_page(layout)
    page_html = None
    if sweep_page is not None:
        page_html = _run_sweep_page(layout, pipeline, sweep_page, content, published, work, context)
    with publishing_lock(layout, timeout=-1):
        files.write_json(content, published / "sweep.json")
        if page_html is None:
            site.render_sweep_index(published, content)
        else:
            page_html = site.link_missing_combinations(page_html, content)
            files.write_atomically(
                published / "index.html", lambda tmp: tmp.write_text(page_html, encoding="utf-8")
            )
        site.render_site_index(layout.reports_dir, pipeline.title, *site.headline_hook(pipeline))


def _run_sweep_page(layout, pipeline, sweep_page, content, published, work, context) -> str:
    """The sweep page's HTML: its notebook run with `sweep_file` on the manifest and the
    combinations' headlines, or its entry in the step store when all of them are unchanged."""
    from notebook_pipeline.execution import run_and_render
    from notebook_pipeline.progress import RunDisplay

    step = NotebookStep(sweep_page.step_name, sweep_page.title, sweep_page.path, (), ())
    project = make_staging_project(
        layout,
        work / "sweep-page-project",
        with_published_data=False,
        raw_snapshot=ProjectLayout(_inputs_folder(work)).raw_dir,
    )
    folder = project.root / "reports" / SWEEPS_DIR / content["sweep"]
    folder.mkdir(parents=True)
    files.write_json(content, folder / "sweep.json")
    headlines = {}
    for combination in content["combinations"]:
        if combination["headline"]:
            source = published / combination["headline"]
            (folder / combination["folder"]).mkdir()
            shutil.copy2(source, folder / combination["headline"])
            headlines[combination["headline"]] = fingerprint.file_sha256(source)
    parameters = {
        **sweep_page.parameters,
        "sweep_file": f"reports/{SWEEPS_DIR}/{content['sweep']}/sweep.json",
    }
    as_of = site.sweep_as_of(content["combinations"])
    nav = (("\u2190 all runs", site.SITE_INDEX_FROM_SWEEP),)
    parts = fingerprint.step_fingerprint(
        step,
        parameters,
        {"sweep.json": fingerprint.digest(content), **headlines},
        dataclasses.replace(context, as_of=as_of),
    )
    parts["nav"] = [list(link) for link in nav]  # the page's header, as a page key has it
    key = fingerprint.digest(parts)
    cache = StepCache(layout.cache_dir)
    with cache.key_lock(step.name, key):
        cached = cache.lookup(step.name, key)
        if cached is not None and cached.page_is_current(key):
            return cached.page_for(key).read_text(encoding="utf-8")
        report = work / "sweep-page"
        report.mkdir()
        alone = dataclasses.replace(
            pipeline, steps=(step,), study=dataclasses.replace(pipeline.study, page_facts="")
        )
        page = notebook_page.PageContext(layout, as_of, published, alone, context.show_code, nav)
        seconds = run_and_render(step, parameters, project, report, RunDisplay(), page)
        cache.store(
            step.name,
            key,
            fingerprint=parts,
            seconds=seconds,
            started=_now(),
            finished=_now(),
            outputs={},
            root=project.root,
            notebook=report / f"{step.name}.ipynb",
            page=report / f"{step.name}.html",
            page_key=key,
            page_fingerprint={},
        )
        return (report / f"{step.name}.html").read_text(encoding="utf-8")
