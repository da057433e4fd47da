"""Read a researcher's own fund file, whatever its format, into one canonical long table.

`read_fund_file(path, kind)` returns, for ``kind="history"``, the columns ``date``, ``ticker``,
``nav``, ``shares_outstanding`` and ``source_row``; for ``kind="flows"``, the columns ``date``,
``ticker``, ``flow_usd`` (signed US dollars) and ``source_row``. Dates are midnight
``datetime64[us]``, tickers upper case, rows sorted by ticker and date. ``source_row`` is the row
a person sees for the record: the line number in a CSV (header = line 1), the row number Excel
shows in an XLSX or SpreadsheetML workbook, and for Parquet the 1-based row number + 1 (as if
there were a header line). Every problem raises `InvalidDataError` naming the file, the row and
the column; all problems of a file are reported together.

Formats (recognised by content, never by the file extension; see `detect_format`):

- CSV text: delimiter ``,`` ``;`` tab or ``|`` (sniffed); UTF-8 or UTF-16, with or without BOM,
  else Latin-1. Decimal commas ("30,5") are not read.
- XLSX (Office Open XML workbook): a sheet named "Historical" is preferred, else the first sheet
  with a header. Cells typed as dates or numbers are used as such (formulas by their saved value).
- Parquet: typed date/timestamp and number columns are used as they are; text columns are parsed
  like CSV cells. Only the columns needed are read.
- SpreadsheetML 2003 XML, as in the ``.xls`` fund files iShares publishes: the worksheet named
  "Historical" is read (case-insensitive); other sheets are ignored. DOCTYPE and ENTITY
  declarations are refused (entity-expansion attacks), as is malformed XML (its line and column
  are given; iShares files with a raw ``&`` are refused this way).
- In CSV and workbooks, lines above the header (a title, notes) are skipped: the header is the
  first of the first 50 rows naming the date and another recognised column (else the first naming
  the date).
- Refused, saying what the file looks like: old binary Excel 97-2003 ``.xls`` (save it as .xlsx
  or .csv), PDF, HTML, ZIP archives that are not workbooks, other binary data, empty files, and
  files larger than `MAX_FILE_BYTES` (1 GiB). A file whose name says one readable format while its
  content is another readable one (e.g. CSV text named ``.xlsx``) is read by its content, with a
  warning.

Headers are matched in any case, ignoring punctuation and spacing; the first name listed wins
when several columns match. Extra columns are ignored and columns may come in any order.

- date: Date, As Of, As Of Date, AsOf, Trade Date, NAV Date, Effective Date
- ticker: Ticker, Fund Ticker, Symbol, Fund. Without a ticker column the ticker is taken from
  the file name: the first whole token of 2-5 capital letters in the name (tokens are separated by
  ``_``, ``-``, space or ``.``), skipping words that are not tickers (ETF, MSCI, FTSE, CSI, NAV,
  USD, ...). ``MCHI_fund.xls`` -> MCHI; ``iShares-MSCI-China-ETF_fund.xls`` has no ticker and is
  refused. Tickers must be 2-5 letters. Long files with many tickers are fine.
- NAV (history): NAV per Share, NAV, NAV/Share, Net Asset Value per Share, Net Asset Value.
  Must be > 0. A currency of US dollars may be named in the header, e.g. "NAV (USD)".
- shares outstanding (history): Shares Outstanding, Outstanding Shares, Shares Out, Shares.
  Must be > 0. A scale may be named in the header, e.g. "Shares Outstanding (mn)". When there is
  no shares column, shares outstanding = net assets / NAV, with net assets from a column named
  Net Assets, Total Net Assets, Fund Net Assets or AUM (in US dollars, scaled by a unit in the
  header such as "Net Assets (USD bn)"; no unit means plain dollars).
- flows (flows): Flow, Flows, Net Flow, Net Flows, Fund Flow(s), Net Fund Flow(s), flow_usd.
  The unit must be stated, in the header ("Net Flow (USD mn)", "Flows ($M)", "flow_usd_millions",
  "Net flows, US$ bn", "flow_usd" or "Net Flow ($)" = plain dollars) or in a column "Unit"/"Units"
  holding one unit for the whole file ("USD millions", "$bn", "USD"). Scales: none = 1;
  thousand/thousands/k/th/000 = 1e3; million/millions/mn/mm/m/mil/mln/mio = 1e6;
  billion/billions/bn/b/bln = 1e9. The currency must be US dollars (USD, US$, $, dollars); a flows
  column without a stated unit, or in another currency, is refused (never guessed).

Values:

- numbers: surrounding spaces, quotes and ``$`` are ignored; ``,`` thousands separators are
  accepted when the digits are grouped by three ("1,234,567.5"); "(1,234)" is -1234; scientific
  notation is accepted. "", "-", "--", "n/a", "NA" mean no value, which is refused for NAV,
  shares, net assets and flows on a row that has a date.
- dates: ISO "2026-01-12" (also with a time, "2026-01-12T00:00:00.000"), "Jan 12, 2026",
  "January 12, 2026", "12-Jan-2026", "12 Jan 2026", "20260112", "2026/01/12", dates typed in XLSX
  or Parquet, and slash dates. A column must use one format throughout. Slash dates
  ("12/01/2026") are day-first if some first field is > 12, month-first if some second field is
  > 12; when neither (or both) can be told, the file is refused unless the ``date_format``
  argument gives the format, e.g. ``"%d/%m/%Y"``. A time of day is dropped. A date after today
  is refused (no fund publishes tomorrow's figures; it is a typo such as 2062 for 2026). Today is
  the later of the local and the UTC date, so that no time zone makes today's data "future".
- Rows that are entirely empty are skipped. The same (ticker, date) twice in one file is kept once
  when the values agree and refused when they differ.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import decimal
import io
import itertools
import re
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from xml.parsers.expat import ErrorString

import numpy as np
import pandas as pd

from helpers.errors import InvalidDataError, InvalidParameterError

__all__ = ["MAX_FILE_BYTES", "FileKind", "detect_format", "read_fund_file"]

MAX_FILE_BYTES: int = 1 << 30  # 1 GiB: larger files are refused before reading
FileKind = Literal["history", "flows"]

_READABLE_FORMATS = "CSV, XLSX, Parquet and SpreadsheetML (.xls from iShares)"
_HEADER_SEARCH_ROWS = 50  # the header row must be among a sheet's (or CSV's) first 50 rows
_MAX_LISTED_ROWS = 50  # failing rows listed per check; the rest are counted
_HEAD_BYTES = 64 * 1024

# --------------------------------------------------------------------------------------------
# Recognising the format
# --------------------------------------------------------------------------------------------

_SPREADSHEETML_NS = "urn:schemas-microsoft-com:office:spreadsheet"
_EXTENSION_FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "spreadsheetml",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_FORMAT_NAMES = {
    "csv": "CSV text",
    "xlsx": "an XLSX workbook",
    "spreadsheetml": "a SpreadsheetML (XML) workbook",
    "parquet": "a Parquet file",
}
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BINARY_SIGNATURES = {
    b"%PDF": "a PDF document",
    b"\x1f\x8b": "a gzip-compressed file; decompress it first",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"SQLite format 3": "an SQLite database",
}
_OLE2_ADVICE = "an Excel 97-2003 binary workbook; save it as .xlsx or .csv"
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class _Sniffed:
    """What a file's first bytes say: its format, or a description of unreadable content."""

    format: str = ""
    refusal: str = ""
    encoding: str = ""  # text formats only
    head: str = ""  # text formats only: the decoded start of the file


