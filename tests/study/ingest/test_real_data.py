"""Real fund data in every place it can be (helpers.ingest.load, fetched, cleaning): the
downloads `chinaflows fetch` keeps (data/raw/fetched/, read through their manifests), files
saved by hand, N-PORT filings; in the sources' own formats (tests/support/source_files.py),
filled with invented numbers whose flows are worked out here by hand.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import source_files
from fetched_layout import keep_download

from helpers.errors import InvalidDataError
from helpers.ingest import cleaning, load
from helpers.paths import (
    DEFAULT_LAYOUT,
    ProjectLayout,
    copy_project_inputs,
)

D = dt.date
FETCH_1 = dt.datetime(2025, 1, 7, 6, 15)  # the first download, after the close of the 6th
FETCH_2 = dt.datetime(2025, 1, 8, 6, 15)  # the next morning's
NAN = np.nan


def fxi_workbook(raw: Path, rows, fetched_at=FETCH_1, **keep) -> Path:
    return keep_download(
        raw, "ishares", "FXI", "FXI_fund.xls", source_files.ishares_workbook(rows), fetched_at,
        address="https://www.blackrock.example/fund?portfolioId=1&fileType=xls", **keep,
    )  # fmt: skip


FXI_ROWS = [(D(2025, 1, 2), 30.0, 1_000_000), (D(2025, 1, 3), 31.0, 1_100_000),
            (D(2025, 1, 6), 29.5, 1_050_000)]  # fmt: skip
FXI_FLOWS = [NAN, 100_000 * 31.0, -50_000 * 29.5]


def kweb_filing(submission_type: str = "NPORT-P", second_month_sales: float = 9e6) -> bytes:
    """KWEB's N-PORT for the quarter ending 31 March 2025: January +3m (sales 5m, reinvestment
    1m, redemption 3m), February second_month_sales - 4m, March -2m."""
    return source_files.nport_primary_doc(
        series_id="S000099999",
        report_date=D(2025, 3, 31),
        fiscal_year_end=D(2025, 12, 31),
        flows=[(5e6, 1e6, 3e6), (second_month_sales, 0.0, 4e6), (1e6, 0.0, 3e6)],
        net_assets=7e9,
        total_assets=7.1e9,
        submission_type=submission_type,
    )


def test_downloads_replace_the_sample_and_a_fund_without_data_is_missing(raw_dir):
    fxi_workbook(raw_dir, FXI_ROWS)
    cleaned = cleaning.clean_inputs(raw_dir)
    daily = cleaned.tables["daily_flows"]
    assert cleaned.flows_source == "user"
    assert daily["ticker"].unique().tolist() == ["FXI"]  # no sample fund fills the others
    np.testing.assert_allclose(daily["flow_usd"], FXI_FLOWS, equal_nan=True)
    canonical = cleaned.tables["fund_flows"]
    assert canonical["ticker"].unique().tolist() == ["FXI"]
    assert set(canonical["source"]) == {"iShares fund workbook (BlackRock)"}
    assert set(canonical["source_kind"]) == {"issuer"}
    assert set(canonical["source_address"]) == {
        "https://www.blackrock.example/fund?portfolioId=1&fileType=xls"
    }


def test_the_latest_download_counts_and_a_changed_value_is_a_restatement(raw_dir):
    fxi_workbook(raw_dir, FXI_ROWS)
    restated = [(D(2025, 1, 3), 31.0, 1_100_000), (D(2025, 1, 6), 29.5, 1_060_000),
                (D(2025, 1, 7), 30.0, 1_070_000)]  # fmt: skip
    second = fxi_workbook(raw_dir, restated, FETCH_2)
    cleaned = cleaning.clean_inputs(raw_dir)
    daily = cleaned.tables["daily_flows"]
    assert daily["date"].dt.day.tolist() == [2, 3, 6, 7]  # both downloads' days
    assert daily["shares_outstanding"].tolist() == [1_000_000, 1_100_000, 1_060_000, 1_070_000]
    np.testing.assert_allclose(
        daily["flow_usd"], [NAN, 100_000 * 31.0, -40_000 * 29.5, 10_000 * 30.0], equal_nan=True
    )
    (row,) = cleaned.tables["restatements"].itertuples()
    assert (row.ticker, row.date, row.value) == (
        "FXI",
        pd.Timestamp("2025-01-06"),
        "shares_outstanding",
    )
    assert (row.old_value, row.new_value) == (1_050_000, 1_060_000)
    assert row.new_file == "fetched/" + second.relative_to(raw_dir / "fetched").as_posix()
    assert row.old_file.startswith("fetched/ishares/FXI/20250107T061500Z_")
    assert "restatements" in cleaned.quality["table"].tolist()


def test_a_file_without_its_manifest_row_is_not_read(raw_dir):
    fxi_workbook(raw_dir, FXI_ROWS)
    stray = fxi_workbook(raw_dir, [(D(2025, 1, 6), 99.0, 5)], FETCH_2, listed=False)
    cleaned = cleaning.clean_inputs(raw_dir)
    assert cleaned.tables["daily_flows"]["nav"].tolist() == [30.0, 31.0, 29.5]
    notes = cleaned.quality.set_index("file")["note"]
    assert (
        "not in a manifest" in notes["fetched/" + stray.relative_to(raw_dir / "fetched").as_posix()]
    )


def altered(raw: Path, path: Path) -> None:
    path.write_bytes(path.read_bytes() + b" ")


def missing(raw: Path, path: Path) -> None:
    path.unlink()


def another_fund(raw: Path, path: Path) -> None:
    path.rename(path.with_name(path.name.replace("FXI", "MCHI")))
    manifest = raw / "fetched" / "ishares" / "manifest.csv"
    manifest.write_text(manifest.read_text().replace("FXI_fund", "MCHI_fund"))


def another_format(raw: Path, path: Path) -> None:
    manifest = raw / "fetched" / "ishares" / "manifest.csv"
    manifest.write_text(manifest.read_text().replace(",ishares_workbook,", ",xtrackers_xlsx,"))


@pytest.mark.parametrize(
    ("spoil", "said"),
    [
        (altered, "has changed since it was fetched"),
        (missing, "it lists is missing"),
        (another_fund, "holds ticker(s) MCHI, but its manifest row (line 2) says FXI"),
        (another_format, "format 'xtrackers_xlsx', but this source's is 'ishares_workbook'"),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_a_manifest_row_that_does_not_match_its_file_is_refused(raw_dir, spoil, said):
    spoil(raw_dir, fxi_workbook(raw_dir, FXI_ROWS))
    with pytest.raises(InvalidDataError) as caught:
        cleaning.check_inputs(raw_dir)
    assert said in str(caught.value)
    if spoil is not another_fund:  # the reader names the file; the manifest checks name the line
        assert "manifest.csv" in str(caught.value) and "line 2" in str(caught.value)


def test_a_nav_history_takes_its_shares_from_the_snapshots_by_date(raw_dir):
    """CQQQ: NAVs on five days; shares only on the 3rd, 6th and 8th (three daily snapshots).
    A flow needs shares on its day and the day before: only the 6th has one."""
    navs = [(D(2025, 1, d), 40.0 + d / 10) for d in (2, 3, 6, 7, 8)]
    keep_download(raw_dir, "invesco_navs", "CQQQ", "CQQQ_navs.json",
                  source_files.invesco_navs_json(navs), FETCH_2)  # fmt: skip
    for day, shares in ((3, 1_000_000), (6, 1_100_000), (8, 1_300_000)):
        snapshot = source_files.invesco_prices_json(
            effective_date=D(2025, 1, day), nav=99.0,  # the NAV history's NAV counts
            shares_outstanding=shares, market_value=0.0, closing_price=40.0,
        )  # fmt: skip
        keep_download(raw_dir, "invesco_prices", "CQQQ", "CQQQ_prices.json", snapshot,
                      dt.datetime(2025, 1, day, 22))  # fmt: skip
    cleaned = cleaning.clean_inputs(raw_dir)
    daily = cleaned.tables["daily_flows"]
    assert daily["nav"].tolist() == [40.2, 40.3, 40.6, 40.7, 40.8]
    np.testing.assert_array_equal(
        daily["shares_outstanding"], [NAN, 1_000_000, 1_100_000, NAN, 1_300_000]
    )
    np.testing.assert_allclose(
        daily["flow_usd"], [NAN, NAN, 100_000 * 40.6, NAN, NAN], equal_nan=True
    )
    assert daily["source"].tolist()[2] == "Invesco daily prices (shares outstanding)"
    note = cleaned.quality.set_index("table").loc["daily_flows", "note"]
    assert "2 row(s) with a NAV but no shares outstanding that day" in note
    assert "and 2 the day after one" in note


def nport_file(raw: Path, content: bytes, fetched_at: dt.datetime) -> Path:
    address = f"https://www.sec.example/{fetched_at:%d}/primary_doc.xml"
    return keep_download(
        raw, "sec_nport", "KWEB", "primary_doc.xml", content, fetched_at, address=address
    )


def test_an_amendment_counts_over_the_filing_it_amends(raw_dir):
    """The amendment, downloaded first, restates February's sales: 9m -> 10m."""
    nport_file(raw_dir, kweb_filing("NPORT-P/A", second_month_sales=10e6), FETCH_1)
    nport_file(raw_dir, kweb_filing("NPORT-P"), FETCH_2)
    cleaned = cleaning.clean_inputs(raw_dir)
    canonical = cleaned.tables["fund_flows"]
    assert canonical["resolution"].tolist() == ["monthly"] * 3
    assert canonical["flow_usd"].tolist() == [3e6, 6e6, -2e6]
    assert (
        canonical["period_end"].tolist()
        == pd.to_datetime(["2025-01-31", "2025-02-28", "2025-03-31"]).tolist()
    )
    assert set(canonical["source_kind"]) == {"sec_nport"}
    assert (
        canonical["source_address"].tolist() == ["https://www.sec.example/07/primary_doc.xml"] * 3
    )
    restated = cleaned.tables["restatements"].set_index("value")
    assert restated.loc["sales_usd", ["old_value", "new_value"]].tolist() == [9e6, 10e6]
    assert restated.loc["flow_usd", ["old_value", "new_value"]].tolist() == [5e6, 6e6]
    assert set(restated["date"]) == {pd.Timestamp("2025-02-28")}


