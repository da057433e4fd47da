"""Reported flow figures against computed flows (helpers.analysis.reconciliation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.analysis.reconciliation import reconcile_reported_flows

# --- reconcile_reported_flows ------------------------------------------------------------------


def figure(figure_id, tickers, start, end, amount, bound="point"):
    return {
        "figure_id": figure_id,
        "subject": " + ".join(tickers) or "all funds",
        "tickers": tickers,
        "start": pd.Timestamp(start),
        "end": pd.Timestamp(end),
        "amount_usd": amount,
        "bound": bound,
        "verified": True,
    }


@pytest.fixture
def reconciled(daily, canonical) -> pd.DataFrame:
    reported = pd.DataFrame(
        [
            figure("point_within", ("AAA",), "2025-01-03", "2025-01-07", 244.0),
            figure("point_outside", ["AAA", "BBB"], "2025-01-03", "2025-01-07", 150.0),
            figure("at_most_holds", ("BBB",), "2025-01-06", "2025-01-06", -200.0, "at_most"),
            figure("at_most_fails", ("BBB",), "2025-01-07", "2025-01-07", 100.0, "at_most"),
            figure("at_least_holds", ("AAA",), "2025-01-07", "2025-01-07", 150.0, "at_least"),
            figure("at_least_fails", ("BBB",), "2025-01-03", "2025-01-06", -100.0, "at_least"),
            figure("no_tickers", (), "2025-01-03", "2025-01-07", -1.0),
            figure("unknown_ticker", ("AAA", "ZZZ"), "2025-01-03", "2025-01-07", 1.0),
            figure("starts_on_first_day", ("AAA",), "2025-01-02", "2025-01-07", 245.0),
            figure("ends_after_data", ("AAA",), "2025-01-03", "2025-01-08", 245.0),
            figure("weekend_start", ("AAA",), "2025-01-04", "2025-01-07", 135.0),
        ]
    )
    return reconcile_reported_flows(daily, reported, 1.0, canonical).set_index("figure_id")


def test_reconcile_points(reconciled):
    within = reconciled.loc["point_within"]
    assert within["computed_usd"] == 245.0
    assert within["difference_usd"] == 1.0
    assert within["difference_pct"] == pytest.approx(100 / 244)
    assert within["status"] == "within tolerance"
    assert bool(reconciled.loc["point_within", "holds"]) is True  # bool(pd.NA) would raise

    outside = reconciled.loc["point_outside"]
    assert outside["computed_usd"] == 145.0
    assert outside["difference_pct"] == pytest.approx(-5 / 150 * 100)
    assert outside["status"] == "outside tolerance"
    assert bool(reconciled.loc["point_outside", "holds"]) is False

    assert reconciled.loc["weekend_start", "computed_usd"] == 135.0
    assert reconciled.loc["weekend_start", "status"] == "within tolerance"


def test_reconcile_bounds(reconciled):
    expected = {
        "at_most_holds": (-210.0, "bound holds", True),
        "at_most_fails": (110.0, "bound fails", False),
        "at_least_holds": (195.0, "bound holds", True),
        "at_least_fails": (-210.0, "bound fails", False),
    }
    for figure_id, (computed, status, holds) in expected.items():
        row = reconciled.loc[figure_id]
        assert row["computed_usd"] == computed, figure_id
        assert row["status"] == status, figure_id
        assert bool(reconciled.loc[figure_id, "holds"]) is holds, figure_id


OUTSIDE_DATA = "not computable: period outside data (data from 2025-01-02 to 2025-01-07)"


def test_reconcile_not_computable(reconciled):
    expected = {
        "no_tickers": "not computable: tickers not listed",
        "unknown_ticker": "not computable: ticker(s) not in data: ZZZ",
        "starts_on_first_day": OUTSIDE_DATA,
        "ends_after_data": OUTSIDE_DATA,
    }
    for figure_id, status in expected.items():
        row = reconciled.loc[figure_id]
        assert row["status"] == status, figure_id
        assert pd.isna(row["holds"]), figure_id
        assert np.isnan(row["computed_usd"]), figure_id


def test_reconcile_keeps_input_columns(reconciled):
    assert {"subject", "tickers", "start", "end", "amount_usd", "bound", "verified"} <= set(
        reconciled.columns
    )
    assert str(reconciled["holds"].dtype) == "boolean"
    assert len(reconciled) == 11


def test_reconcile_refuses_unknown_bound(daily, canonical):
    reported = pd.DataFrame([figure("x", ("AAA",), "2025-01-03", "2025-01-07", 1.0, "about")])
    with pytest.raises(ValueError, match="about"):
        reconcile_reported_flows(daily, reported, fund_flows=canonical)
