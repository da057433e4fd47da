"""Sweeps as pipeline.yaml declares them (notebook_pipeline.sweep_spec): combinations, names,
as-of dates, the sweep page, and every combination checked as `-p` checks a run's parameters.

In process, without a kernel: a two-notebook project written in tmp_path, whose study
pre-flight hook (a module written beside it) says its data span 2025-01-02 to 2025-06-30.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from diamond_project import write_notebook

from helpers.paths import DEFAULT_LAYOUT
from notebook_pipeline.checks import check_pipeline, step_notebook_files
from notebook_pipeline.errors import AsOfBeforeDataError, InvalidDataError, InvalidParameterError
from notebook_pipeline.layout import ProjectLayout
from notebook_pipeline.spec import load_pipeline
from notebook_pipeline.sweep_spec import (
    Combination,
    load_sweep,
    load_sweep_page,
    load_sweeps,
    resolve_combinations,
)

FIRST_DAY, LAST_DAY = "2025-01-02", "2025-06-30"
STUDY_MODULE = "sweep_spec_test_study"
# The pre-flight hook: the data's span, and bad data for one cleaning choice.
STUDY_SOURCE = f"""
from notebook_pipeline.errors import InvalidDataError

def data_span(root, parameters):
    if parameters.get("nav_basis") == "unreadable":
        raise InvalidDataError("data/raw/prices.csv", "row 3: no NAV")
    return {FIRST_DAY!r}, {LAST_DAY!r}
"""

PIPELINE = {
    "title": "Tiny",
    "study": {"preflight": {"function": f"{STUDY_MODULE}:data_span", "step": "clean"}},
    "parameters": {"processed_dir": "data/processed"},
    "notebooks": {
        "clean": {"inputs": ["data/raw"], "outputs": ["data/processed/clean.txt"]},
        "survey": {
            "inputs": ["data/processed/clean.txt"],
            "outputs": ["data/processed/survey.txt"],
        },
    },
}
PARAMETER_CELLS = {
    "clean": 'processed_dir = "data/processed"\nas_of = ""\nnav_basis = "today"\n'
    "shares_lag_days = 0\nlarge_flow_pct = 20.0",
    "survey": 'processed_dir = "data/processed"\nsurvey_base = "all_respondents"',
}
SAFE_NAME = re.compile(r"[A-Za-z0-9._-]+")


def tiny_project(root: Path, sweeps: dict, **declarations) -> ProjectLayout:
    """The two-notebook project in `root`, its pipeline.yaml declaring `sweeps` (and any other
    top-level `declarations`, e.g. sweep_page)."""
    (root / "notebooks").mkdir(parents=True)
    (root / "data" / "raw").mkdir(parents=True)
    (root / "data" / "raw" / "prices.csv").write_text("date,nav\n")
    pipeline = {**PIPELINE, "sweeps": sweeps, **declarations}
    (root / "pipeline.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    for name, cell in PARAMETER_CELLS.items():
        write_notebook(root / "notebooks" / f"{name}.ipynb", cell, "pass")
    (root / f"{STUDY_MODULE}.py").write_text(STUDY_SOURCE)
    return ProjectLayout(root)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A function making the tiny project with the sweeps it is given."""
    monkeypatch.syspath_prepend(str(tmp_path / "project"))
    return lambda sweeps, **declarations: tiny_project(tmp_path / "project", sweeps, **declarations)


def names(sweep) -> list[str]:
    return [c.name for c in sweep.combinations]


def resolved(layout: ProjectLayout, sweep_name: str):
    return resolve_combinations(layout, load_pipeline(layout), load_sweep(layout, sweep_name))


def refusal(layout: ProjectLayout, sweep_name: str, error=InvalidParameterError) -> str:
    with pytest.raises(error) as refused:
        resolved(layout, sweep_name)
    return str(refused.value)


def declaration_refusal(layout: ProjectLayout) -> str:
    with pytest.raises(InvalidParameterError) as refused:
        load_sweeps(layout)
    return str(refused.value)


# --- combinations ------------------------------------------------------------------------------


