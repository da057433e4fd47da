"""The flows study (helpers.analysis.flow_study) against numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from two_funds import canonical_of

from helpers.analysis import flow_study
from helpers.errors import InvalidParameterError
from helpers.ingest.daily_flows import derive_daily_flows
from helpers.ingest.load import read_sample_fund_history
from helpers.paths import DEFAULT_LAYOUT

NAN = np.nan
COHORTS = {"tech": ["AAA"], "trad": ["BBB"], "both": ["AAA", "BBB"]}


@pytest.fixture
def daily() -> pd.DataFrame:
    """AAA: NAV 10, 11, 12, 13, shares 100, 110, 105, 120 -> flows -, +110, -60, +195.
    BBB: NAV 20, 19, 21, 22, shares 50, 50, 40, 45 -> flows -, 0, -210, +110.
    Days: Thu 2, Fri 3, Mon 6, Tue 7 January 2025."""
    days = pd.to_datetime(["2025-01-02", "2025-01-03", "2025-01-06", "2025-01-07"])
    history = pd.DataFrame(
        {
            "date": list(days) * 2,
            "ticker": ["AAA"] * 4 + ["BBB"] * 4,
            "nav": [10.0, 11.0, 12.0, 13.0, 20.0, 19.0, 21.0, 22.0],
            "shares_outstanding": [100.0, 110, 105, 120, 50, 50, 40, 45],
        }
    )
    return derive_daily_flows(history)


def test_organic_growth_from_the_close_before_the_period(daily):
    growth = flow_study.organic_growth(daily, daily, COHORTS, "2025-01-03", "2025-01-07")
    # Start: net assets on 2 January, 10 x 100 and 20 x 50. AAA +245 on 1000; BBB -100 on 1000.
    assert growth["start_net_assets_usd"].to_dict() == {
        "AAA": 1000.0, "BBB": 1000.0, "tech": 1000.0, "trad": 1000.0, "both": 2000.0,
    }  # fmt: skip
    assert growth["organic_growth_pct"].to_dict() == pytest.approx(
        {"AAA": 24.5, "BBB": -10.0, "tech": 24.5, "trad": -10.0, "both": 7.25}
    )
    assert growth["kind"].tolist() == ["ETF", "ETF", "cohort", "cohort", "cohort"]


def test_organic_growth_of_a_fund_starting_inside_the_period(daily):
    growth = flow_study.organic_growth(daily, daily, COHORTS, "2025-01-01", "2025-01-07")
    assert growth.loc["AAA", "start_date"] == pd.Timestamp("2025-01-02")
    assert growth.loc["AAA", "organic_growth_pct"] == pytest.approx(24.5)


def test_sums_per_week_ending_friday_start_on_saturday(daily):
    table = flow_study._sums_per_period(daily, "W-FRI")
    # week Sat 2024-12-28 .. Fri 2025-01-03, week Sat 2025-01-04 .. Fri 2025-01-10
    assert table.index.tolist() == [pd.Timestamp("2024-12-28"), pd.Timestamp("2025-01-04")]
    assert table["AAA"].tolist() == [110.0, 135.0]
    assert table["BBB"].tolist() == [0.0, -100.0]


def test_sums_per_month_start_on_the_first(daily):
    table = flow_study._sums_per_period(daily, "MS")
    assert table.index.tolist() == [pd.Timestamp("2025-01-01")]
    assert table.loc["2025-01-01"].to_dict() == {"AAA": 245.0, "BBB": -100.0}


def test_weeks_end_on_friday_and_months_start_on_the_first(daily):
    weekly = flow_study.flows_per_period(daily, flow_study.WEEKLY)
    assert weekly.index.tolist() == [pd.Timestamp("2025-01-03"), pd.Timestamp("2025-01-10")]
    assert weekly["AAA"].tolist() == [110.0, 135.0]
    assert weekly["BBB"].tolist() == [0.0, -100.0]
    monthly = flow_study.flows_per_period(daily, flow_study.MONTHLY)
    assert monthly.index.tolist() == [pd.Timestamp("2025-01-01")]
    assert monthly.loc["2025-01-01"].to_dict() == {"AAA": 245.0, "BBB": -100.0}
    with pytest.raises(InvalidParameterError, match="freq"):
        flow_study.flows_per_period(daily, "D")


def test_largest_weeks_and_none_where_there_was_no_outflow(daily):
    largest = flow_study.largest_periods(daily, flow_study.WEEKLY)
    aaa, bbb = largest.loc["AAA"], largest.loc["BBB"]
    assert aaa["largest_inflow_week"] == pd.Timestamp("2025-01-10")
    assert aaa["largest_inflow_usd"] == 135.0
    assert pd.isna(aaa["largest_outflow_week"]) and pd.isna(aaa["largest_outflow_usd"])
    assert pd.isna(bbb["largest_inflow_week"])  # a week of 0 is no inflow
    assert bbb["largest_outflow_week"] == pd.Timestamp("2025-01-10")
    assert bbb["largest_outflow_usd"] == -100.0


def test_top_periods_ranks_inflow_weeks(daily):
    top = flow_study.top_periods(daily, "AAA", flow_study.WEEKLY, count=2)
    assert top["rank"].tolist() == [1, 2]
    assert top["flow_usd"].tolist() == [135.0, 110.0]


def ten_days() -> pd.DataFrame:
    """AAA and BBB on the ten trading days 2 to 15 January 2025: AAA's flow on the i-th day is i,
    BBB's is -10 x i."""
    days = pd.to_datetime(
        ["2025-01-02", "2025-01-03", "2025-01-06", "2025-01-07", "2025-01-08",
         "2025-01-10", "2025-01-13", "2025-01-14", "2025-01-15", "2025-01-16"]
    )  # fmt: skip
    flows = np.arange(1, 11, dtype=float)
    return pd.DataFrame(
        {
            "date": list(days) * 2,
            "ticker": ["AAA"] * 10 + ["BBB"] * 10,
            "flow_usd": list(flows) + list(-10 * flows),
        }
    )


