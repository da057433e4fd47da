"""headline.json and sources (helpers.analysis.summary), index pages (notebook_pipeline.site) with
the study's headline fragments (helpers.present.headline), atomic writes (helpers.storage), on
hand-made inputs."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import markupsafe
import pandas as pd
import pytest

from helpers import storage
from helpers.analysis.summary import build_headline, sources_table
from helpers.present import show
from helpers.present.headline import headline_html
from notebook_pipeline import site as report
from notebook_pipeline.spec import RunIndex

SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
SAMPLE_MARK = "sample data (synthetic)"
HEADLINE_FILE = "headline.json"


# --- build_headline ------------------------------------------------------------------------------


def comparison(before, after, n_before, n_after, count_before, count_after, **stats) -> dict:
    """A ShareComparison.to_dict() record, with the fields the headline does not use too."""
    return {
        "n_before": n_before,
        "n_after": n_after,
        "share_before_pct": before,
        "share_after_pct": after,
        "count_before": count_before,
        "count_after": count_after,
        "p_before": count_before / n_before,
        "p_after": count_after / n_after,
        "ci95_before": [30.0, 50.0],
        "ci95_after": [50.0, 70.0],
        "significant": True,
        "min_detectable_diff_pp": 16.7,
        **stats,
    }


FLOWS_SUMMARY = {
    "period": {"start": "2025-01-01", "end": "2025-06-30"},
    "flows_source": "sample",
    "ytd_usd": {"KWEB": 1.5e9, "CQQQ": 0.5e9, "FXI": -2.0e9},
    "cohorts_usd": {"technology": 2.0e9, "traditional": -2.0e9},
    "spread_usd": 4.0e9,
    "missing": ["ASHR"],
    "sources": {"KWEB": {"source": "SEC Form N-PORT", "resolution": "monthly", "parts": []}},
    "cohorts": {"technology": ["KWEB", "CQQQ"], "traditional": ["FXI", "ASHR"]},
    "reconciliation": [{"figure_id": "x", "holds": True}],
}
SURVEY_SUMMARY = {
    "base": "all_respondents",
    "confidence": 0.95,
    "by_base": {
        "all_respondents": comparison(
            44.0,
            59.0,
            136,
            141,
            60,
            83,
            diff_pp=14.75,
            ci95_diff_pp=[2.98, 25.96],
            z=2.46,
            p_value=0.014,
            cohens_h=0.296,
        ),
        "sovereign_wealth_funds": comparison(
            44.0,
            59.0,
            83,
            83,
            37,
            49,
            diff_pp=14.46,
            ci95_diff_pp=[-0.71, 28.72],
            z=1.86,
            p_value=0.062,
            cohens_h=0.290,
        ),
    },
}
ALL_RESPONDENTS_BLOCK = {
    "share": {"2024": 0.44, "2025": 0.59},
    "n": {"2024": 136, "2025": 141},
    "count": {"2024": 60, "2025": 83},
    "diff_pp": 14.75,
    "z": 2.46,
    "p_value": 0.014,
    "ci95_diff_pp": [2.98, 25.96],
    "cohens_h": 0.296,
}
SWF_BLOCK = {
    "share": {"2024": 0.44, "2025": 0.59},
    "n": {"2024": 83, "2025": 83},
    "count": {"2024": 37, "2025": 49},
    "diff_pp": 14.46,
    "z": 1.86,
    "p_value": 0.062,
    "ci95_diff_pp": [-0.71, 28.72],
    "cohens_h": 0.290,
}


def test_headline_has_the_documented_keys_and_values():
    headline = build_headline(FLOWS_SUMMARY, SURVEY_SUMMARY)
    assert headline == {
        "as_of": "2025-06-30",
        "flows_source": "sample",
        "flows": {
            "period": {"start": "2025-01-01", "end": "2025-06-30"},
            "ytd_usd": {"KWEB": 1.5e9, "CQQQ": 0.5e9, "FXI": -2.0e9},
            "cohorts_usd": {"technology": 2.0e9, "traditional": -2.0e9},
            "spread_usd": 4.0e9,
            "missing": ["ASHR"],
            "sources": {
                "KWEB": {"source": "SEC Form N-PORT", "resolution": "monthly", "parts": []}
            },
        },
        "survey": {
            "base": "all_respondents",
            **ALL_RESPONDENTS_BLOCK,
            "by_base": {
                "all_respondents": ALL_RESPONDENTS_BLOCK,
                "sovereign_wealth_funds": SWF_BLOCK,
            },
        },
    }


def test_headline_key_paths_named_in_the_readme():
    headline = json.loads(json.dumps(build_headline(FLOWS_SUMMARY, SURVEY_SUMMARY)))
    assert headline["as_of"] == "2025-06-30"
    assert headline["flows_source"] == "sample"
    assert headline["flows"]["ytd_usd"]["KWEB"] == 1.5e9
    assert headline["flows"]["cohorts_usd"]["technology"] == 2.0e9
    assert headline["flows"]["spread_usd"] == 4.0e9
    assert headline["flows"]["missing"] == ["ASHR"]
    assert headline["flows"]["sources"]["KWEB"]["source"] == "SEC Form N-PORT"
    assert headline["flows"]["sources"]["KWEB"]["resolution"] == "monthly"
    survey = headline["survey"]
    assert set(survey["share"]) == {"2024", "2025"}
    assert survey["share"]["2024"] == pytest.approx(0.44)
    assert survey["share"]["2025"] == pytest.approx(0.59)
    assert survey["n"] == {"2024": 136, "2025": 141}
    assert survey["diff_pp"] == 14.75
    assert survey["z"] == 2.46
    assert survey["p_value"] == 0.014
    assert len(survey["ci95_diff_pp"]) == 2
    assert all(isinstance(v, float) for v in survey["ci95_diff_pp"])
    assert survey["cohens_h"] == 0.296
    assert set(survey["by_base"]) == {"all_respondents", "sovereign_wealth_funds"}


def test_headline_survey_figures_follow_the_chosen_base():
    survey = {**SURVEY_SUMMARY, "base": "sovereign_wealth_funds"}
    headline = build_headline({**FLOWS_SUMMARY, "flows_source": "user"}, survey)
    assert headline["flows_source"] == "user"
    assert headline["survey"]["base"] == "sovereign_wealth_funds"
    assert headline["survey"]["n"] == {"2024": 83, "2025": 83}
    assert headline["survey"]["p_value"] == 0.062
    assert headline["survey"]["ci95_diff_pp"] == [-0.71, 28.72]
    assert headline["survey"]["by_base"]["all_respondents"]["n"] == {"2024": 136, "2025": 141}


# --- sources_table -------------------------------------------------------------------------------


def test_sources_table_groups_rows_by_source():
    day = pd.Timestamp
    events = pd.DataFrame(
        {
            "source_publisher": ["Paper", "Paper", "Site"],
            "source_date": [day("2025-03-01"), day("2025-01-15"), pd.NaT],
            "source_url": ["https://paper.example/a", "https://paper.example/a", None],
            "source_kind": ["news", "news", "aggregator"],
            "event": ["e1", "e2", "e3"],
        }
    )
    universe = pd.DataFrame(
        {
            "source_publisher": ["Paper", "Issuer", "Paper"],
            "source_date": [pd.NaT, day("2025-02-01"), day("2025-05-05")],
            "source_url": ["https://paper.example/a", "https://issuer.example", "https://b"],
            "source_kind": ["news", "primary", "news"],
        }
    )
    table = sources_table({"events": events, "etf_universe": universe})
    assert list(table.columns) == [
        "source_publisher",
        "source_url",
        "source_kind",
        "first_date",
        "tables",
        "rows",
    ]
    # Sorted by kind, then publisher (the two "Paper" sources may come in either order).
    assert list(zip(table["source_kind"], table["source_publisher"], strict=True)) == [
        ("aggregator", "Site"),
        ("news", "Paper"),
        ("news", "Paper"),
        ("primary", "Issuer"),
    ]
    by_source = {
        (row.source_publisher, row.source_url): (
            row.source_kind,
            row.first_date,
            row.tables,
            row.rows,
        )
        for row in table.itertuples()
    }
    assert set(by_source) == {
        ("Site", "address not recorded"),
        ("Paper", "https://paper.example/a"),
        ("Paper", "https://b"),
        ("Issuer", "https://issuer.example"),
    }
    assert by_source[("Paper", "https://paper.example/a")] == (
        "news",
        day("2025-01-15"),
        "etf_universe, events",
        3,
    )
    assert by_source[("Paper", "https://b")] == ("news", day("2025-05-05"), "etf_universe", 1)
    assert by_source[("Issuer", "https://issuer.example")] == (
        "primary",
        day("2025-02-01"),
        "etf_universe",
        1,
    )
    kind, first_date, tables, rows = by_source[("Site", "address not recorded")]
    assert (kind, tables, rows) == ("aggregator", "events", 1)
    assert pd.isna(first_date)


def test_the_sources_table_on_a_page_links_each_known_address():
    cited = pd.DataFrame(
        {
            "source_publisher": ["Paper", "Wire"],
            "source_date": [pd.NaT, pd.NaT],
            "source_url": ["https://paper.example/a", None],
            "source_kind": ["news", "news"],
        }
    )
    page = show.table(sources_table({"events": cited}), "Sources").to_html()
    assert re.findall(r'<a href="([^"]*)"', page) == ["https://paper.example/a"]
    assert ">address not recorded</td>" in page


# --- index pages ---------------------------------------------------------------------------------


def headline(source: str, technology: float, traditional: float, diff_pp: float, p: float):
    return {
        "as_of": "x",
        "flows_source": source,
        "flows": {
            "period": {"start": "2025-01-01", "end": "2025-06-30"},
            "ytd_usd": {"KWEB": technology},
            "cohorts_usd": {"technology": technology, "traditional": traditional},
            "spread_usd": technology - traditional,
        },
        "survey": {
            "share": {"2024": 0.44, "2025": 0.59},
            "n": {"2024": 136, "2025": 141},
            "diff_pp": diff_pp,
            "ci95_diff_pp": [2.98, 25.96],
            "p_value": p,
        },
    }


def run_record(as_of: str, title: str = "China tech flows", status: str = "succeeded") -> dict:
    return {
        "title": title,
        "as_of": as_of,
        "status": status,
        "started": "2026-01-01T00:00:00+00:00",
        "finished": "2026-01-01T00:01:00+00:00",
        "notebooks": [
            {
                "name": "01_clean_data",
                "title": "Data cleaning",
                "status": "executed",
                "seconds": 1.26,
            }
        ],
    }


def publish(reports: Path, folder: str, run: dict, head: dict | None) -> None:
    (reports / folder).mkdir(parents=True)
    (reports / folder / "run.json").write_text(json.dumps(run), encoding="utf-8")
    if head is not None:
        (reports / folder / "headline.json").write_text(json.dumps(head), encoding="utf-8")


@pytest.fixture
def reports(tmp_path) -> Path:
    reports = tmp_path / "reports"
    # Written oldest first, so a listing in creation order would be the wrong way round.
    publish(reports, "2025-03-31", run_record("2025-03-31"), headline("user", 1e9, -1e9, 1.0, 0.5))
    publish(
        reports, "2025-06-30", run_record("2025-06-30"), headline("sample", 2e9, -3e9, 14.7, 0.014)
    )
    publish(reports, ".staging-2026-01-01-abcd", run_record("2026-01-01"), None)
    publish(reports, "_failed", run_record("2026-02-02"), None)
    return reports


def site_index(reports: Path, title: str) -> str:
    """The site index as a run writes it, with the study's headline columns."""
    page = report.render_site_index(reports, title, HEADLINE_FILE, headline_html)
    return page.read_text(encoding="utf-8")


