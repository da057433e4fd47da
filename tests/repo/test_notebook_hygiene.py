"""Notebooks in git (docs/notebooks-in-git.md): no output or execution count is ever committed,
`make install` sets up the nbstripout filter that strips them and nbdime's diff and merge
drivers, and `make lint` checks the notebooks' code."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from repository import MAKE

from helpers.paths import DEFAULT_LAYOUT

ROOT = DEFAULT_LAYOUT.root
GIT = shutil.which("git")
# Temporary repositories ignore the machine's and the user's git configuration.
ISOLATED_GIT = {
    **os.environ,
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    **{f"GIT_{role}_NAME": "Researcher" for role in ("AUTHOR", "COMMITTER")},
    **{f"GIT_{role}_EMAIL": "researcher@example.org" for role in ("AUTHOR", "COMMITTER")},
}


def dirty_cells(notebook: dict) -> list[int]:
    """Indexes of the code cells that carry outputs or an execution count."""
    return [
        index
        for index, cell in enumerate(notebook["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]


def git(repository: Path, *args: str, env: dict | None = None) -> str:
    result = subprocess.run(
        [GIT, "-C", str(repository), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout


def in_the_checkout(revision: str) -> dict[str, dict]:
    """The notebooks of this checkout at `revision` (`HEAD`; an empty string for the index)."""
    if GIT is None:
        pytest.skip("git is not installed")
    toplevel = subprocess.run(
        [GIT, "-C", str(ROOT), "rev-parse", "--show-toplevel"], capture_output=True, text=True
    )
    if toplevel.returncode != 0 or Path(toplevel.stdout.strip()) != ROOT:
        pytest.skip(f"{ROOT} is not the root of a git checkout (e.g. an unpacked archive)")
    listing = ["ls-tree", "-r", "-z", "--name-only", revision] if revision else ["ls-files", "-z"]
    paths = [path for path in git(ROOT, *listing).split("\0") if path.endswith(".ipynb")]
    return {path: json.loads(git(ROOT, "show", f"{revision}:{path}")) for path in paths}


@pytest.mark.parametrize("revision", ["HEAD", ""], ids=["committed", "staged"])
def test_no_notebook_in_git_carries_outputs_or_execution_counts(revision: str):
    notebooks = in_the_checkout(revision)
    assert notebooks, "no notebook found in git"
    dirty = {path: cells for path, nb in notebooks.items() if (cells := dirty_cells(nb))}
    where = "committed in HEAD" if revision else "staged"
    assert not dirty, (
        f"notebooks {where} with outputs or execution counts, by cell index: {dirty}. "
        "Run `make install` (it sets up the git filter that strips them), then "
        "`git add --renormalize notebooks/` and commit (docs/notebooks-in-git.md)."
    )


def executed(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `notebook` as running it leaves it: outputs, execution counts, timings and
    papermill's run records."""
    run = nbformat.from_dict(json.loads(nbformat.writes(notebook)))
    run.metadata["papermill"] = {"parameters": {"tolerance_pct": 2.0}, "duration": 1.5}
    for count, cell in enumerate((c for c in run.cells if c.cell_type == "code"), start=1):
        cell.execution_count = count
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"cell {count}\n")]
        cell.metadata["ExecuteTime"] = {"end_time": "2025-12-31T10:00:00"}
        cell.metadata["papermill"] = {"duration": 0.5, "status": "completed"}
    return run


@pytest.fixture
def notebook() -> nbformat.NotebookNode:
    """A clean notebook as the pipeline's are: a parameters cell tagged for papermill."""
    return nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Flows"),
            nbformat.v4.new_code_cell(
                "tolerance_pct = 1.0  # a figure holds within this %",
                metadata={"tags": ["parameters"]},
            ),
            nbformat.v4.new_code_cell("print(tolerance_pct)"),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )


@pytest.fixture
def repository(tmp_path: Path, notebook: nbformat.NotebookNode) -> Path:
    """A git repository set up as `make install` sets up this checkout, with `notebook`
    committed as notebooks/flows.ipynb."""
    if GIT is None:
        pytest.skip("git is not installed")
    repository = tmp_path / "repository"
    (repository / "notebooks").mkdir(parents=True)
    git(repository, "init", "--quiet", env=ISOLATED_GIT)
    shutil.copy2(ROOT / ".gitattributes", repository)
    result = subprocess.run(
        [*MAKE, "git-setup"], cwd=repository, capture_output=True, text=True, env=ISOLATED_GIT
    )
    assert result.returncode == 0, result.stdout + result.stderr
    nbformat.write(notebook, repository / "notebooks" / "flows.ipynb")
    commit(repository, "a clean notebook")
    return repository


