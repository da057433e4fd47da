"""The downloads `chinaflows fetch` keeps in data/raw/fetched/, read through their manifests.

Each source has a folder, `fetched/<source>/<TICKER>/<UTC time>_<name>`, and a manifest,
`fetched/<source>/manifest.csv`, with a row per file kept (helpers.ingest.schemas:
FETCH_MANIFEST_SCHEMA). Only the files a manifest lists are read: a file without its row was left
by a fetch stopped mid-way, and is counted, not read. A listed file that is missing, lies outside
its source's folder, has another SHA-256 than its row says, or holds another ticker is refused.

Downloads of one source and ticker are merged by the issuer's own as-of date: for a date in
several downloads the latest download counts, and a value it changes is a restatement
(helpers.ingest.restatements). A NAV-only history (Invesco's NAV history) takes its shares
outstanding from the same fund's snapshots (Invesco's prices) by date; a day without shares keeps
its NAV and gets no flow. N-PORT filings are returned as read, each month with its download's
time: helpers.ingest.load merges them with the filings saved by hand.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from helpers import paths
from helpers.errors import InvalidDataError
from helpers.ingest import fund_files
from helpers.ingest.csv_tables import read_csv_text, validate
from helpers.ingest.restatements import latest_values, no_restatements
from helpers.ingest.schemas import FETCH_MANIFEST_SCHEMA


@dataclass(frozen=True)
class FetchSource:
    """A source `chinaflows fetch` downloads from: its name on pages, what kind of source it is
    (`source_kind` of the flows table) and the format of its files."""

    label: str
    kind: str  # "issuer" or "sec_nport"
    format: str  # a FETCH_FORMATS value: what its manifest rows must say


FETCH_SOURCES = {
    "ishares": FetchSource("iShares fund workbook (BlackRock)", "issuer", "ishares_workbook"),
    "xtrackers": FetchSource("Xtrackers performance export (DWS)", "issuer", "xtrackers_xlsx"),
    "invesco_navs": FetchSource("Invesco NAV history", "issuer", "invesco_navs_json"),
    "invesco_prices": FetchSource(
        "Invesco daily prices (shares outstanding)", "issuer", "invesco_prices_json"
    ),
    "sec_nport": FetchSource("SEC Form N-PORT", "sec_nport", "nport_primary_doc"),
}
NPORT_SOURCE = "sec_nport"
_HISTORY_VALUES = ["nav", "shares_outstanding"]


@dataclass
class FetchedData:
    """What the manifests list, read: daily histories merged by as-of date, N-PORT months as
    filed, the restatements found, the files read and the files left unlisted."""

    history: pd.DataFrame  # date, ticker, nav, shares_outstanding, source, source_kind, ...
    nport: pd.DataFrame  # read_nport_filing's columns, source columns, fetched_at, file
    restatements: pd.DataFrame = field(default_factory=no_restatements)
    files: list[str] = field(default_factory=list)  # relative to the raw folder
    unlisted: list[str] = field(default_factory=list)  # relative to the raw folder


def fetched_dir(raw_dir: str | Path) -> Path:
    """The folder `chinaflows fetch` keeps its downloads in."""
    return Path(raw_dir) / paths.FETCHED_DIR


def read_manifests(raw_dir: str | Path) -> pd.DataFrame:
    """Every manifest row of the known sources, validated, with `source` (the folder) and
    `line` (the row's line in its manifest), ordered by source and time of download.

    Raises InvalidDataError naming the manifest and line of a bad row, of a row for the wrong
    format, or of a listed file that is missing, outside its source's folder or altered
    (another SHA-256)."""
    tables = []
    for source, spec in FETCH_SOURCES.items():
        manifest = fetched_dir(raw_dir) / source / paths.FETCH_MANIFEST
        if not manifest.is_file():
            continue
        text = read_csv_text(manifest)
        lines = text.index + 2
        table = validate(text, FETCH_MANIFEST_SCHEMA, manifest).assign(source=source, line=lines)
        _check_rows(manifest, table, spec)
        tables.append(table)
    if not tables:
        return pd.DataFrame(columns=[*FETCH_MANIFEST_SCHEMA.columns, "source", "line"])
    manifests = pd.concat(tables, ignore_index=True)
    return manifests.sort_values(["source", "fetched_at", "file"], ignore_index=True)


def _check_rows(manifest: Path, table: pd.DataFrame, spec: FetchSource) -> None:
    folder = manifest.parent.resolve()
    problems = []
    for row in table.itertuples():
        where = f"line {row.line}"
        path = (folder.parent / row.file).resolve()
        if row.format != spec.format:
            problems.append(f"{where}: format {row.format!r}, but this source's is {spec.format!r}")
        elif not path.is_relative_to(folder):
            problems.append(f"{where}: the file {row.file} is outside {folder.name}/")
        elif not path.is_file():
            problems.append(f"{where}: the file {row.file} it lists is missing")
        elif _sha256(path) != row.sha256:
            problems.append(
                f"{where}: the file {row.file} has changed since it was fetched (its SHA-256 "
                "differs from the manifest's); fetched files are kept as they arrived"
            )
    if problems:
        raise InvalidDataError(manifest, problems)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def unlisted_files(raw_dir: str | Path, manifests: pd.DataFrame) -> list[str]:
    """Files in the known sources' folders that no manifest lists (a fetch stopped before it
    listed them), relative to the raw folder."""
    base = fetched_dir(raw_dir)
    listed = set(manifests["file"])
    found = []
    for source in FETCH_SOURCES:
        for path in sorted((base / source).glob("*/*")):
            name = path.relative_to(base).as_posix()
            if path.is_file() and not path.name.startswith(".") and name not in listed:
                found.append(Path(paths.FETCHED_DIR, name).as_posix())
    return found


def _read_history_file(raw_dir: Path, row, date_format: str) -> pd.DataFrame:
    path = fetched_dir(raw_dir) / row.file
    table = fund_files.read_fund_file(path, "history", date_format=date_format)
    other = sorted(set(table["ticker"].unique()) - {row.ticker})
    if other:
        raise InvalidDataError(
            path,
            f"it holds ticker(s) {', '.join(other)}, but its manifest row (line {row.line}) "
            f"says {row.ticker}",
        )
    return table.drop(columns="source_row")


def _with_download(table: pd.DataFrame, row) -> pd.DataFrame:
    spec = FETCH_SOURCES[row.source]
    return table.assign(
        fetch_source=row.source,
        fetched_at=row.fetched_at,
        file=Path(paths.FETCHED_DIR, row.file).as_posix(),
        source=spec.label,
        source_kind=spec.kind,
        source_address="" if pd.isna(row.address) else row.address,
    )


def combine_nav_with_shares(history: pd.DataFrame) -> pd.DataFrame:
    """A fund's NAV-only rows (shares outstanding missing) joined by date with its rows that have
    shares (snapshots): on a day in both, the NAV of the NAV-only row with the other's shares and
    source; a day of either alone stays as it is (without shares: no flow). Sorted by ticker and
    date."""
    nav_only = history["shares_outstanding"].isna()
    navs = history[nav_only].set_index(["ticker", "date"])
    shares = history[~nav_only].set_index(["ticker", "date"])
    both = shares.index.intersection(navs.index)
    shares.loc[both, "nav"] = navs.loc[both, "nav"]
    combined = pd.concat([shares, navs.drop(both)]).reset_index()
    return combined.sort_values(["ticker", "date"], kind="stable", ignore_index=True)


def read_fetched(raw_dir: str | Path, date_format: str = "") -> FetchedData:
    """Every file the manifests list, read and merged as the module's docstring says."""
    raw_dir = Path(raw_dir)
    manifests = read_manifests(raw_dir)
    histories, filings = [], []
    for row in manifests.itertuples():
        if row.source == NPORT_SOURCE:
            filing = fund_files.read_nport_filing(fetched_dir(raw_dir) / row.file, row.ticker)
            filings.append(_with_download(filing, row))
        else:
            histories.append(_with_download(_read_history_file(raw_dir, row, date_format), row))
    history, restated = _merged_histories(histories)
    nport = pd.concat(filings, ignore_index=True) if filings else pd.DataFrame()
    files = [Path(paths.FETCHED_DIR, f).as_posix() for f in manifests["file"]]
    return FetchedData(history, nport, restated, files, unlisted_files(raw_dir, manifests))


