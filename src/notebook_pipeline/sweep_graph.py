"""A sweep as one graph of notebook executions: its plan (plan keys, one task per distinct
plan key) and the task that executes one notebook wherever a Dask worker runs it.

Plan keys are known before anything runs: a step's fingerprint (fingerprint.step_fingerprint)
with each input another step writes replaced by that step's plan key (Merkle style) and each
external input (data/raw) by its content digest. Identical plan keys are one task: an axis only
a downstream notebook declares adds no task upstream, and a notebook that does not declare
`as_of` does not run again per as-of date.

A task then works by the real execution key, computed from the content of the inputs its
upstream entries restored: under an OS lock named by that key (StepCache.key_lock), it looks
the step store up and executes only when the entry is missing, so two tasks whose inputs came
out byte-identical from different upstream runs execute once, and an unchanged re-run starts
no kernel. A task works in a staging project of its own (owned: ownership), stores its entry
whole (a renamed folder) and leaves nothing else behind; a task of a worker that dies is run
again elsewhere and finds no half-written entry.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from notebook_pipeline import files, fingerprint, notebook_page, site
from notebook_pipeline.failures import ExitCode, RunFailed, notebook_failure
from notebook_pipeline.layout import ProjectLayout
from notebook_pipeline.ownership import own_folder, release_folder
from notebook_pipeline.progress import RunDisplay
from notebook_pipeline.spec import Pipeline, load_pipeline, page_outline, upstream_steps
from notebook_pipeline.staging import detach_outputs, make_staging_project
from notebook_pipeline.step_cache import StepCache, output_digests, restore_outputs

PLAN_INPUT_PREFIX = "plan:"  # an input another step writes, in a plan fingerprint
SWEEPS_DIR = "sweeps"  # reports/sweeps/<sweep>/


@dataclass(frozen=True)
class SweepTask:
    """One notebook execution of a sweep, shared by every combination with its plan key."""

    plan_key: str
    step_name: str
    parameters: dict[str, Any]
    as_of: str  # of the first combination that needs it: its page states this date
    upstream: tuple[str, ...]  # plan keys of the tasks whose outputs it reads
    page_folder: str = ""  # where that combination's pages are published (from the root)
    nav: tuple[tuple[str, str], ...] = ()  # the links atop its page (site.combination_page_nav)


@dataclass(frozen=True)
class PlannedCombination:
    """A combination of a sweep and the task of each of its steps."""

    name: str
    overrides: dict[str, Any]
    as_of: str
    parameters: dict[str, dict[str, Any]]  # each step's, as a single run resolves them
    plan_keys: dict[str, str]  # step name -> plan key


@dataclass(frozen=True)
class SweepPlan:
    """The unique tasks of a sweep in execution order, and its combinations."""

    tasks: dict[str, SweepTask]
    combinations: tuple[PlannedCombination, ...]


@dataclass(frozen=True)
class TaskResult:
    """What a task did: the entry it made or found, as run.json lists it."""

    plan_key: str
    step_name: str
    key: str  # the real execution key (the step store's entry)
    status: str  # "executed" or "cached"
    seconds: float  # spent by this task
    record: dict[str, Any] = field(default_factory=dict)  # run.StepRecord's fields


def plan_sweep(
    layout: ProjectLayout,
    pipeline: Pipeline,
    resolved: list[tuple[Any, str, dict[str, dict[str, Any]]]],
    context: fingerprint.RunContext,
    sweep: Any,
) -> SweepPlan:
    """The plan of the combinations `resolved` (sweep_spec.resolve_combinations) of `sweep`
    (a sweep_spec.Sweep), the inputs no step writes read under `layout` (the sweep's staging
    project: its data/raw snapshot)."""
    nav = site.combination_page_nav(sweep.title)
    external = {
        i: fingerprint.path_sha256(layout.root / i)
        for step in pipeline.steps
        for i in step.inputs
        if i not in {o for s in pipeline.steps for o in s.outputs}
    }
    producers = {o: s.name for s in pipeline.steps for o in s.outputs}
    tasks: dict[str, SweepTask] = {}
    combinations = []
    for combination, as_of, parameters in resolved:
        keys: dict[str, str] = {}
        for step in pipeline.steps:  # in execution order
            inputs = {
                i: f"{PLAN_INPUT_PREFIX}{keys[producers[i]]}" if i in producers else external[i]
                for i in step.inputs
            }
            parts = fingerprint.step_fingerprint(step, parameters[step.name], inputs, context)
            keys[step.name] = plan_key = fingerprint.digest(parts)
            if plan_key not in tasks:
                upstream = tuple(keys[name] for name in upstream_steps(pipeline, step))
                tasks[plan_key] = SweepTask(
                    plan_key,
                    step.name,
                    parameters[step.name],
                    as_of,
                    upstream,
                    f"{combination_folder(sweep.name, combination.name)}",
                    nav,
                )
        combinations.append(
            PlannedCombination(
                combination.name, dict(combination.overrides), as_of, parameters, keys
            )
        )
    return SweepPlan(tasks, tuple(combinations))


def check_worker(root: Path, environment_sha256: str, kernel: str | None, address: str) -> None:
    """Refuse to run a task where the project or the environment differ from the submitter's:
    the project folder at the same path, the same installed packages, the project's kernel."""
    where = f"Dask worker {address}"
    if not (root / "pipeline.yaml").is_file():
        raise RunFailed(ExitCode.USAGE, f"{where}: no project at {root} (pipeline.yaml missing)")
    versions = fingerprint.installed_versions(ProjectLayout(root).cache_dir)
    if fingerprint.digest(versions) != environment_sha256:
        raise RunFailed(
            ExitCode.USAGE,
            f"{where}: its Python environment differs from the submitter's "
            f"(packages digest {fingerprint.digest(versions)[:12]}, "
            f"expected {environment_sha256[:12]}); install the same requirements.lock",
        )
    if kernel:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

        try:
            KernelSpecManager().get_kernel_spec(kernel)
        except NoSuchKernel:
            raise RunFailed(
                ExitCode.USAGE,
                f"{where}: the Jupyter kernel {kernel!r} is not registered there "
                "(`chinaflows kernel` registers it)",
            ) from None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "in this process"


