"""The whole pipeline, run as a user runs it, into a temporary copy of the project (the shared
run, conftest.published_run: a process of its own); the tests that change a copy of it run
`chinaflows run` in this process (its output and exit code as a separate process's)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from own_data import KWEB_DAYS, kweb_year_to_date_flow
from project_runs import run_in_process

from helpers.ingest import load
from helpers.paths import RAW_FILES, copy_project_inputs
from notebook_pipeline.failures import ExitCode

pytestmark = pytest.mark.pipeline
PAGES = ["01_clean_data", "02_etf_flows", "03_sovereign_survey", "04_summary"]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def finished_run(published_run):
    return published_run


def test_run_prints_the_report_path(finished_run):
    project, result = finished_run
    printed = Path(result.stdout.strip().splitlines()[-1])
    assert printed == project / "reports" / "2025-12-31" / "index.html"
    assert printed.is_file()


def test_every_page_and_executed_notebook_is_published(finished_run):
    project, _ = finished_run
    report = project / "reports" / "2025-12-31"
    for page in PAGES:
        html = (report / f"{page}.html").read_text(encoding="utf-8")
        assert "<img" in html and "data:image/png;base64" in html, f"{page} has no chart"
        assert (report / f"{page}.ipynb").is_file()
    run_index = (report / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{page}.html"' in run_index for page in PAGES)
    site_index = (project / "reports" / "index.html").read_text(encoding="utf-8")
    assert 'href="2025-12-31/index.html"' in site_index
    # Only the site: no staging folder, kernel log or failed run
    assert {p.name for p in (project / "reports").iterdir()} <= {
        ".gitkeep",
        "2025-12-31",
        "index.html",
    }


def test_sample_mark_on_every_page(finished_run):
    project, _ = finished_run
    report = project / "reports" / "2025-12-31"
    for page in ["index", "01_clean_data", "02_etf_flows", "04_summary"]:
        assert "sample data (synthetic)" in (report / f"{page}.html").read_text(), page
    assert "sample data (synthetic)" in (project / "reports" / "index.html").read_text()


def test_headline_flows_reproduce_the_reported_figures(finished_run):
    project, _ = finished_run
    headline = json.loads((project / "reports" / "2025-12-31" / "headline.json").read_text())
    assert headline["as_of"] == "2025-12-31"
    assert headline["flows_source"] == "sample"
    reported = load.read_reported_flows(project / "data" / "raw" / RAW_FILES["reported_flows"])
    year_to_date = reported[reported["figure_id"].str.startswith("ytd_")]
    assert len(year_to_date) == 5
    for figure in year_to_date.itertuples():
        (ticker,) = figure.tickers
        computed = headline["flows"]["ytd_usd"][ticker]
        assert computed == pytest.approx(figure.amount_usd, rel=0.01), ticker
    cohorts = headline["flows"]["cohorts_usd"]
    ytd = headline["flows"]["ytd_usd"]
    assert cohorts["technology"] == pytest.approx(ytd["KWEB"] + ytd["CQQQ"])
    assert cohorts["traditional"] == pytest.approx(ytd["FXI"] + ytd["ASHR"])
    assert headline["flows"]["spread_usd"] == pytest.approx(
        cohorts["technology"] - cohorts["traditional"]
    )


def test_headline_survey_figures_for_the_stated_sample_sizes(finished_run):
    project, _ = finished_run
    survey = json.loads((project / "reports" / "2025-12-31" / "headline.json").read_text())[
        "survey"
    ]
    assert survey["n"] == {"2024": 136, "2025": 141}
    assert survey["share"] == {"2024": 0.44, "2025": 0.59}
    # 44% of 136 -> 60 respondents, 59% of 141 -> 83 (worked by hand)
    assert survey["count"] == {"2024": 60, "2025": 83}
    assert survey["diff_pp"] == pytest.approx(100 * (83 / 141 - 60 / 136))
    assert survey["z"] == pytest.approx(2.455, abs=1e-3)
    assert survey["p_value"] == pytest.approx(0.0141, abs=1e-4)
    low, high = survey["ci95_diff_pp"]
    assert low < survey["diff_pp"] < high
    assert survey["by_base"]["sovereign_wealth_funds"]["n"] == {"2024": 83, "2025": 83}


def test_run_json_records_each_notebook(finished_run):
    project, _ = finished_run
    record = json.loads((project / "reports" / "2025-12-31" / "run.json").read_text())
    assert [nb["name"] for nb in record["notebooks"]] == PAGES
    assert all(nb["status"] == "executed" and nb["seconds"] > 0 for nb in record["notebooks"])
    assert record["notebooks"][1]["parameters"]["cohorts"]["technology"] == ["KWEB", "CQQQ"]


def test_invalid_data_is_refused_and_the_published_report_kept(finished_run, tmp_path, capsys):
    project = copy_project_inputs(tmp_path / "project")
    shutil.copytree(finished_run[0] / "reports", project / "reports")
    before = snapshot(project / "reports")
    flows_file = project / "data" / "raw" / RAW_FILES["reported_flows"]
    lines = flows_file.read_text().splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("ytd_fxi,"))
    lines[row] = lines[row].replace("-2300000000", "lots")
    assert "lots" in lines[row]
    flows_file.write_text("\n".join(lines) + "\n")

    result = run_in_process(project, capsys=capsys)

    assert result.returncode == ExitCode.INVALID_DATA, result.stderr
    assert "reported_flows.csv" in result.stderr and f"line {row + 1}" in result.stderr
    assert "amount_usd" in result.stderr and "'lots'" in result.stderr
    after = {k: v for k, v in snapshot(project / "reports").items() if not k.startswith("_")}
    assert after == before


def test_unknown_parameter_is_refused_before_any_notebook_runs(tmp_path, capsys):
    project = copy_project_inputs(tmp_path / "project")
    result = run_in_process(project, "-p", "tolerance=2", capsys=capsys)
    assert result.returncode == ExitCode.USAGE
    assert "unknown parameter(s) tolerance" in result.stderr
    assert "tolerance_pct" in result.stderr
    assert "running" not in result.stderr
    assert not (project / "data" / "processed").exists()


def test_own_fund_history_replaces_the_sample(own_data_run):
    """A researcher's own files in data/raw/fund_history/ (own_data.py): the run uses them, says
    so in headline.json, and no page carries the sample mark."""
    project, result = own_data_run

    assert result.returncode == 0, result.stderr
    last_day = KWEB_DAYS[-1]
    report = project / "reports" / last_day.isoformat()
    headline = json.loads((report / "headline.json").read_text())
    assert headline["flows_source"] == "user"
    # KWEB's shares outstanding change each day from 5 January, each change valued at that NAV
    kweb = kweb_year_to_date_flow(last_day)
    assert headline["flows"]["ytd_usd"]["KWEB"] == pytest.approx(kweb)
    for page in [*PAGES, "index"]:
        text = (report / f"{page}.html").read_text(encoding="utf-8").lower()
        assert "sample data" not in text and "synthetic" not in text, page
    site_index = (project / "reports" / "index.html").read_text(encoding="utf-8").lower()
    assert "synthetic" not in site_index


def statuses(report: Path) -> dict[str, str]:
    record = json.loads((report / "run.json").read_text())
    return {nb["name"]: nb["status"] for nb in record["notebooks"]}


def test_rerun_with_nothing_changed_starts_no_kernel(finished_run, tmp_path, capsys):
    project = tmp_path / "project"
    shutil.copytree(finished_run[0], project)
    pages = {p: (project / "reports" / "2025-12-31" / f"{p}.html").read_bytes() for p in PAGES}

    result = run_in_process(project, capsys=capsys)

    assert result.returncode == 0, result.stderr
    report = project / "reports" / "2025-12-31"
    assert set(statuses(report).values()) == {"cached"}
    assert "running" not in result.stderr
    assert {p: (report / f"{p}.html").read_bytes() for p in PAGES} == pages


def test_changed_survey_data_reruns_only_what_reads_it(finished_run, tmp_path, capsys):
    project = tmp_path / "project"
    shutil.copytree(finished_run[0], project)
    figures = project / "data" / "raw" / RAW_FILES["survey_figures"]
    text = figures.read_text(encoding="utf-8")
    assert "show both bases" in text
    figures.write_text(text.replace("show both bases", "show both bases always"), "utf-8")

    result = run_in_process(project, capsys=capsys)

    assert result.returncode == 0, result.stderr
    assert statuses(project / "reports" / "2025-12-31") == {
        "01_clean_data": "executed",  # it reads all of data/raw
        "02_etf_flows": "cached",  # none of its inputs changed
        "03_sovereign_survey": "executed",
        "04_summary": "executed",
    }
