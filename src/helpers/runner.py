"""Executes the pipeline: a graph of notebooks, run in parallel, cached by content, published
whole or not at all.

A run works in a staging copy of the project (`.chinaflows/runs/<id>/`): data/raw and the rest
of the project are linked in, data/processed starts as hard links to the published files, and
every notebook runs there with papermill. The report is built in a staging folder under
reports/. Only when every notebook succeeded are the new files moved into data/processed and
the report folder swapped in; a failed run leaves both as they were and keeps the failed
notebook and its page under reports/_failed/<as_of>/.

A notebook is re-executed only when its fingerprint changed (its cells, resolved parameters,
the content of its declared inputs, the source of `helpers`, the installed packages);
otherwise its last executed notebook and page are reused and no kernel starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import enum
import errno
import functools
import graphlib
import json
import os
import re
import shutil
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import filelock

import helpers
from helpers import fingerprint, io, paths, provenance
from helpers.errors import InvalidDataError, InvalidParameterError
from helpers.paths import ProjectLayout
from helpers.pipeline import (
    NotebookStep,
    Pipeline,
    load_pipeline,
    resolve_parameters,
    steps_downstream_of,
    upstream_steps,
    validate_iso_date,
)
from helpers.progress import RunDisplay
from helpers.step_cache import StepCache, cached_notebook_parameters, output_digests

KERNEL_LOG_SUFFIX = ".kernel.log"


class ExitCode(enum.IntEnum):
    """Exit codes of `chinaflows run` (documented in the README)."""

    OK = 0
    NOTEBOOK_ERROR = 1
    USAGE = 2  # invalid parameters or command-line usage
    INVALID_DATA = 3
    IN_PROGRESS = 4  # another run holds the lock


class RunFailed(Exception):
    """A run stopped; `exit_code` says why and the message says what to do."""

    def __init__(self, exit_code: ExitCode, message: str):
        self.exit_code = exit_code
        super().__init__(message)


@dataclass
class StepRecord:
    """What run.json says about one notebook."""

    name: str
    title: str
    status: str  # "executed" or "cached"
    seconds: float  # spent in this run
    executed_seconds: float  # of the execution whose results the report shows
    started_at: str  # of that execution
    executed_at: str
    parameters: dict[str, Any]
    inputs: dict[str, str]  # declared input -> SHA-256 of its content
    outputs: dict[str, str] = field(default_factory=dict)
    key: str = ""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


# ---------------------------------------------------------------------------------------------
# Before any kernel: parameters, as-of date, fingerprints


def default_as_of(layout: ProjectLayout, raw_dir: str = "data/raw", date_format: str = "") -> str:
    """The last date in the flow data, remembered per content of the raw folder."""
    raw = layout.root / raw_dir
    memo = (
        layout.cache_dir
        / "as_of"
        / fingerprint.digest({"raw": fingerprint.path_sha256(raw), "date_format": date_format})
    )
    if memo.is_file():
        return io.read_json(memo)
    from helpers import load  # pandera: needed only when the data changed

    as_of = load.latest_flow_date(raw, date_format).date().isoformat()
    io.write_json(as_of, memo)
    return as_of


def _resolve_run_parameters(
    layout: ProjectLayout, pipeline: Pipeline, as_of: str | None, overrides: dict[str, Any]
) -> tuple[str, dict[str, dict[str, Any]]]:
    declared = {
        step.name: cached_notebook_parameters(layout.cache_dir, step.path)
        for step in pipeline.steps
    }
    as_of = validate_iso_date(as_of) if as_of else ""
    parameters = resolve_parameters(pipeline, overrides, as_of, declared)
    if not as_of:
        # The data are read as the cleaning notebook will read them.
        reading = next((p for p in parameters.values() if "date_format" in p), {})
        as_of = default_as_of(
            layout, reading.get("raw_dir", "data/raw"), reading.get("date_format", "")
        )
        parameters = resolve_parameters(pipeline, overrides, as_of, declared)
    return as_of, parameters


@dataclass(frozen=True)
class RunContext:
    """What every notebook's fingerprint shares: the code and packages this run executes with."""

    helpers_sha256: str
    environment_sha256: str
    show_code: bool
    as_of: str  # every page states it, also those of notebooks that do not take it


