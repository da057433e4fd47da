"""US trading days from a maintained exchange calendar (exchange_calendars, NYSE), never a
hand-made holiday list: sessions, gaps in fund data, and events moved to the next trading day.
"""

from __future__ import annotations

import functools
import warnings

import exchange_calendars as xcals
import pandas as pd

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


_GAP_COLUMNS = ["ticker", "first_missing", "last_missing", "trading_days_missing", "resumes_on"]


def calendar_gaps(daily: pd.DataFrame) -> pd.DataFrame:
    """Trading days missing from each ticker's rows between its first and last date.

    One row per gap (consecutive missing trading days form one gap): ticker, first_missing,
    last_missing, trading_days_missing, and resumes_on (the ticker's next row, whose flow then
    spans the whole gap). Missing days are reported, never filled.
    """
    gaps = []
    if daily.empty:
        return pd.DataFrame(gaps, columns=_GAP_COLUMNS)
    sessions = trading_sessions(daily["date"].min(), daily["date"].max())
    on_session = daily[daily["date"].isin(sessions)]
    span = on_session.groupby("ticker")["date"].agg(["min", "max", "nunique"])
    expected = sessions.searchsorted(span["max"]) - sessions.searchsorted(span["min"]) + 1
    # Only tickers with fewer trading days than their span holds are looked at day by day.
    for ticker in span.index[expected > span["nunique"]]:
        dates = (
            pd.DatetimeIndex(daily.loc[daily["ticker"] == ticker, "date"]).unique().sort_values()
        )
        held = sessions[(sessions >= span.at[ticker, "min"]) & (sessions <= span.at[ticker, "max"])]
        missing = held.difference(dates)
        # Missing days at consecutive session positions belong to the same gap.
        position = pd.Series(held.get_indexer(missing), index=missing)
        gap_id = (position.diff() != 1).cumsum()
        for _, days in position.groupby(gap_id.to_numpy()):
            first, last = days.index[0], days.index[-1]
            gaps.append(
                {
                    "ticker": ticker,
                    "first_missing": first,
                    "last_missing": last,
                    "trading_days_missing": len(days),
                    "resumes_on": dates[dates.searchsorted(last, side="right")],
                }
            )
    return pd.DataFrame(gaps, columns=_GAP_COLUMNS)


def is_trading_day(dates: pd.Series) -> pd.Series:
    """True where the date is a NYSE trading day."""
    if dates.empty:
        return pd.Series(dtype=bool, index=dates.index)
    sessions = trading_sessions(dates.min(), dates.max())
    return dates.isin(sessions)
