"""A researcher's own fund data replacing the sample (helpers.ingest.load.read_fund_data and
helpers.ingest.cleaning.clean_inputs): one small hand-made file per format, flows checked by hand.

Every history file holds the same three days of one fund:

    date        NAV    shares outstanding   flow = change in shares x NAV of the day
    2025-01-02  30.00  1,000,000            (base day: no flow)
    2025-01-03  31.00  1,100,000            +100,000 x 31.00 = +3,100,000
    2025-01-06  29.50  1,050,000             -50,000 x 29.50 = -1,475,000
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from helpers.errors import InvalidDataError
from helpers.ingest import cleaning, load

EXPECTED_FLOWS = [np.nan, 3_100_000.0, -1_475_000.0]
DAYS = ["2025-01-02", "2025-01-03", "2025-01-06"]
NAVS = [30.0, 31.0, 29.5]
SHARES = [1_000_000, 1_100_000, 1_050_000]


def write_csv(raw: Path) -> str:
    lines = ["Date,NAV,Shares Outstanding"]
    lines += [f"{d},{n},{s}" for d, n, s in zip(DAYS, NAVS, SHARES, strict=True)]
    (raw / "fund_history" / "KWEB.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return "KWEB"


def write_xlsx(raw: Path) -> str:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Ticker", "As Of", "NAV per Share", "Shares Outstanding"])
    for day, nav, shares in zip(DAYS, NAVS, SHARES, strict=True):
        sheet.append(["CQQQ", pd.Timestamp(day).to_pydatetime(), nav, shares])
    book.save(raw / "fund_history" / "invesco export.xlsx")
    return "CQQQ"


def write_parquet(raw: Path) -> str:
    pd.DataFrame(
        {"date": pd.to_datetime(DAYS), "ticker": "FXI", "nav": NAVS, "shares_outstanding": SHARES}
    ).to_parquet(raw / "fund_history" / "fxi.parquet")
    return "FXI"


def ss_row(*cells: tuple[str, object]) -> str:
    """A SpreadsheetML row of (type, value) cells, with the ss: prefix iShares files use."""
    return (
        "<ss:Row>"
        + "".join(
            f'<ss:Cell><ss:Data ss:Type="{kind}">{value}</ss:Data></ss:Cell>'
            for kind, value in cells
        )
        + "</ss:Row>"
    )


def write_ishares_workbook(raw: Path) -> str:
    """The iShares .xls download: SpreadsheetML XML, sheet "Historical", newest first."""
    header = ss_row(*[("String", name) for name in ("As Of", "NAV per Share", "Ex-Dividends",
                                                     "Shares Outstanding")])  # fmt: skip
    rows = "".join(
        ss_row(
            ("String", f"{pd.Timestamp(day):%b %d, %Y}"),
            ("Number", nav),
            ("String", "--"),
            ("Number", shares),
        )
        for day, nav, shares in reversed(list(zip(DAYS, NAVS, SHARES, strict=True)))
    )
    xml = (
        '<?xml version="1.0"?>\n'
        '<ss:Workbook xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">'
        f'<ss:Worksheet ss:Name="Holdings"><ss:Table>{ss_row(("String", "Ticker"))}</ss:Table>'
        "</ss:Worksheet>"
        f'<ss:Worksheet ss:Name="Historical"><ss:Table>{header}{rows}</ss:Table></ss:Worksheet>'
        "</ss:Workbook>"
    )
    (raw / "fund_history" / "MCHI_fund.xls").write_text(xml, encoding="utf-8")
    return "MCHI"


@pytest.mark.parametrize(
    "write",
    [write_csv, write_xlsx, write_parquet, write_ishares_workbook],
    ids=lambda f: f.__name__,
)
def test_each_format_replaces_the_sample_with_hand_computed_flows(raw_dir, write):
    ticker = write(raw_dir)
    cleaned = cleaning.clean_inputs(raw_dir)
    daily = cleaned.tables["daily_flows"]
    assert cleaned.flows_source == "user"
    assert daily["ticker"].unique().tolist() == [ticker]  # the sample is not mixed in
    assert daily["date"].dt.strftime("%Y-%m-%d").tolist() == DAYS
    np.testing.assert_allclose(daily["flow_usd"], EXPECTED_FLOWS, equal_nan=True)
    assert not daily["is_synthetic"].any()
    assert daily["source"].str.startswith("your data: fund_history/").all()


def test_ready_flows_in_millions_are_converted(raw_dir):
    (raw_dir / "flows" / "flows.csv").write_text(
        "Date,Ticker,Net Flow (USD mn)\n2025-01-03,ASHR,3.1\n2025-01-06,ASHR,-1.475\n",
        encoding="utf-8",
    )
    daily = cleaning.clean_inputs(raw_dir).tables["daily_flows"]
    assert daily["flow_usd"].tolist() == pytest.approx([3_100_000.0, -1_475_000.0])
    assert daily["nav"].isna().all()  # ready flows carry no NAV


def test_histories_and_ready_flows_together(raw_dir):
    write_csv(raw_dir)
    (raw_dir / "flows" / "flows.csv").write_text(
        "Date,Ticker,flow_usd\n2025-01-07,ASHR,5\n", encoding="utf-8"
    )
    first, last = cleaning.check_inputs(raw_dir)
    assert (first, last) == (pd.Timestamp("2025-01-02"), pd.Timestamp("2025-01-07"))
    data = load.read_fund_data(raw_dir)
    sources = ["your data: fund_history/KWEB.csv", "your data: flows/flows.csv"]
    for table in (data.history, data.ready_flows):  # one category per file, in both tables
        assert table["source"].cat.categories.tolist() == sources
    daily = cleaning.clean_inputs(raw_dir).tables["daily_flows"]
    assert daily["ticker"].tolist() == ["ASHR", "KWEB", "KWEB", "KWEB"]
    assert daily["source"].tolist() == sources[1:] + sources[:1] * 3
    np.testing.assert_array_equal(daily["flow_usd"], [5.0, *EXPECTED_FLOWS])


def test_flows_without_a_unit_are_refused(raw_dir):
    (raw_dir / "flows" / "flows.csv").write_text(
        "Date,Ticker,Flow\n2025-01-03,ASHR,3.1\n", encoding="utf-8"
    )
    with pytest.raises(InvalidDataError, match="unit is not stated"):
        cleaning.clean_inputs(raw_dir)


def test_identical_rows_in_two_files_are_kept_once(raw_dir):
    write_csv(raw_dir)
    shutil.copy2(raw_dir / "fund_history" / "KWEB.csv", raw_dir / "fund_history" / "KWEB_2.csv")
    data = load.read_fund_data(raw_dir)
    assert len(data.history) == 3 and data.duplicates_dropped == 3
    cleaned = cleaning.clean_inputs(raw_dir)
    assert "identical values" in " ".join(cleaned.quality["note"])


def conflicting_files(raw: Path) -> None:
    write_csv(raw)
    (raw / "fund_history" / "KWEB_restated.csv").write_text(
        "Date,NAV,Shares Outstanding\n2025-01-06,29.5,1060000\n", encoding="utf-8"
    )


def test_conflicting_rows_in_two_files_are_refused_naming_both(raw_dir):
    conflicting_files(raw_dir)
    with pytest.raises(InvalidDataError) as caught:
        load.read_fund_data(raw_dir)
    message = str(caught.value)
    assert "KWEB on 2025-01-06 has different values" in message
    assert "fund_history/KWEB.csv row 4" in message
    assert "fund_history/KWEB_restated.csv row 2" in message


def test_conflicting_rows_can_be_flagged_instead(raw_dir):
    conflicting_files(raw_dir)
    daily = cleaning.clean_inputs(raw_dir, duplicate_dates="flag").tables["daily_flows"]
    last = daily.iloc[-1]
    assert last["shares_outstanding"] == 1_060_000  # the later file's row
    assert bool(last["flag_duplicate_conflict"])
    assert daily["flag_duplicate_conflict"].sum() == 1
    assert last["flow_usd"] == pytest.approx(-40_000 * 29.5)


def test_a_ticker_in_both_folders_is_refused(raw_dir):
    write_csv(raw_dir)
    (raw_dir / "flows" / "kweb_flows.csv").write_text(
        "Date,Ticker,flow_usd\n2025-01-03,KWEB,5\n", encoding="utf-8"
    )
    with pytest.raises(InvalidDataError, match="KWEB appear in both fund_history/ and flows/"):
        load.read_fund_data(raw_dir)


def test_a_ticker_outside_the_universe_is_refused_or_reported(raw_dir):
    (raw_dir / "fund_history" / "funds.csv").write_text(
        "Date,Ticker,NAV,Shares\n2025-01-02,ZZZZ,10,100\n2025-01-03,ZZZZ,10,110\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidDataError) as caught:
        cleaning.clean_inputs(raw_dir)
    assert "ZZZZ (in fund_history/funds.csv)" in str(caught.value)
    assert "unknown_tickers=report" in str(caught.value)
    cleaned = cleaning.clean_inputs(raw_dir, unknown_tickers="report")
    assert cleaned.tables["daily_flows"]["flow_usd"].tolist()[1] == 100.0
    assert any("ZZZZ" in note for note in cleaned.quality["note"])


def test_checking_the_inputs_refuses_what_cleaning_refuses(raw_dir):
    """check_inputs (run before any kernel) reads with the same rules and parameters."""
    conflicting_files(raw_dir)
    with pytest.raises(InvalidDataError, match="KWEB on 2025-01-06 has different values"):
        cleaning.check_inputs(raw_dir)
    first, last = cleaning.check_inputs(raw_dir, duplicate_dates="flag")
    assert (first, last) == (pd.Timestamp(DAYS[0]), pd.Timestamp(DAYS[-1]))
    (raw_dir / "fund_history" / "ZZZZ.csv").write_text(
        "Date,NAV,Shares\n2025-01-02,10,100\n", encoding="utf-8"
    )
    with pytest.raises(InvalidDataError, match="ZZZZ"):
        cleaning.check_inputs(raw_dir, duplicate_dates="flag")
    reported = cleaning.check_inputs(raw_dir, duplicate_dates="flag", unknown_tickers="report")
    assert reported == (first, last)


def test_a_missing_trading_day_is_a_gap_not_an_invented_flow(raw_dir):
    (raw_dir / "fund_history" / "KWEB.csv").write_text(
        "Date,NAV,Shares Outstanding\n2025-01-02,30,1000\n2025-01-06,31,1100\n", encoding="utf-8"
    )
    cleaned = cleaning.clean_inputs(raw_dir)
    daily, gaps = cleaned.tables["daily_flows"], cleaned.tables["calendar_gaps"]
    assert len(daily) == 2  # 3 January is not filled in
    assert daily["flow_usd"].tolist()[1] == 100 * 31.0
    assert daily["flag_after_gap"].tolist() == [False, True]
    assert gaps[["first_missing", "trading_days_missing"]].values.tolist() == [
        [pd.Timestamp("2025-01-03"), 1]
    ]


def test_as_of_cuts_user_data_and_is_the_default_from_the_last_date(raw_dir):
    write_csv(raw_dir)
    assert cleaning.check_inputs(raw_dir)[1] == pd.Timestamp("2025-01-06")
    cleaned = cleaning.clean_inputs(raw_dir, as_of="2025-01-03")
    assert cleaned.tables["daily_flows"]["date"].max() == pd.Timestamp("2025-01-03")
