"""Checking the parsed cells: every problem of a file is collected, with its row and column."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.errors import InvalidDataError
from helpers.ingest.fund_files.cells import (
    NO_VALUE,
    Tickers,
    as_text,
    parse_dates,
    parse_numbers,
    parse_tickers,
)
from helpers.ingest.fund_files.layout import (
    Column,
    Layout,
    header_name,
    money_unit,
    parse_unit,
    unit_not_stated,
)
from helpers.ingest.fund_files.table import Table

MAX_LISTED_ROWS = 50  # failing rows listed per check; the rest are counted


class Problems:
    """Problems of one file, kept in row order; failing rows are listed up to a cap per check."""

    def __init__(self, path: Path, source_row: np.ndarray):
        self.path = path
        self.source_row = source_row
        self._items: list[tuple[float, int, str]] = []

    def file(self, text: str) -> None:
        """A problem of the whole file (listed first)."""
        self._items.append((-1, 0, text))

    def cells(
        self, mask: np.ndarray, raw: pd.Series, column: Column, describe: Callable[[object], str]
    ) -> None:
        """The cells under `mask`, each described by `describe(cell)` with its row and column."""
        rows = np.flatnonzero(mask)
        for index in rows[:MAX_LISTED_ROWS]:
            row = int(self.source_row[index])
            text = f"row {row}, column '{column.header}': {describe(raw.iloc[index])}"
            self._items.append((row, column.position, text))
        if len(rows) > MAX_LISTED_ROWS:
            more = len(rows) - MAX_LISTED_ROWS
            text = f"column '{column.header}': {more} more row(s) with the same problem"
            self._items.append((np.inf, column.position, text))

    def raise_if_any(self) -> None:
        """Raise InvalidDataError naming the file and listing every problem, if there are any."""
        if self._items:
            raise InvalidDataError(self.path, [text for *_, text in sorted(self._items)])


def show(value: object) -> str:
    """A cell's value quoted for a message, cut to 40 characters."""
    text = value if isinstance(value, str) else str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _is_empty(_: object) -> str:
    return "the cell is empty"


def _no_value(_: object) -> str:
    return "no value (the cell is empty or '--')"


def _not_a_number(value: object) -> str:
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+,\d{1,2}\s*", value):
        return f"{show(value)} is not a number (write decimals with '.', not ',')"
    return f"{show(value)} is not a number"


_POSITIVE_RULES = {
    "nav": "a NAV must be greater than 0",
    "shares_outstanding": "shares outstanding must be greater than 0",
    "net_assets": "net assets must be greater than 0",
}


def checked_values(table: Table, layout: Layout, problems: Problems) -> dict[str, np.ndarray]:
    """Each value column parsed, with empty, non-numeric and out-of-range cells reported."""
    values = {}
    for name, column in layout.values.items():
        raw = table.cells[column.position]
        parsed = parse_numbers(raw)
        problems.cells(parsed.missing, raw, column, _no_value)
        problems.cells(parsed.bad, raw, column, _not_a_number)
        if name in _POSITIVE_RULES:
            rule = _POSITIVE_RULES[name]
            low = np.isfinite(parsed.values) & (parsed.values <= 0)
            problems.cells(low, raw, column, lambda v, rule=rule: f"{show(v)}: {rule}")
        values[name] = parsed.values
    return values


def checked_dates(table: Table, layout: Layout, problems: Problems, date_format: str) -> np.ndarray:
    """The date column parsed, with empty, unreadable and future dates reported."""
    raw = table.cells[layout.date.position]
    parsed = parse_dates(raw, layout.date.header, date_format, excel_serials=table.excel_dates)
    if parsed.problem:
        problems.file(parsed.problem)
        return parsed.values
    hint = f" (other dates in the column look like {show(parsed.example)})"
    hint = hint if parsed.example else ""
    problems.cells(parsed.missing, raw, layout.date, _is_empty)
    problems.cells(parsed.bad, raw, layout.date, lambda v: f"{show(v)} is not a date{hint}")
    future = parsed.values > np.datetime64(today(), "us")  # NaT compares False
    problems.cells(future, raw, layout.date, lambda v: f"{show(v)} is after today")
    return parsed.values


def today() -> dt.date:
    """The latest date that can be today somewhere the data may come from: the later of the
    local and the UTC date."""
    return max(dt.date.today(), dt.datetime.now(dt.UTC).date())


def checked_tickers(table: Table, layout: Layout, problems: Problems) -> Tickers:
    """Each row's ticker (the file name's when there is no ticker column), bad cells reported."""
    rows = len(table.cells)
    if layout.ticker is None:
        none = np.zeros(rows, dtype=bool)
        names = np.array([layout.file_ticker], dtype=object)
        return Tickers(np.zeros(rows, dtype=np.int64), names, none, none)
    raw = table.cells[layout.ticker.position]
    tickers = parse_tickers(raw)
    problems.cells(tickers.missing, raw, layout.ticker, _is_empty)
    not_ticker = "is not a ticker (2 to 5 letters)"
    problems.cells(tickers.bad, raw, layout.ticker, lambda v: f"{show(v)} {not_ticker}")
    return tickers


def flow_scale(table: Table, layout: Layout, problems: Problems) -> float:
    """Dollars per unit of the flows column, from its header or the 'Unit' column."""
    flow = layout.values["flow_usd"]
    header_scale = (flow.unit.scale or 1.0) if flow.unit.currency else None
    if layout.unit is None:
        return header_scale or 1.0
    units = as_text(table.cells[layout.unit.position], np.ones(len(table.cells), bool))
    stated = units[~units.str.lower().isin(NO_VALUE).fillna(True)].unique()
    if len(stated) == 0:
        if header_scale is None:
            problems.file(unit_not_stated(flow.header, flow.unit))
        return header_scale or 1.0
    if len(stated) > 1:
        shown = ", ".join(show(u) for u in stated[:5])
        problems.file(
            f"column '{layout.unit.header}' must hold one unit for the file; found {shown}"
        )
        return 1.0
    return _unit_cell_scale(str(stated[0]), layout.unit.header, header_scale, problems)


def _unit_cell_scale(
    text: str, header: str, header_scale: float | None, problems: Problems
) -> float:
    unit = parse_unit(text)
    problem = money_unit(unit)
    if header_name(text):  # words that are neither a currency nor a scale
        problem = "not a unit this reader knows; write e.g. 'USD millions' or '$bn'"
    elif not problem and unit.currency is None:
        problem = "the currency is not stated; write e.g. 'USD millions' or '$bn'"
    scale = unit.scale or 1.0
    if not problem and header_scale is not None and header_scale != scale:
        problem = "it disagrees with the unit in the header of the flows column"
    if problem:
        problems.file(f"column '{header}': unit {show(text)}: {problem}")
    return scale
