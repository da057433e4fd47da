"""What arrives is sniffed and read before it is kept; the SEC's index files are parsed and
their changed shapes refused, saying what differed."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest
from sec_index_files import ListedFiling, company_tickers_mf_json, filings_atom
from source_files import (
    html_page,
    invesco_navs_json,
    invesco_prices_json,
    ishares_workbook,
    nport_primary_doc,
    sec_throttle_page,
    xtrackers_xlsx,
)

from helpers.fetch.arrival_checks import FormatChanged, body_kind, read_checked
from helpers.fetch.sec_indexes import read_filing_list, read_fund_tickers

ROWS = [(dt.date(2025, 11, 3), 30.0, 1_000_000), (dt.date(2025, 11, 4), 30.5, 1_010_000)]


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (company_tickers_mf_json([(1, "S000000001", "C000000001", "KWEB")]), "json"),
        (filings_atom("S000000001", [], "https://sec.example"), "xml"),
        (html_page("Moved"), "html"),
        (sec_throttle_page(), "sec_throttle"),
        (b"", "empty"),
        (b"Date,NAV\n", "other"),
    ],
)
def test_an_index_file_or_an_error_body_is_told_by_its_first_bytes(body, kind):
    assert body_kind(body) == kind


def test_each_format_is_read_as_the_pipeline_reads_it(tmp_path):
    path = tmp_path / "20260115T061500Z_FXI_fund.xls"
    path.write_bytes(ishares_workbook(ROWS))
    checked = read_checked(path, "ishares_workbook", "FXI")
    assert (len(checked.rows), checked.as_of) == (2, dt.date(2025, 11, 4))

    path = tmp_path / "20260115T061500Z_CQQQ_prices.json"
    path.write_bytes(
        invesco_prices_json(
            effective_date=dt.date(2025, 11, 5),
            nav=31.0,
            shares_outstanding=2e6,
            market_value=6.2e7,
            closing_price=31.1,
        )
    )
    assert read_checked(path, "invesco_prices_json", "CQQQ").as_of == dt.date(2025, 11, 5)

    path = tmp_path / "20260115T061500Z_KWEB_0000000001-25-000001_primary_doc.xml"
    path.write_bytes(
        nport_primary_doc(
            series_id="S000000001",
            report_date=dt.date(2025, 9, 30),
            fiscal_year_end=dt.date(2025, 12, 31),
            flows=[(3.0, 0.0, 1.0)] * 3,
            net_assets=100.0,
            total_assets=101.0,
        )
    )
    checked = read_checked(path, "nport_primary_doc", "KWEB")
    assert (len(checked.rows), checked.as_of) == (3, dt.date(2025, 9, 30))


def test_a_body_of_the_wrong_kind_or_fund_is_refused_saying_what_it_is(tmp_path):
    path = tmp_path / "20260115T061500Z_ASHR_performance.xlsx"
    path.write_bytes(invesco_navs_json([(dt.date(2025, 11, 3), 30.0)]))
    with pytest.raises(FormatChanged, match="expected an XLSX workbook, got JSON text"):
        read_checked(path, "xtrackers_xlsx", "ASHR")

    path.write_bytes(xtrackers_xlsx("MCHI", ROWS))
    with pytest.raises(FormatChanged, match="the file is for MCHI, not ASHR"):
        read_checked(path, "xtrackers_xlsx", "ASHR")


def test_a_web_page_or_a_zip_bomb_is_refused_by_the_readers_sniffing(tmp_path):
    path = tmp_path / "20260115T061500Z_ASHR_performance.xlsx"
    path.write_bytes(html_page("Our funds"))
    with pytest.raises(FormatChanged, match="an HTML page"):
        read_checked(path, "xtrackers_xlsx", "ASHR")

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 5_000_000)
    path.write_bytes(buffer.getvalue())
    with pytest.raises(FormatChanged, match="zip bomb"):
        read_checked(path, "xtrackers_xlsx", "ASHR")


def test_the_ticker_list_is_read_and_a_changed_shape_refused(tmp_path):
    path = tmp_path / "tickers.json"
    path.write_bytes(
        company_tickers_mf_json(
            [(1000001, "S000000001", "C000000001", "KWEB"), (7, "S000000009", "C000000009", "x")]
        )
    )
    funds = read_fund_tickers(path)
    assert funds["KWEB"].cik == 1000001 and funds["KWEB"].series_id == "S000000001"

    path.write_text(json.dumps({"fields": ["cik", "seriesId", "symbol"], "data": []}))
    with pytest.raises(FormatChanged, match=r"the fields are \['cik', 'seriesId', 'symbol'\]"):
        read_fund_tickers(path)
    path.write_text(json.dumps({"fields": ["cik", "seriesId", "classId", "symbol"], "data": [[1]]}))
    with pytest.raises(FormatChanged, match=r"data\[0\] \[1\]: expected 4 values"):
        read_fund_tickers(path)
    path.write_text(json.dumps([1, 2]))
    with pytest.raises(FormatChanged, match='expected an object with "fields" and "data"'):
        read_fund_tickers(path)


def test_the_filing_list_is_read_and_a_changed_shape_refused(tmp_path):
    path = tmp_path / "filings.xml"
    listed = [
        ListedFiling("0000000001-25-000001", dt.date(2025, 5, 28)),
        ListedFiling("0000000001-25-000002", dt.date(2025, 6, 2), "NPORT-P/A"),
    ]
    path.write_bytes(filings_atom("S000000001", listed, "https://sec.example"))
    filings = read_filing_list(path)
    assert [(f.accession, f.filing_type) for f in filings] == [
        ("0000000001-25-000002", "NPORT-P/A"),
        ("0000000001-25-000001", "NPORT-P"),
    ]
    assert filings[0].accession_folder == "000000000125000002"

    renamed = filings_atom("S1", listed, "x").replace(b"filing-date>", b"filed>")
    path.write_bytes(renamed)
    with pytest.raises(FormatChanged, match="entry 1: no filing-date"):
        read_filing_list(path)
    path.write_bytes(html_page("EDGAR search"))
    with pytest.raises(FormatChanged, match="DTD"):
        read_filing_list(path)
    path.write_bytes(b"<?xml version='1.0'?><rss><channel/></rss>")
    with pytest.raises(FormatChanged, match="the root is <rss>, not an Atom <feed>"):
        read_filing_list(path)
