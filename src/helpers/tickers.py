"""Tickers and tables of rows per ticker and date: the few helpers that both the reading and
cleaning of the data (ingest) and the analysis use, so that neither imports the other for them.
"""

from __future__ import annotations

import math

import pandas as pd


def as_tickers(value: object) -> tuple[str, ...]:
    """A list of tickers as a tuple: 'MCHI;FXI' -> ('MCHI', 'FXI') (spaces around each ticker
    dropped); a tuple, list or array as it is; missing (None, NaN, pd.NA) or empty -> ()."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ()
    if isinstance(value, str):
        return tuple(t.strip() for t in value.split(";") if t.strip())
    return tuple(value)


def sorted_by_ticker_and_date(table: pd.DataFrame) -> pd.DataFrame:
    """`table` sorted by ticker and date (stable), with a fresh index; when it is in that order
    already (as fund files are read), without sorting or copying its data."""
    ticker, date = table["ticker"], table["date"]
    earlier_ticker = ticker.shift()
    in_order = (ticker > earlier_ticker) | ((ticker == earlier_ticker) & (date >= date.shift()))
    if bool(in_order.iloc[1:].all()):
        return table.reset_index(drop=True)
    return table.sort_values(["ticker", "date"], kind="stable", ignore_index=True)


def shifted_within_ticker(daily: pd.DataFrame, column: str, periods: int = 1) -> pd.Series:
    """`column` of the row `periods` rows earlier (later if negative) of the same ticker, NaN
    where there is none; `daily` is sorted by ticker and date, so each ticker's rows are together.
    """
    ticker = daily["ticker"]
    return daily[column].shift(periods).where(ticker == ticker.shift(periods))