def test_grid_is_every_combination_the_last_axis_fastest(project):
    layout = project(
        {"m": {"grid": {"nav_basis": ["today", "average"], "shares_lag_days": [0, 1]}}}
    )
    sweep = load_sweep(layout, "m")
    assert sweep.name == "m" and sweep.title == "m"
    assert sweep.axes == ("nav_basis", "shares_lag_days")
    assert [c.overrides for c in sweep.combinations] == [
        {"nav_basis": "today", "shares_lag_days": 0},
        {"nav_basis": "today", "shares_lag_days": 1},
        {"nav_basis": "average", "shares_lag_days": 0},
        {"nav_basis": "average", "shares_lag_days": 1},
    ]
    assert names(sweep) == [
        "nav_basis-today_shares_lag_days-0",
        "nav_basis-today_shares_lag_days-1",
        "nav_basis-average_shares_lag_days-0",
        "nav_basis-average_shares_lag_days-1",
    ]
    assert {c.as_of for c in sweep.combinations} == {""}


def test_list_gives_explicit_combinations_named_in_axis_order(project):
    layout = project(
        {
            "l": {
                "title": "Listed",
                "list": [
                    {"shares_lag_days": 1, "nav_basis": "average"},
                    {"survey_base": "x"},
                    {},  # the defaults
                ],
            }
        }
    )
    sweep = load_sweep(layout, "l")
    assert sweep.title == "Listed"
    assert sweep.axes == ("shares_lag_days", "nav_basis", "survey_base")
    assert sweep.combinations == (
        Combination(
            "shares_lag_days-1_nav_basis-average",
            {"shares_lag_days": 1, "nav_basis": "average"},
            "",
        ),
        Combination("survey_base-x", {"survey_base": "x"}, ""),
        Combination("defaults", {}, ""),
    )


def test_grid_then_list_with_a_duplicate_once(project):
    layout = project(
        {
            "both": {
                "grid": {"nav_basis": ["today", "average"]},
                "list": [
                    {"nav_basis": "average"},  # in the grid already
                    {"nav_basis": "today", "shares_lag_days": 1},
                    {"shares_lag_days": 1, "nav_basis": "today"},  # the one before, reordered
                ],
            }
        }
    )
    sweep = load_sweep(layout, "both")
    assert sweep.axes == ("nav_basis", "shares_lag_days")
    assert names(sweep) == [
        "nav_basis-today",
        "nav_basis-average",
        "nav_basis-today_shares_lag_days-1",
    ]


def test_as_of_list_runs_each_combination_per_date(project):
    layout = project(
        {
            "dated": {
                "grid": {"nav_basis": ["today", "average"]},
                "as_of": ["2025-03-31", "2025-06-30"],
            }
        }
    )
    sweep = load_sweep(layout, "dated")
    assert sweep.axes == ("nav_basis", "as_of")
    assert [(c.name, c.as_of) for c in sweep.combinations] == [
        ("nav_basis-today_as_of-2025-03-31", "2025-03-31"),
        ("nav_basis-today_as_of-2025-06-30", "2025-06-30"),
        ("nav_basis-average_as_of-2025-03-31", "2025-03-31"),
        ("nav_basis-average_as_of-2025-06-30", "2025-06-30"),
    ]


def test_unquoted_yaml_dates_are_the_same_dates(project):
    layout = project({})
    text = layout.pipeline_file.read_text().replace(
        "sweeps: {}", "sweeps:\n  d:\n    as_of: [2025-03-31]\n"
    )
    layout.pipeline_file.write_text(text)
    [combination] = load_sweep(layout, "d").combinations
    assert combination == Combination("as_of-2025-03-31", {}, "2025-03-31")


def test_month_ends_of_2025_are_twelve_with_february_the_28th(project):
    layout = project(
        {"months": {"as_of": {"month_ends": {"from": "2025-01-31", "to": "2025-12-31"}}}}
    )
    sweep = load_sweep(layout, "months")
    dates = [c.as_of for c in sweep.combinations]
    assert len(dates) == 12
    assert dates[:3] == ["2025-01-31", "2025-02-28", "2025-03-31"]
    assert dates[-1] == "2025-12-31"
    assert sweep.axes == ("as_of",)
    assert all(c.overrides == {} and c.name == f"as_of-{c.as_of}" for c in sweep.combinations)


