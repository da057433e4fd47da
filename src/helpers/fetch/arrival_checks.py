"""What arrived, checked before anything is kept: the body's kind, then its content.

A file to keep is read with the study's own readers, so that what is kept is exactly what the
pipeline can read: `detect_format` first (an HTML page sent with status 200, the SEC's throttle
page under a file's name, a workbook that would unpack as a zip bomb, or any format but the one
the source sends, are refused saying what they are), then `read_fund_file` (issuer files) or
`read_nport_filing` (N-PORT filings). A reader's refusal is a changed format.

The SEC's index files and the bodies of refused answers are not files the readers know: their
kind is told from their first bytes (`body_kind`), so that an HTML page or the throttle page
there is named as such.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers.errors import InvalidDataError
from helpers.ingest.fund_files import detect_format, read_fund_file, read_nport_filing
from helpers.ingest.fund_files.sniffing import FORMAT_NAMES, SEC_REFUSALS

# The format of each kept file (the manifest's `format`), and the readers' name for it.
READER_FORMAT = {
    "ishares_workbook": "spreadsheetml",
    "xtrackers_xlsx": "xlsx",
    "invesco_navs_json": "json",
    "invesco_prices_json": "json",
    "nport_primary_doc": "nport",
}
_KIND_NAMES = {
    "sec_throttle": "the SEC's throttle page ('Request Rate Threshold Exceeded'): too many "
    "requests; the SEC lifts the block after about 10 minutes",
    "html": "an HTML page (a web page instead of the file: the address may have moved)",
    "json": "JSON",
    "xml": "XML",
    "empty": "an empty body",
    "other": "neither JSON, XML nor HTML",
}
_HEAD_BYTES = 4096


# How the rows of each format are told apart (key) and compared (values) with earlier files.
HISTORY_ROWS = (("ticker", "date"), ("nav", "shares_outstanding"))
NPORT_ROWS = (
    ("ticker", "month_end"),
    ("sales_usd", "reinvestment_usd", "redemption_usd", "net_assets_usd"),
)
ROW_LAYOUT = {
    file_format: NPORT_ROWS if file_format == "nport_primary_doc" else HISTORY_ROWS
    for file_format in READER_FORMAT
}


@dataclass(frozen=True)
class CheckedFile:
    """A download that passed every check: its rows as the pipeline will read them, and the last
    date they reach (the manifest's `as_of`: the last row's date, or an N-PORT report date)."""

    format: str
    rows: pd.DataFrame
    as_of: dt.date


class FormatChanged(Exception):
    """What arrived is not what the source is known to send: says what differed."""


def body_kind(head: bytes) -> str:
    """What an index file or an error body is, from its first bytes: a key of _KIND_NAMES."""
    text = head[:_HEAD_BYTES].removeprefix(b"\xef\xbb\xbf").lstrip()
    lowered = text.lower()
    if not text:
        return "empty"
    if lowered.startswith((b"<!doctype html", b"<html")) or (
        lowered.startswith(b"<?xml") and b"<html" in lowered
    ):
        throttled = any(mark.encode() in lowered for mark in SEC_REFUSALS)
        return "sec_throttle" if throttled else "html"
    if text.startswith(b"<"):
        return "xml"
    if text.startswith((b"{", b"[")):
        return "json"
    return "other"


def describe_kind(kind: str) -> str:
    """A body kind in words."""
    return _KIND_NAMES[kind]


def describe_error_body(head: bytes) -> str:
    """What the body of a refused answer was (the SEC's throttle page often comes as 403)."""
    kind = body_kind(head)
    return f"the body is {describe_kind(kind)}"


def check_body_kind(path: Path, expected: str) -> None:
    """Raise FormatChanged unless the file at `path` is a body of the `expected` kind."""
    with path.open("rb") as body:
        head = body.read(_HEAD_BYTES)
    kind = body_kind(head)
    if kind != expected:
        raise FormatChanged(f"expected {describe_kind(expected)}, got {describe_kind(kind)}")


def read_checked(path: Path, file_format: str, ticker: str) -> CheckedFile:
    """The rows of a downloaded file of `file_format` for `ticker`, read as the pipeline reads
    them; raises FormatChanged saying what differed from what the source is known to send."""
    expected = READER_FORMAT[file_format]
    try:
        with warnings.catch_warnings():  # a name that says another format: refused below
            warnings.simplefilter("ignore", UserWarning)
            found = detect_format(path)
        if found != expected:
            raise FormatChanged(f"expected {FORMAT_NAMES[expected]}, got {FORMAT_NAMES[found]}")
        rows = read_kept_rows(path, file_format, ticker)
    except InvalidDataError as error:
        raise FormatChanged("; ".join(error.problems)) from None
    if rows.empty:
        raise FormatChanged("the file holds no rows")
    tickers = sorted(set(rows["ticker"]))
    if tickers != [ticker]:
        raise FormatChanged(f"the file is for {', '.join(tickers)}, not {ticker}")
    as_of = rows["report_date" if file_format == "nport_primary_doc" else "date"].max()
    return CheckedFile(file_format, rows, pd.Timestamp(as_of).date())


def read_kept_rows(path: Path, file_format: str, ticker: str) -> pd.DataFrame:
    """The rows of a file of `file_format` (kept, or just downloaded) with the study's readers."""
    if file_format == "nport_primary_doc":
        return read_nport_filing(path, ticker=ticker)
    return read_fund_file(path, "history")