def detect_format(path: str | Path) -> str:
    """The file's format by content: "csv", "xlsx", "spreadsheetml" or "parquet".

    Raises InvalidDataError saying what the file looks like when it is none of these (or is
    missing, empty or over MAX_FILE_BYTES). A readable format under another format's extension is
    accepted with a warning.
    """
    return _sniff(Path(path)).format


def _sniff(path: Path) -> _Sniffed:
    _check_size(path)
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    sniffed = _identify(path, head)
    named = _EXTENSION_FORMATS.get(path.suffix.lower())
    if sniffed.refusal:
        raise InvalidDataError(path, _refusal_message(path, named, sniffed.refusal))
    if named and named != sniffed.format:
        warnings.warn(
            f"{path}: named {path.suffix} but its content is {_FORMAT_NAMES[sniffed.format]};"
            " reading it as such",
            UserWarning,
            stacklevel=3,
        )
    return sniffed


def _check_size(path: Path) -> None:
    if not path.is_file():
        raise InvalidDataError(path, "file not found")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InvalidDataError(
            path,
            f"the file is {size:,} bytes, over the limit of {MAX_FILE_BYTES:,} bytes;"
            " split it into smaller files",
        )


def _refusal_message(path: Path, named: str | None, description: str) -> str:
    if description == "empty":
        what = "the file is empty (or holds only blank lines)"
    elif named and not (named == "spreadsheetml" and description == _OLE2_ADVICE):
        what = f"named {path.suffix} but it is {description}"
    else:
        what = f"it is {description}"
    return f"{what}; the readable formats are {_READABLE_FORMATS}"


def _identify(path: Path, head: bytes) -> _Sniffed:
    if not head:
        return _Sniffed(refusal="empty")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _identify_zip(path)
    if head.startswith(b"PAR1"):
        return _Sniffed(format="parquet")
    if head.startswith(_OLE2):
        return _Sniffed(refusal=_OLE2_ADVICE)
    for signature, description in _BINARY_SIGNATURES.items():
        if head.startswith(signature):
            return _Sniffed(refusal=description)
    encoding, text = _decode_head(head)
    if "\x00" in text or len(_CONTROL_CHARS.findall(text)) > len(text) / 100:
        return _Sniffed(refusal="binary data, not text")
    if len(head) == _HEAD_BYTES:
        text = text[: text.rfind("\n") + 1] or text  # drop the line cut by the head's end
    stripped = text.lstrip()
    if not stripped and len(head) < _HEAD_BYTES:
        return _Sniffed(refusal="empty")  # nothing but blank lines
    if stripped.startswith("<"):
        return _identify_xml(stripped)
    if stripped.startswith("{"):
        return _Sniffed(refusal="JSON text")
    return _Sniffed(format="csv", encoding=encoding, head=text)


def _identify_zip(path: Path) -> _Sniffed:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return _Sniffed(refusal="a damaged ZIP archive")
    if "xl/workbook.xml" in names:
        return _Sniffed(format="xlsx")
    if "xl/workbook.bin" in names:
        return _Sniffed(refusal="an Excel binary workbook (.xlsb); save it as .xlsx or .csv")
    if "word/document.xml" in names:
        return _Sniffed(refusal="a Word document")
    if "content.xml" in names:
        return _Sniffed(refusal="an OpenDocument file; save it as .xlsx or .csv")
    return _Sniffed(refusal="a ZIP archive that is not an Excel workbook")


def _decode_head(head: bytes) -> tuple[str, str]:
    """(encoding, text) of a file's first bytes: a BOM decides, else the zero bytes of UTF-16,
    else UTF-8, else Latin-1."""
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = _utf16_without_bom(head) or "utf-8"
    try:
        # Incremental, so a character cut at the end of the head is not an error.
        return encoding, codecs.getincrementaldecoder(encoding)().decode(head, final=False)
    except UnicodeDecodeError:
        return "latin-1", head.decode("latin-1")


def _utf16_without_bom(head: bytes) -> str:
    """'utf-16-le' or 'utf-16-be' when a head without BOM looks like UTF-16 text, else ''.

    Text in Latin letters, digits and punctuation has a zero byte in every other position of
    UTF-16: the odd positions (little-endian) or the even ones (big-endian). Binary data have
    zeros scattered over both.
    """
    even, odd = head[0::2], head[1::2]
    if len(odd) < 8:
        return ""
    for zeros, others, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) >= 0.9 * len(zeros) and others.count(0) <= 0.05 * len(others):
            return encoding
    return ""


def _identify_xml(text: str) -> _Sniffed:
    """SpreadsheetML, or a refusal naming the kind of markup (the prolog is scanned by hand so
    that DOCTYPE/ENTITY declarations are refused before any XML parser sees them)."""
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        rest = text[position:]
        if rest.startswith(("<?", "<!--")):
            end = text.find("?>" if rest.startswith("<?") else "-->", position)
            if end < 0:
                return _Sniffed(refusal="XML whose start could not be read")
            position = end + 2
            continue
        if rest[:14].lower().startswith("<!doctype html") or rest[:5].lower() == "<html":
            return _Sniffed(refusal="an HTML page (perhaps a web page saved instead of the file)")
        if rest.startswith("<!"):
            return _Sniffed(
                refusal="an XML document with a DOCTYPE or ENTITY declaration, refused for safety"
                " (entity expansion)"
            )
        tag = re.match(r"<([A-Za-z_][\w.:-]*)([^>]*)>", rest)
        if not tag:
            return _Sniffed(refusal="markup that is not a SpreadsheetML workbook")
        if tag.group(1).split(":")[-1] == "Workbook" and _SPREADSHEETML_NS in tag.group(2):
            return _Sniffed(format="spreadsheetml")
        return _Sniffed(
            refusal=f"an XML document whose root is <{tag.group(1)}>, not a SpreadsheetML workbook"
        )


