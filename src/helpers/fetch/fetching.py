"""`chinaflows fetch`: every source of every fund, downloaded, checked and kept.

`fetch_sources` holds the fetch lock (one fetch at a time) for all its work: it sweeps what
killed fetches left, downloads into its staging folder without the run lock, then takes the run
lock only to put the finished files in place and rewrite the manifests. One fund's or source's
failure never stops the others; the report says what each gave.
"""

from __future__ import annotations

import datetime as dt

import filelock

from helpers.errors import InvalidDataError, InvalidParameterError
from helpers.fetch.command import DEFAULT_LOCK_WAIT_SECONDS
from helpers.fetch.issuers import issuer_outcomes
from helpers.fetch.kept_files import (
    FetchInProgress,
    FetchStaging,
    fetch_lock,
    put_in_place,
    sweep_stale_staging,
)
from helpers.fetch.outcomes import SOURCE_ORDER, FetchReport
from helpers.fetch.sec_nport import sec_outcomes
from helpers.fetch.session import FetchClock, FetchSession
from helpers.fetch.sources_file import FetchConfig
from helpers.ingest.load import read_csv_text
from helpers.paths import raw_path
from notebook_pipeline.layout import ProjectLayout


def universe_tickers(layout: ProjectLayout) -> list[str]:
    """The tickers of data/raw/etf_universe.csv, in its order (the file is validated whole by
    the pipeline's first step; the fetch needs only its tickers)."""
    path = raw_path(layout.raw_dir, "etf_universe")
    table = read_csv_text(path)
    if "ticker" not in table:
        raise InvalidDataError(path, "no 'ticker' column")
    return [ticker for ticker in table["ticker"].dropna()]


def chosen_tickers(layout: ProjectLayout, asked: list[str] | None) -> list[str]:
    """The funds to fetch: `asked` (each checked against the universe), else the universe."""
    universe = universe_tickers(layout)
    if not asked:
        return universe
    unknown = [ticker for ticker in asked if ticker not in universe]
    if unknown:
        raise InvalidParameterError(
            f"--tickers: {', '.join(unknown)} not in data/raw/etf_universe.csv"
            f" (its funds: {', '.join(universe)})"
        )
    return list(dict.fromkeys(asked))


def fetch_sources(
    layout: ProjectLayout,
    config: FetchConfig,
    tickers: list[str] | None = None,
    *,
    until: dt.date | None = None,
    today: dt.date | None = None,
    clock: FetchClock | None = None,
    checking: bool = False,
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
) -> FetchReport:
    """Fetch the sources of `tickers` (default: every fund of the universe), keeping N-PORT
    report dates up to `until` (default `today`). With `checking`, one file per source is
    downloaded and checked and nothing is kept.

    Raises InvalidParameterError for a ticker outside the universe, FetchInProgress when
    another fetch works in the project, RunInProgress when a run held the run lock for more
    than `lock_wait_seconds` once the downloads were done (nothing is kept then).
    """
    clock = clock or FetchClock()
    today = today or clock.now().date()
    funds = chosen_tickers(layout, tickers)
    try:
        with fetch_lock(layout):
            sweep_stale_staging(layout)
            staging = FetchStaging(layout)
            try:
                session = FetchSession(layout, config, staging, clock, until or today, checking)
                outcomes = issuer_outcomes(session, funds) + sec_outcomes(session, funds)
                if not checking:
                    put_in_place(layout, session.staged, lock_wait_seconds)
            finally:
                staging.remove()
    except filelock.Timeout:
        raise FetchInProgress(
            "another fetch is working in this project; wait for it to finish"
        ) from None
    order = {ticker: number for number, ticker in enumerate(funds)}
    outcomes.sort(key=lambda o: (order[o.ticker], SOURCE_ORDER.index(o.source)))
    return FetchReport(outcomes, checking)
