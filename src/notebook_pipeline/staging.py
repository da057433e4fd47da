"""Staging and publishing: a run builds in copies and publishes whole or not at all.

A run works in a staging copy of the project (`.chinaflows/runs/<id>/`): the project is linked
in, data/raw is a snapshot of hard links taken under the run lock (a fetch is seen whole or not
at all), data/processed starts as hard links to the published files, and every notebook runs
there. Its report (executed notebooks, pages, kernel logs) is built beside
it in `.chinaflows/runs/report-<id>/`, never under reports/: reports/ is the static site and is
published as it is, so it holds only the site index and whole run folders. Only when every
notebook succeeded are the new files moved into data/processed and the report folder swapped
into reports/ by one rename, under the publishing lock (publishing_lock), the only time a run
waits for another; a failed run is kept in `.chinaflows/failed/<as_of>/`. Each staging folder
is owned by its process through an OS lock (ownership): a run killed on the way leaves only
its staging folders, which the next run deletes, never one a live process still works in.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import filelock

from notebook_pipeline import files
from notebook_pipeline.failures import ExitCode, RunFailed
from notebook_pipeline.layout import ProjectLayout
from notebook_pipeline.ownership import delete_unowned
from notebook_pipeline.spec import NotebookStep
from notebook_pipeline.step_cache import StepCache, link_or_copy

REPORT_STAGING_PREFIX = "report-"  # .chinaflows/runs/report-<run id>/: a report being built
# reports/.incoming-<run id>/: a finished report copied onto a reports/ that is on a file system
# of its own, just before the rename that publishes it (publish_report)
INCOMING_PREFIX = ".incoming-"
# What earlier versions kept under reports/: staging folders and failed runs (swept out)
LEGACY_REPORT_STAGING_PREFIX = ".staging-"
LEGACY_FAILED_DIR = "_failed"


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


def make_staging_project(
    layout: ProjectLayout,
    folder: Path,
    *,
    with_published_data: bool = True,
    raw_snapshot: Path | None = None,
    lock_timeout: float = -1,
) -> ProjectLayout:
    """A copy of the project for one run: links to everything but data/raw and data/processed.
    data/raw is a snapshot (snapshot_raw_data, waiting `lock_timeout` seconds for the run
    lock), or links to `raw_snapshot`, a snapshot already taken (a sweep's, for its tasks);
    data/processed holds links to the published files until a notebook replaces them (starts
    empty without `with_published_data`: a sweep's task restores what it reads from the step
    store)."""
    staging = ProjectLayout(folder)
    skipped = {layout.work_dir.name, layout.reports_dir.name, "data"}
    staging.processed_dir.parent.mkdir(parents=True)
    for entry in layout.root.iterdir():
        if entry.name not in skipped:
            (folder / entry.name).symlink_to(entry)
    data = layout.processed_dir.parent
    for entry in data.iterdir() if data.is_dir() else []:
        if entry not in (layout.processed_dir, layout.raw_dir):
            (staging.processed_dir.parent / entry.name).symlink_to(entry)
    if raw_snapshot is not None:
        staging.raw_dir.symlink_to(raw_snapshot)
    else:
        snapshot_raw_data(layout, staging.raw_dir, lock_timeout)
    if with_published_data and layout.processed_dir.is_dir():
        shutil.copytree(layout.processed_dir, staging.processed_dir, copy_function=link_or_copy)
    else:
        staging.processed_dir.mkdir()
    return staging


def snapshot_raw_data(layout: ProjectLayout, target: Path, lock_timeout: float = -1) -> None:
    """data/raw as hard links (copies where linking fails) in `target`, taken holding the run
    lock for that moment only: a fetch writes data/raw holding it, so a run sees all of a
    fetch or none of it, and nothing fetched later changes the inputs of a run under way."""
    if not layout.raw_dir.is_dir():
        target.mkdir(parents=True)
        return
    with run_lock(layout, lock_timeout):
        shutil.copytree(layout.raw_dir, target, symlinks=True, copy_function=link_or_copy)


def publish_processed(built: Path, target: Path) -> list[Path]:
    """Move the files a run wrote in `built` to `target`, each by one rename; returns them."""
    moved = []
    for source in sorted(p for p in built.rglob("*") if p.is_file()):
        destination = target / source.relative_to(built)
        if destination.exists() and os.path.samefile(source, destination):
            continue  # still the published file: no notebook replaced it
        moved.append(files.move_file(source, destination))
    return moved


def report_staging_folder(layout: ProjectLayout, run_id: str) -> Path:
    """Where run `run_id` builds its report: beside its staging project in .chinaflows/runs/."""
    return layout.staging_dir / f"{REPORT_STAGING_PREFIX}{run_id}"


def same_file_system(one: Path, other: Path) -> bool:
    """Whether two existing paths are on one file system (a rename can move between them)."""
    return os.stat(one).st_dev == os.stat(other).st_dev


def publish_report(built: Path, layout: ProjectLayout, as_of: str) -> Path:
    """Put the finished report folder `built` in place as reports/<as_of>; returns it.

    The rule: a report is built in .chinaflows/ and published by one rename
    (files.replace_folder), so reports/ never holds a half-built report, a kernel log or a
    failed run. A rename cannot cross file systems, though. When reports/ is on a file system
    of its own (a mount point, or a link to another disk), no folder outside it is on that
    file system, not even a hidden sibling of the mount point (that is on the parent's file
    system). Building the whole run inside the mount would put kernel logs and failed runs in
    the published folder; instead only the finished report, exactly as it will be published,
    is copied into a hidden folder inside reports/ (reports/.incoming-<id>/, which no index
    links and the next run deletes should a kill interrupt the copy) and then renamed into
    place. The run folders and the site index stay whole either way."""
    layout.reports_dir.mkdir(parents=True, exist_ok=True)
    if not same_file_system(built, layout.reports_dir):
        incoming = layout.reports_dir / f"{INCOMING_PREFIX}{built.name}"
        try:
            shutil.copytree(built, incoming)
        except BaseException:
            shutil.rmtree(incoming, ignore_errors=True)
            raise
        built = incoming
    return files.replace_folder(built, layout.report_dir(as_of))


def start_publishing(layout: ProjectLayout) -> None:
    """Mark that a run is publishing: until `finish_publishing`, a kill may leave the site
    index behind the run folders."""
    layout.publishing_marker.touch()


def finish_publishing(layout: ProjectLayout) -> None:
    """Mark that the run's publishing, site index included, is done."""
    layout.publishing_marker.unlink(missing_ok=True)


def publishing_interrupted(layout: ProjectLayout) -> bool:
    """Whether a run was killed while publishing: its site index must be rewritten."""
    return layout.publishing_marker.exists()


def keep_failed_run(staging: Path, layout: ProjectLayout, as_of: str) -> Path:
    """Keep a failed run's staging report folder as the failed run of `as_of`
    (.chinaflows/failed/<as_of>/, outside the published reports/); returns it."""
    return files.replace_folder(staging, layout.failed_reports_dir / as_of)


def staging_folders(layout: ProjectLayout) -> list[Path]:
    """The staging projects and report folders of the run in progress or of killed runs: in
    .chinaflows/runs/, and in reports/ only a finished report being copied onto a reports/ on
    a file system of its own (publish_report), or what an earlier version left there."""
    return [
        *(layout.staging_dir.iterdir() if layout.staging_dir.is_dir() else []),
        *layout.reports_dir.glob(f"{INCOMING_PREFIX}*"),
        *layout.reports_dir.glob(f"{LEGACY_REPORT_STAGING_PREFIX}*"),
    ]


def _move_legacy_failed_runs(layout: ProjectLayout) -> None:
    """Move the failed runs an earlier version kept in reports/_failed/ out of the published
    folder, to .chinaflows/failed/ (where a failed run of the same date is newer: kept)."""
    legacy = layout.reports_dir / LEGACY_FAILED_DIR
    if not legacy.is_dir():
        return
    files.recover_replaced_folders(legacy)
    for failed in legacy.iterdir():
        kept = layout.failed_reports_dir / failed.name
        if failed.is_dir() and not kept.exists():
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(failed, kept)
    shutil.rmtree(legacy)


def sweep_stale_staging(layout: ProjectLayout) -> None:
    """Delete the staging folders and half-built store entries that killed processes left,
    never one that a live process owns (ownership: its owner's OS lock is held), so it is safe
    while other runs, sweeps and tasks work in the project. A run's report folder
    (report-<run id>) belongs to the owner of its staging project (<run id>)."""
    if layout.staging_dir.is_dir():
        delete_unowned(
            layout.staging_dir.iterdir(), lambda name: name.removeprefix(REPORT_STAGING_PREFIX)
        )
    StepCache(layout.cache_dir).sweep_unfinished()


def recover_interrupted_publishing(layout: ProjectLayout) -> None:
    """Delete what a publisher killed on the way left in reports/ (a report being copied in),
    put back a report folder it had moved aside, and move the failed runs an earlier version
    kept in reports/_failed/ to .chinaflows/failed/. Call it holding the publishing lock
    (publishing_lock): no one else publishes then."""
    for folder in [
        *layout.reports_dir.glob(f"{INCOMING_PREFIX}*"),
        *layout.reports_dir.glob(f"{LEGACY_REPORT_STAGING_PREFIX}*"),
    ]:
        shutil.rmtree(folder, ignore_errors=True)
    _move_legacy_failed_runs(layout)
    for parent in (layout.reports_dir, layout.failed_reports_dir):
        if parent.is_dir():
            files.recover_replaced_folders(parent)


@contextlib.contextmanager
def run_lock(layout: ProjectLayout, timeout: float = -1) -> Iterator[None]:
    """Hold the project's run lock (an OS file lock, free again at once when its holder is
    killed) for a moment: to publish, to snapshot data/raw, and (a fetch) to add to data/raw.
    Waits `timeout` seconds (-1: as long as it takes) for whoever holds it, then fails with the
    in-progress exit code."""
    layout.work_dir.mkdir(parents=True, exist_ok=True)
    try:
        lock = filelock.FileLock(layout.lock_file, timeout=timeout, is_singleton=False)
        lock.acquire()
    except filelock.Timeout:
        raise RunFailed(
            ExitCode.IN_PROGRESS,
            f"another run is in progress: it holds {layout.lock_file} to publish (or a fetch "
            "holds it to add to data/raw); wait for it to finish or pass --wait SECONDS",
        ) from None
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def publishing_lock(layout: ProjectLayout, timeout: float = 0) -> Iterator[None]:
    """Hold the run lock to publish, after putting right what a publisher killed on the way
    left: runs and sweeps execute side by side and publish one at a time, each whole."""
    with run_lock(layout, timeout):
        recover_interrupted_publishing(layout)
        yield
