"""The pipeline as declared (notebook_pipeline.spec): order, parameters cells, parameter
resolution."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from helpers.errors import InvalidParameterError
from helpers.paths import DEFAULT_LAYOUT, ProjectLayout
from notebook_pipeline.spec import (
    NotebookStep,
    Pipeline,
    RunIndex,
    execution_order,
    load_pipeline,
    notebook_parameters,
    page_outline,
    pipeline_declaration,
    resolve_parameters,
    upstream_steps,
    validate_iso_date,
)


def step(name: str, inputs=(), outputs=(), path: Path | None = None, **parameters) -> NotebookStep:
    return NotebookStep(
        name=name,
        title=name.title(),
        path=path or Path(f"{name}.ipynb"),
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        parameters=parameters,
    )


def names(steps) -> list[str]:
    return [s.name for s in steps]


def write_notebook(path: Path, parameters_source: str | None, other_source: str = "y = 2") -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    notebook.cells.append(nbformat.v4.new_markdown_cell("# A notebook"))
    if parameters_source is not None:
        notebook.cells.append(
            nbformat.v4.new_code_cell(parameters_source, metadata={"tags": ["parameters"]})
        )
    notebook.cells.append(nbformat.v4.new_code_cell(other_source))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


# --- the real pipeline.yaml ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_pipeline() -> Pipeline:
    return load_pipeline(DEFAULT_LAYOUT)


def test_each_reader_of_pipeline_yaml_gets_its_own_copy_of_what_the_file_says(tmp_path):
    """pipeline.yaml is parsed once per text in a process: what one reader changes, the next
    does not see, and an edited file is read as it is now."""
    layout = ProjectLayout(tmp_path)
    layout.pipeline_file.write_text("notebooks:\n  first: {parameters: {n: 1}}\n")
    pipeline_declaration(layout)["notebooks"]["first"]["parameters"]["n"] = 2
    assert pipeline_declaration(layout) == {"notebooks": {"first": {"parameters": {"n": 1}}}}
    layout.pipeline_file.write_text("notebooks:\n  first: {parameters: {n: 3}}\n")
    assert pipeline_declaration(layout) == {"notebooks": {"first": {"parameters": {"n": 3}}}}


def test_real_pipeline_has_four_steps_in_order(real_pipeline):
    order = names(real_pipeline.steps)
    assert len(order) == 4
    assert order[0] == "01_clean_data"
    assert order[-1] == "04_summary"
    assert sorted(order[1:3]) == ["02_etf_flows", "03_sovereign_survey"]
    assert order == ["01_clean_data", "02_etf_flows", "03_sovereign_survey", "04_summary"]


def test_real_pipeline_steps_point_at_existing_notebooks(real_pipeline):
    for s in real_pipeline.steps:
        assert s.path == DEFAULT_LAYOUT.root / "notebooks" / f"{s.name}.ipynb"
        assert s.path.is_file()


CLEANING_PARAMETERS = {
    "nav_basis": "today",
    "shares_lag_days": 0,
    "large_flow_pct": 20.0,
    "stale_nav_days": 3,
    "date_format": "",
    "duplicate_dates": "refuse",
    "unknown_tickers": "refuse",
    "crosscheck_tolerance_pct": 5.0,
}


def test_real_pipeline_declarations(real_pipeline):
    assert real_pipeline.title == "China tech flows, 2025"
    assert real_pipeline.shared_parameters == {
        "raw_dir": "data/raw",
        "processed_dir": "data/processed",
        "as_of": "",
        "confidence": 0.95,
    }
    assert real_pipeline.publish == (
        "data/processed/headline.json",
        "data/processed/headline_chart.svg",
    )
    assert real_pipeline.step("01_clean_data").parameters == CLEANING_PARAMETERS
    assert real_pipeline.step("04_summary").parameters == {}
    assert upstream_steps(real_pipeline, real_pipeline.step("04_summary")) == [
        "01_clean_data",
        "02_etf_flows",
        "03_sovereign_survey",
    ]
    assert upstream_steps(real_pipeline, real_pipeline.step("01_clean_data")) == []


def test_real_parameters_with_as_of(real_pipeline):
    resolved = resolve_parameters(real_pipeline, {}, "2025-06-30")
    assert resolved == {
        "01_clean_data": {
            "raw_dir": "data/raw",
            "processed_dir": "data/processed",
            "as_of": "2025-06-30",
            **CLEANING_PARAMETERS,
        },
        "02_etf_flows": {
            "processed_dir": "data/processed",
            "as_of": "2025-06-30",
            "cohorts": {
                "technology": ["KWEB", "CQQQ"],
                "broad": ["MCHI"],
                "traditional": ["FXI", "ASHR"],
            },
            "tolerance_pct": 1.0,
            "event_window_days": 5,
            "performance_freq": "W-FRI",
            "confidence": 0.95,
        },
        "03_sovereign_survey": {
            "processed_dir": "data/processed",
            "survey_base": "all_respondents",
            "confidence": 0.95,
        },
        "04_summary": {"processed_dir": "data/processed"},
    }


def test_real_overrides_are_converted(real_pipeline):
    resolved = resolve_parameters(
        real_pipeline,
        {"tolerance_pct": "2", "shares_lag_days": "1", "survey_base": "sovereign_wealth_funds"},
        "2025-12-31",
    )
    assert resolved["02_etf_flows"]["tolerance_pct"] == 2.0
    assert isinstance(resolved["02_etf_flows"]["tolerance_pct"], float)
    assert resolved["01_clean_data"]["shares_lag_days"] == 1
    assert resolved["03_sovereign_survey"]["survey_base"] == "sovereign_wealth_funds"


def test_real_unknown_override_lists_the_valid_names(real_pipeline):
    with pytest.raises(InvalidParameterError) as caught:
        resolve_parameters(real_pipeline, {"tolerance": "2"}, "2025-12-31")
    assert str(caught.value) == (
        "unknown parameter(s) tolerance; valid names: as_of, cohorts, confidence, "
        "crosscheck_tolerance_pct, date_format, duplicate_dates, event_window_days, "
        "large_flow_pct, nav_basis, performance_freq, processed_dir, raw_dir, shares_lag_days, "
        "stale_nav_days, survey_base, tolerance_pct, unknown_tickers"
    )


# --- load_pipeline and execution_order on hand-made pipelines -----------------------------------


def test_load_pipeline_orders_by_inputs_not_by_listing(tmp_path):
    (tmp_path / "pipeline.yaml").write_text(
        """
