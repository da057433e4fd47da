"""Declared schemas of the raw tables (pandera), checked where data enters the pipeline.

Raw CSVs are read as text and coerced here, so a bad cell is reported with its line and column
instead of silently becoming NaN.
"""

from __future__ import annotations

import pandera.pandas as pa

DATE = "datetime64[us]"
SOURCE_KINDS = ["primary", "news", "secondary", "aggregator", "mirror", "synthetic"]
COHORTS = ["technology", "broad", "traditional", "other"]
BOUNDS = ["point", "at_most", "at_least"]
SURVEY_BASES = [
    "all_respondents",
    "sovereign_wealth_funds",
    "central_banks",
    "uncertain",
    "not_disclosed",
]
TICKER = pa.Check.str_matches(r"^[A-Z]{2,5}$", error="a ticker is 2-5 capital letters")
TICKER_LIST = pa.Check.str_matches(
    r"^[A-Z]{2,5}(;[A-Z]{2,5})*$", error="tickers are separated by ';'"
)
# Pages make a source's address a link: the column holds an address or nothing (a page known
# only by its name is named in source_note).
ADDRESS = pa.Check.str_matches(
    r"^https?://\S+$", error="an address starts with http:// or https:// and has no spaces"
)


def _text(nullable: bool = False, checks=None) -> pa.Column:
    return pa.Column(str, checks=checks, nullable=nullable)


def _date(nullable: bool = False) -> pa.Column:
    return pa.Column(DATE, coerce=True, nullable=nullable)


def _number(nullable: bool = False, checks=None) -> pa.Column:
    return pa.Column(float, checks=checks, coerce=True, nullable=nullable)


def _count(nullable: bool = False) -> pa.Column:
    return pa.Column("Int64", checks=pa.Check.ge(0), coerce=True, nullable=nullable)


def _flag() -> pa.Column:
    return pa.Column(bool)


SOURCE_COLUMNS = {
    "source_publisher": _text(),
    "source_date": _date(nullable=True),
    "source_url": _text(nullable=True, checks=ADDRESS),
    "source_kind": _text(checks=pa.Check.isin(SOURCE_KINDS)),
    "source_note": _text(nullable=True),
}


def _facts_schema(name: str, columns: dict, unique: list[str], checks=None) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {**columns, **SOURCE_COLUMNS}, name=name, unique=unique, checks=checks, strict=True
    )


_ENDS_AFTER_START = pa.Check(
    lambda df: df["end"] >= df["start"], element_wise=False, error="end is before start"
)

RAW_SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "etf_universe": _facts_schema(
        "etf_universe",
        {
            "ticker": _text(checks=TICKER),
            "name": _text(),
            "issuer": _text(),
            "inception": _date(),
            "expense_ratio_pct": _number(checks=pa.Check.in_range(0, 5)),
            "expense_ratio_note": _text(nullable=True),
            "index_tracked": _text(),
            "cohort": _text(checks=pa.Check.isin(COHORTS)),
            "core": _flag(),
        },
        unique=["ticker"],
    ),
    "reported_flows": _facts_schema(
        "reported_flows",
        {
            "figure_id": _text(),
            "subject": _text(),
            "tickers": _text(nullable=True, checks=TICKER_LIST),
            "start": _date(),
            "end": _date(),
            "amount_usd": _number(),
            "bound": _text(checks=pa.Check.isin(BOUNDS)),
            "period_note": _text(nullable=True),
            "verified": _flag(),
        },
        unique=["figure_id"],
        checks=_ENDS_AFTER_START,
    ),
    "flow_claims": _facts_schema(
        "flow_claims",
        {
            "claim_id": _text(),
            "subject": _text(),
            "tickers": _text(nullable=True, checks=TICKER_LIST),
            "start": _date(),
            "end": _date(),
            "claim": _text(),
            "verified": _flag(),
        },
        unique=["claim_id"],
        checks=_ENDS_AFTER_START,
    ),
    "survey_editions": _facts_schema(
        "survey_editions",
        {
            "edition": _count(),
            "respondents_total": _count(),
            "sovereign_wealth_funds": _count(),
            "central_banks": _count(),
            "assets_usd_tn": _number(nullable=True),
            "fieldwork": _text(nullable=True),
        },
        unique=["edition"],
        checks=pa.Check(
            lambda df: (
                df["respondents_total"] == df["sovereign_wealth_funds"] + df["central_banks"]
            ),
            element_wise=False,
            error="respondents_total is not sovereign_wealth_funds + central_banks",
        ),
    ),
    "survey_figures": _facts_schema(
        "survey_figures",
        {
            "figure_id": _text(),
            "edition": _count(),
            "topic": _text(),
            "measure": _text(),
            "group_reported": _text(),
            "share_pct": _number(checks=pa.Check.in_range(0, 100)),
            "base": _text(checks=pa.Check.isin(SURVEY_BASES)),
            "n": _count(nullable=True),
            "verified": _flag(),
            "verification_note": _text(nullable=True),
        },
        unique=["figure_id"],
    ),
    "survey_claims": _facts_schema(
        "survey_claims",
        {
            "claim_id": _text(),
            "edition": _count(),
            "figure_id": _text(nullable=True),
            "claim": _text(),
            "group_claimed": _text(),
            "share_pct": _number(checks=pa.Check.in_range(0, 100)),
        },
        unique=["claim_id"],
    ),
    "events": _facts_schema(
        "events",
        {
            "date": _date(),
            "event": _text(),
            "category": _text(),
            "market_note": _text(nullable=True),
        },
        unique=["date", "event"],
    ),
}

