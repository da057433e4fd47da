"""Tickers and per-ticker tables (helpers.tickers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from two_funds import DATES, NAN, assert_flows

from helpers.tickers import as_tickers, shifted_within_ticker, sorted_by_ticker_and_date


def test_rows_in_order_are_neither_sorted_nor_copied(history):
    in_order = history.sort_values(["ticker", "date"]).set_axis(range(10, 18))
    result = sorted_by_ticker_and_date(in_order)
    assert result.index.tolist() == list(range(8))
    assert np.shares_memory(result["nav"].to_numpy(), in_order["nav"].to_numpy())


def test_rows_out_of_order_are_sorted_stably(history):
    result = sorted_by_ticker_and_date(history)
    assert result["ticker"].tolist() == ["AAA"] * 4 + ["BBB"] * 4
    assert result["date"].tolist() == list(DATES) * 2
    repeated = pd.concat([history.assign(nav=1.0), history.assign(nav=2.0)])
    assert sorted_by_ticker_and_date(repeated)["nav"].tolist() == [1.0, 2.0] * 8


def test_shifted_within_ticker_stops_at_each_ticker(history):
    daily = sorted_by_ticker_and_date(history)
    assert_flows(shifted_within_ticker(daily, "nav").tolist(), [NAN, 10, 11, 12, NAN, 20, 19, 21])
    later = shifted_within_ticker(daily, "nav", -2).tolist()
    assert_flows(later, [12, 13, NAN, NAN, 21, 22, NAN, NAN])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("MCHI;FXI", ("MCHI", "FXI")),
        ("KWEB", ("KWEB",)),
        (" MCHI ; FXI ;KWEB; ", ("MCHI", "FXI", "KWEB")),
        ("", ()),
        (None, ()),
        (float("nan"), ()),
        (np.float64("nan"), ()),
        (pd.NA, ()),
        (("MCHI", "FXI"), ("MCHI", "FXI")),
        (["KWEB"], ("KWEB",)),
        (np.array(["MCHI", "FXI"], dtype=object), ("MCHI", "FXI")),  # as read from parquet
        ((), ()),
    ],
)
def test_as_tickers(value, expected):
    assert as_tickers(value) == expected
