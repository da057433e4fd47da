"""Readers for the raw files: each returns a validated, typed table or raises InvalidDataError."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import paths
from helpers.errors import InvalidDataError, InvalidParameterError
from helpers.ingest import fund_files, fund_flows
from helpers.ingest.csv_tables import parse_flags, read_csv_text, validate
from helpers.ingest.fetched import read_fetched
from helpers.ingest.restatements import latest_values, no_restatements
from helpers.ingest.schemas import FUND_HISTORY_SCHEMA, RAW_SCHEMAS
from helpers.tickers import as_tickers, sorted_by_ticker_and_date

NO_ADDRESS = "address not recorded"  # what a page shows for a source whose address is unknown
NPORT_FORMAT = "nport"  # what fund_files.detect_format says of an N-PORT filing


def describe_source(table: pd.DataFrame) -> pd.Series:
    """One readable `source` string per row from the source columns."""
    date = table["source_date"].dt.strftime("%Y-%m-%d").fillna("date not stated")
    url = table["source_url"].fillna(NO_ADDRESS)
    return table["source_publisher"] + " (" + date + "): " + url


# The facts tables this process has read and validated, by name and content: a run's pre-flight
# and then its notebooks read the same tables, and so do the tests, in many copies of a project.
_VALIDATED: dict[tuple[str, str], pd.DataFrame] = {}
_VALIDATED_MOST = 64


def read_raw_table(path: str | Path, name: str) -> pd.DataFrame:
    """Read and validate the raw facts table `name` (a key of helpers.paths.RAW_FILES). A file
    whose bytes were read before in this process is not parsed again: a copy is returned."""
    path = Path(path)
    before = _content_sha256(path)
    key = (name, before)
    if key in _VALIDATED:
        return _VALIDATED[key].copy()
    table = _read_and_validate(path, name)
    if before is not None and _content_sha256(path) == before:  # unchanged while it was read
        if len(_VALIDATED) >= _VALIDATED_MOST:
            del _VALIDATED[next(iter(_VALIDATED))]  # the oldest
        _VALIDATED[key] = table.copy()
    return table


def _content_sha256(path: Path) -> str | None:
    """SHA-256 of the file's bytes; None if it cannot be read (the reader says why)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _read_and_validate(path: Path, name: str) -> pd.DataFrame:
    schema = RAW_SCHEMAS[name]
    table = parse_flags(read_csv_text(path), schema, path)
    table = validate(table, schema, path)
    table["source"] = describe_source(table)
    if "tickers" in table:
        table["tickers"] = table["tickers"].map(as_tickers)
    return table


def read_reported_flows(path: str | Path) -> pd.DataFrame:
    """The reported flow figures, with `tickers` as tuples."""
    return read_raw_table(path, "reported_flows")


