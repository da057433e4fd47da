"""Daily net flows from NAV and shares outstanding: the derived table the cleaning step writes
(data/processed/daily_flows.parquet), which every analysis of flows starts from.

Convention (ETF.com, "The follies of ETF flows", 2013): the daily net flow on day t is

    flow_usd[t] = (shares_outstanding[t] - shares_outstanding[t-1]) * nav[t]

where t-1 is the fund's previous row (its previous trading day). Two variants are supported:
the NAV basis "average" uses the mean of the NAVs on t-1 and t, and `shares_lag_days=1` reads the
shares figure reported on day t as the one belonging to day t-1 (some providers publish shares
outstanding a day late). The flow column is `flow_usd` (signed US dollars, outflows negative).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.errors import InvalidParameterError
from helpers.tickers import shifted_within_ticker, sorted_by_ticker_and_date

NAV_BASES = ("today", "average")
"""Allowed values of `nav_basis` in `derive_daily_flows`."""

_HISTORY_COLUMNS = ("date", "ticker", "nav", "shares_outstanding")


def derive_daily_flows(
    history: pd.DataFrame, nav_basis: str = "today", shares_lag_days: int = 0
) -> pd.DataFrame:
    """Daily net flows per ticker from a long table of NAV and shares outstanding.

    `history` has columns date, ticker, nav, shares_outstanding; any other columns (e.g.
    is_synthetic, source) pass through. Returns a copy sorted by ticker and date with two added
    columns: `net_assets_usd` (nav x shares outstanding) and `flow_usd`.

    - `nav_basis="today"`: flow = change in shares x NAV of the day; `"average"`: x the mean of
      the day's and the previous day's NAV.
    - `shares_lag_days=n` (n >= 0): the shares figure reported on day t belongs to day t-n, so
      shares are moved back n rows within each ticker before differencing. The
      `shares_outstanding` column then holds the re-dated figure and is NaN on each ticker's
      last n rows (their shares are not yet reported).

    The first row of each ticker has no previous day: its `flow_usd` is NaN (the row is kept; it
    is the base for the next day's flow). Rows with unknown shares or NAV also get NaN flows.
    """
    if nav_basis not in NAV_BASES:
        raise InvalidParameterError(
            f"nav_basis must be one of {', '.join(map(repr, NAV_BASES))}; got {nav_basis!r}"
        )
    if isinstance(shares_lag_days, bool) or not isinstance(shares_lag_days, (int, np.integer)):
        raise InvalidParameterError(f"shares_lag_days must be an integer; got {shares_lag_days!r}")
    if shares_lag_days < 0:
        raise InvalidParameterError(f"shares_lag_days must be >= 0; got {shares_lag_days}")
    missing = [c for c in _HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"history lacks column(s): {', '.join(missing)}")

    daily = sorted_by_ticker_and_date(history)
    if shares_lag_days:
        later = shifted_within_ticker(daily, "shares_outstanding", -shares_lag_days)
        daily["shares_outstanding"] = later

    shares = daily["shares_outstanding"].astype("float64")
    nav = daily["nav"].astype("float64")
    shares_change = shares - shifted_within_ticker(daily, "shares_outstanding").astype("float64")
    if nav_basis == "today":
        flow_nav = nav
    else:
        flow_nav = (nav + shifted_within_ticker(daily, "nav").astype("float64")) / 2

    daily["net_assets_usd"] = nav * shares
    daily["flow_usd"] = shares_change * flow_nav
    return daily
