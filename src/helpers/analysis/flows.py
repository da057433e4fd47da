"""ETF fund-flow arithmetic: sums per period, per ETF and per cohort, the cohorts' cumulative
flows and their spread.

The functions take a table of flows of either kind: the daily flows (columns date, ticker,
flow_usd; helpers.ingest.daily_flows) or the canonical flows table at both resolutions (columns
ticker, period_start, period_end, flow_usd; helpers.ingest.fund_flows), whose rows count on the
last day of their period (`flow_dates`) and belong to a period when the whole of theirs lies in
it. All functions are pure: they take and return DataFrames/Series and never modify their input.
The flow column is always `flow_usd` (signed US dollars, outflows negative).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import pandas as pd

from helpers.errors import InvalidParameterError

MissingTickers = Literal["raise", "ignore"]


def _periods(flows: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The first and last day of each row's period: its day for daily flows."""
    if "period_start" in flows:
        return flows["period_start"], flows["period_end"]
    return flows["date"], flows["date"]


def flow_dates(flows: pd.DataFrame) -> pd.Series:
    """The day each row's flow counts on: its date, or the last day of its period."""
    return _periods(flows)[1]


def rows_in_period(flows: pd.DataFrame, start, end) -> pd.DataFrame:
    """Rows of `flows` dated from `start` to `end`, both included (for a table of periods: the
    rows whose whole period lies from `start` to `end`)."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if end < start:
        raise ValueError(f"period end {end.date()} is before its start {start.date()}")
    first, last = _periods(flows)
    return flows[(first >= start) & (last <= end)]


def period_flows(
    flows: pd.DataFrame, start, end, tickers: Iterable[str] | None = None
) -> pd.Series:
    """Net flow per ticker summed over the rows from `start` to `end` (both included).

    `flows` holds daily flows or the canonical flows table (see the module's docstring). With
    `tickers`, the result has exactly those tickers (NaN for a ticker with no flow in the period
    or not in the data); without, every ticker in `flows`. NaN daily flows (a ticker's first
    day) count as nothing.
    """
    in_period = rows_in_period(flows, start, end)
    sums = in_period.groupby("ticker")["flow_usd"].sum(min_count=1)
    wanted = list(tickers) if tickers is not None else sorted(flows["ticker"].unique())
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

    A cohort ticker absent from `daily` raises ValueError, unless `missing_tickers="ignore"`:
    a cohort is then summed over its tickers that have flows in the period, and is NaN (no data)
    when none has.
    """
    cohorts = _check_cohorts(daily, cohorts, missing_tickers)
    per_ticker = period_flows(daily, start, end)
    totals = {
        name: float(per_ticker.reindex(members).sum(min_count=1))
        for name, members in cohorts.items()
    }
    return pd.Series(totals, name="flow_usd", dtype="float64").rename_axis("cohort")


def cumulative_cohort_flows(
    daily: pd.DataFrame,
    cohorts: Mapping[str, Sequence[str]],
    start=None,
    *,
    missing_tickers: MissingTickers = "raise",
) -> pd.DataFrame:
    """Cumulative net flow per cohort (columns) on every date of `daily` from `start` (rows;
    a row of the canonical table counts on its last day).

    The sum starts at zero before `start` (or before the first date); NaN daily flows count as
    nothing. A cohort ticker absent from `daily` raises ValueError, unless
    `missing_tickers="ignore"`: a cohort none of whose tickers is in `daily` is then left out.
    """
    cohorts = _check_cohorts(daily, cohorts, missing_tickers)
    start = None if start is None else pd.Timestamp(start)
    data = daily if start is None else daily[_periods(daily)[0] >= start]
    per_day = (
        data.groupby([flow_dates(data).rename("date"), data["ticker"]])["flow_usd"]
        .sum()
        .unstack("ticker", fill_value=0.0)
    )
    per_cohort = pd.DataFrame(
        {
            name: per_day.reindex(columns=members).fillna(0.0).sum(axis=1)
            for name, members in cohorts.items()
            if members
        },
        index=per_day.index,
    )
    per_cohort.index.name = "date"
    per_cohort.columns.name = "cohort"
    return per_cohort.cumsum()


def spread_usd(
    cohort_totals: pd.Series, long: str = "technology", short: str = "traditional"
) -> float:
    """Flow of cohort `long` minus flow of cohort `short` (e.g. technology - traditional); NaN
    when either has no data."""
    return float(cohort_totals[long] - cohort_totals[short])


def year_to_date(flows: pd.DataFrame, as_of: str = "") -> tuple[pd.Timestamp, pd.Timestamp]:
    """The period from 1 January of the as-of year to the as-of date (default: last flow date)."""
    end = pd.Timestamp(as_of) if as_of else flow_dates(flows)[flows["flow_usd"].notna()].max()
    return pd.Timestamp(year=end.year, month=1, day=1), end


def iso_day(ts: pd.Timestamp) -> str:
    """A date as ISO text, YYYY-MM-DD."""
    return pd.Timestamp(ts).strftime("%Y-%m-%d")
