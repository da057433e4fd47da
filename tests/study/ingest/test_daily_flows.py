"""Daily net flows from NAV and shares outstanding (helpers.ingest.daily_flows), against
hand-computed numbers on two funds (tests/support/two_funds.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from two_funds import DATES, NAN, assert_flows, flows_of

from helpers.ingest.daily_flows import derive_daily_flows

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