def test_month_ends_take_whole_months_across_a_leap_year(project):
    layout = project({"m": {"as_of": {"month_ends": {"from": "2023-12-15", "to": "2024-02-01"}}}})
    assert [c.as_of for c in load_sweep(layout, "m").combinations] == [
        "2023-12-31",
        "2024-01-31",
        "2024-02-29",
    ]


# --- names ---------------------------------------------------------------------------------------


def test_names_are_safe_unique_and_short(project):
    values = ["a b", "../../x", "ünïcode", "x\ny", "1/2", "", "a" * 60, "a" * 59 + "b"]
    sweeps = {"odd": {"grid": {"survey_base": values, "shares_lag_days": [True, None, 2.5, [1]]}}}
    first = names(load_sweep(project(sweeps), "odd"))
    assert len(first) == len(set(first)) == len(values) * 4
    assert all(SAFE_NAME.fullmatch(name) for name in first), first
    assert all(len(name) < 100 for name in first)
    assert "survey_base-a-b_shares_lag_days-true" in first
    assert "survey_base-..-..-x_shares_lag_days-null" in first
    assert "survey_base-1-2_shares_lag_days-2.5" in first


def test_names_are_stable_whatever_the_declarations_order(tmp_path):
    grid = {"nav_basis": ["today", "average"], "shares_lag_days": [0, 1]}
    reordered = {"nav_basis": ["average", "today"], "shares_lag_days": [1, 0]}
    first = tiny_project(tmp_path / "first", {"s": {"grid": grid}})
    second = tiny_project(tmp_path / "second", {"s": {"grid": reordered}})
    by_name = {c.name: c.overrides for c in load_sweep(first, "s").combinations}
    assert by_name == {c.name: c.overrides for c in load_sweep(second, "s").combinations}


@pytest.mark.parametrize(
    ("values", "shared"),
    [(["a b", "a/b"], "survey_base-a-b"), (["today", "Today"], "survey_base-Today")],
    ids=["punctuation", "letter case"],
)
def test_two_combinations_with_one_name_are_refused_naming_both(project, values, shared):
    layout = project({"clash": {"grid": {"survey_base": values}}})
    message = declaration_refusal(layout)
    assert message.startswith("pipeline.yaml, sweeps.clash: the combinations ")
    assert f"(survey_base={values[0]!r})" in message and f"(survey_base={values[1]!r})" in message
    assert shared in message


# --- declarations refused --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ({"title": "t"}, "sweeps.s: needs at least one of grid, list or as_of"),
        ({"grid": {"nav_basis": ["today"]}, "axes": []}, "sweeps.s: unknown key(s) axes"),
        ({"grid": {"nav_basis": []}}, "sweeps.s.grid.nav_basis: [] is not a non-empty list"),
        ({"grid": {"nav_basis": "today"}}, "sweeps.s.grid.nav_basis: 'today' is not a non-empty"),
        ({"grid": ["nav_basis"]}, "sweeps.s.grid: must map each parameter to the list"),
        (
            {"list": {"nav_basis": "today"}},
            "sweeps.s.list: must be a non-empty list of combinations",
        ),
        ({"grid": {"as_of": ["2025-03-31"]}}, "sweeps.s.grid: as_of is not a parameter axis"),
        ({"list": [{"as_of": "2025-03-31"}]}, "sweeps.s.list[1]: as_of is not a parameter axis"),
        ({"as_of": ["2025-3-31"]}, "sweeps.s.as_of: '2025-3-31' is not a date in the form"),
        ({"as_of": ["../../x"]}, "sweeps.s.as_of: '../../x' is not a date"),
        ({"as_of": ["2025-06-30/../../x"]}, "sweeps.s.as_of: '2025-06-30/../../x' is not a date"),
        ({"as_of": []}, "sweeps.s.as_of: must be a non-empty list of dates"),
        (
            {"as_of": ["2025-03-31", "2025-03-31"]},
            "sweeps.s.as_of: 2025-03-31 listed more than once",
        ),
        ({"as_of": {"month_ends": {"from": "2025-01-31"}}}, "sweeps.s.as_of: must be a non-empty"),
        (
            {"as_of": {"month_ends": {"from": "2025-12-31", "to": "2025-01-31"}}},
            "sweeps.s.as_of.month_ends: to (2025-01-31) is before from (2025-12-31)",
        ),
        (
            {"as_of": {"month_ends": {"from": "January", "to": "2025-01-31"}}},
            "sweeps.s.as_of.month_ends.from: 'January' is not a date",
        ),
        ("grid", "sweeps.s: must be a mapping of"),
    ],
)
def test_bad_declarations_are_refused_saying_where(project, declaration, message):
    assert f"pipeline.yaml, {message}" in declaration_refusal(project({"s": declaration}))


