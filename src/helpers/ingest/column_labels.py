"""The headers a reader sees for the columns of the processed tables and of the tables computed
from them: one place for every page's column labels and units (helpers.present.show.table).

`label(name)` is the name's entry in LABELS, else the first of PATTERNS that matches it, else
the name made readable: underscores become spaces and a unit suffix becomes words (`_pct` is
"(%)"; `_usd` is dropped, since money cells state US$ themselves). A name that
is already text for people ("share claimed", "Cohen's h") is only capitalised.
"""

from __future__ import annotations

import re

LABELS = {
    "ticker": "ETF",
    "date": "Date",
    "nav": "NAV per share (US$)",
    "shares_outstanding": "Shares outstanding",
    "net_assets_usd": "Net assets",
    "flow_usd": "Net flow",
    "net_flow_usd": "Net flow",
    "total_flow_usd": "Net flow, whole period",
    "last_net_assets_usd": "Net assets, last day",
    "start_net_assets_usd": "Net assets at the start",
    "organic_growth_pct": "Organic growth (% of starting assets)",
    "largest_day_usd": "Largest one-day inflow",
    "amount_usd": "Reported",
    "computed_usd": "Computed from the fund data",
    "difference_usd": "Difference",
    "difference_pct": "Difference (%)",
    "rows_read": "Rows read",
    "rows_kept": "Rows kept",
    "rows_dropped": "Rows dropped",
    "share_pct": "Share (%)",
    "n": "Respondents (n)",
    "r": "Correlation (r)",
    "ci_low": "Interval, low",
    "ci_high": "Interval, high",
    "p_value": "p-value",
    "group_reported": "Group as reported",
    "source_url": "Address",
    "source_kind": "Kind of source",
    "trading_days_missing": "Trading days missing",
    "fund_days": "Fund-days",
    "figure_id": "Figure",
    "claim_id": "Claim",
    "largest_day": "Day of the largest inflow",
    "last_larger_day_before": "Last day before with a larger inflow",
    # A sweep's combinations (helpers.analysis.robustness): its axes and headline figures.
    "combination": "Combination",
    "as_of": "As of",
    "flows_source": "Fund flows from",
    "nav_basis": "NAV basis",
    "shares_lag_days": "Shares lag (days)",
    "spread_usd": "Spread (technology \u2212 traditional)",
    "survey_base": "Survey base",
    "survey_shift_pp": "Survey shift (points)",
    "survey_p_value": "Survey p-value",
    "lowest_p_value": "Lowest p-value",
    "highest_p_value": "Highest p-value",
}

PATTERNS = [
    (re.compile(r"largest_(inflow|outflow)_(day|week|month)"), r"Largest \1 (\2)"),
    (re.compile(r"largest_(inflow|outflow)_usd"), r"Largest \1"),
    (re.compile(r"flag_(\w+)"), r"Flag: \1"),
    (re.compile(r"cohort_(\w+)_usd"), r"\1 cohort"),
]

_UNITS = {"_pct": " (%)", "_usd": ""}


def _readable(name: str) -> str:
    for suffix, unit in _UNITS.items():
        if name.endswith(suffix):
            name = name.removesuffix(suffix) + unit
            break
    text = name.replace("_", " ")
    if re.match(r"[a-z](\W|$)", text):  # a statistic's letter (n, z, p-value) keeps its case
        return text
    return text[:1].upper() + text[1:]


def label(name: object) -> str:
    """The header a page shows for the column `name` (see the module's docstring)."""
    name = str(name)
    if name in LABELS:
        return LABELS[name]
    for pattern, replacement in PATTERNS:
        if pattern.fullmatch(name):
            return _readable(pattern.sub(replacement, name))
    return _readable(name)


def is_money(name: object) -> bool:
    """Whether the column `name` holds US dollars (its name ends in `_usd`)."""
    return str(name).endswith("_usd")


def is_stock(name: object) -> bool:
    """Whether the money column `name` is a level (net assets) rather than a flow: a level is
    shown without a plus sign."""
    return "net_assets" in str(name)


def is_source(name: object) -> bool:
    """Whether the column `name` holds source texts, "publisher (date): address", as
    helpers.ingest.load.describe_source builds them (`source`, `claim source`, ...)."""
    name = str(name)
    return name == "source" or name.endswith((" source", "_source"))
