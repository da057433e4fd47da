"""The two sources of a fund's flows checked against each other: for each fund-month with both
daily flows and an SEC N-PORT month, the sum of the daily flows against N-PORT's net flow
(sales + reinvestment - redemption), written to data/processed/flow_crosscheck.parquet and shown
on the cleaning page.

The two need not agree to the dollar: daily flows value each day's change in shares at that
day's NAV, N-PORT counts the dollars of the shares sold and redeemed. A month past the tolerance
is flagged, never dropped or corrected.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.errors import InvalidParameterError
from helpers.ingest.fund_flows import daily_months

WITHIN = "within tolerance"
PAST = "past tolerance"
PARTIAL = "not compared: the daily data cover part of the month only"
CROSSCHECK_COLUMNS = [
    "ticker",
    "month",
    "daily_flow_usd",
    "daily_days",
    "nport_flow_usd",
    "sales_usd",
    "reinvestment_usd",
    "redemption_usd",
    "difference_usd",
    "difference_pct",
    "status",
    "flagged",
    "nport_source",
]


def percent_difference(difference: pd.Series, reference: pd.Series) -> pd.Series:
    """100 x difference / |reference|; where the reference is 0: 0 for no difference, else
    +/-inf."""
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * difference / reference.abs()
    at_zero = reference == 0
    return pct.where(~at_zero, np.where(difference == 0, 0.0, np.inf * np.sign(difference)))


def crosscheck_nport(
    daily: pd.DataFrame, monthly: pd.DataFrame, tolerance_pct: float
) -> pd.DataFrame:
    """One row per fund-month with daily flows and an N-PORT month (columns CROSSCHECK_COLUMNS,
    `month` its first day): the summed daily flows, N-PORT's net flow and its parts, the
    difference daily - N-PORT in US$ and in % of |N-PORT's net flow|, and the status: within or
    past `tolerance_pct` (`flagged`), or not compared when the daily rows do not cover the whole
    month (see helpers.ingest.fund_flows.daily_months)."""
    if not tolerance_pct >= 0:
        raise InvalidParameterError(
            f"the cross-check tolerance must be >= 0; got {tolerance_pct!r}"
        )
    if monthly.empty:  # nothing to check: no need to sum the daily flows per month
        return pd.DataFrame({column: [] for column in CROSSCHECK_COLUMNS})
    nport = pd.DataFrame(
        {
            "ticker": monthly["ticker"].astype(str),
            "month": monthly["month_start"].dt.to_period("M"),
            "nport_flow_usd": monthly["flow_usd"],
            "sales_usd": monthly["sales_usd"],
            "reinvestment_usd": monthly["reinvestment_usd"],
            "redemption_usd": monthly["redemption_usd"],
            "nport_source": monthly["source"].astype(str),
        }
    )
    both = nport.merge(daily_months(daily), on=["ticker", "month"], how="inner")
    compared = both["complete"].astype(bool)
    difference = (both["flow_usd"] - both["nport_flow_usd"]).where(compared)
    pct = percent_difference(difference, both["nport_flow_usd"])
    past = compared & (pct.abs() > tolerance_pct)
    table = both.assign(
        month=both["month"].dt.start_time,
        daily_flow_usd=both["flow_usd"].where(compared),
        daily_days=both["days"].astype("int64"),
        difference_usd=difference,
        difference_pct=pct,
        status=np.where(~compared, PARTIAL, np.where(past, PAST, WITHIN)),
        flagged=past.astype(bool),
    )
    return table[CROSSCHECK_COLUMNS].sort_values(["ticker", "month"], ignore_index=True)