# --------------------------------------------------------------------------------------------
# Headers, units and the file's layout
# --------------------------------------------------------------------------------------------

_ROLE_HEADERS: dict[str, tuple[str, ...]] = {
    "date": ("Date", "As Of", "As Of Date", "AsOf", "Trade Date", "NAV Date", "Effective Date"),
    "ticker": ("Ticker", "Fund Ticker", "Symbol", "Fund"),
    "nav": ("NAV per Share", "NAV", "NAV/Share", "Net Asset Value per Share", "Net Asset Value"),
    "shares_outstanding": ("Shares Outstanding", "Outstanding Shares", "Shares Out", "Shares"),
    "net_assets": ("Net Assets", "Total Net Assets", "Fund Net Assets", "AUM"),
    "flow_usd": (
        "Net Flows",
        "Net Flow",
        "Net Fund Flows",
        "Net Fund Flow",
        "Fund Flows",
        "Fund Flow",
        "Flows",
        "Flow",
    ),
    "unit": ("Unit", "Units"),
}
_ROLE_LABELS = {
    "date": "date",
    "ticker": "ticker",
    "nav": "NAV",
    "shares_outstanding": "shares outstanding",
    "net_assets": "net assets",
    "flow_usd": "flows",
}
_CURRENCY_WORDS = {
    **dict.fromkeys(("usd", "us", "dollar", "dollars"), "USD"),  # '$' alone: see _parse_unit
    **dict.fromkeys(("eur", "euro", "euros", "€"), "EUR"),
    **dict.fromkeys(("cny", "rmb", "yuan", "cnh"), "CNY"),
    **dict.fromkeys(("hkd", "hk"), "HKD"),
    **dict.fromkeys(("jpy", "yen"), "JPY"),
    **{"gbp": "GBP", "£": "GBP", "¥": "JPY or CNY", "chf": "CHF", "cad": "CAD", "aud": "AUD"},
}
_SCALE_WORDS = {
    **dict.fromkeys(("thousand", "thousands", "k", "th", "000", "000s"), 1e3),
    **dict.fromkeys(("million", "millions", "mn", "mm", "m", "mil", "mln", "mio"), 1e6),
    **dict.fromkeys(("billion", "billions", "bn", "b", "bln"), 1e9),
}
_FILLER_WORDS = {"in"}
_UNIT_WORDS = {*_CURRENCY_WORDS, *_SCALE_WORDS, *_FILLER_WORDS, "$"}
_NOT_TICKERS = {"ETF", "ETFS", "MSCI", "FTSE", "CSI", "NAV", "USD", "AUM", "CSV", "XLS", "XLSX"}
_TICKER_PATTERN = r"[A-Z]{2,5}"


def _tokens(text: object) -> list[str]:
    return re.findall(r"[a-z]+|\d+[a-z]*|[$€£¥]", str(text).casefold())


def _header_name(text: object) -> str:
    """A header without case, punctuation or unit words: 'Net Flow (USD mn)' -> 'net flow'."""
    return " ".join(t for t in _tokens(text) if t not in _UNIT_WORDS)


_NAME_PRIORITIES = {
    _header_name(header): priority
    for headers in _ROLE_HEADERS.values()
    for priority, header in enumerate(headers)
}
_NAME_ROLES = {
    _header_name(header): role for role, headers in _ROLE_HEADERS.items() for header in headers
}


def _header_roles(values: Sequence[object]) -> set[str]:
    """The roles named by a row's text cells (a header row names at least the date)."""
    return {
        _NAME_ROLES[name]
        for value in values
        if isinstance(value, str) and (name := _header_name(value)) in _NAME_ROLES
    }


def _header_index(rows: Sequence[Sequence[object]]) -> int | None:
    """The header among the first rows: the first naming the date and another column, else the
    first naming the date (so that a note like 'As Of, Jan 12 2026' above it is passed over)."""
    dated = [
        (index, roles)
        for index, values in enumerate(rows[:_HEADER_SEARCH_ROWS])
        if "date" in (roles := _header_roles(values))
    ]
    if not dated:
        return None
    return next((index for index, roles in dated if len(roles) > 1), dated[0][0])


@dataclass(frozen=True)
class _Unit:
    """A unit named in a header or a 'Unit' cell: currency (None if not named) and scale."""

    currency: str | None
    scale: float | None
    problem: str = ""


def _parse_unit(text: object) -> _Unit:
    tokens = [t for t in _tokens(text) if t not in _FILLER_WORDS]
    named = {_CURRENCY_WORDS[t] for t in tokens if t in _CURRENCY_WORDS}
    if "$" in tokens and not named - {"USD"}:
        named.add("USD")  # '$' is US dollars unless another currency is named ('HK$')
    scales = {_SCALE_WORDS[t] for t in tokens if t in _SCALE_WORDS}
    if len(named) > 1:
        return _Unit(None, None, f"names several currencies ({', '.join(sorted(named))})")
    if len(scales) > 1:
        return _Unit(None, None, "names several scales")
    return _Unit(next(iter(named), None), next(iter(scales), None))


@dataclass(frozen=True)
class _Column:
    position: int
    header: str
    unit: _Unit


@dataclass
class _Layout:
    """Which column holds what; `ticker` is None when the ticker comes from the file name."""

    date: _Column
    values: dict[str, _Column]
    ticker: _Column | None = None
    file_ticker: str = ""
    unit: _Column | None = None
    positions: list[int] = field(default_factory=list)


def _ticker_from_file_name(path: str | Path) -> str:
    """The first whole token of 2-5 capital letters in the file's name ('' if none)."""
    for token in re.split(r"[_\-\s.]+", Path(path).stem):
        if re.fullmatch(_TICKER_PATTERN, token) and token not in _NOT_TICKERS:
            return token
    return ""


