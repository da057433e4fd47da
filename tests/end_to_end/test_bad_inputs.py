"""The corpus of messy and bad fund files (bad_inputs/cases.yaml), each on its own copy of a
project that has already published a report from your own data (conftest.own_data_run: the
whole pipeline, run as a user runs it, on the plain file that every messy one reads as).

A bad case runs `chinaflows run` in this process, what it printed and its exit code checked as
a separate process's: it must be refused before any notebook starts, so it runs with every
kernel refused. What is valid is decided by the cleaning: a messy but valid case goes through
the run's pre-flight (its parameters, as-of date and check of data/raw, as `chinaflows run`
does before any kernel) and then, in this process, through the calls that the cleaning notebook
and the flows notebook make, with the parameters the run passes them; no kernel to start.

Messy but valid files must give KWEB's year-to-date flow as computed here from its NAVs and
shares; bad ones must be refused with the documented exit code and one message naming the file,
the row or column and the problem, leaving data/processed and reports byte-identical. Each case
is a row of docs/reliability.md (`make reliability`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import json
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
import yaml
from diamond_project import refuse_kernels
from own_data import (
    CORPUS_FILES,
    KWEB_DAYS,
    KWEB_FILE,
    KWEB_NAVS,
    KWEB_SHARES,
    OWN_FILES,
    PROJECT_NAME,
    kweb_year_to_date_flow,
)
from project_runs import run_in_process
from reliability import TABLE_ENV
from source_files import ishares_workbook, sec_throttle_page, xtrackers_xlsx

from helpers.analysis import flow_records, flows
from helpers.ingest import cleaning
from helpers.ingest.fund_files import MAX_FILE_BYTES
from helpers.paths import ProjectLayout
from notebook_pipeline import preflight
from notebook_pipeline.cli import build_parser

RELIABILITY_AREA = "bad input"
CORPUS = Path(__file__).parent / "bad_inputs"
CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
RELIABILITY_TABLE = Path(__file__).parents[2] / "docs" / "reliability.md"
CLEANING_STEP, FLOWS_STEP = "01_clean_data", "02_etf_flows"
KWEB_ROWS = list(zip(KWEB_DAYS, KWEB_NAVS, KWEB_SHARES, strict=True))


# --- binary case files, made here rather than stored ------------------------------------------


def xlsx_with_blank_trailing_rows(path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Date", "NAV", "Shares Outstanding"])
    for day, nav, shares in zip(KWEB_DAYS, KWEB_NAVS, KWEB_SHARES, strict=True):
        sheet.append([dt.datetime.combine(day, dt.time()), nav, shares])
    for row in range(sheet.max_row + 1, sheet.max_row + 6):
        sheet.cell(row, 1).number_format = "yyyy-mm-dd"  # formatted, never filled
        sheet.cell(row, 3, "" if row % 2 else None)
    book.save(path)


def truncated_xlsx(path: Path) -> None:
    xlsx_with_blank_trailing_rows(path)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    assert not zipfile.is_zipfile(path)


def excel_97_workbook(path: Path) -> None:
    """The OLE2 compound-file signature that starts every .xls of Excel 97-2003."""
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))


def ishares_workbook_as_it_arrives(path: Path) -> None:
    path.write_bytes(ishares_workbook(KWEB_ROWS))


def xtrackers_export(path: Path) -> None:
    path.write_bytes(xtrackers_xlsx("KWEB", KWEB_ROWS))


def sec_throttle_page_saved(path: Path) -> None:
    path.write_bytes(sec_throttle_page())


def zip_bomb_xlsx(path: Path) -> None:
    """A workbook's skeleton whose sheet is 8 MiB of zeros: deflate packs it about 1,000:1."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", bytes(8 << 20))


def file_over_the_size_limit(path: Path) -> None:
    """A sparse file: its size is over the limit, its blocks are not written."""
    path.write_text("Date,NAV,Shares Outstanding\n2026-01-02,30.10,1000000\n", encoding="utf-8")
    with path.open("r+b") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)


