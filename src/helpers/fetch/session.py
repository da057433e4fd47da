"""One fetch at work: its settings, clock, staging folder, clients, and what it will keep.

Both kinds of source (issuers, SEC N-PORT) download through a `FetchSession`: it writes each
download to the staging folder, checks it, and decides whether it is kept (a download
byte-identical to the last kept one of its source and fund is not) and how its rows compare
with the files kept before it (those of earlier fetches, and those of this one).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from helpers.fetch.arrival_checks import CheckedFile, FormatChanged, read_checked
from helpers.fetch.kept_files import (
    FetchStaging,
    KeptFile,
    RowCounts,
    StagedFile,
    compare_with_kept,
    fetched_dir,
    kept_name,
    read_manifest,
    utc_iso,
)
from helpers.fetch.outcomes import CHECKED, FAILED, KEPT, UNCHANGED, SourceOutcome
from helpers.fetch.sources_file import FetchConfig
from helpers.fetch.transport import Download, RequestPacer, SourceClient, SourceFailure
from notebook_pipeline.layout import ProjectLayout


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class FetchClock:
    """The time as a fetch sees it: the moment (names and manifest rows), a monotonic clock
    and a sleep (backoff and pacing). Tests inject all three and never wait."""

    now: Callable[[], dt.datetime] = _utc_now
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


@dataclass
class Arrival:
    """A checked download in the staging folder: what arrived and what it holds."""

    download: Download
    checked: CheckedFile
    fetched_at: dt.datetime


@dataclass
class FetchSession:
    """The state of one fetch (see the module's docstring)."""

    layout: ProjectLayout
    config: FetchConfig
    staging: FetchStaging
    clock: FetchClock
    until: dt.date
    checking: bool = False
    staged: list[StagedFile] = field(default_factory=list)
    _kept: dict[str, list[KeptFile]] = field(default_factory=dict)
    _staged_paths: dict[str, Path] = field(default_factory=dict)

    def client(self, source: str, user_agent: str, max_bytes: int, per_second: int = 0):
        """A client for `source`; paced to `per_second` requests a second when given."""
        pacer = (
            RequestPacer(per_second, self.clock.monotonic, self.clock.sleep) if per_second else None
        )
        return SourceClient(
            source,
            user_agent,
            max_bytes,
            self.config.timeouts,
            self.config.retries,
            pacer=pacer,
            sleep=self.clock.sleep,
        )

    def download_checked(
        self,
        client: SourceClient,
        address: str,
        ticker: str,
        name: str,
        file_format: str,
    ) -> Arrival:
        """Download `address` into the staging folder as `<UTC time>_<name>` and check it;
        raises SourceFailure (with what differed, for a changed format)."""
        fetched_at = self.clock.now()
        path = self.staging.path_for(client.source, ticker, kept_name(fetched_at, name))
        download = client.download(address, path)
        try:
            checked = read_checked(path, file_format, ticker)
        except FormatChanged as change:
            path.unlink(missing_ok=True)
            raise client.failure(address, f"the format changed: {change}") from None
        return Arrival(download, checked, fetched_at)

    def download_index(self, client: SourceClient, address: str, name: str) -> Path:
        """Download an index file (never kept) into the staging folder; returns its path."""
        path = self.staging.path_for(client.source, "_index", kept_name(self.clock.now(), name))
        return client.download(address, path).path

    def kept_files(self, source: str, ticker: str) -> list[KeptFile]:
        """The files of `source` for `ticker` kept so far, this fetch's included, oldest first."""
        if source not in self._kept:
            self._kept[source] = read_manifest(fetched_dir(self.layout), source)
        return [kept for kept in self._kept[source] if kept.ticker == ticker]

    def keep(self, source: str, ticker: str, arrival: Arrival) -> SourceOutcome:
        """Stage `arrival` to be kept unless it is byte-identical to the last kept file of its
        source and fund; the outcome counts its rows against the files kept before it. With
        --check nothing is kept: the outcome says the format is the expected one."""
        download, checked = arrival.download, arrival.checked
        if self.checking:
            note = f"{len(checked.rows)} row(s), up to {checked.as_of}"
            return SourceOutcome(ticker, source, CHECKED, notes=[note])
        earlier = self.kept_files(source, ticker)
        if earlier and earlier[-1].sha256 == download.sha256:
            download.path.unlink()
            counts = RowCounts(unchanged=len(checked.rows))
            return SourceOutcome(ticker, source, UNCHANGED, counts)
        counts = compare_with_kept(
            checked.rows,
            checked.format,
            [(kept, self._path_of(kept)) for kept in reversed(earlier)],
        )
        file = f"{source}/{ticker}/{download.path.name}"
        if file in self._staged_paths or (fetched_dir(self.layout) / file).exists():
            download.path.unlink()
            raise SourceFailure(
                source, download.address, f"{file} is kept already (two downloads in one second?)"
            )
        kept = KeptFile(
            ticker=ticker,
            file=file,
            address=download.address,
            fetched_at=utc_iso(arrival.fetched_at),
            sha256=download.sha256,
            http_status=download.http_status,
            bytes=download.bytes,
            format=checked.format,
            as_of=checked.as_of.isoformat(),
        )
        self.staged.append(StagedFile(source, download.path, kept))
        self._kept[source].append(kept)
        self._staged_paths[kept.file] = download.path
        notes = []
        if counts.restated:
            notes.append(_restatement_note(counts))
        return SourceOutcome(ticker, source, KEPT, counts, notes)

    def _path_of(self, kept: KeptFile) -> Path:
        return self._staged_paths.get(kept.file) or fetched_dir(self.layout) / kept.file


def _restatement_note(counts: RowCounts) -> str:
    shown = ", ".join(counts.restated_keys[:5])
    more = f" and {len(counts.restated_keys) - 5} more" if len(counts.restated_keys) > 5 else ""
    return (
        f"{counts.restated} row(s) restated by the source ({shown}{more}):"
        " the new values are kept beside the earlier file, which stays"
    )


def failed_outcome(ticker: str, failure: SourceFailure) -> SourceOutcome:
    """The outcome of a source that failed for a fund."""
    return SourceOutcome(
        ticker,
        failure.source,
        FAILED,
        notes=[f"{failure.address}: {failure.problem}"],
        failure=failure,
    )