def test_an_n_port_filing_saved_by_hand_and_a_daily_history_of_another_fund(raw_dir):
    (raw_dir / "flows" / "KWEB_primary_doc.xml").write_bytes(kweb_filing())
    (raw_dir / "fund_history" / "FXI.csv").write_text(
        "Date,NAV,Shares Outstanding\n2025-01-02,30,1000000\n2025-01-03,31,1100000\n"
    )
    cleaned = cleaning.clean_inputs(raw_dir)
    canonical = cleaned.tables["fund_flows"].set_index("ticker")
    assert canonical.loc["KWEB", "flow_usd"].tolist() == [3e6, 5e6, -2e6]
    assert set(canonical.loc["KWEB", "source"]) == {
        "your data: flows/KWEB_primary_doc.xml (SEC Form N-PORT)"
    }
    assert set(canonical.loc["KWEB", "source_kind"]) == {"user"}
    assert canonical.loc["FXI", "flow_usd"] == 100_000 * 31.0
    assert canonical.loc["FXI", "resolution"] == "daily"


def test_your_own_file_counts_over_the_downloads_of_the_same_fund(raw_dir):
    fxi_workbook(raw_dir, FXI_ROWS)
    (raw_dir / "fund_history" / "FXI.csv").write_text(
        "Date,NAV,Shares Outstanding\n2025-01-02,30,1000000\n2025-01-03,31,1200000\n"
    )
    cleaned = cleaning.clean_inputs(raw_dir)
    daily = cleaned.tables["daily_flows"]
    assert daily["flow_usd"].tolist()[1:] == [200_000 * 31.0]
    assert set(daily["source"]) == {"your data: fund_history/FXI.csv"}
    assert any("not used for FXI" in note for note in cleaned.quality["note"])