def test_site_index_lists_newest_first_and_skips_hidden_folders(reports):
    page = report.render_site_index(reports, "All runs", HEADLINE_FILE, headline_html).read_text(
        encoding="utf-8"
    )
    newer = page.index('href="2025-06-30/index.html"')
    older = page.index('href="2025-03-31/index.html"')
    assert newer < older
    assert "2026-01-01" not in page
    assert "2026-02-02" not in page
    assert ".staging" not in page
    assert "_failed" not in page


def test_site_index_shows_the_headline_figures(reports):
    page = report.render_site_index(reports, "All runs", HEADLINE_FILE, headline_html).read_text(
        encoding="utf-8"
    )
    assert "<h1>All runs</h1>" in page
    assert "+2.00 bn" in page
    assert "\u22123.00 bn" in page  # a true minus sign
    assert "+14.7 pp (p = 0.014)" in page
    assert "+1.00 bn" in page
    assert page.count(SAMPLE_MARK) == 1
    assert page.count("your data") == 1


def test_read_published_runs(reports):
    runs = report.read_published_runs(reports, HEADLINE_FILE)
    assert [r["folder"] for r in runs] == ["2025-06-30", "2025-03-31"]
    assert runs[0]["headline"]["flows_source"] == "sample"


def test_site_index_lists_a_run_without_headline(tmp_path):
    reports = tmp_path / "reports"
    publish(reports, "2025-06-30", run_record("2025-06-30", status="succeeded"), None)
    page = report.render_site_index(reports, "All runs", HEADLINE_FILE, headline_html).read_text(
        encoding="utf-8"
    )
    assert 'href="2025-06-30/index.html"' in page
    assert SAMPLE_MARK not in page