def step_key(
    step: NotebookStep, parameters: dict[str, Any], inputs: dict[str, str], context: RunContext
) -> str:
    return fingerprint.digest(
        {
            "notebook": fingerprint.notebook_source_sha256(step.path),
            "title": step.title,
            "outputs": step.outputs,
            "parameters": parameters,
            "inputs": inputs,
            "helpers": context.helpers_sha256,
            "environment": context.environment_sha256,
            "show_code": context.show_code,
            "as_of": context.as_of,
        }
    )


# ---------------------------------------------------------------------------------------------
# Staging and publishing


def _link_or_copy(source: str, target: str) -> None:
    """Hard-link (instant, and safe: notebooks replace files, never edit them in place)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def make_staging_project(layout: ProjectLayout, folder: Path) -> ProjectLayout:
    """A copy of the project for one run: links to everything but data/processed, which holds
    links to the published files until a notebook replaces them."""
    staging = ProjectLayout(folder)
    skipped = {layout.work_dir.name, layout.reports_dir.name, "data"}
    staging.processed_dir.parent.mkdir(parents=True)
    for entry in layout.root.iterdir():
        if entry.name not in skipped:
            (folder / entry.name).symlink_to(entry)
    data = layout.processed_dir.parent
    for entry in data.iterdir() if data.is_dir() else []:
        if entry != layout.processed_dir:
            (staging.processed_dir.parent / entry.name).symlink_to(entry)
    if layout.processed_dir.is_dir():
        shutil.copytree(layout.processed_dir, staging.processed_dir, copy_function=_link_or_copy)
    else:
        staging.processed_dir.mkdir()
    return staging


def publish_processed(built: Path, target: Path) -> list[Path]:
    """Move the files a run wrote in `built` to `target`, each by one rename; returns them."""
    moved = []
    for source in sorted(p for p in built.rglob("*") if p.is_file()):
        destination = target / source.relative_to(built)
        if destination.exists() and os.path.samefile(source, destination):
            continue  # still the published file: no notebook replaced it
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, destination)
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            # data/processed on another file system: copy beside the target, then rename
            io.write_atomically(destination, lambda temporary, s=source: shutil.copy2(s, temporary))
        moved.append(destination)
    return moved


def _keep_failed_run(staging: Path, layout: ProjectLayout, as_of: str) -> Path:
    return io.replace_folder(staging, layout.failed_reports_dir / as_of)


# ---------------------------------------------------------------------------------------------
# Executing one notebook (in a worker thread)


def _kernel_manager_logging_to(log_file: Path):
    """A kernel manager class whose kernels write their own stderr and stdout to `log_file`,
    so kernel warnings do not interleave with the run's progress lines."""
    from jupyter_client.manager import AsyncKernelManager

    class KernelManagerWithLog(AsyncKernelManager):
        async def start_kernel(self, **kwargs):
            with open(log_file, "ab") as log:
                return await super().start_kernel(stdout=log, stderr=log, **kwargs)

    return KernelManagerWithLog


def code_cell_count(notebook: Path) -> int:
    """The cells papermill will execute: the code cells and its injected parameters cell."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return 1 + sum(cell["cell_type"] == "code" for cell in cells)


@functools.cache
def _papermill_for_threads():
    """papermill, imported on first use (a run with nothing to execute never needs it), with
    a local-file handler that leaves the working folder alone: papermill's own keeps one folder
    for the whole process, which notebooks running in threads would overwrite in turn. The run
    sets the process's folder itself (see _run_graph)."""
    import papermill
    from papermill.iorw import LocalHandler, papermill_io

    class LocalHandlerForThreads(LocalHandler):
        def cwd(self, new_path):
            return None

    papermill_io.register("local", LocalHandlerForThreads())
    return papermill


