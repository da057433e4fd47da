"""The runner's own small test project: four quick notebooks in a diamond (source -> left,
right -> join), so each property of the engine is checked with real kernels in seconds.

Shared by the runner tests (test_runner.py), the status tests (test_status.py), the fault
tests (test_faults.py) and the hostile parameter tests (test_hostile_parameters.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import yaml
from built_once import built_once
from project_runs import run_in_process

import notebook_pipeline
from helpers.paths import ProjectLayout
from notebook_pipeline import execution
from notebook_pipeline.run import run_pipeline

AS_OF = "2025-06-30"

PIPELINE = {
    "title": "Diamond",
    "study": {"invalid_data_errors": ["InvalidDataError"]},
    "parameters": {"processed_dir": "data/processed"},
    "notebooks": {
        "source": {
            "inputs": ["data/raw/numbers.txt"],
            "outputs": ["data/processed/total.txt"],
            "parameters": {"factor": 2},
        },
        "left": {
            "inputs": ["data/processed/total.txt", "data/raw/left.txt"],
            "outputs": ["data/processed/left.txt"],
        },
        "right": {
            "inputs": ["data/processed/total.txt"],
            "outputs": ["data/processed/right.txt"],
        },
        "join": {
            "inputs": ["data/processed/left.txt", "data/processed/right.txt"],
            "outputs": ["data/processed/join.txt"],
        },
    },
}

CELLS = {
    "source": (
        'processed_dir = "data/processed"\nfactor = 1  # multiplies the sum',
        "from pathlib import Path\n"
        "numbers = Path('data/raw/numbers.txt').read_text().split()\n"
        "total = factor * sum(int(n) for n in numbers)\n"
        "Path(processed_dir, 'total.txt').write_text(str(total))\n"
        "total",
    ),
    "left": (
        'processed_dir = "data/processed"\npause = 0.0  # seconds, to overlap with right',
        "import time\nfrom pathlib import Path\ntime.sleep(pause)\n"
        "total = int(Path(processed_dir, 'total.txt').read_text())\n"
        "extra = int(Path('data/raw/left.txt').read_text())\n"
        "Path(processed_dir, 'left.txt').write_text(str(total + extra))",
    ),
    "right": (
        'processed_dir = "data/processed"\npause = 0.0  # seconds, to overlap with left',
        "import time\nfrom pathlib import Path\ntime.sleep(pause)\n"
        "total = int(Path(processed_dir, 'total.txt').read_text())\n"
        "Path(processed_dir, 'right.txt').write_text(str(total % 2))",
    ),
    "join": (
        'processed_dir = "data/processed"\nfail = False  # raise, to test failures',
        "from pathlib import Path\n"
        "left = Path(processed_dir, 'left.txt').read_text()\n"
        "right = Path(processed_dir, 'right.txt').read_text()\n"
        "if fail:\n"
        "    raise ValueError('join was asked to fail')\n"
        "Path(processed_dir, 'join.txt').write_text(left + ',' + right)",
    ),
}


def write_notebook(path: Path, parameters: str, *bodies: str) -> None:
    """A notebook of a title, its parameters cell, and a code cell per body."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.cells = [
        nbformat.v4.new_markdown_cell(f"# {path.stem}"),
        nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}),
        *(nbformat.v4.new_code_cell(body) for body in bodies),
    ]
    nbformat.write(notebook, path)


def make_diamond_project(root: Path) -> ProjectLayout:
    """The diamond project in the (existing, empty) folder `root`."""
    (root / "notebooks").mkdir()
    (root / "data" / "raw").mkdir(parents=True)
    (root / "data" / "raw" / "numbers.txt").write_text("1 2 3\n")
    (root / "data" / "raw" / "left.txt").write_text("10\n")
    (root / "pipeline.yaml").write_text(yaml.safe_dump(PIPELINE, sort_keys=False))
    for name, (parameters, body) in CELLS.items():
        write_notebook(root / "notebooks" / f"{name}.ipynb", parameters, body)
    return ProjectLayout(root)


