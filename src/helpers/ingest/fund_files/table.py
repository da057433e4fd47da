"""The raw cells every reader returns: a table of cells by column position, with row numbers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.ingest.fund_files.layout import FileKind, Layout, find_layout, ticker_stated_above


@dataclass
class Table:
    """Raw cells (columns labelled by their position in `headers`) and each row's number;
    `excel_dates`: a number in the date column is an Excel serial date (workbooks)."""

    headers: list[str]
    cells: pd.DataFrame
    source_row: np.ndarray
    excel_dates: bool = False


def table_from_rows(
    rows: list[tuple[int, Sequence[object]]], start: int, path: Path, kind: FileKind
) -> tuple[Table, Layout]:
    """A table from a workbook's (row number, values), whose header is rows[start]; a ticker
    stated above the header ('Ticker:', 'ASHR') is the ticker of a file without a ticker column.
    """
    stated_ticker = ticker_stated_above(rows[:start], path)
    rows = rows[start:]
    width = max(len(values) for _, values in rows)
    header, *data = rows
    headers = [str(v).strip() if v is not None else "" for v in header[1]]
    headers += [""] * (width - len(headers))
    layout = find_layout(headers, kind, path, stated_ticker=stated_ticker)
    cells = pd.DataFrame(
        [list(values) + [None] * (width - len(values)) for _, values in data],
        columns=range(width),
        dtype=object,
    )
    numbers = np.array([number for number, _ in data], dtype=np.int64)
    return Table(headers, cells, numbers, excel_dates=True), layout


def without_blank_rows(table: Table) -> Table:
    """Drop rows whose cells are all empty (typed columns are checked first: cheaper)."""
    blank = np.ones(len(table.cells), dtype=bool)
    columns = sorted(table.cells.items(), key=lambda item: _is_text(item[1]))
    for _, column in columns:
        rows = np.flatnonzero(blank)
        if not len(rows):
            break
        blank[rows] = _blank_cells(column.iloc[rows])
    if not blank.any():
        return table
    keep = ~blank
    cells = table.cells[keep].reset_index(drop=True)
    return Table(table.headers, cells, table.source_row[keep], table.excel_dates)


def _is_text(column: pd.Series) -> bool:
    return not (
        pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column)
    )


def _blank_cells(column: pd.Series) -> np.ndarray:
    blank = column.isna().to_numpy(bool)
    if not _is_text(column):
        return blank
    if isinstance(column.dtype, pd.CategoricalDtype):  # each distinct value is judged once
        blank_values = _blank_cells(pd.Series(column.cat.categories))
        return blank | np.append(blank_values, False)[column.cat.codes.to_numpy()]
    text = column.where(column.map(type).eq(str)) if column.dtype == object else column
    return blank | text.astype("str").str.strip().eq("").fillna(False).to_numpy(bool)
