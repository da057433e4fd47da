"""Reported figures and claims at the resolution the data allow (helpers.analysis.coverage, used
by helpers.analysis.reconciliation and flow_study.claim_evidence): daily where the daily flows
cover the dates; monthly only over whole months; otherwise "not computable at monthly
resolution". Fund AAA has daily flows (+1,000 a trading day, tests/support/flow_builders.py)
from the close of 31 December 2024 to 31 January 2025; KWEB has N-PORT months only."""

from __future__ import annotations

import pandas as pd
import pytest
from flow_builders import DAY_FLOW, daily_of, history, nport, sessions_in

from helpers.analysis import flow_study
from helpers.analysis.coverage import NOT_AT_MONTHLY, whole_months
from helpers.analysis.reconciliation import reconcile_reported_flows
from helpers.ingest.fund_flows import canonical_flows

KWEB_MONTHS = {"2025-01": 3e6, "2025-02": -1e6, "2025-03": 5e6}


@pytest.fixture(scope="module")
def daily() -> pd.DataFrame:
    return daily_of(history("AAA", "2024-12-31", "2025-01-31"))


@pytest.fixture(scope="module")
def canonical(daily) -> pd.DataFrame:
    return canonical_flows(daily, nport("KWEB", KWEB_MONTHS))


def figure(figure_id: str, tickers: tuple, start: str, end: str, amount: float) -> dict:
    return {
        "figure_id": figure_id,
        "tickers": tickers,
        "start": pd.Timestamp(start),
        "end": pd.Timestamp(end),
        "amount_usd": amount,
        "bound": "point",
    }


@pytest.fixture(scope="module")
def reconciled(daily, canonical) -> pd.DataFrame:
    reported = pd.DataFrame(
        [
            figure("aaa_mid_month", ("AAA",), "2025-01-06", "2025-01-10", 4_000.0),
            figure("kweb_quarter", ("KWEB",), "2025-01-01", "2025-03-31", 7e6),
            figure("kweb_mid_month", ("KWEB",), "2025-01-01", "2025-02-15", 2e6),
            figure("both_january", ("AAA", "KWEB"), "2025-01-01", "2025-01-31", 3.02e6),
            figure("kweb_april", ("KWEB",), "2025-03-01", "2025-04-30", 5e6),
            figure("nobody", ("FXI",), "2025-01-01", "2025-01-31", 1.0),
            figure("kweb_may", ("KWEB",), "2025-05-01", "2025-05-31", 1.0),
            figure("kweb_fxi_may", ("KWEB", "FXI"), "2025-05-01", "2025-05-31", 1.0),
        ]
    )
    return reconcile_reported_flows(daily, reported, 1.0, canonical).set_index("figure_id")


def test_whole_months():
    assert whole_months("2025-01-01", "2025-03-31")
    assert whole_months("2024-02-01", "2024-02-29")
    assert not whole_months("2025-01-01", "2025-02-15")
    assert not whole_months("2025-01-02", "2025-01-31")


def test_a_figure_the_daily_flows_cover_is_checked_day_by_day(reconciled):
    row = reconciled.loc["aaa_mid_month"]
    # 6 to 10 January 2025: four sessions (the 9th was a day of mourning, the market closed)
    assert (row["resolution"], row["computed_usd"]) == ("daily", 4 * DAY_FLOW)
    assert row["status"] == "within tolerance"


def test_a_figure_over_whole_months_of_n_port_is_checked_month_by_month(reconciled):
    row = reconciled.loc["kweb_quarter"]
    assert (row["resolution"], row["computed_usd"]) == ("monthly", 7e6)
    assert bool(reconciled.loc["kweb_quarter", "holds"]) is True


def test_a_figure_that_is_not_whole_months_is_not_computable_from_months(reconciled):
    row = reconciled.loc["kweb_mid_month"]
    assert row["status"] == NOT_AT_MONTHLY == "not computable at monthly resolution"
    assert pd.isna(row["computed_usd"]) and pd.isna(row["holds"])


def test_daily_and_monthly_funds_together_over_whole_months(reconciled):
    row = reconciled.loc["both_january"]
    january = DAY_FLOW * sessions_in("2025-01")
    assert (row["resolution"], row["computed_usd"]) == ("monthly", pytest.approx(3e6 + january))


def test_months_without_data_and_funds_without_data(reconciled):
    assert reconciled.loc["kweb_april", "status"] == (
        "not computable: months without data: KWEB Apr 2025"
    )
    assert reconciled.loc["nobody", "status"] == "not computable: ticker(s) not in data: FXI"
    assert reconciled.loc["kweb_may", "status"] == (
        "not computable: no daily data for KWEB, and no N-PORT month within these dates"
    )
    assert reconciled.loc["kweb_fxi_may", "status"] == "not computable: ticker(s) not in data: FXI"


def test_a_claim_over_whole_months_of_n_port_names_the_largest_months(daily, canonical):
    claims = pd.DataFrame(
        {
            "claim_id": ["kweb_year", "kweb_half"],
            "claim": ["KWEB's inflows peaked in March", "KWEB took in money early in 2025"],
            "tickers": [("KWEB",), ("KWEB",)],
            "start": pd.to_datetime(["2025-01-01", "2025-01-01"]),
            "end": pd.to_datetime(["2025-03-31", "2025-01-20"]),
        }
    )
    evidence = flow_study.claim_evidence(daily, canonical, claims).set_index("claim_id")
    year = evidence.loc["kweb_year"]
    assert (year["resolution"], year["net_flow_usd"]) == ("monthly", 7e6)
    assert year["top_inflow_months"] == "Mar 2025, Jan 2025"
    assert year["days"] == 0 and pd.isna(year["largest_day"])
    assert evidence.loc["kweb_half", "resolution"] == NOT_AT_MONTHLY
    assert pd.isna(evidence.loc["kweb_half", "net_flow_usd"])
    assert list(evidence.columns)[-1] == "resolution"
