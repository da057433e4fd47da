"""Sentences and tables on the fund flows a page shows: the cohorts' flows and their spread, what
the flows rest on per ETF (sources and resolutions), the cohort funds without data, the funds
that charts needing daily data can show, the cross-check against N-PORT and the restatements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from helpers.present.show import usd_bn


def sources_table(described: Mapping[str, dict]) -> pd.DataFrame:
    """What each ETF's flows rest on, for a page: one row per ETF and source, with its
    resolution, the days it covers and its address; from the per-ticker description of
    helpers.ingest.fund_flows.sources_by_ticker (as flows_summary.json keeps it)."""
    rows = [
        {
            "ETF": ticker,
            "source": part["source"],
            "resolution": part["resolution"],
            "from": pd.Timestamp(part["first_day"]),
            "to": pd.Timestamp(part["last_day"]),
            "address": part["address"],
        }
        for ticker, sources in described.items()
        for part in sources["parts"]
    ]
    columns = ["ETF", "source", "resolution", "from", "to", "address"]
    return pd.DataFrame(rows, columns=columns).set_index(["ETF", "source"])


def _listed(tickers: Sequence[str]) -> str:
    return ", ".join(tickers)


def describe_missing(missing: Sequence[str], cohorts: Mapping[str, Sequence[str]]) -> str:
    """A sentence naming the cohort funds without data and the cohorts left with none ("" when
    every cohort fund has data)."""
    if not missing:
        return ""
    empty = [name for name, members in cohorts.items() if set(members) <= set(missing)]
    text = (
        f"No fund data for {_listed(missing)}: each cohort is summed over the funds that have data"
    )
    if empty:
        text += f"; {_listed(empty)}: no data"
    return text + "."


def funds_with_daily_flows(daily: pd.DataFrame, tickers: Sequence[str]) -> list[str]:
    """The `tickers` that have at least one daily flow in `daily`, in the order given."""
    flowing = set(daily.loc[daily["flow_usd"].notna(), "ticker"])
    return [ticker for ticker in tickers if ticker in flowing]


def describe_daily_coverage(with_daily: Sequence[str], tickers: Sequence[str]) -> str:
    """A sentence for charts and tables that need daily flows: which of `tickers` they show
    and which they cannot ("" when every one has daily flows)."""
    without = [ticker for ticker in tickers if ticker not in with_daily]
    if not without:
        return ""
    if not with_daily:
        return f"No fund has daily flows here ({_listed(without)}): this needs daily data."
    return (
        f"Daily flows only for {_listed(with_daily)}: shown here; not for {_listed(without)} "
        "(monthly data or none)."
    )


def describe_fund_data(
    daily: pd.DataFrame, fund_flows: pd.DataFrame, nav_basis: str, shares_lag_days: int
) -> str:
    """The cleaning page's first sentence: how many ETFs, from when to when, how many fund-days
    with a derived daily flow and how many N-PORT fund-months."""
    with_flow = daily[daily["flow_usd"].notna()]
    monthly = fund_flows[fund_flows["resolution"] == "monthly"]
    parts = []
    if len(daily):
        parts.append(
            f"The fund data hold **{daily['ticker'].nunique():,} ETFs** from "
            f"**{daily['date'].min():%Y-%m-%d}** to **{daily['date'].max():%Y-%m-%d}**: "
            f"{len(with_flow):,} fund-days with a derived flow, valued at NAV basis "
            f"`{nav_basis}` with a shares lag of {shares_lag_days} day(s)."
        )
    if len(monthly):
        parts.append(
            f"{'They also hold' if parts else 'The fund data hold'} **{len(monthly):,} "
            f"fund-months** of SEC N-PORT flows for {monthly['ticker'].nunique():,} ETF(s), "
            f"from {monthly['period_start'].min():%Y-%m-%d} to "
            f"{monthly['period_end'].max():%Y-%m-%d}, used where no daily data cover the month."
        )
    return " ".join(parts)


def describe_crosscheck(crosscheck: pd.DataFrame, tolerance_pct: float) -> str:
    """A sentence on the daily flows checked against N-PORT (helpers.ingest.crosscheck)."""
    if crosscheck.empty:
        return "No fund has both daily flows and N-PORT months: there is nothing to check."
    compared = crosscheck[crosscheck["difference_usd"].notna()]
    flagged = crosscheck[crosscheck["flagged"]]
    text = (
        f"{len(crosscheck):,} fund-month(s) have both daily flows and an N-PORT month; "
        f"{len(compared):,} are covered day by day and compared"
    )
    if len(compared):
        text += (
            f": **{len(compared) - len(flagged):,} agree within {tolerance_pct:g}%**, "
            f"{len(flagged):,} differ by more"
        )
        if len(flagged):
            months = ", ".join(f"{r.ticker} {r.month:%b %Y}" for r in flagged.itertuples())
            text += f" ({months})"
    return text + "."


def describe_restatements(restatements: pd.DataFrame) -> str:
    """A sentence on the values a later download or an amended filing changed."""
    if restatements.empty:
        return "No later download or amended filing changed a value kept earlier."
    funds = ", ".join(sorted(set(restatements["ticker"])))
    return (
        f"**{len(restatements):,} value(s)** were changed by a later download or an amended "
        f"filing ({funds}): the later one counts; both are listed below."
    )


def describe_spread(
    by_cohort: pd.Series,
    cohorts: Mapping[str, Sequence[str]],
    spread: float | None,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> str:
    """The flows page's first sentence: the technology and the traditional cohorts' flows over
    the period and their spread (a cohort without data says so)."""

    def moved(cohort: str, verb: str) -> str:
        value = by_cohort.get(cohort)
        return "had no data" if value is None or pd.isna(value) else f"{verb} **{usd_bn(value)}**"

    text = (
        f"From **{start:%Y-%m-%d}** to **{end:%Y-%m-%d}** the technology cohort "
        f"({_listed(cohorts['technology'])}) {moved('technology', 'took in')} while the "
        f"traditional cohort ({_listed(cohorts['traditional'])}) {moved('traditional', 'saw')}"
    )
    if spread is None or pd.isna(spread):
        return text + ": no spread without both."
    return text + f": a spread of **{usd_bn(spread)}**."


def describe_headline_flows(flows: Mapping, sample: bool, others: Mapping) -> str:
    """The summary page's sentence on the flows of headline.json (`flows`): the technology and
    traditional cohorts, their spread, each cohort ETF, and the ETFs outside the cohorts
    (`others`: count and flow_usd); a cohort without data says so."""
    cohorts = flows["cohorts_usd"]

    def amount(cohort: str, verb: str) -> str:
        value = cohorts.get(cohort)
        return "had no data" if value is None else f"{verb}{usd_bn(value)}"

    spread = flows["spread_usd"]
    text = (
        f"**Flows, {flows['period']['start']} to {flows['period']['end']}**"
        + (" (sample data, synthetic)" if sample else "")
        + f": the technology ETFs {amount('technology', 'took in ')}, the traditional ones "
        + amount("traditional", "")
        + (", no spread without both. " if spread is None else f", a spread of {usd_bn(spread)}. ")
        + " ".join(f"{ticker} {usd_bn(value)}." for ticker, value in flows["ytd_usd"].items())
    )
    if others["count"]:
        text += f" The {others['count']:,} ETFs outside the cohorts: {usd_bn(others['flow_usd'])}."
    return text