def _find_columns(headers: Sequence[object]) -> dict[str, list[tuple[int, int, str]]]:
    """role -> [(priority, position, header)] of the columns whose header names that role."""
    found: dict[str, list[tuple[int, int, str]]] = {}
    for position, header in enumerate(headers):
        name = _header_name(header)
        if name in _NAME_ROLES:
            entry = (_NAME_PRIORITIES[name], position, str(header).strip())
            found.setdefault(_NAME_ROLES[name], []).append(entry)
    return found


def _pick(found: dict, role: str, problems: list[str]) -> _Column | None:
    candidates = sorted(found.get(role, []))
    if not candidates:
        return None
    priority, position, header = candidates[0]
    twins = [h for p, _, h in candidates[1:] if p == priority]
    if twins:
        problems.append(
            f"two columns could be the {_ROLE_LABELS.get(role, role)}: '{header}' and '{twins[0]}'"
        )
    return _Column(position, header, _parse_unit(header))


def _missing_column(role: str, headers: Sequence[object], also: str = "") -> str:
    looked = ", ".join(f"'{h}'" for h in _ROLE_HEADERS[role])
    found = ", ".join(f"'{str(h).strip()}'" for h in headers if h is not None and str(h).strip())
    return (
        f"required column missing: {_ROLE_LABELS[role]} (looked for {looked}{also});"
        f" columns found: {found or 'none'}"
    )


def _find_layout(headers: Sequence[object], kind: FileKind, path: Path) -> _Layout:
    """Assign the file's columns to roles, or refuse naming what is missing or unclear."""
    found = _find_columns(headers)
    problems: list[str] = []
    date = _pick(found, "date", problems)
    if date is None:
        problems.append(_missing_column("date", headers))
    ticker = _pick(found, "ticker", problems)
    file_ticker = "" if ticker else _ticker_from_file_name(path)
    if not ticker and not file_ticker:
        problems.append(
            "no ticker: add a 'Ticker' column or name the file after the fund's ticker"
            " (e.g. MCHI_fund.xls)"
        )
    values = (
        _history_columns(found, headers, problems)
        if kind == "history"
        else _flow_columns(found, headers, problems)
    )
    unit = _pick(found, "unit", problems) if kind == "flows" else None
    if problems:
        raise InvalidDataError(path, problems)
    assert date is not None  # for type checkers: a missing date column was refused above
    layout = _Layout(date, values, ticker, file_ticker, unit)
    columns = [date, ticker, unit, *values.values()]
    layout.positions = sorted({c.position for c in columns if c is not None})
    return layout


def _history_columns(found: dict, headers: Sequence[object], problems: list[str]) -> dict:
    nav = _pick(found, "nav", problems)
    shares = _pick(found, "shares_outstanding", problems)
    net_assets = None if shares else _pick(found, "net_assets", problems)
    if nav is None:
        problems.append(_missing_column("nav", headers))
    if shares is None and net_assets is None:
        also = ", or 'Net Assets' with 'NAV'"
        problems.append(_missing_column("shares_outstanding", headers, also))
    for column, rule in ((nav, _nav_unit), (shares, _shares_unit), (net_assets, _money_unit)):
        if column is not None and (problem := rule(column.unit)):
            problems.append(f"column '{column.header}': {problem}")
    values = {"nav": nav, "shares_outstanding": shares, "net_assets": net_assets}
    return {name: column for name, column in values.items() if column is not None}


def _flow_columns(found: dict, headers: Sequence[object], problems: list[str]) -> dict:
    flow = _pick(found, "flow_usd", problems)
    if flow is None:
        problems.append(_missing_column("flow_usd", headers, ", with the unit"))
        return {}
    if flow.unit.currency and (problem := _money_unit(flow.unit)):
        problems.append(f"column '{flow.header}': {problem}")
    elif flow.unit.problem:
        problems.append(f"column '{flow.header}': the header {flow.unit.problem}")
    elif not flow.unit.currency and "unit" not in found:
        problems.append(_unit_not_stated(flow.header, flow.unit))
    return {"flow_usd": flow}


def _unit_not_stated(header: str, unit: _Unit) -> str:
    missing = "currency" if unit.scale else "unit"
    return (
        f"column '{header}': the {missing} is not stated; name it e.g. 'Flow (USD millions)'"
        " or add a 'Unit' column"
    )


def _money_unit(unit: _Unit) -> str:
    if unit.problem:
        return f"the unit {unit.problem}"
    if unit.currency not in (None, "USD"):
        return f"the amounts are in {unit.currency}; only US dollars are read (convert them first)"
    return ""


def _nav_unit(unit: _Unit) -> str:
    if unit.scale is not None:
        return "a NAV is a price per share: a scale (thousands, millions, ...) makes no sense"
    return _money_unit(unit)


def _shares_unit(unit: _Unit) -> str:
    if unit.currency is not None:
        return "shares outstanding are a count of shares, not an amount of money"
    return f"the unit {unit.problem}" if unit.problem else ""


# --------------------------------------------------------------------------------------------
# Reading each format into a table of raw cells
# --------------------------------------------------------------------------------------------


@dataclass
class _Table:
    """Raw cells (columns labelled by their position in `headers`) and each row's number."""

    headers: list[str]
    cells: pd.DataFrame
    source_row: np.ndarray


def _read_csv(path: Path, sniffed: _Sniffed, kind: FileKind) -> tuple[_Table, _Layout]:
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
        raise InvalidDataError(path, f"no header line in the first {_HEADER_SEARCH_ROWS} lines")
    headers = [str(h).strip() for h in raw.iloc[0]]
    layout = _find_layout(headers, kind, path)
    cells = raw.iloc[1:].reset_index(drop=True)
    return _Table(headers, cells, _csv_lines(cells, data_line)), layout


def _sniff_csv(head: str) -> tuple[str, int, int, int]:
    """(delimiter, header line, first data line, column count) from the start of a CSV.

    The delimiter is the one under which a header (see _header_index) names the most columns
    and splits into the most fields; without any header, the one splitting the first line most.
    """
    candidates = []
    for delimiter in ",;\t|":
        records = _head_records(head, delimiter)
        if not records:
            continue
        index = _header_index([fields for _, _, fields in records])
        start, end, fields = records[index or 0]
        score = (index is not None, len(_header_roles(fields)), len(fields))
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
            if reader.line_num >= _HEADER_SEARCH_ROWS:
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


