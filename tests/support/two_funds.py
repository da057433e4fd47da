"""Two funds over four trading days, whose flows the tests of the flow modules work out by
hand: the dates and the helpers they share (the fixtures `history` and `daily` are in conftest).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DATES = pd.to_datetime(["2025-01-02", "2025-01-03", "2025-01-06", "2025-01-07"])
NAN = np.nan


def history_table() -> pd.DataFrame:
    """Two funds over four trading days, rows deliberately out of order, with a pass-through column.

    AAA: NAV 10, 11, 12, 13; shares 100, 110, 105, 120.
    BBB: NAV 20, 19, 21, 22; shares  50,  50,  40,  45.
    """
    table = pd.DataFrame(
        {
            "date": list(DATES) * 2,
            "ticker": ["AAA"] * 4 + ["BBB"] * 4,
            "nav": [10.0, 11.0, 12.0, 13.0, 20.0, 19.0, 21.0, 22.0],
            "shares_outstanding": [100, 110, 105, 120, 50, 50, 40, 45],
            "source": ["test"] * 8,
        }
    )
    return table.iloc[[5, 2, 7, 0, 3, 6, 1, 4]].reset_index(drop=True)


def canonical_of(daily: pd.DataFrame) -> pd.DataFrame:
    """The canonical flows table of daily flows alone (no N-PORT months), their source
    "test"."""
    from helpers.ingest.fund_flows import canonical_flows, no_nport_months

    sourced = daily.assign(source="test", source_kind="user", source_address="")
    return canonical_flows(sourced, no_nport_months())


def flows_of(daily: pd.DataFrame, ticker: str) -> list[float]:
    return daily.loc[daily["ticker"] == ticker, "flow_usd"].tolist()


def assert_flows(actual: list[float], expected: list[float]) -> None:
    np.testing.assert_allclose(np.array(actual, dtype=float), expected, equal_nan=True)