title: Test
parameters: {raw_dir: raw}
notebooks:
  c_report:
    inputs: [out/b.json]
    outputs: [out/c.html]
  b_analyse:
    title: Analysis
    inputs: [out/a.parquet]
    outputs: [out/b.json]
    parameters: {level: 0.9}
  a_clean:
    inputs: [raw]
    outputs: [out/a.parquet]
publish: [out/c.html]
""",
        encoding="utf-8",
    )
    pipeline = load_pipeline(ProjectLayout(tmp_path))
    assert names(pipeline.steps) == ["a_clean", "b_analyse", "c_report"]
    assert pipeline.title == "Test"
    assert pipeline.shared_parameters == {"raw_dir": "raw"}
    assert pipeline.publish == ("out/c.html",)
    assert pipeline.step("b_analyse").title == "Analysis"
    assert pipeline.step("c_report").title == "c_report"
    assert pipeline.step("b_analyse").parameters == {"level": 0.9}
    assert pipeline.step("a_clean").path == tmp_path / "notebooks" / "a_clean.ipynb"
    assert pipeline.step("a_clean").inputs == ("raw",)


PAGES_PIPELINE = """
parameters: {raw_dir: raw, level: 0.9}
pages: {header_parameters: %s}
notebooks:
  b_report: {title: Report, inputs: [out/a.json], outputs: [out/b.json]}
  a_clean: {title: Cleaning, inputs: [raw], outputs: [out/a.json], parameters: {cut: 1}}
