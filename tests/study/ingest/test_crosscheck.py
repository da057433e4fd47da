"""Daily flows against N-PORT's months (helpers.ingest.crosscheck), by hand: a fund adding 100
shares a trading day at a NAV of 10 takes in 1,000 a day."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from flow_builders import DAY_FLOW, daily_of, history, nport, sessions_in

from helpers.errors import InvalidParameterError
from helpers.ingest.crosscheck import PARTIAL, PAST, WITHIN, crosscheck_nport


@pytest.fixture
def daily() -> pd.DataFrame:
    """From the close of 31 December 2024 to 14 February 2025: January whole, February half."""
    return daily_of(history("AAA", "2024-12-31", "2025-02-14"))


def test_a_whole_month_is_compared_in_dollars_and_percent(daily):
    january = DAY_FLOW * sessions_in("2025-01")
    table = crosscheck_nport(daily, nport("AAA", {"2025-01": january * 1.02}), 5.0)
    row = table.iloc[0]
    assert row["month"] == pd.Timestamp("2025-01-01")
    assert row["daily_flow_usd"] == january
    assert row["nport_flow_usd"] == pytest.approx(january * 1.02)
    assert row["difference_usd"] == pytest.approx(-january * 0.02)
    assert row["difference_pct"] == pytest.approx(-100 * 0.02 / 1.02)
    assert (row["status"], bool(row["flagged"])) == (WITHIN, False)
    assert row["daily_days"] == sessions_in("2025-01")


def test_a_month_past_the_tolerance_is_flagged(daily):
    january = DAY_FLOW * sessions_in("2025-01")
    table = crosscheck_nport(daily, nport("AAA", {"2025-01": january * 1.10}), 5.0)
    assert (table.iloc[0]["status"], bool(table.iloc[0]["flagged"])) == (PAST, True)
    loose = crosscheck_nport(daily, nport("AAA", {"2025-01": january * 1.10}), 10.0)
    assert bool(loose.iloc[0]["flagged"]) is False


def test_a_month_the_daily_data_cover_in_part_is_listed_not_compared(daily):
    table = crosscheck_nport(daily, nport("AAA", {"2025-02": 1.0, "2025-03": 2.0}), 5.0)
    assert table["month"].tolist() == [pd.Timestamp("2025-02-01")]  # March has no daily data
    row = table.iloc[0]
    assert row["status"] == PARTIAL and not bool(row["flagged"])
    assert np.isnan(row["difference_usd"]) and np.isnan(row["daily_flow_usd"])


def test_a_zero_net_flow_month(daily):
    table = crosscheck_nport(daily, nport("AAA", {"2025-01": 0.0}), 5.0)
    assert table.iloc[0]["difference_pct"] == np.inf
    assert bool(table.iloc[0]["flagged"]) is True


def test_a_negative_tolerance_is_refused(daily):
    with pytest.raises(InvalidParameterError, match="tolerance"):
        crosscheck_nport(daily, nport("AAA", {"2025-01": 0.0}), -1.0)