def commit(repository: Path, message: str) -> None:
    git(repository, "add", "--all", env=ISOLATED_GIT)
    git(repository, "commit", "--quiet", "--no-verify", "-m", message, env=ISOLATED_GIT)


def test_staging_an_executed_notebook_stores_it_clean_with_its_parameters_tag(
    repository: Path, notebook: nbformat.NotebookNode
):
    path = repository / "notebooks" / "flows.ipynb"
    nbformat.write(executed(notebook), path)
    git(repository, "add", "notebooks/flows.ipynb", env=ISOLATED_GIT)

    staged = json.loads(git(repository, "show", ":notebooks/flows.ipynb", env=ISOLATED_GIT))
    assert staged == json.loads(nbformat.writes(notebook)), "staged differs from the clean one"
    assert staged["cells"][1]["metadata"]["tags"] == ["parameters"]
    # the researcher's own file keeps its outputs: only what git stores is stripped
    assert dirty_cells(json.loads(path.read_text())) == [1, 2]


def test_git_diff_shows_changed_code_cell_by_cell_without_outputs(
    repository: Path, notebook: nbformat.NotebookNode
):
    notebook.cells[1].source = "tolerance_pct = 2.5  # a figure holds within this %"
    nbformat.write(executed(notebook), repository / "notebooks" / "flows.ipynb")
    # git finds the diff driver by its absolute path: no activated environment is needed
    bare_path = {**ISOLATED_GIT, "PATH": os.pathsep.join([str(Path(GIT).parent), os.defpath])}

    diff = re.sub(r"\x1b\[[0-9;]*m", "", git(repository, "diff", env=bare_path))  # no colours
    assert "modified /cells/1/source" in diff
    assert re.search(r"^\+\s*tolerance_pct = 2\.5", diff, re.MULTILINE), diff
    assert "cell 1" not in diff and "execution_count" not in diff, diff


def test_a_conflicting_merge_leaves_a_valid_notebook_marked_in_the_cell(
    repository: Path, notebook: nbformat.NotebookNode
):
    path = repository / "notebooks" / "flows.ipynb"
    git(repository, "checkout", "--quiet", "-b", "other", env=ISOLATED_GIT)
    notebook.cells[1].source = "tolerance_pct = 2.0  # a figure holds within this %"
    nbformat.write(notebook, path)
    commit(repository, "other tolerance")
    git(repository, "checkout", "--quiet", "-", env=ISOLATED_GIT)
    notebook.cells[1].source = "tolerance_pct = 0.5  # a figure holds within this %"
    nbformat.write(notebook, path)
    commit(repository, "this tolerance")

    merge = subprocess.run(
        [GIT, "-C", str(repository), "merge", "other"],
        capture_output=True,
        text=True,
        env=ISOLATED_GIT,
        timeout=120,
    )
    assert merge.returncode != 0 and "CONFLICT" in merge.stdout, merge.stdout + merge.stderr
    merged = nbformat.read(path, as_version=4)  # still a notebook, not JSON broken by markers
    source = merged.cells[1].source
    assert "tolerance_pct = 0.5" in source and "tolerance_pct = 2.0" in source
    assert "<<<<<<<" in source and ">>>>>>>" in source


def test_git_setup_outside_a_git_checkout_is_skipped_with_a_message(tmp_path: Path):
    result = subprocess.run([*MAKE, "git-setup"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not the root of a git checkout" in result.stdout
    assert not (tmp_path / ".git").exists()


def test_make_lint_checks_the_notebooks(tmp_path: Path):
    """ruff reads .ipynb itself: an undefined name in a notebook cell fails `make lint`."""
    shutil.copy2(ROOT / "pyproject.toml", tmp_path)  # the project's ruff settings
    source = sorted(DEFAULT_LAYOUT.notebooks_dir.glob("[0-9]*.ipynb"))[0]
    notebook = nbformat.read(source, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("print(undefined_flow_total)"))
    (tmp_path / "notebooks").mkdir()
    nbformat.write(notebook, tmp_path / "notebooks" / source.name)

    result = subprocess.run([*MAKE, "lint"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode != 0
    assert f"notebooks/{source.name}:cell {len(notebook.cells)}" in result.stdout, result.stdout
    assert "F821" in result.stdout and "undefined_flow_total" in result.stdout
