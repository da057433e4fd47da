"""The corpus of messy and bad fund files (bad_inputs/cases.yaml), each run through the real
pipeline on its own copy of a project that has already published a report.

A valid case is a separate `chinaflows run` process, which executes notebooks; these go as
many at a time as there are cores (pytest-xdist's workers, else a pool of threads here). A bad
case must be refused before any notebook starts, so it runs `chinaflows run` in this process,
with every kernel refused (no interpreter to start for each).

Messy but valid files must give KWEB's year-to-date flow as computed here from its NAVs and
shares; bad ones must be refused with the documented exit code and one message naming the file,
the row or column and the problem, leaving data/processed and reports byte-identical. Each case
is a row of docs/reliability.md (`make reliability`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
import yaml
from built_once import XDIST_WORKER_ENV, built_once, process_from_json, process_to_json
from diamond_project import refuse_kernels
from project_runs import run, run_in_process
from reliability import TABLE_ENV
from source_files import ishares_workbook, sec_throttle_page, xtrackers_xlsx

from helpers.ingest.fund_files import MAX_FILE_BYTES
from helpers.paths import USER_FUND_HISTORY_DIR, ProjectLayout, copy_project_inputs

RELIABILITY_AREA = "bad input"
CORPUS = Path(__file__).parent / "bad_inputs"
CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
RELIABILITY_TABLE = Path(__file__).parents[2] / "docs" / "reliability.md"
PROJECT_NAME = "china-tech-flows"  # the copies' folder: messages name files below it

# KWEB's history in every valid case (files/kweb_plain.csv and its messy variants).
KWEB_DAYS = [dt.date(2026, 1, d) for d in (2, 5, 6, 7, 8, 9, 12)]
KWEB_NAVS = [30.10, 30.45, 29.80, 31.05, 31.20, 30.95, 31.60]
KWEB_SHARES = [1_000_000, 1_050_000, 1_100_000, 1_075_000, 1_150_000, 1_150_000, 1_200_000]
KWEB_FILE = Path("data/raw") / USER_FUND_HISTORY_DIR / "KWEB.csv"
KWEB_ROWS = list(zip(KWEB_DAYS, KWEB_NAVS, KWEB_SHARES, strict=True))


def kweb_year_to_date_flow(as_of: dt.date) -> float:
    """Sum of (shares today - shares yesterday) x NAV today, 1 January to `as_of`."""
    return sum(
        (KWEB_SHARES[i] - KWEB_SHARES[i - 1]) * KWEB_NAVS[i]
        for i in range(1, len(KWEB_DAYS))
        if dt.date(as_of.year, 1, 1) <= KWEB_DAYS[i] <= as_of
    )


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
            shutil.copyfile(CORPUS / "files" / source, target)


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
def baseline(tmp_path_factory) -> Path:
    """A project that has published a report from your own data: the four other core ETFs and
    KWEB's plain file; built once for the whole test run, also under pytest-xdist
    (built_once.py). Each case copies it (its cache too, so that a case whose data read the
    same as the plain file re-executes only the cleaning notebook)."""

    def build(folder: Path) -> dict:
        project = copy_project_inputs(folder / PROJECT_NAME)
        place_files(
            project,
            {"fund_history/others.csv": "others.csv", "fund_history/KWEB.csv": "kweb_plain.csv"},
        )
        return {"project": str(project), "result": process_to_json(run(project))}

    built = built_once(tmp_path_factory, "bad_input_baseline", build)
    result = process_from_json(built["result"])
    assert result.returncode == 0, result.stderr
    project = Path(built["project"])
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


def run_case(case: dict, baseline: Path, folder: Path) -> CaseRun:
    """A valid case: `chinaflows run` as a separate process, as a user runs it."""
    project, before = case_project(case, baseline, folder)
    return CaseRun(project, before, run(project, *case.get("args", [])))


def run_refused_case(case: dict, baseline: Path, folder: Path, capsys, monkeypatch) -> CaseRun:
    """A bad case: `chinaflows run` in this process, failing the test if a notebook would be
    executed; what it printed and its exit code are checked as a separate process's."""
    project, before = case_project(case, baseline, folder)
    refuse_kernels(monkeypatch)
    return CaseRun(project, before, run_in_process(project, *case.get("args", []), capsys=capsys))


@pytest.fixture(scope="module")
def started_runs(request, baseline, tmp_path_factory):
    """Without pytest-xdist: the run of every valid case selected in this session, started at
    once on a pool of one thread per core; each test waits for its own. Under xdist the workers
    are the pool: each test runs its own case."""
    if os.environ.get(XDIST_WORKER_ENV) is not None:
        yield {}
        return
    selected = [
        item.callspec.params["case"]
        for item in request.session.items
        if item.module is request.module and item.originalname == "test_case"
    ]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        yield {
            case["name"]: pool.submit(
                run_case, case, baseline, tmp_path_factory.mktemp(case["name"])
            )
            for case in selected
            if not refused(case)
        }


@pytest.fixture
def case_run(request, baseline, started_runs, tmp_path_factory, capsys, monkeypatch):
    """Runs the test's case (or waits for its started run); returns the CaseRun."""

    def run_the_case(case: dict) -> CaseRun:
        if case["name"] in started_runs:
            return started_runs[case["name"]].result()
        folder = tmp_path_factory.mktemp(case["name"])
        if refused(case):
            return run_refused_case(case, baseline, folder, capsys, monkeypatch)
        return run_case(case, baseline, folder)

    return run_the_case


def test_the_manifest_is_well_formed():
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    used = {"others.csv", "kweb_plain.csv"}  # the baseline's
    for case in CASES:
        assert set(case) <= {"name", "tried", "files", "args", "expect"}, case["name"]
        for source in case["files"].values():
            if source.startswith("built: "):
                assert source.removeprefix("built: ") in BUILDERS, case["name"]
            else:
                assert (CORPUS / "files" / source).is_file(), (case["name"], source)
                used.add(source)
        expect = case["expect"]
        assert expect == "ok" or set(expect["refused"]) == {"exit", "says"}, case["name"]
    unused = {path.name for path in (CORPUS / "files").iterdir()} - used
    assert not unused, f"files no case uses: {sorted(unused)}"


@pytest.mark.pipeline
@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_case(case, case_run, reliability):
    done = case_run(case)
    project, result = done.project, done.result

    if case["expect"] == "ok" and result.returncode == 0:
        args = case.get("args", [])
        as_of = args[args.index("--as-of") + 1] if "--as-of" in args else KWEB_DAYS[-1].isoformat()
        kweb = headline(project, as_of)["flows"]["ytd_usd"]["KWEB"]
        expected = kweb_year_to_date_flow(dt.date.fromisoformat(as_of))
        reliability.record(
            case["name"],
            case["tried"],
            f"exit {result.returncode}: published the report as of {as_of}; KWEB's year-to-date"
            f" flow ${kweb:,.0f} (computed by hand: ${expected:,.0f})",
        )
        assert kweb == pytest.approx(expected)
        return

    reliability.record_run(case["name"], case["tried"], result)
    if case["expect"] == "ok":
        pytest.fail(f"valid input did not publish (exit {result.returncode}):\n{result.stderr}")
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