BUILDERS: dict[str, Callable[[Path], None]] = {
    builder.__name__: builder
    for builder in (
        xlsx_with_blank_trailing_rows,
        truncated_xlsx,
        excel_97_workbook,
        ishares_workbook_as_it_arrives,
        xtrackers_export,
        sec_throttle_page_saved,
        zip_bomb_xlsx,
        file_over_the_size_limit,
    )
}


def place_files(project: Path, files: dict[str, str]) -> None:
    for destination, source in files.items():
        target = project / "data" / "raw" / destination
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.startswith("built: "):
            BUILDERS[source.removeprefix("built: ")](target)
        else:
            shutil.copyfile(CORPUS_FILES / source, target)


def published_digests(project: Path) -> dict[str, str]:
    """SHA-256 of every file in data/processed and reports."""
    layout = ProjectLayout(project)
    return {
        str(path.relative_to(project)): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in (layout.processed_dir, layout.reports_dir)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def headline(project: Path, as_of: str) -> dict:
    return json.loads((project / "reports" / as_of / "headline.json").read_text())


@pytest.fixture(scope="module")
def baseline(own_data_run) -> Path:
    """A project that has published a report from your own data: the four other core ETFs and
    KWEB's plain file (own_data.py; one run for the whole test run). Each case copies it (its
    cache too, so that a case whose data read the same as the plain file re-executes only the
    cleaning notebook)."""
    project, _ = own_data_run
    last_day = KWEB_DAYS[-1]
    kweb = headline(project, last_day.isoformat())["flows"]["ytd_usd"]["KWEB"]
    assert kweb == pytest.approx(kweb_year_to_date_flow(last_day))
    return project


def refused(case: dict) -> bool:
    """Whether the case must be refused (before any notebook starts)."""
    return case["expect"] != "ok"


@dataclass
class CaseRun:
    project: Path
    before: dict[str, str]  # published_digests just before the run
    result: subprocess.CompletedProcess


def case_project(case: dict, baseline: Path, folder: Path) -> tuple[Path, dict[str, str]]:
    """The case's files in a copy of the baseline (KWEB's plain file taken away); with the
    published_digests before any run."""
    project = folder / PROJECT_NAME
    shutil.copytree(baseline, project, symlinks=True)
    (project / KWEB_FILE).unlink()
    place_files(project, case["files"])
    return project, published_digests(project)


@pytest.fixture
def case_run(baseline, tmp_path_factory, capsys, monkeypatch):
    """Runs the test's case, which must be refused: `chinaflows run` in this process on the
    case's copy of the baseline, failing the test if a notebook would be executed; returns the
    CaseRun."""

    def run_the_case(case: dict) -> CaseRun:
        project, before = case_project(case, baseline, tmp_path_factory.mktemp(case["name"]))
        refuse_kernels(monkeypatch)
        result = run_in_process(project, *case.get("args", []), capsys=capsys)
        return CaseRun(project, before, result)

    return run_the_case


def accepted_in_process(project: Path, args: list[str]) -> tuple[str, float]:
    """What `chinaflows run ARGS` makes of the data of `project`, without a kernel: the run's
    pre-flight (preflight.resolve_run), then the cleaning notebook's call (cleaning.clean_inputs)
    and the flows notebook's year-to-date figures (flows.year_to_date,
    flow_records.period_summary) with each notebook's parameters of that run. Returns the run's
    as-of date and KWEB's year-to-date flow, the figure headline.json publishes."""
    options = build_parser("chinaflows", "", {}).parse_args(["run", *args])
    _, as_of, parameters = preflight.resolve_run(
        ProjectLayout(project), options.as_of, dict(options.parameter)
    )
    cleaning_parameters = parameters[CLEANING_STEP]
    keywords = inspect.signature(cleaning.clean_inputs).parameters
    cleaned = cleaning.clean_inputs(
        project / cleaning_parameters["raw_dir"],
        **{k: v for k, v in cleaning_parameters.items() if k in keywords and k != "raw_dir"},
    )
    canonical = cleaned.tables["fund_flows"]
    flows_parameters = parameters[FLOWS_STEP]
    period = flows.year_to_date(canonical, flows_parameters["as_of"])
    summary = flow_records.period_summary(canonical, flows_parameters["cohorts"], *period)
    return as_of, summary["ytd_usd"]["KWEB"]


def test_the_manifest_is_well_formed():
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    used = set(OWN_FILES.values())  # the baseline's
    for case in CASES:
        assert set(case) <= {"name", "tried", "files", "args", "expect"}, case["name"]
        for source in case["files"].values():
            if source.startswith("built: "):
                assert source.removeprefix("built: ") in BUILDERS, case["name"]
            else:
                assert (CORPUS_FILES / source).is_file(), (case["name"], source)
                used.add(source)
        expect = case["expect"]
        assert expect == "ok" or set(expect["refused"]) == {"exit", "says"}, case["name"]
    unused = {path.name for path in (CORPUS_FILES).iterdir()} - used
    assert not unused, f"files no case uses: {sorted(unused)}"


ACCEPTED = [case for case in CASES if not refused(case)]
REFUSED = [case for case in CASES if refused(case)]


@pytest.mark.parametrize("case", ACCEPTED, ids=[case["name"] for case in ACCEPTED])
def test_accepted_case(case, baseline, tmp_path, reliability):
    project, _ = case_project(case, baseline, tmp_path)
    args = case.get("args", [])
    stated = args[args.index("--as-of") + 1] if "--as-of" in args else KWEB_DAYS[-1].isoformat()
    as_of, kweb = accepted_in_process(project, args)
    expected = kweb_year_to_date_flow(dt.date.fromisoformat(stated))
    reliability.record(
        case["name"],
        case["tried"],
        f"accepted: the run's as-of date {as_of}; KWEB's year-to-date flow ${kweb:,.0f}"
        f" (computed by hand: ${expected:,.0f})",
    )
    assert as_of == stated
    assert kweb == pytest.approx(expected)


@pytest.mark.parametrize("case", REFUSED, ids=[case["name"] for case in REFUSED])
def test_refused_case(case, case_run, reliability):
    done = case_run(case)
    project, result = done.project, done.result
    reliability.record_run(case["name"], case["tried"], result)
    refused = case["expect"]["refused"]
    assert result.returncode == refused["exit"], result.stderr
    missing = [text for text in refused["says"] if text not in result.stderr]
    assert not missing, f"the message lacks {missing}:\n{result.stderr}"
    assert result.stderr.count("chinaflows:") == 1 and "Traceback" not in result.stderr
    assert "running" not in result.stderr, "refused only after a notebook started"
    assert published_digests(project) == done.before


def test_the_reliability_table_lists_every_case_as_passed():
    """docs/reliability.md is generated by `make reliability`; it must not fall behind."""
    if not RELIABILITY_TABLE.is_file():
        pytest.fail(f"{RELIABILITY_TABLE} is missing: run `make reliability`")
    rows = [
        [cell.strip() for cell in line.strip("|").split(" | ")]
        for line in RELIABILITY_TABLE.read_text(encoding="utf-8").splitlines()
        if line.startswith(f"| {RELIABILITY_AREA} | ")
    ]
    outcomes = {row[1]: row[-1] for row in rows if len(row) == 5}
    missing = [case["name"] for case in CASES if case["name"] not in outcomes]
    assert not missing, f"run `make reliability`: {RELIABILITY_TABLE.name} lacks {missing}"
    failed = [case["name"] for case in CASES if outcomes[case["name"]] != "passed"]
    assert not failed, f"{RELIABILITY_TABLE.name} shows failed cases: {failed}"


def test_the_table_is_written_where_make_reliability_points():
    makefile = (Path(__file__).parents[2] / "Makefile").read_text(encoding="utf-8")
    assert f"{TABLE_ENV}=docs/{RELIABILITY_TABLE.name}" in makefile
