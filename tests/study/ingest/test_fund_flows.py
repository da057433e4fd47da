"""The canonical flows table at both resolutions (helpers.ingest.fund_flows): each fund-month at
the best resolution the fund has, on hand-made daily flows and N-PORT months
(tests/support/flow_builders.py: +1,000 a trading day)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from flow_builders import DAY_FLOW, daily_of, history, nport, sessions_in

from helpers.ingest import fund_flows
from helpers.ingest.fund_flows import (
    MIXED_RESOLUTION,
    canonical_flows,
    daily_months,
    flows_source,
    no_nport_months,
    sources_by_ticker,
)


def resolutions(table: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(ticker, month) -> the resolutions of its rows."""
    month = table["period_start"].dt.strftime("%Y-%m")
    return (
        table.groupby([table["ticker"], month])["resolution"]
        .agg(lambda r: "+".join(sorted(set(r))))
        .to_dict()
    )


def test_a_whole_month_of_daily_data_is_complete_a_partial_one_is_not():
    daily = daily_of(history("AAA", "2024-12-31", "2025-02-14"))
    months = daily_months(daily).set_index("month")
    assert bool(months.loc[pd.Period("2024-12", "M"), "complete"]) is False  # the base day only
    january = months.loc[pd.Period("2025-01", "M")]
    assert bool(january["complete"]) is True
    assert january["flow_usd"] == DAY_FLOW * sessions_in("2025-01")
    assert bool(months.loc[pd.Period("2025-02", "M"), "complete"]) is False  # ends on the 14th


def test_a_month_with_a_day_without_a_flow_is_not_complete():
    full = history("AAA", "2024-12-31", "2025-01-31")
    full.loc[full["date"] == "2025-01-15", "shares_outstanding"] = np.nan  # a NAV-only day
    months = daily_months(daily_of(full)).set_index("month")
    assert bool(months.loc[pd.Period("2025-01", "M"), "complete"]) is False


def test_each_month_at_the_best_resolution_the_fund_has():
    """AAA: daily from the close of 31 December to 14 February, N-PORT for January to March:
    January daily (covered whole), February and March N-PORT (daily covers half of February).
    BBB: daily from 10 February only and no N-PORT: its partial month stays daily."""
    daily = daily_of(
        history("AAA", "2024-12-31", "2025-02-14"), history("BBB", "2025-02-10", "2025-02-28")
    )
    months = nport("AAA", {"2025-01": 99.0, "2025-02": 7_000.0, "2025-03": -2_500.0})
    table = canonical_flows(daily, months)
    assert list(table.columns) == fund_flows.FUND_FLOWS_COLUMNS
    assert resolutions(table) == {
        ("AAA", "2025-01"): "daily",
        ("AAA", "2025-02"): "monthly",
        ("AAA", "2025-03"): "monthly",
        ("BBB", "2025-02"): "daily",
    }
    aaa = table[table["ticker"] == "AAA"]
    january = aaa[aaa["resolution"] == "daily"]
    assert january["flow_usd"].sum() == DAY_FLOW * sessions_in("2025-01")  # not N-PORT's 99
    assert (january["period_start"] == january["period_end"]).all()
    monthly = aaa[aaa["resolution"] == "monthly"].set_index("period_start")
    assert monthly["flow_usd"].to_dict() == {
        pd.Timestamp("2025-02-01"): 7_000.0,
        pd.Timestamp("2025-03-01"): -2_500.0,
    }
    assert monthly["period_end"].tolist() == [
        pd.Timestamp("2025-02-28"),
        pd.Timestamp("2025-03-31"),
    ]
    assert monthly["source_kind"].tolist() == ["sec_nport", "sec_nport"]
    # BBB's first day is only the base of the next day's flow: no row without a flow
    bbb = table[table["ticker"] == "BBB"]
    assert len(bbb) == sessions_in("2025-02") - sessions_in("2025-02", "2025-02-10")
    assert bbb["flow_usd"].notna().all()


def test_a_month_is_never_counted_twice():
    daily = daily_of(history("AAA", "2024-12-31", "2025-03-31"))
    months = nport("AAA", {"2025-01": 1.0, "2025-02": 2.0, "2025-03": 3.0})
    table = canonical_flows(daily, months)
    assert set(table["resolution"]) == {"daily"}  # daily covers every month: N-PORT not added
    assert table["flow_usd"].sum() == pytest.approx(daily["flow_usd"].sum())


def test_without_daily_data_the_months_are_all_there_is():
    months = nport("KWEB", {"2025-01": 1e6, "2025-02": -2e6})
    table = canonical_flows(daily_of(history("AAA", "2025-01-02", "2025-01-02")).iloc[:0], months)
    assert table["resolution"].tolist() == ["monthly", "monthly"]
    assert table["flow_usd"].tolist() == [1e6, -2e6]


def test_sources_by_ticker_name_each_part_and_the_mixed_resolution():
    daily = daily_of(history("AAA", "2024-12-31", "2025-01-31"))
    table = canonical_flows(daily, nport("AAA", {"2025-02": 5.0}))
    described = sources_by_ticker(table)["AAA"]
    assert described["source"] == "AAA issuer file; SEC Form N-PORT"
    assert described["resolution"] == MIXED_RESOLUTION
    assert [(p["resolution"], p["first_day"], p["last_day"]) for p in described["parts"]] == [
        ("daily", "2025-01-02", "2025-01-31"),
        ("monthly", "2025-02-01", "2025-02-28"),
    ]
    assert described["parts"][0]["address"] == "https://issuer.example/AAA"


def test_the_flows_rest_on_the_sample_only_when_a_row_does():
    daily = daily_of(history("AAA", "2024-12-31", "2025-01-31", kind="sample"))
    assert flows_source(canonical_flows(daily, no_nport_months())) == "sample"
    real = daily_of(history("AAA", "2024-12-31", "2025-01-31"))
    assert flows_source(canonical_flows(real, nport("KWEB", {"2025-01": 1.0}))) == "user"