def test_a_sweep_name_must_be_a_folder_name(project):
    layout = project({"../up": {"as_of": ["2025-03-31"]}})
    assert "pipeline.yaml, sweeps.../up: a sweep's name is a folder name" in declaration_refusal(
        layout
    )


def test_unknown_sweep_lists_the_known_ones(project):
    layout = project({"methods": {"as_of": [LAST_DAY]}, "month_ends": {"as_of": [LAST_DAY]}})
    with pytest.raises(
        InvalidParameterError, match=r'unknown sweep "nope"; .*: methods, month_ends'
    ):
        load_sweep(layout, "nope")
    with pytest.raises(InvalidParameterError, match='unknown sweep "x"; .* sweeps: none'):
        load_sweep(tiny_project(layout.root.parent / "none", {}), "x")


# --- every combination checked as -p checks a run ---------------------------------------------


def test_combinations_resolve_as_a_run_would(project):
    layout = project(
        {"s": {"grid": {"shares_lag_days": ["1"], "survey_base": ["sovereign_wealth_funds"]}}}
    )
    [(combination, as_of, parameters)] = resolved(layout, "s")
    assert combination.name == "shares_lag_days-1_survey_base-sovereign_wealth_funds"
    assert as_of == LAST_DAY  # the data's last date: the run's default
    assert parameters == {
        "clean": {
            "processed_dir": "data/processed",
            "as_of": LAST_DAY,
            "shares_lag_days": 1,  # converted to the notebook's type, as -p converts
        },
        "survey": {"processed_dir": "data/processed", "survey_base": "sovereign_wealth_funds"},
    }


def test_as_of_dates_reach_every_step_that_declares_as_of(project):
    layout = project(
        {"months": {"as_of": {"month_ends": {"from": "2025-01-31", "to": "2025-03-31"}}}}
    )
    runs = resolved(layout, "months")
    assert [as_of for _, as_of, _ in runs] == ["2025-01-31", "2025-02-28", "2025-03-31"]
    assert [p["clean"]["as_of"] for _, _, p in runs] == ["2025-01-31", "2025-02-28", "2025-03-31"]


@pytest.mark.parametrize(
    ("grid", "combination", "message"),
    [
        (
            {"nav_basis": ["today"], "navbasis": ["average"]},
            "nav_basis-today_navbasis-average",
            "unknown parameter(s) navbasis; valid names: as_of, large_flow_pct, nav_basis, "
            "processed_dir, shares_lag_days, survey_base",
        ),
        (
            {"shares_lag_days": [0, "one"]},
            "shares_lag_days-one",
            "parameter 'shares_lag_days': 'one' is not a int (the notebook's default is 0)",
        ),
        (
            {"large_flow_pct": [{"a": 1}]},
            "large_flow_pct-a-1",
            "parameter 'large_flow_pct': {'a': 1} is not a float",
        ),
        (
            {"processed_dir": ["data/processed", "../outside"]},
            "processed_dir-..-outside",
            "parameter 'processed_dir': '../outside' leads out of the project",
        ),
    ],
    ids=["unknown parameter", "ill-typed", "mapping for a number", "path outside the project"],
)
def test_a_bad_value_is_refused_naming_sweep_and_combination(project, grid, combination, message):
    layout = project({"methods": {"grid": grid}})
    assert refusal(layout, "methods").startswith(
        f'sweep "methods", combination {combination}: {message}'
    )


