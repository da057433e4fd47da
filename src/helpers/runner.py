"""Executes the pipeline: a graph of notebooks, run in parallel, cached by content, published
whole or not at all.

A run works in a staging copy of the project (`.chinaflows/runs/<id>/`): data/raw and the rest
of the project are linked in, data/processed starts as hard links to the published files, and
every notebook runs there with papermill. The report is built in a staging folder under
reports/. Only when every notebook succeeded are the new files moved into data/processed and
the report folder swapped in; a failed run leaves both as they were and keeps the failed
notebook and its page under reports/_failed/<as_of>/. A run killed on the way leaves only its
staging folders, which the next run deletes; its kernels end with it (ipykernel exits when
the process that started it is gone).

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
import logging
import os
import re
import shutil
import textwrap
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
REPORT_STAGING_PREFIX = ".staging-"  # reports/.staging-<run id>/: a report being built
# nbclient reads a cell timeout of 0 as "no limit": a cell started past the deadline gets this.
_NO_TIME_LEFT_SECONDS = 0.001
_DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


class ExitCode(enum.IntEnum):
    """Exit codes of `chinaflows run` (documented in the README)."""

    OK = 0
    NOTEBOOK_ERROR = 1
    USAGE = 2  # invalid parameters or command-line usage
    INVALID_DATA = 3
    IN_PROGRESS = 4  # another run holds the lock
    DISK_FULL = 5  # no space left on the device while the run was writing


class RunFailed(Exception):
    """A run stopped; `exit_code` says why and the message says what to do."""

    def __init__(self, exit_code: ExitCode, message: str):
        self.exit_code = exit_code
        super().__init__(message)


class NotebookStopped(Exception):
    """A notebook ended before its last cell for a reason outside its code (its kernel died, or
    it ran past its time limit); `cell_index` is the cell that was running."""

    def __init__(self, reason: str, cell_index: int | None):
        self.cell_index = cell_index
        super().__init__(reason)


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
    # What the key is a digest of (step_fingerprint); kept in the cache to say why a notebook
    # re-runs, left out of run.json, which lists the parameters and inputs already.
    fingerprint: dict[str, Any] = field(default_factory=dict, repr=False)

    def for_run_json(self) -> dict[str, Any]:
        entry = asdict(self)
        del entry["fingerprint"]
        return entry


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


# ---------------------------------------------------------------------------------------------
# Before any kernel: parameters, as-of date, fingerprints


def checked_as_of(
    layout: ProjectLayout,
    raw_dir: str = "data/raw",
    date_format: str = "",
    *,
    requested: str = "",
    duplicate_dates: str = "refuse",
    unknown_tickers: str = "refuse",
) -> str:
    """The run's as-of date: `requested` (an ISO date), else the last date in the flow data.

    The raw data are first checked as the cleaning notebook will check them
    (cleaning.check_inputs), so that bad data are refused before any kernel starts
    (InvalidDataError), as is a requested date before the first fund date (AsOfBeforeDataError).
    The data's first and last dates are remembered per content of the raw folder, reading
    parameters and helpers code: a re-run on unchanged data reads nothing.
    """
    checks = {
        "date_format": date_format,
        "duplicate_dates": duplicate_dates,
        "unknown_tickers": unknown_tickers,
    }
    raw = layout.root / raw_dir
    code = fingerprint.package_source_sha256(Path(helpers.__file__).parent)
    memo = (
        layout.cache_dir
        / "checked_inputs"
        / fingerprint.digest({"raw": fingerprint.path_sha256(raw), "helpers": code, **checks})
    )
    if memo.is_file():
        first, last = io.read_json(memo)
    else:
        from helpers import cleaning  # pandera: needed only when the data changed

        first, last = (f"{day:%Y-%m-%d}" for day in cleaning.check_inputs(raw, **checks))
        io.write_json([first, last], memo)
    if requested and requested < first:  # ISO dates compare as text
        from helpers.errors import AsOfBeforeDataError

        raise AsOfBeforeDataError(requested, first)
    return requested or last


def _resolve_run_parameters(
    layout: ProjectLayout, pipeline: Pipeline, as_of: str | None, overrides: dict[str, Any]
) -> tuple[str, dict[str, dict[str, Any]]]:
    declared = {
        step.name: cached_notebook_parameters(layout.cache_dir, step.path)
        for step in pipeline.steps
    }
    requested = validate_iso_date(as_of) if as_of else ""
    parameters = resolve_parameters(pipeline, overrides, requested, declared)
    # The data are checked as the cleaning notebook (the one reading with a date_format) will
    # read them; a pipeline without such a notebook has no fund data to check.
    reading = next((p for p in parameters.values() if "date_format" in p), None)
    if reading is None and requested:
        return requested, parameters
    reading = reading or {}
    checks = ("date_format", "duplicate_dates", "unknown_tickers")
    as_of = checked_as_of(
        layout,
        reading.get("raw_dir", "data/raw"),
        requested=requested,
        **{name: reading[name] for name in checks if name in reading},
    )
    if as_of != requested:
        parameters = resolve_parameters(pipeline, overrides, as_of, declared)
    return as_of, parameters


def resolve_run(
    layout: ProjectLayout, as_of: str | None, overrides: dict[str, Any]
) -> tuple[Pipeline, str, dict[str, dict[str, Any]]]:
    """The pipeline, the run's as-of date and each notebook's parameters, checked before any
    kernel starts: a bad pipeline.yaml or bad parameters fail with the usage exit code,
    unreadable data with the invalid-data one."""
    try:
        pipeline = load_pipeline(layout)
        return pipeline, *_resolve_run_parameters(layout, pipeline, as_of, overrides)
    except InvalidParameterError as error:
        raise RunFailed(ExitCode.USAGE, str(error)) from None
    except InvalidDataError as error:
        raise RunFailed(ExitCode.INVALID_DATA, f"invalid data:\n{error}") from None


@dataclass(frozen=True)
class RunContext:
    """What every notebook's fingerprint shares: the code and packages this run executes with."""

    helpers_sha256: str
    environment_sha256: str
    show_code: bool
    as_of: str  # every page states it, also those of notebooks that do not take it


