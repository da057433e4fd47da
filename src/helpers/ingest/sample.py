"""The calibrated synthetic sample fund history (SAMPLE DATA, NOT MARKET DATA).

`make_sample_fund_history` builds daily NAV and shares outstanding for the five core ETFs on every
NYSE trading day, such that the flows derived from it with
`helpers.ingest.daily_flows.derive_daily_flows` (default convention: change in shares x NAV of the
day) reproduce the flow figures reported in the press (data/raw/reported_flows.csv):

1. NAV: a seeded geometric random walk per fund.
2. Flows: seeded noise proportional to fund size, plus a few event-driven bursts.
3. Calibration: the weighted minimum-norm linear correction f = f0 + S A^T (A S A^T)^-1 (b - A f0),
   where each row of A sums the flows of one reported figure (tickers x days), b holds its target
   and S weights each fund-day by the square of its noise scale (fund size); plus,
   per fund, zero net flow after the latest year-to-date figure, so that year-to-date through
   the sample's last day equals the reported year-to-date figure.
4. Shares: S_t = S_0 + round(cumsum(f / NAV)), rounding the cumulative level so rounding errors
   do not accumulate (derived flows are exact up to one share x NAV per window edge).

Everything is deterministic for a given seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.ingest.market_calendar import trading_sessions
from helpers.tickers import as_tickers

SAMPLE_SCRIPT = "scripts/make_sample_fund_history.py"


@dataclass(frozen=True)
class SampleFundAssumption:
    """How one fund of the synthetic sample starts and moves (assumptions, not data)."""

    start_nav: float  # NAV per share on the first sample day, USD
    start_net_assets_usd: float  # net assets on the first sample day, USD
    daily_volatility: float  # standard deviation of daily log NAV returns
    annual_drift: float  # expected annual log NAV return


# ASSUMPTIONS OF THE SYNTHETIC SAMPLE, NOT DATA. Starting net assets are set near the net-asset
# snapshots reported for late 2024 and early 2025 (no year-end 2024 figure was found for any
# fund); starting NAVs are set so that the implied shares outstanding are of the order of those
# snapshots; volatilities and drifts are round, plausible numbers for these funds and are not
# estimated from anything.
SAMPLE_FUNDS: dict[str, SampleFundAssumption] = {
    "KWEB": SampleFundAssumption(29.00, 7.0e9, 0.024, 0.25),
    "CQQQ": SampleFundAssumption(38.00, 0.9e9, 0.022, 0.30),
    "MCHI": SampleFundAssumption(48.00, 5.5e9, 0.019, 0.25),
    "FXI": SampleFundAssumption(30.50, 8.0e9, 0.018, 0.20),
    "ASHR": SampleFundAssumption(26.00, 2.9e9, 0.015, 0.15),
}
SAMPLE_TICKERS: tuple[str, ...] = tuple(SAMPLE_FUNDS)

# Standard deviation of a day's noise flow as a fraction of the fund's net assets (assumption).
NOISE_FRACTION = 0.003

# Event-driven bursts added to the noise before calibration (assumptions shaped after the
# qualitative claims of data/raw/flow_claims.csv: a large KWEB inflow on 2025-01-29, FXI outflows
# 2025-01-27 to 01-31). Calibration then shifts every day by a small amount, so the bursts stay.
SAMPLE_EVENT_FLOWS: tuple[tuple[str, str, float], ...] = (
    ("KWEB", "2025-01-29", 6.0e8),
    *(("FXI", day, -1.2e8) for day in ("2025-01-27", "2025-01-28", "2025-01-29")),
    *(("FXI", day, -1.2e8) for day in ("2025-01-30", "2025-01-31")),
)

# The sample's first and last day: from the close of October 2024 (so that the November 2024
# figure can be recomputed) to the end of 2025.
SAMPLE_START = "2024-10-31"
SAMPLE_END = "2025-12-31"

# An at_most / at_least figure is calibrated to a target 5% beyond its bound.
BOUND_MARGIN = 0.05


def sample_source(seed: int) -> str:
    """The `source` text of every row of the sample."""
    return f"sample data (synthetic): {SAMPLE_SCRIPT}, seed {seed}"


def calibration_targets(reported: pd.DataFrame, start=SAMPLE_START, end=SAMPLE_END) -> pd.DataFrame:
    """The reported figures the sample is calibrated to, with their `target_usd`.

    A figure is used when its tickers are all sample funds and its interval lies inside the
    sample (its first day after the sample's first trading day, which only serves as the base of
    the next day's flow, and its last day on or before the sample's last trading day). Points are
    targeted exactly; at_most / at_least bounds 5% beyond the bound (e.g. at_most -1bn -> -1.05bn).
    """
    sessions = trading_sessions(start, end)
    rows = []
    for figure in reported.itertuples(index=False):
        tickers = as_tickers(figure.tickers)
        first, last = pd.Timestamp(figure.start), pd.Timestamp(figure.end)
        if not tickers or not set(tickers) <= set(SAMPLE_TICKERS):
            continue
        if not (sessions[0] < first and last <= sessions[-1]):
            continue
        amount = float(figure.amount_usd)
        margin = BOUND_MARGIN * abs(amount)
        target = {"point": amount, "at_most": amount - margin, "at_least": amount + margin}[
            figure.bound
        ]
        rows.append(
            {
                "figure_id": figure.figure_id,
                "tickers": tickers,
                "start": first,
                "end": last,
                "bound": figure.bound,
                "amount_usd": amount,
                "target_usd": target,
            }
        )
    columns = ["figure_id", "tickers", "start", "end", "bound", "amount_usd", "target_usd"]
    return pd.DataFrame(rows, columns=columns)


def _calibration_system(
    targets: pd.DataFrame, flow_days: pd.DatetimeIndex
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Constraint matrix A (one row per constraint, columns ticker-major x flow day), b, labels."""
    n_days = len(flow_days)
    rows, values, labels = [], [], []

    def window(tickers, first, last) -> np.ndarray:
        row = np.zeros((len(SAMPLE_TICKERS), n_days))
        in_window = (flow_days >= first) & (flow_days <= last)
        for ticker in tickers:
            row[SAMPLE_TICKERS.index(ticker), in_window] = 1.0
        return row.ravel()

    for figure in targets.itertuples(index=False):
        rows.append(window(figure.tickers, figure.start, figure.end))
        values.append(figure.target_usd)
        labels.append(figure.figure_id)

    # Year-to-date figures start on 1 January; after the latest one ends, each fund's net flow
    # up to the sample's end is zero, so year-to-date at the end equals the reported figure.
    starts = pd.to_datetime(targets["start"])
    is_ytd = (starts.dt.month == 1) & (starts.dt.day == 1)
    if is_ytd.any():
        ytd_end = targets.loc[is_ytd, "end"].max()
        if (flow_days > ytd_end).any():
            for ticker in SAMPLE_TICKERS:
                rows.append(window([ticker], ytd_end + pd.Timedelta(days=1), flow_days[-1]))
                values.append(0.0)
                labels.append(f"{ticker}: zero net flow after {ytd_end:%Y-%m-%d}")

    width = len(SAMPLE_TICKERS) * n_days
    return np.array(rows).reshape(-1, width), np.array(values, dtype=float), labels


