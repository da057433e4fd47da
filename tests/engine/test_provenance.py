"""What run.json records of where a run's results came from (notebook_pipeline.provenance)."""

from __future__ import annotations

import subprocess

from notebook_pipeline import provenance
from notebook_pipeline.fingerprint import installed_versions


def git(folder, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        check=True,
        capture_output=True,
    )


def test_git_state_names_the_commit_and_whether_the_tree_changed(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("one")
    git(tmp_path, "add", "a.txt")
    git(tmp_path, "commit", "-q", "-m", "one")
    head = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert provenance.git_state(tmp_path) == {"commit": head, "dirty": False}
    (tmp_path / "a.txt").write_text("two")
    assert provenance.git_state(tmp_path) == {"commit": head, "dirty": True}


def test_git_state_outside_a_checkout_is_unknown(tmp_path):
    assert provenance.git_state(tmp_path) == {"commit": None, "dirty": None}


def test_package_versions_are_the_study_distributions_dependencies():
    versions = installed_versions()
    packages = provenance.project_package_versions(versions, "helpers")
    assert {"pandas", "papermill", "defusedxml"} <= set(packages)
    assert packages["pandas"] == versions["pandas"]
    assert "pytest" not in packages  # a dev extra, not a dependency
    assert provenance.project_package_versions(versions, "no_such_package") == {}