def run_context(show_code: bool, as_of: str, versions: dict[str, str]) -> RunContext:
    """The fingerprint parts shared by a run's notebooks: the helpers' code as it is now and
    the installed `versions` (fingerprint.installed_versions)."""
    return RunContext(
        helpers_sha256=fingerprint.package_source_sha256(Path(helpers.__file__).parent),
        environment_sha256=fingerprint.digest(versions),
        show_code=show_code,
        as_of=as_of,
    )


def step_inputs(step: NotebookStep, root: Path) -> dict[str, str]:
    """The content digest of each declared input (a file or a whole folder) under `root`."""
    return {i: fingerprint.path_sha256(root / i) for i in step.inputs}


def step_fingerprint(
    step: NotebookStep, parameters: dict[str, Any], inputs: dict[str, str], context: RunContext
) -> dict[str, Any]:
    """Everything a notebook's results depend on; a change in any part re-runs it."""
    return {
        "notebook": fingerprint.notebook_source_sha256(step.path),
        "title": step.title,
        "outputs": list(step.outputs),
        "parameters": parameters,
        "inputs": inputs,
        "helpers": context.helpers_sha256,
        "environment": context.environment_sha256,
        "show_code": context.show_code,
        "as_of": context.as_of,
    }


# ---------------------------------------------------------------------------------------------
# Staging and publishing


