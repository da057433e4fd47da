"""JSON from Invesco's product API: its NAV history (NAV only) and its prices snapshot.

Recognised by shape, whatever the file's name:

- NAV history, a list of ``{"effectiveDate": ..., "netAssetValue": ...}``, or
  ``{"lineChartData": [{"data": [{"date": ..., "value": ...}]}]}`` (one series): NAVs without
  shares outstanding, which come out as NaN (no Invesco file gives a history of them).
- Prices, ``{"effectiveDate", "nav", "sharesOutstanding", ...}`` or a list of such objects: one
  history row per object (a day's snapshot).

Anything else is refused, saying what was expected and what arrived. The ticker comes from the
file name. A record's "row" in messages is its position in the list, from 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.errors import InvalidDataError
from helpers.ingest.fund_files.layout import FileKind, Layout, fixed_layout
from helpers.ingest.fund_files.sniffing import Sniffed
from helpers.ingest.fund_files.table import Table

# Each shape: the keys of a record -> (date key, NAV key, shares key or "" for NAV only).
_NAV_LIST = ("effectiveDate", "netAssetValue", "")
_LINE_CHART = ("date", "value", "")
_PRICES = ("effectiveDate", "nav", "sharesOutstanding")
_EXPECTED = (
    "Invesco's NAV history (a list of {effectiveDate, netAssetValue}, or"
    " {lineChartData: [{data: [{date, value}]}]}) or its prices ({effectiveDate, nav,"
    " sharesOutstanding}, or a list of them)"
)
_KEYS_SHOWN = 8


def read_json(path: Path, sniffed: Sniffed, kind: FileKind) -> tuple[Table, Layout]:
    """The records of an Invesco JSON file as a table (one row per record), and its layout."""
    if kind != "history":
        raise InvalidDataError(
            path,
            "Invesco JSON holds NAVs (and shares outstanding), not flows: it is a fund history",
        )
    records, keys = _records(path, _load(path, sniffed))
    date, nav, shares = keys
    headers = [date, nav, shares] if shares else [date, nav]
    cells = pd.DataFrame(
        [[record.get(key) for key in headers] for record in records],
        columns=range(len(headers)),
        dtype=object,
    )
    roles = {"date": 0, "nav": 1} | ({"shares_outstanding": 2} if shares else {})
    numbers = np.arange(1, len(records) + 1, dtype=np.int64)
    return Table(headers, cells, numbers), fixed_layout(headers, roles, path)


def _load(path: Path, sniffed: Sniffed) -> object:
    try:
        with path.open(encoding=sniffed.encoding or "utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise InvalidDataError(path, f"not valid JSON at {where}: {error.msg}") from None
    except UnicodeDecodeError as error:
        raise InvalidDataError(path, f"not valid JSON text ({error.reason})") from None


def _records(path: Path, document: object) -> tuple[list[dict], tuple[str, str, str]]:
    """The file's records and the keys of its shape, or a refusal naming what arrived."""
    if isinstance(document, dict) and "lineChartData" in document:
        return _line_chart_points(path, document["lineChartData"]), _LINE_CHART
    records = document if isinstance(document, list) else [document]
    if records and all(isinstance(record, dict) for record in records):
        first = records[0]
        for keys in (_PRICES, _NAV_LIST):  # prices first: they hold shares too
            if all(key in first for key in keys if key):
                return records, keys
    if isinstance(document, list) and not document:
        raise InvalidDataError(path, "the JSON list is empty: no NAVs or shares in it")
    found = _shape(document)
    raise InvalidDataError(path, f"JSON of another shape: expected {_EXPECTED}; found {found}")


def _line_chart_points(path: Path, series: object) -> list[dict]:
    """The points of the one series of a lineChartData answer."""
    where = "lineChartData"
    if not isinstance(series, list) or len(series) != 1 or not isinstance(series[0], dict):
        count = f"{len(series)} series" if isinstance(series, list) else _shape(series)
        raise InvalidDataError(path, f"{where} should hold one series (the NAV); found {count}")
    points = series[0].get("data")
    if not isinstance(points, list) or not all(isinstance(point, dict) for point in points):
        raise InvalidDataError(
            path, f"{where}[0].data should be a list of {{date, value}}; found {_shape(points)}"
        )
    if not points:
        raise InvalidDataError(path, f"{where}[0].data is empty: no NAVs in it")
    return points


def _shape(value: object) -> str:
    """What a JSON value is, for messages: 'an object with keys a, b', 'a list of numbers'."""
    if isinstance(value, dict):
        keys = list(value)
        shown = ", ".join(keys[:_KEYS_SHOWN]) + (", ..." if len(keys) > _KEYS_SHOWN else "")
        return f"an object with keys {shown}" if keys else "an empty object"
    if isinstance(value, list):
        return f"a list whose first item is {_shape(value[0])}" if value else "an empty list"
    if value is None:
        return "null"
    kind = {bool: "true/false", str: "text", int: "number", float: "number"}[type(value)]
    return f"a {kind} value"
