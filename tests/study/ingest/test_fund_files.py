"""Reading a researcher's own fund files (helpers.ingest.fund_files).

Every input is a small file written here by hand, and every expected number is typed in: the
tests never compute an expectation with the code under test. Refusals are checked for the file,
the row and/or column, and what is wrong.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers.errors import InvalidDataError, InvalidParameterError
from helpers.ingest.fund_files import detect_format, read_fund_file
from helpers.ingest.fund_files import sniffing as fund_file_sniffing
from helpers.ingest.fund_files.checks import today as fund_files_today
from helpers.ingest.fund_files.sniffing import Sniffed
from helpers.ingest.fund_files.spreadsheetml_reader import read_spreadsheetml

READABLE = (
    "the readable formats are CSV, XLSX, Parquet, SpreadsheetML (.xls from iShares),"
    " Invesco's JSON and SEC N-PORT filings (XML)"
)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def refused(path: Path, kind: str = "history", **options) -> list[str]:
    """The problems reported for a file that must be refused (the error names the file)."""
    with pytest.raises(InvalidDataError) as caught:
        read_fund_file(path, kind, **options)
    assert caught.value.file == str(path)
    assert str(path) in str(caught.value)
    return caught.value.problems


def days(*texts: str) -> list[pd.Timestamp]:
    return [pd.Timestamp(t) for t in texts]


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def test_one_ticker_csv_takes_the_ticker_from_the_file_name(tmp_path):
    path = write(
        tmp_path,
        "KWEB.csv",
        "Date,NAV,Shares Outstanding\n2026-01-13,30.5,151000000\n2026-01-12,30.25,150000000\n",
    )
    table = read_fund_file(path, "history")
    assert list(table.columns) == ["date", "ticker", "nav", "shares_outstanding", "source_row"]
    assert table["date"].tolist() == days("2026-01-12", "2026-01-13")
    assert table["ticker"].tolist() == ["KWEB", "KWEB"]
    assert table["nav"].tolist() == [30.25, 30.5]
    assert table["shares_outstanding"].tolist() == [150_000_000.0, 151_000_000.0]
    assert table["source_row"].tolist() == [3, 2]
    assert str(table["date"].dtype) == "datetime64[us]"
    assert table["nav"].dtype == "float64"
    assert table["shares_outstanding"].dtype == "float64"
    assert table["source_row"].dtype == "int64"


def test_long_form_csv_with_unusual_header_case_order_and_spelling(tmp_path):
    text = (
        "shares out , Trade-Date,Comment,SYMBOL,Nav/Share\n"
        "200,2026-01-13,x,fxi,35.5\n"
        "100,2026-01-12,,MCHI,55\n"
        "210,2026-01-12,y, fxi ,35.25\n"
    )
    table = read_fund_file(write(tmp_path, "several.csv", text), "history")
    assert table["ticker"].tolist() == ["FXI", "FXI", "MCHI"]
    assert table["date"].tolist() == days("2026-01-12", "2026-01-13", "2026-01-12")
    assert table["nav"].tolist() == [35.25, 35.5, 55.0]
    assert table["shares_outstanding"].tolist() == [210.0, 200.0, 100.0]
    assert table["source_row"].tolist() == [4, 2, 3]


def test_semicolon_delimiter_and_utf8_bom(tmp_path):
    text = "\ufeffDate;Ticker;NAV;Shares\n2026-01-12;KWEB;30.25;1500\n"
    table = read_fund_file(write(tmp_path, "data.csv", text), "history")
    assert table["ticker"].tolist() == ["KWEB"]
    assert table["nav"].tolist() == [30.25]
    assert table["shares_outstanding"].tolist() == [1500.0]


def test_latin1_encoding(tmp_path):
    text = "Date,Fonds géré,NAV,Shares Outstanding\n2026-01-12,Société,12.5,400\n"
    table = read_fund_file(write(tmp_path, "CQQQ.csv", text, "latin-1"), "history")
    assert table["ticker"].tolist() == ["CQQQ"]
    assert table["nav"].tolist() == [12.5]
    assert table["shares_outstanding"].tolist() == [400.0]


def test_cp1252_text_is_decoded_as_charset_normalizer_guesses(tmp_path):
    # Not UTF-8: the guess decides how text is shown. Latin-1 has no '€' (byte 0x80).
    text = "Fonds géré – valeurs en € (« NAV »)\nDate,NAV,Shares\n2026-01-12,30.5 €,100\n"
    path = write(tmp_path, "CQQQ.csv", text, "cp1252")
    assert refused(path) == ["row 3, column 'NAV': '30.5 €' is not a number"]


def test_cyrillic_cp1251_text_is_decoded_as_charset_normalizer_guesses(tmp_path):
    text = "Дата,NAV,Shares,Фонд\n2026-01-12,н/д,100,Китай\n"
    path = write(tmp_path, "KWEB.csv", text.replace("Дата", "Date"), "cp1251")
    assert refused(path) == ["row 2, column 'NAV': 'н/д' is not a number"]


def test_a_guess_that_would_lose_a_currency_sign_gives_way_to_cp1252(tmp_path):
    # A few bytes say little: charset-normalizer takes 'NAV (£)' in cp1252 for Japanese
    # (cp932, 'NAV (｣)'), which would read pounds as dollars.
    text = "Date,NAV (£),Shares\n2026-01-12,30.5,100\n2026-01-13,31,100\n"
    assert refused(write(tmp_path, "KWEB.csv", text, "cp1252")) == [
        "column 'NAV (£)': the amounts are in GBP; only US dollars are read (convert them first)"
    ]


def test_utf16_tab_separated(tmp_path):
    text = "As Of\tNAV\tShares Outstanding\nJan 12, 2026\t55.1\t2000\n"
    table = read_fund_file(write(tmp_path, "MCHI.txt", text, "utf-16"), "history")
    assert table["date"].tolist() == days("2026-01-12")
    assert table["nav"].tolist() == [55.1]
    assert table["shares_outstanding"].tolist() == [2000.0]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark(tmp_path, encoding):
    text = "Date,NAV,Shares Outstanding\n2026-01-09,30.95,1150000\n2026-01-12,31.6,1200000\n"
    table = read_fund_file(write(tmp_path, "KWEB.csv", text, encoding), "history")
    assert table["date"].tolist() == days("2026-01-09", "2026-01-12")
    assert table["nav"].tolist() == [30.95, 31.6]
    assert table["shares_outstanding"].tolist() == [1_150_000.0, 1_200_000.0]


def test_binary_data_with_every_other_byte_zero_is_not_taken_for_utf16(tmp_path):
    path = tmp_path / "KWEB.csv"
    path.write_bytes(b"".join(n.to_bytes(2, "little") for n in range(1, 100)))  # 16-bit counts
    assert "it is binary data, not text" in refused(path)[0]


def test_thousands_separators_quotes_currency_and_blank_trailing_rows(tmp_path):
    text = (
        "Date,NAV,Shares Outstanding\n"
        '2026-01-12,"$1,234.5","262,200,000"\n'
        "2026-01-13, 1.5e1 ,'3000'\n"
        ",,\n"
        "\n"
        " , ,\n"
    )
    table = read_fund_file(write(tmp_path, "MCHI.csv", text), "history")
    assert table["nav"].tolist() == [1234.5, 15.0]
    assert table["shares_outstanding"].tolist() == [262_200_000.0, 3000.0]
    assert table["source_row"].tolist() == [2, 3]


def test_lines_above_the_header_are_skipped_and_line_numbers_kept(tmp_path):
    text = (
        "KraneShares daily data\n"
        "source: issuer web site\n"
        "\n"
        "Date,NAV,Shares Outstanding\n"
        "2026-01-12,30,100\n"
    )
    table = read_fund_file(write(tmp_path, "KWEB.csv", text), "history")
    assert table["source_row"].tolist() == [5]
    assert table["nav"].tolist() == [30.0]


def test_a_note_naming_a_date_above_the_header_is_passed_over(tmp_path):
    text = 'As Of,"Jan 12, 2026"\n\nDate,NAV,Shares\n2026-01-12,30,1\n'
    table = read_fund_file(write(tmp_path, "KWEB.csv", text), "history")
    assert table["source_row"].tolist() == [4]
    assert table["nav"].tolist() == [30.0]


def test_a_cell_spanning_lines_shifts_the_line_numbers(tmp_path):
    text = 'Date,Note,NAV,Shares Outstanding\n2026-01-12,"two\nlines",30,100\n2026-01-13,,abc,100\n'
    problems = refused(write(tmp_path, "KWEB.csv", text))
    assert problems == ["row 4, column 'NAV': 'abc' is not a number"]


def test_identical_repeated_rows_are_kept_once(tmp_path):
    text = "Date,NAV,Shares\n2026-01-12,30,100\n2026-01-13,31,100\n2026-01-12,30.0,100\n"
    table = read_fund_file(write(tmp_path, "KWEB.csv", text), "history")
    assert table["date"].tolist() == days("2026-01-12", "2026-01-13")
    assert table["source_row"].tolist() == [2, 3]


def test_shares_come_from_net_assets_over_nav_when_absent(tmp_path):
    text = "Date,NAV,Net Assets (USD mn)\n2026-01-12,20,100\n2026-01-13,25,50\n"
    table = read_fund_file(write(tmp_path, "KWEB.csv", text), "history")
    assert table["shares_outstanding"].tolist() == [5_000_000.0, 2_000_000.0]


# --------------------------------------------------------------------------------------------
# XLSX, Parquet, SpreadsheetML
# --------------------------------------------------------------------------------------------


def test_xlsx_first_sheet_with_a_header_and_real_datetime_cells(tmp_path):
    workbook = openpyxl.Workbook()
    notes = workbook.active
    notes.title = "Read me"
    notes["A1"] = "Prices copied from the issuer"
    prices = workbook.create_sheet("Prices")
    prices["A1"] = "KraneShares"
    prices.append([])
    prices.append(["Date", "Ticker", "NAV", "Shares Outstanding"])  # row 3
    prices.append([dt.datetime(2026, 1, 12), "kweb", 30.25, 1_500_000])  # row 4
    prices.append(["2026-01-13", "KWEB", "30.5", 1_510_000])  # row 5
    path = tmp_path / "prices.xlsx"
    workbook.save(path)

    table = read_fund_file(path, "history")
    assert table["date"].tolist() == days("2026-01-12", "2026-01-13")
    assert table["ticker"].tolist() == ["KWEB", "KWEB"]
    assert table["nav"].tolist() == [30.25, 30.5]
    assert table["shares_outstanding"].tolist() == [1_500_000.0, 1_510_000.0]
    assert table["source_row"].tolist() == [4, 5]


def test_xlsx_prefers_the_sheet_named_historical(tmp_path):
    workbook = openpyxl.Workbook()
    other = workbook.active
    other.title = "Prices"
    other.append(["Date", "NAV", "Shares"])
    other.append([dt.datetime(2026, 1, 12), 1.0, 1])
    historical = workbook.create_sheet("historical")
    historical.append(["Date", "NAV", "Shares"])
    historical.append([dt.datetime(2026, 1, 12), 2.0, 7])
    path = tmp_path / "FXI.xlsx"
    workbook.save(path)

    table = read_fund_file(path, "history")
    assert table["nav"].tolist() == [2.0]
    assert table["shares_outstanding"].tolist() == [7.0]


def test_xlsx_bad_cell_names_the_spreadsheet_row(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Date", "NAV", "Shares"])
    sheet.append([dt.datetime(2026, 1, 12), "n.a.", 7])
    path = tmp_path / "FXI.xlsx"
    workbook.save(path)
    assert refused(path) == ["row 2, column 'NAV': 'n.a.' is not a number"]


def test_parquet_with_typed_columns(tmp_path):
    table = pa.table(
        {
            "date": pa.array([dt.date(2026, 1, 13), dt.date(2026, 1, 12)], pa.date32()),
            "ticker": ["fxi", "FXI"],
            "nav": [35.5, 35.0],
            "shares_outstanding": pa.array([100, 90], pa.int64()),
        }
    )
    path = tmp_path / "fxi.parquet"
    pq.write_table(table, path)

    result = read_fund_file(path, "history")
    assert result["date"].tolist() == days("2026-01-12", "2026-01-13")
    assert result["ticker"].tolist() == ["FXI", "FXI"]
    assert result["nav"].tolist() == [35.0, 35.5]
    assert result["shares_outstanding"].tolist() == [90.0, 100.0]
    assert result["source_row"].tolist() == [3, 2]


def test_parquet_with_text_columns(tmp_path):
    table = pa.table(
        {
            "As Of": ["Jan 12, 2026", "Jan 13, 2026"],
            "Symbol": ["KWEB", "KWEB"],
            "Net Flows (USD mn)": ["(1,234.5)", "--"],
        }
    )
    path = tmp_path / "flows.parquet"
    pq.write_table(table, path)
    assert refused(path, "flows") == [
        "row 3, column 'Net Flows (USD mn)': no value (the cell is empty or '--')"
    ]
    pq.write_table(table.set_column(2, "Net Flows (USD mn)", pa.array(["(1,234.5)", "2"])), path)
    result = read_fund_file(path, "flows")
    assert result["flow_usd"].tolist() == [-1_234_500_000.0, 2_000_000.0]
    assert result["date"].tolist() == days("2026-01-12", "2026-01-13")


def test_parquet_tickers_read_as_a_dictionary_are_cleaned_and_blank_rows_skipped(tmp_path):
    table = pa.table(
        {
            "date": pa.array([dt.date(2026, 1, 12), None, dt.date(2026, 1, 13)], pa.date32()),
            "ticker": pa.array([" kweb", " ", "KWEB"]).dictionary_encode(),
            "nav": [30.0, None, 31.0],
            "shares_outstanding": [100.0, None, 110.0],
        }
    )
    path = tmp_path / "history.parquet"
    pq.write_table(table, path)
    result = read_fund_file(path, "history")
    assert result["ticker"].tolist() == ["KWEB", "KWEB"]
    assert result["source_row"].tolist() == [2, 4]


def test_parquet_rows_are_numbered_as_below_a_header_line(tmp_path):
    table = pa.table(
        {
            "Date": pa.array([dt.date(2026, 1, 13), dt.date(2026, 1, 12)], pa.date32()),
            "Ticker": ["FXI", "FXI"],
            "NAV": [35.5, -1.0],
            "Shares Outstanding": [100, 90],
        }
    )
    path = tmp_path / "fxi.parquet"
    pq.write_table(table, path)
    assert refused(path) == ["row 3, column 'NAV': '-1.0': a NAV must be greater than 0"]


SS = 'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"'
HOLDINGS = """<ss:Worksheet ss:Name="Holdings"><ss:Table>
<ss:Row><ss:Cell><ss:Data ss:Type="String">Ticker</ss:Data></ss:Cell>
<ss:Cell><ss:Data ss:Type="String">Name</ss:Data></ss:Cell></ss:Row>
<ss:Row><ss:Cell><ss:Data ss:Type="String">700</ss:Data></ss:Cell>
<ss:Cell><ss:Data ss:Type="String">TENCENT HOLDINGS LTD</ss:Data></ss:Cell></ss:Row>
</ss:Table></ss:Worksheet>
"""
HISTORICAL = """<ss:Worksheet ss:Name="Historical"><ss:Table>
<ss:Row><ss:Cell><ss:Data ss:Type="String">iShares MSCI China ETF</ss:Data></ss:Cell></ss:Row>
<ss:Row ss:Index="3">
<ss:Cell><ss:Data ss:Type="String">As Of</ss:Data></ss:Cell>
<ss:Cell><ss:Data ss:Type="String">NAV per Share</ss:Data></ss:Cell>
<ss:Cell><ss:Data ss:Type="String">Ex-Dividends</ss:Data></ss:Cell>
<ss:Cell><ss:Data ss:Type="String">Shares Outstanding</ss:Data></ss:Cell>
<ss:Cell><ss:Data ss:Type="String">Total Return</ss:Data></ss:Cell>
</ss:Row>
<ss:Row>
<ss:Cell><ss:Data ss:Type="String">Jan 13, 2026</ss:Data></ss:Cell>
<ss:Cell><ss:Data ss:Type="Number">55.12</ss:Data></ss:Cell>
<ss:Cell><ss:Data ss:Type="String">--</ss:Data></ss:Cell>
<ss:Cell><ss:Data ss:Type="Number">262200000</ss:Data></ss:Cell>
<ss:Cell><ss:Data ss:Type="Number">0.45</ss:Data></ss:Cell>
</ss:Row>
<ss:Row>
<ss:Cell><ss:Data ss:Type="String"><html:B>Jan 12</html:B>, 2026</ss:Data></ss:Cell>
<ss:Cell><ss:Data ss:Type="Number">54.87</ss:Data></ss:Cell>
<ss:Cell ss:Index="4"><ss:Data ss:Type="Number">261600000</ss:Data></ss:Cell>
</ss:Row>
<ss:Row>
<ss:Cell><ss:Data ss:Type="DateTime">2026-01-09T00:00:00.000</ss:Data></ss:Cell>
<ss:Cell><ss:Data ss:Type="Number">54.3</ss:Data></ss:Cell>
<ss:Cell><ss:Data ss:Type="Number">0.62</ss:Data></ss:Cell>
<ss:Cell><ss:Data ss:Type="Number">261000000</ss:Data></ss:Cell>
</ss:Row>
<ss:Row></ss:Row>
</ss:Table></ss:Worksheet>
"""


def spreadsheetml(*sheets: str, prolog: str = "") -> str:
    return (
        '<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
        f"{prolog}<ss:Workbook {SS} "
        'xmlns:html="http://www.w3.org/TR/REC-html40">\n' + "".join(sheets) + "</ss:Workbook>\n"
    )


def test_ishares_spreadsheetml_workbook(tmp_path):
    path = write(tmp_path, "MCHI_fund.xls", spreadsheetml(HOLDINGS, HISTORICAL))
    assert detect_format(path) == "spreadsheetml"
    table = read_fund_file(path, "history")
    assert table["date"].tolist() == days("2026-01-09", "2026-01-12", "2026-01-13")
    assert table["ticker"].tolist() == ["MCHI"] * 3
    assert table["nav"].tolist() == [54.3, 54.87, 55.12]
    assert table["shares_outstanding"].tolist() == [261_000_000.0, 261_600_000.0, 262_200_000.0]
    assert table["source_row"].tolist() == [6, 5, 4]


def test_spreadsheetml_with_a_default_namespace(tmp_path):
    text = (
        '<?xml version="1.0"?>\n'
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
        f"{SS}>\n"
        '<Worksheet ss:Name="HISTORICAL"><Table>\n'
        '<Row><Cell><Data ss:Type="String">Date</Data></Cell>'
        '<Cell><Data ss:Type="String">NAV</Data></Cell>'
        '<Cell><Data ss:Type="String">Shares</Data></Cell></Row>\n'
        '<Row><Cell><Data ss:Type="String">2026-01-12</Data></Cell>'
        '<Cell><Data ss:Type="Number">10</Data></Cell>'
        '<Cell><Data ss:Type="Number">20</Data></Cell></Row>\n'
        "</Table></Worksheet></Workbook>\n"
    )
    table = read_fund_file(write(tmp_path, "FXI_fund.xls", text), "history")
    assert table["nav"].tolist() == [10.0]
    assert table["shares_outstanding"].tolist() == [20.0]
    assert table["source_row"].tolist() == [2]


def test_spreadsheetml_without_a_historical_sheet_is_refused(tmp_path):
    path = write(tmp_path, "MCHI_fund.xls", spreadsheetml(HOLDINGS))
    assert refused(path) == ["no sheet named 'Historical'; sheets found: 'Holdings'"]


def test_truncated_spreadsheetml_is_refused_with_the_position(tmp_path):
    text = spreadsheetml(HOLDINGS, HISTORICAL)
    path = write(tmp_path, "MCHI_fund.xls", text[: text.index("<ss:Row ss:Index")])
    (problem,) = refused(path)
    # The text stops after line 11 (the title row and its line break): line 12 is empty.
    assert problem.startswith("malformed XML at line 12, column 1: ")
    assert "no element found" in problem


def test_raw_ampersand_in_spreadsheetml_is_read_as_an_ampersand(tmp_path):
    text = spreadsheetml(HOLDINGS.replace("TENCENT HOLDINGS LTD", "S&P"), HISTORICAL)
    table = read_fund_file(write(tmp_path, "MCHI_fund.xls", text), "history")
    assert table["nav"].tolist() == [54.3, 54.87, 55.12]


def test_malformed_xml_after_a_raw_ampersand_is_refused_with_the_files_own_column(tmp_path):
    holdings = HOLDINGS.replace(
        "TENCENT HOLDINGS LTD</ss:Data></ss:Cell>", "S&P & CO</ss:Data></ss:Cel>"
    )
    (problem,) = refused(write(tmp_path, "MCHI_fund.xls", spreadsheetml(holdings, HISTORICAL)))
    # Line 8 is '<ss:Cell><ss:Data ss:Type="String">S&P & CO</ss:Data></ss:Cel></ss:Row>': expat
    # points at the name of the mismatched end tag, character 56 as written (64 once each '&' is
    # escaped as '&amp;').
    assert problem == "malformed XML at line 8, column 56: mismatched tag"


def test_doctype_and_entity_declarations_are_refused(tmp_path):
    bomb = '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>\n'
    path = write(tmp_path, "MCHI_fund.xls", spreadsheetml(HISTORICAL, prolog=bomb))
    (problem,) = refused(path)
    assert "named .xls but it is an XML document with a DOCTYPE or ENTITY declaration" in problem
    assert problem.endswith(READABLE)


BILLION_LAUGHS = (
    '<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
    + "".join(
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n > 1 else "&lol;" * 10}">\n'
        for n in range(1, 10)
    )
    + "]>\n"
)
DTD_REFUSED = (
    "named .xls but it is an XML document with a DOCTYPE or ENTITY declaration, refused for safety"
    f" (entity expansion); {READABLE}"
)


def test_billion_laughs_spreadsheetml_is_refused_naming_the_file(tmp_path):
    # Nine levels of ten: &lol9; would expand to 10**9 "lol"s. The cell uses it.
    history = HISTORICAL.replace("iShares MSCI China ETF", "&lol9;")
    path = write(tmp_path, "MCHI_fund.xls", spreadsheetml(history, prolog=BILLION_LAUGHS))
    assert refused(path) == [DTD_REFUSED]
    with pytest.raises(InvalidDataError, match="DOCTYPE or ENTITY declaration"):
        detect_format(path)


def test_the_spreadsheetml_reader_refuses_a_doctype_itself(tmp_path):
    # Sniffing refuses it first; the reader parses with defusedxml too (the file could change
    # between the two), and says the same, naming the file.
    path = write(tmp_path, "MCHI_fund.xls", spreadsheetml(HISTORICAL, prolog=BILLION_LAUGHS))
    with pytest.raises(InvalidDataError) as caught:
        read_spreadsheetml(path, Sniffed(format="spreadsheetml"), "history")
    assert caught.value.file == str(path)
    assert caught.value.problems == [DTD_REFUSED]


def test_external_entity_spreadsheetml_is_refused(tmp_path):
    prolog = '<!DOCTYPE ss:Workbook [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
    history = HISTORICAL.replace("iShares MSCI China ETF", "&secret;")
    path = write(tmp_path, "MCHI_fund.xls", spreadsheetml(history, prolog=prolog))
    assert refused(path) == [DTD_REFUSED]


@pytest.mark.parametrize(
    "page",
    [
        "<!doctype html>\n<html><body>Sign in</body></html>",  # lower case: not even XML
        "<html lang=en><body>Sign in</body></html>",  # an attribute without quotes
        '<!-- saved -->\n<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN">\n<HTML></HTML>',
    ],
)
def test_html_pages_are_told_from_xml_with_a_doctype(tmp_path, page):
    (problem,) = refused(write(tmp_path, "MCHI_fund.xls", page))
    assert problem.startswith("named .xls but it is an HTML page")


def test_spreadsheetml_with_a_comment_before_the_workbook_is_read(tmp_path):
    text = spreadsheetml(HISTORICAL, prolog="<!-- exported by iShares -->\n")
    table = read_fund_file(write(tmp_path, "MCHI_fund.xls", text), "history")
    assert table["nav"].tolist() == [54.3, 54.87, 55.12]


NOT_SPREADSHEETML = ", not a SpreadsheetML workbook or an N-PORT filing"


@pytest.mark.parametrize(
    ("text", "described"),
    [
        (
            '<?xml version="1.0"?>\n<rss version="2.0"><channel/></rss>',
            f"an XML document whose root is <rss>{NOT_SPREADSHEETML}",
        ),
        (
            '<a:feed xmlns:a="urn:x"></a:feed>',
            f"an XML document whose root is <a:feed>{NOT_SPREADSHEETML}",
        ),
        ("<Workbook></Workbook>", f"an XML document whose root is <Workbook>{NOT_SPREADSHEETML}"),
        ("<!-- never closed\n<Workbook/>", "XML whose start could not be read"),
        ("<123>\n", "markup that is not a SpreadsheetML workbook or an N-PORT filing"),
    ],
)
def test_markup_that_is_not_spreadsheetml_is_described(tmp_path, text, described):
    assert refused(write(tmp_path, "MCHI_fund.xls", text)) == [
        f"named .xls but it is {described}; {READABLE}"
    ]


# --------------------------------------------------------------------------------------------
# Flows and units
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Net Flow (USD mn)", 2_000_000.0),
        ("Flows ($M)", 2_000_000.0),
        ("flow_usd_millions", 2_000_000.0),
        ('"Net flows, US$ bn"', 2_000_000_000.0),
        ("Fund Flows (USD thousands)", 2_000.0),
        ("flow_usd", 2.0),
        ("Net Flow ($)", 2.0),
    ],
)
def test_flow_unit_stated_in_the_header(tmp_path, header, expected):
    path = write(tmp_path, "MCHI_flows.csv", f"Date,{header}\n2026-01-12,2\n")
    table = read_fund_file(path, "flows")
    assert list(table.columns) == ["date", "ticker", "flow_usd", "source_row"]
    assert table["flow_usd"].tolist() == [expected]
    assert table["ticker"].tolist() == ["MCHI"]


def test_negative_flows_in_parentheses(tmp_path):
    text = 'Date,Net Flow (USD mn)\n2026-01-13,2.25\n2026-01-12,"(1,500)"\n2026-01-14,-0.5\n'
    table = read_fund_file(write(tmp_path, "KWEB.csv", text), "flows")
    assert table["flow_usd"].tolist() == [-1_500_000_000.0, 2_250_000.0, -500_000.0]
    assert table["source_row"].tolist() == [3, 2, 4]


def test_flow_unit_in_a_unit_column(tmp_path):
    text = "Ticker,Date,Flows,Units\nKWEB,2026-01-12,1.5,$bn\nKWEB,2026-01-13,-0.25,$bn\n"
    table = read_fund_file(write(tmp_path, "flows.csv", text), "flows")
    assert table["flow_usd"].tolist() == [1_500_000_000.0, -250_000_000.0]


def test_flows_without_a_stated_unit_are_refused(tmp_path):
    path = write(tmp_path, "MCHI.csv", "Date,Flow\n2026-01-12,2\n")
    assert refused(path, "flows") == [
        "column 'Flow': the unit is not stated; name it e.g. 'Flow (USD millions)'"
        " or add a 'Unit' column"
    ]


def test_flows_in_another_currency_are_refused(tmp_path):
    path = write(tmp_path, "MCHI.csv", "Date,Net Flows (EUR m)\n2026-01-12,2\n")
    assert refused(path, "flows") == [
        "column 'Net Flows (EUR m)': the amounts are in EUR; only US dollars are read"
        " (convert them first)"
    ]


@pytest.mark.parametrize(
    ("header", "unit", "problem"),
    [
        (
            "Flow",
            "EUR m",
            "column 'Unit': unit 'EUR m': the amounts are in EUR; only US dollars are read"
            " (convert them first)",
        ),
        (
            "Flow",
            "millions",
            "column 'Unit': unit 'millions': the currency is not stated; write e.g."
            " 'USD millions' or '$bn'",
        ),
        (
            "Flow (USD mn)",
            "USD bn",
            "column 'Unit': unit 'USD bn': it disagrees with the unit in the header of the"
            " flows column",
        ),
    ],
)
def test_a_unit_column_that_does_not_give_us_dollars_is_refused(tmp_path, header, unit, problem):
    text = f"Date,{header},Unit\n2026-01-12,2,{unit}\n"
    assert refused(write(tmp_path, "MCHI.csv", text), "flows") == [problem]


def test_a_unit_column_agreeing_with_the_header(tmp_path):
    text = "Date,Flow (USD mn),Unit\n2026-01-12,2,USD millions\n"
    table = read_fund_file(write(tmp_path, "MCHI.csv", text), "flows")
    assert table["flow_usd"].tolist() == [2_000_000.0]


def test_a_unit_column_with_several_units_is_refused(tmp_path):
    text = "Date,Flow,Unit\n2026-01-12,2,USD millions\n2026-01-13,2,USD bn\n"
    assert refused(write(tmp_path, "MCHI.csv", text), "flows") == [
        "column 'Unit' must hold one unit for the file; found 'USD millions', 'USD bn'"
    ]


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["2026-01-12", "2026-01-13T00:00:00.000"], None),  # two formats: refused below
        (["12-Jan-2026", "13-Jan-2026"], ["2026-01-12", "2026-01-13"]),
        (["12 Jan 2026", "13 Jan 2026"], ["2026-01-12", "2026-01-13"]),
        (["January 12, 2026", "January 13, 2026"], ["2026-01-12", "2026-01-13"]),
        (["20260112", "20260113"], ["2026-01-12", "2026-01-13"]),
        (["2026-01-12T00:00:00.000", "2026-01-13T00:00:00.000"], ["2026-01-12", "2026-01-13"]),
        (["2026-01-12T00:00:00Z", "2026-01-13T00:00:00Z"], ["2026-01-12", "2026-01-13"]),
        (["2026-01-12T00:00:00.000Z", "2026-01-13T00:00:00.000Z"], ["2026-01-12", "2026-01-13"]),
        (["13/01/2025", "02/01/2025"], ["2025-01-13", "2025-01-02"]),  # day first
        (["01/13/2025", "1/2/2025"], ["2025-01-13", "2025-01-02"]),  # month first
    ],
)
def test_date_formats(tmp_path, cells, expected):
    text = "Date,NAV,Shares\n" + "".join(f'"{cell}",1,1\n' for cell in cells)
    path = write(tmp_path, "KWEB.csv", text)
    if expected is None:
        assert refused(path) == [
            "row 3, column 'Date': '2026-01-13T00:00:00.000' is not a date"
            " (other dates in the column look like '2026-01-12')"
        ]
        return
    table = read_fund_file(path, "history")
    assert table.sort_values("source_row")["date"].tolist() == days(*expected)


def test_ambiguous_slash_dates_are_refused(tmp_path):
    path = write(tmp_path, "KWEB.csv", "Date,NAV,Shares\n01/02/2025,1,1\n03/04/2025,1,1\n")
    assert refused(path) == [
        "column 'Date': dates like '01/02/2025' can be day-first or month-first; state the"
        " format with the date_format parameter (e.g. '%d/%m/%Y')"
    ]
    table = read_fund_file(path, "history", date_format="%d/%m/%Y")
    assert table["date"].tolist() == days("2025-02-01", "2025-04-03")
    table = read_fund_file(path, "history", date_format="%m/%d/%Y")
    assert table["date"].tolist() == days("2025-01-02", "2025-03-04")


def test_slash_dates_mixing_day_first_and_month_first_are_refused(tmp_path):
    path = write(tmp_path, "KWEB.csv", "Date,NAV,Shares\n13/01/2025,1,1\n01/14/2025,1,1\n")
    (problem,) = refused(path)
    assert problem.startswith(
        "column 'Date': mixes day-first dates (like '13/01/2025') and month-first dates"
        " (like '01/14/2025')"
    )


def test_a_date_in_the_future_is_refused_naming_the_row(tmp_path):
    today = fund_files_today()
    tomorrow = today + dt.timedelta(days=1)
    text = f"Date,NAV,Shares\n{today},30,100\n{tomorrow},31,110\n2062-01-12,31,120\n"
    assert refused(write(tmp_path, "KWEB.csv", text)) == [
        f"row 3, column 'Date': '{tomorrow}' is after today",
        "row 4, column 'Date': '2062-01-12' is after today",
    ]


def test_an_unparseable_date_names_the_row(tmp_path):
    text = "As Of,NAV,Shares\n2025-12-31,1,1\n2025-13-45,1,1\n,1,1\n"
    assert refused(write(tmp_path, "KWEB.csv", text)) == [
        "row 3, column 'As Of': '2025-13-45' is not a date"
        " (other dates in the column look like '2025-12-31')",
        "row 4, column 'As Of': the cell is empty",
    ]


# --------------------------------------------------------------------------------------------
# Refused files and values
# --------------------------------------------------------------------------------------------


def test_bad_values_are_all_reported_with_row_and_column(tmp_path):
    text = (
        "Date,NAV per Share,Shares Outstanding\n"
        "2026-01-12,abc,100\n"  # line 2
        "2026-01-13,-1.5,0\n"  # line 3
        "2026-01-14,--,\n"  # line 4
        '2026-01-15,"30,5",5\n'  # line 5
    )
    assert refused(write(tmp_path, "KWEB.csv", text)) == [
        "row 2, column 'NAV per Share': 'abc' is not a number",
        "row 3, column 'NAV per Share': '-1.5': a NAV must be greater than 0",
        "row 3, column 'Shares Outstanding': '0': shares outstanding must be greater than 0",
        "row 4, column 'NAV per Share': no value (the cell is empty or '--')",
        "row 4, column 'Shares Outstanding': no value (the cell is empty or '--')",
        "row 5, column 'NAV per Share': '30,5' is not a number (write decimals with '.', not ',')",
    ]


def test_many_bad_rows_are_counted_beyond_the_listed_ones(tmp_path):
    text = "Date,NAV,Shares\n" + "".join(f"2026-01-{d:02d},x,1\n" for d in range(1, 31))
    text += "".join(f"2026-02-{d:02d},x,1\n" for d in range(1, 29))
    problems = refused(write(tmp_path, "KWEB.csv", text))
    assert len(problems) == 51
    assert problems[0] == "row 2, column 'NAV': 'x' is not a number"
    assert problems[49] == "row 51, column 'NAV': 'x' is not a number"
    assert problems[50] == "column 'NAV': 8 more row(s) with the same problem"


def test_conflicting_repeated_date_is_refused_naming_both_rows(tmp_path):
    text = "Date,NAV,Shares\n2026-01-12,30,100\n2026-01-13,31,100\n2026-01-12,32,100\n"
    assert refused(write(tmp_path, "KWEB.csv", text)) == [
        "rows 2 and 4: date 2026-01-12 appears twice with different values (ticker KWEB)"
    ]


def test_an_invalid_ticker_cell_is_refused(tmp_path):
    text = "Date,Fund,NAV,Shares\n2026-01-12,iShares China,30,100\n2026-01-12,,30,100\n"
    assert refused(write(tmp_path, "funds.csv", text)) == [
        "row 2, column 'Fund': 'iShares China' is not a ticker (2 to 5 letters)",
        "row 3, column 'Fund': the cell is empty",
    ]


def test_empty_file_is_refused(tmp_path):
    message = f"the file is empty (or holds only blank lines); {READABLE}"
    assert refused(write(tmp_path, "KWEB.csv", "")) == [message]
    assert refused(write(tmp_path, "KWEB.csv", "\n \r\n\n")) == [message]


def test_header_only_is_refused(tmp_path):
    path = write(tmp_path, "KWEB.csv", "Date,NAV,Shares Outstanding\n,,\n")
    assert refused(path) == ["no data rows below the header"]


def test_missing_required_column_is_refused(tmp_path):
    path = write(tmp_path, "KWEB.csv", "Date,NAV\n2026-01-12,30\n")
    assert refused(path) == [
        "required column missing: shares outstanding (looked for 'Shares Outstanding',"
        " 'Outstanding Shares', 'Shares Out', 'Shares', or 'Net Assets' with 'NAV');"
        " columns found: 'Date', 'NAV'"
    ]


def test_missing_date_column_is_refused(tmp_path):
    path = write(tmp_path, "KWEB.csv", "Day,NAV,Shares\n2026-01-12,30,1\n")
    (problem,) = refused(path)
    assert problem.startswith("required column missing: date (looked for 'Date', 'As Of',")
    assert problem.endswith("columns found: 'Day', 'NAV', 'Shares'")


def test_no_ticker_anywhere_is_refused(tmp_path):
    message = (
        "no ticker: add a 'Ticker' column or name the file after the fund's ticker"
        " (e.g. MCHI_fund.xls)"
    )
    path = write(tmp_path, "prices.csv", "Date,NAV,Shares\n2026-01-12,30,1\n")
    assert refused(path) == [message]
    path = write(tmp_path, "iShares-MSCI-China-ETF_fund.xls", spreadsheetml(HISTORICAL))
    assert refused(path) == [message]


def test_pdf_named_xlsx_is_refused(tmp_path):
    path = tmp_path / "KWEB.xlsx"
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    assert refused(path) == [f"named .xlsx but it is a PDF document; {READABLE}"]


def test_old_binary_excel_is_refused(tmp_path):
    path = tmp_path / "MCHI_fund.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    assert refused(path) == [
        f"it is an Excel 97-2003 binary workbook; save it as .xlsx or .csv; {READABLE}"
    ]


def test_zip_that_is_not_a_workbook_is_refused(tmp_path):
    path = tmp_path / "KWEB.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "hello")
    assert refused(path) == [
        f"named .xlsx but it is a ZIP archive that is not an Excel workbook; {READABLE}"
    ]


def test_html_page_is_refused(tmp_path):
    path = write(tmp_path, "MCHI_fund.xls", "<!DOCTYPE html>\n<html><body>Sign in</body></html>")
    (problem,) = refused(path)
    assert problem.startswith("named .xls but it is an HTML page")


def test_file_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    path = write(tmp_path, "KWEB.csv", "Date,NAV,Shares\n2026-01-12,30,1\n")  # 32 bytes
    monkeypatch.setattr(fund_file_sniffing, "MAX_FILE_BYTES", 31)
    assert refused(path) == [
        "the file is 32 bytes, over the limit of 31 bytes; split it into smaller files"
    ]
    monkeypatch.setattr(fund_file_sniffing, "MAX_FILE_BYTES", 32)
    assert read_fund_file(path, "history")["nav"].tolist() == [30.0]


def test_missing_file_is_refused(tmp_path):
    path = tmp_path / "KWEB.csv"
    assert refused(path) == ["file not found"]
    with pytest.raises(InvalidDataError, match="file not found"):
        detect_format(path)


def test_csv_named_xlsx_is_read_as_csv_with_a_warning(tmp_path):
    path = write(tmp_path, "KWEB.xlsx", "Date,NAV,Shares\n2026-01-12,30,1\n")
    with pytest.warns(UserWarning, match=r"named \.xlsx but its content is CSV text"):
        table = read_fund_file(path, "history")
    assert table["nav"].tolist() == [30.0]


def test_unknown_kind_is_a_parameter_error(tmp_path):
    path = write(tmp_path, "KWEB.csv", "Date,NAV,Shares\n2026-01-12,30,1\n")
    with pytest.raises(InvalidParameterError, match="kind must be 'history' or 'flows'"):
        read_fund_file(path, "prices")  # type: ignore[arg-type]


@pytest.mark.filterwarnings("ignore:.*named .xlsx but its content")
@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.xlsx", b"Date;NAV\n2026-01-12;1\n", "csv"),
        ("a.csv", b"\xef\xbb\xbfDate,NAV\n", "csv"),
        ("a.dat", b"PAR1\x15\x04", "parquet"),
        ("a.bin", f'\n  <?xml version="1.0"?><Workbook {SS}>'.encode(), "spreadsheetml"),
    ],
)
def test_detect_format_by_content(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    assert detect_format(path) == expected


def test_detect_format_recognises_an_xlsx_workbook(tmp_path):
    path = tmp_path / "book.data"
    openpyxl.Workbook().save(path)
    assert detect_format(path) == "xlsx"


@pytest.mark.parametrize(
    ("content", "looks_like"),
    [
        (b"\x00\x01\x02\x03binary", "binary data, not text"),
        (b"\x1f\x8b\x08\x00", "a gzip-compressed file; decompress it first"),
        (b'<?xml version="1.0"?><root/>', "an XML document whose root is <root>"),
    ],
)
def test_detect_format_refuses_other_content(tmp_path, content, looks_like):
    path = tmp_path / "KWEB.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidDataError) as caught:
        detect_format(path)
    assert f"named .csv but it is {looks_like}" in caught.value.problems[0]
