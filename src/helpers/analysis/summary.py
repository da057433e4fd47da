"""The executive summary: headline.json from the flows and survey results, and the sources."""

from __future__ import annotations

from typing import Any

import pandas as pd

from helpers.ingest.load import NO_ADDRESS

HEADLINE_SURVEY_FIELDS = ("diff_pp", "z", "p_value", "ci95_diff_pp", "cohens_h")


def survey_headline(comparison: dict[str, Any]) -> dict[str, Any]:
    """The headline survey block for one base, from ShareComparison.to_dict()."""
    return {
        "share": {
            "2024": comparison["share_before_pct"] / 100,
            "2025": comparison["share_after_pct"] / 100,
        },
        "n": {"2024": comparison["n_before"], "2025": comparison["n_after"]},
        "count": {"2024": comparison["count_before"], "2025": comparison["count_after"]},
        **{field: comparison[field] for field in HEADLINE_SURVEY_FIELDS},
    }


def build_headline(flows_summary: dict[str, Any], survey_summary: dict[str, Any]) -> dict:
    """headline.json: the figures a scheduler or the site index reads (see the README)."""
    base = survey_summary["base"]
    return {
        "as_of": flows_summary["period"]["end"],
        "flows_source": flows_summary["flows_source"],
        "flows": {
            "period": flows_summary["period"],
            "ytd_usd": flows_summary["ytd_usd"],
            "cohorts_usd": flows_summary["cohorts_usd"],
            "spread_usd": flows_summary["spread_usd"],
            "missing": flows_summary["missing"],
            "sources": flows_summary["sources"],
        },
        "survey": {
            "base": base,
            **survey_headline(survey_summary["by_base"][base]),
            "by_base": {
                name: survey_headline(comparison)
                for name, comparison in survey_summary["by_base"].items()
            },
        },
    }


def sources_table(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every distinct source behind the given tables, with the tables that cite it; a source
    without an address reads `address not recorded` in `source_url`."""
    cited = pd.concat(
        [
            t[["source_publisher", "source_date", "source_url", "source_kind"]].assign(table=name)
            for name, t in tables.items()
        ]
    )
    return (
        cited.fillna({"source_url": NO_ADDRESS, "source_date": pd.NaT})
        .groupby(["source_publisher", "source_url", "source_kind"], dropna=False)
        .agg(
            first_date=("source_date", "min"),
            tables=("table", lambda t: ", ".join(sorted(set(t)))),
            rows=("table", "size"),
        )
        .reset_index()
        .sort_values(["source_kind", "source_publisher"])
    )
