"""Flow arithmetic against hand-computed numbers (helpers.analysis.flows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from two_funds import DATES

from helpers.analysis.flows import (
    cohort_flows,
    cumulative_cohort_flows,
    per_etf_summary,
    period_flows,
    spread_usd,
)
from helpers.ingest.daily_flows import derive_daily_flows

# --- sums --------------------------------------------------------------------------------------


def test_period_flows_sums_both_ends_included(daily):
    totals = period_flows(daily, "2025-01-03", pd.Timestamp("2025-01-06"))
    assert totals.to_dict() == {"AAA": 50.0, "BBB": -210.0}  # 110 - 60; 0 - 210


def test_period_flows_selected_tickers_with_unknown(daily):
    totals = period_flows(daily, "2025-01-01", "2025-01-31", tickers=["BBB", "ZZZ"])
    assert totals.index.tolist() == ["BBB", "ZZZ"]
    assert totals["BBB"] == -100.0  # 0 - 210 + 110
    assert np.isnan(totals["ZZZ"])


def test_cohort_flows(daily):
    cohorts = {"tech": ["AAA"], "all": ["AAA", "BBB"]}
    totals = cohort_flows(daily, cohorts, "2025-01-01", "2025-01-31")
    assert totals.to_dict() == {"tech": 245.0, "all": 145.0}  # 110-60+195; 245-100


def test_cohort_flows_missing_ticker(daily):
    cohorts = {"tech": ["AAA", "KTEC"]}
    with pytest.raises(ValueError, match="KTEC"):
        cohort_flows(daily, cohorts, "2025-01-01", "2025-01-31")
    totals = cohort_flows(daily, cohorts, "2025-01-01", "2025-01-31", missing_tickers="ignore")
    assert totals.to_dict() == {"tech": 245.0}


def test_cumulative_cohort_flows(daily):
    cohorts = {"tech": ["AAA"], "all": ["AAA", "BBB"]}
    table = cumulative_cohort_flows(daily, cohorts)
    assert table.index.tolist() == list(DATES)
    assert table["tech"].tolist() == [0.0, 110.0, 50.0, 245.0]
    assert table["all"].tolist() == [0.0, 110.0, -160.0, 145.0]
    from_jan_6 = cumulative_cohort_flows(daily, cohorts, start="2025-01-06")
    assert from_jan_6["tech"].tolist() == [-60.0, 135.0]
    assert from_jan_6["all"].tolist() == [-270.0, 35.0]


def test_per_etf_summary_details_the_chosen_etfs_and_sums_the_others(history):
    extra = history[history["ticker"] == "BBB"].assign(ticker="CCC", shares_outstanding=10)
    daily = derive_daily_flows(pd.concat([history, extra]))
    summary = per_etf_summary(daily, ["AAA", "ZZZ"])
    assert summary.index.tolist() == ["AAA", "2 other ETFs"]
    assert summary.loc["AAA"].tolist() == [DATES[1], DATES[3], 3, 245.0, 1560.0]
    # BBB: flows 0, -210, 110, last net assets 990; CCC: no change in shares, 10 x 22 = 220
    assert summary.loc["2 other ETFs"].tolist() == [DATES[1], DATES[3], 6, -100.0, 1210.0]
    assert summary["fund_days"].dtype == "int64"


def test_per_etf_summary_without_other_etfs(daily):
    summary = per_etf_summary(daily, ["AAA", "BBB"])
    assert summary.index.tolist() == ["AAA", "BBB"]
    assert summary["total_flow_usd"].tolist() == [245.0, -100.0]


def test_spread_usd():
    totals = pd.Series({"technology": 5.0e9, "broad": 1.0e9, "traditional": -3.5e9})
    assert spread_usd(totals) == 8.5e9
    assert spread_usd(totals, long="broad", short="technology") == -4.0e9


# --- partial data and the canonical table at both resolutions -------------------------------


def test_a_cohort_is_summed_over_the_funds_that_have_data_and_one_with_none_has_no_data(daily):
    cohorts = {"tech": ["AAA", "KWEB"], "trad": ["FXI", "ASHR"]}
    totals = cohort_flows(daily, cohorts, "2025-01-01", "2025-01-31", missing_tickers="ignore")
    assert totals["tech"] == 245.0
    assert np.isnan(totals["trad"])
    assert np.isnan(spread_usd(totals, long="tech", short="trad"))
    cumulative = cumulative_cohort_flows(daily, cohorts, missing_tickers="ignore")
    assert list(cumulative.columns) == ["tech"]  # no line for a cohort without data


def monthly_row(ticker: str, month: str, flow: float) -> dict:
    period = pd.Period(month, "M")
    return {
        "ticker": ticker,
        "period_start": period.start_time,
        "period_end": period.end_time.normalize(),
        "resolution": "monthly",
        "flow_usd": flow,
    }


def test_a_month_counts_in_a_period_only_when_the_whole_month_lies_in_it(canonical):
    table = pd.concat(
        [
            canonical,
            pd.DataFrame(
                [monthly_row("KWEB", "2024-12", 7.0), monthly_row("KWEB", "2025-01", 9.0)]
            ),
        ],
        ignore_index=True,
    )
    january = period_flows(table, "2025-01-01", "2025-01-31")
    assert january.to_dict() == {"AAA": 245.0, "BBB": -100.0, "KWEB": 9.0}
    part = period_flows(table, "2025-01-03", "2025-01-31")
    assert (part["AAA"], part["BBB"]) == (245.0, -100.0)
    assert np.isnan(part["KWEB"])  # January is not whole from the 3rd
    cumulative = cumulative_cohort_flows(table, {"web": ["KWEB"]}, start="2025-01-01")
    assert cumulative["web"].to_dict() == {
        pd.Timestamp("2025-01-03"): 0.0,
        pd.Timestamp("2025-01-06"): 0.0,
        pd.Timestamp("2025-01-07"): 0.0,
        pd.Timestamp("2025-01-31"): 9.0,  # a month counts on its last day
    }
