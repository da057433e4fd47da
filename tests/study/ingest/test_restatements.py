"""The latest of several downloads counts; the values it changes are restatements
(helpers.ingest.restatements)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.ingest.restatements import RESTATEMENT_COLUMNS, latest_values


def downloads() -> pd.DataFrame:
    """FXI on two days in three downloads, given out of order: the second restates 6 January's
    shares, the third its NAV back; 3 January never changes."""
    day = pd.Timestamp
    return pd.DataFrame(
        {
            "ticker": "FXI",
            "date": [day("2025-01-06"), day("2025-01-03"), day("2025-01-06"), day("2025-01-06")],
            "nav": [30.0, 29.0, 30.0, 30.5],
            "shares_outstanding": [1_000.0, 900.0, 1_100.0, 1_100.0],
            "fetched_at": [
                day("2025-01-07"),
                day("2025-01-07"),
                day("2025-01-09"),
                day("2025-01-08"),
            ],
            "file": ["a.xls", "a.xls", "c.xls", "b.xls"],
            "source": "iShares",
        }
    )


def test_the_latest_download_counts():
    latest, _ = latest_values(
        downloads(), ["ticker", "date"], ["nav", "shares_outstanding"], ["fetched_at"]
    )
    assert latest["date"].dt.day.tolist() == [3, 6]
    assert latest[["nav", "shares_outstanding", "file"]].values.tolist() == [
        [29.0, 900.0, "a.xls"],
        [30.0, 1_100.0, "c.xls"],
    ]


def test_each_change_between_one_download_and_the_next_is_a_restatement():
    _, restated = latest_values(
        downloads(), ["ticker", "date"], ["nav", "shares_outstanding"], ["fetched_at"]
    )
    assert list(restated.columns) == RESTATEMENT_COLUMNS
    assert restated[
        ["value", "old_value", "new_value", "old_file", "new_file"]
    ].values.tolist() == [
        ["nav", 30.0, 30.5, "a.xls", "b.xls"],
        ["nav", 30.5, 30.0, "b.xls", "c.xls"],
        ["shares_outstanding", 1_000.0, 1_100.0, "a.xls", "b.xls"],
    ]
    assert set(restated["date"]) == {pd.Timestamp("2025-01-06")}


def test_missing_values_are_equal_to_missing_values():
    table = downloads().assign(shares_outstanding=np.nan, nav=1.0)  # a NAV-only history
    _, restated = latest_values(
        table, ["ticker", "date"], ["nav", "shares_outstanding"], ["fetched_at"]
    )
    assert restated.empty and list(restated.columns) == RESTATEMENT_COLUMNS
