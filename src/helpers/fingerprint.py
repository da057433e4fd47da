"""Content fingerprints: what a notebook's result depends on, as SHA-256 digests.

The runner re-executes a notebook only when one of these changed: its cells (not their
outputs), its parameters, the content of its inputs, the source of this package, or the
installed package versions. Content, not timestamps: touching a file re-runs nothing, and a
changed file with an old timestamp is still noticed.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

MISSING = "missing"
_SKIPPED_NAMES = {"__pycache__", ".ipynb_checkpoints"}


def digest(value: Any) -> str:
    """SHA-256 of a JSON-serialisable value, independent of key order."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
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


def installed_versions() -> dict[str, str]:
    """Every installed distribution and its version, with the Python version."""
    versions = {
        canonicalize_name(dist.metadata["Name"]): dist.version
        for dist in importlib.metadata.distributions()
        if dist.metadata["Name"]
    }
    return {"python": platform.python_version(), **dict(sorted(versions.items()))}
