"""Does pipeline.yaml agree with the notebooks? Asked by `chinaflows check` and by the tests.

The runner knows notebooks only through pipeline.yaml, so a notebook missing from it never runs,
and a parameter or input that pipeline.yaml gets wrong stops a run late or, worse, not at all.
The check reads pipeline.yaml with `load_pipeline` and each parameters cell with papermill, as
the runner does, and judges each value as the runner would.
"""

from __future__ import annotations

import graphlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from notebook_pipeline.errors import InvalidParameterError
from notebook_pipeline.layout import ProjectLayout
from notebook_pipeline.spec import (
    NOT_A_STEP_PREFIX,
    Pipeline,
    checked_for_notebook,
    convert_to_default_type,
    load_pipeline,
    notebook_parameters,
    project_relative,
)
from notebook_pipeline.sweep_spec import load_sweep_page, load_sweeps


@dataclass(frozen=True)
class PipelineCheck:
    """What `check_pipeline` found, and how much it checked."""

    problems: list[str]  # each names pipeline.yaml and the step, or the notebook, and what is wrong
    notebooks: int = 0  # steps checked (none when pipeline.yaml cannot be read)
    parameters: int = 0  # values pipeline.yaml sets, checked against the parameters cells
    inputs: int = 0  # declared inputs, checked against earlier outputs and data/raw


def check_pipeline(layout: ProjectLayout) -> PipelineCheck:
    """Every notebook in notebooks/ (but `_...`) is a step of pipeline.yaml and the reverse;
    every parameter pipeline.yaml sets is declared by the parameters cell of each notebook it
    reaches, with a value of a compatible type; every input is an output of an earlier step or
    exists under data/raw; no two steps write the same output; the sweeps and the sweep page
    are declared as sweep_spec reads them."""
    try:
        pipeline = load_pipeline(layout)
        load_sweeps(layout)
        load_sweep_page(layout)
    except FileNotFoundError:
        return PipelineCheck([f"{layout.pipeline_file}: not found"])
    except yaml.YAMLError as error:
        return PipelineCheck([f"pipeline.yaml: not valid YAML: {error}"])
    except InvalidParameterError as error:
        return PipelineCheck([str(error)])
    except graphlib.CycleError as error:
        cycle = " -> ".join(error.args[1])
        return PipelineCheck(
            [
                f"pipeline.yaml: the notebooks {cycle} each read an output of the one before, "
                "so none can run first"
            ]
        )
    declared, problems = _declared_parameters(layout, pipeline)
    problems += _notebook_problems(layout, pipeline)
    problems += _parameter_problems(layout, pipeline, declared)
    problems += _input_problems(layout, pipeline)
    return PipelineCheck(
        problems,
        notebooks=len(pipeline.steps),
        parameters=len(pipeline.shared_parameters)
        + sum(len(step.parameters) for step in pipeline.steps),
        inputs=sum(len(step.inputs) for step in pipeline.steps),
    )


def step_notebook_files(layout: ProjectLayout) -> list[Path]:
    """The notebooks in notebooks/ that are pipeline steps: all but those named `_...` and the
    sweep page (pipeline.yaml: `sweep_page`), which the engine runs only after a sweep."""
    sweep_page = load_sweep_page(layout)
    return sorted(
        path
        for path in layout.notebooks_dir.glob("*.ipynb")
        if not path.name.startswith(NOT_A_STEP_PREFIX)
        and (sweep_page is None or path != sweep_page.path)
    )


def _declared_parameters(
    layout: ProjectLayout, pipeline: Pipeline
) -> tuple[dict[str, dict], list[str]]:
    """Each step's parameters cell defaults (steps with an existing, readable notebook)."""
    declared, problems = {}, []
    for step in pipeline.steps:
        if not step.path.is_file():
            continue
        try:
            declared[step.name] = notebook_parameters(step.path)
        except (ValueError, SyntaxError) as error:  # a default that is not a Python literal
            notebook = project_relative(layout, step.path)
            problems.append(
                f"{notebook}: a default in the parameters cell is not a plain value (text, "
                f"number, list, dict, True/False/None): {error}"
            )
    return declared, problems


def _notebook_problems(layout: ProjectLayout, pipeline: Pipeline) -> list[str]:
    steps = {step.name for step in pipeline.steps}
    problems = [
        f"{project_relative(layout, notebook)}: not in pipeline.yaml; add an entry "
        f"`{notebook.stem}:` under `notebooks:`, or start its name with '_' if it is not a step"
        for notebook in step_notebook_files(layout)
        if notebook.stem not in steps
    ]
    problems += [
        f"pipeline.yaml, {step.name}: its notebook {project_relative(layout, step.path)} "
        "does not exist"
        for step in pipeline.steps
        if not step.path.is_file()
    ]
    return problems


def _value_problem(name, value, default) -> str | None:
    """Why the runner would refuse `value` for a parameter whose default is `default`."""
    try:
        checked_for_notebook(name, convert_to_default_type(name, value, default))
    except InvalidParameterError as error:
        return str(error)
    return None


def _parameter_problems(
    layout: ProjectLayout, pipeline: Pipeline, declared: dict[str, dict]
) -> list[str]:
    problems = []
    for step in pipeline.steps:
        defaults = declared.get(step.name)
        if defaults is None:
            continue  # no notebook to compare with: reported above
        for name, value in step.parameters.items():
            if name not in defaults:
                problems.append(
                    f"pipeline.yaml, {step.name}: sets '{name}', which the parameters cell of "
                    f"{project_relative(layout, step.path)} does not declare (it declares "
                    f"{', '.join(sorted(defaults)) or 'none'})"
                )
            elif problem := _value_problem(name, value, defaults[name]):
                problems.append(f"pipeline.yaml, {step.name}: {problem}")
    for name, value in pipeline.shared_parameters.items():
        # A step's own value wins over the shared one, which then never reaches it.
        reached = [
            step
            for step in pipeline.steps
            if name in declared.get(step.name, {}) and name not in step.parameters
        ]
        if not any(name in defaults for defaults in declared.values()):
            problems.append(
                f"pipeline.yaml, parameters: '{name}' is declared by no notebook's parameters cell"
            )
        problems += [
            f"pipeline.yaml, parameters: {problem}, in {project_relative(layout, step.path)}"
            for step in reached
            if (problem := _value_problem(name, value, declared[step.name][name]))
        ]
    return problems


def _input_problems(layout: ProjectLayout, pipeline: Pipeline) -> list[str]:
    """Inputs that no earlier step writes and that data/raw does not hold; outputs written
    twice (the order would follow only one of their writers)."""
    problems = []
    raw = layout.raw_dir.resolve()
    written_by: dict[str, str] = {}
    for step in pipeline.steps:  # in execution order: only earlier steps' outputs are written
        for path in step.inputs:
            if path in written_by:
                continue
            location = (layout.root / path).resolve()
            if not (location.is_relative_to(raw) and location.exists()):
                problems.append(
                    f"pipeline.yaml, {step.name}: input {path} is neither an output of an "
                    f"earlier notebook nor present in {project_relative(layout, layout.raw_dir)}"
                )
        for path in step.outputs:
            if path in written_by:
                problems.append(
                    f"pipeline.yaml, {step.name}: output {path} is an output of "
                    f"{written_by[path]} too"
                )
            written_by.setdefault(path, step.name)
    return problems