def run_once_for_all(
    tmp_path_factory,
    make: Callable[[Path], ProjectLayout],
    earlier_overrides: tuple[dict, ...] = (),
) -> Path:
    """The project `make(folder)` builds, after one run of its notebooks (`run`), which is what
    it publishes; before it, a run with each of `earlier_overrides`, whose executions its step
    store then holds. Built once for the whole test run, also under pytest-xdist
    (built_once.py), and named after `make`. Tests never change it: each starts from a copy
    (copy_project)."""

    def build(folder: Path) -> dict:
        project = make(folder)
        for overrides in earlier_overrides:
            run(project, overrides=overrides)
        run(project)
        return {"project": str(project.root)}

    return Path(built_once(tmp_path_factory, f"{make.__name__}_that_ran", build)["project"])


def copy_project(source: Path, root: Path) -> ProjectLayout:
    """A copy of the project in `source`, with its data, reports and run cache, in `root` (which
    may exist, empty). Nothing in a project names its own folder, so the copy runs as the
    original would."""
    shutil.copytree(source, root, symlinks=True, dirs_exist_ok=True)
    return ProjectLayout(root)


def run(project: ProjectLayout, **options) -> dict:
    """Run in this process; returns the published run.json."""
    report = run_pipeline(project, as_of=AS_OF, **options)
    return json.loads((report / "run.json").read_text())


def statuses(record: dict) -> dict[str, str]:
    """Each notebook's status in a run.json: executed, cached or rendered (its page only)."""
    return {nb["name"]: nb["status"] for nb in record["notebooks"]}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def published(project: ProjectLayout) -> dict[str, bytes]:
    """Everything a reader or the next notebook sees: data/processed and the reports."""
    return {
        **{f"processed/{k}": v for k, v in snapshot(project.processed_dir).items()},
        **{f"reports/{k}": v for k, v in snapshot(project.reports_dir).items()},
    }


def cli_command(project: ProjectLayout, *args: str) -> list[str]:
    """`chinaflows run` on `project`, as a command for subprocess."""
    return [sys.executable, "-m", "helpers.cli", "run", "--project-dir", str(project.root), *args]


def cli(project: ProjectLayout, *args: str, **options) -> subprocess.CompletedProcess:
    return subprocess.run(
        cli_command(project, *args), capture_output=True, text=True, timeout=300, **options
    )


def cli_in_process(project: ProjectLayout, *args: str, capsys) -> subprocess.CompletedProcess:
    """`chinaflows run --quiet` in this process, so that its kernels are this process's children
    and a monkeypatched runner applies; returns what the command printed and its exit code."""
    return run_in_process(project.root, "--quiet", *args, capsys=capsys)


def refuse_kernels(monkeypatch) -> None:
    """Make the test fail if any notebook would be executed."""

    def refuse(step, *args, **kwargs):
        raise AssertionError(f"{step.name} was executed")

    monkeypatch.setattr(execution, "execute_step", refuse)


def published_run_json(project: ProjectLayout) -> dict:
    """The run.json of the report published for AS_OF."""
    return json.loads((project.report_dir(AS_OF) / "run.json").read_text())


def engine_copy(folder: Path, edit: Callable[[Path], None]) -> tuple[Path, dict[str, str]]:
    """A copy of the engine's package in `folder`, changed by `edit(copy)`: the copy and the
    environment of a process that imports it instead of the installed engine (PYTHONPATH)."""
    copy = folder / "notebook_pipeline"
    engine = Path(notebook_pipeline.__file__).parent
    shutil.copytree(engine, copy, ignore=shutil.ignore_patterns("__pycache__"))
    edit(copy)
    paths = [str(folder), *filter(None, [os.environ.get("PYTHONPATH")])]
    return copy, {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def imported_engine(env: dict[str, str]) -> Path:
    """The folder a process with the environment `env` imports the engine from."""
    shown = subprocess.run(
        [sys.executable, "-c", "import notebook_pipeline; print(notebook_pipeline.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(shown.stdout.strip()).parent