def _execute_step(
    step: NotebookStep,
    parameters: dict[str, Any],
    project: ProjectLayout,
    report_staging: Path,
    display: RunDisplay,
) -> float:
    """Execute `step` in the staging project; returns the seconds it took."""
    papermill = _papermill_for_threads()
    clock = time.perf_counter()
    papermill.execute_notebook(
        str(step.path),
        str(report_staging / f"{step.name}.ipynb"),
        parameters=parameters,
        cwd=None,  # the run's working folder is the staging project already (see _run_graph)
        progress_bar=False,
        request_save_on_cell_execute=False,
        kernel_manager_class=_kernel_manager_logging_to(
            report_staging / f"{step.name}{KERNEL_LOG_SUFFIX}"
        ),
        on_cell_complete=lambda **_: display.cell_done(step.name),
    )
    return time.perf_counter() - clock


@dataclass(frozen=True)
class PageContext:
    """What a page states beyond its notebook: the run's as-of date, where it is published, and
    which notebooks show fund flows (their pages say whether those are the sample)."""

    layout: ProjectLayout
    as_of: str
    published_dir: Path
    showing_flows: frozenset[str]


def _render_page(step, parameters, folder: Path, show_code: bool, page: PageContext, project):
    from helpers import report

    executed = folder / f"{step.name}.ipynb"
    report.make_publishable(
        executed,
        page.layout.root,
        run_root=project.root,
        published_as=page.published_dir / executed.name,
    )
    flows_source = (
        report.read_flows_source(project.processed_dir) if step.name in page.showing_flows else None
    )
    report.render_notebook_html(
        executed,
        executed.with_suffix(".html"),
        step.title,
        parameters,
        show_code=show_code,
        as_of=page.as_of,
        flows_source=flows_source,
    )


def _run_and_render(step, parameters, project, report_staging, display, show_code, page) -> float:
    seconds = _execute_step(step, parameters, project, report_staging, display)
    _render_page(step, parameters, report_staging, show_code, page, project)
    return seconds


# ---------------------------------------------------------------------------------------------
# Failures


def _plain(text: str) -> str:
    """Traceback text without the terminal colour codes IPython puts in it."""
    from nbconvert.filters import strip_ansi

    return strip_ansi(text)


def failing_lines(traceback: list[str]) -> list[str]:
    """The lines marked by IPython's arrow in a traceback: the notebook's, then deeper ones."""
    marked = []
    location = ""
    for line in _plain("\n".join(traceback)).splitlines():
        if line.startswith(("Cell In[", "File ")):
            location = line.split(",")[0] if line.startswith("Cell") else line
        match = re.match(r"\s*-+>\s*(\d+)\s?(.*)", line)
        if match:
            marked.append(f"{location}, line {match.group(1)}: {match.group(2).strip()}")
    return marked


def describe_notebook_error(step_name: str, executed: Path | None, error) -> str:
    """The terminal's account of a failed cell: where, what, and the line that raised."""
    cell_number = error.cell_index + 1
    if executed is not None and executed.exists():
        cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
        injected = [
            i
            for i, cell in enumerate(cells[: error.cell_index])
            if "injected-parameters" in cell.get("metadata", {}).get("tags", [])
            or "papermill-error-cell-tag" in cell.get("metadata", {}).get("tags", [])
        ]
        cell_number -= len(injected)  # count cells as the notebook in notebooks/ has them
    lines = [
        f"{step_name}: cell {cell_number} (In [{error.exec_count}]) raised "
        f"{error.ename}: {error.evalue}"
    ]
    marked = failing_lines(error.traceback)
    if marked:
        lines.append(f"  failing line: {marked[0]}")
        lines += [f"  raised from: {line}" for line in marked[1:][-1:]]
    else:
        last = next((ln for ln in reversed(error.source.splitlines()) if ln.strip()), "")
        lines.append(f"  last line of the cell: {last.strip()}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The run


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
) -> Path:
    """Run the pipeline and publish reports/<as_of>/; returns that folder.

    One run at a time per project: the lock is an OS file lock, so a lock left by a killed
    process is free again at once. A second run waits `lock_timeout` seconds for it.
    """
    display = display or RunDisplay()
    layout.work_dir.mkdir(parents=True, exist_ok=True)
    try:
        with filelock.FileLock(layout.lock_file, timeout=lock_timeout):
            return _Run(layout, display, show_code, jobs or os.cpu_count() or 1, force).run(
                as_of, dict(overrides or {})
            )
    except filelock.Timeout:
        raise RunFailed(
            ExitCode.IN_PROGRESS,
            f"another run is in progress (it holds {layout.lock_file}); "
            "wait for it to finish or pass --wait SECONDS",
        ) from None
    finally:
        display.close()


