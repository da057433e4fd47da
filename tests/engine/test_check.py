"""`chinaflows check`: pipeline.yaml and the notebooks agree (notebook_pipeline.checks).

The repository itself must pass; each kind of disagreement, made in a temporary copy, must be
caught with a message that names the file and what is wrong.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
import yaml

from helpers.cli import main
from helpers.paths import DEFAULT_LAYOUT, ProjectLayout, copy_project_inputs
from notebook_pipeline.checks import check_pipeline, step_notebook_files
from notebook_pipeline.failures import ExitCode
from notebook_pipeline.spec import load_pipeline, notebook_parameters


@pytest.fixture
def project(tmp_path) -> ProjectLayout:
    return ProjectLayout(copy_project_inputs(tmp_path / "project"))


def edit_pipeline(project: ProjectLayout, change: Callable[[dict], None]) -> None:
    spec = yaml.safe_load(project.pipeline_file.read_text(encoding="utf-8"))
    change(spec)
    project.pipeline_file.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")


def edit_parameters_cell(notebook: Path, old: str, new: str) -> None:
    content = nbformat.read(notebook, as_version=4)
    (cell,) = [c for c in content.cells if "parameters" in c.metadata.get("tags", [])]
    assert old in cell.source, f"{notebook.name}: {old!r} is not in its parameters cell"
    cell.source = cell.source.replace(old, new)
    nbformat.write(content, notebook)


def problems(project: ProjectLayout) -> list[str]:
    return check_pipeline(project).problems


# --- the repository --------------------------------------------------------------------------


def test_the_repository_agrees():
    pipeline = load_pipeline(DEFAULT_LAYOUT)
    check = check_pipeline(DEFAULT_LAYOUT)
    assert check.problems == []
    assert check.notebooks == len(pipeline.steps) == len(step_notebook_files(DEFAULT_LAYOUT))
    assert check.parameters == len(pipeline.shared_parameters) + sum(
        len(step.parameters) for step in pipeline.steps
    )
    assert check.inputs == sum(len(step.inputs) for step in pipeline.steps)


def test_check_command_on_the_repository(capsys):
    assert main(["check"]) == ExitCode.OK
    printed = capsys.readouterr()
    steps = len(load_pipeline(DEFAULT_LAYOUT).steps)
    assert printed.out.startswith(f"ok: pipeline.yaml and notebooks/ agree ({steps} notebooks, ")
    assert printed.err == ""


def test_the_template_is_not_a_step():
    template = DEFAULT_LAYOUT.notebooks_dir / "_template.ipynb"
    assert template.is_file()
    assert template not in step_notebook_files(DEFAULT_LAYOUT)


def test_check_command_on_a_disagreeing_copy(project, capsys):
    shutil.copy(project.notebooks_dir / "04_summary.ipynb", project.notebooks_dir / "05_x.ipynb")
    assert main(["check", "--project-dir", str(project.root)]) == ExitCode.USAGE
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err.splitlines() == [
        "chinaflows: pipeline.yaml and notebooks/ disagree, 1 problem(s):",
        "  notebooks/05_x.ipynb: not in pipeline.yaml; add an entry `05_x:` under `notebooks:`, "
        "or start its name with '_' if it is not a step",
    ]


# --- notebooks and steps -----------------------------------------------------------------------


def test_a_notebook_missing_from_pipeline_yaml(project):
    shutil.copy(project.notebooks_dir / "04_summary.ipynb", project.notebooks_dir / "05_x.ipynb")
    assert problems(project) == [
        "notebooks/05_x.ipynb: not in pipeline.yaml; add an entry `05_x:` under `notebooks:`, "
        "or start its name with '_' if it is not a step"
    ]


def test_a_notebook_named_with_an_underscore_is_not_a_step(project):
    notebooks = project.notebooks_dir
    shutil.copy(notebooks / "04_summary.ipynb", notebooks / "_scratch.ipynb")
    assert problems(project) == []


def test_a_step_without_its_notebook(project):
    (project.notebooks_dir / "03_sovereign_survey.ipynb").unlink()
    assert problems(project) == [
        "pipeline.yaml, 03_sovereign_survey: its notebook notebooks/03_sovereign_survey.ipynb "
        "does not exist"
    ]


# --- parameters --------------------------------------------------------------------------------


def test_a_step_parameter_the_notebook_does_not_declare(project):
    edit_pipeline(
        project, lambda spec: spec["notebooks"]["02_etf_flows"]["parameters"].update(tolerance=2.0)
    )
    declared = sorted(notebook_parameters(project.notebooks_dir / "02_etf_flows.ipynb"))
    assert "tolerance_pct" in declared
    assert problems(project) == [
        "pipeline.yaml, 02_etf_flows: sets 'tolerance', which the parameters cell of "
        f"notebooks/02_etf_flows.ipynb does not declare (it declares {', '.join(declared)})"
    ]


def test_a_parameter_removed_from_the_notebook(project):
    notebook = project.notebooks_dir / "03_sovereign_survey.ipynb"
    edit_parameters_cell(notebook, 'survey_base = "all_respondents"', "")
    assert problems(project) == [
        "pipeline.yaml, 03_sovereign_survey: sets 'survey_base', which the parameters cell of "
        "notebooks/03_sovereign_survey.ipynb does not declare (it declares confidence, "
        "processed_dir)"
    ]


@pytest.mark.parametrize(
    ("step", "name", "value", "wrong"),
    [
        ("02_etf_flows", "tolerance_pct", "abc", "'abc' is not a float"),
        ("02_etf_flows", "cohorts", ["KWEB", "FXI"], "['KWEB', 'FXI'] is not a dict"),
        ("01_clean_data", "shares_lag_days", 1.5, "1.5 is not a int"),
        ("01_clean_data", "stale_nav_days", True, "True is not a int"),
    ],
)
def test_a_step_parameter_of_an_incompatible_type(project, step, name, value, wrong):
    edit_pipeline(project, lambda spec: spec["notebooks"][step]["parameters"].update({name: value}))
    (problem,) = problems(project)
    assert problem.startswith(f"pipeline.yaml, {step}: parameter '{name}': {wrong}"), problem


def test_a_path_parameter_leading_out_of_the_project(project):
    edit_pipeline(project, lambda spec: spec["parameters"].update(raw_dir="../elsewhere"))
    (problem,) = problems(project)
    assert problem.startswith("pipeline.yaml, parameters: parameter 'raw_dir': '../elsewhere' ")
    assert "leads out of the project" in problem
    assert problem.endswith(", in notebooks/01_clean_data.ipynb")


def test_compatible_types_pass_as_the_runner_takes_them(project):
    # A whole number for a float default and a number for a text default are converted.
    edit_pipeline(
        project,
        lambda spec: spec["notebooks"]["02_etf_flows"]["parameters"].update(
            tolerance_pct=2, performance_freq=7
        ),
    )
    assert problems(project) == []


def test_a_shared_parameter_of_an_incompatible_type_names_each_notebook(project):
    edit_pipeline(project, lambda spec: spec["parameters"].update(confidence="high"))
    assert problems(project) == [
        "pipeline.yaml, parameters: parameter 'confidence': 'high' is not a float (the "
        f"notebook's default is 0.95), in notebooks/{name}.ipynb"
        for name in ("02_etf_flows", "03_sovereign_survey")
    ]


def test_a_shared_parameter_a_step_sets_itself_does_not_reach_it(project):
    def change(spec):
        spec["parameters"]["confidence"] = "high"
        spec["notebooks"]["03_sovereign_survey"]["parameters"]["confidence"] = 0.9

    edit_pipeline(project, change)
    (problem,) = problems(project)
    assert problem.endswith("in notebooks/02_etf_flows.ipynb"), problem


def test_a_shared_parameter_no_notebook_declares(project):
    edit_pipeline(project, lambda spec: spec["parameters"].update(currency="USD"))
    assert problems(project) == [
        "pipeline.yaml, parameters: 'currency' is declared by no notebook's parameters cell"
    ]


def test_a_default_that_is_not_a_literal(project):
    notebook = project.notebooks_dir / "04_summary.ipynb"
    edit_parameters_cell(notebook, 'processed_dir = "data/processed"', 'processed_dir = f"data"')
    (problem,) = problems(project)
    assert problem.startswith(
        "notebooks/04_summary.ipynb: a default in the parameters cell is not a plain value"
    ), problem


# --- inputs and outputs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "missing",
    [
        "data/processed/missing.json",  # written by no notebook
        "data/raw/missing.csv",  # not in data/raw
        "data/processed/stale.json",  # exists from an old run, but nothing writes it now
    ],
)
def test_an_input_nothing_provides(project, missing):
    project.processed_dir.mkdir(parents=True)
    (project.processed_dir / "stale.json").write_text("{}")
    edit_pipeline(project, lambda spec: spec["notebooks"]["04_summary"]["inputs"].append(missing))
    assert problems(project) == [
        f"pipeline.yaml, 04_summary: input {missing} is neither an output of an earlier "
        "notebook nor present in data/raw"
    ]


def test_a_raw_file_as_an_input(project):
    edit_pipeline(
        project,
        lambda spec: spec["notebooks"]["03_sovereign_survey"]["inputs"].append(
            "data/raw/survey_figures.csv"
        ),
    )
    assert problems(project) == []


def test_an_input_written_by_a_later_notebook(project):
    # 01 would read what 04 writes, and 04 reads what 01 writes: no order runs both.
    edit_pipeline(
        project,
        lambda spec: spec["notebooks"]["01_clean_data"]["inputs"].append(
            "data/processed/headline.json"
        ),
    )
    (problem,) = problems(project)
    assert problem.startswith("pipeline.yaml: the notebooks ")
    assert "01_clean_data" in problem and "04_summary" in problem
    assert problem.endswith("each read an output of the one before, so none can run first")


def test_an_output_written_by_two_notebooks(project):
    edit_pipeline(
        project,
        lambda spec: spec["notebooks"]["03_sovereign_survey"]["outputs"].append(
            "data/processed/flows_summary.json"
        ),
    )
    assert problems(project) == [
        "pipeline.yaml, 03_sovereign_survey: output data/processed/flows_summary.json is an "
        "output of 02_etf_flows too"
    ]


def test_pipeline_yaml_that_is_not_yaml(project):
    project.pipeline_file.write_text("notebooks: [\n", encoding="utf-8")
    (problem,) = problems(project)
    assert problem.startswith("pipeline.yaml: not valid YAML: ")