def _link_or_copy(source: str, target: str) -> None:
    """Hard-link (instant; safe because a notebook's outputs are detached before it runs)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def detach_outputs(step: NotebookStep, project: ProjectLayout) -> None:
    """Remove `step`'s declared outputs from the staging project's data/processed before it
    runs. They are hard links to the published files: a notebook writing a file in place
    (open(path, "w"), DataFrame.to_parquet) would write through the link into data/processed.
    (A notebook's outputs are never its inputs: that would be a cycle in the graph.)"""
    staged = project.processed_dir.resolve()
    for output in step.outputs:
        path = project.root / output
        if staged not in path.resolve().parents:
            continue  # not staged (linked to the project itself): never removed
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


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


def staging_folders(layout: ProjectLayout) -> list[Path]:
    """The staging projects and report folders of the run in progress or of killed runs."""
    return [
        *(layout.staging_dir.iterdir() if layout.staging_dir.is_dir() else []),
        *layout.reports_dir.glob(f"{REPORT_STAGING_PREFIX}*"),
    ]


def sweep_stale_staging(layout: ProjectLayout) -> None:
    """Delete the staging folders that killed runs left, and put back a report folder that a
    run killed in the middle of swapping it in had moved aside.

    Call it holding the run lock: no other run is working then, so every staging folder is a
    dead run's. (Their staging projects hold links into the project: rmtree removes the links,
    never what they point to.)"""
    for folder in staging_folders(layout):
        shutil.rmtree(folder, ignore_errors=True)
    for parent in (
        layout.reports_dir,
        layout.failed_reports_dir,
        StepCache(layout.cache_dir).folder,
    ):
        if parent.is_dir():
            io.recover_replaced_folders(parent)


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
    sets the process's folder itself (see _run_graph).

    nbclient's own log lines for a dead kernel and a timed-out cell are dropped: the run reports
    both with the notebook, its time limit and the running cell (nbclient's line would give the
    cell's share of the limit as if it were the limit)."""
    import papermill
    from papermill.iorw import LocalHandler, papermill_io

    class LocalHandlerForThreads(LocalHandler):
        def cwd(self, new_path):
            return None

    papermill_io.register("local", LocalHandlerForThreads())
    reported_by_the_run = {"_async_handle_timeout", "_async_check_alive"}
    logging.getLogger("papermill").addFilter(
        lambda record: record.funcName not in reported_by_the_run
    )
    return papermill


class _Execution:
    """What papermill is doing with one notebook, followed through nbclient's hooks: the
    notebook it fills in and the cell it runs. papermill writes the executed notebook only when
    the execution returns; when the kernel dies or time runs out, `stopped` writes it."""

    def __init__(self, output: Path):
        self.output = output
        self.notebook = None
        self.cell_index: int | None = None

    def notebook_started(self, notebook, **_) -> None:
        self.notebook = notebook

    def cell_started(self, cell_index: int, **_) -> None:
        self.cell_index = cell_index

    def stopped(self, reason: str) -> NotebookStopped:
        """Save the notebook as far as it ran, the running cell marked with `reason`."""
        import nbformat

        if self.notebook is not None:
            if self.cell_index is not None:
                self.notebook.cells[self.cell_index].outputs.append(
                    nbformat.v4.new_output(
                        "error", ename=NotebookStopped.__name__, evalue=reason, traceback=[reason]
                    )
                )
            nbformat.write(self.notebook, self.output)
        return NotebookStopped(reason, self.cell_index)


def _execute_step(
    step: NotebookStep,
    parameters: dict[str, Any],
    project: ProjectLayout,
    report_staging: Path,
    display: RunDisplay,
) -> float:
    """Execute `step` in the staging project; returns the seconds it took.

    Raises NotebookStopped when its kernel dies or it passes `step.timeout_seconds`; in both
    cases nbclient has stopped the kernel by then."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    papermill = _papermill_for_threads()
    clock = time.perf_counter()
    deadline = time.monotonic() + step.timeout_seconds
    execution = _Execution(report_staging / f"{step.name}.ipynb")
    try:
        papermill.execute_notebook(
            str(step.path),
            str(execution.output),
            parameters=parameters,
            cwd=None,  # the run's working folder is the staging project already (see _run_graph)
            progress_bar=False,
            request_save_on_cell_execute=False,
            kernel_manager_class=_kernel_manager_logging_to(
                report_staging / f"{step.name}{KERNEL_LOG_SUFFIX}"
            ),
            # nbclient's timeout is per cell; giving each cell what is left of the notebook's
            # time makes it a deadline for the whole notebook.
            timeout_func=lambda cell: max(deadline - time.monotonic(), _NO_TIME_LEFT_SECONDS),
            on_notebook_start=execution.notebook_started,
            on_cell_start=execution.cell_started,
            on_cell_complete=lambda **_: display.cell_done(step.name),
        )
    except CellTimeoutError:
        raise execution.stopped(
            f"stopped at its time limit of {step.timeout_seconds:g} s "
            "(timeout_seconds in pipeline.yaml); its kernel was shut down"
        ) from None
    except DeadKernelError:
        raise execution.stopped(
            "its kernel died: the kernel's process ended (os._exit, a crash, or no memory left)"
        ) from None
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


def _executed_cells(executed: Path | None) -> list[dict[str, Any]]:
    """The cells of an executed notebook; none if it was not written (whole)."""
    if executed is None:
        return []
    try:
        return json.loads(executed.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return []


def _cell_number_in_notebooks_dir(cells: list[dict[str, Any]], cell_index: int) -> int:
    """Cell `cell_index` of an executed notebook, counted as the notebook in notebooks/ has
    them: without the cells papermill adds (injected parameters, error banner)."""
    added = [
        cell
        for cell in cells[:cell_index]
        if {"injected-parameters", "papermill-error-cell-tag"}
        & set(cell.get("metadata", {}).get("tags", []))
    ]
    return cell_index + 1 - len(added)


def describe_stopped_notebook(step_name: str, executed: Path, error: NotebookStopped) -> str:
    """The terminal's account of a notebook whose kernel died or that ran out of time."""
    lines = [f"{step_name}: {error}"]
    cells = _executed_cells(executed)
    if error.cell_index is not None and error.cell_index < len(cells):
        source = "".join(cells[error.cell_index]["source"]).strip()
        first_line = source.splitlines()[0] if source else ""
        number = _cell_number_in_notebooks_dir(cells, error.cell_index)
        lines.append(f"  running: cell {number}, which begins: {first_line}")
    return "\n".join(lines)


def is_disk_full(error: BaseException) -> bool:
    """Whether `error` is a full disk (or quota): raised here, or in a kernel and passed on by
    papermill as the exception's name and text ("[Errno 28] No space left on device")."""
    if isinstance(error, OSError):
        return error.errno in _DISK_FULL_ERRNOS
    text = getattr(error, "evalue", "")
    return any(text.startswith(f"[Errno {number}]") for number in _DISK_FULL_ERRNOS)


def describe_disk_full(
    error: BaseException, root: Path, step_name: str = "", executed: Path | None = None
) -> str:
    """Which file system filled up, during which notebook, writing what: an OSError raised
    here (papermill's own writes name no file), or papermill's error for a notebook's cell."""
    written = getattr(error, "filename", None) or getattr(error, "filename2", None)
    headline = f"disk full on the file system of {root}"
    if step_name:
        headline += f" while {step_name} ran"
    if written:
        headline += f", writing {written}"
    lines = [f"{headline}; free some space and run again"]
    if not isinstance(error, OSError):
        lines.append(textwrap.indent(describe_notebook_error(step_name, executed, error), "  "))
    return "\n".join(lines)


def describe_notebook_error(step_name: str, executed: Path | None, error) -> str:
    """The terminal's account of a failed cell: where, what, and the line that raised."""
    cell_number = _cell_number_in_notebooks_dir(_executed_cells(executed), error.cell_index)
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
    process is free again at once, and the run that takes it sweeps the killed run's staging
    folders. A second run waits `lock_timeout` seconds for it.
    """
    display = display or RunDisplay()
    layout.work_dir.mkdir(parents=True, exist_ok=True)
    try:
        with filelock.FileLock(layout.lock_file, timeout=lock_timeout):
            sweep_stale_staging(layout)
            return _Run(layout, display, show_code, jobs or os.cpu_count() or 1, force).run(
                as_of, dict(overrides or {})
            )
    except filelock.Timeout:
        raise RunFailed(
            ExitCode.IN_PROGRESS,
            f"another run is in progress (it holds {layout.lock_file}); "
            "wait for it to finish or pass --wait SECONDS",
        ) from None
    except OSError as error:
        if not is_disk_full(error):
            raise
        raise RunFailed(ExitCode.DISK_FULL, describe_disk_full(error, layout.root)) from None
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
        pipeline, as_of, parameters = resolve_run(self.layout, as_of, overrides)

        self.as_of = as_of
        run_id = f"{as_of}-{uuid.uuid4().hex[:8]}"
        work = self.layout.staging_dir / run_id
        report_staging = self.layout.reports_dir / f"{REPORT_STAGING_PREFIX}{run_id}"
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
            context = run_context(self.show_code, as_of, versions)
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
                "notebooks": [records[step.name].for_run_json() for step in pipeline.steps],
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
                    fingerprint=record.fingerprint,
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
                    detach_outputs(step, project)
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
        inputs = step_inputs(step, project.root)
        parts = step_fingerprint(step, parameters, inputs, context)
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
            key=fingerprint.digest(parts),
            fingerprint=parts,
        )

    def _fail(self, step, error, parameters, report_staging: Path):
        from jupyter_client.kernelspec import NoSuchKernel
        from papermill.exceptions import PapermillExecutionError

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
            page = dataclasses.replace(self.page, published_dir=failed)
            _render_page(step, parameters[step.name], report_staging, True, page, self.project)
        failed = _keep_failed_run(report_staging, self.layout, self.as_of)
        where = f"\n  failed notebook: {failed / executed.name}"
        if (failed / f"{step.name}.html").exists():
            where += f"\n  its page: {failed / (step.name + '.html')}"
        if not isinstance(error, PapermillExecutionError):  # the kernel died, a timeout, ...
            kernel_log = failed / f"{step.name}{KERNEL_LOG_SUFFIX}"
            if kernel_log.exists():
                where += f"\n  kernel log: {kernel_log}"
            if isinstance(error, NotebookStopped):
                raise RunFailed(
                    ExitCode.NOTEBOOK_ERROR,
                    describe_stopped_notebook(step.name, failed / executed.name, error) + where,
                ) from None
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
