"""The fixture builders of tests/support/source_files.py give the format features they promise."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import xml.etree.ElementTree as ET

import openpyxl
import pytest
from source_files import (
    ISHARES_HISTORICAL_HEADER,
    NPORT_NS,
    XTRACKERS_HEADER,
    html_page,
    invesco_navs_json,
    invesco_prices_json,
    ishares_workbook,
    nport_primary_doc,
    sec_throttle_page,
    xtrackers_xlsx,
)

ROWS = [
    (dt.date(2026, 1, 2), 30.1, 1_000_000),
    (dt.date(2026, 1, 5), 30.45, 1_050_000),
    (dt.date(2026, 1, 6), 29.8, 1_100_000),
    (dt.date(2026, 1, 7), 31.05, 1_075_000),
]
NAV_ROWS = [(day, nav) for day, nav, _ in ROWS]


def test_ishares_workbook_has_the_bom_the_bare_ampersand_and_sparse_cells():
    body = ishares_workbook(ROWS)
    assert body.startswith(b"\xef\xbb\xbf<?xml")
    assert b'<ss:Workbook xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">' in body
    assert re.search(rb'ss:HRef="[^"]*&(?!amp;)[^"]*"', body)
    assert b'<ss:Cell ss:Index="4">' in body
    with pytest.raises(ET.ParseError):  # not well-formed, as the real download
        ET.fromstring(body[3:])


def test_ishares_workbook_historical_sheet_is_newest_first_with_its_exact_header():
    body = ishares_workbook(ROWS, bom=False, bare_ampersand=False)
    root = ET.fromstring(body)
    ns = {"ss": "urn:schemas-microsoft-com:office:spreadsheet"}
    sheets = root.findall("ss:Worksheet", ns)
    names = [s.get(f"{{{ns['ss']}}}Name") for s in sheets]
    assert names == ["Holdings", "Historical", "Performance", "Distributions"]
    rows = sheets[1].findall("ss:Table/ss:Row", ns)
    texts = [[d.text for d in row.iter(f"{{{ns['ss']}}}Data")] for row in rows]
    assert tuple(texts[0]) == ISHARES_HISTORICAL_HEADER
    assert [t[0] for t in texts[1:]] == ["Jan 7, 2026", "Jan 6, 2026", "Jan 5, 2026", "Jan 2, 2026"]
    assert texts[1] == ["Jan 7, 2026", "31.05", "--", "1075000", "--"]
    assert texts[3] == ["Jan 5, 2026", "30.45", "1050000", "--"]  # Ex-Dividends left out


def test_xtrackers_xlsx_has_the_ticker_row_and_serial_dates():
    sheet = openpyxl.load_workbook(io.BytesIO(xtrackers_xlsx("ASHR", ROWS))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("Ticker:", "ASHR")
    assert rows[1] == XTRACKERS_HEADER
    assert rows[2] == (46024, 30.1, 30_100_000.0, 1_000_000, 0)  # 46024 = 2 January 2026
    text_dates = openpyxl.load_workbook(
        io.BytesIO(xtrackers_xlsx("ASHR", ROWS, serial_dates=False))
    ).active
    assert text_dates["A3"].value == "01/02/2026"


def test_invesco_json_shapes():
    listed = json.loads(invesco_navs_json(NAV_ROWS))
    assert listed[0] == {"effectiveDate": "2026-01-07", "netAssetValue": 31.05}
    chart = json.loads(invesco_navs_json(NAV_ROWS, shape="line_chart"))
    assert chart["lineChartData"][0]["data"][0] == {"date": "2026-01-02", "value": 30.1}
    prices = json.loads(
        invesco_prices_json(
            effective_date=dt.date(2026, 1, 7),
            nav=31.05,
            shares_outstanding=1_075_000,
            market_value=33_378_750,
            closing_price=31.1,
        )
    )
    assert prices["sharesOutstanding"] == 1_075_000 and prices["effectiveDate"] == "2026-01-07"


def test_nport_primary_doc_in_the_nport_namespace_with_three_monthly_flows():
    body = nport_primary_doc(
        series_id="S000000001",
        report_date=dt.date(2025, 3, 31),
        fiscal_year_end=dt.date(2025, 7, 31),
        flows=[(10.0, 1.0, 5.0), (20.0, 0.0, 25.5), (30.0, 0.0, 0.0)],
        net_assets=1_000_000.0,
        total_assets=1_010_000.0,
        submission_type="NPORT-P/A",
    )
    root = ET.fromstring(body)
    ns = {"n": NPORT_NS}
    assert root.tag == f"{{{NPORT_NS}}}edgarSubmission"
    assert root.findtext("n:headerData/n:submissionType", namespaces=ns) == "NPORT-P/A"
    assert root.findtext("n:formData/n:genInfo/n:repPdDate", namespaces=ns) == "2025-03-31"
    fund = root.find("n:formData/n:fundInfo", ns)
    assert fund.findtext("n:netAssets", namespaces=ns) == "1000000.00"
    assert fund.find("n:mon2Flow", ns).attrib == {
        "redemption": "25.50",
        "reinvestment": "0.00",
        "sales": "20.00",
    }


def test_pages_sent_instead_of_files():
    assert b"<title>SEC.gov | Request Rate Threshold Exceeded</title>" in sec_throttle_page()
    page = html_page("KWEB & friends")
    assert page.startswith(b"<!DOCTYPE html>") and b"<title>KWEB &amp; friends</title>" in page
