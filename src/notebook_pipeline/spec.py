"""The pipeline as declared in pipeline.yaml: notebooks, their order, their parameters.

The order is derived from each notebook's declared inputs and outputs (a notebook runs after the
notebooks whose outputs it reads). Parameters are checked against each notebook's `parameters`
cell before any kernel starts.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import datetime as dt
import functools
import graphlib
import importlib
import math
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from notebook_pipeline.errors import InvalidParameterError
from notebook_pipeline.layout import ProjectLayout

# How long a notebook may run, kernel start included, unless pipeline.yaml sets its
# `timeout_seconds`: generous, so that only a notebook that hangs reaches it.
DEFAULT_TIMEOUT_SECONDS = 30 * 60


@dataclass(frozen=True)
class NotebookStep:
    """One notebook of the pipeline, as pipeline.yaml declares it."""

    name: str
    title: str
    path: Path
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    parameters: dict[str, Any] = field(default_factory=dict)
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS  # for the whole notebook, not per cell


@dataclass(frozen=True)
class Preflight:
    """A study's check of its raw data before any kernel starts (`study.preflight`).

    `function` ("module:name") is called with the project root and the resolved parameters of
    `step`; it raises InvalidDataError for bad data and returns the first and last date of the
    data (ISO strings): the last is the run's as-of date unless --as-of sets one.
    """

    function: str
    step: str


@dataclass(frozen=True)
class Headline:
    """A study's headline figures (`study.headline`): the JSON file a run publishes, and the
    function ("module:name") that turns its content into the index pages' HTML fragments."""

    file: str
    html: str


@dataclass(frozen=True)
class RunIndex:
    """What a run's index page shows beside its list of pages (`pages.run_index`): the chart it
    opens with (a file the run publishes, shown with `chart_caption` as its caption and alt
    text; none when `chart` is empty), and the published files it links as the run's
    machine-readable record beside run.json."""

    chart: str = ""
    chart_caption: str = ""
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class StudyHooks:
    """What the engine asks of the study it runs, as pipeline.yaml's `study:` declares it; the
    engine knows the study only through these."""

    package: str = ""  # its code and data files are part of every notebook's cache key
    kernel: str = "python3"  # the Jupyter kernel the notebooks name
    preflight: Preflight | None = None
    # Names of exceptions that mean bad input data when a notebook raises them (exit code 3).
    invalid_data_errors: tuple[str, ...] = ()
    # "module:name": rows for each page's header (see notebook_page.render_page).
    page_facts: str = ""
    headline: Headline | None = None
    template_inputs: tuple[str, ...] = ()  # what notebooks/_template.ipynb reads


def load_hook(reference: str) -> Any:
    """The object a hook names as "package.module:name"."""
    module, _, name = reference.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise InvalidParameterError(
            f"pipeline.yaml, study: {reference!r} cannot be loaded ({error})"
        ) from None


def _study_hooks(entry: dict[str, Any] | None) -> StudyHooks:
    entry = dict(entry or {})
    preflight = entry.get("preflight")
    headline = entry.get("headline")
    return StudyHooks(
        package=entry.get("package", ""),
        kernel=entry.get("kernel", "python3"),
        preflight=Preflight(preflight["function"], preflight["step"]) if preflight else None,
        invalid_data_errors=tuple(entry.get("invalid_data_errors", ())),
        page_facts=entry.get("page_facts", ""),
        headline=Headline(headline["file"], headline["html"]) if headline else None,
        template_inputs=tuple(entry.get("template_inputs", ())),
    )


@dataclass(frozen=True)
class Pipeline:
    """pipeline.yaml: the notebooks in execution order, their parameters, what a run publishes
    beside the pages, and the study's hooks."""

    title: str
    steps: tuple[NotebookStep, ...]  # in execution order
    shared_parameters: dict[str, Any]
    publish: tuple[str, ...]
    study: StudyHooks = field(default_factory=StudyHooks)
    # The parameters a page's header shows openly (pipeline.yaml: pages.header_parameters); the
    # others (paths, internal switches) sit in a closed block. None: every parameter openly.
    header_parameters: tuple[str, ...] | None = None
    run_index: RunIndex = field(default_factory=RunIndex)

    def step(self, name: str) -> NotebookStep:
        """The step called `name`."""
        return next(s for s in self.steps if s.name == name)