class _Run:
    def __init__(
        self, layout: ProjectLayout, display: RunDisplay, show_code: bool, jobs: int, force: bool
    ):
        self.layout = layout
        self.display = display
        self.show_code = show_code
        self.jobs = jobs
        self.force = force
        self.cache = StepCache(layout.cache_dir)
        self.as_of = ""

    def run(self, as_of: str | None, overrides: dict[str, Any]) -> Path:
        started = _now()
        pipeline = load_pipeline(self.layout)
        try:
            as_of, parameters = _resolve_run_parameters(self.layout, pipeline, as_of, overrides)
        except InvalidParameterError as error:
            raise RunFailed(ExitCode.USAGE, str(error)) from None
        except InvalidDataError as error:
            raise RunFailed(ExitCode.INVALID_DATA, f"invalid data:\n{error}") from None

        self.as_of = as_of
        run_id = f"{as_of}-{uuid.uuid4().hex[:8]}"
        work = self.layout.staging_dir / run_id
        report_staging = self.layout.reports_dir / f".staging-{run_id}"
        try:
            project = make_staging_project(self.layout, work)
            self.project = project
            daily_flows = paths.processed_path("data/processed", "daily_flows").as_posix()
            self.page = PageContext(
                self.layout,
                as_of,
                self.layout.report_dir(as_of),
                frozenset(steps_downstream_of(pipeline, daily_flows)),
            )
            report_staging.mkdir(parents=True)
            versions = fingerprint.installed_versions()
            context = RunContext(
                helpers_sha256=fingerprint.package_source_sha256(Path(helpers.__file__).parent),
                environment_sha256=fingerprint.digest(versions),
                show_code=self.show_code,
                as_of=as_of,
            )
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
                "packages": provenance.project_package_versions(versions),
                "environment_sha256": context.environment_sha256,
                "helpers_sha256": context.helpers_sha256,
                "notebooks": [asdict(records[step.name]) for step in pipeline.steps],
            }
            (report_staging / "run.json").write_text(json.dumps(run, indent=2), encoding="utf-8")
            self._remember(records, report_staging)

            from helpers import report

            headline_file = report_staging / "headline.json"
            headline = json.loads(headline_file.read_text()) if headline_file.exists() else {}
            report.render_run_index(report_staging, run, headline)
            publish_processed(project.processed_dir, self.layout.processed_dir)
            target = self.layout.report_dir(as_of)
            io.replace_folder(report_staging, target)
            report.render_site_index(self.layout.reports_dir, pipeline.title)
            return target
        finally:
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(report_staging, ignore_errors=True)

    def _remember(self, records: dict[str, StepRecord], report_staging: Path) -> None:
        for record in records.values():
            if record.status == "executed":
                self.cache.store(
                    record.name,
                    record.key,
                    seconds=record.executed_seconds,
                    started=record.started_at,
                    finished=record.executed_at,
                    outputs=record.outputs,
                    notebook=report_staging / f"{record.name}.ipynb",
                    page=report_staging / f"{record.name}.html",
                )

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
        running: dict[Future, StepRecord] = {}
        failure: tuple[NotebookStep, BaseException] | None = None
        # papermill's cwd= changes the whole process's folder and restores it when a notebook
        # ends, which races between threads; the run sets it once for all of its kernels.
        with (
            contextlib.chdir(project.root),
            ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="notebook") as pool,
        ):
            while failure is None and sorter.is_active():
                ready += sorted(sorter.get_ready())
                while ready and len(running) < self.jobs:
                    step = steps[ready.pop(0)]
                    record = self._fingerprinted(step, parameters[step.name], project, context)
                    if self._reuse(record, project, report_staging):
                        records[step.name] = record
                        sorter.done(step.name)
                        continue
                    self.display.running(step.name)
                    record.started_at = _now()
                    future = pool.submit(
                        _run_and_render,
                        step,
                        parameters[step.name],
                        project,
                        report_staging,
                        self.display,
                        self.show_code,
                        self.page,
                    )
                    running[future] = record
                if not running:
                    continue
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    record = running.pop(future)
                    try:
                        seconds = future.result()
                    except Exception as error:  # noqa: BLE001 - reported with its notebook below
                        self.display.failed(record.name)
                        failure = failure or (steps[record.name], error)
                        continue
                    record.seconds = record.executed_seconds = seconds
                    record.executed_at = _now()
                    record.outputs = output_digests(project.root, steps[record.name].outputs)
                    records[record.name] = record
                    self.display.done(record.name, seconds)
                    sorter.done(record.name)
        if failure is not None:
            self._fail(*failure, parameters, report_staging)
        return records

    def _reuse(self, record: StepRecord, project: ProjectLayout, report_staging: Path) -> bool:
        """Take the notebook's last execution if its fingerprint is unchanged (no kernel)."""
        cached = None if self.force else self.cache.lookup(record.name, record.key, project.root)
        if cached is None:
            return False
        shutil.copy2(cached.notebook, report_staging / f"{record.name}.ipynb")
        shutil.copy2(cached.page, report_staging / f"{record.name}.html")
        record.status = "cached"
        record.executed_seconds = cached.seconds
        record.started_at = cached.started
        record.executed_at = cached.finished
        record.outputs = cached.outputs
        self.display.cached(record.name)
        return True

    def _fingerprinted(self, step, parameters, project: ProjectLayout, context) -> StepRecord:
        inputs = {i: fingerprint.path_sha256(project.root / i) for i in step.inputs}
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
            key=step_key(step, parameters, inputs, context),
        )

    def _fail(self, step, error, parameters, report_staging: Path):
        from papermill.exceptions import PapermillExecutionError

        executed = report_staging / f"{step.name}.ipynb"
        if executed.exists():
            failed = self.layout.failed_reports_dir / self.as_of
            page = dataclasses.replace(self.page, published_dir=failed)
            _render_page(step, parameters[step.name], report_staging, True, page, self.project)
        failed = _keep_failed_run(report_staging, self.layout, self.as_of)
        where = f"\n  failed notebook: {failed / executed.name}"
        if (failed / f"{step.name}.html").exists():
            where += f"\n  its page: {failed / (step.name + '.html')}"
        if not isinstance(error, PapermillExecutionError):  # e.g. the kernel died
            kernel_log = failed / f"{step.name}{KERNEL_LOG_SUFFIX}"
            if kernel_log.exists():
                where += f"\n  kernel log: {kernel_log}"
            raise RunFailed(
                ExitCode.NOTEBOOK_ERROR, f"{step.name}: {type(error).__name__}: {error}{where}"
            ) from None
        if error.ename == InvalidDataError.__name__:
            raise RunFailed(
                ExitCode.INVALID_DATA, f"invalid data:\n{error.evalue}{where}"
            ) from None
        raise RunFailed(
            ExitCode.NOTEBOOK_ERROR,
            describe_notebook_error(step.name, failed / executed.name, error) + where,
        ) from None
