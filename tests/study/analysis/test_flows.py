"""Flow arithmetic against hand-computed numbers (helpers.flows)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers.analysis.flows import (
    cohort_flows,
    cumulative_cohort_flows,
    cumulative_from_records,
    cumulative_records,
    derive_daily_flows,
    flows_by_period,
    per_etf_summary,
    period_flows,
    period_summary,
    reconcile_reported_flows,
    shifted_within_ticker,
    sorted_by_ticker_and_date,
    spread_usd,
)

DATES = pd.to_datetime(["2025-01-02", "2025-01-03", "2025-01-06", "2025-01-07"])
NAN = np.nan


@pytest.fixture
def history() -> pd.DataFrame:
    """Two funds over four trading days, rows deliberately out of order, with a pass-through column.

    AAA: NAV 10, 11, 12, 13; shares 100, 110, 105, 120.
    BBB: NAV 20, 19, 21, 22; shares  50,  50,  40,  45.
    """
    table = pd.DataFrame(
        {
            "date": list(DATES) * 2,
            "ticker": ["AAA"] * 4 + ["BBB"] * 4,
            "nav": [10.0, 11.0, 12.0, 13.0, 20.0, 19.0, 21.0, 22.0],
            "shares_outstanding": [100, 110, 105, 120, 50, 50, 40, 45],
            "source": ["test"] * 8,
        }
    )
    return table.iloc[[5, 2, 7, 0, 3, 6, 1, 4]].reset_index(drop=True)


def flows_of(daily: pd.DataFrame, ticker: str) -> list[float]:
    return daily.loc[daily["ticker"] == ticker, "flow_usd"].tolist()


def assert_flows(actual: list[float], expected: list[float]) -> None:
    np.testing.assert_allclose(np.array(actual, dtype=float), expected, equal_nan=True)


# --- derive_daily_flows ------------------------------------------------------------------------


def test_today_nav_basis(history):
    daily = derive_daily_flows(history)
    # AAA: +10 x 11, -5 x 12, +15 x 13; BBB: 0 x 19, -10 x 21, +5 x 22
    assert_flows(flows_of(daily, "AAA"), [NAN, 110.0, -60.0, 195.0])
    assert_flows(flows_of(daily, "BBB"), [NAN, 0.0, -210.0, 110.0])


def test_average_nav_basis(history):
    daily = derive_daily_flows(history, nav_basis="average")
    # AAA: +10 x 10.5, -5 x 11.5, +15 x 12.5; BBB: 0 x 19.5, -10 x 20, +5 x 21.5
    assert_flows(flows_of(daily, "AAA"), [NAN, 105.0, -57.5, 187.5])
    assert_flows(flows_of(daily, "BBB"), [NAN, 0.0, -200.0, 107.5])


def test_shares_lagged_one_day(history):
    daily = derive_daily_flows(history, shares_lag_days=1)
    # shares re-dated one day back: AAA 110, 105, 120, (unknown); BBB 50, 40, 45, (unknown)
    # AAA: -5 x 11, +15 x 12; BBB: -10 x 19, +5 x 21; the last day has no shares yet
    assert_flows(flows_of(daily, "AAA"), [NAN, -55.0, 180.0, NAN])
    assert_flows(flows_of(daily, "BBB"), [NAN, -190.0, 105.0, NAN])
    aaa = daily[daily["ticker"] == "AAA"]
    assert_flows(aaa["shares_outstanding"].tolist(), [110.0, 105.0, 120.0, NAN])


def test_sorted_with_net_assets_and_pass_through(history):
    daily = derive_daily_flows(history)
    assert daily["ticker"].tolist() == ["AAA"] * 4 + ["BBB"] * 4
    assert daily["date"].tolist() == list(DATES) * 2
    assert daily["net_assets_usd"].tolist() == [
        1000.0, 1210.0, 1260.0, 1560.0, 1000.0, 950.0, 840.0, 990.0,
    ]  # fmt: skip
    assert (daily["source"] == "test").all()
    assert len(daily) == 8  # the first day of each fund is kept


def test_first_day_of_each_ticker_has_no_flow(history):
    daily = derive_daily_flows(history)
    first_days = daily[daily["date"] == DATES[0]]
    assert len(first_days) == 2
    assert first_days["flow_usd"].isna().all()
    assert daily["flow_usd"].isna().sum() == 2


def test_input_is_not_modified(history):
    before = history.copy()
    derive_daily_flows(history, shares_lag_days=1)
    pd.testing.assert_frame_equal(history, before)


def test_invalid_nav_basis_names_the_allowed_values(history):
    with pytest.raises(ValueError, match="'today', 'average'.*'close'"):
        derive_daily_flows(history, nav_basis="close")


def test_negative_lag_is_refused(history):
    with pytest.raises(ValueError, match="shares_lag_days"):
        derive_daily_flows(history, shares_lag_days=-1)


def test_rows_in_order_are_neither_sorted_nor_copied(history):
    in_order = history.sort_values(["ticker", "date"]).set_axis(range(10, 18))
    result = sorted_by_ticker_and_date(in_order)
    assert result.index.tolist() == list(range(8))
    assert np.shares_memory(result["nav"].to_numpy(), in_order["nav"].to_numpy())


def test_rows_out_of_order_are_sorted_stably(history):
    result = sorted_by_ticker_and_date(history)
    assert result["ticker"].tolist() == ["AAA"] * 4 + ["BBB"] * 4
    assert result["date"].tolist() == list(DATES) * 2
    repeated = pd.concat([history.assign(nav=1.0), history.assign(nav=2.0)])
    assert sorted_by_ticker_and_date(repeated)["nav"].tolist() == [1.0, 2.0] * 8


def test_shifted_within_ticker_stops_at_each_ticker(history):
    daily = sorted_by_ticker_and_date(history)
    assert_flows(shifted_within_ticker(daily, "nav").tolist(), [NAN, 10, 11, 12, NAN, 20, 19, 21])
    later = shifted_within_ticker(daily, "nav", -2).tolist()
    assert_flows(later, [12, 13, NAN, NAN, 21, 22, NAN, NAN])


# --- sums --------------------------------------------------------------------------------------


@pytest.fixture
def daily(history) -> pd.DataFrame:
    return derive_daily_flows(history)


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


def test_flows_by_week_ending_friday(daily):
    table = flows_by_period(daily, "W-FRI")
    # week Sat 2024-12-28 .. Fri 2025-01-03, week Sat 2025-01-04 .. Fri 2025-01-10
    assert table.index.tolist() == [pd.Timestamp("2024-12-28"), pd.Timestamp("2025-01-04")]
    assert table["AAA"].tolist() == [110.0, 135.0]
    assert table["BBB"].tolist() == [0.0, -100.0]


def test_flows_by_month(daily):
    table = flows_by_period(daily, "MS")
    assert table.index.tolist() == [pd.Timestamp("2025-01-01")]
    assert table.loc["2025-01-01"].to_dict() == {"AAA": 245.0, "BBB": -100.0}


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


def test_period_summary_details_cohort_tickers_and_counts_the_others(daily):
    summary = period_summary(daily, {"technology": ["AAA"], "traditional": []}, *DATES[[0, 3]])
    assert summary["ytd_usd"] == {"AAA": 245.0}
    assert summary["cohorts_usd"] == {"technology": 245.0, "traditional": 0.0}
    assert summary["spread_usd"] == 245.0
    assert summary["other_etfs"] == {"count": 1, "flow_usd": -100.0}
    assert summary["period"] == {"start": "2025-01-02", "end": "2025-01-07"}


def test_cumulative_records_read_back_equal(daily):
    cumulative = cumulative_cohort_flows(daily, {"tech": ["AAA"], "all": ["AAA", "BBB"]})
    back = cumulative_from_records(json.loads(json.dumps(cumulative_records(cumulative))))
    pd.testing.assert_frame_equal(back, cumulative, check_index_type=False)


def test_spread_usd():
    totals = pd.Series({"technology": 5.0e9, "broad": 1.0e9, "traditional": -3.5e9})
    assert spread_usd(totals) == 8.5e9
    assert spread_usd(totals, long="broad", short="technology") == -4.0e9


# --- reconcile_reported_flows ------------------------------------------------------------------


def figure(figure_id, tickers, start, end, amount, bound="point"):
    return {
        "figure_id": figure_id,
        "subject": " + ".join(tickers) or "all funds",
        "tickers": tickers,
        "start": pd.Timestamp(start),
        "end": pd.Timestamp(end),
        "amount_usd": amount,
        "bound": bound,
        "verified": True,
    }


@pytest.fixture
def reconciled(daily) -> pd.DataFrame:
    reported = pd.DataFrame(
        [
            figure("point_within", ("AAA",), "2025-01-03", "2025-01-07", 244.0),
            figure("point_outside", ["AAA", "BBB"], "2025-01-03", "2025-01-07", 150.0),
            figure("at_most_holds", ("BBB",), "2025-01-06", "2025-01-06", -200.0, "at_most"),
            figure("at_most_fails", ("BBB",), "2025-01-07", "2025-01-07", 100.0, "at_most"),
            figure("at_least_holds", ("AAA",), "2025-01-07", "2025-01-07", 150.0, "at_least"),
            figure("at_least_fails", ("BBB",), "2025-01-03", "2025-01-06", -100.0, "at_least"),
            figure("no_tickers", (), "2025-01-03", "2025-01-07", -1.0),
            figure("unknown_ticker", ("AAA", "ZZZ"), "2025-01-03", "2025-01-07", 1.0),
            figure("starts_on_first_day", ("AAA",), "2025-01-02", "2025-01-07", 245.0),
            figure("ends_after_data", ("AAA",), "2025-01-03", "2025-01-08", 245.0),
            figure("weekend_start", ("AAA",), "2025-01-04", "2025-01-07", 135.0),
        ]
    )
    return reconcile_reported_flows(daily, reported, tolerance_pct=1.0).set_index("figure_id")


def test_reconcile_points(reconciled):
    within = reconciled.loc["point_within"]
    assert within["computed_usd"] == 245.0
    assert within["difference_usd"] == 1.0
    assert within["difference_pct"] == pytest.approx(100 / 244)
    assert within["status"] == "within tolerance"
    assert bool(reconciled.loc["point_within", "holds"]) is True  # bool(pd.NA) would raise

    outside = reconciled.loc["point_outside"]
    assert outside["computed_usd"] == 145.0
    assert outside["difference_pct"] == pytest.approx(-5 / 150 * 100)
    assert outside["status"] == "outside tolerance"
    assert bool(reconciled.loc["point_outside", "holds"]) is False

    assert reconciled.loc["weekend_start", "computed_usd"] == 135.0
    assert reconciled.loc["weekend_start", "status"] == "within tolerance"


def test_reconcile_bounds(reconciled):
    expected = {
        "at_most_holds": (-210.0, "bound holds", True),
        "at_most_fails": (110.0, "bound fails", False),
        "at_least_holds": (195.0, "bound holds", True),
        "at_least_fails": (-210.0, "bound fails", False),
    }
    for figure_id, (computed, status, holds) in expected.items():
        row = reconciled.loc[figure_id]
        assert row["computed_usd"] == computed, figure_id
        assert row["status"] == status, figure_id
        assert bool(reconciled.loc[figure_id, "holds"]) is holds, figure_id


OUTSIDE_DATA = "not computable: period outside data (data from 2025-01-02 to 2025-01-07)"


def test_reconcile_not_computable(reconciled):
    expected = {
        "no_tickers": "not computable: tickers not listed",
        "unknown_ticker": "not computable: ticker(s) not in data: ZZZ",
        "starts_on_first_day": OUTSIDE_DATA,
        "ends_after_data": OUTSIDE_DATA,
    }
    for figure_id, status in expected.items():
        row = reconciled.loc[figure_id]
        assert row["status"] == status, figure_id
        assert pd.isna(row["holds"]), figure_id
        assert np.isnan(row["computed_usd"]), figure_id


def test_reconcile_keeps_input_columns(reconciled):
    assert {"subject", "tickers", "start", "end", "amount_usd", "bound", "verified"} <= set(
        reconciled.columns
    )
    assert str(reconciled["holds"].dtype) == "boolean"
    assert len(reconciled) == 11


def test_reconcile_refuses_unknown_bound(daily):
    reported = pd.DataFrame([figure("x", ("AAA",), "2025-01-03", "2025-01-07", 1.0, "about")])
    with pytest.raises(ValueError, match="about"):
        reconcile_reported_flows(daily, reported)
