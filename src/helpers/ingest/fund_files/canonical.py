"""The canonical table: the stages put together by `read_fund_file`, then sorted and de-duplicated.

Sniff the format, read the raw cells with the format's reader, drop blank rows, check and parse
every cell (all problems of the file reported together), convert to the output's units, sort by
ticker and date, and keep a (ticker, date) given twice once when its values agree.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.errors import InvalidDataError, InvalidParameterError
from helpers.ingest.fund_files.cells import DAY_US, Tickers
from helpers.ingest.fund_files.checks import (
    MAX_LISTED_ROWS,
    Problems,
    checked_dates,
    checked_tickers,
    checked_values,
    flow_scale,
)
from helpers.ingest.fund_files.csv_reader import read_csv
from helpers.ingest.fund_files.json_reader import read_json
from helpers.ingest.fund_files.layout import FileKind, Layout
from helpers.ingest.fund_files.parquet_reader import read_parquet
from helpers.ingest.fund_files.sniffing import Sniffed, sniff
from helpers.ingest.fund_files.spreadsheetml_reader import read_spreadsheetml
from helpers.ingest.fund_files.table import Table, without_blank_rows
from helpers.ingest.fund_files.xlsx_reader import read_xlsx


def _monthly_filing(path: Path, sniffed: Sniffed, kind: FileKind) -> tuple[Table, Layout]:
    """N-PORT filings hold monthly flows, not daily rows: they have a reader of their own."""
    raise InvalidDataError(
        path,
        "it is an SEC N-PORT filing (flows per month), read by read_nport_filing,"
        " not a table of daily values",
    )


_READERS: dict[str, Callable[[Path, Sniffed, FileKind], tuple[Table, Layout]]] = {
    "csv": read_csv,
    "xlsx": read_xlsx,
    "spreadsheetml": read_spreadsheetml,
    "parquet": read_parquet,
    "json": read_json,
    "nport": _monthly_filing,
}


def _sort_order(keys: np.ndarray) -> np.ndarray | None:
    """The rows' order by key, or None when they are in order already (no copies then)."""
    if len(keys) < 2 or bool(np.all(keys[1:] >= keys[:-1])):
        return None
    return np.argsort(keys, kind="stable")  # stable: the first of repeated rows stays first


