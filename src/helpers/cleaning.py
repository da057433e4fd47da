"""From data/raw to data/processed: validated facts, fund history, daily flows, quality."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers import flows, io, load, paths
from helpers.errors import InvalidParameterError


@dataclass
class CleanedData:
    tables: dict[str, pd.DataFrame]  # by the names of helpers.paths.PROCESSED_FILES
    quality: pd.DataFrame  # one row per table and reason: rows read, kept, dropped
    flows_source: str  # "sample" or "user"


def flows_source(daily: pd.DataFrame) -> str:
    """'sample' when every fund row is synthetic, else 'user'."""
    return "sample" if bool(daily["is_synthetic"].all()) else "user"


def _quality_row(table: str, file: str, read: int, kept: int, reason: str = "") -> dict:
    return {
        "table": table,
        "file": file,
        "rows_read": read,
        "rows_kept": kept,
        "rows_dropped": read - kept,
        "note": reason,
    }


def _relative(path: Path, raw_dir: Path) -> str:
    return str(path.relative_to(raw_dir))


def clean_inputs(
    raw_dir: str | Path, as_of: str = "", nav_basis: str = "today", shares_lag_days: int = 0
) -> CleanedData:
    """Read and validate every raw file, keep fund data up to `as_of`, derive daily flows."""
    raw_dir = Path(raw_dir)
    facts = load.read_facts(raw_dir)
    quality = [
        _quality_row(name, paths.RAW_FILES[name], len(table), len(table))
        for name, table in facts.items()
    ]

    history, origin = load.read_fund_history(raw_dir)
    history_file = (
        _relative(raw_dir / paths.SAMPLE_FUND_HISTORY, raw_dir)
        if origin == "sample"
        else ", ".join(_relative(p, raw_dir) for p in load.user_fund_files(raw_dir))
    )
    read = len(history)
    if as_of:
        cut = pd.Timestamp(as_of)
        if cut < history["date"].min():
            raise InvalidParameterError(
                f"as_of {as_of} is before the first date in the fund data "
                f"({history['date'].min().date()})"
            )
        history = history[history["date"] <= cut]
        quality.append(
            _quality_row(
                "fund_history",
                history_file,
                read,
                len(history),
                f"dropped: dated after the as-of date {as_of}",
            )
        )
    else:
        quality.append(_quality_row("fund_history", history_file, read, len(history)))

    daily = flows.derive_daily_flows(history, nav_basis=nav_basis, shares_lag_days=shares_lag_days)
    base_days = int(daily["flow_usd"].isna().sum())
    quality.append(
        _quality_row(
            "daily_flows",
            "derived from fund_history",
            len(daily),
            len(daily),
            f"kept without a flow: {base_days} row(s) with no previous day to difference "
            "against (each fund's first day, the base of the next day's flow)",
        )
    )
    tables = {**facts, "fund_history": history, "daily_flows": daily}
    return CleanedData(tables, pd.DataFrame(quality), flows_source(daily))


def write_processed(cleaned: CleanedData, processed_dir: str | Path) -> list[Path]:
    """Write every cleaned table and the quality table to `processed_dir` (atomically each)."""
    written = [
        io.write_table(table, paths.processed_path(processed_dir, name))
        for name, table in cleaned.tables.items()
    ]
    written.append(
        io.write_table(cleaned.quality, paths.processed_path(processed_dir, "data_quality"))
    )
    return written
