"""A copy of the project with a SYNTHETIC fund history at benchmark scale (not market data).

`make_scale_project(target, tickers, years, seed)` copies the notebooks, pipeline.yaml and
data/raw (without any user files in fund_history/ or flows/) into `target`, writes one Parquet
fund history of `tickers` ETFs over `years` years of NYSE trading days ending 2025-12-31 into
`target/data/raw/fund_history/`, and adds the synthetic tickers to the copy's etf_universe.csv.

The tickers are those of etf_universe.csv (so the cohorts of pipeline.yaml are all there) and
synthetic ones, SYAAA, SYAAB, ...: a ticker must be 2 to 5 capital letters, so a numbered
`SYN0001` would be refused by the readers. Each synthetic ticker's row in etf_universe.csv says
it is a synthetic benchmark ticker.

    python benchmarks/scale_data.py TARGET [--tickers 3000] [--years 20] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import string
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from helpers import paths
from helpers.ingest import market_calendar

END = "2025-12-31"
SYNTHETIC_SOURCE = "synthetic benchmark ticker (benchmarks/scale_data.py)"
HISTORY_FILE = "synthetic_benchmark_fund_history.parquet"
TICKER_PREFIX = "SY"  # + three letters: room for 26**3 synthetic tickers

# Assumptions of the synthetic data, not estimates: NAVs are geometric random walks; shares
# outstanding change on some days by a few percent at most, in whole creation units (as ETF
# shares do), never below one unit.
CREATION_UNIT = 50_000
DAILY_VOLATILITY = (0.008, 0.03)  # range of each fund's daily log-return volatility
START_NAV_USD = (10.0, 80.0)
START_SHARES_LOG10 = (6.0, 8.5)
CHANGE_PROBABILITY = 0.15  # share of days on which shares outstanding change
CHANGE_VOLATILITY = 0.01  # standard deviation of the log change in shares on those days


def synthetic_tickers(count: int, taken: set[str]) -> list[str]:
    """`count` tickers SYAAA, SYAAB, ... that are not in `taken`."""
    letters = ("".join(t) for t in itertools.product(string.ascii_uppercase, repeat=3))
    free = (ticker for suffix in letters if (ticker := TICKER_PREFIX + suffix) not in taken)
    tickers = list(itertools.islice(free, count))
    if len(tickers) < count:
        raise ValueError(f"at most {len(tickers)} synthetic tickers can be named; asked {count}")
    return tickers


def synthetic_fund_history(
    tickers: list[str], sessions: pd.DatetimeIndex, seed: int = 0
) -> pa.Table:
    """Long table date, ticker, nav, shares_outstanding, sorted by ticker and date (seeded)."""
    rng = np.random.default_rng(seed)
    funds, days = len(tickers), len(sessions)
    volatility = rng.uniform(*DAILY_VOLATILITY, size=(funds, 1))
    log_returns = rng.standard_normal((funds, days)) * volatility - volatility**2 / 2
    log_returns[:, 0] = np.log(rng.uniform(*START_NAV_USD, size=funds))
    nav = np.round(np.exp(np.cumsum(log_returns, axis=1)), 4)
    del log_returns

    start_units = 10 ** rng.uniform(*START_SHARES_LOG10, size=(funds, 1)) / CREATION_UNIT
    changes = rng.standard_normal((funds, days)) * CHANGE_VOLATILITY
    changes[rng.random((funds, days)) >= CHANGE_PROBABILITY] = 0
    units = np.maximum(np.round(start_units * np.exp(np.cumsum(changes, axis=1))), 1)
    del changes
    shares = units.astype(np.int64) * CREATION_UNIT

    names = pa.array(tickers, type=pa.string())
    return pa.table(
        {
            "date": np.tile(sessions.to_numpy("datetime64[D]"), funds),
            "ticker": pa.DictionaryArray.from_arrays(
                np.repeat(np.arange(funds, dtype=np.int32), days), names
            ).dictionary_decode(),
            "nav": nav.ravel(),
            "shares_outstanding": shares.ravel(),
        }
    )


def _universe_rows(tickers: list[str], inception: pd.Timestamp, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [
        {
            "ticker": ticker,
            "name": f"Synthetic benchmark fund {ticker}",
            "issuer": "none: synthetic",
            "inception": f"{inception:%Y-%m-%d}",
            "expense_ratio_pct": f"{ratio:.2f}",
            "expense_ratio_note": "synthetic",
            "index_tracked": "none: synthetic",
            "cohort": "other",
            "core": "false",
            "source_publisher": SYNTHETIC_SOURCE,
            "source_date": END,
            "source_url": "benchmarks/scale_data.py",
            "source_kind": "synthetic",
            "source_note": f"{SYNTHETIC_SOURCE}, seed {seed}: not a real fund",
        }
        for ticker, ratio in zip(tickers, rng.uniform(0.2, 0.9, len(tickers)), strict=True)
    ]


def _append_csv_rows(path: Path, rows: list[dict]) -> None:
    """Append rows to a CSV, keeping its existing lines as they are."""
    text = path.read_text(encoding="utf-8-sig")
    header = next(csv.reader(text.splitlines()))
    with path.open("a", newline="", encoding="utf-8") as handle:
        if text and not text.endswith("\n"):
            handle.write("\n")
        csv.DictWriter(handle, fieldnames=header, lineterminator="\n").writerows(rows)


def make_scale_project(target: Path, tickers: int = 3000, years: int = 20, seed: int = 0) -> Path:
    """A project copy in `target` whose fund data are `tickers` synthetic histories over `years`
    years of NYSE trading days ending on END; returns the project folder."""
    root = paths.copy_project_inputs(Path(target))
    raw_dir = paths.ProjectLayout(root).raw_dir
    universe_path = paths.raw_path(raw_dir, "etf_universe")
    real = pd.read_csv(universe_path, usecols=["ticker"], dtype=str)["ticker"].tolist()[:tickers]
    synthetic = synthetic_tickers(tickers - len(real), set(real))
    end = pd.Timestamp(END)
    sessions = market_calendar.trading_sessions(end - pd.DateOffset(years=years), end)
    history = synthetic_fund_history(real + synthetic, sessions, seed)
    pq.write_table(history, raw_dir / paths.USER_FUND_HISTORY_DIR / HISTORY_FILE)
    _append_csv_rows(universe_path, _universe_rows(synthetic, sessions[0], seed))
    return root


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path, help="folder to create the project copy in")
    parser.add_argument("--tickers", type=int, default=3000)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    root = make_scale_project(args.target, args.tickers, args.years, args.seed)
    history = paths.ProjectLayout(root).raw_dir / paths.USER_FUND_HISTORY_DIR / HISTORY_FILE
    rows = pq.ParquetFile(history).metadata.num_rows
    print(f"{root}: {rows:,} rows in {history.name}, {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
