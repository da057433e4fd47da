"""The canonical flows table (data/processed/fund_flows.parquet): every fund's flows at the best
resolution it has, one row per day or per calendar month, each with its source.

Daily rows come from the daily flows table (helpers.ingest.daily_flows: derived from NAV and
shares outstanding, or ready-made); a daily row's period is its day, its flow the change from
the previous close to that day's close. Monthly rows come from SEC Form N-PORT filings (net flow
= sales + reinvestment - redemption); a monthly row's period is its calendar month.

For each fund and calendar month the table holds, so that no month is counted twice:

1. the daily rows, when they cover the whole month (`daily_months`);
2. else the N-PORT month, when there is one;
3. else whatever daily rows the month has (a month that the daily data begin or end in).

`source_kind` says what the row rests on ("sample", "issuer": a download of the issuer's file,
"sec_nport": an N-PORT filing downloaded from the SEC, "user": a file saved by hand), `source`
names it, `source_address` is its URL where it was downloaded (else empty).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from helpers.ingest import market_calendar
from helpers.ingest.fund_files import NPORT_COLUMNS
from helpers.tickers import sorted_by_ticker_and_date

SOURCE_COLUMNS = ["source_kind", "source", "source_address"]
MONTHLY_VALUES = ["sales_usd", "reinvestment_usd", "redemption_usd", "net_assets_usd"]
FUND_FLOWS_COLUMNS = [
    "ticker",
    "period_start",
    "period_end",
    "resolution",
    "flow_usd",
    *SOURCE_COLUMNS,
    *MONTHLY_VALUES,
]
# The N-PORT months helpers.ingest.load reads: read_nport_filing's columns and the source.
NPORT_MONTH_COLUMNS = [*NPORT_COLUMNS, *SOURCE_COLUMNS]
# `resolution` of a fund whose rows are daily in some months and monthly in others.
MIXED_RESOLUTION = "daily and monthly"


def _no_rows(columns: list[str], dates: list[str], numbers: list[str]) -> pd.DataFrame:
    """No rows, but `columns`: `dates` as dates, `numbers` as floats, the others text."""
    dtypes = {**dict.fromkeys(dates, "datetime64[us]"), **dict.fromkeys(numbers, "float64")}
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, str)) for c in columns})


def no_nport_months() -> pd.DataFrame:
    """No N-PORT months, but the columns (NPORT_MONTH_COLUMNS) and types of the months that
    helpers.ingest.load reads and `canonical_flows` takes."""
    dates = ["report_date", "month_start", "month_end"]
    return _no_rows(NPORT_MONTH_COLUMNS, dates, [*MONTHLY_VALUES, "flow_usd"])


def no_fund_flows() -> pd.DataFrame:
    """An empty canonical flows table, with its columns and types."""
    return _no_rows(
        FUND_FLOWS_COLUMNS, ["period_start", "period_end"], ["flow_usd", *MONTHLY_VALUES]
    )


def _month_sessions(first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    """Per calendar month from `first` to `last`: its first and last NYSE session and how many
    sessions it has."""
    start = first.to_period("M").start_time
    end = last.to_period("M").end_time.normalize()
    sessions = pd.Series(market_calendar.trading_sessions(start, end))
    return sessions.groupby(sessions.dt.to_period("M")).agg(
        first_session="min", last_session="max", sessions="size"
    )


def _month_numbers(dates: pd.Series) -> np.ndarray:
    """Each date's calendar month as one integer (year x 12 + month - 1): quick to group by."""
    return (dates.dt.year * 12 + dates.dt.month - 1).to_numpy(np.int64)


def _month_periods(numbers) -> pd.PeriodIndex:
    numbers = np.asarray(numbers, dtype=np.int64)
    return pd.PeriodIndex.from_fields(year=numbers // 12, month=numbers % 12 + 1, freq="M")


def daily_months(daily: pd.DataFrame) -> pd.DataFrame:
    """Per ticker and calendar month of the daily flows: the first and last day with a row, the
    days with a flow, the summed flow, and whether the daily rows cover the whole month.

    A month is covered (`complete`) when every row of it has a flow, its last row is on the
    month's last NYSE session and its first flow starts at the close before the month: derived
    from shares outstanding (whose base is the previous row, in an earlier month), or, for
    ready-made flows, when the month has a row on every session. Returns columns ticker, month
    (a monthly Period), first_day, last_day, days, flow_usd, complete.
    """
    columns = ["ticker", "month", "first_day", "last_day", "days", "flow_usd", "complete"]
    if daily.empty:
        dtypes = ["str", "period[M]", "datetime64[us]", "datetime64[us]", "int64", "float64"]
        return pd.DataFrame(
            {c: pd.Series(dtype=d) for c, d in zip(columns, [*dtypes, "bool"], strict=True)}
        )
    daily = sorted_by_ticker_and_date(daily)
    known = daily["flow_usd"].notna()
    rows = pd.DataFrame(
        {
            "date": daily["date"],
            "flow_usd": daily["flow_usd"],
            "known": known,
            "derived": known & daily["shares_outstanding"].notna(),
        },
        copy=False,
    )
    keys = [daily["ticker"].rename("ticker"), pd.Series(_month_numbers(daily["date"]), name="n")]
    months = (
        rows.groupby(keys, sort=True)
        .agg(
            first_day=("date", "min"),
            last_day=("date", "max"),
            days=("known", "sum"),
            rows=("date", "size"),
            flow_usd=("flow_usd", "sum"),
            first_derived=("derived", "first"),
        )
        .reset_index()
    )
    months["flow_usd"] = months["flow_usd"].where(months["days"] > 0)
    months["month"] = _month_periods(months.pop("n"))
    calendar = _month_sessions(rows["date"].min(), rows["date"].max())
    months = months.join(calendar, on="month")
    every_row_known = months["days"] == months["rows"]
    starts_before = months["first_derived"] | (months["days"] == months["sessions"])
    months["complete"] = (
        every_row_known & starts_before & (months["last_day"] == months["last_session"])
    )
    return months[columns]


def _daily_rows(daily: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ticker": daily["ticker"],
            "period_start": daily["date"],
            "period_end": daily["date"],
            "resolution": "daily",
            "flow_usd": daily["flow_usd"],
            **{column: daily[column] for column in SOURCE_COLUMNS},
            **{column: np.nan for column in MONTHLY_VALUES[:-1]},
            "net_assets_usd": daily["net_assets_usd"],
        }
    )