def _duplicates(
    keys: np.ndarray, values: dict[str, np.ndarray]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """For sorted rows: which to keep (later identical repeats dropped), and the positions of
    each (ticker, date) given more than once with different values (up to MAX_LISTED_ROWS)."""
    repeat = np.concatenate([[False], keys[1:] == keys[:-1]])
    if not repeat.any():
        return np.ones(len(keys), dtype=bool), []
    differs = np.zeros(len(keys), dtype=bool)
    for column in values.values():  # NaN (a NAV-only file's shares) equals NaN here
        later, earlier = column[1:], column[:-1]
        differs[1:] |= (later != earlier) & ~(np.isnan(later) & np.isnan(earlier))
    group = np.cumsum(~repeat) - 1
    conflicting = np.unique(group[repeat & differs])[:MAX_LISTED_ROWS]
    members = np.flatnonzero(np.isin(group, conflicting))
    return ~repeat, [members[group[members] == g] for g in conflicting]


def _describe_duplicate(rows: np.ndarray, table: Table, dates: np.ndarray, tickers: Tickers) -> str:
    numbers = sorted(int(n) for n in table.source_row[rows])
    listed = ", ".join(str(n) for n in numbers[:-1]) + f" and {numbers[-1]}"
    times = "twice" if len(numbers) == 2 else f"{len(numbers)} times"
    day = str(dates[rows[0]])[:10]
    ticker = tickers.names[tickers.codes[rows[0]]]
    return f"rows {listed}: date {day} appears {times} with different values (ticker {ticker})"


def _canonical(
    table: Table,
    dates: np.ndarray,
    tickers: Tickers,
    values: dict[str, np.ndarray],
    problems: Problems,
) -> pd.DataFrame:
    """Sort by ticker and date, drop identical repeats, refuse conflicting ones."""
    days = dates.view(np.int64) // DAY_US  # dates are whole days by now, without NaT
    first = int(days.min())
    keys = tickers.codes * (int(days.max()) - first + 1) + (days - first)
    order = _sort_order(keys)
    rows = np.arange(len(keys)) if order is None else order

    def arranged(array: np.ndarray) -> np.ndarray:
        return array if order is None else array[order]

    columns = {name: arranged(array) for name, array in values.items()}
    keep, conflicts = _duplicates(arranged(keys), columns)
    for positions in conflicts:
        problems.file(_describe_duplicate(rows[positions], table, dates, tickers))
    problems.raise_if_any()
    names = pd.array(tickers.names.astype(str), dtype="str")
    columns = {
        "date": arranged(dates),
        "ticker": names.take(arranged(tickers.codes)),
        **columns,
        "source_row": arranged(table.source_row).astype(np.int64, copy=False),
    }
    if not keep.all():
        columns = {name: column[keep] for name, column in columns.items()}
    return pd.DataFrame(columns, copy=False)


def read_fund_file(path: str | Path, kind: FileKind, *, date_format: str = "") -> pd.DataFrame:
    """Read one fund-history (kind="history") or fund-flow (kind="flows") file of any format.

    Returns date, ticker, nav, shares_outstanding, source_row (history) or date, ticker,
    flow_usd, source_row (flows), sorted by ticker and date. For history files without a
    shares-outstanding column, shares outstanding are computed as net assets / NAV (net assets in
    US dollars, scaled by a unit in its header); a NAV-only file (Invesco's NAV history) has
    shares outstanding NaN on every row. Flows are converted to US dollars with the unit
    stated in the header or the 'Unit' column. `date_format` (a strftime format such as
    "%d/%m/%Y") settles slash dates that could be day-first or month-first. The package docstring
    (helpers.ingest.fund_files) lists the recognised formats, headers, units and date rules.

    Raises InvalidDataError naming the file, the rows and the columns of every problem found.
    """
    _check_kind(kind)
    path = Path(path)
    table, layout = _read_cells(path, sniff(path), kind)
    problems = Problems(path, table.source_row)
    dates = checked_dates(table, layout, problems, date_format)
    tickers = checked_tickers(table, layout, problems)
    values = checked_values(table, layout, problems)
    scale = flow_scale(table, layout, problems) if kind == "flows" else 1.0
    problems.raise_if_any()
    values = _in_units(values, layout, scale)
    return _canonical(table, dates, tickers, values, problems)


def _check_kind(kind: str) -> None:
    if kind not in ("history", "flows"):
        raise InvalidParameterError(f"kind must be 'history' or 'flows', not {kind!r}")


def _read_cells(path: Path, sniffed: Sniffed, kind: FileKind) -> tuple[Table, Layout]:
    """The file's raw cells without blank rows, and its layout (refused when it has no rows)."""
    table, layout = _READERS[sniffed.format](path, sniffed, kind)
    table = without_blank_rows(table)
    if table.cells.empty:
        raise InvalidDataError(path, "no data rows below the header")
    return table, layout


def _in_units(values: dict[str, np.ndarray], layout: Layout, flow_unit_scale: float) -> dict:
    """Scaled values in the output's columns and units."""
    if "flow_usd" in values:
        return {"flow_usd": values["flow_usd"] * flow_unit_scale}
    nav = values["nav"]
    if "shares_outstanding" in values:
        scale = layout.values["shares_outstanding"].unit.scale or 1.0
        return {"nav": nav, "shares_outstanding": values["shares_outstanding"] * scale}
    if "net_assets" in values:
        net_assets = values["net_assets"] * (layout.values["net_assets"].unit.scale or 1.0)
        return {"nav": nav, "shares_outstanding": net_assets / nav}
    return {"nav": nav, "shares_outstanding": np.full(len(nav), np.nan)}  # NAV-only formats
