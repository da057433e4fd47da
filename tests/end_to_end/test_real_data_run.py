"""A whole run on real-format fund data: the downloads of `chinaflows fetch` in their layout,
with manifests (the iShares workbooks of FXI and MCHI, the Xtrackers export of ASHR, Invesco's
NAV history and three daily snapshots of CQQQ, an N-PORT filing of FXI), and KWEB's N-PORT
filing saved by hand (tests/support/real_format_funds.py). Every number is invented; the flows
are worked out here, by hand, from the rows written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from real_format_funds import (
    AS_OF,
    ASHR,
    CQQQ,
    FXI,
    KWEB_MONTHS,
    MCHI,
    SNAPSHOT_DAYS,
    flow_by_hand,
)

# The run is shared (conftest.real_data_run: once for the whole test run, on any worker).
pytestmark = pytest.mark.pipeline
PAGES = ["01_clean_data", "02_etf_flows", "03_sovereign_survey", "04_summary"]


@pytest.fixture
def real_run(real_data_run) -> tuple[Path, Path]:
    """The project and its report folder."""
    project, _ = real_data_run
    return project, project / "reports" / AS_OF


def page_text(report: Path, page: str) -> str:
    return (report / f"{page}.html").read_text(encoding="utf-8")


def test_headline_flows_equal_the_hand_computation(real_run):
    _, report = real_run
    headline = json.loads((report / "headline.json").read_text())
    assert headline["as_of"] == AS_OF  # the last day the daily data reach
    assert headline["flows_source"] == "user"
    flows = headline["flows"]
    kweb = sum(sales + reinvestment - redemption for sales, reinvestment, redemption in KWEB_MONTHS)
    cqqq = flow_by_hand(CQQQ, SNAPSHOT_DAYS[1])  # the first snapshot is only the base
    expected = {
        "ASHR": flow_by_hand(ASHR),
        "CQQQ": cqqq,
        "FXI": flow_by_hand(FXI),
        "KWEB": kweb,
        "MCHI": flow_by_hand(MCHI),
    }
    assert flows["ytd_usd"] == pytest.approx(expected)
    assert flows["cohorts_usd"] == pytest.approx(
        {
            "technology": kweb + cqqq,
            "broad": expected["MCHI"],
            "traditional": expected["FXI"] + expected["ASHR"],
        }
    )
    assert flows["spread_usd"] == pytest.approx(kweb + cqqq - expected["FXI"] - expected["ASHR"])
    assert flows["missing"] == []
    sources = {t: (s["source"], s["resolution"]) for t, s in flows["sources"].items()}
    assert sources == {
        "ASHR": ("Xtrackers performance export (DWS)", "daily"),
        "CQQQ": ("Invesco daily prices (shares outstanding)", "daily"),
        "FXI": ("iShares fund workbook (BlackRock)", "daily"),
        "KWEB": ("your data: flows/KWEB_primary_doc.xml (SEC Form N-PORT)", "monthly"),
        "MCHI": ("iShares fund workbook (BlackRock)", "daily"),
    }


def test_no_page_carries_the_sample_mark(real_run):
    project, report = real_run
    for page in [*PAGES, "index"]:
        text = page_text(report, page).lower()
        assert "sample data" not in text and "synthetic" not in text, page
    assert "synthetic" not in (project / "reports" / "index.html").read_text().lower()


def header(report: Path, page: str) -> str:
    text = page_text(report, page)
    return text[text.index('<header class="report-header">') : text.index("</header>")]


def test_pages_say_per_etf_which_source_and_resolution_their_flows_rest_on(real_run):
    _, report = real_run
    for page in ["01_clean_data", "02_etf_flows", "04_summary"]:
        said = header(report, page)
        assert (
            "<strong>KWEB</strong>: your data: flows/KWEB_primary_doc.xml (SEC Form N-PORT), "
            "monthly, 2025-01-01 to 2025-03-31"
        ) in said, page
        assert (
            '<strong>FXI</strong>: <a href="https://ishares.example/FXI">iShares fund workbook '
            "(BlackRock)</a>, daily, 2025-01-02 to 2025-04-04"
        ) in said, page
        assert "Xtrackers performance export (DWS)</a>, daily" in said, page
        assert "no fund data" not in said, page
    assert "<th>fund flows per ETF</th>" not in header(report, "03_sovereign_survey")


def test_a_figure_that_is_not_whole_months_is_not_computed_from_n_port(real_run):
    _, report = real_run
    flows_page = page_text(report, "02_etf_flows")
    assert "not computable at monthly resolution" in flows_page  # KWEB's figure to 17 December
    cleaning_page = page_text(report, "01_clean_data")
    assert "3 are covered day by day and compared: <strong>3 agree within 5%</strong>" in (
        cleaning_page
    )
