"""The robustness page (notebooks/sweep_robustness.ipynb) run with the plain papermill CLI on the
manifests of a parameter sweep and of an as-of sweep (sweep_manifests), from the project root as
the engine runs it, and rendered as the engine renders a page: it passes the reader checks of
every page and shows only the sections that apply to its sweep."""

from __future__ import annotations

import re

import pytest
from page_checks import HYPHEN_MINUS, chart_colours, chart_svgs, reader_defects, smallest_text_px

from helpers.present import plots, show
from notebook_pipeline.notebook_page import CONTENTS_HEADING

# Both notebooks run in a shared run (conftest.sweep_pages, tests/support/sweep_pages.py: once for
# the whole test run, on any worker).
pytestmark = pytest.mark.pipeline

SPREAD_SECTION = "Does the spread hold across methods?"
TIME_SECTION = "How did the picture change over time?"
BASES_SECTION = "How far does the survey's p-value move across bases?"


@pytest.mark.parametrize("sweep", ["methods", "month_ends"])
def test_the_page_passes_the_reader_checks(sweep_pages, sweep):
    assert reader_defects(sweep_pages[sweep]) == []


def test_a_parameter_sweep_page_asks_whether_the_spread_holds_across_methods(sweep_pages):
    page = sweep_pages["methods"]
    findings = page[page.index(show.FINDINGS_HEADING) : page.index(CONTENTS_HEADING)]
    assert "stays positive in all 8 variants" in findings
    assert "the conclusion depends on the base" in findings
    assert SPREAD_SECTION in page and BASES_SECTION in page.replace("&#39;", "'")
    assert TIME_SECTION not in page
    contents = page[
        page.index(CONTENTS_HEADING) : page.index(f'id="{SPREAD_SECTION.replace(" ", "-")}"')
    ]
    assert SPREAD_SECTION in contents and "Which runs does this sweep hold?" in contents
    link = "nav_basis-today_shares_lag_days-0_survey_base-all_respondents"
    assert f'<a href="{link}/index.html">{link}</a>' in page
    assert show.SAMPLE_MARK in page and ">Error<" not in page  # no failure: no error column


def test_an_as_of_sweep_page_shows_the_figures_over_time_and_the_failure(sweep_pages):
    page = sweep_pages["month_ends"]
    assert TIME_SECTION in page
    assert SPREAD_SECTION not in page and BASES_SECTION not in page.replace("&#39;", "'")
    assert "1 of 6 combinations failed" in page and "01_clean_data: no fund data" in page
    assert show.SAMPLE_MARK not in page  # the researcher's own data: no banner, no mark


def test_the_charts_are_readable_and_colour_blind_safe(sweep_pages):
    svgs = [svg for page in sweep_pages.values() for svg in chart_svgs(page)]
    assert len(svgs) == 3  # the methods' dots and p-values, the month ends' lines
    for svg in svgs:
        text = " ".join(re.findall(r">([^<]+)<", svg))  # the chart's text elements
        assert not HYPHEN_MINUS.search(text), text  # no hyphen for a minus sign on an axis
        # the page's content is about 1,000 px wide at a 1,100 px window
        assert smallest_text_px(svg, 1000) >= 11
        assert plots.OKABE_ITO["blue"].lower() in chart_colours(svg)