def test_site_index_escapes_text_from_data(tmp_path):
    reports = tmp_path / "reports"
    head = headline("sample", 1e9, -1e9, 1.0, 0.5)
    publish(reports, "2025-06-30", run_record("2025-06-30", title=SCRIPT, status=SCRIPT), head)
    page = report.render_site_index(
        reports, f"Runs {SCRIPT}", HEADLINE_FILE, headline_html
    ).read_text(encoding="utf-8")
    assert SCRIPT not in page
    assert "<script" not in page
    assert page.count(ESCAPED_SCRIPT) >= 3  # the site title (twice) and the run's status


CHART = "data/processed/headline_chart.svg"
CHART_CAPTION = "Net flow of each cohort over the run's period, in US$ bn"
WITHOUT_CHART = RunIndex(files=(f"data/processed/{HEADLINE_FILE}",))


def render_run_index(
    folder: Path, run: dict, headline: dict, declared: RunIndex = WITHOUT_CHART
) -> Path:
    """The run index as a run writes it, with the study's headline fragments and what
    pipeline.yaml declares of it (pages.run_index: here no chart, headline.json listed)."""
    return report.render_run_index(folder, run, headline_html(headline), declared)


def test_run_index_escapes_text_from_data(tmp_path):
    run = run_record("2025-06-30", title=SCRIPT)
    run["notebooks"][0]["title"] = SCRIPT
    head = headline("sample", 1e9, -1e9, 1.0, 0.5)
    head["flows"]["ytd_usd"] = {SCRIPT: 1e9}
    declared = RunIndex(chart=CHART, chart_caption=SCRIPT, files=(CHART,))
    page = render_run_index(tmp_path, run, head, declared).read_text(encoding="utf-8")
    assert SCRIPT not in page
    assert "<script" not in page
    # <title>, <h1>, the page link, the ticker, the chart's alt text and caption
    assert page.count(ESCAPED_SCRIPT) >= 6