# The canonical daily fund history, whatever file format it came from.
FUND_HISTORY_SCHEMA = pa.DataFrameSchema(
    {
        "date": _date(),
        "ticker": _text(checks=TICKER),
        "nav": _number(checks=pa.Check.gt(0, error="NAV must be positive")),
        "shares_outstanding": _number(
            checks=pa.Check.gt(0, error="shares outstanding must be positive")
        ),
        "is_synthetic": _flag(),
        "source": _text(),
    },
    name="fund_history",
    unique=["date", "ticker"],
    strict=True,
)

# What `chinaflows fetch` keeps: one manifest.csv per source, a row per file kept, columns exactly
# these (data/raw/README.md). `file` is relative to data/raw/fetched/.
FETCH_FORMATS = [
    "ishares_workbook",
    "xtrackers_xlsx",
    "invesco_navs_json",
    "invesco_prices_json",
    "nport_primary_doc",
]
FETCH_MANIFEST_SCHEMA = pa.DataFrameSchema(
    {
        "ticker": _text(checks=TICKER),
        "file": _text(),
        "address": _text(nullable=True),
        "fetched_at": pa.Column("datetime64[us, UTC]", coerce=True),
        "sha256": _text(checks=pa.Check.str_matches(r"^[0-9a-f]{64}$", error="64 hex digits")),
        "http_status": _count(),
        "bytes": _count(),
        "format": _text(checks=pa.Check.isin(FETCH_FORMATS)),
        "as_of": _date(nullable=True),
    },
    name="fetch_manifest",
    unique=["file"],
    strict=True,
    ordered=True,
)

# The canonical flows table (data/processed/fund_flows.parquet): every fund's flows at the best
# resolution it has, one row per day or per month (helpers.ingest.fund_flows).
RESOLUTIONS = ["daily", "monthly"]
FLOW_SOURCE_KINDS = ["sample", "issuer", "sec_nport", "user"]
FUND_FLOWS_SCHEMA = pa.DataFrameSchema(
    {
        "ticker": _text(checks=TICKER),
        "period_start": _date(),
        "period_end": _date(),
        # the same few labels on millions of rows: categorical
        "resolution": pa.Column("category", checks=pa.Check.isin(RESOLUTIONS)),
        "flow_usd": _number(),
        "source_kind": pa.Column("category", checks=pa.Check.isin(FLOW_SOURCE_KINDS)),
        "source": pa.Column("category"),
        "source_address": pa.Column("category"),
        "sales_usd": _number(nullable=True),
        "reinvestment_usd": _number(nullable=True),
        "redemption_usd": _number(nullable=True),
        "net_assets_usd": _number(nullable=True),
    },
    name="fund_flows",
    unique=["ticker", "period_start", "period_end"],
    checks=pa.Check(
        lambda df: df["period_end"] >= df["period_start"],
        element_wise=False,
        error="period_end is before period_start",
    ),
    strict=True,
    ordered=True,
)
