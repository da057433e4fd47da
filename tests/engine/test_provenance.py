"""What run.json records of where a run's results came from (notebook_pipeline.provenance)."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess

import pytest

from notebook_pipeline import provenance
from notebook_pipeline.fingerprint import (
    environment_stamp,
    installed_versions,
    remembered_per_environment,
)


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


def install_fake_distribution(folder, version: str) -> None:
    """What an installer leaves of a distribution named fake-dist in `folder` (its metadata)."""
    for old in folder.glob("fake_dist-*.dist-info"):
        (old / "METADATA").unlink()
        old.rmdir()
    metadata = folder / f"fake_dist-{version}.dist-info"
    metadata.mkdir()
    (metadata / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: fake-dist\nVersion: {version}\n", encoding="utf-8"
    )


def test_the_environment_stamp_follows_what_is_installed(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    empty = environment_stamp()
    assert environment_stamp() == empty
    (site / "module.py").write_text("x = 1\n")  # code, not a distribution's metadata
    assert environment_stamp() == empty
    install_fake_distribution(site, "1.0")
    installed = environment_stamp()
    assert installed != empty
    install_fake_distribution(site, "2.0")
    assert environment_stamp() not in (empty, installed)
    # Metadata rewritten in place (an editable install's egg-info keeps its folder's name)
    egg = site / "other.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Name: other\nVersion: 1\n")
    before = environment_stamp()
    os.utime(egg / "PKG-INFO", ns=(1, 1))
    assert environment_stamp() != before


def test_versions_are_read_again_only_when_the_environment_changes(tmp_path, monkeypatch):
    site, cache = tmp_path / "site", tmp_path / "cache"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    install_fake_distribution(site, "1.0")
    assert installed_versions(cache) == installed_versions()
    assert installed_versions(cache)["fake-dist"] == "1.0"

    reads = []

    def counted() -> dict:
        reads.append(1)
        return {"read": len(reads)}

    assert remembered_per_environment(cache, "counted", counted) == {"read": 1}
    assert remembered_per_environment(cache, "counted", counted) == {"read": 1}
    # another project's cache, in the same process: what this process read, written there too
    other = tmp_path / "other-cache"
    assert remembered_per_environment(other, "counted", counted) == {"read": 1}
    assert list((other / "environments").glob("counted-*.json"))
    assert remembered_per_environment(None, "counted", counted) == {"read": 2}  # no cache

    install_fake_distribution(site, "2.0")
    assert installed_versions(cache)["fake-dist"] == "2.0"
    assert remembered_per_environment(cache, "counted", counted) == {"read": 3}


def test_the_study_dependencies_are_read_once_per_environment(tmp_path):
    versions = installed_versions()
    fresh = provenance.project_package_versions(versions, "helpers")
    assert provenance.project_package_versions(versions, "helpers", tmp_path) == fresh
    assert provenance.project_package_versions(versions, "helpers", tmp_path) == fresh
    assert len(list((tmp_path / "environments").glob("dependencies-helpers-*.json"))) == 1


@pytest.fixture(scope="module")
def every_package_distributions() -> dict[str, list[str]]:
    """importlib.metadata's answer for every package (it reads the RECORD of every distribution
    installed: most of a second), once for the module's tests."""
    return importlib.metadata.packages_distributions()


@pytest.mark.parametrize("package", ["helpers", "notebook_pipeline", "yaml", "pandas", "no_such"])
def test_the_distributions_of_a_package_are_those_importlib_metadata_finds(
    package, every_package_distributions
):
    """The quick look at each distribution's top_level.txt finds what packages_distributions
    finds in all of their metadata (pandas has no top_level.txt; PyYAML's names yaml)."""
    expected = every_package_distributions.get(package, [])
    assert provenance._distributions_installing(package) == expected