def test_run_index_opens_with_the_chart_pipeline_yaml_declares(tmp_path):
    declared = RunIndex(chart=CHART, chart_caption=CHART_CAPTION, files=(CHART,))
    head = headline("sample", 2e9, -3e9, 14.7, 0.014)
    page = render_run_index(tmp_path, run_record("2025-06-30"), head, declared).read_text("utf-8")
    chart = f'<img src="headline_chart.svg" alt="{markupsafe.escape(CHART_CAPTION)}">'
    assert chart in page
    assert page.index(chart) < page.index("Headline figures") < page.index("Pages</h2>")
    assert 'Machine-readable: <a href="headline_chart.svg">' in page


def test_run_index_without_a_declared_chart_shows_none(tmp_path):
    head = headline("sample", 2e9, -3e9, 14.7, 0.014)
    page = render_run_index(tmp_path, run_record("2025-06-30"), head).read_text("utf-8")
    assert "<img" not in page and "<figure" not in page
    assert 'Machine-readable: <a href="headline.json">headline.json</a>' in page


def test_run_index_marks_sample_data(tmp_path):
    head = headline("sample", 2e9, -3e9, 14.7, 0.014)
    page = render_run_index(tmp_path, run_record("2025-06-30"), head).read_text("utf-8")
    assert tmp_path.joinpath("index.html").is_file()
    assert SAMPLE_MARK in page
    assert "the shipped sample" in page
    assert '<a href="01_clean_data.html">Data cleaning</a>' in page
    assert "(01_clean_data.ipynb, 1.3 s)" in page
    assert "Run finished 2026-01-01 00:01 UTC." in page
    assert 'data-key="flows.cohorts_usd.technology">+2.00<' in page
    assert 'data-key="survey.diff_pp">+14.7 [3.0, 26.0]<' in page


