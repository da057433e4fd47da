"""Before any kernel starts: the pipeline, each notebook's parameters and the run's as-of date,
checked, so that a bad pipeline.yaml, bad parameters or bad data stop a run at once with nothing
executed or written.

The data are the study's: pipeline.yaml's `study.preflight` names the function that checks them
(raising InvalidDataError) and gives their first and last date; the last is the as-of date
unless --as-of sets one. Its answer is remembered per content of the notebook's inputs, its
parameters and the study's code: a re-run on unchanged data reads nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from notebook_pipeline import files, fingerprint
from notebook_pipeline.errors import AsOfBeforeDataError, InvalidDataError, InvalidParameterError
from notebook_pipeline.failures import ExitCode, RunFailed
from notebook_pipeline.layout import ProjectLayout
from notebook_pipeline.spec import (
    Pipeline,
    load_hook,
    load_pipeline,
    resolve_parameters,
    validate_iso_date,
)
from notebook_pipeline.step_cache import cached_notebook_parameters


def checked_as_of(
    layout: ProjectLayout,
    pipeline: Pipeline,
    parameters: dict[str, dict[str, Any]],
    requested: str = "",
) -> str:
    """The run's as-of date: `requested` (an ISO date), else the last date of the data.

    The study's pre-flight check runs first, with the parameters its step resolved to, so that
    bad data are refused before any kernel starts (InvalidDataError), as is a requested date
    before the data's first date (AsOfBeforeDataError). A pipeline without a pre-flight check
    runs as of `requested`, else today.
    """
    preflight = pipeline.study.preflight
    if preflight is None:
        return requested or dt.date.today().isoformat()
    step = pipeline.step(preflight.step)
    checked = {k: v for k, v in parameters[step.name].items() if k != "as_of"}
    memo = (
        layout.cache_dir
        / "checked_inputs"
        / fingerprint.digest(
            {
                "inputs": fingerprint.step_inputs(step, layout.root),
                "study": fingerprint.study_package_sha256(pipeline.study.package),
                "check": preflight.function,
                "parameters": checked,
            }
        )
    )
    if memo.is_file():
        first, last = files.read_json(memo)
    else:
        first, last = load_hook(preflight.function)(layout.root, checked)
        files.write_json([first, last], memo)
    if requested and requested < first:  # ISO dates compare as text
        raise AsOfBeforeDataError(requested, first)
    return requested or last


def declared_parameters(layout: ProjectLayout, pipeline: Pipeline) -> dict[str, dict[str, Any]]:
    """Each step's parameters cell defaults, inspected once per notebook content."""
    return {
        step.name: cached_notebook_parameters(layout.cache_dir, step.path)
        for step in pipeline.steps
    }


def resolve_run_parameters(
    layout: ProjectLayout,
    pipeline: Pipeline,
    as_of: str | None,
    overrides: dict[str, Any],
    declared: dict[str, dict[str, Any]],
) -> tuple[str, dict[str, dict[str, Any]]]:
    """The as-of date and each notebook's parameters of a run `--as-of as_of -p overrides`,
    checked (`declared`: declared_parameters). Raises InvalidParameterError for bad parameters
    or as-of date, InvalidDataError for bad data."""
    requested = validate_iso_date(as_of) if as_of else ""
    parameters = resolve_parameters(pipeline, overrides, requested, declared)
    as_of = checked_as_of(layout, pipeline, parameters, requested)
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
        declared = declared_parameters(layout, pipeline)
        return pipeline, *resolve_run_parameters(layout, pipeline, as_of, overrides, declared)
    except InvalidParameterError as error:
        raise RunFailed(ExitCode.USAGE, str(error)) from None
    except InvalidDataError as error:
        raise RunFailed(ExitCode.INVALID_DATA, f"invalid data:\n{error}") from None
