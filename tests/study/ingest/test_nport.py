"""SEC N-PORT filings read into monthly flows (helpers.ingest.fund_files.read_nport_filing).

Filings come from tests/support/source_files.py with invented amounts; expectations are typed in.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from source_files import nport_primary_doc, sec_throttle_page

from helpers.errors import InvalidDataError, InvalidParameterError
from helpers.ingest.fund_files import (
    NPORT_COLUMNS,
    detect_format,
    read_fund_file,
    read_nport_filing,
)

FLOWS = [
    (1_000_000.00, 2_500.50, 400_000.00),  # mon1Flow
    (0.00, 0.00, 750_000.25),  # mon2Flow
    (3_000_000.00, 0.00, 1_000_000.00),  # mon3Flow
]


def filing(tmp_path: Path, name: str = "KWEB_primary_doc.xml", **changes) -> Path:
    fields = dict(
        series_id="S000012345",
        report_date=dt.date(2025, 3, 31),
        fiscal_year_end=dt.date(2025, 7, 31),
        flows=FLOWS,
        net_assets=5_000_000_000.00,
        total_assets=5_010_000_000.00,
    )
    path = tmp_path / name
    path.write_bytes(nport_primary_doc(**(fields | changes)))
    return path


def refused(path: Path, **options) -> list[str]:
    with pytest.raises(InvalidDataError) as caught:
        read_nport_filing(path, **options)
    assert caught.value.file == str(path)
    return caught.value.problems


def test_a_filing_gives_three_months_oldest_first(tmp_path):
    path = filing(tmp_path)
    assert detect_format(path) == "nport"
    table = read_nport_filing(path)
    assert list(table.columns) == NPORT_COLUMNS
    assert table["ticker"].tolist() == ["KWEB"] * 3
    assert table["series_id"].tolist() == ["S000012345"] * 3
    assert table["report_date"].tolist() == [pd.Timestamp("2025-03-31")] * 3
    assert table["submission_type"].tolist() == ["NPORT-P"] * 3
    # mon1Flow is the oldest month of the quarter ending on the report date.
    assert table["month_start"].tolist() == [
        pd.Timestamp("2025-01-01"),
        pd.Timestamp("2025-02-01"),
        pd.Timestamp("2025-03-01"),
    ]
    assert table["month_end"].tolist() == [
        pd.Timestamp("2025-01-31"),
        pd.Timestamp("2025-02-28"),
        pd.Timestamp("2025-03-31"),
    ]
    assert table["sales_usd"].tolist() == [1_000_000.0, 0.0, 3_000_000.0]
    assert table["reinvestment_usd"].tolist() == [2_500.5, 0.0, 0.0]
    assert table["redemption_usd"].tolist() == [400_000.0, 750_000.25, 1_000_000.0]
    assert table["flow_usd"].tolist() == [602_500.5, -750_000.25, 2_000_000.0]
    np.testing.assert_array_equal(table["net_assets_usd"], [np.nan, np.nan, 5e9])
    for column in ("report_date", "month_start", "month_end"):
        assert str(table[column].dtype) == "datetime64[us]"


def test_a_report_date_inside_a_month_still_gives_calendar_months(tmp_path):
    table = read_nport_filing(filing(tmp_path, report_date=dt.date(2024, 12, 30)))
    assert table["month_start"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-10-01",
        "2024-11-01",
        "2024-12-01",
    ]
    assert table["month_end"].dt.strftime("%Y-%m-%d").tolist()[-1] == "2024-12-31"


def test_the_ticker_argument_names_the_fund(tmp_path):
    path = filing(tmp_path, name="primary_doc.xml", submission_type="NPORT-P/A")
    table = read_nport_filing(path, ticker="cqqq")
    assert table["ticker"].tolist() == ["CQQQ"] * 3
    assert table["submission_type"].tolist() == ["NPORT-P/A"] * 3
    with pytest.raises(InvalidParameterError, match="ticker must be 2 to 5 letters"):
        read_nport_filing(path, ticker="C-QQQ")
    assert refused(path) == [
        "no ticker: pass the fund's ticker or name the file after it (e.g. KWEB_primary_doc.xml)"
    ]


def test_the_daily_reader_points_to_the_filing_reader(tmp_path):
    with pytest.raises(InvalidDataError, match="read by read_nport_filing"):
        read_fund_file(filing(tmp_path), "flows")


def edited(path: Path, old: str, new: str) -> Path:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_an_unknown_submission_type_is_refused(tmp_path):
    path = filing(tmp_path, submission_type="NPORT-EX")
    assert refused(path) == [
        "headerData/submissionType: 'NPORT-EX' is not a submission type read here"
        " (NPORT-P, NPORT-P/A)"
    ]


def test_bad_amounts_are_all_named_by_element_and_attribute(tmp_path):
    path = edited(filing(tmp_path), 'sales="0.00"', 'sales="n/a"')
    path = edited(path, 'redemption="1000000.00"', 'redemption="-1000000.00"')
    path = edited(path, "<netAssets>5000000000.00<", "<netAssets>five<")
    assert refused(path) == [
        "formData/fundInfo/netAssets: 'five' is not a number",
        "formData/fundInfo/mon2Flow sales: 'n/a' is not a number",
        "formData/fundInfo/mon3Flow redemption: -1000000.00 is negative; amounts must be 0 or more",
    ]


def test_a_missing_monthly_flow_or_attribute_is_refused(tmp_path):
    path = filing(tmp_path)
    text = path.read_text(encoding="utf-8")
    start = text.index("<mon2Flow")
    path.write_text(text[:start] + text[text.index("/>", start) + 2 :], encoding="utf-8")
    path = edited(path, ' reinvestment="0.00" sales="3000000.00"', ' sales="3000000.00"')
    assert refused(path) == [
        "formData/fundInfo/mon2Flow: missing (Item B.6 reports mon1Flow, mon2Flow and mon3Flow)",
        "formData/fundInfo/mon3Flow: attribute 'reinvestment' missing",
    ]


def test_a_filing_without_fund_information_is_refused(tmp_path):
    path = filing(tmp_path)
    text = path.read_text(encoding="utf-8")
    cut = text[: text.index("<fundInfo>")] + text[text.index("</fundInfo>") + len("</fundInfo>") :]
    path.write_text(cut, encoding="utf-8")
    assert refused(path) == ["formData/fundInfo: missing; an N-PORT filing reports its fund there"]


def test_a_missing_or_impossible_report_date_is_refused(tmp_path):
    path = edited(filing(tmp_path), "<repPdDate>2025-03-31<", "<repPdDate>2025-02-30<")
    assert refused(path) == ["formData/genInfo/repPdDate: '2025-02-30' is not a date (YYYY-MM-DD)"]
    path = filing(tmp_path, report_date=dt.date(2099, 3, 31))
    assert refused(path) == ["formData/genInfo/repPdDate: 2099-03-31 is after today"]
    series = "<seriesId>S000012345</seriesId>\n      <seriesLei>"
    path = edited(filing(tmp_path), series, "<seriesLei>")
    assert refused(path) == ["formData/genInfo/seriesId: missing"]


def test_another_edgar_submission_or_a_truncated_filing_is_refused(tmp_path):
    path = edited(filing(tmp_path), 'xmlns="http://www.sec.gov/edgar/nport"', 'xmlns="urn:other"')
    (problem,) = refused(path)
    assert "an SEC EDGAR submission in the namespace 'urn:other', not an N-PORT filing" in problem
    whole = filing(tmp_path).read_bytes()
    path = tmp_path / "KWEB_cut.xml"
    path.write_bytes(whole[: len(whole) // 2])
    (problem,) = refused(path)
    assert problem.startswith("malformed XML at line ")


def test_the_sec_throttle_page_saved_as_a_filing_is_refused(tmp_path):
    path = tmp_path / "KWEB_primary_doc.xml"
    path.write_bytes(sec_throttle_page())
    (problem,) = refused(path)
    assert "the SEC throttled the request" in problem


def test_a_file_that_is_not_a_filing_is_refused(tmp_path):
    path = tmp_path / "KWEB.csv"
    path.write_text("Date,NAV,Shares\n2026-01-02,30,1\n", encoding="utf-8")
    assert refused(path) == ["not an SEC N-PORT filing: it is CSV text"]
