"""The calibrated synthetic sample (helpers.ingest.sample) against the reported figures, written
by hand.

The fixture is the reported 2025 flow figures typed in here, independent of
data/raw/reported_flows.csv.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import paths
from helpers.analysis.flows import period_flows
from helpers.analysis.reconciliation import reconcile_reported_flows
from helpers.ingest import load, sample
from helpers.ingest.daily_flows import derive_daily_flows
from helpers.ingest.sample import calibration_targets, make_sample_fund_history

FOUR = ("MCHI", "FXI", "KWEB", "ASHR")


def figure(figure_id, tickers, start, end, amount, bound="point"):
    return {
        "figure_id": figure_id,
        "subject": ";".join(tickers),
        "tickers": tuple(tickers),
        "start": pd.Timestamp(start),
        "end": pd.Timestamp(end),
        "amount_usd": amount,
        "bound": bound,
    }


@pytest.fixture(scope="module")
def reported() -> pd.DataFrame:
    ytd = ("2025-01-01", "2025-12-17")
    week = ("2025-04-07", "2025-04-11")
    return pd.DataFrame(
        [
            figure("ytd_kweb", ["KWEB"], *ytd, 2.3e9),
            figure("ytd_cqqq", ["CQQQ"], *ytd, 2.1e9),
            figure("ytd_mchi", ["MCHI"], *ytd, 871e6),
            figure("ytd_fxi", ["FXI"], *ytd, -2.3e9),
            figure("ytd_ashr", ["ASHR"], *ytd, -1.4e9),
            figure("week_all_china_etfs", [], *week, -3.69e9),
            figure("week_fxi", ["FXI"], *week, -1.2e9),
            figure("week_kweb", ["KWEB"], *week, -1.0e9, "at_most"),
            figure("week_ashr", ["ASHR"], *week, -780e6),
            figure("apr_four", FOUR, "2025-04-01", "2025-04-30", -3.8e9),
            figure("nov_2024_four", FOUR, "2024-11-01", "2024-11-30", -4.4e9),
            figure("may_1_15_four", FOUR, "2025-05-01", "2025-05-15", 401.7e6),
        ]
    )


@pytest.fixture(scope="module")
def history(reported) -> pd.DataFrame:
    return make_sample_fund_history(reported, seed=2025)


@pytest.fixture(scope="module")
def reconciled(history, reported) -> pd.DataFrame:
    daily = derive_daily_flows(history)
    return reconcile_reported_flows(daily, reported, tolerance_pct=1.0).set_index("figure_id")


CALIBRATED = {
    "ytd_kweb", "ytd_cqqq", "ytd_mchi", "ytd_fxi", "ytd_ashr",
    "week_fxi", "week_kweb", "week_ashr", "apr_four", "may_1_15_four", "nov_2024_four",
}  # fmt: skip


def test_same_seed_same_frame(history, reported):
    pd.testing.assert_frame_equal(make_sample_fund_history(reported, seed=2025), history)


def test_other_seed_other_frame(history, reported):
    other = make_sample_fund_history(reported, seed=7)
    assert not np.allclose(other["nav"].to_numpy(), history["nav"].to_numpy())
    assert (other["source"].str.endswith("seed 7")).all()


def test_calibrated_figures_are_the_computable_ones(reported):
    assert set(calibration_targets(reported)["figure_id"]) == CALIBRATED


def test_every_calibrated_point_is_reproduced(reconciled):
    points = reconciled.loc[sorted(CALIBRATED - {"week_kweb"})]
    assert (points["status"] == "within tolerance").all(), points["status"]
    # calibration is exact before share rounding: far inside the 1% tolerance
    assert (points["difference_pct"].abs() < 0.001).all(), points["difference_pct"]


def test_kweb_week_bound_holds_with_margin(reconciled):
    row = reconciled.loc["week_kweb"]
    assert row["status"] == "bound holds"
    assert row["computed_usd"] == pytest.approx(-1.05e9, rel=1e-5)  # 5% beyond "more than $1bn out"


def test_figures_outside_the_sample_are_not_computable(reported, history):
    assert (
        calibration_targets(reported, start="2024-12-31")["figure_id"]
        .tolist()
        .count("nov_2024_four")
        == 0
    )
    late_start = history[history["date"] >= pd.Timestamp("2024-12-31")]
    reconciled = reconcile_reported_flows(derive_daily_flows(late_start), reported)
    reconciled = reconciled.set_index("figure_id")
    assert reconciled.loc["week_all_china_etfs", "status"] == "not computable: tickers not listed"
    assert reconciled.loc["nov_2024_four", "status"] == (
        "not computable: period outside data (data from 2024-12-31 to 2025-12-31)"
    )


def test_year_to_date_through_last_sample_day_equals_reported(history):
    daily = derive_daily_flows(history)
    full_year = period_flows(daily, "2025-01-01", "2025-12-31")
    expected = {"KWEB": 2.3e9, "CQQQ": 2.1e9, "MCHI": 871e6, "FXI": -2.3e9, "ASHR": -1.4e9}
    for ticker, amount in expected.items():
        assert full_year[ticker] == pytest.approx(amount, rel=1e-5), ticker


def test_kweb_inflow_burst_on_2025_01_29(history):
    daily = derive_daily_flows(history)
    kweb_january = daily[(daily["ticker"] == "KWEB") & (daily["date"].dt.month == 1)]
    biggest = kweb_january.loc[kweb_january["flow_usd"].idxmax()]
    assert biggest["date"] == pd.Timestamp("2025-01-29")
    assert biggest["flow_usd"] > 3e8


def test_shares_are_positive_integers(history):
    assert pd.api.types.is_integer_dtype(history["shares_outstanding"])
    assert (history["shares_outstanding"] > 0).all()


def test_only_nyse_sessions(history):
    assert history["ticker"].value_counts().to_dict() == {
        t: 292 for t in ("KWEB", "CQQQ", "MCHI", "FXI", "ASHR")
    }  # 2024-10-31, the 20 + 21 NYSE sessions of November and December 2024, and 250 of 2025
    dates = pd.DatetimeIndex(history["date"].unique())
    assert dates.min() == pd.Timestamp("2024-10-31")
    assert dates.max() == pd.Timestamp("2025-12-31")
    assert (dates.day_of_week < 5).all()
    closed = [
        "2024-11-28",
        "2024-12-25",
        "2025-01-01",
        "2025-01-09",
        "2025-01-20",
        "2025-04-18",
        "2025-07-04",
        "2025-12-25",
    ]
    assert not dates.isin(pd.to_datetime(closed)).any()
    assert not history.duplicated(["date", "ticker"]).any()


def test_starting_net_assets_near_snapshots(history):
    first = history[history["date"] == pd.Timestamp("2024-10-31")].set_index("ticker")
    net_assets = first["nav"] * first["shares_outstanding"]
    expected = {"KWEB": 7.0e9, "FXI": 8.0e9, "MCHI": 5.5e9, "ASHR": 2.9e9, "CQQQ": 0.9e9}
    for ticker, amount in expected.items():
        assert net_assets[ticker] == pytest.approx(amount, rel=1e-6), ticker


def test_nav_moves_plausibly(history):
    returns = history.groupby("ticker")["nav"].pct_change().dropna()
    assert 0.01 < returns.std() < 0.03
    assert (history["nav"] > 0).all()
    assert (history["nav"] == history["nav"].round(4)).all()


def test_marked_synthetic(history):
    assert list(history.columns) == [
        "date", "ticker", "nav", "shares_outstanding", "is_synthetic", "source",
    ]  # fmt: skip
    assert history["is_synthetic"].dtype == bool and history["is_synthetic"].all()
    assert history["source"].str.contains("synthetic").all()
    assert (history["source"].str.contains("make_sample_fund_history.py, seed 2025")).all()


def test_shares_reaching_zero_raise_a_clear_error(reported, monkeypatch):
    tiny = sample.SampleFundAssumption(26.0, 1.0e8, 0.015, 0.0)  # too small for -1.4bn out
    monkeypatch.setitem(sample.SAMPLE_FUNDS, "ASHR", tiny)
    with pytest.raises(ValueError, match="ASHR.*SAMPLE_FUNDS"):
        make_sample_fund_history(reported, seed=2025)


def test_no_figures_gives_uncalibrated_noise(reported):
    history = make_sample_fund_history(reported.iloc[0:0], seed=2025)
    assert len(history) == 5 * 292


def test_committed_sample_is_up_to_date():
    """data/raw/sample must be regenerated (make sample) whenever reported_flows.csv changes."""
    raw_dir = paths.DEFAULT_LAYOUT.raw_dir
    committed = load.read_sample_fund_history(raw_dir)
    reported = load.read_reported_flows(paths.raw_path(raw_dir, "reported_flows"))
    regenerated = make_sample_fund_history(reported, seed=2025)
    assert (
        committed[["date", "ticker"]]
        .astype(str)
        .equals(regenerated[["date", "ticker"]].astype(str))
    )
    np.testing.assert_allclose(committed["nav"], regenerated["nav"], atol=1e-4)
    shares_gap = (committed["shares_outstanding"] - regenerated["shares_outstanding"]).abs()
    assert shares_gap.max() <= 1, "run `make sample` to regenerate data/raw/sample"
