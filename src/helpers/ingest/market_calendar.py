"""US trading days from a maintained exchange calendar (exchange_calendars, NYSE), never a
hand-made holiday list: sessions, gaps in fund data, and events moved to the next trading day.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import exchange_calendars as xcals
import numpy as np
import pandas as pd

from helpers.tickers import sorted_by_ticker_and_date

CALENDAR = "XNYS"  # the New York Stock Exchange, where the studied ETFs list
_FIRST_YEAR = 1990  # the calendar is built from here, so any fund history fits inside it


@functools.cache
def _calendar(last_year: int) -> xcals.ExchangeCalendar:
    with warnings.catch_warnings():
        # exchange_calendars 4.13 reads Series.values on tz-aware data, deprecated in pandas 3.1
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        return xcals.get_calendar(
            CALENDAR,
            start=pd.Timestamp(year=_FIRST_YEAR, month=1, day=1),
            end=pd.Timestamp(year=last_year, month=12, day=31),
        )


def _calendar_for(*dates) -> xcals.ExchangeCalendar:
    last = max(pd.Timestamp(d) for d in dates)
    return _calendar(max(last.year + 1, pd.Timestamp.today().year + 1))


def trading_sessions(start, end) -> pd.DatetimeIndex:
    """NYSE trading days from `start` to `end`, both included (tz-naive, named 'date')."""
    sessions = _calendar_for(start, end).sessions_in_range(pd.Timestamp(start), pd.Timestamp(end))
    return pd.DatetimeIndex(sessions.tz_localize(None) if sessions.tz else sessions, name="date")


def next_sessions(dates: pd.Series) -> pd.Series:
    """Each date itself if it is a trading day, else the next trading day."""
    if dates.empty:
        return dates.copy()
    sessions = trading_sessions(dates.min(), dates.max() + pd.Timedelta(days=10))
    position = sessions.searchsorted(dates.to_numpy(dtype="datetime64[us]"), side="left")
    return pd.Series(sessions[position], index=dates.index, name=dates.name)


def align_events(events: pd.DataFrame) -> pd.DataFrame:
    """Events with `session`, the first trading day on or after `date` (news on a holiday or a
    weekend reaches US-listed funds on the next trading day), and `moved` where they differ."""
    aligned = events.copy()
    aligned["session"] = next_sessions(aligned["date"]).astype(aligned["date"].dtype)
    aligned["moved"] = aligned["session"] != aligned["date"]
    return aligned


@dataclass(frozen=True)
class SessionPositions:
    """Where each date falls among the trading sessions from the first date on."""

    position: np.ndarray  # the number of the date's session (or of the next one if it is closed)
    on_session: np.ndarray  # whether the date is a trading day
    sessions: pd.DatetimeIndex  # the sessions numbered


def session_positions(dates: pd.Series) -> SessionPositions:
    """Each date's position among the NYSE trading days from the first to the last date, and
    whether it is one (a closed day takes the next session's position)."""
    values = dates.to_numpy(dtype="datetime64[us]")
    if not len(values):
        return SessionPositions(np.zeros(0, np.int64), np.zeros(0, bool), pd.DatetimeIndex([]))
    sessions = trading_sessions(dates.min(), dates.max())
    # NaT sorts last: it takes the position after the last session and is on no session.
    position = sessions.searchsorted(values)
    known = np.append(sessions.to_numpy("datetime64[us]"), np.datetime64("NaT"))
    return SessionPositions(position, known[position] == values, sessions)


_GAP_COLUMNS = ["ticker", "first_missing", "last_missing", "trading_days_missing", "resumes_on"]


def calendar_gaps(daily: pd.DataFrame) -> pd.DataFrame:
    """Trading days missing from each ticker's rows between its first and last date.

    One row per gap (consecutive missing trading days form one gap): ticker, first_missing,
    last_missing, trading_days_missing, and resumes_on (the ticker's next row, whose flow then
    spans the whole gap). Missing days are reported, never filled.
    """
    rows = sorted_by_ticker_and_date(daily[["ticker", "date"]])
    session = session_positions(rows["date"])
    fund = (rows["ticker"] != rows["ticker"].shift()).cumsum().to_numpy()  # numbers the tickers
    # Two consecutive trading-day rows of a ticker more than one session apart enclose a gap.
    trading = np.flatnonzero(session.on_session)
    before, after = trading[:-1], trading[1:]
    apart = session.position[after] - session.position[before]
    gap = (fund[before] == fund[after]) & (apart > 1)
    before, after = before[gap], after[gap]
    first_missing = session.sessions[session.position[before] + 1]
    last_missing = session.sessions[session.position[after] - 1]
    # The ticker resumes on its first row after the last missing day: `after`, unless a row on a
    # closed day comes between. Rows in (ticker, date) order are in order of fund * span + day.
    day = rows["date"].to_numpy(dtype="datetime64[D]").view(np.int64)
    origin = day.min() if len(day) else 0
    span = day.max(initial=origin) - origin + 1
    key = fund * span + (day - origin)
    last_day = last_missing.to_numpy(dtype="datetime64[D]").view(np.int64)
    resumes = np.searchsorted(key, fund[after] * span + (last_day - origin), side="right")
    return pd.DataFrame(
        {
            "ticker": rows["ticker"].take(after).to_numpy(),
            "first_missing": first_missing,
            "last_missing": last_missing,
            "trading_days_missing": apart[gap] - 1,
            "resumes_on": rows["date"].to_numpy()[resumes],
        },
        columns=_GAP_COLUMNS,
    )


def is_trading_day(dates: pd.Series) -> pd.Series:
    """True where the date is a NYSE trading day."""
    return pd.Series(session_positions(dates).on_session, index=dates.index, name=dates.name)