def _monthly_rows(monthly: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ticker": monthly["ticker"],
            "period_start": monthly["month_start"],
            "period_end": monthly["month_end"],
            "resolution": "monthly",
            "flow_usd": monthly["flow_usd"],
            **{column: monthly[column] for column in SOURCE_COLUMNS},
            **{column: monthly[column] for column in MONTHLY_VALUES},
        }
    )


def _joined(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The parts one under the other, the text columns categorical (the same few labels on
    millions of rows), the rest as they are."""
    texts = ["resolution", *SOURCE_COLUMNS]
    parts = [part for part in parts if len(part)] or parts[:1]
    joined = pd.concat([part.drop(columns=texts) for part in parts], ignore_index=True)
    for column in texts:
        labels = [part[column].astype("category") for part in parts]
        joined[column] = union_categoricals(
            [c.cat.rename_categories(c.cat.categories.astype(str)) for c in labels],
            ignore_order=True,
        )
    return joined[FUND_FLOWS_COLUMNS]


def canonical_flows(daily: pd.DataFrame, monthly: pd.DataFrame) -> pd.DataFrame:
    """The canonical flows table (columns FUND_FLOWS_COLUMNS, sorted by ticker and period; the
    resolution and source columns categorical) from the daily flows and the N-PORT months, each
    month at the best resolution the fund has (see the module's docstring). Daily rows without
    a flow are left out.

    `daily`: date, ticker, flow_usd, shares_outstanding, net_assets_usd and the SOURCE_COLUMNS,
    sorted by ticker and date (as helpers.ingest.daily_flows gives them); `monthly`: ticker,
    month_start, month_end, flow_usd, the MONTHLY_VALUES and the SOURCE_COLUMNS
    (helpers.ingest.load reads both).
    """
    months = daily_months(daily)
    tickers = pd.Index(pd.concat([months["ticker"], monthly["ticker"]]).unique())

    def keys(ticker: pd.Series, month_numbers: np.ndarray) -> np.ndarray:
        return tickers.get_indexer(ticker).astype(np.int64) * 1_000_000 + month_numbers

    complete = months[months["complete"]]
    complete_keys = keys(complete["ticker"], _month_numbers(complete["month"].dt.start_time))
    nport_keys = keys(monthly["ticker"], _month_numbers(monthly["month_start"]))
    daily_keys = keys(daily["ticker"], _month_numbers(daily["date"]))
    keep_daily = daily["flow_usd"].notna().to_numpy() & (
        np.isin(daily_keys, complete_keys) | ~np.isin(daily_keys, nport_keys)
    )
    keep_monthly = ~np.isin(nport_keys, complete_keys)
    table = _joined([_daily_rows(daily[keep_daily]), _monthly_rows(monthly[keep_monthly])])
    if not keep_monthly.any():  # the daily rows alone, in their order already
        return table
    return table.sort_values(["ticker", "period_start"], kind="stable", ignore_index=True)


def fund_sources(fund_flows: pd.DataFrame) -> pd.DataFrame:
    """What each fund's flows rest on: one row per ticker, source and resolution, with the
    source's address (the latest where there are several), the first and last day it covers and
    its number of rows; ordered by ticker and first day."""
    grouped = fund_flows.groupby(["ticker", "source_kind", "source", "resolution"], sort=False)
    parts = grouped.agg(
        source_address=("source_address", "last"),
        first_day=("period_start", "min"),
        last_day=("period_end", "max"),
        rows=("flow_usd", "size"),
    ).reset_index()
    return parts.sort_values(["ticker", "first_day"], ignore_index=True)


def sources_by_ticker(fund_flows: pd.DataFrame) -> dict[str, dict]:
    """Per ticker, JSON-ready: `source` (the sources' names, joined by '; '), `resolution`
    ("daily", "monthly" or MIXED_RESOLUTION) and `parts`, one per source and resolution with
    its kind, address and the first and last day it covers (ISO dates)."""
    described = {}
    for ticker, parts in fund_sources(fund_flows).groupby("ticker", sort=False):
        resolutions = set(parts["resolution"])
        described[ticker] = {
            "source": "; ".join(dict.fromkeys(parts["source"])),
            "resolution": resolutions.pop() if len(resolutions) == 1 else MIXED_RESOLUTION,
            "parts": [
                {
                    "source": part.source,
                    "source_kind": part.source_kind,
                    "resolution": part.resolution,
                    "address": part.source_address,
                    "first_day": f"{part.first_day:%Y-%m-%d}",
                    "last_day": f"{part.last_day:%Y-%m-%d}",
                }
                for part in parts.itertuples()
            ],
        }
    return described


def flows_source(fund_flows: pd.DataFrame) -> str:
    """'sample' when any flow rests on the synthetic sample, else 'user'."""
    return "sample" if bool(fund_flows["source_kind"].eq("sample").any()) else "user"