def _read_xlsx(path: Path, sniffed: _Sniffed, kind: FileKind) -> tuple[_Table, _Layout]:
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
        return _table_from_rows(rows, path, kind)
    found = ", ".join(f"'{n}'" for n in sheets)
    raise InvalidDataError(
        path,
        f"no sheet has a header row with a date column in its first {_HEADER_SEARCH_ROWS} rows"
        f" (looked for {_looked_for('date')}); sheets found: {found}",
    )


def _sheet_rows_from_header(sheet) -> list[tuple[int, Sequence[object]]]:
    """(row number, values) from the header row (see _header_index) to the end; [] if none."""
    numbered = enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1)
    first = list(itertools.islice(numbered, _HEADER_SEARCH_ROWS))
    start = _header_index([values for _, values in first])
    return [] if start is None else first[start:] + list(numbered)


def _looked_for(role: str) -> str:
    return ", ".join(f"'{h}'" for h in _ROLE_HEADERS[role])


def _table_from_rows(
    rows: list[tuple[int, Sequence[object]]], path: Path, kind: FileKind
) -> tuple[_Table, _Layout]:
    """A table from a header row followed by data rows (workbooks)."""
    width = max(len(values) for _, values in rows)
    header, *data = rows
    headers = [str(v).strip() if v is not None else "" for v in header[1]]
    headers += [""] * (width - len(headers))
    layout = _find_layout(headers, kind, path)
    cells = pd.DataFrame(
        [list(values) + [None] * (width - len(values)) for _, values in data],
        columns=range(width),
        dtype=object,
    )
    numbers = np.array([number for number, _ in data], dtype=np.int64)
    return _Table(headers, cells, numbers), layout


def _read_spreadsheetml(path: Path, sniffed: _Sniffed, kind: FileKind) -> tuple[_Table, _Layout]:
    sheets, rows = _historical_rows(path)
    if rows is None:
        found = ", ".join(f"'{s}'" for s in sheets) or "none"
        raise InvalidDataError(path, f"no sheet named 'Historical'; sheets found: {found}")
    start = _header_index([values for _, values in rows])
    if start is not None:
        return _table_from_rows(rows[start:], path, kind)
    raise InvalidDataError(
        path,
        f"sheet 'Historical' has no header row with a date column in its first"
        f" {_HEADER_SEARCH_ROWS} rows (looked for {_looked_for('date')})",
    )


def _local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def _ss_attribute(element: ET.Element, name: str) -> str | None:
    return element.get(f"{{{_SPREADSHEETML_NS}}}{name}", element.get(name))


def _historical_rows(path: Path) -> tuple[list[str], list[tuple[int, list]] | None]:
    """(all sheet names, rows of the sheet named 'Historical' or None), streaming the XML."""
    sheets: list[str] = []
    rows: list[tuple[int, list]] | None = None
    reading, row_number = False, 0
    try:
        with path.open("rb") as handle:
            for event, element in ET.iterparse(handle, events=("start", "end")):
                tag = _local_name(element.tag)
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
    except ET.ParseError as error:
        line, column = error.position  # expat counts columns from 0; editors from 1
        raise InvalidDataError(
            path, f"malformed XML at line {line}, column {column + 1}: {ErrorString(error.code)}"
        ) from None
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
    for cell in (child for child in row if _local_name(child.tag) == "Cell"):
        column = _spreadsheet_index(cell, column, path, "column")
        data = next((c for c in cell if _local_name(c.tag) == "Data"), None)
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


def _read_parquet(path: Path, sniffed: _Sniffed, kind: FileKind) -> tuple[_Table, _Layout]:
    """Only the columns needed are read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        headers = list(schema.names)
        layout = _find_layout(headers, kind, path)
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
    return _Table(headers, cells, np.arange(2, len(cells) + 2, dtype=np.int64)), layout


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


_READERS: dict[str, Callable[[Path, _Sniffed, FileKind], tuple[_Table, _Layout]]] = {
    "csv": _read_csv,
    "xlsx": _read_xlsx,
    "spreadsheetml": _read_spreadsheetml,
    "parquet": _read_parquet,
}


def _without_blank_rows(table: _Table) -> _Table:
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
    return _Table(table.headers, cells, table.source_row[keep])


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


# --------------------------------------------------------------------------------------------
# Parsing cells: numbers, dates, tickers
# --------------------------------------------------------------------------------------------

_NO_VALUE = {"", "-", "--", "—", "n/a", "na", "nan", "none", "null"}
_GROUPED_NUMBER = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"
_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%d-%b-%Y",
    "%d-%B-%Y",
    "%d-%b-%y",
    "%d %b %Y",
    "%d %B %Y",
    "%Y%m%d",
    "%Y/%m/%d",
)
_DAY_US = 86_400_000_000  # microseconds in a day
_SLASH_DATE = r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})$"
_DAY_FIRST = ("%d/%m/%Y", "%d/%m/%y")
_MONTH_FIRST = ("%m/%d/%Y", "%m/%d/%y")
_MISSING, _TEXT, _NUMBER, _DATE, _OTHER = range(5)


@dataclass
class _Parsed:
    """Parsed values with masks of empty cells and of cells that could not be parsed."""

    values: np.ndarray
    missing: np.ndarray
    bad: np.ndarray
    problem: str = ""  # a problem with the whole column (e.g. ambiguous dates)
    example: str = ""  # a cell that did parse, to show what the column looks like


def _cell_kind(value: object) -> int:
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return _MISSING
    if isinstance(value, str):
        return _TEXT
    if isinstance(value, bool | np.bool_):
        return _OTHER
    if isinstance(value, int | float | decimal.Decimal | np.number):
        return _NUMBER
    if isinstance(value, dt.date):  # datetime.datetime and pd.Timestamp included
        return _DATE
    return _OTHER


def _cell_kinds(column: pd.Series) -> np.ndarray:
    """The kind of each cell of a column: typed columns at once, object columns cell by cell."""
    if pd.api.types.is_bool_dtype(column):
        return np.where(column.isna(), _MISSING, _OTHER)
    if pd.api.types.is_numeric_dtype(column):
        return np.where(column.isna(), _MISSING, _NUMBER)
    if pd.api.types.is_datetime64_any_dtype(column):
        return np.where(column.isna(), _MISSING, _DATE)
    if column.dtype == object:
        return column.map(_cell_kind).to_numpy(np.int8)
    return np.where(column.isna(), _MISSING, _TEXT)


def _as_text(column: pd.Series, mask: np.ndarray) -> pd.Series:
    """The cells under `mask` as stripped text (others missing)."""
    return column.where(mask).astype("str").str.strip()


def _parse_numbers(column: pd.Series) -> _Parsed:
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(float, na_value=np.nan)  # typed: no text round trip
        missing = np.isnan(values)
        return _Parsed(values, missing, np.isinf(values))
    kinds = _cell_kinds(column)
    values = np.full(len(column), np.nan)
    numbers = kinds == _NUMBER
    if numbers.any():
        values[numbers] = column[numbers].astype(float).to_numpy(float)
    texts = kinds == _TEXT
    missing = kinds == _MISSING
    if texts.any():
        from_text, missing[texts] = _numbers_from_text(_as_text(column, texts)[texts])
        values[texts] = from_text
    return _Parsed(values, missing, ~missing & ~np.isfinite(values))


def _plain_numbers(text: pd.Series) -> np.ndarray | None:
    """Text of plain numbers (the usual case) converted at once by Arrow, else None."""
    import pyarrow as pa

    try:
        numbers = pa.array(text.array).cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        return None  # some cell needs cleaning (or is not a number)
    return np.array(numbers.to_numpy(zero_copy_only=False), dtype=float)


def _numbers_from_text(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(numbers, missing) from text like '$1,234.5', '(1,234)', '1e6', '--'."""
    missing = text.str.lower().isin(_NO_VALUE).to_numpy(bool)
    plain = _plain_numbers(text.where(~missing))
    if plain is not None:
        return plain, missing
    text = text.str.replace(r"[\"'$]", "", regex=True).str.strip()
    negative = text.str.fullmatch(r"\([^()+-][^()]*\)").fillna(False).to_numpy(bool)
    text = text.str.replace(r"^\((.*)\)$", r"\1", regex=True).str.strip()
    grouped = text.str.fullmatch(_GROUPED_NUMBER).fillna(False)
    text = text.where(~grouped, text.str.replace(",", "", regex=False))
    numbers = np.array(pd.to_numeric(text, errors="coerce"), dtype=float)  # a writable copy
    numbers[missing] = np.nan
    return np.where(negative, -numbers, numbers), missing


