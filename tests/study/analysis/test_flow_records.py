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


def test_period_summary_details_cohort_tickers_and_counts_the_others(canonical):
    summary = period_summary(canonical, {"technology": ["AAA"], "traditional": []}, *DATES[[0, 3]])
    assert summary["ytd_usd"] == {"AAA": 245.0}
    assert summary["cohorts_usd"] == {"technology": 245.0, "traditional": None}  # no fund: no data
    assert summary["spread_usd"] is None
    assert summary["other_etfs"] == {"count": 1, "flow_usd": -100.0}
    assert summary["period"] == {"start": "2025-01-02", "end": "2025-01-07"}


def test_period_summary_of_partial_data_says_what_is_missing(canonical):
    """A cohort is summed over the funds that have data; one with none has no data (None), and
    so has the spread; the cohort funds without data are listed."""
    cohorts = {"technology": ["AAA", "KWEB"], "traditional": ["FXI"]}
    summary = json.loads(json.dumps(period_summary(canonical, cohorts, *DATES[[0, 3]])))
    assert summary["cohorts_usd"] == {"technology": 245.0, "traditional": None}
    assert summary["spread_usd"] is None
    assert summary["missing"] == ["KWEB", "FXI"]
    assert summary["sources"] == {
        "AAA": {
            "source": "test",
            "resolution": "daily",
            "parts": [
                {
                    "source": "test",
                    "source_kind": "user",
                    "resolution": "daily",
                    "address": "",
                    "first_day": "2025-01-03",
                    "last_day": "2025-01-07",
                }
            ],
        }
    }


def test_cumulative_records_read_back_equal(daily):
    cumulative = cumulative_cohort_flows(daily, {"tech": ["AAA"], "all": ["AAA", "BBB"]})
    back = cumulative_from_records(json.loads(json.dumps(cumulative_records(cumulative))))
    pd.testing.assert_frame_equal(back, cumulative, check_index_type=False)
