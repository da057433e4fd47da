"""SEC Form N-PORT filings (`primary_doc.xml`): a fund's flows in each month of a quarter.

An NPORT-P filing reports, under `formData/fundInfo`, the fund's net assets on the report date
(`netAssets`, Item B.1.c) and, in `mon1Flow`, `mon2Flow` and `mon3Flow` (Item B.6), the US
dollars of shares sold (`sales`), sold by reinvesting distributions (`reinvestment`) and
redeemed (`redemption`) in each of the three months that end with the report month
(`genInfo/repPdDate`). The month's net flow is sales + reinvestment - redemption.

Which calendar month is `mon1Flow`: `FLOW_MONTHS_BEFORE_REPORT`. Form N-PORT asks for "each of
the preceding three months" and numbers them Month 1, 2, 3 (the SEC's own rendering of a filing
lists them in that order under Item B.6, as it does the monthly returns of Item B.5, and the
SEC's N-PORT data sets keep the numbers: SALES_FLOW_MON1..3). Neither text says in words which
end of the quarter Month 1 is. Counted in the order written, Month 1 is the first, the oldest:
the month two before the report month, and Month 3 the report month itself. Most public parsers
read it so; one takes Month 1 as the newest. This reading is the one taken here, in one place;
`chinaflows fetch`'s network test checks it against a fund that also has a daily history (the
monthly sums of its daily flows must match month by month, and would match the reversed order
only by chance).

The file is streamed through defusedxml (DTDs and entities refused) and every problem is named
with its element: a wrong root or namespace, a missing `fundInfo` or monthly flow, an amount that
is not a number or is negative, an unknown submission type (NPORT-P and its amendment NPORT-P/A
are read).
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.parsers.expat import ErrorString

import pandas as pd

from helpers.errors import InvalidDataError, InvalidParameterError
from helpers.ingest.fund_files.checks import today
from helpers.ingest.fund_files.layout import TICKER_PATTERN, ticker_from_file_name
from helpers.ingest.fund_files.safe_xml import (
    DTD_REFUSAL,
    NPORT_NS,
    DefusedXmlException,
    iterparse,
    local_name,
)
from helpers.ingest.fund_files.sniffing import FORMAT_NAMES, refusal, sniff

# Months between each flow's month and the report month (repPdDate's): mon1Flow is the oldest.
FLOW_MONTHS_BEFORE_REPORT: dict[str, int] = {"mon1Flow": 2, "mon2Flow": 1, "mon3Flow": 0}
SUBMISSION_TYPES = ("NPORT-P", "NPORT-P/A")
FLOW_ATTRIBUTES = ("sales", "reinvestment", "redemption")
NPORT_COLUMNS = [
    "ticker",
    "series_id",
    "report_date",
    "submission_type",
    "month_start",
    "month_end",
    "sales_usd",
    "reinvestment_usd",
    "redemption_usd",
    "flow_usd",
    "net_assets_usd",
]

# The elements read, by their path below edgarSubmission (local names).
_TEXTS = {
    "headerData/submissionType": "submission_type",
    "formData/genInfo/seriesId": "series_id",
    "formData/genInfo/repPdDate": "report_date",
    "formData/fundInfo/netAssets": "net_assets",
}
_FUND_INFO = "formData/fundInfo"
_FLOWS = {f"{_FUND_INFO}/{name}": name for name in FLOW_MONTHS_BEFORE_REPORT}
_AMOUNT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def read_nport_filing(path: str | Path, ticker: str | None = None) -> pd.DataFrame:
    """One row per month of an N-PORT filing, oldest first, in the columns `NPORT_COLUMNS`.

    ticker, series_id (genInfo/seriesId), report_date (genInfo/repPdDate), submission_type
    (NPORT-P or NPORT-P/A), month_start and month_end (the calendar month, midnight
    datetime64[us]), sales_usd, reinvestment_usd, redemption_usd, flow_usd (= sales +
    reinvestment - redemption) and net_assets_usd (the filing's netAssets on the report
    month's row, NaN on the two before). `ticker` names the fund; without it the ticker comes
    from the file name (KWEB_primary_doc.xml -> KWEB).

    Raises InvalidDataError naming the file, the element and what is wrong.
    """
    path = Path(path)
    found = sniff(path).format
    if found != "nport":
        raise InvalidDataError(path, f"not an SEC N-PORT filing: it is {FORMAT_NAMES[found]}")
    fund_ticker = _ticker(path, ticker)
    texts, flows, seen = _read_elements(path)
    problems: list[str] = []
    fields = _checked_fields(texts, seen, problems)
    amounts = _checked_flows(flows, seen, problems)
    if problems:
        raise InvalidDataError(path, problems)
    return _monthly_rows(fund_ticker, fields, amounts)


def _ticker(path: Path, given: str | None) -> str:
    if given is not None:
        ticker = given.strip().upper()
        if not re.fullmatch(TICKER_PATTERN, ticker):
            raise InvalidParameterError(f"ticker must be 2 to 5 letters, not {given!r}")
        return ticker
    ticker = ticker_from_file_name(path)
    if not ticker:
        raise InvalidDataError(
            path,
            "no ticker: pass the fund's ticker or name the file after it"
            " (e.g. KWEB_primary_doc.xml)",
        )
    return ticker


def _read_elements(path: Path) -> tuple[dict[str, str], dict[str, dict[str, str]], set[str]]:
    """(texts of `_TEXTS`, attributes of the monthly flows, paths of every element seen up to
    the end of fundInfo), streaming the file; holdings are dropped as they are read."""
    texts: dict[str, str] = {}
    flows: dict[str, dict[str, str]] = {}
    seen: set[str] = set()
    stack: list[str] = []
    try:
        with path.open("rb") as handle:
            for event, element in iterparse(handle, ("start", "end")):
                if event == "start":
                    stack.append(local_name(element.tag))
                    continue
                where = "/".join(stack[1:])
                seen.add(where)
                if where in _TEXTS and element.tag.startswith(f"{{{NPORT_NS}}}"):
                    texts[where] = (element.text or "").strip()
                elif where in _FLOWS:
                    flows[_FLOWS[where]] = dict(element.attrib)
                stack.pop()
                if len(stack) > 2:  # keep formData's direct children only (the tree's spine)
                    element.clear()
    except DefusedXmlException:
        raise refusal(path, DTD_REFUSAL) from None
    except ET.ParseError as error:
        line, column = error.position
        raise InvalidDataError(
            path, f"malformed XML at line {line}, column {column + 1}: {ErrorString(error.code)}"
        ) from None
    return texts, flows, seen


def _checked_fields(texts: dict[str, str], seen: set[str], problems: list[str]) -> dict:
    """The submission type, series id, report date and net assets, each checked."""
    if _FUND_INFO not in seen:
        problems.append(f"{_FUND_INFO}: missing; an N-PORT filing reports its fund there")
    fields: dict = {}
    for where, name in _TEXTS.items():
        text = texts.get(where)
        if text is None:
            if where.startswith(_FUND_INFO) and _FUND_INFO not in seen:
                continue  # reported once, as the missing fundInfo
            problems.append(f"{where}: missing")
        elif not text:
            problems.append(f"{where}: empty")
        else:
            fields[name] = text
    kind = fields.get("submission_type")
    if kind is not None and kind not in SUBMISSION_TYPES:
        problems.append(
            f"headerData/submissionType: {kind!r} is not a submission type read here"
            f" ({', '.join(SUBMISSION_TYPES)})"
        )
    if "report_date" in fields:
        fields["report_date"] = _report_date(fields["report_date"], problems)
    if "net_assets" in fields:
        fields["net_assets"] = _amount(f"{_FUND_INFO}/netAssets", fields["net_assets"], problems)
    return fields


def _report_date(text: str, problems: list[str]) -> dt.date | None:
    where = "formData/genInfo/repPdDate"
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        problems.append(f"{where}: {text!r} is not a date (YYYY-MM-DD)")
        return None
    if day > today():
        problems.append(f"{where}: {text} is after today")
    return day


def _checked_flows(
    flows: dict[str, dict[str, str]], seen: set[str], problems: list[str]
) -> dict[str, dict[str, float | None]]:
    """Each month's sales, reinvestment and redemption in US dollars, each checked."""
    amounts: dict[str, dict[str, float | None]] = {}
    if _FUND_INFO not in seen:
        return amounts
    for name in FLOW_MONTHS_BEFORE_REPORT:
        where = f"{_FUND_INFO}/{name}"
        if name not in flows:
            problems.append(f"{where}: missing (Item B.6 reports mon1Flow, mon2Flow and mon3Flow)")
            continue
        attributes = flows[name]
        amounts[name] = {}
        for attribute in FLOW_ATTRIBUTES:
            text = attributes.get(attribute)
            if text is None:
                problems.append(f"{where}: attribute {attribute!r} missing")
                continue
            amounts[name][attribute] = _amount(f"{where} {attribute}", text, problems)
    return amounts


def _amount(where: str, text: str, problems: list[str]) -> float | None:
    """A non-negative US-dollar amount, or None with its problem added."""
    if not _AMOUNT.fullmatch(text.strip()):
        problems.append(f"{where}: {text!r} is not a number")
        return None
    value = float(text)
    if value < 0:
        problems.append(f"{where}: {text} is negative; amounts must be 0 or more")
        return None
    return value


def _monthly_rows(ticker: str, fields: dict, amounts: dict) -> pd.DataFrame:
    report_month = pd.Timestamp(fields["report_date"]).to_period("M")
    rows = []
    for name, months_before in sorted(FLOW_MONTHS_BEFORE_REPORT.items(), key=lambda i: -i[1]):
        month = report_month - months_before
        flow = amounts[name]
        rows.append(
            {
                "ticker": ticker,
                "series_id": fields["series_id"],
                "report_date": pd.Timestamp(fields["report_date"]),
                "submission_type": fields["submission_type"],
                "month_start": month.start_time,
                "month_end": month.end_time.normalize(),
                "sales_usd": flow["sales"],
                "reinvestment_usd": flow["reinvestment"],
                "redemption_usd": flow["redemption"],
                "flow_usd": flow["sales"] + flow["reinvestment"] - flow["redemption"],
                "net_assets_usd": fields["net_assets"] if months_before == 0 else float("nan"),
            }
        )
    table = pd.DataFrame(rows, columns=NPORT_COLUMNS)
    dates = ["report_date", "month_start", "month_end"]
    return table.astype({name: "datetime64[us]" for name in dates})
