"""XLSX workbooks (openpyxl): the sheet named "Historical" first, else the first with a header.

A "Ticker:" row above the header (Xtrackers' exports) names the ticker; sniffing has checked the
archive's sizes before openpyxl unpacks anything (zip bombs).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

from helpers.errors import InvalidDataError
from helpers.ingest.fund_files.layout import (
    HEADER_SEARCH_ROWS,
    FileKind,
    Layout,
    header_index,
    looked_for,
)
from helpers.ingest.fund_files.sniffing import Sniffed
from helpers.ingest.fund_files.table import Table, table_from_rows


def read_xlsx(path: Path, sniffed: Sniffed, kind: FileKind) -> tuple[Table, Layout]:
    """The rows of the first sheet that has a header row ('Historical' first), the layout."""
    import openpyxl  # only needed for workbooks

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types on damaged files
        raise InvalidDataError(path, f"not a readable XLSX workbook ({error})") from None
    sheets = list(workbook.sheetnames)
    try:
        rows, start = [], None
        for name in sorted(sheets, key=lambda n: n.strip().casefold() != "historical"):
            rows, start = _sheet_rows(workbook[name])
            if start is not None:
                break
    except Exception as error:  # damaged sheet XML inside the zip
        raise InvalidDataError(path, f"not a readable XLSX workbook ({error})") from None
    finally:
        workbook.close()
    if start is not None:
        return table_from_rows(rows, start, path, kind)
    found = ", ".join(f"'{n}'" for n in sheets)
    raise InvalidDataError(
        path,
        f"no sheet has a header row with a date column in its first {HEADER_SEARCH_ROWS} rows"
        f" (looked for {looked_for('date')}); sheets found: {found}",
    )


def _sheet_rows(sheet) -> tuple[list[tuple[int, Sequence[object]]], int | None]:
    """The sheet's (row number, values) and the index of its header row (see header_index);
    ([first rows], None) when it has none, without reading further."""
    numbered = enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1)
    first = list(itertools.islice(numbered, HEADER_SEARCH_ROWS))
    start = header_index([values for _, values in first])
    return (first, None) if start is None else (first + list(numbered), start)
