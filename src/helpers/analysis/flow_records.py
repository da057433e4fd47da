"""flows_summary.json: the flow tables as JSON-ready records, and the tables read back from them.

Dates are written as ISO text (YYYY-MM-DD) and missing values as None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from helpers.analysis.flows import cohort_flows, iso_day, period_flows, rows_in_period, spread_usd
from helpers.ingest.fund_flows import sources_by_ticker


def json_number(value: float) -> float | None:
    """A float for JSON: None where it is missing (NaN)."""
    return None if pd.isna(value) else float(value)


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


def period_summary(
    fund_flows: pd.DataFrame, cohorts: Mapping[str, Sequence[str]], start, end
) -> dict:
    """JSON-ready flows over a period, from the canonical flows table (helpers.ingest.fund_flows):
    per cohort ticker that has flows in it (`ytd_usd`), per cohort (None for a cohort none of
    whose funds has: no data), the technology spread (None without both cohorts), the cohort
    tickers without data (`missing`), what each cohort ticker's figures rest on (`sources`, see
    sources_by_ticker), and how many other ETFs had flows and their sum (`other_etfs`, so that
    pages stay readable with thousands of ETFs)."""
    members = list(dict.fromkeys(t for tickers in cohorts.values() for t in tickers))
    per_ticker = period_flows(fund_flows, start, end).dropna()
    in_cohort = per_ticker.index.isin(members)
    per_cohort = cohort_flows(fund_flows, cohorts, start, end, missing_tickers="ignore")
    others = per_ticker[~in_cohort]
    in_period = rows_in_period(fund_flows[fund_flows["ticker"].isin(members)], start, end)
    return {
        "period": {"start": iso_day(start), "end": iso_day(end)},
        "ytd_usd": {t: float(v) for t, v in per_ticker[in_cohort].items()},
        "cohorts_usd": {c: json_number(v) for c, v in per_cohort.items()},
        "spread_usd": json_number(spread_usd(per_cohort)),
        "missing": [t for t in members if t not in per_ticker.index],
        "sources": sources_by_ticker(in_period),
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
