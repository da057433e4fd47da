"""SpreadsheetML 2003 XML (iShares' .xls): the sheet named "Historical", streamed by defusedxml.

The workbook is read as iShares sends it: a bare "&" (in its links' `ss:HRef`) is escaped on
the way to the parser (safe_xml.BareAmpersandsEscaped), a byte-order mark and the `ss:` prefix
are taken as they come, sparse cells are placed by `ss:Index`. A DOCTYPE or ENTITY declaration
is refused (entity expansion), as is XML malformed otherwise, with its line and column.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.parsers.expat import ErrorString

from helpers.errors import InvalidDataError
from helpers.ingest.fund_files.layout import (
    HEADER_SEARCH_ROWS,
    FileKind,
    Layout,
    header_index,
    looked_for,
)
from helpers.ingest.fund_files.safe_xml import (
    DTD_REFUSAL,
    SPREADSHEETML_NS,
    BareAmpersandsEscaped,
    DefusedXmlException,
    iterparse,
    local_name,
)
from helpers.ingest.fund_files.sniffing import Sniffed, refusal
from helpers.ingest.fund_files.table import Table, table_from_rows


def read_spreadsheetml(path: Path, sniffed: Sniffed, kind: FileKind) -> tuple[Table, Layout]:
    """The rows of the sheet 'Historical' from its header row on, and their layout."""
    sheets, rows = _historical_rows(path, sniffed)
    if rows is None:
        found = ", ".join(f"'{s}'" for s in sheets) or "none"
        raise InvalidDataError(path, f"no sheet named 'Historical'; sheets found: {found}")
    start = header_index([values for _, values in rows])
    if start is not None:
        return table_from_rows(rows, start, path, kind)
    raise InvalidDataError(
        path,
        f"sheet 'Historical' has no header row with a date column in its first"
        f" {HEADER_SEARCH_ROWS} rows (looked for {looked_for('date')})",
    )


def _ss_attribute(element: ET.Element, name: str) -> str | None:
    return element.get(f"{{{SPREADSHEETML_NS}}}{name}", element.get(name))


def _historical_rows(
    path: Path, sniffed: Sniffed
) -> tuple[list[str], list[tuple[int, list]] | None]:
    """(all sheet names, rows of the sheet named 'Historical' or None), streaming the XML.

    Sniffing refused a DOCTYPE before the root already; parsing with defusedxml here too keeps
    the whole file from declaring any.
    """
    sheets: list[str] = []
    rows: list[tuple[int, list]] | None = None
    reading, row_number = False, 0
    with path.open("rb") as handle:
        stream = BareAmpersandsEscaped(
            handle, ascii_compatible=not sniffed.encoding.startswith("utf-16")
        )
        try:
            for event, element in iterparse(stream, ("start", "end")):
                tag = local_name(element.tag)
                if event == "start" and tag == "Worksheet":
                    sheets.append(_ss_attribute(element, "Name") or "")
                    reading = rows is None and sheets[-1].strip().casefold() == "historical"
                    rows = [] if reading else rows
                    row_number = 0
                elif event == "end" and tag == "Row":
                    if reading and rows is not None:
                        row_number = _spreadsheet_index(element, row_number, path, "row")
                        rows.append((row_number, _row_values(element, path)))
                    element.clear()  # stream: memory stays flat on large workbooks
                elif event == "end" and tag == "Worksheet":
                    reading = False
                    element.clear()
        except DefusedXmlException:
            raise refusal(path, DTD_REFUSAL) from None
        except ET.ParseError as error:
            line, column = error.position  # expat counts columns from 0; editors from 1
            column = stream.original_column(line, column)
            problem = f"malformed XML at line {line}, column {column + 1}"
            raise InvalidDataError(path, f"{problem}: {ErrorString(error.code)}") from None
    return sheets, rows


def _spreadsheet_index(element: ET.Element, previous: int, path: Path, what: str) -> int:
    """The 1-based number of a Row or Cell (`what`: "row" or "column"); ss:Index skips ahead."""
    index = _ss_attribute(element, "Index")
    if index is None:
        return previous + 1
    if not index.strip().isdigit() or int(index) <= previous:
        raise InvalidDataError(
            path, f"{what} after {what} {previous}: ss:Index {index!r} is not a later {what}"
        )
    return int(index)


def _row_values(row: ET.Element, path: Path) -> list[object]:
    """A row's cell texts by column (ss:Index and ss:MergeAcross leave gaps)."""
    values: dict[int, object] = {}
    column = 0
    for cell in (child for child in row if local_name(child.tag) == "Cell"):
        column = _spreadsheet_index(cell, column, path, "column")
        data = next((c for c in cell if local_name(c.tag) == "Data"), None)
        if data is not None:
            values[column] = _cell_value(data)
        merged = _ss_attribute(cell, "MergeAcross")
        if merged and merged.strip().isdigit():
            column += int(merged)
    width = max(values, default=0)
    return [values.get(c) for c in range(1, width + 1)]


def _cell_value(data: ET.Element) -> object:
    """A <Data> element's value: DateTime cells as datetimes, others as their text."""
    text = "".join(data.itertext())  # <Data> may hold markup such as <Font> or <B>
    if _ss_attribute(data, "Type") == "DateTime":
        try:
            return dt.datetime.fromisoformat(text.strip())
        except ValueError:
            return text  # reported as not a date, with the row
    return text