def _minimum_norm_correction(
    f0: np.ndarray, a: np.ndarray, b: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """f = f0 + S A^T (A S A^T)^-1 (b - A f0) with S = diag(scale^2): the flows nearest to f0,
    each change measured relative to its `scale`, that meet A f = b exactly. Weighting by fund
    size lets a group figure move large funds more than small ones, as real flows would."""
    if len(b) == 0:
        return f0.copy()
    spread = a * scale**2
    try:
        weights = np.linalg.solve(spread @ a.T, b - a @ f0)
    except np.linalg.LinAlgError as error:
        raise ValueError(
            "the calibration figures are not independent (a figure repeats another, or covers "
            "no trading day): cannot calibrate the sample"
        ) from error
    return f0 + spread.T @ weights


def make_sample_fund_history(
    reported: pd.DataFrame, start=SAMPLE_START, end=SAMPLE_END, seed: int = 2025
) -> pd.DataFrame:
    """Synthetic daily NAV and shares outstanding for the five core ETFs, calibrated to `reported`.

    `reported` is the reported-flows table (tickers as tuples, start/end as dates). Returns columns
    date, ticker, nav (4 decimals), shares_outstanding (int), is_synthetic (True) and source, one
    row per NYSE trading day from `start` to `end` per fund, sorted by ticker and date.
    See the module docstring for the method; raises ValueError if shares would reach zero.
    """
    sessions = trading_sessions(start, end)
    if len(sessions) < 2:
        raise ValueError(f"the sample needs at least two trading days from {start} to {end}")
    rng = np.random.default_rng(seed)
    funds = [SAMPLE_FUNDS[t] for t in SAMPLE_TICKERS]
    n_funds, n_days = len(funds), len(sessions)

    # 1. NAV: geometric random walk, rounded to 4 decimals as published.
    nav = np.empty((n_funds, n_days))
    for i, fund in enumerate(funds):
        log_returns = rng.normal(
            fund.annual_drift / 252 - fund.daily_volatility**2 / 2,
            fund.daily_volatility,
            n_days - 1,
        )
        path = np.concatenate([[0.0], np.cumsum(log_returns)])
        nav[i] = np.round(fund.start_nav * np.exp(path), 4)
    start_shares = np.array([round(f.start_net_assets_usd / f.start_nav) for f in funds])

    # 2. Noise flows on each day after the first (fat-tailed, unit variance), plus event bursts.
    flow_days = sessions[1:]
    noise_scale = NOISE_FRACTION * start_shares[:, None] * nav[:, 1:]
    flows = rng.standard_t(4, size=(n_funds, n_days - 1)) / np.sqrt(2) * noise_scale
    for ticker, day, amount in SAMPLE_EVENT_FLOWS:
        position = flow_days.get_indexer([pd.Timestamp(day)])[0]
        if position >= 0:
            flows[SAMPLE_TICKERS.index(ticker), position] += amount

    # 3. Calibration: size-weighted minimum-norm correction so the reported figures hold exactly.
    targets = calibration_targets(reported, start, end)
    a, b, labels = _calibration_system(targets, flow_days)
    flows = _minimum_norm_correction(flows.ravel(), a, b, noise_scale.ravel())
    if len(b) and not np.allclose(a @ flows, b, rtol=1e-9, atol=1.0):
        worst = labels[int(np.argmax(np.abs(a @ flows - b)))]
        raise ValueError(f"calibration failed to meet the reported figures (worst: {worst})")
    flows = flows.reshape(n_funds, n_days - 1)

    # 4. Shares: round the cumulative level, not each day's change.
    added = np.round(np.cumsum(flows / nav[:, 1:], axis=1))
    shares = start_shares[:, None] + np.concatenate([np.zeros((n_funds, 1)), added], axis=1)
    if (shares <= 0).any():
        i, j = np.argwhere(shares <= 0)[0]
        raise ValueError(
            f"sample shares outstanding of {SAMPLE_TICKERS[i]} reach {shares[i, j]:.0f} on "
            f"{sessions[j]:%Y-%m-%d}: raise its starting net assets in SAMPLE_FUNDS"
        )

    frames = [
        pd.DataFrame(
            {
                "date": sessions.astype("datetime64[us]"),
                "ticker": ticker,
                "nav": nav[i],
                "shares_outstanding": shares[i].astype("int64"),
            }
        )
        for i, ticker in enumerate(SAMPLE_TICKERS)
    ]
    history = pd.concat(frames, ignore_index=True)
    history["is_synthetic"] = True
    history["source"] = sample_source(seed)
    return history.sort_values(["ticker", "date"], kind="stable").reset_index(drop=True)
