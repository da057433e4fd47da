"""Data-quality flags (helpers.ingest.quality) on hand-made fund days, one fault each."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.errors import InvalidParameterError
from helpers.ingest import quality
from helpers.ingest.daily_flows import derive_daily_flows

# Trading days of January 2025 (9 January was a market holiday).
DAYS = ["2025-01-02", "2025-01-03", "2025-01-06", "2025-01-07", "2025-01-08", "2025-01-10"]


def history(navs, shares, days=DAYS, ticker="AAA") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.to_datetime(days[: len(navs)]),
            "ticker": ticker,
            "nav": [float(v) for v in navs],
            "shares_outstanding": [float(v) for v in shares],
        }
    )


def flagged(table: pd.DataFrame, **thresholds) -> pd.DataFrame:
    return quality.add_quality_flags(derive_daily_flows(table), **thresholds)


def flag(table: pd.DataFrame, name: str, **thresholds) -> list[bool]:
    return flagged(table, **thresholds)[f"flag_{name}"].tolist()


def test_clean_data_carry_no_flag():
    daily = flagged(history([10, 10.1, 10.2, 10.1, 10.3], [100, 101, 102, 101, 103]))
    assert not daily[[f"flag_{n}" for n in quality.FLAGS]].any().any()
    assert quality.flagged_rows(daily).empty


def test_large_flow_against_previous_net_assets():
    # Net assets 1000 on day 1; day 2 flow 30 x 10 = 300 (30%); day 3 flow 10 x 10 = 100 (7.7%).
    table = history([10, 10, 10.5], [100, 130, 140])
    assert flag(table, "large_flow", large_flow_pct=20.0) == [False, True, False]
    assert flag(table, "large_flow", large_flow_pct=35.0) == [False, False, False]


def test_two_for_one_split_is_flagged_as_a_split():
    # Shares double and NAV halves: net assets 1000 -> 1002, a split, not a 1000-share inflow.
    table = history([10, 5.01, 5.02], [100, 200, 200])
    assert flag(table, "split") == [False, True, False]
    assert flag(table, "large_flow") == [False, True, False]


def test_real_doubling_with_steady_nav_is_not_a_split():
    assert flag(history([10, 10.1], [100, 200]), "split") == [False, False]


def test_stale_nav_flags_the_whole_run():
    navs = [10, 10.5, 10.5, 10.5, 10.6, 10.6]
    assert flag(history(navs, [100] * 6), "stale_nav", stale_nav_days=3) == [
        False, True, True, True, False, False,
    ]  # fmt: skip
    assert flag(history(navs, [100] * 6), "stale_nav", stale_nav_days=2) == [
        False, True, True, True, True, True,
    ]  # fmt: skip


def test_runs_do_not_cross_tickers():
    table = pd.concat(
        [history([10, 11, 12], [1, 1, 1]), history([12, 12, 13], [1, 1, 1], ticker="BBB")]
    )
    assert flag(table, "stale_nav", stale_nav_days=3) == [False] * 6


def test_after_gap_and_not_trading_day():
    days = ["2025-01-02", "2025-01-06", "2025-01-07", "2025-01-09", "2025-01-10"]
    table = history([10, 10, 10, 10.1, 10.2], [100, 101, 102, 103, 104], days=days)
    # 3 January is missing: 6 January's flow spans two days. 9 January was a holiday.
    assert flag(table, "after_gap") == [False, True, False, False, False]
    assert flag(table, "not_trading_day") == [False, False, False, True, False]


def test_flag_counts_and_flagged_rows_name_the_flags():
    daily = flagged(history([10, 5.01, 5.02], [100, 200, 200]))
    counts = quality.flag_counts(daily, 20.0, 3).set_index("flag")["fund_days"]
    assert counts.to_dict() == {
        "large_flow": 1, "split": 1, "stale_nav": 0,
        "after_gap": 0, "not_trading_day": 0, "duplicate_conflict": 0,
    }  # fmt: skip
    rows = quality.flagged_rows(daily)
    assert rows["flags"].tolist() == ["large_flow, split"]
    assert rows["date"].tolist() == [pd.Timestamp("2025-01-03")]


def test_ready_flows_without_nav_are_not_flagged_for_nav():
    daily = pd.DataFrame(
        {
            "date": pd.to_datetime(DAYS[:3]),
            "ticker": "AAA",
            "nav": float("nan"),
            "shares_outstanding": float("nan"),
            "net_assets_usd": float("nan"),
            "flow_usd": [5e9, -5e9, 1.0],
        }
    )
    result = quality.add_quality_flags(daily)
    assert not result[["flag_large_flow", "flag_split", "flag_stale_nav"]].any().any()


@pytest.mark.parametrize(
    ("large_flow_pct", "stale_nav_days", "message"),
    [(0, 3, "large_flow_pct"), (20, 1, "stale_nav_days"), (20, 2.5, "stale_nav_days")],
)
def test_bad_thresholds_are_refused(large_flow_pct, stale_nav_days, message):
    with pytest.raises(InvalidParameterError, match=message):
        quality.add_quality_flags(
            derive_daily_flows(history([10, 11], [1, 2])),
            large_flow_pct=large_flow_pct,
            stale_nav_days=stale_nav_days,
        )