def page_outline(pipeline: Pipeline, step: NotebookStep) -> dict[str, Any]:
    """What a step's page shows of the pipeline beyond its notebook: the parameters its header
    shows openly, and the pages before and after it in reading order (name and title, or None).
    Part of the page's key: a change here re-renders the page."""
    names = [s.name for s in pipeline.steps]
    position = names.index(step.name)

    def neighbour(index: int) -> dict[str, str] | None:
        if not 0 <= index < len(names):
            return None
        other = pipeline.steps[index]
        return {"name": other.name, "title": other.title}

    shown = pipeline.header_parameters
    return {
        "header_parameters": None if shown is None else list(shown),
        "previous": neighbour(position - 1),
        "next": neighbour(position + 1),
    }


def pipeline_declaration(layout: ProjectLayout) -> dict[str, Any]:
    """pipeline.yaml as YAML reads it (the caller's own copy)."""
    return copy.deepcopy(_parsed_yaml(layout.pipeline_file.read_text(encoding="utf-8")))


@functools.lru_cache(maxsize=16)
def _parsed_yaml(text: str) -> Any:
    # A run reads pipeline.yaml for its steps, its sweeps and its sweep page: parsed once per text.
    return yaml.safe_load(text)


def load_pipeline(layout: ProjectLayout) -> Pipeline:
    """Read pipeline.yaml and order its notebooks by their inputs and outputs."""
    spec = pipeline_declaration(layout)
    steps = [
        NotebookStep(
            name=name,
            title=entry.get("title", name),
            path=layout.notebooks_dir / f"{name}.ipynb",
            inputs=tuple(entry.get("inputs", [])),
            outputs=tuple(entry.get("outputs", [])),
            parameters=dict(entry.get("parameters") or {}),
            timeout_seconds=_timeout_seconds(name, entry),
        )
        for name, entry in spec["notebooks"].items()
    ]
    shared = dict(spec.get("parameters") or {})
    publish = tuple(spec.get("publish", []))
    return Pipeline(
        title=spec.get("title", "Reports"),
        steps=tuple(execution_order(steps)),
        shared_parameters=shared,
        publish=publish,
        study=_study_hooks(spec.get("study")),
        header_parameters=_header_parameters(spec.get("pages"), shared, steps),
        run_index=_run_index((spec.get("pages") or {}).get("run_index"), publish),
    )


def _run_index(entry: dict[str, Any] | None, publish: tuple[str, ...]) -> RunIndex:
    """pipeline.yaml's `pages.run_index`: its chart and files are files the run publishes, and a
    chart has a caption. Undeclared: no chart, and every published file listed."""
    if entry is None:
        return RunIndex(files=publish)
    where = "pipeline.yaml: pages.run_index"
    if not isinstance(entry, dict) or set(entry) - {"chart", "chart_caption", "files"}:
        raise InvalidParameterError(
            f"{where} must be a mapping of chart, chart_caption and files; got {entry!r}"
        )
    chart, caption = entry.get("chart") or "", entry.get("chart_caption") or ""
    if not isinstance(chart, str):
        raise InvalidParameterError(f"{where}.chart must be one published file; got {chart!r}")
    files = entry.get("files", list(publish))
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise InvalidParameterError(f"{where}.files must be a list of published files")
    unpublished = [path for path in [chart, *files] if path and path not in publish]
    if unpublished:
        raise InvalidParameterError(
            f"{where} names {', '.join(unpublished)}, which `publish` does not copy into the "
            "report folder"
        )
    if chart and not (isinstance(caption, str) and caption.strip()):
        raise InvalidParameterError(
            f"{where}.chart_caption must say what the chart {chart} shows (its alt text)"
        )
    return RunIndex(chart=chart, chart_caption=caption, files=tuple(files))


def _header_parameters(
    pages: dict[str, Any] | None, shared: dict[str, Any], steps: list[NotebookStep]
) -> tuple[str, ...] | None:
    """pipeline.yaml's `pages.header_parameters`, each a parameter pipeline.yaml declares."""
    if not pages or "header_parameters" not in pages:
        return None
    names = pages["header_parameters"]
    declared = set(shared).union(*(step.parameters for step in steps))
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidParameterError(
            "pipeline.yaml: pages.header_parameters must be a list of parameter names"
        )
    unknown = sorted(set(names) - declared)
    if unknown:
        raise InvalidParameterError(
            f"pipeline.yaml: pages.header_parameters names {', '.join(unknown)}, which no "
            "notebook's parameters declare"
        )
    return tuple(names)


