"""Against the real sources, for anyone with network (marker `network`, skipped by default):
`pytest -m network tests/study/fetch/test_fetch_network.py`, with CHINAFLOWS_SEC_USER_AGENT set
to a name and an e-mail address.

- `fetch --check` with the shipped fetch.yaml: every source still sends its expected format.
- Which calendar month N-PORT's `mon1Flow` is: the monthly sums of FXI's daily flows (from its
  iShares workbook) must match the N-PORT months in the order the reader assigns them, and
  better than in the reversed order.
"""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

from helpers.fetch.fetching import fetch_sources
from helpers.fetch.outcomes import FAILED, SKIPPED
from helpers.fetch.sources_file import SEC_USER_AGENT_ENV_VAR, load_sources_file
from helpers.ingest.daily_flows import derive_daily_flows
from helpers.ingest.fund_files import read_fund_file, read_nport_filing
from helpers.paths import DEFAULT_LAYOUT, FETCH_SOURCES_FILE
from notebook_pipeline.layout import ProjectLayout

pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(
        not os.environ.get(SEC_USER_AGENT_ENV_VAR),
        reason=f"set {SEC_USER_AGENT_ENV_VAR} to a name and an e-mail address for the SEC",
    ),
]


@pytest.fixture
def project(tmp_path) -> ProjectLayout:
    layout = ProjectLayout(tmp_path / "project")
    layout.raw_dir.mkdir(parents=True)
    shutil.copy2(DEFAULT_LAYOUT.raw_dir / "etf_universe.csv", layout.raw_dir)
    shutil.copy2(DEFAULT_LAYOUT.pipeline_file, layout.pipeline_file)
    return layout


def test_every_real_source_still_sends_its_expected_format(project):
    config = load_sources_file(DEFAULT_LAYOUT.root / FETCH_SOURCES_FILE)

    report = fetch_sources(project, config, ["FXI", "ASHR", "CQQQ", "KWEB"], checking=True)

    print(report.summary())
    failed = [o for o in report.outcomes if o.status == FAILED]
    assert failed == [], report.summary()
    assert {o.source for o in report.outcomes if o.status not in (FAILED, SKIPPED)} >= {
        "ishares",
        "xtrackers",
        "invesco_navs",
        "sec_nport",
    }


def test_mon1_flow_is_the_month_the_reader_says(project):
    config = load_sources_file(DEFAULT_LAYOUT.root / FETCH_SOURCES_FILE)
    report = fetch_sources(project, config, ["FXI"])
    assert report.exit_code() == 0, report.summary()
    fetched = project.raw_dir / "fetched"
    workbook = pd.read_csv(fetched / "ishares" / "manifest.csv")["file"].iloc[-1]
    daily = derive_daily_flows(read_fund_file(fetched / workbook, "history"))
    daily["month_end"] = daily["date"] + pd.offsets.MonthEnd(0)
    monthly = daily.groupby("month_end")["flow_usd"].sum()

    filings = pd.read_csv(fetched / "sec_nport" / "manifest.csv")["file"]
    nport = pd.concat(_with_months_reversed(read_nport_filing(fetched / f, "FXI")) for f in filings)
    compared = nport[nport["month_end"].isin(monthly.index)]
    assert len(compared) >= 3, "no N-PORT month is covered by the daily history"
    daily_sums = monthly[compared["month_end"]].to_numpy()
    as_read = (compared["flow_usd"] - daily_sums).abs().sum()
    reversed_order = (compared["reversed_flow_usd"] - daily_sums).abs().sum()
    assert as_read < reversed_order, (as_read, reversed_order)


def _with_months_reversed(filing: pd.DataFrame) -> pd.DataFrame:
    """A filing's months with the flows they would have if mon1Flow were the newest month."""
    return filing.assign(reversed_flow_usd=filing["flow_usd"].to_numpy()[::-1])
