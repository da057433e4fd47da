"""Content fingerprints: what a notebook's result and its page depend on, as SHA-256 digests.

Two keys per notebook. Its execution key (step_fingerprint) covers its cells (not their
outputs), its declared outputs, its parameters, the content of its inputs, the study's package
(code and data files, pipeline.yaml's study.package), the engine's public base that the study
imports (BASE_MODULES) and the installed package versions: a change in any of them re-executes
the notebook. The rest of the engine's code is not part of it. Its page key (page_fingerprint)
adds what only changes how its page looks: the engine's page rendering (PAGE_RENDERING), its
title, --show-code and the run's as-of date (which every page states, also those of notebooks
that do not take it); a change there re-renders the page from the last executed notebook, no
kernel starts. Content, not timestamps: touching a file re-runs nothing, and a changed file
with an old timestamp is still noticed.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from notebook_pipeline import files
from notebook_pipeline.spec import NotebookStep

MISSING = "missing"
_SKIPPED_NAMES = {"__pycache__", ".ipynb_checkpoints"}


def digest(value: Any) -> str:
    """SHA-256 of a JSON-serialisable value, independent of key order."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _files_below(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not _SKIPPED_NAMES.intersection(p.relative_to(folder).parts)
    )


def path_sha256(path: Path) -> str:
    """Digest of a file's bytes, or of every file below a folder (names and bytes)."""
    if path.is_file():
        return file_sha256(path)
    if path.is_dir():
        folder = path.resolve()
        return digest(
            {f.relative_to(folder).as_posix(): file_sha256(f) for f in _files_below(folder)}
        )
    return MISSING


def notebook_source_sha256(path: Path) -> str:
    """Digest of what a notebook executes: each cell's type, source and tags, and its kernel.

    Outputs, execution counts and other metadata are left out, so re-saving a notebook after
    running it in JupyterLab does not count as a change.
    """
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = [
        {
            "type": cell["cell_type"],
            "source": "".join(cell["source"]),
            "tags": sorted(cell.get("metadata", {}).get("tags", [])),
        }
        for cell in notebook["cells"]
    ]
    kernel = notebook.get("metadata", {}).get("kernelspec", {}).get("name")
    return digest({"cells": cells, "kernel": kernel})


def package_source_sha256(package_dir: Path) -> str:
    """Digest of a package's source files (code and templates), without compiled caches."""
    folder = package_dir.resolve()
    return digest(
        {
            f.relative_to(folder).as_posix(): file_sha256(f)
            for f in _files_below(folder)
            if f.suffix != ".pyc"
        }
    )


def installed_versions(cache_dir: Path | None = None) -> dict[str, str]:
    """Every installed distribution and its version, with the Python version; with `cache_dir`,
    read once per state of the environment and kept there (remembered_per_environment)."""
    return remembered_per_environment(cache_dir, "installed_versions", _read_installed_versions)


def _read_installed_versions() -> dict[str, str]:
    versions = {}
    for dist in importlib.metadata.distributions():
        metadata = dist.metadata  # parsed once: dist.version would parse the file again
        if metadata["Name"]:
            versions[canonicalize_name(metadata["Name"])] = metadata["Version"]
    return {"python": platform.python_version(), **dict(sorted(versions.items()))}


# How the metadata of an installed distribution is named (pandas-2.3.1.dist-info, ...).
_METADATA_SUFFIXES = (".dist-info", ".egg-info")


def environment_stamp() -> str:
    """Digest of what is installed where this Python imports from: each folder on its path that
    holds distributions, with the name and modification time of every distribution's metadata
    in it. Installing, upgrading or removing a distribution changes it (metadata added, removed
    or rewritten); folders of plain code on the path (a script's own) do not."""
    found = {}
    for entry in sys.path:
        folder = Path(entry or os.curdir).resolve()
        try:
            names = sorted(n for n in os.listdir(folder) if n.endswith(_METADATA_SUFFIXES))
        except OSError:  # not a folder: the standard library's zip archive, a missing path
            continue
        if names:
            found[str(folder)] = [[name, _modified_ns(folder / name)] for name in names]
    return digest({"python": sys.version, "executable": sys.executable, "path": found})


def _modified_ns(metadata: Path) -> int:
    """When a distribution's metadata (its METADATA or PKG-INFO file) was last written."""
    for path in (metadata / "METADATA", metadata / "PKG-INFO", metadata):
        with contextlib.suppress(OSError):
            return path.stat().st_mtime_ns
    return 0


# What this process computed for remembered_per_environment, by name and environment_stamp:
# another project's first run in the same process (a test session, a sweep) reads it from here.
_REMEMBERED_IN_PROCESS: dict[tuple[str, str], Any] = {}


