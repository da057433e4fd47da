"""Daily flows against N-PORT's months (helpers.ingest.crosscheck), by hand: a fund adding 100
shares a trading day at a NAV of 10 takes in 1,000 a day; and, read from a filing in its real
format, which calendar month N-PORT's `mon1Flow` is."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import source_files
from flow_builders import DAY_FLOW, daily_of, history, nport, sessions_in

from helpers.errors import InvalidParameterError
from helpers.ingest import fund_files
from helpers.ingest.crosscheck import PARTIAL, PAST, WITHIN, crosscheck_nport
from helpers.ingest.daily_flows import derive_daily_flows


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


# Shares added per trading day in each month of the first quarter of 2025, at a NAV of 10:
# unequal months, so that only one order of N-PORT's three months matches the daily sums.
QUARTER_SHARES_PER_DAY = {"2025-01": 100.0, "2025-02": -50.0, "2025-03": 300.0}


def quarter_daily() -> pd.DataFrame:
    days = history("KWEB", "2024-12-31", "2025-03-31")["date"]
    added = days.dt.strftime("%Y-%m").map(QUARTER_SHARES_PER_DAY).fillna(0.0)
    shares = 1e6 + added.cumsum()
    frame = pd.DataFrame(
        {"date": days, "ticker": "KWEB", "nav": 10.0, "shares_outstanding": shares}
    )
    return derive_daily_flows(frame)


def test_mon1_flow_is_the_oldest_month_of_the_quarter(tmp_path):
    """The filing lists its months Month 1, 2, 3 for the three months ending on the report
    date; built here with the quarter's months in that order (January first), read by
    fund_files.read_nport_filing (whose FLOW_MONTHS_BEFORE_REPORT places them) and checked
    against the daily sums: every month agrees. Read the other way round (mon1Flow as the
    newest month), January and March would not."""
    month_flows = {
        month: 10.0 * per_day * sessions_in(month)
        for month, per_day in QUARTER_SHARES_PER_DAY.items()
    }
    january, february, march = month_flows.values()
    filing = tmp_path / "KWEB_primary_doc.xml"
    filing.write_bytes(
        source_files.nport_primary_doc(
            series_id="S000012345",
            report_date=dt.date(2025, 3, 31),
            fiscal_year_end=dt.date(2025, 12, 31),
            # (sales, reinvestment, redemption): Month 1, 2 and 3 of the period, in that order
            flows=[
                (january + 5_000, 0.0, 5_000),
                (1_000, 500.0, 1_500 - february),
                (march, 0.0, 0.0),
            ],
            net_assets=2e7,
            total_assets=2.1e7,
        )
    )
    months = fund_files.read_nport_filing(filing).assign(
        source="SEC Form N-PORT", source_kind="sec_nport", source_address=""
    )
    table = crosscheck_nport(quarter_daily(), months, 0.5)
    assert table["month"].dt.strftime("%Y-%m").tolist() == list(QUARTER_SHARES_PER_DAY)
    assert table["daily_flow_usd"].tolist() == pytest.approx(list(month_flows.values()))
    assert table["status"].tolist() == [WITHIN] * 3

    newest_first = months.assign(
        month_start=months["month_start"].iloc[::-1].to_numpy(),
        month_end=months["month_end"].iloc[::-1].to_numpy(),
    )
    reversed_table = crosscheck_nport(quarter_daily(), newest_first, 0.5)
    assert reversed_table["status"].tolist() == [PAST, WITHIN, PAST]