"""


def test_pages_declare_the_header_parameters_and_pages_link_in_reading_order(tmp_path):
    (tmp_path / "pipeline.yaml").write_text(PAGES_PIPELINE % "[level, cut]", encoding="utf-8")
    pipeline = load_pipeline(ProjectLayout(tmp_path))
    assert pipeline.header_parameters == ("level", "cut")
    first, last = (page_outline(pipeline, s) for s in pipeline.steps)
    assert first == {
        "header_parameters": ["level", "cut"],
        "previous": None,
        "next": {"name": "b_report", "title": "Report"},
    }
    assert last["previous"] == {"name": "a_clean", "title": "Cleaning"} and last["next"] is None


@pytest.mark.parametrize(
    ("declared", "error"),
    [("[level, nonsense]", "names nonsense, which no notebook"), ("level", "must be a list")],
)
def test_pages_refuse_a_header_parameter_no_notebook_declares(tmp_path, declared, error):
    (tmp_path / "pipeline.yaml").write_text(PAGES_PIPELINE % declared, encoding="utf-8")
    with pytest.raises(InvalidParameterError, match=error):
        load_pipeline(ProjectLayout(tmp_path))


def test_without_pages_every_parameter_is_shown(tmp_path):
    (tmp_path / "pipeline.yaml").write_text(
        PAGES_PIPELINE.replace("pages: {header_parameters: %s}\n", ""), encoding="utf-8"
    )
    pipeline = load_pipeline(ProjectLayout(tmp_path))
    assert page_outline(pipeline, pipeline.steps[0])["header_parameters"] is None


RUN_INDEX_PIPELINE = """
publish: [out/figures.json, out/chart.svg]
pages:
  run_index: %s
notebooks:
  a_report: {inputs: [raw], outputs: [out/figures.json, out/chart.svg]}