def _parse_dates(column: pd.Series, header: str, date_format: str) -> _Parsed:
    if pd.api.types.is_datetime64_any_dtype(column):  # typed: no text round trip
        values = _typed_dates(column)
        return _Parsed(values, np.isnat(values), np.zeros(len(values), dtype=bool))
    kinds = _cell_kinds(column)
    values = np.full(len(column), np.datetime64("NaT"), dtype="datetime64[us]")
    typed = kinds == _DATE
    if typed.any():
        values[typed] = _typed_dates(pd.to_datetime(column[typed]))
    texts = (kinds == _TEXT) | (kinds == _NUMBER)
    missing = kinds == _MISSING
    parsed = _Parsed(values, missing, np.zeros(len(column), dtype=bool))
    if texts.any():
        text = _date_text(column, kinds)[texts]
        from_text = _dates_from_text(text, header, date_format)
        values[texts] = from_text.values
        missing[texts] = from_text.missing
        parsed.problem, parsed.example = from_text.problem, from_text.example
    parsed.bad = ~missing & np.isnat(values)
    return parsed


def _typed_dates(dates: pd.Series) -> np.ndarray:
    """Typed dates as midnight datetime64[us] (a time of day is dropped)."""
    if dates.dt.tz is not None:
        dates = dates.dt.tz_localize(None)  # the date where the data was recorded
    values = dates.to_numpy("datetime64[us]")
    known = values[~np.isnat(values)]
    if np.any(known.view(np.int64) % _DAY_US):
        values = dates.dt.normalize().to_numpy("datetime64[us]")
    return values


def _date_text(column: pd.Series, kinds: np.ndarray) -> pd.Series:
    """Date cells as text; whole numbers become digits so that 20260112 reads as a date."""
    text = _as_text(column, kinds == _TEXT)
    numbers = kinds == _NUMBER
    if numbers.any():
        number = pd.to_numeric(column[numbers].astype(float))
        whole = number.where(number.eq(number.round()))
        text[numbers] = whole.astype("Int64").astype("str").fillna("not a whole number")
    return text


def _dates_from_text(text: pd.Series, header: str, date_format: str) -> _Parsed:
    """Parse a column of date text with the one format that fits it (tried on distinct values)."""
    missing = text.str.lower().isin(_NO_VALUE).fillna(True).to_numpy(bool)
    codes, distinct = pd.factorize(text.where(~missing))
    formats, problem = _date_formats(pd.Series(distinct, dtype="str"), header, date_format)
    best, best_count = None, -1
    for date_format_tried in formats:
        parsed = _to_dates(distinct, date_format_tried, date_format)
        count = int(parsed.notna().sum())
        if count > best_count:
            best, best_count = parsed, count
        if count == len(distinct):
            break
    if best is None or problem:
        values = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[us]")
        return _Parsed(values, missing, ~missing, problem)
    lookup = np.append(best.normalize().to_numpy("datetime64[us]"), np.datetime64("NaT"))
    example = str(distinct[np.flatnonzero(best.notna())[0]]) if best_count > 0 else ""
    values = lookup[codes]  # code -1 (missing) picks the NaT appended last
    return _Parsed(values, missing, ~missing & np.isnat(values), example=example)


def _to_dates(distinct: pd.Index, format_tried: str, date_format: str) -> pd.DatetimeIndex:
    try:
        return pd.DatetimeIndex(pd.to_datetime(distinct, format=format_tried, errors="coerce"))
    except (ValueError, TypeError) as error:
        if format_tried == date_format:
            message = f"date_format {date_format!r} is not usable: {error}"
            raise InvalidParameterError(message) from error
        raise


def _date_formats(distinct: pd.Series, header: str, date_format: str) -> tuple[tuple, str]:
    """The formats to try on a date column, or a problem when slash dates are ambiguous."""
    if date_format:
        return (date_format, *_DATE_FORMATS), ""
    fields = distinct.str.extract(_SLASH_DATE)
    if distinct.empty or fields[0].isna().any():
        return _DATE_FORMATS, ""
    first, second = fields[0].astype(int), fields[1].astype(int)
    day_first, month_first = bool((first > 12).any()), bool((second > 12).any())
    if day_first and not month_first:
        return _DAY_FIRST, ""
    if month_first and not day_first:
        return _MONTH_FIRST, ""
    advice = "state the format with the date_format parameter (e.g. '%d/%m/%Y')"
    if day_first:
        return (), (
            f"column '{header}': mixes day-first dates (like '{distinct[first > 12].iloc[0]}')"
            f" and month-first dates (like '{distinct[second > 12].iloc[0]}'); {advice}"
        )
    return (), (
        f"column '{header}': dates like '{distinct.iloc[0]}' can be day-first or month-first;"
        f" {advice}"
    )


