"""ETF fund-flow arithmetic: daily net flows from NAV and shares outstanding, and their sums.

Convention (ETF.com, "The follies of ETF flows", 2013): the daily net flow on day t is

    flow_usd[t] = (shares_outstanding[t] - shares_outstanding[t-1]) * nav[t]

where t-1 is the fund's previous row (its previous trading day). Two variants are supported:
the NAV basis "average" uses the mean of the NAVs on t-1 and t, and `shares_lag_days=1` reads the
shares figure reported on day t as the one belonging to day t-1 (some providers publish shares
outstanding a day late).

All functions are pure: they take and return DataFrames/Series and never modify their input.
The flow column is always `flow_usd` (signed US dollars, outflows negative).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from helpers.errors import InvalidParameterError

NAV_BASES = ("today", "average")
"""Allowed values of `nav_basis` in `derive_daily_flows`."""

BOUNDS = ("point", "at_most", "at_least")
"""Allowed values of the `bound` column of reported flow figures."""

MissingTickers = Literal["raise", "ignore"]

_HISTORY_COLUMNS = ("date", "ticker", "nav", "shares_outstanding")


def derive_daily_flows(
    history: pd.DataFrame, nav_basis: str = "today", shares_lag_days: int = 0
) -> pd.DataFrame:
    """Daily net flows per ticker from a long table of NAV and shares outstanding.

    `history` has columns date, ticker, nav, shares_outstanding; any other columns (e.g.
    is_synthetic, source) pass through. Returns a copy sorted by ticker and date with two added
    columns: `net_assets_usd` (nav x shares outstanding) and `flow_usd`.

    - `nav_basis="today"`: flow = change in shares x NAV of the day; `"average"`: x the mean of
      the day's and the previous day's NAV.
    - `shares_lag_days=n` (n >= 0): the shares figure reported on day t belongs to day t-n, so
      shares are moved back n rows within each ticker before differencing. The
      `shares_outstanding` column then holds the re-dated figure and is NaN on each ticker's
      last n rows (their shares are not yet reported).

    The first row of each ticker has no previous day: its `flow_usd` is NaN (the row is kept; it
    is the base for the next day's flow). Rows with unknown shares or NAV also get NaN flows.
    """
    if nav_basis not in NAV_BASES:
        raise InvalidParameterError(
            f"nav_basis must be one of {', '.join(map(repr, NAV_BASES))}; got {nav_basis!r}"
        )
    if isinstance(shares_lag_days, bool) or not isinstance(shares_lag_days, (int, np.integer)):
        raise InvalidParameterError(f"shares_lag_days must be an integer; got {shares_lag_days!r}")
    if shares_lag_days < 0:
        raise InvalidParameterError(f"shares_lag_days must be >= 0; got {shares_lag_days}")
    missing = [c for c in _HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"history lacks column(s): {', '.join(missing)}")

    daily = sorted_by_ticker_and_date(history)
    if shares_lag_days:
        later = shifted_within_ticker(daily, "shares_outstanding", -shares_lag_days)
        daily["shares_outstanding"] = later

    shares = daily["shares_outstanding"].astype("float64")
    nav = daily["nav"].astype("float64")
    shares_change = shares - shifted_within_ticker(daily, "shares_outstanding").astype("float64")
    if nav_basis == "today":
        flow_nav = nav
    else:
        flow_nav = (nav + shifted_within_ticker(daily, "nav").astype("float64")) / 2

    daily["net_assets_usd"] = nav * shares
    daily["flow_usd"] = shares_change * flow_nav
    return daily


def sorted_by_ticker_and_date(table: pd.DataFrame) -> pd.DataFrame:
    """`table` sorted by ticker and date (stable), with a fresh index; when it is in that order
    already (as fund files are read), without sorting or copying its data."""
    ticker, date = table["ticker"], table["date"]
    earlier_ticker = ticker.shift()
    in_order = (ticker > earlier_ticker) | ((ticker == earlier_ticker) & (date >= date.shift()))
    if bool(in_order.iloc[1:].all()):
        return table.reset_index(drop=True)
    return table.sort_values(["ticker", "date"], kind="stable", ignore_index=True)


def shifted_within_ticker(daily: pd.DataFrame, column: str, periods: int = 1) -> pd.Series:
    """`column` of the row `periods` rows earlier (later if negative) of the same ticker, NaN
    where there is none; `daily` is sorted by ticker and date, so each ticker's rows are together.
    """
    ticker = daily["ticker"]
    return daily[column].shift(periods).where(ticker == ticker.shift(periods))


def _in_period(daily: pd.DataFrame, start, end) -> pd.DataFrame:
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
    in_period = _in_period(daily, start, end)
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


_PERIOD_OF_FREQ = {"MS": "M", "QS": "Q", "YS": "Y"}


def flows_by_period(daily: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Net flow per period (rows) and ticker (columns).

    `freq` is a pandas period frequency: "W-FRI" (weeks ending on Friday), "MS" or "M"
    (calendar months), "QS"/"Q", "YS"/"Y", "D". Rows are labelled by the period's first
    calendar day (a Saturday for "W-FRI"); NaN where a ticker has no flow in the period.
    """
    period_freq = _PERIOD_OF_FREQ.get(freq, freq)
    period_start = daily["date"].dt.to_period(period_freq).dt.start_time.rename("period_start")
    table = (
        daily.groupby([period_start, daily["ticker"]])["flow_usd"]
        .sum(min_count=1)
        .unstack("ticker")
    )
    table.columns.name = "ticker"
    return table


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


def cumulative_records(cumulative: pd.DataFrame) -> dict:
    """Cumulative cohort flows (from `cumulative_cohort_flows`) as JSON-ready columns."""
    return {
        "dates": cumulative.index.strftime("%Y-%m-%d").tolist(),
        "cohorts": {cohort: values.tolist() for cohort, values in cumulative.items()},
    }


def cumulative_from_records(records: Mapping) -> pd.DataFrame:
    """The cumulative cohort flows that `cumulative_records` wrote: rows dates, columns cohorts."""
    dates = pd.DatetimeIndex(records["dates"], name="date")
    return pd.DataFrame(dict(records["cohorts"]), index=dates).rename_axis(columns="cohort")


def spread_usd(
    cohort_totals: pd.Series, long: str = "technology", short: str = "traditional"
) -> float:
    """Flow of cohort `long` minus flow of cohort `short` (e.g. technology - traditional)."""
    return float(cohort_totals[long] - cohort_totals[short])


def as_tickers(value) -> tuple[str, ...]:
    """A figure's tickers as a tuple (accepts a tuple/list, a ';'-separated string, or NaN)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ()
    if isinstance(value, str):
        return tuple(t.strip() for t in value.split(";") if t.strip())
    return tuple(value)


def _day(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


def reconcile_reported_flows(
    daily: pd.DataFrame, reported: pd.DataFrame, tolerance_pct: float = 1.0
) -> pd.DataFrame:
    """Compare reported flow figures with the flows computed from fund data over the same dates.

    `daily` is the output of `derive_daily_flows`; `reported` has columns figure_id, subject,
    tickers (tuple of tickers; empty if the subject is not a list of tickers), start, end,
    amount_usd and bound ("point", "at_most", "at_least"). Returns `reported` with added columns:

    - `computed_usd`: summed `flow_usd` of the figure's tickers from start to end (both included);
    - `difference_usd` = computed - reported, `difference_pct` = 100 x difference / |reported|;
    - `status`: "within tolerance" / "outside tolerance" (points: |difference_pct| <=
      `tolerance_pct`), "bound holds" / "bound fails" (at_most: computed <= amount; at_least:
      computed >= amount), or "not computable: ..." with the reason (tickers not listed, ticker(s)
      not in data, period outside data, flows missing on some days);
    - `holds`: True/False, pd.NA where not computable.

    A period is covered when each of its tickers has a row on a day before `start` (the base of
    the first day's flow) and a known flow on or after `end`.
    """
    unknown = sorted(set(reported["bound"].dropna()) - set(BOUNDS))
    if unknown:
        raise ValueError(f"bound must be one of {', '.join(BOUNDS)}; got {', '.join(unknown)}")

    listed = {t for tickers in reported["tickers"] for t in as_tickers(tickers)}
    daily = daily[daily["ticker"].isin(listed)]  # only the rows of the figures' tickers
    first_date = daily.groupby("ticker")["date"].min()
    last_flow_date = daily[daily["flow_usd"].notna()].groupby("ticker")["date"].max()

    rows = []
    for figure in reported.itertuples(index=False):
        tickers = as_tickers(figure.tickers)
        start, end = pd.Timestamp(figure.start), pd.Timestamp(figure.end)
        amount = float(figure.amount_usd)
        result = {
            "computed_usd": np.nan,
            "difference_usd": np.nan,
            "difference_pct": np.nan,
            "holds": pd.NA,
        }
        absent = [t for t in tickers if t not in first_date.index]
        if not tickers:
            result["status"] = "not computable: tickers not listed"
        elif absent:
            result["status"] = f"not computable: ticker(s) not in data: {', '.join(absent)}"
        else:
            data_from = first_date[list(tickers)].max()
            data_to = last_flow_date.reindex(list(tickers)).min()
            window = _in_period(daily[daily["ticker"].isin(tickers)], start, end)
            n_missing = int(window["flow_usd"].isna().sum())
            if pd.isna(data_to) or not (data_from < start and end <= data_to):
                covered = f"{_day(data_from)} to {_day(data_to) if pd.notna(data_to) else '-'}"
                result["status"] = f"not computable: period outside data (data from {covered})"
            elif n_missing:
                result["status"] = f"not computable: flows missing on {n_missing} ticker-day(s)"
            else:
                computed = float(window["flow_usd"].sum())
                difference = computed - amount
                if amount != 0:
                    pct = 100.0 * difference / abs(amount)
                else:
                    pct = 0.0 if difference == 0 else np.inf * np.sign(difference)
                result.update(computed_usd=computed, difference_usd=difference, difference_pct=pct)
                if figure.bound == "point":
                    holds = bool(abs(pct) <= tolerance_pct)
                    result["status"] = "within tolerance" if holds else "outside tolerance"
                else:
                    holds = computed <= amount if figure.bound == "at_most" else computed >= amount
                    holds = bool(holds)
                    result["status"] = "bound holds" if holds else "bound fails"
                result["holds"] = holds
        rows.append(result)

    added = pd.DataFrame(rows, index=reported.index)
    out = reported.copy()
    for column in ("computed_usd", "difference_usd", "difference_pct"):
        out[column] = added[column].astype("float64")
    out["status"] = added["status"].astype(str) if len(added) else pd.Series(dtype=str)
    out["holds"] = added["holds"].astype("boolean") if len(added) else pd.Series(dtype="boolean")
    return out


def year_to_date(daily: pd.DataFrame, as_of: str = "") -> tuple[pd.Timestamp, pd.Timestamp]:
    """The period from 1 January of the as-of year to the as-of date (default: last flow date)."""
    end = pd.Timestamp(as_of) if as_of else daily.loc[daily["flow_usd"].notna(), "date"].max()
    return pd.Timestamp(year=end.year, month=1, day=1), end


def period_summary(daily: pd.DataFrame, cohorts: Mapping[str, Sequence[str]], start, end) -> dict:
    """JSON-ready flows over a period: per cohort ticker, per cohort, the technology spread, and
    how many other ETFs had flows and their sum (`other_etfs`, so that pages stay readable with
    thousands of ETFs)."""
    per_ticker = period_flows(daily, start, end).dropna()
    in_cohort = per_ticker.index.isin([t for members in cohorts.values() for t in members])
    per_cohort = cohort_flows(daily, cohorts, start, end)
    others = per_ticker[~in_cohort]
    return {
        "period": {"start": _day(start), "end": _day(end)},
        "ytd_usd": {t: float(v) for t, v in per_ticker[in_cohort].items()},
        "cohorts_usd": {c: float(v) for c, v in per_cohort.items()},
        "spread_usd": spread_usd(per_cohort),
        "other_etfs": {"count": len(others), "flow_usd": float(others.sum())},
    }


def reconciliation_records(reconciliation: pd.DataFrame) -> list[dict]:
    """The reconciliation table as JSON-ready records (dates as ISO text, missing as None)."""
    table = reconciliation.copy()
    for column in ("start", "end"):
        table[column] = table[column].dt.strftime("%Y-%m-%d")
    table["tickers"] = table["tickers"].map(list)
    table = table.astype(object).where(table.notna(), None)
    return table.drop(columns=[c for c in table if c.startswith("source_")]).to_dict("records")
