"""From data/raw to data/processed: validated facts, fund history, daily flows, the canonical
flows table at both resolutions, the cross-check of daily flows against N-PORT, restatements,
quality."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers import paths, storage
from helpers.errors import AsOfBeforeDataError, InvalidDataError, InvalidParameterError
from helpers.ingest import daily_flows, fund_flows, load, market_calendar
from helpers.ingest import quality as quality_flags
from helpers.ingest.crosscheck import crosscheck_nport
from helpers.ingest.csv_tables import validate
from helpers.ingest.schemas import FUND_FLOWS_SCHEMA
from helpers.tickers import sorted_by_ticker_and_date


@dataclass
class CleanedData:
    """What the cleaning step makes of data/raw: the processed tables and the quality table."""

    tables: dict[str, pd.DataFrame]  # by the names of helpers.paths.PROCESSED_FILES
    quality: pd.DataFrame  # one row per table and reason: rows read, kept, dropped
    flows_source: str  # "sample" or "user"


UNKNOWN_TICKERS = ("refuse", "report")
LISTED_FILES = 3  # the quality table names up to this many files, else counts them per folder


def describe_files(files: list[str]) -> str:
    """The files a quality row is about: named when they are few, else counted per folder
    (a fetched source's folder for downloads)."""
    if len(files) <= LISTED_FILES:
        return ", ".join(files)
    depth = {paths.FETCHED_DIR: 2}
    folders = pd.Series(
        ["/".join(f.split("/")[: depth.get(f.split("/")[0], 1)]) + "/" for f in files]
    )
    counts = folders.value_counts(sort=False)
    return f"{len(files):,} files: " + ", ".join(f"{n:,} in {d}" for d, n in counts.items())


def _quality_row(table: str, file: str, read: int, kept: int, reason: str = "") -> dict:
    return {
        "table": table,
        "file": file,
        "rows_read": read,
        "rows_kept": kept,
        "rows_dropped": read - kept,
        "note": reason,
    }


def _check_tickers(
    tables: list[pd.DataFrame], universe: pd.DataFrame, unknown_tickers: str
) -> list[str]:
    """Tickers of the fund rows missing from etf_universe.csv: refused, or listed if reported."""
    if unknown_tickers not in UNKNOWN_TICKERS:
        raise InvalidParameterError(
            f"unknown_tickers must be 'refuse' or 'report'; got {unknown_tickers!r}"
        )
    tables = [table for table in tables if len(table)]
    # Distinct tickers first: the rows of the (few) unknown ones are looked up after.
    tickers = {t for table in tables for t in table["ticker"].unique()}
    unknown = sorted(tickers - set(universe["ticker"]))
    if not unknown:
        return []
    files = pd.concat(
        [table.loc[table["ticker"].isin(unknown), ["ticker", "source"]] for table in tables]
    )
    first_files = files.groupby("ticker")["source"].first().str.removeprefix(load.USER_SOURCE)
    named = [f"{ticker} (in {file})" for ticker, file in first_files.items()]
    if unknown_tickers == "refuse":
        raise InvalidDataError(
            paths.RAW_FILES["etf_universe"],
            f"ticker(s) not in the ETF universe: {', '.join(named)}; add them to "
            "etf_universe.csv, or run with -p unknown_tickers=report to keep them",
        )
    return named


@dataclass
class _CheckedInputs:
    """Every raw file read and validated: the facts, the fund data and its unknown tickers."""

    facts: dict[str, pd.DataFrame]
    fund: load.FundData
    unknown_tickers: list[str]  # "TICKER (in file)", kept with unknown_tickers="report"

    def first_and_last_day(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The first day of the fund data (daily or monthly), and the last date the daily data
        reach (a day that can carry a flow: a NAV without shares cannot), or, where no fund has
        daily data, the last N-PORT month's end."""
        history, ready = self.fund.tables
        monthly = self.fund.monthly
        firsts = [t["date"].min() for t in (history, ready) if len(t)]
        firsts += [monthly["month_start"].min()] if len(monthly) else []
        flowing = [history.loc[history["shares_outstanding"].notna(), "date"], ready["date"]]
        lasts = [dates.max() for dates in flowing if len(dates)]
        last = max(lasts) if lasts else monthly["month_end"].max()
        return min(firsts), last


def _read_and_check(
    raw_dir: Path, date_format: str, duplicate_dates: str, unknown_tickers: str
) -> _CheckedInputs:
    facts = load.read_facts(raw_dir)
    fund = load.read_fund_data(raw_dir, date_format, duplicate_dates)
    unknown = _check_tickers([*fund.tables, fund.monthly], facts["etf_universe"], unknown_tickers)
    return _CheckedInputs(facts, fund, unknown)


def check_inputs(
    raw_dir: str | Path,
    *,
    date_format: str = "",
    duplicate_dates: str = "refuse",
    unknown_tickers: str = "refuse",
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Read and validate every raw file as `clean_inputs` does, deriving nothing: the first and
    last date of the fund data.

    The runner calls this before any kernel starts, so that bad data are refused at once
    (InvalidDataError naming the file, row and column) and nothing is executed or written.
    """
    return _read_and_check(
        Path(raw_dir), date_format, duplicate_dates, unknown_tickers
    ).first_and_last_day()


def data_span(root: Path, parameters: dict) -> tuple[str, str]:
    """pipeline.yaml's `study.preflight`: `check_inputs` on the project at `root` with the
    cleaning notebook's `parameters`; the first and last date of the fund data (ISO)."""
    first, last = check_inputs(
        root / parameters.get("raw_dir", "data/raw"),
        **{name: parameters[name] for name in _CHECK_PARAMETERS if name in parameters},
    )
    return f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}"


_CHECK_PARAMETERS = ("date_format", "duplicate_dates", "unknown_tickers")


def _up_to(table: pd.DataFrame, as_of: str, date: str = "date") -> pd.DataFrame:
    """The rows whose `date` is up to `as_of` (the table itself, uncopied, when that is every
    row)."""
    if not as_of or table.empty or table[date].max() <= pd.Timestamp(as_of):
        return table
    return table[table[date] <= pd.Timestamp(as_of)]


def _ready_daily(ready: pd.DataFrame) -> pd.DataFrame:
    """Ready-made daily flows in the shape of derive_daily_flows (no NAV, shares or assets)."""
    missing = ["nav", "shares_outstanding", "net_assets_usd"]
    return ready.assign(**{c: float("nan") for c in missing})


def clean_inputs(
    raw_dir: str | Path,
    as_of: str = "",
    *,
    nav_basis: str = "today",
    shares_lag_days: int = 0,
    large_flow_pct: float = 20.0,
    stale_nav_days: int = 3,
    date_format: str = "",
    duplicate_dates: str = "refuse",
    unknown_tickers: str = "refuse",
    crosscheck_tolerance_pct: float = 5.0,
) -> CleanedData:
    """Read and validate every raw file, keep fund data up to `as_of`, derive daily flows, flag
    doubtful fund-days (helpers.ingest.quality), list calendar gaps, align events to trading
    days, build the canonical flows table (helpers.ingest.fund_flows) and check the daily flows
    against N-PORT's months (helpers.ingest.crosscheck; `crosscheck_tolerance_pct`)."""
    checked = _read_and_check(Path(raw_dir), date_format, duplicate_dates, unknown_tickers)
    facts, fund, unknown = checked.facts, checked.fund, checked.unknown_tickers
    quality = [
        _quality_row(name, paths.RAW_FILES[name], len(table), len(table))
        for name, table in facts.items()
    ]
    facts["events"] = market_calendar.align_events(facts["events"])

    files = describe_files(fund.files)
    if fund.duplicates_dropped:
        quality.append(
            _quality_row(
                "fund data", files, fund.duplicates_dropped, 0,
                "dropped: repeated in another file with identical values",
            )
        )  # fmt: skip
    if unknown:
        quality.append(
            _quality_row("fund data", files, 0, 0, f"kept, not in the ETF universe: {unknown}")
        )
    quality += [_quality_row("fund data", what, 0, 0, why) for what, why in fund.set_aside]
    first_day, _ = checked.first_and_last_day()
    if as_of and pd.Timestamp(as_of) < first_day:
        raise AsOfBeforeDataError(as_of, f"{first_day:%Y-%m-%d}")
    history, ready = _up_to(fund.history, as_of), _up_to(fund.ready_flows, as_of)
    monthly = _up_to(fund.monthly, as_of, date="month_end")
    read = sum(len(table) for table in checked.fund.tables)
    kept = len(history) + len(ready)
    after_as_of = f"dropped: dated after the as-of date {as_of}"
    quality.append(_quality_row("fund data", files, read, kept, after_as_of if kept < read else ""))
    if len(fund.monthly):
        dropped = len(monthly) < len(fund.monthly)
        note = f"dropped: months ending after the as-of date {as_of}" if dropped else ""
        quality.append(_quality_row("N-PORT months", files, len(fund.monthly), len(monthly), note))
    if len(fund.restatements):
        quality.append(
            _quality_row(
                "restatements", "fetched files and N-PORT filings", len(fund.restatements),
                len(fund.restatements), "a later download or amendment changed these values: "
                "the later one counts",
            )
        )  # fmt: skip

    derived = daily_flows.derive_daily_flows(
        history, nav_basis=nav_basis, shares_lag_days=shares_lag_days
    )
    daily = derived  # sorted by ticker and date
    if not ready.empty:
        both = pd.concat([derived, _ready_daily(ready)], ignore_index=True)
        daily = sorted_by_ticker_and_date(both)
    daily = quality_flags.add_quality_flags(daily, large_flow_pct, stale_nav_days)
    quality.append(_daily_flows_quality(derived, len(daily)))
    canonical = fund_flows.canonical_flows(daily, monthly)
    canonical = validate(canonical, FUND_FLOWS_SCHEMA, paths.PROCESSED_FILES["fund_flows"])
    resolutions = canonical["resolution"].value_counts()
    quality.append(
        _quality_row(
            "fund_flows", "daily flows and N-PORT months", len(daily) + len(monthly),
            len(canonical), f"kept: {resolutions.get('daily', 0):,} daily and "
            f"{resolutions.get('monthly', 0):,} monthly row(s), each fund-month at the best "
            "resolution it has; the others are left out (days without a flow, N-PORT months "
            "that daily data cover)",
        )
    )  # fmt: skip
    tables = {
        **facts,
        "fund_history": history,
        "daily_flows": daily,
        "fund_flows": canonical,
        "fund_sources": fund_flows.fund_sources(canonical),
        "flow_crosscheck": crosscheck_nport(daily, monthly, crosscheck_tolerance_pct),
        "restatements": fund.restatements,
        "calendar_gaps": market_calendar.calendar_gaps(daily),
    }
    return CleanedData(tables, pd.DataFrame(quality), fund_flows.flows_source(canonical))


def _daily_flows_quality(derived: pd.DataFrame, rows: int) -> dict:
    """The quality row of the daily flows: the days kept without a flow, and why."""
    no_flow = derived["flow_usd"].isna()
    ticker = derived["ticker"]
    first_day = ticker != ticker.shift()
    no_shares = derived["shares_outstanding"].isna()
    note = (
        f"kept without a flow: {int((no_flow & first_day).sum())} row(s) with no previous day "
        "to difference against (each fund's first day, the base of the next day's flow)"
    )
    if no_shares.any():
        after = no_flow & ~first_day & ~no_shares
        note += (
            f"; {int(no_shares.sum())} row(s) with a NAV but no shares outstanding that day "
            f"(e.g. no snapshot of Invesco's shares), and {int(after.sum())} the day after one"
        )
    return _quality_row("daily_flows", "derived from the fund data", rows, rows, note)


def write_processed(cleaned: CleanedData, processed_dir: str | Path) -> list[Path]:
    """Write every cleaned table and the quality table to `processed_dir` (atomically each)."""
    written = [
        storage.write_table(table, paths.processed_path(processed_dir, name))
        for name, table in cleaned.tables.items()
    ]
    written.append(
        storage.write_table(cleaned.quality, paths.processed_path(processed_dir, "data_quality"))
    )
    return written