@dataclass
class _Tickers:
    codes: np.ndarray  # index into `names` per row, -1 where empty
    names: np.ndarray  # distinct tickers, sorted
    missing: np.ndarray
    bad: np.ndarray


def _parse_tickers(column: pd.Series) -> _Tickers:
    codes, distinct = pd.factorize(column)
    clean = pd.Index(distinct).astype("str").str.strip().str.upper()
    name_codes, names = pd.factorize(clean, sort=True)
    valid = np.asarray(clean.str.fullmatch(_TICKER_PATTERN), dtype=bool)
    empty = np.asarray(clean == "", dtype=bool)
    # Per-row lookups in the small tables of distinct values; code -1 (empty) picks the last.
    row_codes = np.append(name_codes, -1).astype(np.int64)[codes]
    missing = np.append(empty, True)[codes] if empty.any() else codes < 0
    bad = ~missing & ~np.append(valid, True)[codes] if not valid.all() else np.zeros_like(missing)
    return _Tickers(row_codes, np.asarray(names, dtype=object), missing, bad)


# --------------------------------------------------------------------------------------------
# Checks, duplicates and the canonical table
# --------------------------------------------------------------------------------------------


class _Problems:
    """Problems of one file, kept in row order; failing rows are listed up to a cap per check."""

    def __init__(self, path: Path, source_row: np.ndarray):
        self.path = path
        self.source_row = source_row
        self._items: list[tuple[float, int, str]] = []

    def file(self, text: str) -> None:
        self._items.append((-1, 0, text))

    def cells(
        self, mask: np.ndarray, raw: pd.Series, column: _Column, describe: Callable[[object], str]
    ) -> None:
        rows = np.flatnonzero(mask)
        for index in rows[:_MAX_LISTED_ROWS]:
            row = int(self.source_row[index])
            text = f"row {row}, column '{column.header}': {describe(raw.iloc[index])}"
            self._items.append((row, column.position, text))
        if len(rows) > _MAX_LISTED_ROWS:
            more = len(rows) - _MAX_LISTED_ROWS
            text = f"column '{column.header}': {more} more row(s) with the same problem"
            self._items.append((np.inf, column.position, text))

    def raise_if_any(self) -> None:
        if self._items:
            raise InvalidDataError(self.path, [text for *_, text in sorted(self._items)])


