"""A sweep's manifest and its combinations' headlines read into one table, and the numbers the
robustness page states (helpers.analysis.robustness), on sweeps built by sweep_manifests."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from sweep_manifests import (
    MONTH_ENDS,
    Run,
    invented_headline,
    month_ends_sweep,
    write_sweep,
)

from helpers.analysis import robustness
from helpers.errors import InvalidDataError, InvalidParameterError

TODAY_0 = "nav_basis-today_shares_lag_days-0_survey_base-all_respondents"


# --- reading ---------------------------------------------------------------------------------


def test_a_parameter_sweep_is_one_row_per_combination_with_its_figures(methods):
    table = methods.combinations
    assert (methods.name, methods.axes) == (
        "methods",
        ("nav_basis", "shares_lag_days", "survey_base"),
    )
    assert methods.cohorts == ("technology", "broad", "traditional")
    assert len(table) == 8 and list(table["status"].unique()) == ["succeeded"]
    first = table.iloc[0]
    assert first["combination"] == first["folder"] == TODAY_0
    assert (first["nav_basis"], first["shares_lag_days"], first["survey_base"]) == (
        "today",
        0,
        "all_respondents",
    )
    assert first["cohort_technology_usd"] == 4.0e9 and first["cohort_traditional_usd"] == -3.0e9
    assert first["spread_usd"] == 7.0e9
    assert (first["as_of"], first["flows_source"]) == ("2025-12-31", "sample")
    assert first["survey_shift_pp"] == pytest.approx(100 * (72 / 130 - 48 / 120))
    assert 0 < first["survey_p_value"] < 0.05
    assert list(table.columns).count("survey_base") == 1  # an axis and a figure: one column
    assert methods.any_sample and not methods.is_as_of_sweep


def test_an_as_of_sweep_keeps_its_failed_combination_with_the_error(month_ends):
    assert month_ends.is_as_of_sweep
    assert list(month_ends.combinations["as_of"]) == MONTH_ENDS
    failed = month_ends.failed
    assert list(failed["combination"]) == ["as_of-2025-04-30"]
    assert failed.iloc[0]["error"] == "01_clean_data: no fund data"
    assert math.isnan(failed.iloc[0]["spread_usd"])
    assert len(month_ends.succeeded) == 5


def test_a_cohort_without_data_has_no_spread_but_is_read(tmp_path):
    headline = invented_headline(traditional_usd=None)
    sweep = robustness.read_sweep(
        write_sweep(tmp_path, "s", ["nav_basis"], [Run({"nav_basis": "today"}, headline)])
    )
    assert math.isnan(sweep.combinations.iloc[0]["spread_usd"])
    assert math.isnan(sweep.combinations.iloc[0]["cohort_traditional_usd"])


def _manifest(tmp_path: Path) -> Path:
    return write_sweep(
        tmp_path,
        "s",
        ["nav_basis"],
        [
            Run({"nav_basis": "today"}, invented_headline()),
            Run({"nav_basis": "average"}, invented_headline()),
        ],
    )


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.pop("axes"), "has no 'axes'"),
        (lambda m: m.update(combinations=[]), "'combinations' is empty"),
        (
            lambda m: m["combinations"][1].update(status="done"),
            "combination 2 ('nav_basis-average'): 'status' is 'done'",
        ),
        (
            lambda m: m["combinations"][0]["parameters"].clear(),
            "'parameters' has no value for nav_basis",
        ),
        (
            lambda m: m["combinations"][0].update(headline="../../elsewhere.json"),
            "leads out of the sweep's folder",
        ),
        (lambda m: m["combinations"][0].update(headline=None), "'headline' is None, not a path"),
    ],
)
def test_a_bad_manifest_is_refused_naming_the_file_and_what_is_wrong(tmp_path, change, message):
    path = _manifest(tmp_path)
    _edit(path, change)
    with pytest.raises(InvalidDataError, match=r"sweep\.json") as raised:
        robustness.read_sweep(path)
    assert message in str(raised.value)


def test_a_missing_or_garbled_manifest_is_refused(tmp_path):
    with pytest.raises(InvalidDataError, match="sweep.json: the sweep manifest does not exist"):
        robustness.read_sweep(tmp_path / "sweep.json")
    (tmp_path / "sweep.json").write_text('{"sweep": "s", ')
    with pytest.raises(InvalidDataError, match="sweep.json: the sweep manifest is not valid JSON"):
        robustness.read_sweep(tmp_path / "sweep.json")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda h: h["flows"].pop("spread_usd"), "has no 'flows.spread_usd'"),
        (
            lambda h: h["flows"].update(spread_usd="8.1bn"),
            "'flows.spread_usd' is '8.1bn', not a number or null",
        ),
        (lambda h: h["survey"].pop("p_value"), "has no 'survey.p_value'"),
        (
            lambda h: h["flows"]["cohorts_usd"].update(broad=True),
            "'flows.cohorts_usd.broad' is True",
        ),
        (lambda h: h.pop("flows_source"), "has no 'flows_source'"),
    ],
)
def test_a_headline_without_a_needed_figure_is_refused_naming_it(tmp_path, change, message):
    path = _manifest(tmp_path)
    headline = path.parent / "nav_basis-average" / "headline.json"
    _edit(headline, change)
    with pytest.raises(InvalidDataError) as raised:
        robustness.read_sweep(path)
    assert str(raised.value).startswith(f"{headline}: ") and message in str(raised.value)


def test_a_missing_or_garbled_headline_is_refused_naming_its_combination(tmp_path):
    path = _manifest(tmp_path)
    headline = path.parent / "nav_basis-average" / "headline.json"
    headline.write_text("{not json")
    with pytest.raises(
        InvalidDataError, match="the headline of 'nav_basis-average' is not valid JSON"
    ):
        robustness.read_sweep(path)
    headline.unlink()
    with pytest.raises(
        InvalidDataError, match="the headline of 'nav_basis-average' does not exist"
    ):
        robustness.read_sweep(path)


# --- the page's questions --------------------------------------------------------------------


def test_the_spread_keeps_its_sign_and_its_range_names_the_combinations(methods):
    sign = robustness.spread_sign(methods)
    assert (sign.variants, sign.positive, sign.negative, sign.holds) == (8, 8, 0, True)
    low, high = robustness.extremes(methods)
    assert (low.value, high.value) == (6.6e9, 7.0e9)
    # the same spread under both survey bases: a tie, described by what the two share
    assert len(low.combinations) == 2
    assert methods.describe(*low.combinations) == "nav_basis average, shares_lag_days 1"
    assert (
        methods.describe(TODAY_0)
        == "nav_basis today, shares_lag_days 0, survey_base all_respondents"
    )


def test_a_spread_that_changes_sign_does_not_hold(tmp_path):
    runs = [
        Run({"nav_basis": "today"}, invented_headline(technology_usd=1e9, traditional_usd=-1e9)),
        Run({"nav_basis": "average"}, invented_headline(technology_usd=-1e9, traditional_usd=1e9)),
        Run({"nav_basis": "odd"}, invented_headline(traditional_usd=None)),
    ]
    sweep = robustness.read_sweep(write_sweep(tmp_path, "s", ["nav_basis"], runs))
    sign = robustness.spread_sign(sweep)
    assert (sign.variants, sign.positive, sign.negative, sign.without_spread) == (2, 1, 1, 1)
    assert not sign.holds


def test_the_spread_against_the_baseline(methods):
    against = robustness.against_baseline(methods)
    assert (against.baseline, against.baseline_usd) == (TODAY_0, 7.0e9)
    assert against.largest_change_usd == pytest.approx(-0.4e9)
    assert against.largest_change_pct == pytest.approx(-100 * 0.4 / 7.0)
    assert methods.describe(*against.furthest) == "nav_basis average, shares_lag_days 1"
    other = "nav_basis-average_shares_lag_days-1_survey_base-all_respondents"
    assert robustness.against_baseline(methods, other).largest_change_usd == pytest.approx(0.4e9)
    with pytest.raises(InvalidParameterError, match="no succeeded combination 'nowhere'"):
        robustness.against_baseline(methods, "nowhere")


def test_the_p_value_under_each_base(methods, month_ends):
    assert robustness.survey_bases_vary(methods) and not robustness.survey_bases_vary(month_ends)
    by_base = robustness.p_values_by_base(methods)
    assert list(by_base.index) == ["all_respondents", "sovereign_wealth_funds"]
    assert list(by_base["combinations"]) == [4, 4]
    assert by_base.loc["all_respondents", "highest_p_value"] < 0.05
    assert by_base.loc["sovereign_wealth_funds", "lowest_p_value"] > 0.05


def test_the_figures_over_time_are_in_date_order_without_the_failed_date(tmp_path):
    path = month_ends_sweep(tmp_path)
    _edit(path, lambda m: m["combinations"].reverse())
    over_time = robustness.figures_over_time(robustness.read_sweep(path))
    assert [f"{day:%Y-%m-%d}" for day in over_time.index] == [
        d for d in MONTH_ENDS if d != "2025-04-30"
    ]
    assert list(over_time["spread_usd"]) == pytest.approx([1e9, 2e9, 3e9, 5e9, 6e9])