def execute_task(
    root: str,
    task: SweepTask,
    environment_sha256: str,
    show_code: bool,
    made_since: str,
    raw_snapshot: str,
    *upstream: TaskResult,
) -> TaskResult:
    """Run `task` where this is called (a Dask worker, or this process): its upstream entries'
    outputs restored into a staging project of its own (data/raw: the sweep's `raw_snapshot`),
    then the step store's entry for its real execution key found or made. Raises RunFailed
    (its failed notebook kept in .chinaflows/failed/tasks/<step>-<plan key>/)."""
    clock = time.perf_counter()
    layout = ProjectLayout(Path(root))
    pipeline = load_pipeline(layout)
    check_worker(layout.root, environment_sha256, pipeline.study.kernel, _worker_address())
    step = pipeline.step(task.step_name)
    cache = StepCache(layout.cache_dir)
    work = layout.staging_dir / f"task-{task.step_name}-{uuid.uuid4().hex[:8]}"
    owner = own_folder(work)
    try:
        project = make_staging_project(
            layout, work / "project", with_published_data=False, raw_snapshot=Path(raw_snapshot)
        )
        report = work / "report"
        report.mkdir()
        for result in upstream:
            restore_outputs(cache.entry(result.step_name, result.key), project.root)
        versions = fingerprint.installed_versions(layout.cache_dir)
        context = fingerprint.run_context(pipeline.study.package, show_code, task.as_of, versions)
        inputs = fingerprint.step_inputs(step, project.root)
        parts = fingerprint.step_fingerprint(step, task.parameters, inputs, context)
        key = fingerprint.digest(parts)
        page_parts = fingerprint.page_fingerprint(
            step, key, context, page_outline(pipeline, step), task.nav
        )
        record = {
            "name": step.name,
            "title": step.title,
            "parameters": task.parameters,
            "inputs": inputs,
            "key": key,
        }
        with cache.key_lock(step.name, key):
            cached = cache.lookup(step.name, key, made_since=made_since)
            status = "cached"
            if cached is None:
                status = "executed"
                page = notebook_page.PageContext(
                    layout,
                    task.as_of,
                    layout.root / task.page_folder,
                    pipeline,
                    show_code,
                    task.nav,
                )
                started = _now()
                detach_outputs(step, project)
                try:
                    from notebook_pipeline.execution import run_and_render

                    seconds = run_and_render(
                        step, task.parameters, project, report, RunDisplay(), page
                    )
                except Exception as error:  # noqa: BLE001 - kept and reported below
                    failed = f"{step.name}-{task.plan_key[:12]}"
                    kept = files.replace_folder(
                        report, layout.failed_reports_dir / "tasks" / failed
                    )
                    raise notebook_failure(
                        step.name, error, kept, pipeline.study.invalid_data_errors, ".kernel.log"
                    ) from None
                cached = cache.store(
                    step.name,
                    key,
                    fingerprint=parts,
                    seconds=seconds,
                    started=started,
                    finished=_now(),
                    outputs=output_digests(project.root, step.outputs),
                    root=project.root,
                    notebook=report / f"{step.name}.ipynb",
                    page=report / f"{step.name}.html",
                    page_key=fingerprint.digest(page_parts),
                    page_fingerprint=page_parts,
                )
        record.update(
            executed_seconds=cached.seconds,
            started_at=cached.started,
            executed_at=cached.finished,
            outputs=cached.outputs,
        )
        return TaskResult(
            task.plan_key, step.name, key, status, time.perf_counter() - clock, record
        )
    finally:
        release_folder(work, owner)


def combination_folder(sweep_name: str, combination_name: str) -> str:
    """Where a combination is published, from the project's root."""
    return f"reports/{SWEEPS_DIR}/{sweep_name}/{combination_name}"


def combination_page_key(
    pipeline: Pipeline,
    step_name: str,
    key: str,
    context: fingerprint.RunContext,
    nav: tuple[tuple[str, str], ...],
) -> tuple[str, dict[str, Any]]:
    """The page key (and its parts) of a step's page in a combination run as of
    `context.as_of` under the links `nav`."""
    step = pipeline.step(step_name)
    parts = fingerprint.page_fingerprint(step, key, context, page_outline(pipeline, step), nav)
    return fingerprint.digest(parts), parts


def with_as_of(context: fingerprint.RunContext, as_of: str) -> fingerprint.RunContext:
    """`context` for a run as of `as_of`."""
    return dataclasses.replace(context, as_of=as_of)


def restore_combination(cache: StepCache, results: list[TaskResult], root: Path) -> None:
    """Every entry's outputs of a combination, restored under `root`."""
    for result in results:
        restore_outputs(cache.entry(result.step_name, result.key), root)


def copy_entry_notebook(cache: StepCache, result: TaskResult, folder: Path) -> Path:
    """The entry's executed notebook, copied into a report folder."""
    target = folder / f"{result.step_name}.ipynb"
    shutil.copy2(cache.entry(result.step_name, result.key).notebook, target)
    return target
