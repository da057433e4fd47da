"""The pipeline as declared in pipeline.yaml: notebooks, their order, their parameters.

The order is derived from each notebook's declared inputs and outputs (a notebook runs after the
notebooks whose outputs it reads). Parameters are checked against each notebook's `parameters`
cell before any kernel starts.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import graphlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from helpers.errors import InvalidParameterError
from helpers.paths import ProjectLayout


@dataclass(frozen=True)
class NotebookStep:
    """One notebook of the pipeline, as pipeline.yaml declares it."""

    name: str
    title: str
    path: Path
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Pipeline:
    title: str
    steps: tuple[NotebookStep, ...]  # in execution order
    shared_parameters: dict[str, Any]
    publish: tuple[str, ...]

    def step(self, name: str) -> NotebookStep:
        return next(s for s in self.steps if s.name == name)


def load_pipeline(layout: ProjectLayout) -> Pipeline:
    """Read pipeline.yaml and order its notebooks by their inputs and outputs."""
    spec = yaml.safe_load(layout.pipeline_file.read_text(encoding="utf-8"))
    steps = [
        NotebookStep(
            name=name,
            title=entry.get("title", name),
            path=layout.notebooks_dir / f"{name}.ipynb",
            inputs=tuple(entry.get("inputs", [])),
            outputs=tuple(entry.get("outputs", [])),
            parameters=dict(entry.get("parameters") or {}),
        )
        for name, entry in spec["notebooks"].items()
    ]
    return Pipeline(
        title=spec.get("title", "Reports"),
        steps=tuple(execution_order(steps)),
        shared_parameters=dict(spec.get("parameters") or {}),
        publish=tuple(spec.get("publish", [])),
    )


def execution_order(steps: list[NotebookStep]) -> list[NotebookStep]:
    """Steps sorted so that each runs after the producers of its inputs (ties: by name)."""
    producer = {output: step.name for step in steps for output in step.outputs}
    graph = {s.name: {producer[i] for i in s.inputs if i in producer} for s in steps}
    sorter = graphlib.TopologicalSorter(graph)
    sorter.prepare()
    by_name = {s.name: s for s in steps}
    ordered = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        ordered += [by_name[name] for name in ready]
        sorter.done(*ready)
    return ordered


def upstream_steps(pipeline: Pipeline, step: NotebookStep) -> list[str]:
    """Names of the notebooks whose outputs `step` reads."""
    producers = {o: s.name for s in pipeline.steps for o in s.outputs}
    return sorted({producers[i] for i in step.inputs if i in producers})


def steps_downstream_of(pipeline: Pipeline, path: str) -> set[str]:
    """The notebooks that write `path`, read it, or read what a reader of it wrote.

    The writer's other outputs do not carry `path` on (01 writes the survey tables too).
    """
    reached, affected = {path}, set()
    for step in pipeline.steps:  # in execution order: producers before their readers
        if reached & set(step.inputs):
            affected.add(step.name)
            reached |= set(step.outputs)
        elif path in step.outputs:
            affected.add(step.name)
    return affected


def notebook_parameters(path: Path) -> dict[str, Any]:
    """The defaults in a notebook's `parameters` cell, as Python values."""
    import papermill  # imported here: it is slow to import, and a cached run never needs it

    declared = papermill.inspect_notebook(str(path))
    return {name: ast.literal_eval(info["default"]) for name, info in declared.items()}


def validate_iso_date(value: str, name: str = "as_of") -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"parameter '{name}': {value!r} is not a date in the form YYYY-MM-DD"
        ) from None


def convert_to_default_type(name: str, value: Any, default: Any) -> Any:
    """Convert a command-line value to the type of the notebook's default, or refuse it."""
    if isinstance(value, str) and not isinstance(default, str):
        with contextlib.suppress(yaml.YAMLError):
            value = yaml.safe_load(value)
    if default is None or (
        isinstance(value, type(default)) and isinstance(value, bool) == isinstance(default, bool)
    ):
        return value
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, str) and isinstance(value, int | float | dt.date):
        return str(value)
    raise InvalidParameterError(
        f"parameter '{name}': {value!r} is not a {type(default).__name__} "
        f"(the notebook's default is {default!r})"
    )


def resolve_parameters(
    pipeline: Pipeline,
    overrides: dict[str, Any],
    as_of: str,
    declared: dict[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """The parameters each notebook runs with: shared, then its own, then the overrides.

    Refuses (InvalidParameterError) an override no notebook declares, a value of the wrong type,
    and a parameter in pipeline.yaml that its notebook does not declare. `declared` maps each
    notebook to its parameters cell's defaults (inspected from the notebooks when not given).
    """
    if "as_of" in overrides:
        # The runner names the report folder after its as_of: one value, set with --as-of.
        raise InvalidParameterError("parameter 'as_of' is set with --as-of, not as an override")
    if declared is None:
        declared = {step.name: notebook_parameters(step.path) for step in pipeline.steps}
    known = sorted({name for params in declared.values() for name in params})
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise InvalidParameterError(
            f"unknown parameter(s) {', '.join(unknown)}; valid names: {', '.join(known)}"
        )
    resolved = {}
    for step in pipeline.steps:
        defaults = declared[step.name]
        stray = sorted(set(step.parameters) - set(defaults))
        if stray:
            raise InvalidParameterError(
                f"pipeline.yaml sets {', '.join(stray)} for {step.name}, "
                f"whose parameters cell declares only {', '.join(sorted(defaults))}"
            )
        chosen = {**pipeline.shared_parameters, "as_of": as_of, **step.parameters, **overrides}
        resolved[step.name] = {
            name: convert_to_default_type(name, value, defaults[name])
            for name, value in chosen.items()
            if name in defaults
        }
    return resolved