def read_facts(raw_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Every raw facts table in `raw_dir`, validated, by name."""
    return {name: read_raw_table(paths.raw_path(raw_dir, name), name) for name in paths.RAW_FILES}


def user_fund_files(raw_dir: str | Path, folder: str | None = None) -> list[Path]:
    """The researcher's own files in `folder` (fund_history/ or flows/; default both), sorted by
    name. Dotfiles, README files and sub-folders are ignored."""
    folders = [folder] if folder else [paths.USER_FUND_HISTORY_DIR, paths.USER_FLOWS_DIR]
    found = []
    for name in folders:
        directory = Path(raw_dir) / name
        if directory.is_dir():
            found += sorted(
                p
                for p in directory.iterdir()
                if p.is_file() and not p.name.startswith((".", "README"))
            )
    return found


def read_sample_fund_history(raw_dir: str | Path) -> pd.DataFrame:
    """The synthetic sample fund history shipped in data/raw/sample (validated)."""
    path = Path(raw_dir) / paths.SAMPLE_FUND_HISTORY
    table = parse_flags(read_csv_text(path), FUND_HISTORY_SCHEMA, path)
    return validate(table, FUND_HISTORY_SCHEMA, path)


DUPLICATE_DATES = ("refuse", "flag")
USER_SOURCE = "your data: "  # + the file's path in the raw folder: the `source` of user rows
NPORT_FILE_NOTE = " (SEC Form N-PORT)"  # added to the `source` of an N-PORT filing saved by hand
SOURCE_COLUMNS = fund_flows.SOURCE_COLUMNS
_VALUES = {"history": ["nav", "shares_outstanding"], "flows": ["flow_usd"]}
_FOLDER_KIND = {paths.USER_FUND_HISTORY_DIR: "history", paths.USER_FLOWS_DIR: "flows"}
_NPORT_VALUES = [*fund_flows.MONTHLY_VALUES, "flow_usd"]  # compared between filings


@dataclass
class FundData:
    """The fund data of a run: daily NAV histories and/or ready-made daily flows, N-PORT months,
    and their origin.

    Every row has `source` (what it rests on: a file saved by hand, a fetched source, the
    sample), `source_kind` ("sample", "issuer", "sec_nport" or "user") and `source_address`
    (the URL it was downloaded from, else empty). In the daily tables they are categorical, with
    the same categories in both: the same few texts on millions of rows.
    """

    history: pd.DataFrame  # date, ticker, nav, shares_outstanding, is_synthetic, source columns
    ready_flows: pd.DataFrame  # date, ticker, flow_usd, is_synthetic, source columns
    monthly: pd.DataFrame  # read_nport_filing's columns and the source columns
    origin: str  # "sample" or "user" (any real data: files saved by hand or fetched)
    files: list[str]  # the files read, relative to the raw folder
    duplicates_dropped: int = 0  # rows repeated with identical values in another file
    restatements: pd.DataFrame = field(default_factory=no_restatements)
    set_aside: list[tuple[str, str]] = field(default_factory=list)  # (files, why not used)

    @property
    def tables(self) -> list[pd.DataFrame]:
        """The daily tables, histories first."""
        return [self.history, self.ready_flows]


def _user_source(raw_dir: Path, path: Path) -> str:
    return USER_SOURCE + path.relative_to(raw_dir).as_posix()


def _empty_fund_table(kind: str) -> pd.DataFrame:
    """No rows, but the columns and types of a daily fund table of `kind`."""
    columns = {"date": "datetime64[us]", "ticker": str}
    columns |= {name: "float64" for name in _VALUES[kind]}
    columns |= {"is_synthetic": bool, **dict.fromkeys(SOURCE_COLUMNS, str)}
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})


def _user_files(raw_dir: Path) -> tuple[dict[str, list[Path]], list[Path]]:
    """The researcher's daily files by kind ("history", "flows"), and the N-PORT filings saved
    in flows/ (recognised by their content)."""
    daily = {kind: user_fund_files(raw_dir, folder) for folder, kind in _FOLDER_KIND.items()}
    filings = [p for p in daily["flows"] if fund_files.detect_format(p) == NPORT_FORMAT]
    daily["flows"] = [p for p in daily["flows"] if p not in filings]
    return daily, filings


def _read_user_files(
    raw_dir: Path, kind: str, files: list[Path], date_format: str
) -> tuple[pd.DataFrame, list[str]]:
    """The `files` of `kind` in one table, and the tickers found in more than one of them."""
    frames = [fund_files.read_fund_file(path, kind, date_format=date_format) for path in files]
    if not frames:
        return _empty_fund_table(kind).assign(source_row=pd.Series(dtype="int64")), []
    tickers = pd.Series(np.concatenate([frame["ticker"].unique() for frame in frames]))
    shared = tickers[tickers.duplicated()].unique().tolist()
    table = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    labels = pd.CategoricalDtype([_user_source(raw_dir, path) for path in files])
    codes = np.repeat(np.arange(len(frames)), [len(frame) for frame in frames])
    source = pd.Categorical.from_codes(codes, dtype=labels)
    return table.assign(is_synthetic=False, source=source, source_kind="user", source_address=""), (
        shared
    )


def _resolve_duplicates(
    table: pd.DataFrame, kind: str, duplicate_dates: str, raw_dir: Path, shared: list[str]
) -> tuple[pd.DataFrame, int]:
    """Rows repeating a (ticker, date) of an earlier file: identical ones are dropped; conflicting
    ones are refused, or with duplicate_dates="flag" the last file's row is kept and flagged.

    A file holds no (ticker, date) twice (fund_files refuses or drops repeats), so only rows of
    the `shared` tickers, found in several files, are compared.
    """
    values = _VALUES[kind]
    table = table.assign(flag_duplicate_conflict=False)
    in_several_files = table[table["ticker"].isin(shared)] if shared else table.iloc[:0]
    if not in_several_files.duplicated(["ticker", "date"]).any():
        return table, 0
    identical = table.duplicated(["ticker", "date", *values], keep="first")
    table = table[~identical]
    repeated = table.duplicated(["ticker", "date"], keep=False)
    if repeated.any() and duplicate_dates == "refuse":
        problems = []
        for (ticker, date), rows in table[repeated].groupby(["ticker", "date"]):
            where = " and ".join(
                f"{row.source.removeprefix(USER_SOURCE)} row {row.source_row}"
                for row in rows.itertuples()
            )
            problems.append(
                f"{ticker} on {date:%Y-%m-%d} has different values in {where}; remove one, or "
                "run with -p duplicate_dates=flag to keep the last file's row and flag it"
            )
        raise InvalidDataError(raw_dir, problems)
    last = ~table.duplicated(["ticker", "date"], keep="last")
    table = table[last].copy()
    table.loc[repeated[last], "flag_duplicate_conflict"] = True
    return table, int(identical.sum())


def _user_daily(
    raw_dir: Path, files: dict[str, list[Path]], date_format: str, duplicate_dates: str
) -> tuple[dict[str, pd.DataFrame], int]:
    """The researcher's daily tables by kind, repeated rows resolved; a ticker in both folders
    is refused."""
    tables, dropped = {}, 0
    for kind, paths_of_kind in files.items():
        table, shared = _read_user_files(raw_dir, kind, paths_of_kind, date_format)
        tables[kind], count = _resolve_duplicates(table, kind, duplicate_dates, raw_dir, shared)
        tables[kind] = tables[kind].drop(columns="source_row")
        dropped += count
    history_tickers, flow_tickers = (set(tables[k]["ticker"].unique()) for k in _VALUES)
    both = sorted(history_tickers & flow_tickers)
    if both:
        raise InvalidDataError(
            raw_dir,
            f"ticker(s) {', '.join(both)} appear in both {paths.USER_FUND_HISTORY_DIR}/ and "
            f"{paths.USER_FLOWS_DIR}/: keep each ticker in one folder",
        )
    return tables, dropped


def _nport_months(
    raw_dir: Path, filings: list[Path], fetched_nport: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The months of every N-PORT filing, saved by hand or fetched: for a series and report date
    the latest filing counts (an amendment, NPORT-P/A, over the filing it amends; then a file
    saved by hand over a download; then the later download), and a month in two report
    periods is taken from the later one. Returns the months and the restatements."""
    saved = [
        fund_files.read_nport_filing(path).assign(
            file=path.relative_to(raw_dir).as_posix(),
            fetched_at=pd.NaT,
            source=_user_source(raw_dir, path) + NPORT_FILE_NOTE,
            source_kind="user",
            source_address="",
        )
        for path in filings
    ]
    frames = [f for f in [*saved, fetched_nport] if len(f)]
    if not frames:
        return fund_flows.no_nport_months(), no_restatements()
    months = pd.concat(frames, ignore_index=True)
    months = months.assign(
        amendment=months["submission_type"].str.endswith("/A"),
        saved_by_hand=months["fetched_at"].isna(),
        downloaded=pd.to_datetime(months["fetched_at"], utc=True).fillna(
            pd.Timestamp.min.tz_localize("UTC")
        ),
    )
    latest, restated = latest_values(
        months,
        ["ticker", "series_id", "report_date", "month_start"],
        _NPORT_VALUES,
        ["amendment", "saved_by_hand", "downloaded", "file"],
        date="month_end",
    )
    latest = latest.sort_values(["ticker", "month_start", "report_date"], kind="stable")
    latest = latest.drop_duplicates(["ticker", "month_start"], keep="last")
    drop = ["amendment", "saved_by_hand", "downloaded", "fetched_at", "file", "fetch_source"]
    return latest.drop(columns=[c for c in drop if c in latest]).reset_index(drop=True), restated


def _sample_data(raw_dir: Path) -> FundData:
    history = read_sample_fund_history(raw_dir).assign(source_kind="sample", source_address="")
    history = history.astype(dict.fromkeys(SOURCE_COLUMNS, "category"))
    ready = _empty_fund_table("flows").astype({c: history[c].dtype for c in SOURCE_COLUMNS})
    return FundData(
        history,
        ready,
        fund_flows.no_nport_months(),
        "sample",
        [paths.SAMPLE_FUND_HISTORY.as_posix()],
    )


def _shared_categories(tables: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """The tables with their source columns categorical, with the same categories in all."""
    dtypes = {
        column: pd.CategoricalDtype(
            list(dict.fromkeys(v for t in tables for v in t[column].astype(str).unique()))
        )
        for column in SOURCE_COLUMNS
    }
    return [table.astype(dtypes) for table in tables]


def read_fund_data(
    raw_dir: str | Path, date_format: str = "", duplicate_dates: str = "refuse"
) -> FundData:
    """Every fund file of the raw folder: the researcher's files in fund_history/ and flows/
    (daily histories and flows of any format helpers.ingest.fund_files reads, N-PORT filings
    saved in flows/) and the downloads `chinaflows fetch` listed in its manifests
    (helpers.ingest.fetched). The sample only when there are none of these: a fund without real
    data is then missing, never filled from the sample.

    A ticker's daily data come from the researcher's files when there are any for it (its
    fetched daily files are then set aside, and said so), else from its downloads. A ticker
    may be in fund_history/ or in flows/ (daily), not both; a (ticker, date) in several of the
    researcher's files is resolved as `_resolve_duplicates` says; N-PORT filings as
    `_nport_months` says.
    """
    if duplicate_dates not in DUPLICATE_DATES:
        raise InvalidParameterError(
            f"duplicate_dates must be 'refuse' or 'flag'; got {duplicate_dates!r}"
        )
    raw_dir = Path(raw_dir)
    daily_files, filings = _user_files(raw_dir)
    fetched = read_fetched(raw_dir, date_format)
    own_files = [*daily_files["history"], *daily_files["flows"], *filings]
    if not own_files and not fetched.files:
        return _sample_data(raw_dir)

    own, dropped = _user_daily(raw_dir, daily_files, date_format, duplicate_dates)
    own_tickers = {*own["history"]["ticker"].unique(), *own["flows"]["ticker"].unique()}
    from_fetch = fetched.history[~fetched.history["ticker"].isin(own_tickers)]
    set_aside = []
    if len(from_fetch) < len(fetched.history):
        tickers = sorted(set(fetched.history["ticker"].unique()) & own_tickers)
        set_aside.append(
            ("fetched daily files", f"not used for {', '.join(tickers)}: your own files are")
        )
    if fetched.unlisted:
        set_aside.append(
            (", ".join(fetched.unlisted), "not read: not in a manifest (a fetch stopped mid-way)")
        )
    history = pd.concat(
        [own["history"], from_fetch.assign(is_synthetic=False, flag_duplicate_conflict=False)],
        ignore_index=True,
    )
    history, ready = _shared_categories([history, own["flows"]])
    monthly, nport_restated = _nport_months(raw_dir, filings, fetched.nport)
    restated = pd.concat(
        [r for r in (fetched.restatements, nport_restated) if len(r)] or [no_restatements()],
        ignore_index=True,
    )
    files = [p.relative_to(raw_dir).as_posix() for p in own_files] + fetched.files
    return FundData(
        sorted_by_ticker_and_date(history),
        ready,
        monthly,
        "user",
        files,
        dropped,
        restated,
        set_aside,
    )
