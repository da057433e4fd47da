"""Adding a notebook: `chinaflows new NAME` copies notebooks/_template.ipynb and prints the
pipeline.yaml entry; with the entry added, the next run executes the notebook and the run index
links its page."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from project_runs import run
from repository import TEMPLATE_INPUTS

from helpers.cli import main
from helpers.paths import DEFAULT_LAYOUT
from helpers.present import show
from notebook_pipeline.failures import ExitCode
from notebook_pipeline.new_notebook import TEMPLATE_NOTEBOOK

TEMPLATE = DEFAULT_LAYOUT.notebooks_dir / TEMPLATE_NOTEBOOK


def chinaflows(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "helpers.cli", *args, "--project-dir", str(project)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def notebooks(tmp_path) -> Path:
    """A project whose notebooks/ holds the template, 01_a and 07_b, with this repository's
    pipeline.yaml (which declares what the template reads)."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    shutil.copy(DEFAULT_LAYOUT.pipeline_file, tmp_path / "pipeline.yaml")
    shutil.copy(TEMPLATE, folder / TEMPLATE_NOTEBOOK)
    for name in ("01_a", "07_b"):
        shutil.copy(TEMPLATE, folder / f"{name}.ipynb")
    return folder


def new(notebooks: Path, name: str) -> int:
    return main(["new", name, "--project-dir", str(notebooks.parent)])


def names(notebooks: Path) -> list[str]:
    return sorted(p.name for p in notebooks.glob("*.ipynb"))


# --- chinaflows new ----------------------------------------------------------------------------


def test_new_copies_the_template_under_the_next_free_number(notebooks, capsys):
    assert new(notebooks, "sector_flows") == ExitCode.OK
    created = notebooks / "08_sector_flows.ipynb"
    assert created.read_bytes() == TEMPLATE.read_bytes()
    printed = capsys.readouterr()
    assert yaml.safe_load(printed.out) == {
        "08_sector_flows": {
            "title": "Sector flows",
            "inputs": list(TEMPLATE_INPUTS),
            "outputs": [],
        }
    }
    assert printed.out.startswith("  08_sector_flows:\n")  # indented to paste under notebooks:
    assert "Created notebooks/08_sector_flows.ipynb" in printed.err

    assert new(notebooks, "more") == ExitCode.OK
    assert (notebooks / "09_more.ipynb").is_file()


def test_new_in_a_project_with_only_the_template(tmp_path, capsys):
    (tmp_path / "notebooks").mkdir()
    shutil.copy(TEMPLATE, tmp_path / "notebooks" / TEMPLATE_NOTEBOOK)
    assert new(tmp_path / "notebooks", "first") == ExitCode.OK
    assert (tmp_path / "notebooks" / "01_first.ipynb").is_file()


def test_a_title_that_yaml_would_read_as_a_boolean_stays_text(notebooks, capsys):
    assert new(notebooks, "yes") == ExitCode.OK
    assert yaml.safe_load(capsys.readouterr().out)["08_yes"]["title"] == "Yes"


@pytest.mark.parametrize(
    "name", ["../escape", "sub/page", "Sector", "05_numbered", "_hidden", "page.ipynb", "a b", ""]
)
def test_new_refuses_a_name_that_cannot_name_a_notebook(notebooks, capsys, name):
    before = names(notebooks)
    assert new(notebooks, name) == ExitCode.USAGE
    assert capsys.readouterr().err == (
        f"chinaflows: {name!r} cannot name a notebook: use lower-case letters, digits and '_', "
        "starting with a letter (the number in front is added for you)\n"
    )
    assert names(notebooks) == before
    assert not (notebooks.parent / "escape.ipynb").exists()


def test_new_refuses_a_name_a_notebook_has_already(notebooks, capsys):
    before = names(notebooks)
    assert new(notebooks, "b") == ExitCode.USAGE
    assert capsys.readouterr().err == (
        "chinaflows: notebooks/07_b.ipynb exists already; choose another name\n"
    )
    assert names(notebooks) == before


def test_new_without_the_template(notebooks, capsys):
    (notebooks / TEMPLATE_NOTEBOOK).unlink()
    assert new(notebooks, "page") == ExitCode.USAGE
    assert capsys.readouterr().err == (
        "chinaflows: notebooks/_template.ipynb: the template is missing\n"
    )
    assert names(notebooks) == ["01_a.ipynb", "07_b.ipynb"]


def test_the_template_follows_the_notebook_conventions():
    content = nbformat.read(TEMPLATE, as_version=4)
    tagged = [c for c in content.cells if "parameters" in c.metadata.get("tags", [])]
    code = [c for c in content.cells if c.cell_type == "code"]
    assert tagged == code[:1], "the first code cell, and only it, is tagged parameters"
    steps = [cell.source.splitlines()[0] for cell in code[1:] if cell.source.startswith("# ")]
    assert steps == ["# Load inputs", "# Compute", "# Save outputs"], "the steps, in code"
    headings = [
        line
        for cell in content.cells
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if line.startswith("## ")
    ]
    assert headings and all(h.endswith("?") for h in headings), "sections are questions"
    findings = [c for c in code if "findings" in c.metadata.get("tags", [])]
    assert len(findings) == 1 and "show.findings(" in findings[0].source
    assert any("show.sample_banner(" in cell.source for cell in code)


# --- a throwaway notebook, through a real run ---------------------------------------------------


@pytest.mark.pipeline
def test_a_new_notebook_is_executed_by_the_next_run_and_linked(published_run, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(published_run[0], project, symlinks=True)

    created = chinaflows(project, "new", "cohort_flow")
    assert created.returncode == 0, created.stderr
    entry = yaml.safe_load(created.stdout)
    (name,) = entry
    notebook = project / "notebooks" / f"{name}.ipynb"

    # Fill in its parameters cell: the page states the traditional cohort's flow.
    content = nbformat.read(notebook, as_version=4)
    parameters = content.cells[1]
    assert "parameters" in parameters.metadata["tags"]
    assert 'cohort = "technology"' in parameters.source
    parameters.source = parameters.source.replace('"technology"', '"traditional"')
    nbformat.write(content, notebook)

    forgotten = chinaflows(project, "check")
    assert forgotten.returncode == ExitCode.USAGE
    assert f"notebooks/{name}.ipynb: not in pipeline.yaml" in forgotten.stderr

    # Add the printed entry to pipeline.yaml, under notebooks:.
    pipeline_file = project / "pipeline.yaml"
    spec = yaml.safe_load(pipeline_file.read_text(encoding="utf-8"))
    spec["notebooks"].update(entry)
    pipeline_file.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    checked = chinaflows(project, "check")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("ok: ")

    result = run(project)

    assert result.returncode == 0, result.stderr
    report = Path(result.stdout.strip().splitlines()[-1]).parent
    record = json.loads((report / "run.json").read_text())
    statuses = {nb["name"]: nb["status"] for nb in record["notebooks"]}
    assert statuses.pop(name) == "executed"
    # Nothing else changed but the page before it in reading order, which now links to it.
    assert statuses.pop("04_summary") == "rendered"
    assert set(statuses.values()) == {"cached"}
    run_index = (report / "index.html").read_text(encoding="utf-8")
    assert f'<a href="{name}.html">Cohort flow</a>' in run_index
    page = (report / f"{name}.html").read_text(encoding="utf-8")
    headline = json.loads((report / "headline.json").read_text())
    stated = show.usd_bn(headline["flows"]["cohorts_usd"]["traditional"])
    assert f"the traditional cohort's net flow was <strong>{stated}</strong>" in page
