"""Trading days, gaps and event alignment (helpers.ingest.market_calendar) against dates known
by hand.

US market holidays of early 2025, from the NYSE holiday list: New Year's Day (Wed 1 January),
the national day of mourning for President Carter (Thu 9 January), Martin Luther King Jr. Day
(Mon 20 January), Washington's Birthday (Mon 17 February).
"""

from __future__ import annotations

import pandas as pd

from helpers.ingest import market_calendar


def dates(*days: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(days)), name="date")


def test_sessions_skip_weekends_and_holidays():
    sessions = market_calendar.trading_sessions("2025-01-01", "2025-01-10")
    assert [d.strftime("%m-%d") for d in sessions] == [
        "01-02", "01-03", "01-06", "01-07", "01-08", "01-10",
    ]  # fmt: skip
    assert sessions.name == "date" and sessions.tz is None


def test_next_sessions_moves_closed_days_forward_and_keeps_open_ones():
    moved = market_calendar.next_sessions(
        dates("2025-01-20", "2025-01-18", "2025-01-21", "2025-02-17", "2025-01-09")
    )
    assert moved.dt.strftime("%Y-%m-%d").tolist() == [
        "2025-01-21", "2025-01-21", "2025-01-21", "2025-02-18", "2025-01-10",
    ]  # fmt: skip


def test_align_events_marks_the_deepseek_holiday():
    events = pd.DataFrame(
        {"date": pd.to_datetime(["2025-01-20", "2025-01-27"]), "event": ["R1", "rout"]}
    )
    aligned = market_calendar.align_events(events)
    assert aligned["session"].tolist() == [pd.Timestamp("2025-01-21"), pd.Timestamp("2025-01-27")]
    assert aligned["moved"].tolist() == [True, False]
    assert "session" not in events  # the input is not modified


def fund_rows(ticker: str, *days: str) -> pd.DataFrame:
    return pd.DataFrame({"date": pd.to_datetime(list(days)), "ticker": ticker})


def test_calendar_gaps_groups_consecutive_missing_days():
    # AAA misses 3 and 6 January (one gap: consecutive trading days) and 8 January (another).
    # BBB is complete; the holiday 9 January is not a gap.
    daily = pd.concat(
        [
            fund_rows("AAA", "2025-01-02", "2025-01-07", "2025-01-10"),
            fund_rows("BBB", "2025-01-02", "2025-01-03", "2025-01-06", "2025-01-07"),
        ]
    )
    gaps = market_calendar.calendar_gaps(daily)
    assert gaps.to_dict("records") == [
        {
            "ticker": "AAA",
            "first_missing": pd.Timestamp("2025-01-03"),
            "last_missing": pd.Timestamp("2025-01-06"),
            "trading_days_missing": 2,
            "resumes_on": pd.Timestamp("2025-01-07"),
        },
        {
            "ticker": "AAA",
            "first_missing": pd.Timestamp("2025-01-08"),
            "last_missing": pd.Timestamp("2025-01-08"),
            "trading_days_missing": 1,
            "resumes_on": pd.Timestamp("2025-01-10"),
        },
    ]


def test_a_gap_resumes_on_the_next_row_even_on_a_closed_day_and_rows_may_come_unsorted():
    # AAA misses Fri 17 January and has a row on the holiday Mon 20 January, the first row after
    # the gap: that row's flow spans the gap.
    daily = fund_rows("AAA", "2025-01-21", "2025-01-16", "2025-01-20")
    gaps = market_calendar.calendar_gaps(daily)
    assert gaps.to_dict("records") == [
        {
            "ticker": "AAA",
            "first_missing": pd.Timestamp("2025-01-17"),
            "last_missing": pd.Timestamp("2025-01-17"),
            "trading_days_missing": 1,
            "resumes_on": pd.Timestamp("2025-01-20"),
        }
    ]


def test_session_positions_number_trading_days_and_closed_days_take_the_next():
    positions = market_calendar.session_positions(
        dates("2025-01-08", "2025-01-09", "2025-01-10", "2025-01-13", "2025-01-11")
    )
    assert positions.position.tolist() == [0, 1, 1, 2, 2]
    assert positions.on_session.tolist() == [True, False, True, True, False]


def test_no_gaps_in_complete_data_or_no_data():
    assert market_calendar.calendar_gaps(fund_rows("AAA", "2025-01-08", "2025-01-10")).empty
    assert market_calendar.calendar_gaps(fund_rows("AAA")).empty


def test_is_trading_day():
    flags = market_calendar.is_trading_day(dates("2025-01-09", "2025-01-10", "2025-01-11"))
    assert flags.tolist() == [False, True, False]
