"""Parquet: typed columns used as they are; only the columns needed are read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from helpers.errors import InvalidDataError
from helpers.ingest.fund_files.layout import FileKind, Layout, find_layout
from helpers.ingest.fund_files.sniffing import Sniffed
from helpers.ingest.fund_files.table import Table


def read_parquet(path: Path, sniffed: Sniffed, kind: FileKind) -> tuple[Table, Layout]:
    """The columns the layout needs (only those are read), rows numbered from 2, the layout."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        headers = list(schema.names)
        layout = find_layout(headers, kind, path)
        positions = layout.positions
        # Tickers repeat on every row: read as a dictionary, each distinct one is parsed once.
        ticker = layout.ticker.position if layout.ticker else None
        dictionary = [
            headers[p] for p in positions if p == ticker and _is_arrow_text(schema.types[p])
        ]
        arrow = pq.read_table(
            path, columns=[headers[p] for p in positions], read_dictionary=dictionary
        )
    except (pa.ArrowException, OSError) as error:
        raise InvalidDataError(path, f"not a readable Parquet file ({error})") from None
    cells = pd.DataFrame(
        {p: _arrow_column(arrow.column(i)) for i, p in enumerate(positions)}, copy=False
    )
    # Parquet has no visible rows: number them as a spreadsheet with a header row would.
    return Table(headers, cells, np.arange(2, len(cells) + 2, dtype=np.int64)), layout


def _arrow_column(column) -> pd.Series:
    import pyarrow as pa

    if pa.types.is_decimal(column.type):
        column = column.cast(pa.float64())
    elif pa.types.is_date(column.type):
        column = column.cast(pa.timestamp("us"))
    elif pa.types.is_dictionary(column.type) and not _is_arrow_text(column.type.value_type):
        column = column.cast(column.type.value_type)
    return column.to_pandas()  # a dictionary of text becomes a Categorical


def _is_arrow_text(arrow_type) -> bool:
    import pyarrow as pa

    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
