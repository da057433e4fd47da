"""XLSX workbooks (openpyxl): the sheet named "Historical" first, else the first with a header."""

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
    """The rows from the header row on of the first sheet that has one ('Historical' first)."""
    import openpyxl  # only needed for workbooks

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types on damaged files
        raise InvalidDataError(path, f"not a readable XLSX workbook ({error})") from None
    sheets = list(workbook.sheetnames)
    try:
        rows = []
        for name in sorted(sheets, key=lambda n: n.strip().casefold() != "historical"):
            rows = _sheet_rows_from_header(workbook[name])
            if rows:
                break
    except Exception as error:  # damaged sheet XML inside the zip
        raise InvalidDataError(path, f"not a readable XLSX workbook ({error})") from None
    finally:
        workbook.close()
    if rows:
        return table_from_rows(rows, path, kind)
    found = ", ".join(f"'{n}'" for n in sheets)
    raise InvalidDataError(
        path,
        f"no sheet has a header row with a date column in its first {HEADER_SEARCH_ROWS} rows"
        f" (looked for {looked_for('date')}); sheets found: {found}",
    )


def _sheet_rows_from_header(sheet) -> list[tuple[int, Sequence[object]]]:
    """(row number, values) from the header row (see header_index) to the end; [] if none."""
    numbered = enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1)
    first = list(itertools.islice(numbered, HEADER_SEARCH_ROWS))
    start = header_index([values for _, values in first])
    return [] if start is None else first[start:] + list(numbered)
