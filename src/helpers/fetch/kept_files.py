"""What `fetch` keeps, and how: nothing fetched is lost or silently rewritten.

The layout the pipeline reads (data/raw/fetched/):

    <source>/<TICKER>/<UTC time>_<name>   each download as it arrived, never changed
    <source>/manifest.csv                 one row per kept file (MANIFEST_COLUMNS)

A file is listed in its manifest only once it is in place, and the pipeline reads only the
files its manifests list. Downloads are written to a staging folder in `.chinaflows/fetch/`
(the project's file system), without any lock; the run lock (the one `chinaflows run` holds)
is taken only to move finished files into place and to rewrite the manifests, each atomically.
A fetch killed at any moment leaves the last good state: at worst a staging folder, which the
next fetch deletes, or a file in place that no manifest lists, which nothing reads.
"""

from __future__ import annotations

import csv
import datetime as dt
import errno
import io
import shutil
import uuid
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import filelock
import pandas as pd

from helpers.errors import InvalidDataError
from helpers.fetch.arrival_checks import ROW_LAYOUT, read_kept_rows
from helpers.paths import FETCH_MANIFEST, FETCHED_DIR
from notebook_pipeline.files import move_file, write_atomically
from notebook_pipeline.layout import ProjectLayout

_STAGING_PREFIX = "staging-"


@dataclass(frozen=True)
class KeptFile:
    """One row of a source's manifest: a kept download and what is known of it."""

    ticker: str
    file: str  # relative to data/raw/fetched/, with "/"
    address: str
    fetched_at: str  # UTC, ISO 8601
    sha256: str
    http_status: int
    bytes: int
    format: str
    as_of: str  # the last date the file's data reach (an N-PORT filing's report date)


MANIFEST_COLUMNS = [f.name for f in fields(KeptFile)]


class RunInProgress(Exception):
    """The run lock stayed taken (a run is publishing) longer than the fetch would wait."""


class FetchInProgress(Exception):
    """Another fetch is working in this project."""


def fetched_dir(layout: ProjectLayout) -> Path:
    """data/raw/fetched/ of the project."""
    return layout.raw_dir / FETCHED_DIR


def fetch_work_dir(layout: ProjectLayout) -> Path:
    """The fetch's own files in the engine's folder: its lock and its staging folders."""
    return layout.work_dir / "fetch"


def kept_name(fetched_at: dt.datetime, name: str) -> str:
    """A kept file's name: the UTC time of its download, then `name`."""
    return f"{fetched_at.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}_{name}"


def utc_iso(moment: dt.datetime) -> str:
    """A moment as the manifest writes it: UTC, ISO 8601, to the second."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def read_manifest(root: Path, source: str) -> list[KeptFile]:
    """The rows of `source`'s manifest under `root` (data/raw/fetched/), in the order kept;
    none when nothing was kept yet. Raises InvalidDataError when its columns are not
    MANIFEST_COLUMNS or a row is incomplete."""
    path = root / source / FETCH_MANIFEST
    if not path.is_file():
        return []
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
    if reader.fieldnames != MANIFEST_COLUMNS:
        raise InvalidDataError(
            path, f"the columns are {reader.fieldnames}, expected exactly {MANIFEST_COLUMNS}"
        )
    rows = []
    for line, row in enumerate(reader, start=2):
        if None in row.values() or not all(row[name] for name in MANIFEST_COLUMNS):
            raise InvalidDataError(path, f"line {line}: a value is missing")
        rows.append(
            KeptFile(**{**row, "http_status": int(row["http_status"]), "bytes": int(row["bytes"])})
        )
    return rows


def write_manifest(root: Path, source: str, rows: list[KeptFile]) -> Path:
    """Write `source`'s manifest with `rows`, atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(asdict(row) for row in rows)
    text = buffer.getvalue()
    path = root / source / FETCH_MANIFEST
    return write_atomically(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))


@dataclass(frozen=True)
class StagedFile:
    """A checked download waiting in the staging folder, with its manifest row to be."""

    source: str
    path: Path
    kept: KeptFile


class FetchStaging:
    """One fetch's staging folder (`.chinaflows/fetch/staging-<id>/`) on the project's file
    system, so that a finished download is put in place by a rename."""

    def __init__(self, layout: ProjectLayout):
        self.folder = fetch_work_dir(layout) / f"{_STAGING_PREFIX}{uuid.uuid4().hex[:12]}"
        self.folder.mkdir(parents=True)

    def path_for(self, source: str, ticker: str, name: str) -> Path:
        """Where a download of `source` for `ticker` named `name` is written."""
        path = self.folder / source / ticker / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def remove(self) -> None:
        """Delete the staging folder and what is left in it."""
        shutil.rmtree(self.folder, ignore_errors=True)