def test_run_index_without_sample_mark_for_user_data(tmp_path):
    head = headline("user", 2e9, -3e9, 14.7, 0.014)
    page = render_run_index(tmp_path, run_record("2025-06-30"), head).read_text("utf-8")
    assert SAMPLE_MARK not in page
    assert "your own data" in page
    assert "the shipped sample" not in page


def test_run_index_without_headline(tmp_path):
    page = render_run_index(tmp_path, run_record("2025-06-30"), {}).read_text("utf-8")
    assert SAMPLE_MARK not in page
    assert "Headline figures" not in page
    assert '<a href="01_clean_data.html">Data cleaning</a>' in page


# --- atomic writes -------------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def strict_umask():
    """A private umask, so that a 0o644 file shows the writer set the mode itself."""
    previous = os.umask(0o077)
    yield
    os.umask(previous)


def test_write_json_is_readable_complete_and_shared(tmp_path, strict_umask):
    target = tmp_path / "out" / "headline.json"
    content = {
        "as_of": "2025-06-30",
        "publisher": "CLS (财联社)",
        "when": pd.Timestamp("2025-06-30"),
    }
    assert storage.write_json(content, target) == target
    assert os.listdir(target.parent) == ["headline.json"]
    assert mode(target) == 0o644
    text = target.read_text(encoding="utf-8")
    assert "财联社" in text
    assert json.loads(text) == {
        "as_of": "2025-06-30",
        "publisher": "CLS (财联社)",
        "when": "2025-06-30 00:00:00",
    }
    assert storage.read_json(target)["publisher"] == "CLS (财联社)"


def test_write_table_is_readable_complete_and_shared(tmp_path, strict_umask):
    table = pd.DataFrame({"ticker": ["KWEB", "FXI"], "flow_usd": [1.5e9, -2.0e9]})
    target = tmp_path / "daily_flows.parquet"
    assert storage.write_table(table, target) == target
    assert os.listdir(tmp_path) == ["daily_flows.parquet"]
    assert mode(target) == 0o644
    back = storage.read_table(target)
    assert back["ticker"].tolist() == ["KWEB", "FXI"]
    assert back["flow_usd"].tolist() == [1.5e9, -2.0e9]


def test_failed_table_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "daily_flows.parquet"
    storage.write_table(pd.DataFrame({"x": [1, 2]}), target)
    before = target.read_bytes()
    with pytest.raises(Exception):  # noqa: B017 - whatever pyarrow raises for an unwritable column
        storage.write_table(pd.DataFrame({"x": [object(), object()]}), target)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["daily_flows.parquet"]


def test_failed_rename_keeps_the_old_json(tmp_path, monkeypatch):
    target = tmp_path / "headline.json"
    target.write_text('{"old": true}\n', encoding="utf-8")
    before = target.read_bytes()

    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        storage.write_json({"new": True}, target)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["headline.json"]


def test_interrupted_json_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "headline.json"
    target.write_text('{"old": true}\n', encoding="utf-8")
    before = target.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", interrupted)
    with pytest.raises(KeyboardInterrupt):
        storage.write_json({"new": True}, target)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["headline.json"]
