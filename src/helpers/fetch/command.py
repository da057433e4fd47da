"""The `chinaflows fetch` verb: its arguments, and what it prints and returns.

The summary goes to stdout; refusals (bad arguments or sources file, a fetch or a run in the
way) go to stderr, one message each; with no network at all, one line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from helpers.paths import FETCH_SOURCES_FILE

if TYPE_CHECKING:
    from helpers.fetch.session import FetchClock

PROG = "chinaflows fetch"
DEFAULT_LOCK_WAIT_SECONDS = 600.0  # how long a finished fetch waits for a run to release


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _tickers(text: str) -> list[str]:
    tickers = [t.strip().upper() for t in text.split(",") if t.strip()]
    if not tickers:
        raise argparse.ArgumentTypeError("expected tickers separated by commas, e.g. FXI,MCHI")
    return tickers


def add_fetch_arguments(command: argparse.ArgumentParser) -> None:
    """The options of `chinaflows fetch`."""
    command.add_argument(
        "--tickers",
        type=_tickers,
        metavar="A,B",
        help="fetch these funds only (default: every fund of data/raw/etf_universe.csv)",
    )
    command.add_argument(
        "--until",
        type=_date,
        metavar="YYYY-MM-DD",
        help="keep N-PORT filings reporting on this date or earlier (default: today)",
    )
    command.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=f"the sources file (default: {FETCH_SOURCES_FILE} at the project root)",
    )
    command.add_argument(
        "--check",
        action="store_true",
        help="download one file per source and say whether its format is still the expected"
        " one; keeps nothing",
    )
    command.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_LOCK_WAIT_SECONDS,
        metavar="SECONDS",
        help="how long finished downloads wait for a run to release the run lock before they"
        f" are given up (default: {DEFAULT_LOCK_WAIT_SECONDS:g})",
    )


def run_fetch(args: argparse.Namespace, clock: FetchClock | None = None) -> int:
    """Do what `chinaflows fetch` was asked; print the summary; return the exit code."""
    # Imported here: pandas, requests and pydantic cost seconds that every other `chinaflows`
    # command (run, status, ...) would pay at start-up.
    from helpers.errors import InvalidDataError, InvalidParameterError
    from helpers.fetch.fetching import fetch_sources
    from helpers.fetch.kept_files import FetchInProgress, RunInProgress
    from helpers.fetch.outcomes import FetchExitCode
    from helpers.fetch.sources_file import SourcesFileError, load_sources_file

    layout = args.project_dir
    config_path = args.config or layout.root / FETCH_SOURCES_FILE
    try:
        config = load_sources_file(config_path)
        report = fetch_sources(
            layout,
            config,
            args.tickers,
            until=args.until,
            clock=clock,
            checking=args.check,
            lock_wait_seconds=args.wait,
        )
    except (SourcesFileError, InvalidParameterError, InvalidDataError) as refusal:
        print(f"{PROG}: {refusal}", file=sys.stderr)
        return FetchExitCode.USAGE
    except (FetchInProgress, RunInProgress) as busy:
        print(f"{PROG}: {busy}", file=sys.stderr)
        return FetchExitCode.IN_PROGRESS
    unreachable = report.unreachable()
    if unreachable is not None:
        print(
            f"{PROG}: no source could be reached: every connection failed (e.g."
            f" {unreachable.address}: {unreachable.problem}); check the network and fetch again",
            file=sys.stderr,
        )
        return FetchExitCode.ALL_FAILED
    print(report.summary())
    return report.exit_code()
