"""ETF fund-flow arithmetic on the daily flows (helpers.ingest.daily_flows derives them): sums
per period, per ETF and per cohort, the cohorts' cumulative flows and their spread.

All functions are pure: they take and return DataFrames/Series and never modify their input.
The flow column is always `flow_usd` (signed US dollars, outflows negative).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import pandas as pd

from helpers.errors import InvalidParameterError

MissingTickers = Literal["raise", "ignore"]


def rows_in_period(daily: pd.DataFrame, start, end) -> pd.DataFrame:
    """Rows of `daily` dated from `start` to `end`, both included."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if end < start:
        raise ValueError(f"period end {end.date()} is before its start {start.date()}")
    return daily[(daily["date"] >= start) & (daily["date"] <= end)]


def period_flows(
    daily: pd.DataFrame, start, end, tickers: Iterable[str] | None = None
) -> pd.Series:
    """Net flow per ticker summed over the days from `start` to `end` (both included).

    `daily` is the output of `derive_daily_flows`. With `tickers`, the result has exactly those
    tickers (NaN for a ticker with no flow in the period or not in the data); without, every
    ticker in `daily`. NaN daily flows (a ticker's first day) count as nothing.
    """
    in_period = rows_in_period(daily, start, end)
    sums = in_period.groupby("ticker")["flow_usd"].sum(min_count=1)
    wanted = list(tickers) if tickers is not None else sorted(daily["ticker"].unique())
    result = sums.reindex(pd.Index(wanted, name="ticker"))
    result.name = "flow_usd"
    return result


def per_etf_summary(daily: pd.DataFrame, tickers: Iterable[str]) -> pd.DataFrame:
    """Per ETF of `tickers` (those a page details), by ticker: first and last day with a flow,
    fund-days with a flow, total flow and last net assets; the other ETFs of `daily` in one last
    row, "N other ETFs", with the first and last of their days and the sums of the rest."""
    has_flow = daily["flow_usd"].notna()
    per_etf = (
        pd.DataFrame(
            {
                "ticker": daily["ticker"],
                "date": daily["date"].where(has_flow),
                "flow_usd": daily["flow_usd"],
                "net_assets_usd": daily["net_assets_usd"].where(has_flow),
            }
        )
        .groupby("ticker")
        .agg(
            first_day=("date", "min"),
            last_day=("date", "max"),
            fund_days=("flow_usd", "count"),
            total_flow_usd=("flow_usd", "sum"),
            last_net_assets_usd=("net_assets_usd", "last"),
        )
    )
    per_etf = per_etf[per_etf["fund_days"] > 0]
    detailed = per_etf.index.isin(list(tickers))
    others = per_etf[~detailed]
    if others.empty:
        return per_etf
    summed = {
        "first_day": others["first_day"].min(),
        "last_day": others["last_day"].max(),
        **{c: others[c].sum() for c in ("fund_days", "total_flow_usd", "last_net_assets_usd")},
    }
    label = pd.Index([f"{len(others):,} other ETFs"], name=per_etf.index.name)
    return pd.concat([per_etf[detailed], pd.DataFrame(summed, index=label)])


def _check_cohorts(
    daily: pd.DataFrame, cohorts: Mapping[str, Sequence[str]], missing_tickers: MissingTickers
) -> dict[str, list[str]]:
    """Cohorts restricted to the tickers in `daily`; raise on absent tickers unless ignored."""
    if missing_tickers not in ("raise", "ignore"):
        raise InvalidParameterError(
            f"missing_tickers must be 'raise' or 'ignore'; got {missing_tickers!r}"
        )
    present = set(daily["ticker"].unique())
    absent = sorted({t for members in cohorts.values() for t in members} - present)
    if absent and missing_tickers == "raise":
        raise ValueError(
            f"cohort ticker(s) not in the flow data: {', '.join(absent)}; set the cohorts "
            "parameter (pipeline.yaml, 02_etf_flows) to the tickers your data hold, or pass "
            "missing_tickers='ignore' to sum the tickers that are there"
        )
    return {name: [t for t in members if t in present] for name, members in cohorts.items()}


def cohort_flows(
    daily: pd.DataFrame,
    cohorts: Mapping[str, Sequence[str]],
    start,
    end,
    *,
    missing_tickers: MissingTickers = "raise",
) -> pd.Series:
    """Net flow per cohort (cohort name -> list of tickers) summed from `start` to `end`.

    A cohort ticker absent from `daily` raises ValueError, unless `missing_tickers="ignore"`.
    """
    cohorts = _check_cohorts(daily, cohorts, missing_tickers)
    per_ticker = period_flows(daily, start, end).fillna(0.0)
    totals = {name: float(per_ticker.reindex(members).sum()) for name, members in cohorts.items()}
    return pd.Series(totals, name="flow_usd", dtype="float64").rename_axis("cohort")


def cumulative_cohort_flows(
    daily: pd.DataFrame,
    cohorts: Mapping[str, Sequence[str]],
    start=None,
    *,
    missing_tickers: MissingTickers = "raise",
) -> pd.DataFrame:
    """Cumulative net flow per cohort (columns) on every date of `daily` from `start` (rows).

    The sum starts at zero before `start` (or before the first date); NaN daily flows count as
    nothing. A cohort ticker absent from `daily` raises ValueError, unless
    `missing_tickers="ignore"`.
    """
    cohorts = _check_cohorts(daily, cohorts, missing_tickers)
    data = daily if start is None else daily[daily["date"] >= pd.Timestamp(start)]
    per_day = data.groupby(["date", "ticker"])["flow_usd"].sum().unstack("ticker", fill_value=0.0)
    per_cohort = pd.DataFrame(
        {
            name: per_day.reindex(columns=members).fillna(0.0).sum(axis=1)
            for name, members in cohorts.items()
        },
        index=per_day.index,
    )
    per_cohort.index.name = "date"
    per_cohort.columns.name = "cohort"
    return per_cohort.cumsum()


def spread_usd(
    cohort_totals: pd.Series, long: str = "technology", short: str = "traditional"
) -> float:
    """Flow of cohort `long` minus flow of cohort `short` (e.g. technology - traditional)."""
    return float(cohort_totals[long] - cohort_totals[short])


def year_to_date(daily: pd.DataFrame, as_of: str = "") -> tuple[pd.Timestamp, pd.Timestamp]:
    """The period from 1 January of the as-of year to the as-of date (default: last flow date)."""
    end = pd.Timestamp(as_of) if as_of else daily.loc[daily["flow_usd"].notna(), "date"].max()
    return pd.Timestamp(year=end.year, month=1, day=1), end


def iso_day(ts: pd.Timestamp) -> str:
    """A date as ISO text, YYYY-MM-DD."""
    return pd.Timestamp(ts).strftime("%Y-%m-%d")
