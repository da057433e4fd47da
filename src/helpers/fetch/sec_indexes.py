"""The SEC's two index files, read and checked: which series a ticker is, and its filings.

- The ticker list (`company_tickers_mf.json`): `{"fields": ["cik", "seriesId", "classId",
  "symbol"], "data": [[cik, seriesId, classId, symbol], ...]}`, one row per share class.
- A series' filing list: EDGAR's company browse in Atom, one `<entry>` per filing, whose
  `<content>` holds `accession-number`, `filing-date`, `filing-href` and `filing-type`.

Both are refused, saying what differed, when their shape is not this one; the Atom feed is
parsed with DTDs and entities refused (defusedxml).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from helpers.fetch.arrival_checks import FormatChanged
from helpers.ingest.fund_files.safe_xml import DefusedXmlException, iterparse, local_name

TICKER_FIELDS = ["cik", "seriesId", "classId", "symbol"]
ATOM_NS = "http://www.w3.org/2005/Atom"
NPORT_FILING_TYPES = ("NPORT-P", "NPORT-P/A")
_SERIES_ID = re.compile(r"^S\d{9}$")
_CLASS_ID = re.compile(r"^C\d{9}$")
_ACCESSION = re.compile(r"^\d{10}-\d{2}-\d{6}$")
_ENTRY_FIELDS = ("accession-number", "filing-date", "filing-type")
_MAX_PROBLEMS = 5


@dataclass(frozen=True)
class FundSeries:
    """A fund's identity at the SEC: its trust's CIK, its series and its share class."""

    ticker: str
    cik: int
    series_id: str
    class_id: str


@dataclass(frozen=True)
class Filing:
    """One filing of a series, as its filing list gives it."""

    accession: str  # with dashes: 0001752724-25-012345
    filing_date: dt.date
    filing_type: str

    @property
    def accession_folder(self) -> str:
        """The accession number as EDGAR's folders write it (no dashes)."""
        return self.accession.replace("-", "")


def read_fund_tickers(path: Path) -> dict[str, FundSeries]:
    """Every share class of the SEC's ticker list, by ticker; raises FormatChanged naming what
    differs from the known shape."""
    try:
        content = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FormatChanged(f"not JSON ({error})") from None
    if not isinstance(content, dict) or not {"fields", "data"} <= content.keys():
        shape = sorted(content) if isinstance(content, dict) else type(content).__name__
        raise FormatChanged(f'expected an object with "fields" and "data", got {shape}')
    if content["fields"] != TICKER_FIELDS:
        raise FormatChanged(f"the fields are {content['fields']}, expected {TICKER_FIELDS}")
    if not isinstance(content["data"], list):
        raise FormatChanged('"data" is not a list')
    funds: dict[str, FundSeries] = {}
    problems = []
    for number, row in enumerate(content["data"]):
        problem = _ticker_row_problem(row)
        if problem:
            problems.append(f"data[{number}] {row!r}: {problem}")
            continue
        cik, series_id, class_id, symbol = row
        funds.setdefault(symbol.upper(), FundSeries(symbol.upper(), int(cik), series_id, class_id))
    if problems:
        raise FormatChanged("; ".join(problems[:_MAX_PROBLEMS]) + _more(problems))
    return funds


def _ticker_row_problem(row: object) -> str:
    if not isinstance(row, list) or len(row) != len(TICKER_FIELDS):
        return f"expected {len(TICKER_FIELDS)} values"
    cik, series_id, class_id, symbol = row
    if isinstance(cik, bool) or not (isinstance(cik, int) or str(cik).isdigit()):
        return "the cik is not a number"
    if not isinstance(series_id, str) or not _SERIES_ID.match(series_id):
        return "the seriesId is not S followed by 9 digits"
    if not isinstance(class_id, str) or not _CLASS_ID.match(class_id):
        return "the classId is not C followed by 9 digits"
    if not isinstance(symbol, str) or not symbol.strip():
        return "the symbol is empty"
    return ""


def _more(problems: list[str]) -> str:
    extra = len(problems) - _MAX_PROBLEMS
    return f"; and {extra} more row(s)" if extra > 0 else ""


def read_filing_list(path: Path) -> list[Filing]:
    """The filings of an EDGAR Atom filing list, of every type, in the order listed; raises
    FormatChanged naming what differs from the known shape."""
    try:
        root = _parse(path)
    except DefusedXmlException:
        raise FormatChanged("an XML document with a DTD or entity declaration, refused") from None
    except ET.ParseError as error:
        raise FormatChanged(f"not well-formed XML ({error})") from None
    if root.tag != f"{{{ATOM_NS}}}feed":
        raise FormatChanged(f"the root is <{local_name(root.tag)}>, not an Atom <feed>")
    filings, problems = [], []
    for number, entry in enumerate(root.iter(f"{{{ATOM_NS}}}entry"), start=1):
        content = next((c for c in entry if local_name(c.tag) == "content"), None)
        values = {local_name(c.tag): (c.text or "").strip() for c in content or ()}
        missing = [name for name in _ENTRY_FIELDS if not values.get(name)]
        if content is None or missing:
            problems.append(f"entry {number}: no {', '.join(missing or ['<content>'])}")
            continue
        try:
            filings.append(_filing(values))
        except ValueError as error:
            problems.append(f"entry {number}: {error}")
    if problems:
        raise FormatChanged("; ".join(problems[:_MAX_PROBLEMS]) + _more(problems))
    return filings


def _parse(path: Path) -> ET.Element:
    """The whole document's root element (iterparse builds the tree as it reads)."""
    with path.open("rb") as handle:
        events = iterparse(handle, ("start",))
        _, root = next(events)
        for _ in events:
            pass
    return root


def _filing(values: dict[str, str]) -> Filing:
    accession = values["accession-number"]
    if not _ACCESSION.match(accession):
        raise ValueError(f"the accession number {accession!r} is not 0000000000-00-000000")
    try:
        filed = dt.date.fromisoformat(values["filing-date"])
    except ValueError:
        raise ValueError(f"the filing date {values['filing-date']!r} is not a date") from None
    return Filing(accession, filed, values["filing-type"])