def test_event_windows_count_trading_days_around_the_event():
    events = pd.DataFrame(
        {
            "event": ["on a holiday", "too early", "before the data", "after the data"],
            # 9 January (a holiday) is aligned to 10 January, the 6th trading day.
            "session": pd.to_datetime(["2025-01-10", "2025-01-03", "2024-12-31", "2025-01-17"]),
        }
    )
    windows = flow_study.event_windows(ten_days(), COHORTS, events, days=2)
    first = windows[windows["number"] == 1].set_index("cohort")
    # before: days 4 and 5 (4 + 5); after: days 6 and 7 (6 + 7)
    assert first.loc["tech", ["before_usd", "after_usd", "change_usd"]].tolist() == [9, 13, 4]
    assert first.loc["trad", ["before_usd", "after_usd"]].tolist() == [-90, -130]
    assert first.loc["both", "after_usd"] == 13 - 130
    second = windows[windows["number"] == 2].set_index("cohort")
    assert second["before_usd"].isna().all()  # day 2 has only one trading day before it
    assert second.loc["tech", "after_usd"] == 2 + 3
    outside = windows[windows["number"] > 2]
    assert outside[["before_usd", "after_usd"]].isna().all().all()


def test_event_windows_report_missing_days():
    data = ten_days()
    data = data[data["date"] != pd.Timestamp("2025-01-08")]  # a gap before the event
    events = pd.DataFrame({"event": ["e"], "session": pd.to_datetime(["2025-01-10"])})
    windows = flow_study.event_windows(data, {"tech": ["AAA"]}, events, days=2).iloc[0]
    assert windows["before_usd"] == 4 and windows["missing_days"] == 1


@pytest.mark.parametrize("days", [0, -1, 2.5, True])
def test_event_window_must_be_a_positive_integer(days):
    with pytest.raises(InvalidParameterError, match="event window"):
        flow_study.event_windows(ten_days(), COHORTS, pd.DataFrame(), days)


def test_flows_against_previous_return_by_hand():
    """One row per Friday: NAV 10, 11, 9.9, 10.89; shares 100, 110, 121, 110.
    Returns +10%, -10%, +10%; flows 110, 108.9, -119.79 on opening net assets 1000, 1210, 1197.9,
    that is +11%, +9%, -10%. The first week has no flow, the second no previous return."""
    history = pd.DataFrame(
        {
            "date": pd.to_datetime(["2025-01-03", "2025-01-10", "2025-01-17", "2025-01-24"]),
            "ticker": "AAA",
            "nav": [10.0, 11.0, 9.9, 10.89],
            "shares_outstanding": [100.0, 110, 121, 110],
        }
    )
    pairs = flow_study.flows_and_previous_return(derive_daily_flows(history), flow_study.WEEKLY)
    assert pairs["flow_pct_of_assets"].tolist() == pytest.approx([9.0, -10.0])
    assert pairs["previous_return_pct"].tolist() == pytest.approx([10.0, -10.0])


