"""The real sources' files, as they arrive or are saved by hand, read into the canonical table.

The files come from the builders of tests/support/source_files.py, filled with numbers invented
here; every expected number is typed in. Refusals are checked for the file, the row, column or
element, and what is wrong.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from source_files import (
    html_page,
    invesco_navs_json,
    invesco_prices_json,
    ishares_workbook,
    sec_throttle_page,
    xtrackers_xlsx,
)

from helpers.errors import InvalidDataError
from helpers.ingest.fund_files import detect_format, read_fund_file
from helpers.ingest.fund_files import sniffing as fund_file_sniffing
from helpers.ingest.fund_files.safe_xml import BareAmpersandsEscaped

DAYS = [dt.date(2026, 1, 2), dt.date(2026, 1, 5), dt.date(2026, 1, 6), dt.date(2026, 1, 7)]
NAVS = [30.1, 30.45, 29.8, 31.05]
SHARES = [1_000_000, 1_050_000, 1_100_000, 1_075_000]
ROWS = list(zip(DAYS, NAVS, SHARES, strict=True))


def saved(tmp_path: Path, name: str, body: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(body)
    return path


def problems_of(path: Path, kind: str = "history") -> list[str]:
    """The problems of a file that must be refused (the error names the file)."""
    with pytest.raises(InvalidDataError) as caught:
        read_fund_file(path, kind)
    assert caught.value.file == str(path)
    return caught.value.problems


def timestamps(days: list[dt.date]) -> list[pd.Timestamp]:
    return [pd.Timestamp(day) for day in days]


# --------------------------------------------------------------------------------------------
# iShares: SpreadsheetML as it arrives
# --------------------------------------------------------------------------------------------


def test_ishares_workbook_as_it_arrives(tmp_path):
    path = saved(tmp_path, "MCHI_fund.xls", ishares_workbook(ROWS))
    assert detect_format(path) == "spreadsheetml"
    table = read_fund_file(path, "history")
    assert table["date"].tolist() == timestamps(DAYS)
    assert table["ticker"].tolist() == ["MCHI"] * 4
    assert table["nav"].tolist() == NAVS
    assert table["shares_outstanding"].tolist() == [1e6, 1.05e6, 1.1e6, 1.075e6]
    # Row 1 is the header; the newest day (7 January) is row 2, the oldest row 5.
    assert table["source_row"].tolist() == [5, 4, 3, 2]


@pytest.mark.parametrize(("bom", "bare_ampersand"), [(False, True), (True, False)])
def test_ishares_workbook_with_or_without_its_quirks(tmp_path, bom, bare_ampersand):
    body = ishares_workbook(ROWS, bom=bom, bare_ampersand=bare_ampersand)
    table = read_fund_file(saved(tmp_path, "FXI_fund.xls", body), "history")
    assert table["nav"].tolist() == NAVS


def test_ishares_workbook_with_a_missing_shares_value_names_the_row(tmp_path):
    body = ishares_workbook(ROWS).replace(b'"Number">1050000<', b'"String">--<')
    assert problems_of(saved(tmp_path, "MCHI_fund.xls", body)) == [
        "row 4, column 'Shares Outstanding': no value (the cell is empty or '--')"
    ]


def escaped(body: bytes, chunk: int) -> tuple[bytes, BareAmpersandsEscaped]:
    """`body` read through the escaper `chunk` bytes at a time."""
    stream = BareAmpersandsEscaped(io.BytesIO(body))
    pieces = []
    while piece := stream.read(chunk):
        pieces.append(piece)
    return b"".join(pieces), stream


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1 << 16])
def test_bare_ampersands_are_escaped_and_references_kept_at_any_chunk_boundary(chunk):
    body = b'<a href="x?a=1&b=2">S&P &amp; &#38; &#x26; &lt; &</a>'
    result, _ = escaped(body, chunk)
    assert result == b'<a href="x?a=1&amp;b=2">S&amp;P &amp; &#38; &#x26; &lt; &amp;</a>'


def test_an_ampersand_held_back_at_the_end_of_the_file_is_escaped():
    assert escaped(b"<a>x &am", 4)[0] == b"<a>x &amp;am"


def test_columns_after_escapes_are_given_as_in_the_file():
    _, stream = escaped("<a>\nß & é & x</b>".encode(), 5)
    # On line 2 the escapes sit at characters 2 and 10 of the escaped text; a parser's column
    # 16 there is column 8 of the line as written ('ß & é & x' then '</b>').
    assert stream.original_column(2, 16) == 8
    assert stream.original_column(2, 1) == 1  # before any escape
    assert stream.original_column(1, 3) == 3  # a line without one


def test_utf16_xml_passes_through_unescaped():
    body = "<a>S&P</a>".encode("utf-16")
    stream = BareAmpersandsEscaped(io.BytesIO(body), ascii_compatible=False)
    assert stream.read(-1) == body


# --------------------------------------------------------------------------------------------
# Xtrackers: the XLSX performance export
# --------------------------------------------------------------------------------------------


def test_xtrackers_export_with_serial_dates_takes_the_ticker_from_its_ticker_row(tmp_path):
    # The file name says FXI; the "Ticker:" row above the header says ASHR, and wins.
    path = saved(tmp_path, "FXI_Performance.xlsx", xtrackers_xlsx("ASHR", ROWS))
    table = read_fund_file(path, "history")
    assert table["ticker"].tolist() == ["ASHR"] * 4
    assert table["date"].tolist() == timestamps(DAYS)
    assert table["nav"].tolist() == NAVS
    assert table["shares_outstanding"].tolist() == [1e6, 1.05e6, 1.1e6, 1.075e6]
    assert table["source_row"].tolist() == [3, 4, 5, 6]  # row 1 Ticker:, row 2 the header


def test_xtrackers_export_with_text_dates(tmp_path):
    rows = [*ROWS, (dt.date(2026, 1, 13), 31.2, 1_150_000)]  # the 13th: month-first dates
    path = saved(tmp_path, "Performance.xlsx", xtrackers_xlsx("ashr", rows, serial_dates=False))
    table = read_fund_file(path, "history")
    assert table["ticker"].tolist() == ["ASHR"] * 5
    assert table["date"].tolist() == timestamps([*DAYS, dt.date(2026, 1, 13)])


def workbook(tmp_path: Path, name: str, *rows: list) -> Path:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(tmp_path / name)
    return tmp_path / name


@pytest.mark.parametrize(
    ("label_row", "found"), [(["Ticker:"], "nothing"), (["Ticker:", "A.SHR"], "'A.SHR'")]
)
def test_a_ticker_row_without_a_ticker_is_refused(tmp_path, label_row, found):
    path = workbook(tmp_path, "ASHR.xlsx", label_row, ["Date", "NAV", "Outstanding Shares"])
    assert problems_of(path) == [
        f"row 1: 'Ticker:' is followed by {found}, not a ticker (2 to 5 letters)"
    ]


def test_numbers_in_a_date_column_are_excel_serials_or_yyyymmdd(tmp_path):
    path = workbook(
        tmp_path,
        "KWEB.xlsx",
        ["Date", "NAV", "Shares Outstanding"],
        [46024, 30.1, 1000],  # 2 January 2026
        [46027.75, 30.45, 1050],  # 5 January 2026, 18:00: the time is dropped
        [20260106, 29.8, 1100],  # digits YYYYMMDD, as before
        [59, 1.0, 1],  # 28 February 1900 (Excel's first dates)
    )
    table = read_fund_file(path, "history")
    expected = [dt.date(1900, 2, 28), *DAYS[:3]]
    assert table["date"].tolist() == timestamps(expected)
    assert str(table["date"].dtype) == "datetime64[us]"


def test_serial_numbers_are_dates_in_workbooks_only(tmp_path):
    path = tmp_path / "KWEB.parquet"
    table = pd.DataFrame({"Date": [46024], "NAV": [30.1], "Shares": [1000]})
    table.to_parquet(path)
    (problem,) = problems_of(path)
    assert problem.startswith("row 2, column 'Date': '46024' is not a date")


def test_a_number_past_excels_last_date_is_not_a_date(tmp_path):
    path = workbook(tmp_path, "KWEB.xlsx", ["Date", "NAV", "Shares"], [3_000_000, 30.1, 1000])
    (problem,) = problems_of(path)
    assert problem.startswith("row 2, column 'Date': '3000000' is not a date")


# --------------------------------------------------------------------------------------------
# Invesco: NAV history and prices, JSON
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["list", "line_chart"])
def test_invesco_nav_history_gives_navs_without_shares(tmp_path, shape):
    body = invesco_navs_json(list(zip(DAYS, NAVS, strict=True)), shape=shape)
    path = saved(tmp_path, "CQQQ_navs.json", body)
    assert detect_format(path) == "json"
    table = read_fund_file(path, "history")
    assert list(table.columns) == ["date", "ticker", "nav", "shares_outstanding", "source_row"]
    assert table["date"].tolist() == timestamps(DAYS)
    assert table["ticker"].tolist() == ["CQQQ"] * 4
    assert table["nav"].tolist() == NAVS
    assert table["shares_outstanding"].isna().all()
    assert table["shares_outstanding"].dtype == "float64"
    # The list comes newest first (record 1 is 7 January); the chart's points oldest first.
    expected_rows = [4, 3, 2, 1] if shape == "list" else [1, 2, 3, 4]
    assert table["source_row"].tolist() == expected_rows


def test_a_nav_history_repeating_a_day_keeps_it_once(tmp_path):
    records = [{"effectiveDate": "2026-01-02", "netAssetValue": 30.1}] * 2
    table = read_fund_file(saved(tmp_path, "CQQQ.json", json.dumps(records).encode()), "history")
    assert table["nav"].tolist() == [30.1]


def prices(day: dt.date, nav: float, shares: float) -> bytes:
    return invesco_prices_json(
        effective_date=day,
        nav=nav,
        shares_outstanding=shares,
        market_value=nav * shares,
        closing_price=nav + 0.01,
    )


def test_invesco_prices_snapshot_is_one_history_row(tmp_path):
    path = saved(tmp_path, "CQQQ_prices_2026-01-07.json", prices(DAYS[3], 31.05, 1_075_000))
    table = read_fund_file(path, "history")
    assert table["date"].tolist() == timestamps(DAYS[3:])
    assert table["ticker"].tolist() == ["CQQQ"]
    assert table["nav"].tolist() == [31.05]
    assert table["shares_outstanding"].tolist() == [1_075_000.0]
    assert table["source_row"].tolist() == [1]


def test_a_list_of_invesco_prices(tmp_path):
    body = b"[" + prices(DAYS[1], 30.45, 1_050_000) + b"," + prices(DAYS[0], 30.1, 1e6) + b"]"
    table = read_fund_file(saved(tmp_path, "CQQQ_prices.json", body), "history")
    assert table["date"].tolist() == timestamps(DAYS[:2])
    assert table["shares_outstanding"].tolist() == [1e6, 1_050_000.0]
    assert table["source_row"].tolist() == [2, 1]


EXPECTED_JSON = (
    "JSON of another shape: expected Invesco's NAV history (a list of {effectiveDate,"
    " netAssetValue}, or {lineChartData: [{data: [{date, value}]}]}) or its prices"
    " ({effectiveDate, nav, sharesOutstanding}, or a list of them); found "
)


@pytest.mark.parametrize(
    ("document", "found"),
    [
        ({"navs": [], "ticker": "CQQQ"}, "an object with keys navs, ticker"),
        ([1, 2], "a list whose first item is a number value"),
        (
            [{"date": "2026-01-02", "price": 30}],
            "a list whose first item is an object with keys date, price",
        ),
        ({"effectiveDate": "2026-01-02", "nav": 30}, "an object with keys effectiveDate, nav"),
    ],
)
def test_json_of_another_shape_is_refused_saying_what_arrived(tmp_path, document, found):
    path = saved(tmp_path, "CQQQ.json", json.dumps(document).encode())
    assert problems_of(path) == [EXPECTED_JSON + found]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"[]", "the JSON list is empty: no NAVs or shares in it"),
        (
            b'{"lineChartData": [{"data": []}, {"data": []}]}',
            "lineChartData should hold one series (the NAV); found 2 series",
        ),
        (b'{"lineChartData": [{"data": []}]}', "lineChartData[0].data is empty: no NAVs in it"),
        (b'[{"effectiveDate": "2026-01-02",\n "netAssetValue": 30.1,}]', None),
    ],
)
def test_empty_or_broken_json_is_refused(tmp_path, body, problem):
    (found,) = problems_of(saved(tmp_path, "CQQQ.json", body))
    if problem is None:  # invalid JSON: its position
        assert found.startswith("not valid JSON at line 2, column")
    else:
        assert found == problem


def test_a_nav_record_without_its_value_names_the_record(tmp_path):
    records = [
        {"effectiveDate": "2026-01-05", "netAssetValue": 30.45},
        {"effectiveDate": "2026-01-02"},
    ]
    path = saved(tmp_path, "CQQQ.json", json.dumps(records).encode())
    assert problems_of(path) == [
        "row 2, column 'netAssetValue': no value (the cell is empty or '--')"
    ]


def test_invesco_json_in_the_flows_folder_or_without_a_ticker_is_refused(tmp_path):
    body = invesco_navs_json(list(zip(DAYS, NAVS, strict=True)))
    (problem,) = problems_of(saved(tmp_path, "CQQQ.json", body), "flows")
    assert problem.startswith("Invesco JSON holds NAVs (and shares outstanding), not flows")
    assert problems_of(saved(tmp_path, "navs.json", body)) == [
        "no ticker: name the file after the fund's ticker (e.g. CQQQ_navs.json)"
    ]


# --------------------------------------------------------------------------------------------
# Pages sent instead of files, and zip bombs
# --------------------------------------------------------------------------------------------


def test_the_sec_throttle_page_is_refused_as_a_throttled_request(tmp_path):
    path = saved(tmp_path, "KWEB.xml", sec_throttle_page())
    assert problems_of(path, "flows") == [
        "it is the SEC's 'Request Rate Threshold Exceeded' page, not the file: the SEC throttled"
        " the request (more than 10 requests a second); download it again later, more slowly"
    ]


def test_the_sec_page_for_a_missing_user_agent_says_so(tmp_path):
    page = html_page("SEC.gov | Your Request Originates from an Undeclared Automated Tool")
    (problem,) = problems_of(saved(tmp_path, "KWEB_primary_doc.xml", page), "flows")
    assert problem == (
        "it is the SEC's 'Undeclared Automated Tool' page, not the file: the SEC refused the"
        " request for want of a User-Agent naming you and your e-mail address"
    )


def test_another_html_page_is_refused_as_a_web_page(tmp_path):
    (problem,) = problems_of(saved(tmp_path, "KWEB.json", html_page("KraneShares KWEB")))
    assert problem.startswith("named .json but it is an HTML page")


def bomb_workbook(tmp_path: Path, member_bytes: int) -> Path:
    """An XLSX-looking archive with one member of zeros (deflate packs it ~1,000:1)."""
    path = tmp_path / "ASHR.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", bytes(member_bytes))
    return path


def test_an_xlsx_packed_like_a_zip_bomb_is_refused_before_it_is_opened(tmp_path, monkeypatch):
    opened = []
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: opened.append(a))
    (problem,) = problems_of(bomb_workbook(tmp_path, 4 << 20))
    assert "member xl/worksheets/sheet1.xml unpacks" in problem
    assert "over 200:1 (refused unopened: a possible zip bomb)" in problem
    assert not opened


def test_an_xlsx_unpacking_past_the_cap_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(fund_file_sniffing, "MAX_UNPACKED_BYTES", 1000)
    (problem,) = problems_of(bomb_workbook(tmp_path, 2000))
    assert problem == (
        "it is a workbook whose members unpack to 2,011 bytes, over the limit of 1,000"
        " (refused unopened: a possible zip bomb)"
    )
