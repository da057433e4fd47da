"""Staging and publishing: a run builds in copies and publishes whole or not at all.

A run works in a staging copy of the project (`.chinaflows/runs/<id>/`): data/raw and the rest
of the project are linked in, data/processed starts as hard links to the published files, and
every notebook runs there. Its report is built in a staging folder. Only when every notebook
succeeded are the new files moved into data/processed and the report folder swapped in. A run
killed on the way leaves only its staging folders, which the next run deletes.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from notebook_pipeline import files
from notebook_pipeline.layout import ProjectLayout
from notebook_pipeline.spec import NotebookStep
from notebook_pipeline.step_cache import StepCache

REPORT_STAGING_PREFIX = ".staging-"  # reports/.staging-<run id>/: a report being built


def _link_or_copy(source: str, target: str) -> None:
    """Hard-link (instant; safe because a notebook's outputs are detached before it runs)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def detach_outputs(step: NotebookStep, project: ProjectLayout) -> None:
    """Remove `step`'s declared outputs from the staging project's data/processed before it
    runs. They are hard links to the published files: a notebook writing a file in place
    (open(path, "w"), DataFrame.to_parquet) would write through the link into data/processed.
    (A notebook's outputs are never its inputs: that would be a cycle in the graph.)"""
    staged = project.processed_dir.resolve()
    for output in step.outputs:
        path = project.root / output
        if staged not in path.resolve().parents:
            continue  # not staged (linked to the project itself): never removed
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def make_staging_project(layout: ProjectLayout, folder: Path) -> ProjectLayout:
    """A copy of the project for one run: links to everything but data/processed, which holds
    links to the published files until a notebook replaces them."""
    staging = ProjectLayout(folder)
    skipped = {layout.work_dir.name, layout.reports_dir.name, "data"}
    staging.processed_dir.parent.mkdir(parents=True)
    for entry in layout.root.iterdir():
        if entry.name not in skipped:
            (folder / entry.name).symlink_to(entry)
    data = layout.processed_dir.parent
    for entry in data.iterdir() if data.is_dir() else []:
        if entry != layout.processed_dir:
            (staging.processed_dir.parent / entry.name).symlink_to(entry)
    if layout.processed_dir.is_dir():
        shutil.copytree(layout.processed_dir, staging.processed_dir, copy_function=_link_or_copy)
    else:
        staging.processed_dir.mkdir()
    return staging


def publish_processed(built: Path, target: Path) -> list[Path]:
    """Move the files a run wrote in `built` to `target`, each by one rename; returns them."""
    moved = []
    for source in sorted(p for p in built.rglob("*") if p.is_file()):
        destination = target / source.relative_to(built)
        if destination.exists() and os.path.samefile(source, destination):
            continue  # still the published file: no notebook replaced it
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, destination)
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            # data/processed on another file system: copy beside the target, then rename
            files.write_atomically(destination, lambda temp, s=source: shutil.copy2(s, temp))
        moved.append(destination)
    return moved


def keep_failed_run(staging: Path, layout: ProjectLayout, as_of: str) -> Path:
    """Keep a failed run's staging report folder as the failed run of `as_of`; returns it."""
    return files.replace_folder(staging, layout.failed_reports_dir / as_of)


def staging_folders(layout: ProjectLayout) -> list[Path]:
    """The staging projects and report folders of the run in progress or of killed runs."""
    return [
        *(layout.staging_dir.iterdir() if layout.staging_dir.is_dir() else []),
        *layout.reports_dir.glob(f"{REPORT_STAGING_PREFIX}*"),
    ]


def sweep_stale_staging(layout: ProjectLayout) -> None:
    """Delete the staging folders that killed runs left, and put back a report folder that a
    run killed in the middle of swapping it in had moved aside.

    Call it holding the run lock: no other run is working then, so every staging folder is a
    dead run's. (Their staging projects hold links into the project: rmtree removes the links,
    never what they point to.)"""
    for folder in staging_folders(layout):
        shutil.rmtree(folder, ignore_errors=True)
    for parent in (
        layout.reports_dir,
        layout.failed_reports_dir,
        StepCache(layout.cache_dir).folder,
    ):
        if parent.is_dir():
            files.recover_replaced_folders(parent)
