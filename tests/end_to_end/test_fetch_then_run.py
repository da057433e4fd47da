"""Real data one command away: `chinaflows fetch` from sources served on 127.0.0.1 in their real
formats (tests/support/source_world.py, invented numbers), then `chinaflows run` on what it kept.

The flows the reports state are computed here by hand from the served numbers: the daily
histories (iShares workbooks of FXI and MCHI, the Xtrackers export of ASHR) cover only the last
days of December; N-PORT gives every fund's first two quarters month by month; CQQQ has Invesco's
NAV history but a single day of shares outstanding, so no daily flow; KWEB has no issuer history.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from source_world import CORE, DAYS, QUARTERS, history, month_flows

from helpers.present.show import SAMPLE_MARK

# The fetch and the run are shared (conftest.fetch_then_run, tests/support/fetched_run.py: once
# for the whole test run, on any worker).
pytestmark = pytest.mark.pipeline
PAGES = ["01_clean_data", "02_etf_flows", "03_sovereign_survey", "04_summary"]
COHORTS = {"technology": ["KWEB", "CQQQ"], "broad": ["MCHI"], "traditional": ["FXI", "ASHR"]}
DAILY_FUNDS = ["FXI", "MCHI", "ASHR"]


def hand_computed_flows() -> dict[str, float]:
    """Each fund's 2025 net flow in US$, from the numbers the sources served."""
    flows = {}
    for ticker in CORE:
        # N-PORT: sales + reinvestment - redemption, for each month of each quarter filed.
        monthly = sum(
            sales + reinvestment - redemption
            for quarter in range(len(QUARTERS))
            for sales, reinvestment, redemption in month_flows(ticker, quarter)
        )
        # Daily: (shares today - shares the day before) x NAV today, from the second day on.
        daily = 0.0
        if ticker in DAILY_FUNDS:
            rows = history(ticker)
            daily = sum(
                (shares - previous_shares) * nav
                for (_, _, previous_shares), (_, nav, shares) in zip(rows, rows[1:], strict=False)
            )
        flows[ticker] = monthly + daily
    return flows


@pytest.fixture
def fetched_and_run(fetch_then_run):
    """A copy of the project with nothing but fetched fund data, fetched once and run once."""
    return fetch_then_run


def test_the_fetch_keeps_every_source_and_the_run_publishes(fetched_and_run):
    project, fetched, result = fetched_and_run
    assert fetched.exit_code == 0, fetched.summary
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip().splitlines()[-1]).parent.name == f"{DAYS[-1]:%Y-%m-%d}"


def test_the_reported_flows_equal_the_hand_computation(fetched_and_run):
    project, _, result = fetched_and_run
    report = Path(result.stdout.strip().splitlines()[-1]).parent
    headline = json.loads((report / "headline.json").read_text(encoding="utf-8"))
    flows = headline["flows"]
    expected = hand_computed_flows()
    assert flows["ytd_usd"] == pytest.approx(expected, rel=1e-9)
    cohorts = {name: sum(expected[t] for t in members) for name, members in COHORTS.items()}
    assert flows["cohorts_usd"] == pytest.approx(cohorts, rel=1e-9)
    assert flows["spread_usd"] == pytest.approx(
        cohorts["technology"] - cohorts["traditional"], rel=1e-9
    )
    assert headline["flows_source"] == "user"
    sources = flows["sources"]
    for ticker in ["KWEB", "CQQQ"]:
        assert "monthly" in sources[ticker]["resolution"], sources[ticker]
        assert "daily" not in sources[ticker]["resolution"], sources[ticker]
    for ticker in DAILY_FUNDS:
        assert sources[ticker]["resolution"] == "daily and monthly", sources[ticker]


def test_no_page_carries_the_sample_mark_and_each_says_its_sources(fetched_and_run):
    project, _, result = fetched_and_run
    report = Path(result.stdout.strip().splitlines()[-1]).parent
    for page in PAGES:
        text = (report / f"{page}.html").read_text(encoding="utf-8")
        assert SAMPLE_MARK not in text and SAMPLE_MARK.upper() not in text, page
    flows_page = (report / "02_etf_flows.html").read_text(encoding="utf-8")
    for ticker in CORE:
        assert ticker in flows_page
    assert "N-PORT" in flows_page