def sweep_stale_staging(layout: ProjectLayout) -> None:
    """Delete the staging folders that killed fetches left (only while holding the fetch lock)."""
    for folder in fetch_work_dir(layout).glob(f"{_STAGING_PREFIX}*"):
        shutil.rmtree(folder, ignore_errors=True)


def fetch_lock(layout: ProjectLayout) -> filelock.FileLock:
    """The lock one fetch at a time holds for all its work (an OS lock: free again at once when
    a fetch is killed)."""
    folder = fetch_work_dir(layout)
    folder.mkdir(parents=True, exist_ok=True)
    return filelock.FileLock(folder / "fetch.lock", timeout=0)


def put_in_place(layout: ProjectLayout, staged: list[StagedFile], lock_timeout: float) -> None:
    """Move the staged files into data/raw/fetched/ and add their rows to their manifests,
    holding the run lock (waiting up to `lock_timeout` seconds for it, else RunInProgress).
    Each manifest is rewritten after its source's files are in place."""
    if not staged:
        return
    root = fetched_dir(layout)
    layout.work_dir.mkdir(parents=True, exist_ok=True)
    try:
        with filelock.FileLock(layout.lock_file, timeout=lock_timeout):
            for source in dict.fromkeys(item.source for item in staged):
                rows = read_manifest(root, source)
                for item in staged:
                    if item.source == source:
                        move_into_place(item.path, root / item.kept.file)
                        rows.append(item.kept)
                write_manifest(root, source, rows)
    except filelock.Timeout:
        raise RunInProgress(
            f"a run held the run lock ({layout.lock_file}) for more than {lock_timeout:g} s;"
            " nothing was kept: fetch again when it is done (or pass --wait SECONDS)"
        ) from None


def move_into_place(staged: Path, destination: Path) -> None:
    """Put the staged file at `destination` by a rename (never over an existing file)."""
    if destination.exists():
        raise FileExistsError(errno.EEXIST, "a kept file is never replaced", str(destination))
    move_file(staged, destination)


@dataclass
class RowCounts:
    """How the rows of a new download compare with those of the files kept before it."""

    new: int = 0
    unchanged: int = 0
    restated: int = 0
    restated_keys: list[str] = field(default_factory=list)  # "2025-03-31" per restated row

    def add(self, other: RowCounts) -> None:
        """Add `other`'s counts to these."""
        self.new += other.new
        self.unchanged += other.unchanged
        self.restated += other.restated
        self.restated_keys += other.restated_keys


def compare_with_kept(
    rows: pd.DataFrame, file_format: str, earlier: list[tuple[KeptFile, Path]]
) -> RowCounts:
    """Count the rows of a new download that are new, unchanged, or restated (same key, other
    values) against `earlier` files of the same source and ticker, newest first: each row is
    compared with the newest earlier file that holds it. A file is read only if its `as_of`
    reaches a row still unmatched, so that a daily history is compared with the last kept one
    and a snapshot with none but those of its own date."""
    (ticker_column, date_column), values = ROW_LAYOUT[file_format]
    keys = [ticker_column, date_column]
    pending = rows[keys + list(values)]
    counts = RowCounts()
    for kept, path in earlier:
        reachable = pending[pending[date_column] <= pd.Timestamp(kept.as_of)]
        if reachable.empty:
            continue
        before = read_kept_rows(path, file_format, kept.ticker)[keys + list(values)]
        matched = reachable.merge(before, on=keys, suffixes=("", "_kept"))
        same = pd.Series(True, index=matched.index)
        for column in values:
            new, old = matched[column], matched[f"{column}_kept"]
            same &= (new == old) | (new.isna() & old.isna())
        counts.unchanged += int(same.sum())
        counts.restated += int((~same).sum())
        counts.restated_keys += [f"{day:%Y-%m-%d}" for day in matched.loc[~same, date_column]]
        found = pd.MultiIndex.from_frame(matched[keys])
        pending = pending[~pd.MultiIndex.from_frame(pending[keys]).isin(found)]
        if pending.empty:
            break
    counts.new = len(pending)
    return counts
