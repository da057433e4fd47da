"""The questions a fund-flows analyst asks of daily flows, beyond the sums in
helpers.analysis.flows.

Organic growth (flows as a share of starting net assets), flows per week and month, flows around
events, each fund's largest months and weeks, and whether flows chase the previous period's
return. Every function takes the daily table of `helpers.ingest.daily_flows.derive_daily_flows`
(columns date, ticker, nav, net_assets_usd, flow_usd) and returns a new DataFrame.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from helpers.analysis.coverage import FlowCoverage
from helpers.analysis.flows import flow_dates, period_flows
from helpers.errors import InvalidParameterError
from helpers.ingest import market_calendar

Cohorts = Mapping[str, Sequence[str]]

WEEKLY = "W-FRI"  # weeks end on Friday, as weekly fund-flow reports do
MONTHLY = "M"
PERIOD_NAMES = {WEEKLY: "week", MONTHLY: "month"}


def cohort_of(cohorts: Cohorts) -> dict[str, str]:
    """ticker -> the cohort it belongs to."""
    return {ticker: name for name, members in cohorts.items() for ticker in members}


def sum_by_cohort(by_ticker: pd.DataFrame, cohorts: Cohorts) -> pd.DataFrame:
    """Columns of tickers summed into columns of cohorts (a cohort with no data is all NaN)."""
    return pd.DataFrame(
        {
            name: by_ticker.reindex(columns=list(members)).sum(axis=1, min_count=1)
            for name, members in cohorts.items()
        },
        index=by_ticker.index,
    ).rename_axis(columns="cohort")


def net_assets_points(daily: pd.DataFrame, fund_flows: pd.DataFrame) -> pd.DataFrame:
    """Every known net assets figure: each day's close in the daily flows, and each N-PORT
    month's end in the canonical flows table (the report month's). Columns date, ticker,
    net_assets_usd."""
    monthly = fund_flows[fund_flows["resolution"] == "monthly"]
    points = pd.concat(
        [
            daily[["date", "ticker", "net_assets_usd"]],
            pd.DataFrame(
                {
                    "date": monthly["period_end"],
                    "ticker": monthly["ticker"],
                    "net_assets_usd": monthly["net_assets_usd"],
                }
            ),
        ],
        ignore_index=True,
    )
    return points.dropna(subset=["net_assets_usd"]).sort_values(["ticker", "date"], kind="stable")


def organic_growth(
    flows: pd.DataFrame, net_assets: pd.DataFrame, cohorts: Cohorts, start, end
) -> pd.DataFrame:
    """Net flow from `start` to `end` as a percentage of net assets at the start, per ETF and
    per cohort (the cohort's flows over its members' summed starting net assets).

    `flows` is a table of flows (daily, or the canonical table: helpers.analysis.flows);
    `net_assets` the known net assets (columns date, ticker, net_assets_usd, e.g. from
    `net_assets_points`). Starting net assets are the last known before `start` (the close of
    the last trading day before it, the base of the first daily flow; or an N-PORT month's end);
    for a fund known only from later, its first. Without net assets the percentage is NaN. A
    cohort is taken over its funds with flows in the period.
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    known = net_assets.dropna(subset=["net_assets_usd"])
    before = known[known["date"] < start].groupby("ticker").tail(1)
    later = known[(known["date"] >= start) & ~known["ticker"].isin(before["ticker"])]
    base = pd.concat([before, later.groupby("ticker").head(1)]).set_index("ticker")
    per_etf = pd.DataFrame(
        {
            "start_date": base["date"],
            "start_net_assets_usd": base["net_assets_usd"],
            "flow_usd": period_flows(flows, start, end).dropna(),
        }
    ).rename_axis("group")
    # A cohort counts the members with flows in the period (partial data: the others are
    # missing); its starting net assets are NaN unless each of those has them.
    with_flows = [per_etf["flow_usd"].reindex(m).dropna().index for m in cohorts.values()]
    per_cohort = pd.DataFrame(
        {
            "start_date": [per_etf["start_date"].reindex(m).min() for m in with_flows],
            "start_net_assets_usd": [
                per_etf["start_net_assets_usd"].reindex(m).sum(min_count=max(len(m), 1))
                for m in with_flows
            ],
            "flow_usd": [per_etf["flow_usd"].reindex(m).sum(min_count=1) for m in with_flows],
        },
        index=pd.Index(list(cohorts), name="group"),
    )
    table = pd.concat([per_etf.assign(kind="ETF"), per_cohort.assign(kind="cohort")])
    table["organic_growth_pct"] = 100 * table["flow_usd"] / table["start_net_assets_usd"]
    return table[["kind", "start_date", "start_net_assets_usd", "flow_usd", "organic_growth_pct"]]


def _check_freq(freq: str) -> None:
    if freq not in PERIOD_NAMES:
        raise InvalidParameterError(f"freq must be {WEEKLY!r} or {MONTHLY!r}; got {freq!r}")


_PERIOD_OF_FREQ = {"MS": "M", "QS": "Q", "YS": "Y"}


def _sums_per_period(flows: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Net flow per period (rows) and ticker (columns).

    `flows` is a table of flows (daily, or the canonical table, whose rows count on the last day
    of their period; monthly rows only into months or longer). `freq` is a pandas period
    frequency: "W-FRI" (weeks ending on Friday), "MS" or "M" (calendar months), "QS"/"Q",
    "YS"/"Y", "D". Rows are labelled by the period's first calendar day (a Saturday for
    "W-FRI"); NaN where a ticker has no flow in the period.
    """
    period_freq = _PERIOD_OF_FREQ.get(freq, freq)
    if period_freq in ("D", WEEKLY) and flows.get("resolution", pd.Series()).eq("monthly").any():
        raise ValueError(f"monthly flows cannot be summed per {PERIOD_NAMES.get(freq, 'day')}")
    dates = flow_dates(flows)
    period_start = dates.dt.to_period(period_freq).dt.start_time.rename("period_start")
    table = (
        flows.groupby([period_start, flows["ticker"]])["flow_usd"]
        .sum(min_count=1)
        .unstack("ticker")
    )
    table.columns.name = "ticker"
    return table


def flows_per_period(flows: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Net flow per week (`WEEKLY`, labelled by the Friday it ends on; daily flows only) or month
    (`MONTHLY`, labelled by its first day; daily flows or the canonical table); rows periods,
    columns tickers."""
    _check_freq(freq)
    table = _sums_per_period(flows, freq)
    if freq == WEEKLY:
        table.index = table.index + pd.Timedelta(days=6)
        table.index.name = "week_ending"
    else:
        table.index.name = "month"
    return table


def _when_largest(flows: pd.DataFrame) -> pd.Series:
    """Per column, the row label of its largest value (NaT where the column is all NaN)."""
    return flows.apply(lambda column: column.idxmax() if column.notna().any() else pd.NaT)


def largest_periods(flows: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Each ETF's largest inflow and largest outflow week or month, and their amounts (NaN where
    the ETF had no inflow, or no outflow, period); `flows` as for `flows_per_period`."""
    table = flows_per_period(flows, freq)
    name = PERIOD_NAMES[freq]
    inflows, outflows = table.where(table > 0), table.where(table < 0)
    return pd.DataFrame(
        {
            f"largest_inflow_{name}": _when_largest(inflows),
            "largest_inflow_usd": inflows.max(),
            f"largest_outflow_{name}": _when_largest(-outflows),
            "largest_outflow_usd": outflows.min(),
        }
    ).rename_axis("ticker")


def top_periods(daily: pd.DataFrame, ticker: str, freq: str, count: int = 3) -> pd.DataFrame:
    """A ticker's `count` largest inflow weeks or months, largest first, with their rank."""
    flows = flows_per_period(daily, freq).get(ticker, pd.Series(dtype="float64")).dropna()
    top = flows.nlargest(count).rename("flow_usd").reset_index()
    top.insert(0, "rank", range(1, len(top) + 1))
    return top


def event_windows(
    daily: pd.DataFrame, cohorts: Cohorts, events: pd.DataFrame, days: int
) -> pd.DataFrame:
    """Net flow per cohort in the `days` trading days before each event and from it on.

    `events` has columns event and session (the trading day the event reached the market, from
    market_calendar.align_events). Before: trading days -days..-1; after: day 0 (the session)
    to days-1. Trading days come from the NYSE calendar, not from the rows present, so a gap in
    the data leaves a window short: `missing_days` counts its trading days without a flow. A
    window reaching outside the data is NaN.
    """
    if isinstance(days, bool) or not isinstance(days, (int, np.integer)) or days < 1:
        raise InvalidParameterError(f"the event window must be a positive integer; got {days!r}")
    columns = ["number", "event", "session", "cohort", "before_usd", "after_usd", "change_usd"]
    flowing = daily.dropna(subset=["flow_usd"])
    if flowing.empty:  # no daily flows: no window to sum
        return pd.DataFrame(columns=[*columns, "missing_days"])
    sessions = market_calendar.trading_sessions(flowing["date"].min(), flowing["date"].max())
    per_day = sum_by_cohort(
        flowing.pivot_table(index="date", columns="ticker", values="flow_usd", aggfunc="sum"),
        cohorts,
    ).reindex(sessions)
    rows = []
    for number, event in enumerate(events.itertuples(index=False), start=1):
        at = sessions.searchsorted(event.session)
        if not sessions[0] <= event.session <= sessions[-1]:
            at = -len(sessions)  # an event outside the data: both windows fall outside too
        windows = {"before": (at - days, at), "after": (at, at + days)}
        for cohort in per_day.columns:
            row = {"number": number, "event": event.event, "session": event.session}
            row["cohort"] = cohort
            missing = 0
            for side, (first, stop) in windows.items():
                if not 0 <= first < stop <= len(sessions):
                    row[f"{side}_usd"] = np.nan
                    continue
                values = per_day[cohort].iloc[first:stop]
                row[f"{side}_usd"] = values.sum(min_count=1)
                missing += int(values.isna().sum())
            row["change_usd"] = row["after_usd"] - row["before_usd"]
            row["missing_days"] = missing
            rows.append(row)
    return pd.DataFrame(rows, columns=[*columns, "missing_days"])


def flows_and_previous_return(daily: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Per ETF and period: the flow as % of net assets at the start of the period, and the NAV
    return of the previous period (price return: distributions are not added back).

    A period's start is the close of the previous period's last day; the first period of each
    ETF (no previous close) and the second (no previous return) are dropped.
    """
    priced = daily.dropna(subset=["nav", "net_assets_usd"])
    _check_freq(freq)
    period = priced["date"].dt.to_period(freq).rename("period")
    grouped = priced.groupby(["ticker", period])
    table = pd.DataFrame(
        {
            "flow_usd": grouped["flow_usd"].sum(min_count=1),
            "close_nav": grouped["nav"].last(),
            "close_net_assets_usd": grouped["net_assets_usd"].last(),
        }
    )
    by_ticker = table.groupby(level="ticker")
    opening_assets = by_ticker["close_net_assets_usd"].shift()
    table["flow_pct_of_assets"] = 100 * table["flow_usd"] / opening_assets
    table["return_pct"] = 100 * by_ticker["close_nav"].pct_change()
    table["previous_return_pct"] = table.groupby(level="ticker")["return_pct"].shift()
    return table.dropna(subset=["flow_pct_of_assets", "previous_return_pct"]).reset_index()


def performance_chasing(
    daily: pd.DataFrame, cohorts: Cohorts, freq: str = WEEKLY, confidence: float = 0.95
) -> pd.DataFrame:
    """Per cohort, Pearson's correlation between an ETF's flow (% of its net assets) and its
    previous period's NAV return, pooling the cohort's ETF-periods; with a `confidence` interval
    (Fisher's z, from scipy) and the two-sided p-value. NaN where fewer than 4 pairs exist."""
    cohort_by_ticker = cohort_of(cohorts)
    pairs = flows_and_previous_return(daily[daily["ticker"].isin(list(cohort_by_ticker))], freq)
    pairs["cohort"] = pairs["ticker"].map(cohort_by_ticker)
    rows = []
    for cohort in cohorts:
        chosen = pairs[pairs["cohort"] == cohort]
        row = {"cohort": cohort, "pairs": len(chosen), "r": np.nan}
        row |= {"ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}
        if len(chosen) >= 4:
            result = stats.pearsonr(chosen["previous_return_pct"], chosen["flow_pct_of_assets"])
            interval = result.confidence_interval(confidence_level=confidence)
            row |= {"r": result.statistic, "ci_low": interval.low, "ci_high": interval.high}
            row["p_value"] = result.pvalue
        rows.append(row)
    return pd.DataFrame(rows).set_index("cohort")


def describe_correlation(row: pd.Series, confidence: float) -> str:
    """One sentence on a cohort's flow-return correlation, for the page."""
    if pd.isna(row["r"]):
        return f"too few periods ({int(row['pairs'])}) to estimate a correlation"
    excludes_zero = row["ci_low"] > 0 or row["ci_high"] < 0
    verdict = (
        "flows followed the previous period's return"
        if excludes_zero and row["r"] > 0
        else "flows moved against the previous period's return"
        if excludes_zero
        else "no evidence that flows followed the previous period's return"
    )
    return (
        f"r = {row['r']:+.2f} ({confidence:.0%} CI {row['ci_low']:+.2f} to {row['ci_high']:+.2f}, "
        f"{int(row['pairs'])} ETF-periods): {verdict}"
    )


def claim_evidence(
    daily: pd.DataFrame, fund_flows: pd.DataFrame, claims: pd.DataFrame
) -> pd.DataFrame:
    """For each qualitative flow claim, what the data say over its tickers and dates: the net
    flow, the days with inflows and outflows, the largest one-day inflow, and the two largest
    inflow months, so a reader can judge the claim.

    `resolution` says what they rest on (helpers.analysis.coverage): "daily" where the daily
    flows cover the claim's dates; "monthly" where only whole months of the canonical table do
    (the net flow and the months, no days); else why nothing can be computed (e.g. "not
    computable at monthly resolution")."""
    claimed = sorted({ticker for tickers in claims["tickers"] for ticker in tickers})
    coverage = FlowCoverage.of(daily, fund_flows, claimed)
    daily = daily[daily["ticker"].isin(claimed) & daily["flow_usd"].notna()]
    rows = []
    for claim in claims.itertuples(index=False):
        tickers = list(claim.tickers)
        resolution, why_not = coverage.resolution(tickers, claim.start, claim.end)
        row = {
            "claim_id": claim.claim_id,
            "claim": claim.claim,
            "resolution": resolution or why_not,
        }
        if resolution == "daily":
            per_day = daily[daily["ticker"].isin(tickers)].groupby("date")["flow_usd"].sum()
        else:
            per_day = pd.Series(dtype="float64", index=pd.DatetimeIndex([], name="date"))
        window = per_day[(per_day.index >= claim.start) & (per_day.index <= claim.end)]
        row["days"] = len(window)
        row["net_flow_usd"] = window.sum() if len(window) else np.nan
        row["inflow_days"] = int((window > 0).sum())
        row["outflow_days"] = int((window < 0).sum())
        row["largest_day"] = window.idxmax() if len(window) else pd.NaT
        row["largest_day_usd"] = window.max() if len(window) else np.nan
        earlier = per_day[per_day.index < claim.start]
        larger_before = earlier[earlier > row["largest_day_usd"]] if len(window) else earlier[:0]
        row["last_larger_day_before"] = larger_before.index.max() if len(larger_before) else pd.NaT
        months = window.groupby(window.index.to_period("M")).sum()
        if resolution == "monthly":
            chosen = coverage.rows(tickers, claim.start, claim.end, resolution)
            months = chosen.groupby(flow_dates(chosen).dt.to_period("M"))["flow_usd"].sum()
            row["net_flow_usd"] = months.sum()
        row["top_inflow_months"] = ", ".join(f"{month:%b %Y}" for month in months.nlargest(2).index)
        rows.append(row | {"resolution": row.pop("resolution")})  # the last column
    return pd.DataFrame(rows)