def test_an_as_of_before_the_data_is_refused_naming_the_combination(project):
    layout = project(
        {"early": {"grid": {"nav_basis": ["today"]}, "as_of": ["2025-03-31", "2024-12-31"]}}
    )
    message = refusal(layout, "early", AsOfBeforeDataError)
    assert message == (
        'sweep "early", combination nav_basis-today_as_of-2024-12-31: the as-of date 2024-12-31 '
        f"is before the first date in the fund data ({FIRST_DAY}); choose {FIRST_DAY} or later"
    )


def test_bad_data_for_one_combination_is_refused_naming_it(project):
    layout = project({"s": {"grid": {"nav_basis": ["today", "unreadable"]}}})
    message = refusal(layout, "s", InvalidDataError)
    assert (
        message == 'sweep "s", combination nav_basis-unreadable: data/raw/prices.csv: row 3: no NAV'
    )


# --- the sweep page ----------------------------------------------------------------------------


def test_sweep_page_is_read_without_its_notebook_existing(project):
    layout = project(
        {}, sweep_page={"notebook": "robust", "title": "Robust", "parameters": {"k": 1}}
    )
    page = load_sweep_page(layout)
    assert page.step_name == "robust" and page.title == "Robust" and page.parameters == {"k": 1}
    assert page.path == layout.notebooks_dir / "robust.ipynb" and not page.path.exists()
    assert load_sweep_page(tiny_project(layout.root.parent / "bare", {})) is None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"notebook": "../x"}, "sweep_page.notebook: '../x' is not a notebook's name"),
        ({"title": "t"}, "sweep_page.notebook: None is not a notebook's name"),
        ({"notebook": "clean"}, "sweep_page.notebook: clean is a step of the pipeline"),
        ({"notebook": "r", "cells": 1}, "sweep_page: unknown key(s) cells"),
    ],
)
def test_a_bad_sweep_page_is_refused(project, entry, message):
    with pytest.raises(InvalidParameterError) as refused:
        load_sweep_page(project({}, sweep_page=entry))
    assert f"pipeline.yaml, {message}" in str(refused.value)


def test_the_sweep_page_notebook_is_not_a_step_and_check_agrees(project):
    layout = project({"s": {"as_of": [LAST_DAY]}}, sweep_page={"notebook": "robust"})
    write_notebook(layout.notebooks_dir / "robust.ipynb", 'sweep_file = ""', "pass")
    assert [p.name for p in step_notebook_files(layout)] == ["clean.ipynb", "survey.ipynb"]
    assert check_pipeline(layout).problems == []


def test_check_reports_a_bad_sweep(project):
    layout = project({"s": {"grid": {"nav_basis": []}}})
    assert check_pipeline(layout).problems == [
        "pipeline.yaml, sweeps.s.grid.nav_basis: [] is not a non-empty list of values"
    ]


# --- the repository's own sweeps ---------------------------------------------------------------


def test_the_repository_declares_methods_and_month_ends():
    sweeps = load_sweeps(DEFAULT_LAYOUT)
    methods, month_ends = sweeps["methods"], sweeps["month_ends"]
    assert methods.axes == ("nav_basis", "shares_lag_days", "survey_base")
    assert len(methods.combinations) == 8
    assert methods.combinations[0].name == (
        "nav_basis-today_shares_lag_days-0_survey_base-all_respondents"
    )
    assert [c.as_of for c in month_ends.combinations][1] == "2025-02-28"
    assert len(month_ends.combinations) == 12
    page = load_sweep_page(DEFAULT_LAYOUT)
    assert page.step_name == "sweep_robustness"
    assert page.path == DEFAULT_LAYOUT.notebooks_dir / "sweep_robustness.ipynb"
