"""The study's headline figures on the index pages: headline.json as HTML fragments.

pipeline.yaml names `headline_html` (study.headline.html); the engine's run and site index
pages place what it returns. The wording is the study's: the flows' source, the cohorts' spread
and the survey's years come from headline.json, the sample mark from `show`.
"""

from __future__ import annotations

import inspect
from typing import Any

import jinja2

from helpers.analysis import flows
from helpers.present.show import SAMPLE_MARK, true_minus
from notebook_pipeline.site import HeadlineHtml

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("helpers.present", "templates"),
    autoescape=True,
    undefined=jinja2.ChainableUndefined,
)
_ENVIRONMENT.filters["minus"] = true_minus  # "-3.70" -> "−3.70": a figure's minus sign
_TEMPLATE = _ENVIRONMENT.get_template("headline.html.j2")

# The cohorts whose difference is the spread (flows.spread_usd's defaults).
_SPREAD = inspect.signature(flows.spread_usd).parameters
SPREAD_LONG, SPREAD_SHORT = _SPREAD["long"].default, _SPREAD["short"].default

INDEX_COLUMNS = [
    "fund flows from",
    f"{SPREAD_LONG} cohort",
    f"{SPREAD_SHORT} cohort",
    "survey shift",
]


def headline_html(headline: dict[str, Any]) -> HeadlineHtml:
    """The fragments of the index pages that show `headline` (the content of headline.json;
    {} for a run without one)."""
    module = _TEMPLATE.make_module(
        {"sample_mark": SAMPLE_MARK, "spread_long": SPREAD_LONG, "spread_short": SPREAD_SHORT}
    )
    return HeadlineHtml(
        as_of_note=str(module.as_of_note(headline)),
        notice=str(module.notice(headline)),
        figures=str(module.figures(headline)),
        index_columns=INDEX_COLUMNS,
        index_cells=str(module.index_cells(headline)),
    )