def _show(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _is_empty(_: object) -> str:
    return "the cell is empty"


def _no_value(_: object) -> str:
    return "no value (the cell is empty or '--')"


def _not_a_number(value: object) -> str:
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+,\d{1,2}\s*", value):
        return f"{_show(value)} is not a number (write decimals with '.', not ',')"
    return f"{_show(value)} is not a number"


_POSITIVE_RULES = {
    "nav": "a NAV must be greater than 0",
    "shares_outstanding": "shares outstanding must be greater than 0",
    "net_assets": "net assets must be greater than 0",
}


def _checked_values(table: _Table, layout: _Layout, problems: _Problems) -> dict[str, np.ndarray]:
    """Each value column parsed, with empty, non-numeric and out-of-range cells reported."""
    values = {}
    for name, column in layout.values.items():
        raw = table.cells[column.position]
        parsed = _parse_numbers(raw)
        problems.cells(parsed.missing, raw, column, _no_value)
        problems.cells(parsed.bad, raw, column, _not_a_number)
        if name in _POSITIVE_RULES:
            rule = _POSITIVE_RULES[name]
            low = np.isfinite(parsed.values) & (parsed.values <= 0)
            problems.cells(low, raw, column, lambda v, rule=rule: f"{_show(v)}: {rule}")
        values[name] = parsed.values
    return values


def _checked_dates(
    table: _Table, layout: _Layout, problems: _Problems, date_format: str
) -> np.ndarray:
    raw = table.cells[layout.date.position]
    parsed = _parse_dates(raw, layout.date.header, date_format)
    if parsed.problem:
        problems.file(parsed.problem)
        return parsed.values
    hint = f" (other dates in the column look like {_show(parsed.example)})"
    hint = hint if parsed.example else ""
    problems.cells(parsed.missing, raw, layout.date, _is_empty)
    problems.cells(parsed.bad, raw, layout.date, lambda v: f"{_show(v)} is not a date{hint}")
    future = parsed.values > np.datetime64(_today(), "us")  # NaT compares False
    problems.cells(future, raw, layout.date, lambda v: f"{_show(v)} is after today")
    return parsed.values


def _today() -> dt.date:
    """The latest date that can be today somewhere the data may come from: the later of the
    local and the UTC date."""
    return max(dt.date.today(), dt.datetime.now(dt.UTC).date())


def _checked_tickers(table: _Table, layout: _Layout, problems: _Problems) -> _Tickers:
    rows = len(table.cells)
    if layout.ticker is None:
        none = np.zeros(rows, dtype=bool)
        names = np.array([layout.file_ticker], dtype=object)
        return _Tickers(np.zeros(rows, dtype=np.int64), names, none, none)
    raw = table.cells[layout.ticker.position]
    tickers = _parse_tickers(raw)
    problems.cells(tickers.missing, raw, layout.ticker, _is_empty)
    not_ticker = "is not a ticker (2 to 5 letters)"
    problems.cells(tickers.bad, raw, layout.ticker, lambda v: f"{_show(v)} {not_ticker}")
    return tickers


def _flow_scale(table: _Table, layout: _Layout, problems: _Problems) -> float:
    """Dollars per unit of the flows column, from its header or the 'Unit' column."""
    flow = layout.values["flow_usd"]
    header_scale = (flow.unit.scale or 1.0) if flow.unit.currency else None
    if layout.unit is None:
        return header_scale or 1.0
    units = _as_text(table.cells[layout.unit.position], np.ones(len(table.cells), bool))
    stated = units[~units.str.lower().isin(_NO_VALUE).fillna(True)].unique()
    if len(stated) == 0:
        if header_scale is None:
            problems.file(_unit_not_stated(flow.header, flow.unit))
        return header_scale or 1.0
    if len(stated) > 1:
        shown = ", ".join(_show(u) for u in stated[:5])
        problems.file(
            f"column '{layout.unit.header}' must hold one unit for the file; found {shown}"
        )
        return 1.0
    return _unit_cell_scale(str(stated[0]), layout.unit.header, header_scale, problems)


def _unit_cell_scale(
    text: str, header: str, header_scale: float | None, problems: _Problems
) -> float:
    unit = _parse_unit(text)
    problem = _money_unit(unit)
    if _header_name(text):  # words that are neither a currency nor a scale
        problem = "not a unit this reader knows; write e.g. 'USD millions' or '$bn'"
    elif not problem and unit.currency is None:
        problem = "the currency is not stated; write e.g. 'USD millions' or '$bn'"
    scale = unit.scale or 1.0
    if not problem and header_scale is not None and header_scale != scale:
        problem = "it disagrees with the unit in the header of the flows column"
    if problem:
        problems.file(f"column '{header}': unit {_show(text)}: {problem}")
    return scale


def _sort_order(keys: np.ndarray) -> np.ndarray | None:
    """The rows' order by key, or None when they are in order already (no copies then)."""
    if len(keys) < 2 or bool(np.all(keys[1:] >= keys[:-1])):
        return None
    return np.argsort(keys, kind="stable")  # stable: the first of repeated rows stays first


def _duplicates(
    keys: np.ndarray, values: dict[str, np.ndarray]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """For sorted rows: which to keep (later identical repeats dropped), and the positions of
    each (ticker, date) given more than once with different values (up to _MAX_LISTED_ROWS)."""
    repeat = np.concatenate([[False], keys[1:] == keys[:-1]])
    if not repeat.any():
        return np.ones(len(keys), dtype=bool), []
    differs = np.zeros(len(keys), dtype=bool)
    for column in values.values():
        differs[1:] |= column[1:] != column[:-1]
    group = np.cumsum(~repeat) - 1
    conflicting = np.unique(group[repeat & differs])[:_MAX_LISTED_ROWS]
    members = np.flatnonzero(np.isin(group, conflicting))
    return ~repeat, [members[group[members] == g] for g in conflicting]


def _describe_duplicate(
    rows: np.ndarray, table: _Table, dates: np.ndarray, tickers: _Tickers
) -> str:
    numbers = sorted(int(n) for n in table.source_row[rows])
    listed = ", ".join(str(n) for n in numbers[:-1]) + f" and {numbers[-1]}"
    times = "twice" if len(numbers) == 2 else f"{len(numbers)} times"
    day = str(dates[rows[0]])[:10]
    ticker = tickers.names[tickers.codes[rows[0]]]
    return f"rows {listed}: date {day} appears {times} with different values (ticker {ticker})"


def _canonical(
    table: _Table,
    dates: np.ndarray,
    tickers: _Tickers,
    values: dict[str, np.ndarray],
    problems: _Problems,
) -> pd.DataFrame:
    """Sort by ticker and date, drop identical repeats, refuse conflicting ones."""
    days = dates.view(np.int64) // _DAY_US  # dates are whole days by now, without NaT
    first = int(days.min())
    keys = tickers.codes * (int(days.max()) - first + 1) + (days - first)
    order = _sort_order(keys)
    rows = np.arange(len(keys)) if order is None else order

    def arranged(array: np.ndarray) -> np.ndarray:
        return array if order is None else array[order]

    columns = {name: arranged(array) for name, array in values.items()}
    keep, conflicts = _duplicates(arranged(keys), columns)
    for positions in conflicts:
        problems.file(_describe_duplicate(rows[positions], table, dates, tickers))
    problems.raise_if_any()
    names = pd.array(tickers.names.astype(str), dtype="str")
    columns = {
        "date": arranged(dates),
        "ticker": names.take(arranged(tickers.codes)),
        **columns,
        "source_row": arranged(table.source_row).astype(np.int64, copy=False),
    }
    if not keep.all():
        columns = {name: column[keep] for name, column in columns.items()}
    return pd.DataFrame(columns, copy=False)


def read_fund_file(path: str | Path, kind: FileKind, *, date_format: str = "") -> pd.DataFrame:
    """Read one fund-history (kind="history") or fund-flow (kind="flows") file of any format.

    Returns date, ticker, nav, shares_outstanding, source_row (history) or date, ticker,
    flow_usd, source_row (flows), sorted by ticker and date. For history files without a
    shares-outstanding column, shares outstanding are computed as net assets / NAV (net assets in
    US dollars, scaled by a unit in its header). Flows are converted to US dollars with the unit
    stated in the header or the 'Unit' column. `date_format` (a strftime format such as
    "%d/%m/%Y") settles slash dates that could be day-first or month-first. The module docstring
    lists the recognised formats, headers, units and date rules.

    Raises InvalidDataError naming the file, the rows and the columns of every problem found.
    """
    _check_kind(kind)
    path = Path(path)
    table, layout = _read_cells(path, _sniff(path), kind)
    problems = _Problems(path, table.source_row)
    dates = _checked_dates(table, layout, problems, date_format)
    tickers = _checked_tickers(table, layout, problems)
    values = _checked_values(table, layout, problems)
    scale = _flow_scale(table, layout, problems) if kind == "flows" else 1.0
    problems.raise_if_any()
    values = _in_units(values, layout, scale)
    return _canonical(table, dates, tickers, values, problems)


def _check_kind(kind: str) -> None:
    if kind not in ("history", "flows"):
        raise InvalidParameterError(f"kind must be 'history' or 'flows', not {kind!r}")


def _read_cells(path: Path, sniffed: _Sniffed, kind: FileKind) -> tuple[_Table, _Layout]:
    """The file's raw cells without blank rows, and its layout (refused when it has no rows)."""
    table, layout = _READERS[sniffed.format](path, sniffed, kind)
    table = _without_blank_rows(table)
    if table.cells.empty:
        raise InvalidDataError(path, "no data rows below the header")
    return table, layout


def _in_units(values: dict[str, np.ndarray], layout: _Layout, flow_scale: float) -> dict:
    """Scaled values in the output's columns and units."""
    if "flow_usd" in values:
        return {"flow_usd": values["flow_usd"] * flow_scale}
    nav = values["nav"]
    if "shares_outstanding" in values:
        scale = layout.values["shares_outstanding"].unit.scale or 1.0
        return {"nav": nav, "shares_outstanding": values["shares_outstanding"] * scale}
    net_assets = values["net_assets"] * (layout.values["net_assets"].unit.scale or 1.0)
    return {"nav": nav, "shares_outstanding": net_assets / nav}