def _timeout_seconds(name: str, entry: dict[str, Any]) -> float:
    limit = entry.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
    if isinstance(limit, bool) or not isinstance(limit, int | float) or not 0 < limit < math.inf:
        raise InvalidParameterError(
            f"pipeline.yaml: notebooks.{name}.timeout_seconds: {limit!r} is not a number of "
            "seconds above 0"
        )
    return float(limit)


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


def step_lineage(pipeline: Pipeline, step: NotebookStep) -> set[str]:
    """The files `step`'s page rests on: what it reads and writes, and what its inputs were
    made from (followed through their writers' inputs only: 01 writing the survey tables too does
    not make a survey page rest on the fund data)."""
    producer = {o: s for s in pipeline.steps for o in s.outputs}
    lineage = set(step.outputs)
    todo = list(step.inputs)
    while todo:
        path = todo.pop()
        if path not in lineage:
            lineage.add(path)
            if path in producer:
                todo += producer[path].inputs
    return lineage


def notebook_parameters(path: Path) -> dict[str, Any]:
    """The defaults in a notebook's `parameters` cell, as Python values."""
    import papermill  # imported here: it is slow to import, and a cached run never needs it

    declared = papermill.inspect_notebook(str(path))
    return {name: ast.literal_eval(info["default"]) for name, info in declared.items()}


# A notebook whose name starts with this is not a pipeline step (the template, a scratch copy).
NOT_A_STEP_PREFIX = "_"


def project_relative(layout: ProjectLayout, path: Path) -> str:
    """`path` as a message shows it: relative to the project root."""
    return path.relative_to(layout.root).as_posix()


def validate_iso_date(value: str, name: str = "as_of") -> str:
    """`value` if it is a date written YYYY-MM-DD, else InvalidParameterError naming `name`."""
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


# A parameter whose name ends so names a path, relative to the project root (the notebooks'
# working folder); it must stay inside the project.
_PATH_PARAMETER = re.compile(r"_(dir|path|file)$")
# Values papermill writes into the notebook as Python literals. It writes any other type with
# str(), which is not a literal: a date read from YAML would arrive as 2025 - 01 - 01.
_LITERAL_SCALARS = (str, int, float, bool, type(None))


def _not_a_literal(value: Any) -> str | None:
    """The first part of `value` that papermill cannot write as a literal, described."""
    if isinstance(value, dict):
        keys = [key for key in value if not isinstance(key, str)]
        if keys:
            return f"the key {keys[0]!r} (keys must be text)"
        parts = list(value.values())
    elif isinstance(value, list):
        parts = value
    elif isinstance(value, _LITERAL_SCALARS):
        return None
    else:
        return f"{value!r} (a {type(value).__name__})"
    return next((found for found in map(_not_a_literal, parts) if found), None)


def _leads_out_of_project(path: str) -> bool:
    normal = posixpath.normpath(path)
    return posixpath.isabs(normal) or normal == ".." or normal.startswith("../")


def checked_for_notebook(name: str, value: Any) -> Any:
    """`value`, unless a notebook must not receive it: a value papermill cannot write as a
    literal, or a path parameter (a name ending in _dir, _path or _file) leading out of the
    project."""
    odd = _not_a_literal(value)
    if odd:
        raise InvalidParameterError(
            f"parameter '{name}': {odd} cannot be passed to a notebook as a literal; "
            "quote it to pass it as text"
        )
    paths = value if isinstance(value, list) else [value]
    if _PATH_PARAMETER.search(name) and any(
        isinstance(path, str) and _leads_out_of_project(path) for path in paths
    ):
        raise InvalidParameterError(
            f"parameter '{name}': {value!r} leads out of the project; paths are relative to "
            "the project root and stay inside it"
        )
    return value


def resolve_parameters(
    pipeline: Pipeline,
    overrides: dict[str, Any],
    as_of: str,
    declared: dict[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """The parameters each notebook runs with: shared, then its own, then the overrides.

    Refuses (InvalidParameterError) an override no notebook declares, a value of the wrong type
    or one that is not a literal, a path leading out of the project, and a parameter in
    pipeline.yaml that its notebook does not declare. `declared` maps each
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
        # as_of last: the report folder is named after the runner's, so nothing else sets it.
        chosen = {**pipeline.shared_parameters, **step.parameters, **overrides, "as_of": as_of}
        resolved[step.name] = {
            name: checked_for_notebook(name, convert_to_default_type(name, value, defaults[name]))
            for name, value in chosen.items()
            if name in defaults
        }
    return resolved
