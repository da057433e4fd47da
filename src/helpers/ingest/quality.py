"""Data-quality flags on the daily fund table: suspicious rows are marked, never dropped.

Each flag is a boolean column `flag_<name>` of the daily flows table, so a researcher can filter
on it, and `flag_counts` / `flagged_rows` summarise them for the cleaning page.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.errors import InvalidParameterError
from helpers.ingest import market_calendar
from helpers.tickers import shifted_within_ticker

# A day's shares change by at least this factor while NAV moves the other way by about as much
# (net assets within SPLIT_NET_ASSETS_TOLERANCE): the signature of a share split or reverse split.
SPLIT_SHARES_FACTOR = 1.5
SPLIT_NET_ASSETS_TOLERANCE = 0.15

FLAGS = {
    "large_flow": "the day's flow exceeds {large_flow_pct:g}% of the previous day's net assets",
    "split": "shares outstanding jump while NAV moves inversely: looks like a split, not a flow",
    "stale_nav": "NAV unchanged for {stale_nav_days} or more trading days in a row",
    "after_gap": "the previous trading day is missing: the flow spans the whole gap",
    "not_trading_day": "dated on a day the NYSE was closed",
    "duplicate_conflict": "the date appears more than once with different values",
}


def _check_thresholds(large_flow_pct: float, stale_nav_days: int) -> None:
    if not large_flow_pct > 0:
        raise InvalidParameterError(f"large_flow_pct must be > 0; got {large_flow_pct!r}")
    if isinstance(stale_nav_days, bool) or not isinstance(stale_nav_days, (int, np.integer)):
        raise InvalidParameterError(f"stale_nav_days must be an integer; got {stale_nav_days!r}")
    if stale_nav_days < 2:
        raise InvalidParameterError(f"stale_nav_days must be >= 2; got {stale_nav_days}")


def _runs_of_equal_values(values: pd.Series, groups: pd.Series) -> np.ndarray:
    """Length of the run of equal consecutive values (within a group) each row belongs to."""
    starts = (values != values.shift()) | (groups != groups.shift()) | values.isna()
    run_id = starts.cumsum().to_numpy()
    return np.bincount(run_id)[run_id]


def add_quality_flags(
    daily: pd.DataFrame, large_flow_pct: float = 20.0, stale_nav_days: int = 3
) -> pd.DataFrame:
    """`daily` (sorted by ticker and date, from ingest.daily_flows.derive_daily_flows) with the flag
    columns.

    A `flag_duplicate_conflict` column already present (set by the reader) is kept. Flags that
    need NAV or net assets are False on rows without them (ready-made flows).
    """
    _check_thresholds(large_flow_pct, stale_nav_days)
    previous_assets = shifted_within_ticker(daily, "net_assets_usd")
    shares_ratio = daily["shares_outstanding"] / shifted_within_ticker(daily, "shares_outstanding")
    assets_ratio = daily["net_assets_usd"] / previous_assets
    jump = (shares_ratio >= SPLIT_SHARES_FACTOR) | (shares_ratio <= 1 / SPLIT_SHARES_FACTOR)
    run_length = _runs_of_equal_values(daily["nav"], daily["ticker"])
    session = market_calendar.session_positions(daily["date"])
    # Comparisons with NaN are False: rows without the figures a flag needs are not flagged.
    flags = {
        "flag_large_flow": daily["flow_usd"].abs() > large_flow_pct / 100 * previous_assets,
        "flag_split": jump & ((assets_ratio - 1).abs() <= SPLIT_NET_ASSETS_TOLERANCE),
        "flag_stale_nav": daily["nav"].notna() & (run_length >= stale_nav_days),
        "flag_not_trading_day": ~session.on_session,
        "flag_after_gap": _after_gap(daily, session),
        "flag_duplicate_conflict": daily.get("flag_duplicate_conflict", False),
    }
    return daily.assign(**flags).astype(dict.fromkeys(flags, bool))


def _after_gap(daily: pd.DataFrame, session: market_calendar.SessionPositions) -> np.ndarray:
    """True on a ticker's row whose previous row is more than one trading day earlier."""
    ticker = daily["ticker"]
    same_ticker = (ticker == ticker.shift()).to_numpy(bool)
    step = np.diff(session.position, prepend=session.position[:1])
    # On a non-trading day the position is the next session's: that row is flagged by
    # not_trading_day instead.
    return same_ticker & (step > 1) & session.on_session


def flag_counts(daily: pd.DataFrame, large_flow_pct: float, stale_nav_days: int) -> pd.DataFrame:
    """One row per flag: what it means and how many fund-days carry it."""
    return pd.DataFrame(
        {
            "flag": list(FLAGS),
            "meaning": [
                text.format(large_flow_pct=large_flow_pct, stale_nav_days=stale_nav_days)
                for text in FLAGS.values()
            ],
            "fund_days": [int(daily[f"flag_{name}"].sum()) for name in FLAGS],
        }
    )


def flagged_rows(daily: pd.DataFrame) -> pd.DataFrame:
    """The fund-days carrying at least one flag, with the flags named in one column."""
    columns = [f"flag_{name}" for name in FLAGS]
    rows = daily[daily[columns].any(axis=1)].copy()
    names = pd.Series("", index=rows.index)
    for name in FLAGS:
        names += np.where(rows[f"flag_{name}"], f"{name}, ", "")
    rows["flags"] = names.str.removesuffix(", ")
    keep = ["date", "ticker", "nav", "shares_outstanding", "net_assets_usd", "flow_usd", "flags"]
    return rows[keep].reset_index(drop=True)
