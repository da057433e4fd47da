"""Column labels: one place for every page's headers (helpers.ingest.column_labels)."""

from __future__ import annotations

import pytest

from helpers.ingest.column_labels import is_money, is_source, is_stock, label


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("flow_usd", "Net flow"),  # listed
        ("largest_outflow_week", "Largest outflow (week)"),  # a generated name, by pattern
        ("largest_inflow_usd", "Largest inflow"),
        ("inflow_days", "Inflow days"),
        ("difference_pct", "Difference (%)"),
        ("technology", "Technology"),  # a cohort
        ("share claimed", "Share claimed"),  # already for people
        ("n 2024 / 2025", "n 2024 / 2025"),  # a statistic's letter keeps its case
        ("p-value", "p-value"),
        ("verification_note", "Verification note"),
    ],
)
def test_every_column_gets_a_label_without_underscores(name, expected):
    assert label(name) == expected
    assert "_" not in label(name)


def test_money_and_levels_are_told_by_name():
    assert is_money("net_flow_usd") and not is_money("share_pct")
    assert is_stock("start_net_assets_usd") and not is_stock("flow_usd")


def test_source_columns_are_told_by_name():
    assert is_source("source") and is_source("claim source") and is_source("fund_source")
    assert not is_source("source_url") and not is_source("sources") and not is_source("resource")