def test_performance_chasing_matches_an_independent_fisher_interval():
    daily = derive_daily_flows(read_sample_fund_history(DEFAULT_LAYOUT.raw_dir))
    cohorts = {"technology": ["KWEB", "CQQQ"], "traditional": ["FXI", "ASHR"]}
    result = flow_study.performance_chasing(daily, cohorts, flow_study.MONTHLY, confidence=0.9)
    pairs = flow_study.flows_and_previous_return(daily, flow_study.MONTHLY)
    for cohort, members in cohorts.items():
        chosen = pairs[pairs["ticker"].isin(members)]
        r = np.corrcoef(chosen["previous_return_pct"], chosen["flow_pct_of_assets"])[0, 1]
        half_width = norm.ppf(0.95) / np.sqrt(len(chosen) - 3)
        row = result.loc[cohort]
        assert row["pairs"] == len(chosen)
        assert row["r"] == pytest.approx(r)
        assert row["ci_low"] == pytest.approx(np.tanh(np.arctanh(r) - half_width))
        assert row["ci_high"] == pytest.approx(np.tanh(np.arctanh(r) + half_width))


def test_performance_chasing_needs_four_pairs(daily):
    result = flow_study.performance_chasing(daily, COHORTS, flow_study.WEEKLY)
    assert result["r"].isna().all()
    assert "too few periods" in flow_study.describe_correlation(result.loc["tech"], 0.95)


def test_describe_correlation_verdicts():
    row = pd.Series({"r": 0.4, "ci_low": 0.1, "ci_high": 0.6, "pairs": 50})
    assert "followed the previous period's return" in flow_study.describe_correlation(row, 0.95)
    row = pd.Series({"r": 0.1, "ci_low": -0.1, "ci_high": 0.3, "pairs": 50})
    assert flow_study.describe_correlation(row, 0.95).endswith(
        "no evidence that flows followed the previous period's return"
    )


def test_claim_evidence_by_hand(daily):
    claims = pd.DataFrame(
        {
            "claim_id": ["c1"],
            "claim": ["AAA had its biggest day"],
            "tickers": [("AAA",)],
            "start": pd.to_datetime(["2025-01-06"]),
            "end": pd.to_datetime(["2025-01-07"]),
        }
    )
    row = flow_study.claim_evidence(daily, canonical_of(daily), claims).iloc[0]
    assert row["days"] == 2 and row["net_flow_usd"] == 135.0
    assert (row["inflow_days"], row["outflow_days"]) == (1, 1)
    assert row["largest_day"] == pd.Timestamp("2025-01-07") and row["largest_day_usd"] == 195.0
    assert pd.isna(row["last_larger_day_before"])  # 3 January's +110 is smaller
    assert row["top_inflow_months"] == "Jan 2025"
    assert row["resolution"] == "daily"


def test_organic_growth_of_a_fund_known_by_its_n_port_months(daily):
    """KWEB: N-PORT for December (net assets 1,000 at its end) and January (+50): 5% growth in
    January; a week cannot be summed from months."""
    months = pd.DataFrame(
        {
            "ticker": "KWEB",
            "period_start": pd.to_datetime(["2024-12-01", "2025-01-01"]),
            "period_end": pd.to_datetime(["2024-12-31", "2025-01-31"]),
            "resolution": "monthly",
            "flow_usd": [-20.0, 50.0],
            "net_assets_usd": [1_000.0, NAN],
        }
    )
    net_assets = flow_study.net_assets_points(daily, months)
    assert net_assets[net_assets["ticker"] == "KWEB"]["date"].tolist() == [
        pd.Timestamp("2024-12-31")
    ]
    growth = flow_study.organic_growth(
        months, net_assets, {"web": ["KWEB"]}, "2025-01-01", "2025-01-31"
    )
    assert growth.loc["KWEB", "start_net_assets_usd"] == 1_000.0
    assert growth.loc["KWEB", "organic_growth_pct"] == pytest.approx(5.0)
    assert flow_study.flows_per_period(months, flow_study.MONTHLY)["KWEB"].tolist() == [-20.0, 50.0]
    with pytest.raises(ValueError, match="monthly flows cannot be summed per week"):
        flow_study.flows_per_period(months, flow_study.WEEKLY)


def test_no_event_window_without_daily_flows(daily):
    events = pd.DataFrame({"event": ["e"], "session": [pd.Timestamp("2025-01-06")]})
    windows = flow_study.event_windows(daily.iloc[:0], COHORTS, events, 2)
    assert windows.empty and "missing_days" in windows.columns


def test_organic_growth_of_a_cohort_counts_the_funds_that_have_data(daily):
    growth = flow_study.organic_growth(
        daily, daily, {"partial": ["AAA", "KWEB"]}, "2025-01-03", "2025-01-07"
    )
    assert growth.loc["partial", "start_net_assets_usd"] == 1000.0  # AAA's alone
    assert growth.loc["partial", "organic_growth_pct"] == pytest.approx(24.5)
