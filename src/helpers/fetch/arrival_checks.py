"""What arrived, checked before anything is kept: the body's kind, then its content.

A body is first sniffed (`body_kind`): the SEC's throttle page, an HTML page, JSON, XML, an
XLSX (ZIP) workbook, or something else; a body of another kind than the source sends is
refused saying what it is. A workbook's ZIP directory is checked before anything is unpacked
(members that would unpack to more than the cap, or at a ratio no spreadsheet has, are a zip
bomb). Then the file is read with the study's own readers (issuer files with
`read_fund_file`, N-PORT filings with `read_nport_filing`), so that what is kept is exactly
what the pipeline can read; a reader's refusal is a changed format.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers.errors import InvalidDataError
from helpers.ingest.fund_files import read_fund_file, read_nport_filing

# The format of each kept file (the manifest's `format`), and the kind of body it arrives as.
EXPECTED_KIND = {
    "ishares_workbook": "xml",
    "xtrackers_xlsx": "xlsx",
    "invesco_navs_json": "json",
    "invesco_prices_json": "json",
    "nport_primary_doc": "xml",
}
_KIND_NAMES = {
    "sec_throttle": "the SEC's throttle page ('Request Rate Threshold Exceeded'): too many "
    "requests; the SEC lifts the block after about 10 minutes",
    "html": "an HTML page (a web page instead of the file: the address may have moved)",
    "json": "JSON",
    "xml": "XML",
    "xlsx": "an XLSX workbook",
    "zip": "a ZIP archive that is not an XLSX workbook",
    "empty": "an empty body",
    "binary": "binary data of no expected kind",
    "text": "plain text",
}
_SEC_THROTTLE_MARKS = (b"request rate threshold exceeded", b"undeclared automated tool")
_HEAD_BYTES = 4096
# No spreadsheet compresses better than this; a member that would is a zip bomb.
_MAX_ZIP_RATIO = 200


# How the rows of each format are told apart (key) and compared (values) with earlier files.
HISTORY_ROWS = (("ticker", "date"), ("nav", "shares_outstanding"))
NPORT_ROWS = (
    ("ticker", "month_end"),
    ("sales_usd", "reinvestment_usd", "redemption_usd", "net_assets_usd"),
)
ROW_LAYOUT = {
    file_format: NPORT_ROWS if file_format == "nport_primary_doc" else HISTORY_ROWS
    for file_format in EXPECTED_KIND
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
    """What a body is, from its first bytes: a key of the kinds above ("html", "json", ...)."""
    text = head[:_HEAD_BYTES].removeprefix(b"\xef\xbb\xbf").lstrip()
    lowered = text.lower()
    if not text:
        return "empty"
    if text.startswith(b"PK\x03\x04"):
        return "xlsx" if b"[Content_Types].xml" in text or b"xl/" in text else "zip"
    if lowered.startswith((b"<!doctype html", b"<html")) or (
        lowered.startswith(b"<?xml") and b"<html" in lowered
    ):
        throttled = any(mark in lowered for mark in _SEC_THROTTLE_MARKS)
        return "sec_throttle" if throttled else "html"
    if text.startswith(b"<"):
        return "xml"
    if text.startswith((b"{", b"[")):
        return "json"
    if b"\x00" in text:
        return "binary"
    return "text"


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
    if kind == "xlsx" and expected != "xlsx":
        kind = "zip"
    if kind != expected:
        raise FormatChanged(f"expected {describe_kind(expected)}, got {describe_kind(kind)}")


def check_zip_directory(path: Path, max_bytes: int) -> None:
    """Raise FormatChanged when the workbook at `path` would unpack to more than `max_bytes`,
    or a member is compressed beyond any spreadsheet's ratio; reads only the ZIP directory."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as error:
        raise FormatChanged(f"a damaged XLSX workbook ({error})") from None
    unpacked = sum(member.file_size for member in members)
    if unpacked > max_bytes:
        raise FormatChanged(
            f"the workbook would unpack to {unpacked:,} bytes, over the cap of {max_bytes:,};"
            " refused before unpacking"
        )
    for member in members:
        if member.file_size > _MAX_ZIP_RATIO * max(member.compress_size, 1):
            raise FormatChanged(
                f"the workbook's member {member.filename} is compressed "
                f"{member.file_size / max(member.compress_size, 1):,.0f} to 1, as a zip bomb"
                " is; refused before unpacking"
            )


def read_checked(path: Path, file_format: str, ticker: str, max_bytes: int) -> CheckedFile:
    """The rows of a downloaded file of `file_format` for `ticker`, read as the pipeline reads
    them; raises FormatChanged saying what differed from what the source is known to send."""
    check_body_kind(path, EXPECTED_KIND[file_format])
    if EXPECTED_KIND[file_format] == "xlsx":
        check_zip_directory(path, max_bytes)
    try:
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