def test_the_default_as_of_date_is_the_last_daily_date_else_the_last_n_port_month_end(raw_dir):
    nport_file(raw_dir, kweb_filing(), FETCH_1)
    assert cleaning.check_inputs(raw_dir) == (
        pd.Timestamp("2025-01-01"),
        pd.Timestamp("2025-03-31"),
    )
    fxi_workbook(raw_dir, FXI_ROWS)
    assert cleaning.check_inputs(raw_dir) == (
        pd.Timestamp("2025-01-01"),
        pd.Timestamp("2025-01-06"),
    )


def test_every_source_at_once_says_what_each_fund_rests_on(raw_dir):
    fxi_workbook(raw_dir, FXI_ROWS)
    ashr = source_files.xtrackers_xlsx(
        "ASHR", [(D(2025, 1, 2), 25.0, 400_000), (D(2025, 1, 3), 25.5, 380_000)]
    )
    keep_download(raw_dir, "xtrackers", "ASHR", "Performance.xlsx", ashr, FETCH_1)
    nport_file(raw_dir, kweb_filing(), FETCH_1)
    data = load.read_fund_data(raw_dir)
    assert data.origin == "user"
    assert sorted(data.history["ticker"].unique()) == ["ASHR", "FXI"]
    assert data.monthly["ticker"].unique().tolist() == ["KWEB"]
    assert data.files == [
        f"fetched/{source}/{ticker}/{FETCH_1:%Y%m%dT%H%M%SZ}_{name}"
        for source, ticker, name in (("ishares", "FXI", "FXI_fund.xls"),
                                     ("sec_nport", "KWEB", "primary_doc.xml"),
                                     ("xtrackers", "ASHR", "Performance.xlsx"))
    ]  # fmt: skip
    canonical = cleaning.clean_inputs(raw_dir).tables["fund_flows"]
    kinds = canonical.groupby("ticker", observed=True)["source_kind"].first().astype(str)
    assert kinds.to_dict() == {"ASHR": "issuer", "FXI": "issuer", "KWEB": "sec_nport"}
    ashr_flow = canonical.loc[canonical["ticker"] == "ASHR", "flow_usd"].tolist()
    assert ashr_flow == [-20_000 * 25.5]


def test_a_copy_of_the_project_leaves_the_downloads_out(tmp_path):
    """copy_project_inputs: a copy that runs on the shipped data, READMEs kept."""
    source = ProjectLayout(tmp_path / "source")
    shutil.copytree(DEFAULT_LAYOUT.notebooks_dir, source.notebooks_dir)
    shutil.copy2(DEFAULT_LAYOUT.pipeline_file, source.pipeline_file)
    shutil.copytree(DEFAULT_LAYOUT.raw_dir, source.raw_dir)
    fxi_workbook(source.raw_dir, FXI_ROWS)
    (source.raw_dir / "fetched" / "README.md").write_text("what fetch keeps")
    copy = ProjectLayout(copy_project_inputs(tmp_path / "copy", source))
    assert [p.name for p in (copy.raw_dir / "fetched").iterdir()] == ["README.md"]
    assert load.read_fund_data(copy.raw_dir).origin == "sample"