def remembered_per_environment(
    cache_dir: Path | None, name: str, compute: Callable[[], Any]
) -> Any:
    """`compute()`, an answer read from the installed distributions' metadata (which takes most
    of a second, longer than a run with nothing to do): kept in `cache_dir` under `name` and
    the environment_stamp, and read from there until a distribution is installed, upgraded or
    removed; a `cache_dir` without it gets what this process computed for the same stamp, if
    anything. Computed each time without `cache_dir`. It must return what JSON can hold."""
    if cache_dir is None:
        return compute()
    stamp = environment_stamp()
    store = cache_dir / "environments" / f"{name}-{stamp}.json"
    if store.is_file():
        return files.read_json(store)
    key = (name, stamp)
    if key not in _REMEMBERED_IN_PROCESS:
        _REMEMBERED_IN_PROCESS[key] = compute()
    value = copy.deepcopy(_REMEMBERED_IN_PROCESS[key])  # the caller's own, as if read
    files.write_json(value, store)
    return value


# The engine's public base, which a study imports (atomic writes, the error types, the project's
# layout): part of every notebook's fingerprint, unlike the rest of the engine.
BASE_MODULES = ("errors.py", "files.py", "layout.py")


def engine_base_sha256() -> str:
    """Digest of the engine's public base (BASE_MODULES)."""
    engine = Path(__file__).parent
    return digest({name: file_sha256(engine / name) for name in BASE_MODULES})


# The engine's page rendering: the renderer and every template it reads. Part of every page's
# key (page_fingerprint), not of the execution key.
PAGE_RENDERING = ("notebook_page.py", "site.py", "templates")


def page_rendering_sha256() -> str:
    """Digest of the engine's page rendering (PAGE_RENDERING: notebook_page.py, site.py and
    their templates)."""
    engine = Path(__file__).parent
    return digest({name: path_sha256(engine / name) for name in PAGE_RENDERING})


def study_package_sha256(package: str) -> str:
    """Digest of the study's package (its code and data files), found without importing it;
    "" for a project that names none."""
    if not package:
        return ""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"pipeline.yaml, study.package: no package {package!r}")
    return package_source_sha256(Path(next(iter(spec.submodule_search_locations))))


@dataclass(frozen=True)
class RunContext:
    """What every notebook's keys share: the code and packages this run executes with (in the
    execution key), and how its pages are rendered (in the page key only)."""

    study_sha256: str
    engine_base_sha256: str
    environment_sha256: str
    show_code: bool
    as_of: str  # every page states it, also those of notebooks that do not take it
    page_rendering_sha256: str  # the engine's page rendering (PAGE_RENDERING)


def run_context(
    study_package: str, show_code: bool, as_of: str, versions: dict[str, str]
) -> RunContext:
    """The fingerprint parts shared by a run's notebooks: the study's code, the engine's base
    and its page rendering as they are now, and the installed `versions` (installed_versions)."""
    return RunContext(
        study_sha256=study_package_sha256(study_package),
        engine_base_sha256=engine_base_sha256(),
        environment_sha256=digest(versions),
        show_code=show_code,
        as_of=as_of,
        page_rendering_sha256=page_rendering_sha256(),
    )


def step_inputs(step: NotebookStep, root: Path) -> dict[str, str]:
    """The content digest of each declared input (a file or a whole folder) under `root`."""
    return {i: path_sha256(root / i) for i in step.inputs}


def step_fingerprint(
    step: NotebookStep, parameters: dict[str, Any], inputs: dict[str, str], context: RunContext
) -> dict[str, Any]:
    """Everything a notebook's results depend on (its execution key is the digest); a change in
    any part re-executes it. The run's as-of date is here only as a parameter the notebook
    declares."""
    return {
        "notebook": notebook_source_sha256(step.path),
        "outputs": list(step.outputs),
        "parameters": parameters,
        "inputs": inputs,
        "study": context.study_sha256,
        "engine_base": context.engine_base_sha256,
        "environment": context.environment_sha256,
    }


def page_fingerprint(
    step: NotebookStep,
    execution_key: str,
    context: RunContext,
    outline: dict[str, Any],
    nav: tuple[tuple[str, str], ...] = (),
) -> dict[str, Any]:
    """Everything a notebook's page depends on (its page key is the digest): the engine's page
    rendering, the notebook's title, --show-code, the run's as-of date, the execution the
    page shows (`execution_key`) and, for a sweep's combination, the links atop it (`nav`;
    a single run's are the default). A change only here re-renders the page, no kernel
    starts."""
    parts = {
        "rendering": context.page_rendering_sha256,
        "title": step.title,
        "show_code": context.show_code,
        "as_of": context.as_of,
        "execution": execution_key,
        "outline": outline,  # spec.page_outline: the header's parameters, the pages around it
    }
    if nav:
        parts["nav"] = [list(link) for link in nav]
    return parts
