"""CSV text: delimiter (, ; tab |) and header line sniffed from the start of the file."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.errors import InvalidDataError
from helpers.ingest.fund_files.layout import (
    HEADER_SEARCH_ROWS,
    FileKind,
    Layout,
    find_layout,
    header_index,
    header_roles,
)
from helpers.ingest.fund_files.sniffing import Sniffed
from helpers.ingest.fund_files.table import Table


def read_csv(path: Path, sniffed: Sniffed, kind: FileKind) -> tuple[Table, Layout]:
    """The lines below the header as text cells, numbered as lines of the file, and the layout."""
    delimiter, header_line, data_line, width = _sniff_csv(sniffed.head)
    options = dict(
        sep=delimiter,
        header=None,
        names=list(range(width)),
        skiprows=header_line - 1,
        dtype=str,
        na_filter=False,
        skip_blank_lines=False,  # keeps record i on line data_line + i (plus multi-line cells)
        index_col=False,
    )
    try:
        try:
            raw = pd.read_csv(path, encoding=sniffed.encoding, **options)
        except UnicodeDecodeError:
            raw = pd.read_csv(path, encoding="latin-1", **options)  # e.g. cp1252 from Excel
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as error:
        detail = str(error).strip().replace("Error tokenizing data. C error: ", "")
        raise InvalidDataError(path, f"not a readable CSV file ({detail})") from None
    if raw.empty:
        raise InvalidDataError(path, f"no header line in the first {HEADER_SEARCH_ROWS} lines")
    headers = [str(h).strip() for h in raw.iloc[0]]
    layout = find_layout(headers, kind, path)
    cells = raw.iloc[1:].reset_index(drop=True)
    return Table(headers, cells, _csv_lines(cells, data_line)), layout


def _sniff_csv(head: str) -> tuple[str, int, int, int]:
    """(delimiter, header line, first data line, column count) from the start of a CSV.

    The delimiter is the one under which a header (see header_index) names the most columns
    and splits into the most fields; without any header, the one splitting the first line most.
    """
    candidates = []
    for delimiter in ",;\t|":
        records = _head_records(head, delimiter)
        if not records:
            continue
        index = header_index([fields for _, _, fields in records])
        start, end, fields = records[index or 0]
        score = (index is not None, len(header_roles(fields)), len(fields))
        widest = max(len(fields) for _, _, fields in records)
        candidates.append((score, delimiter, start, end, widest))
    if not candidates:
        return ",", 1, 2, 1
    _, delimiter, start, end, widest = max(candidates, key=lambda c: c[0])
    return delimiter, start, end + 1, widest


def _head_records(head: str, delimiter: str) -> list[tuple[int, int, list[str]]]:
    """(first line, last line, fields) of the non-blank records among a head's first lines."""
    reader = csv.reader(io.StringIO(head), delimiter=delimiter)
    records, start = [], 1
    try:
        for fields in reader:
            if any(f.strip() for f in fields):
                records.append((start, reader.line_num, fields))
            start = reader.line_num + 1
            if reader.line_num >= HEADER_SEARCH_ROWS:
                break
    except csv.Error:
        return []
    return records


def _csv_lines(cells: pd.DataFrame, data_line: int) -> np.ndarray:
    """The line each record starts on: consecutive, shifted by line breaks inside cells."""
    lines = data_line + np.arange(len(cells), dtype=np.int64)
    breaks = np.zeros(len(cells), dtype=np.int64)
    for _, column in cells.items():
        if column.str.contains("\n", regex=False).any():
            breaks += column.str.count("\n").to_numpy(np.int64)
    if breaks.any():
        lines[1:] += np.cumsum(breaks)[:-1]
    return lines
