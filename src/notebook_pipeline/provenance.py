"""Where a run's results came from: the commit, the Python and the packages it ran with."""

from __future__ import annotations

import importlib.metadata
import subprocess
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from notebook_pipeline.fingerprint import remembered_per_environment


def git_state(root: Path) -> dict[str, Any]:
    """The commit checked out at `root` and whether the tree differs from it (None outside git)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30
            )
        except OSError:  # no git on this machine
            return None
        return done.stdout if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit.strip(), "dirty": bool(status.strip()) if status is not None else None}


def project_package_versions(
    versions: dict[str, str], package: str, cache_dir: Path | None = None
) -> dict[str, str]:
    """The versions of the declared dependencies of the distribution that installs the study's
    `package` (pipeline.yaml: study.package), picked out of `versions`; {} if none does. With
    `cache_dir`, the dependencies are read once per state of the environment and kept there."""
    # A project without a study package: the distribution that installs this engine.
    package = package or __name__.split(".")[0]
    names = remembered_per_environment(
        cache_dir, f"dependencies-{package}", lambda: _declared_dependencies(package)
    )
    return {name: versions.get(name, "not installed") for name in names}


def _declared_dependencies(package: str) -> list[str]:
    """The names of what the distribution installing `package` declares it needs (no extras)."""
    distributions = _distributions_installing(package)
    if not distributions:
        return []
    try:
        declared = importlib.metadata.requires(distributions[0]) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    return sorted(
        {canonicalize_name(Requirement(text).name) for text in declared if "extra ==" not in text}
    )


def _distributions_installing(package: str) -> list[str]:
    """The names of the distributions that install the import package `package`: those whose
    top_level.txt names it (a small file each), else what packages_distributions finds, which
    reads the RECORD of every distribution without that file (most of a second)."""
    named = [
        distribution.metadata["Name"]
        for distribution in importlib.metadata.distributions()
        if package in (distribution.read_text("top_level.txt") or "").split()
    ]
    return named or importlib.metadata.packages_distributions().get(package, [])
