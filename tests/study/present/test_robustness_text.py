"""The robustness page's sentences and table (helpers.present.robustness_text), generated from
sweeps built by sweep_manifests, and the charts it shows (helpers.present.plots)."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from sweep_manifests import Run, invented_headline, write_sweep

from helpers.analysis import robustness
from helpers.present import plots, robustness_text, show

MINUS = show.MINUS


def sweep_of(tmp_path: Path, spreads: dict[str, tuple[float | None, float | None]]):
    """A one-axis sweep (nav_basis) whose combinations have these technology and traditional
    totals."""
    runs = [
        Run({"nav_basis": name}, invented_headline(technology_usd=tech, traditional_usd=trad))
        for name, (tech, trad) in spreads.items()
    ]
    return robustness.read_sweep(write_sweep(tmp_path, "s", ["nav_basis"], runs))


def test_a_spread_that_holds_is_said_with_its_range_and_combinations(methods):
    assert robustness_text.describe_spread_sign(methods) == (
        "The spread between technology and traditional funds stays positive in all 8 variants, "
        "from +\u2060$6.60bn (nav_basis average, shares_lag_days 1) to +\u2060$7.00bn "
        "(nav_basis today, shares_lag_days 0)."
    )


def test_a_spread_that_changes_sign_says_so_with_true_minus_signs(tmp_path):
    sweep = sweep_of(tmp_path, {"today": (1e9, -1e9), "average": (-2e9, 1e9), "odd": (1e9, None)})
    text = robustness_text.describe_spread_sign(sweep)
    assert "**changes sign** across the variants (positive in 1 of 2, negative in 1)" in text
    assert (
        f"from {MINUS}\u2060$3.00bn (nav_basis average) to +\u2060$2.00bn (nav_basis today)" in text
    )
    assert text.endswith("; 1 more variant had no spread (a cohort without data).")


def test_no_spread_anywhere_is_said(tmp_path):
    sweep = sweep_of(tmp_path, {"today": (1e9, None)})
    assert "has no value in any variant" in robustness_text.describe_spread_sign(sweep)
    assert robustness_text.describe_against_baseline(sweep) == ""


def test_the_move_against_the_baseline(methods):
    assert robustness_text.describe_against_baseline(methods) == (
        "Against the baseline (nav_basis today, shares_lag_days 0, survey_base all_respondents), "
        "whose spread is +\u2060$7.00bn, the spread moves by at most 5.7%, "
        f"{MINUS}\u2060$0.40bn (nav_basis average, shares_lag_days 1)."
    )


def test_the_p_value_across_bases_and_whether_the_verdict_changes(methods, month_ends):
    text = robustness_text.describe_p_values(methods)
    assert text.startswith("The survey's p-value for the shift moves from 0.015 (all respondents)")
    assert "to 0.063 (sovereign wealth funds only) across the 2 bases" in text
    assert text.endswith(
        "below 0.05 under all respondents, not under sovereign wealth funds only: "
        "**the conclusion depends on the base**."
    )
    assert "significant either way" in robustness_text.describe_p_values(methods, level=0.1)
    assert robustness_text.describe_p_values(month_ends) == (
        "The survey's p-value for the shift is 0.015 in every as-of date (base: all respondents)."
    )


def test_an_as_of_sweep_says_how_the_figures_changed_and_which_run_failed(month_ends):
    findings = robustness_text.findings(month_ends)
    assert findings[0] == (
        "From 2025-01-31 to 2025-06-30 the spread went from +\u2060$1.00bn to +\u2060$6.00bn; "
        "the technology cohort from +\u2060$0.60bn to +\u2060$3.60bn, the broad cohort from "
        f"+\u2060$0.50bn to +\u2060$0.50bn, the traditional cohort from {MINUS}\u2060$0.40bn to "
        f"{MINUS}\u2060$2.40bn."
    )
    assert findings[1].startswith(
        "The spread between technology and traditional funds stays positive at all 5 as-of "
        "dates, from +\u2060$1.00bn (as of 2025-01-31)"
    )
    assert findings[-1] == (
        "1 of 6 combinations failed and has no figures: as_of-2025-04-30 (01_clean_data: no "
        "fund data)."
    )
    assert len(findings) == 3  # one survey base: no sentence on bases


def test_a_parameter_sweep_finds_sign_size_and_bases(methods):
    findings = robustness_text.findings(methods)
    assert [f.split(" ")[1] for f in findings] == ["spread", "the", "survey's"]


def test_the_combinations_table_links_each_run_and_shows_errors_only_when_one_failed(
    methods, month_ends
):
    table = robustness_text.combinations_table(methods)
    assert list(table.columns) == [
        "combination",
        "nav_basis",
        "shares_lag_days",
        "survey_base",
        "cohort_technology_usd",
        "cohort_broad_usd",
        "cohort_traditional_usd",
        "spread_usd",
        "survey_shift_pp",
        "survey_p_value",
        robustness_text.COMBINATION_LINK,
    ]
    first = table.iloc[0]
    assert first[robustness_text.COMBINATION_LINK] == f"{first['combination']}/index.html"
    assert list(robustness_text.combinations_table(month_ends).columns)[-3:] == [
        "status",
        "error",
        robustness_text.COMBINATION_LINK,
    ]
    html = show.table(
        table,
        "Combinations",
        formats=robustness_text.TABLE_FORMATS,
        links={"combination": robustness_text.COMBINATION_LINK},
    ).to_html()
    assert f'<a href="{first["combination"]}/index.html">{first["combination"]}</a>' in html
    assert "combination_page" not in html and "Spread (technology \u2212 traditional)" in html
    assert ">0.015<" in html and ">+15.4<" in html


def test_a_table_link_to_another_scheme_stays_text():
    frame = pd.DataFrame({"run": ["a", "b <i>"], "page": ["javascript:alert(1)", "b/index.html"]})
    html = show.table(frame, "Runs", links={"run": "page"}).to_html()
    assert "javascript" not in html and ">a<" in html
    assert '<a href="b/index.html">b &lt;i&gt;</a>' in html


@pytest.mark.parametrize("kind", ["dots", "over time", "p-values"])
def test_the_sweep_charts_use_the_palette_and_close_cleanly(methods, month_ends, kind):
    plots.use_style()
    if kind == "dots":
        figure = plots.combination_dots(robustness_text.spread_and_cohorts(methods), "T", True)
    elif kind == "over time":
        figure = plots.figures_over_time(robustness_text.over_time(month_ends), "T", False)
    else:
        figure = plots.p_values_by_base(robustness_text.p_values_table(methods), 0.05, "T")
    svg = plots.chart_svg(figure).decode()
    plt.close(figure)
    colours = {c.lower() for c in plots.OKABE_ITO.values()} | {plots.SPREAD_COLOUR.lower()}
    used = {c.lower() for c in re.findall(r"fill: (#[0-9a-fA-F]{6})", svg)}
    assert used & colours, used
    assert ("SAMPLE DATA (SYNTHETIC)" in svg) == (kind == "dots")