"""


def test_pages_declare_what_the_run_index_shows(tmp_path):
    declared = "{chart: out/chart.svg, chart_caption: Totals per group, files: [out/figures.json]}"
    (tmp_path / "pipeline.yaml").write_text(RUN_INDEX_PIPELINE % declared, encoding="utf-8")
    assert load_pipeline(ProjectLayout(tmp_path)).run_index == RunIndex(
        chart="out/chart.svg", chart_caption="Totals per group", files=("out/figures.json",)
    )


def test_without_a_declared_run_index_it_has_no_chart_and_lists_every_published_file(tmp_path):
    pipeline_file = tmp_path / "pipeline.yaml"
    pipeline_file.write_text(
        RUN_INDEX_PIPELINE.replace("pages:\n  run_index: %s\n", ""), encoding="utf-8"
    )
    assert load_pipeline(ProjectLayout(tmp_path)).run_index == RunIndex(
        files=("out/figures.json", "out/chart.svg")
    )


@pytest.mark.parametrize(
    ("declared", "error"),
    [
        ("{chart: out/other.svg, chart_caption: x}", "names out/other.svg, which `publish` does"),
        ("{files: [out/figures.json, raw/a.csv]}", "names raw/a.csv, which `publish` does not"),
        ("{chart: out/chart.svg}", "chart_caption must say what the chart out/chart.svg shows"),
        ("{chart: [out/chart.svg], chart_caption: x}", "chart must be one published file"),
        ("{files: out/figures.json}", "files must be a list of published files"),
        ("{graph: out/chart.svg}", "must be a mapping of chart, chart_caption and files"),
    ],
)
def test_pages_refuse_a_run_index_that_shows_what_the_run_does_not_publish(
    tmp_path, declared, error
):
    (tmp_path / "pipeline.yaml").write_text(RUN_INDEX_PIPELINE % declared, encoding="utf-8")
    with pytest.raises(InvalidParameterError, match=re.escape(error)):
        load_pipeline(ProjectLayout(tmp_path))


@pytest.mark.parametrize("listing", [["c", "b", "a"], ["b", "c", "a"], ["a", "b", "c"]])
def test_execution_order_follows_a_chain(listing):
    chain = {
        "a": step("a", inputs=["raw"], outputs=["a.out"]),
        "b": step("b", inputs=["a.out"], outputs=["b.out"]),
        "c": step("c", inputs=["b.out"], outputs=["c.out"]),
    }
    assert names(execution_order([chain[n] for n in listing])) == ["a", "b", "c"]


def test_execution_order_is_not_alphabetical_when_inputs_say_otherwise():
    steps = [
        step("a_last", inputs=["m.out"]),
        step("m_middle", inputs=["z.out"], outputs=["m.out"]),
        step("z_first", outputs=["z.out"]),
    ]
    assert names(execution_order(steps)) == ["z_first", "m_middle", "a_last"]


def test_execution_order_sorts_independent_steps_by_name():
    steps = [step("zeta"), step("mu"), step("alpha")]
    assert names(execution_order(steps)) == ["alpha", "mu", "zeta"]


def test_execution_order_of_a_diamond():
    steps = [
        step("4_sink", inputs=["left", "right"]),
        step("3_right", inputs=["root"], outputs=["right"]),
        step("2_left", inputs=["root"], outputs=["left"]),
        step("1_root", outputs=["root"]),
        step("0_alone"),
    ]
    assert names(execution_order(steps)) == ["0_alone", "1_root", "2_left", "3_right", "4_sink"]


def test_execution_order_with_a_late_independent_step():
    # "b" has no inputs and sorts after "a"; "a" waits for "c" and so runs after "b".
    steps = [step("a", inputs=["c.out"]), step("b"), step("c", outputs=["c.out"])]
    assert names(execution_order(steps)) == ["b", "c", "a"]


# --- notebook_parameters -------------------------------------------------------------------------


def test_notebook_parameters_reads_the_tagged_cell(tmp_path):
    path = write_notebook(
        tmp_path / "n.ipynb",
        "x = 1  # a number\n"
        'name = "abc"  # some text\n'
        "ratio = 0.5\n"
        'groups = {"a": ["X", "Y"]}  # a dict\n'
        "flag = True\n"
        "nothing = None\n",
        other_source="y = 2\nz = 'not a parameter'",
    )
    assert notebook_parameters(path) == {
        "x": 1,
        "name": "abc",
        "ratio": 0.5,
        "groups": {"a": ["X", "Y"]},
        "flag": True,
        "nothing": None,
    }


def test_notebook_without_parameters_cell(tmp_path):
    path = write_notebook(tmp_path / "n.ipynb", None, other_source="x = 1")
    assert notebook_parameters(path) == {}


# --- resolve_parameters on hand-made notebooks ---------------------------------------------------


@pytest.fixture
def pipeline(tmp_path) -> Pipeline:
    clean = write_notebook(
        tmp_path / "01_a.ipynb",
        'raw_dir = "raw"  # folder\nas_of = ""  # a date\nlag = 0  # days\n',
    )
    flows = write_notebook(
        tmp_path / "02_b.ipynb",
        'tolerance_pct = 1.0\ncohorts = {"tech": ["KWEB"]}\nlabel = "x"\n',
    )
    return Pipeline(
        title="Test",
        steps=(
            step("01_a", outputs=["a.out"], path=clean, lag=1),
            step("02_b", inputs=["a.out"], path=flows, label="from yaml"),
        ),
        shared_parameters={"raw_dir": "data/raw", "as_of": ""},
        publish=(),
    )


def test_resolve_layers_shared_step_and_as_of(pipeline):
    assert resolve_parameters(pipeline, {}, "2025-06-30") == {
        "01_a": {"raw_dir": "data/raw", "as_of": "2025-06-30", "lag": 1},
        "02_b": {"label": "from yaml"},
    }


def test_overrides_win_over_pipeline_yaml(pipeline):
    resolved = resolve_parameters(pipeline, {"lag": "3", "label": "cli"}, "2025-06-30")
    assert resolved["01_a"]["lag"] == 3
    assert resolved["02_b"]["label"] == "cli"


def test_unknown_override_is_refused_with_the_valid_names(pipeline):
    with pytest.raises(InvalidParameterError) as caught:
        resolve_parameters(pipeline, {"tolerance": "1", "zzz": "2"}, "2025-06-30")
    assert str(caught.value) == (
        "unknown parameter(s) tolerance, zzz; "
        "valid names: as_of, cohorts, label, lag, raw_dir, tolerance_pct"
    )


@pytest.mark.parametrize(
    ("name", "value", "wanted"),
    [
        ("tolerance_pct", "abc", "float"),
        ("tolerance_pct", "true", "float"),
        ("tolerance_pct", "[1, 2]", "float"),
        ("lag", "1.5", "int"),
        ("lag", "two", "int"),
        ("lag", "true", "int"),
        ("cohorts", "[KWEB, FXI]", "dict"),
        ("cohorts", "tech", "dict"),
        ("cohorts", "{tech: [KWEB]", "dict"),
    ],
)
def test_ill_typed_override_is_refused(pipeline, name, value, wanted):
    with pytest.raises(InvalidParameterError) as caught:
        resolve_parameters(pipeline, {name: value}, "2025-06-30")
    message = str(caught.value)
    assert message.startswith(f"parameter '{name}': ")
    assert f"is not a {wanted}" in message


def test_whole_number_for_a_float_default_becomes_a_float(pipeline):
    resolved = resolve_parameters(pipeline, {"tolerance_pct": "2"}, "2025-06-30")
    assert resolved["02_b"]["tolerance_pct"] == 2.0
    assert type(resolved["02_b"]["tolerance_pct"]) is float


def test_float_text_for_a_float_default(pipeline):
    resolved = resolve_parameters(pipeline, {"tolerance_pct": "0.25"}, "2025-06-30")
    assert resolved["02_b"]["tolerance_pct"] == 0.25


def test_yaml_mapping_of_lists_for_a_dict_default(pipeline):
    resolved = resolve_parameters(
        pipeline, {"cohorts": "{technology: [KWEB, CQQQ], traditional: [FXI]}"}, "2025-06-30"
    )
    assert resolved["02_b"]["cohorts"] == {"technology": ["KWEB", "CQQQ"], "traditional": ["FXI"]}


def test_text_default_keeps_text_as_given(pipeline):
    resolved = resolve_parameters(pipeline, {"label": "2025-01-01", "raw_dir": "007"}, "2025-06-30")
    assert resolved["02_b"]["label"] == "2025-01-01"
    assert resolved["01_a"]["raw_dir"] == "007"


def test_as_of_goes_only_to_notebooks_that_declare_it(pipeline):
    resolved = resolve_parameters(pipeline, {}, "2025-03-31")
    assert resolved["01_a"]["as_of"] == "2025-03-31"
    assert "as_of" not in resolved["02_b"]


def test_as_of_cannot_be_overridden_past_the_runner(pipeline):
    # The runner names the report folder after its own as_of (validated): a second as_of
    # passed as an override would be neither validated nor the one the folder is named after.
    with pytest.raises(InvalidParameterError) as caught:
        resolve_parameters(pipeline, {"as_of": "../../x"}, "2025-06-30")
    assert "as_of" in str(caught.value)


def test_pipeline_yaml_setting_an_undeclared_parameter_is_refused(pipeline, tmp_path):
    bad = Pipeline(
        title="Test",
        steps=(pipeline.steps[0], step("02_b", path=pipeline.steps[1].path, bogus=1, label="x")),
        shared_parameters={},
        publish=(),
    )
    with pytest.raises(InvalidParameterError) as caught:
        resolve_parameters(bad, {}, "2025-06-30")
    assert str(caught.value) == (
        "pipeline.yaml sets bogus for 02_b, whose parameters cell declares only "
        "cohorts, label, tolerance_pct"
    )


def test_shared_parameter_is_passed_only_where_declared(pipeline):
    resolved = resolve_parameters(pipeline, {"raw_dir": "elsewhere"}, "2025-06-30")
    assert resolved["01_a"]["raw_dir"] == "elsewhere"
    assert "raw_dir" not in resolved["02_b"]


# --- validate_iso_date ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["2025-06-30", "2024-02-29"])
def test_validate_iso_date_accepts_dates(value):
    assert validate_iso_date(value) == value


@pytest.mark.parametrize(
    "value", ["2025-13-01", "2025-02-30", "2025-02-29", "../../x", "", "30/06/2025", None]
)
def test_validate_iso_date_refuses_other_text(value):
    with pytest.raises(InvalidParameterError) as caught:
        validate_iso_date(value)
    assert str(caught.value) == (
        f"parameter 'as_of': {value!r} is not a date in the form YYYY-MM-DD"
    )


def test_validate_iso_date_names_the_parameter():
    with pytest.raises(InvalidParameterError, match="parameter 'start'"):
        validate_iso_date("soon", name="start")


def test_step_lineage_follows_inputs_through_their_writers(real_pipeline):
    from notebook_pipeline.spec import step_lineage

    def resting_on(path):
        return {s.name for s in real_pipeline.steps if path in step_lineage(real_pipeline, s)}

    assert resting_on("data/processed/daily_flows.parquet") == {
        "01_clean_data",  # writes it
        "02_etf_flows",  # reads it
        "04_summary",  # reads 02's summary, made from it
    }
    assert resting_on("data/processed/fund_flows.parquet") == {
        "01_clean_data",
        "02_etf_flows",
        "04_summary",
    }  # the pages whose headers say what each ETF's flows rest on
    assert resting_on("data/processed/survey_summary.json") == {
        "03_sovereign_survey",
        "04_summary",
    }