def _merged_histories(histories: list[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The downloads of each source and ticker merged by date (the latest download counts),
    then NAV-only histories combined with snapshots; and the restatements found."""
    columns = ["date", "ticker", *_HISTORY_VALUES, "source", "source_kind", "source_address"]
    if not histories:
        empty = {c: pd.Series(dtype="float64") for c in _HISTORY_VALUES}
        empty |= {c: pd.Series(dtype=str) for c in columns if c not in empty}
        empty["date"] = pd.Series(dtype="datetime64[us]")
        return pd.DataFrame(empty)[columns], no_restatements()
    rows = pd.concat(histories, ignore_index=True)
    latest, restated = latest_values(
        rows, ["fetch_source", "ticker", "date"], _HISTORY_VALUES, ["fetched_at", "file"]
    )
    # One source per ticker and day: the first in FETCH_SOURCES order (a ticker fetched from two
    # issuers' files is a misconfigured sources file; its first source wins).
    rank = latest["fetch_source"].map({name: i for i, name in enumerate(FETCH_SOURCES)})
    latest = latest.assign(rank=rank).sort_values(["ticker", "date", "rank"], kind="stable")
    full = latest["shares_outstanding"].notna()
    unique = pd.concat(
        [
            latest[full].drop_duplicates(["ticker", "date"]),
            latest[~full].drop_duplicates(["ticker", "date"]),
        ]
    )
    return combine_nav_with_shares(unique[columns]), restated
