"""Executes the pipeline: papermill for each notebook, nbconvert for its page, then publishes.

A run builds its report in a staging folder under reports/ and moves it to reports/<as_of>/
only when every notebook succeeded; a failed run leaves the published report as it was and
keeps the failed notebook and its page under reports/_failed/<as_of>/.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import filelock
import papermill
from papermill.exceptions import PapermillExecutionError

from helpers import load, report
from helpers.errors import InvalidDataError, InvalidParameterError
from helpers.paths import ProjectLayout
from helpers.pipeline import Pipeline, load_pipeline, resolve_parameters, validate_iso_date

FAILED_FOLDER = "_failed"
LOCK_FILE = ".run.lock"


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
class StepResult:
    name: str
    title: str
    status: str  # "executed" or "failed"
    seconds: float
    parameters: dict[str, Any]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def default_as_of(layout: ProjectLayout, date_format: str = "") -> str:
    """The last date in the flow data."""
    return load.latest_flow_date(layout.raw_dir, date_format).date().isoformat()


def _describe_notebook_error(step_name: str, error: PapermillExecutionError) -> str:
    failing_line = next((line for line in reversed(error.source.splitlines()) if line.strip()), "")
    return (
        f"{step_name}: cell {error.cell_index} (execution count {error.exec_count}) raised "
        f"{error.ename}: {error.evalue}\n  last line of the cell: {failing_line.strip()}"
    )


def _execute_step(step, parameters: dict[str, Any], output: Path, layout: ProjectLayout) -> None:
    papermill.execute_notebook(
        str(step.path),
        str(output),
        parameters=parameters,
        cwd=str(layout.root),
        progress_bar=False,
        request_save_on_cell_execute=False,
    )


def _publish(staging: Path, target: Path) -> None:
    """Replace `target` by `staging` (two renames within one file system)."""
    retired = target.with_name(f".retired-{target.name}-{uuid.uuid4().hex[:8]}")
    if target.exists():
        target.rename(retired)
    staging.rename(target)
    shutil.rmtree(retired, ignore_errors=True)


def _keep_failed_run(staging: Path, layout: ProjectLayout, as_of: str) -> Path:
    failed = layout.reports_dir / FAILED_FOLDER / as_of
    failed.parent.mkdir(parents=True, exist_ok=True)
    if failed.exists():
        shutil.rmtree(failed)
    staging.rename(failed)
    return failed


def run_pipeline(
    layout: ProjectLayout,
    as_of: str | None = None,
    overrides: dict[str, Any] | None = None,
    show_code: bool = False,
    log: Callable[[str], None] = print,
    lock_timeout: float = 0,
) -> Path:
    """Run every notebook in order and publish reports/<as_of>/; returns that folder.

    One run at a time per project: the lock is an OS file lock, so a lock left by a killed
    process is free again at once.
    """
    layout.reports_dir.mkdir(parents=True, exist_ok=True)
    try:
        with filelock.FileLock(layout.reports_dir / LOCK_FILE, timeout=lock_timeout):
            return _run_locked(layout, as_of, overrides, show_code, log)
    except filelock.Timeout:
        raise RunFailed(
            ExitCode.IN_PROGRESS, f"another run holds {layout.reports_dir / LOCK_FILE}"
        ) from None


def _run_locked(
    layout: ProjectLayout,
    as_of: str | None,
    overrides: dict[str, Any] | None,
    show_code: bool,
    log: Callable[[str], None],
) -> Path:
    pipeline: Pipeline = load_pipeline(layout)
    try:
        overrides = dict(overrides or {})
        as_of = validate_iso_date(as_of) if as_of else ""
        parameters = resolve_parameters(pipeline, overrides, as_of)
        if not as_of:
            # The data are read with the date format the cleaning notebook will use.
            reading = next((p for p in parameters.values() if "date_format" in p), {})
            as_of = default_as_of(layout, reading.get("date_format", ""))
            parameters = resolve_parameters(pipeline, overrides, as_of)
    except InvalidParameterError as error:
        raise RunFailed(ExitCode.USAGE, str(error)) from None
    except InvalidDataError as error:
        raise RunFailed(ExitCode.INVALID_DATA, f"invalid data:\n{error}") from None

    staging = layout.reports_dir / f".staging-{as_of}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    started = _now()
    results: list[StepResult] = []
    try:
        for step in pipeline.steps:
            log(f"{step.name}: running")
            clock = time.perf_counter()
            executed = staging / f"{step.name}.ipynb"
            try:
                _execute_step(step, parameters[step.name], executed, layout)
            except PapermillExecutionError as error:
                if executed.exists():
                    report.render_notebook_html(
                        executed,
                        executed.with_suffix(".html"),
                        step.title,
                        parameters[step.name],
                        show_code=True,
                    )
                failed = _keep_failed_run(staging, layout, as_of)
                where = (
                    f"\n  failed notebook: {failed / (step.name + '.ipynb')}"
                    f"\n  its page: {failed / (step.name + '.html')}"
                )
                if error.ename == InvalidDataError.__name__:
                    raise RunFailed(
                        ExitCode.INVALID_DATA, f"invalid data:\n{error.evalue}{where}"
                    ) from None
                raise RunFailed(
                    ExitCode.NOTEBOOK_ERROR, _describe_notebook_error(step.name, error) + where
                ) from None
            seconds = time.perf_counter() - clock
            report.render_notebook_html(
                executed,
                executed.with_suffix(".html"),
                step.title,
                parameters[step.name],
                show_code=show_code,
            )
            results.append(
                StepResult(step.name, step.title, "executed", seconds, parameters[step.name])
            )
            log(f"{step.name}: done in {seconds:.1f} s")

        for published in pipeline.publish:
            shutil.copy2(layout.root / published, staging / Path(published).name)
        run = {
            "title": pipeline.title,
            "as_of": as_of,
            "status": "succeeded",
            "started": started,
            "finished": _now(),
            "notebooks": [vars(r) for r in results],
        }
        (staging / "run.json").write_text(json.dumps(run, indent=2), encoding="utf-8")
        headline_file = staging / "headline.json"
        headline = json.loads(headline_file.read_text()) if headline_file.exists() else {}
        report.render_run_index(staging, run, headline)
        target = layout.report_dir(as_of)
        _publish(staging, target)
        report.render_site_index(layout.reports_dir, pipeline.title)
        return target
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
