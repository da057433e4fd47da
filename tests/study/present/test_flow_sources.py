"""What pages and the index say of the flows they show: per ETF its source and resolution (the
page header, helpers.present.page_facts; the tables and sentences of helpers.present.flow_text),
the cohort funds without data, and the headline figures on the index pages
(helpers.present.headline) when a cohort has none."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.ingest.fund_flows import fund_sources, sources_by_ticker
from helpers.present import flow_text, show
from helpers.present.headline import headline_html
from helpers.present.page_facts import PROCESSED_DIR, page_facts
from helpers.present.show import usd_bn

COHORTS = {"technology": ["KWEB", "CQQQ"], "broad": ["MCHI"], "traditional": ["FXI", "ASHR"]}
NPORT_ADDRESS = "https://www.sec.example/Archives/1/primary_doc.xml"


def row(ticker, start, end, resolution, kind, source, address="") -> dict:
    return {
        "ticker": ticker,
        "period_start": pd.Timestamp(start),
        "period_end": pd.Timestamp(end),
        "resolution": resolution,
        "flow_usd": 1.0,
        "source_kind": kind,
        "source": source,
        "source_address": address,
    }


@pytest.fixture
def canonical() -> pd.DataFrame:
    """FXI and MCHI daily from the iShares workbook; KWEB N-PORT for January then daily from
    a file saved by hand; a source name holding HTML."""
    book = ("issuer", "iShares fund workbook (BlackRock)", "https://bk.example/?a=1&b=2")
    nport = ("sec_nport", "SEC Form N-PORT", NPORT_ADDRESS)
    return pd.DataFrame(
        [
            row("FXI", "2025-01-02", "2025-01-02", "daily", *book),
            row("FXI", "2025-01-03", "2025-01-03", "daily", *book),
            row("MCHI", "2025-01-03", "2025-01-03", "daily", *book),
            row("KWEB", "2025-01-01", "2025-01-31", "monthly", *nport),
            row("KWEB", "2025-02-03", "2025-02-03", "daily", "user", "your data: <b>k</b>.csv"),
        ]
    )


def header(tmp_path, canonical: pd.DataFrame, core=("KWEB", "CQQQ", "MCHI", "FXI", "ASHR")):
    processed = tmp_path / PROCESSED_DIR
    processed.mkdir(parents=True)
    fund_sources(canonical).to_parquet(processed / "fund_sources.parquet")
    universe = pd.DataFrame(
        {"ticker": list(core) + ["EXTRA"], "core": [True] * len(core) + [False]}
    )
    universe.to_parquet(processed / "etf_universe.parquet")
    return dict(page_facts(tmp_path, {f"{PROCESSED_DIR}/fund_flows.parquet"}))


def test_the_page_header_says_per_etf_what_its_flows_rest_on(tmp_path, canonical):
    facts = header(tmp_path, canonical)
    assert facts["fund flows"] == (
        "the issuers' files (chinaflows fetch); SEC Form N-PORT filings (chinaflows fetch); "
        "your own data (data/raw/fund_history/, data/raw/flows/)"
    )
    lines = facts["fund flows per ETF"].split("<br>")
    assert lines == [
        '<strong>FXI</strong>: <a href="https://bk.example/?a=1&amp;b=2">iShares fund workbook '
        "(BlackRock)</a>, daily, 2025-01-02 to 2025-01-03",
        f'<strong>KWEB</strong>: <a href="{NPORT_ADDRESS}">SEC Form N-PORT</a>, monthly, '
        "2025-01-01 to 2025-01-31; your data: &lt;b&gt;k&lt;/b&gt;.csv, daily, 2025-02-03 to "
        "2025-02-03",
        '<strong>MCHI</strong>: <a href="https://bk.example/?a=1&amp;b=2">iShares fund workbook '
        "(BlackRock)</a>, daily, 2025-01-03 to 2025-01-03",
    ]
    assert facts["no fund data"] == "CQQQ, ASHR"  # core funds only, in the universe's order


def test_funds_whose_flows_rest_on_the_same_are_named_together(tmp_path, canonical):
    same = canonical[canonical["ticker"] != "KWEB"].assign(period_start=pd.Timestamp("2025-01-02"))
    same = same.assign(period_end=pd.Timestamp("2025-01-03"))
    facts = header(tmp_path, same, core=("FXI", "MCHI"))
    assert facts["fund flows per ETF"].startswith("<strong>FXI, MCHI</strong>: <a ")
    assert "no fund data" not in facts


def test_sources_table_from_what_the_summary_keeps(canonical):
    table = flow_text.sources_table(sources_by_ticker(canonical))
    assert table.index.get_level_values("ETF").tolist() == ["FXI", "KWEB", "KWEB", "MCHI"]
    assert table.index.is_unique  # a page's table needs it
    assert table.loc["KWEB", "resolution"].tolist() == ["monthly", "daily"]
    assert table.loc["KWEB", "from"].tolist() == [
        pd.Timestamp("2025-01-01"),
        pd.Timestamp("2025-02-03"),
    ]
    assert "<caption>" in show.table(table, "Sources").to_html()
    assert list(table.columns) == ["resolution", "from", "to", "address"]


def test_sentences_on_cohorts_with_and_without_data():
    period = (pd.Timestamp("2025-01-01"), pd.Timestamp("2025-12-17"))
    full = pd.Series({"technology": 4.4e9, "broad": 0.871e9, "traditional": -3.7e9})
    assert flow_text.describe_spread(full, COHORTS, 8.1e9, *period) == (
        "From **2025-01-01** to **2025-12-17** the technology cohort (KWEB, CQQQ) took in "
        "**+\u2060$4.40bn** while the traditional cohort (FXI, ASHR) saw "
        "**\u2212\u2060$3.70bn**: a spread of "
        "**+\u2060$8.10bn**."
    )
    partial = full.copy()
    partial["technology"] = float("nan")
    assert flow_text.describe_spread(partial, COHORTS, None, *period).endswith(
        "(KWEB, CQQQ) had no data while the traditional cohort (FXI, ASHR) saw "
        "**\u2212\u2060$3.70bn**: "
        "no spread without both."
    )
    assert flow_text.describe_missing(["KWEB", "CQQQ", "ASHR"], COHORTS) == (
        "No fund data for KWEB, CQQQ, ASHR: each cohort is summed over the funds that have data; "
        "technology: no data."
    )
    assert flow_text.describe_missing([], COHORTS) == ""


def test_a_sentence_says_which_funds_charts_of_daily_flows_show():
    daily = pd.DataFrame({"ticker": ["FXI", "MCHI", "KWEB"], "flow_usd": [1.0, 2.0, float("nan")]})
    tickers = ["KWEB", "CQQQ", "MCHI", "FXI"]
    with_daily = flow_text.funds_with_daily_flows(daily, tickers)
    assert with_daily == ["MCHI", "FXI"]
    assert flow_text.describe_daily_coverage(with_daily, tickers) == (
        "Daily flows only for MCHI, FXI: shown here; not for KWEB, CQQQ (monthly data or none)."
    )
    assert flow_text.describe_daily_coverage(tickers, tickers) == ""
    assert flow_text.describe_daily_coverage([], ["KWEB"]).startswith("No fund has daily flows")


def test_sentences_on_the_cross_check_and_the_restatements():
    crosscheck = pd.DataFrame(
        {
            "ticker": ["FXI", "FXI", "MCHI"],
            "month": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-01-01"]),
            "difference_usd": [1.0, 50.0, float("nan")],
            "flagged": [False, True, False],
        }
    )
    assert flow_text.describe_crosscheck(crosscheck, 5.0) == (
        "3 fund-month(s) have both daily flows and an N-PORT month; 2 are covered day by day and "
        "compared: **1 agree within 5%**, 1 differ by more (FXI Feb 2025)."
    )
    assert flow_text.describe_crosscheck(crosscheck.iloc[:0], 5.0).startswith("No fund has both")
    restated = pd.DataFrame({"ticker": ["FXI", "CQQQ", "FXI"]})
    assert flow_text.describe_restatements(restated) == (
        "**3 value(s)** were changed by a later download or an amended filing (CQQQ, FXI): the "
        "later one counts; both are listed below."
    )


def test_missing_amounts_read_no_data():
    assert usd_bn(None) == usd_bn(float("nan")) == "no data"
    assert usd_bn(-2.3e9) == "\u2212\u2060$2.30bn"


def test_index_pages_show_a_cohort_without_data_and_the_sources(canonical):
    headline = {
        "as_of": "2025-01-31",
        "flows_source": "user",
        "flows": {
            "period": {"start": "2025-01-01", "end": "2025-01-31"},
            "ytd_usd": {"FXI": -1e9},
            "cohorts_usd": {"technology": None, "traditional": -1e9},
            "spread_usd": None,
            "missing": ["KWEB", "CQQQ", "ASHR"],
            "sources": sources_by_ticker(canonical),
        },
    }
    fragments = headline_html(headline)
    assert 'data-key="flows.cohorts_usd.technology">no data<' in fragments.figures
    assert 'data-key="flows.spread_usd">no data<' in fragments.figures
    assert "<td>cohort funds without data</td><td>KWEB, CQQQ, ASHR</td>" in fragments.figures
    assert "<td>KWEB</td><td>SEC Form N-PORT; your data: &lt;b&gt;k&lt;/b&gt;.csv</td>" in (
        fragments.figures
    )
    assert "<td>daily and monthly</td>" in fragments.figures
    assert 'data-key="flows.cohorts_usd.technology">no data</td>' in fragments.index_cells
    assert 'data-key="flows.cohorts_usd.traditional">-1.00 bn</td>' in fragments.index_cells
    assert "real data" in fragments.index_cells
    assert "the sources listed per ETF below" in fragments.as_of_note


def test_the_summary_sentence_with_and_without_a_cohort():
    flows = {
        "period": {"start": "2025-01-01", "end": "2025-12-31"},
        "ytd_usd": {"FXI": -2.3e9, "KWEB": 2.3e9},
        "cohorts_usd": {"technology": 2.3e9, "traditional": -2.3e9},
        "spread_usd": 4.6e9,
    }
    assert flow_text.describe_headline_flows(flows, True, {"count": 2, "flow_usd": 1e8}) == (
        "**Flows, 2025-01-01 to 2025-12-31** (sample data, synthetic): the technology ETFs took "
        "in +\u2060$2.30bn, the traditional ones \u2212\u2060$2.30bn, a spread of "
        "+\u2060$4.60bn. FXI \u2212\u2060$2.30bn. KWEB "
        "+\u2060$2.30bn. The 2 ETFs outside the cohorts: +\u2060$0.10bn."
    )
    partial = {**flows, "ytd_usd": {"FXI": -2.3e9}, "spread_usd": None}
    partial["cohorts_usd"] = {"technology": None, "traditional": -2.3e9}
    assert flow_text.describe_headline_flows(partial, False, {"count": 0}) == (
        "**Flows, 2025-01-01 to 2025-12-31**: the technology ETFs had no data, the traditional "
        "ones \u2212\u2060$2.30bn, no spread without both. FXI \u2212\u2060$2.30bn."
    )


def test_etfs_outside_the_core_are_counted_not_listed(tmp_path, canonical):
    facts = header(tmp_path, canonical, core=("FXI", "KWEB"))
    lines = facts["fund flows per ETF"].split("<br>")
    assert [line.split("</strong>")[0] for line in lines] == [
        "<strong>FXI",
        "<strong>KWEB",
        "<strong>1 other ETFs",
    ]
    assert lines[-1].endswith(": iShares fund workbook (BlackRock)")
