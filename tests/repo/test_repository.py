"""The repository's own promises: clean notebooks, one list of dependencies, a working CI script."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from helpers.paths import DEFAULT_LAYOUT

ROOT = DEFAULT_LAYOUT.root
NOTEBOOKS = sorted(DEFAULT_LAYOUT.notebooks_dir.glob("*.ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 4


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_every_parameter_has_a_comment(notebook: Path):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{notebook.name} needs exactly one cell tagged 'parameters'"
    source = "".join(tagged[0]["source"])
    lines = [line for line in source.splitlines() if re.match(r"^\w+\s*=", line)]
    assert lines
    for index, line in enumerate(source.splitlines()):
        if re.match(r"^\w+\s*=", line):
            previous = source.splitlines()[index - 1] if index else ""
            assert "#" in line or previous.startswith("#"), f"{notebook.name}: {line!r}"


def _environment_pip_lines() -> list[str]:
    environment = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_entries = [d for d in environment["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_entries) == 1, "environment.yml needs one pip section"
    return pip_entries[0]["pip"]


def test_environment_yml_installs_the_project_not_a_second_package_list():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    conda_packages = [d for d in environment["dependencies"] if isinstance(d, str)]
    assert {re.split(r"[=<>]", p)[0] for p in conda_packages} == {"python", "pip"}
    python = next(p for p in conda_packages if p.startswith("python="))
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert python.split("=")[1] in requires or requires.startswith(">=3.11")
    lines = _environment_pip_lines()
    assert "--constraint requirements.lock" in lines
    assert any(line.startswith("--editable .") for line in lines)
    assert all(line.startswith("--") for line in lines), "only options, no package names"


def test_environment_yml_pip_section_resolves_to_the_locked_project(tmp_path: Path):
    """pip accepts the section as written (conda writes it to a requirements file beside the
    environment file) and resolves it to this project; --dry-run installs nothing."""
    requirements = ROOT / f".environment-check-{tmp_path.name}.txt"
    requirements.write_text("\n".join(_environment_pip_lines()) + "\n")
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--dry-run",
                "--no-deps",
                "--no-index",
                "--no-build-isolation",
                "--quiet",
                "--report",
                str(tmp_path / "report.json"),
                "-r",
                str(requirements),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        requirements.unlink()
    assert result.returncode == 0, result.stderr
    installed = json.loads((tmp_path / "report.json").read_text())["install"]
    assert [item["metadata"]["name"] for item in installed] == ["china-tech-flows"]


def test_every_dependency_is_pinned_in_the_lock():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [
        Requirement(text)
        for text in project["dependencies"] + project["optional-dependencies"]["dev"]
    ]
    locked = {
        canonicalize_name(name): version
        for name, version in (
            line.split("#")[0].strip().split("==")
            for line in (ROOT / "requirements.lock").read_text().splitlines()
            if "==" in line
        )
    }
    missing = [str(need) for need in wanted if canonicalize_name(need.name) not in locked]
    assert not missing, f"not pinned in requirements.lock (run `make lock`): {missing}"
    # A bound declared in pyproject.toml (such as jsonschema's) holds for the pinned version.
    outside = [
        f"{need} (locked: {locked[canonicalize_name(need.name)]})"
        for need in wanted
        if not need.specifier.contains(locked[canonicalize_name(need.name)], prereleases=True)
    ]
    assert not outside, f"requirements.lock pins versions pyproject.toml excludes: {outside}"


def test_ci_script_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci
    assert "make test" in readme and "make report" in readme
