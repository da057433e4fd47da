"""flows_summary.json records and the tables read back from them (helpers.analysis.flow_records)."""

from __future__ import annotations

import json

import pandas as pd
from two_funds import DATES

from helpers.analysis.flow_records import (
    cumulative_from_records,
    cumulative_records,
    period_summary,
)
from helpers.analysis.flows import cumulative_cohort_flows


def test_period_summary_details_cohort_tickers_and_counts_the_others(daily):
    summary = period_summary(daily, {"technology": ["AAA"], "traditional": []}, *DATES[[0, 3]])
    assert summary["ytd_usd"] == {"AAA": 245.0}
    assert summary["cohorts_usd"] == {"technology": 245.0, "traditional": 0.0}
    assert summary["spread_usd"] == 245.0
    assert summary["other_etfs"] == {"count": 1, "flow_usd": -100.0}
    assert summary["period"] == {"start": "2025-01-02", "end": "2025-01-07"}


def test_cumulative_records_read_back_equal(daily):
    cumulative = cumulative_cohort_flows(daily, {"tech": ["AAA"], "all": ["AAA", "BBB"]})
    back = cumulative_from_records(json.loads(json.dumps(cumulative_records(cumulative))))
    pd.testing.assert_frame_equal(back, cumulative, check_index_type=False)
