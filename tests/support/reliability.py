"""The reliability table: what each robustness test tried and what the pipeline did.

A pytest plugin (conftest.py loads it). A test asks for the `reliability` fixture and records,
for each case it tries, what was tried and what happened:

    RELIABILITY_AREA = "fault"          # module constant: the table's first column

    def test_kill_during_run(reliability, ...):
        result = run(project, ...)
        reliability.record_run("SIGKILL during 02", "kill -9 the kernel of 02 mid-run", result)
        # or, for something other than a CLI run:
        reliability.record("...", "...", happened=f"exit {code}: {first_line}")

`record_run` writes what happened from the finished process itself (exit code and the first
line of its message), so the table states what the run did, never what we hoped it would do.
The outcome column (passed/failed/skipped) comes from the test's own report. Every test that
asks for the fixture is marked `reliability`, so `pytest -m reliability` selects them all.

When the environment variable CHINAFLOWS_RELIABILITY_TABLE names a file, the session writes
the Markdown table there at the end (`make reliability` writes docs/reliability.md). Rows are
sorted by area and case, and temporary folders are cut from the text, so the same results
give the same file.

Each test's rows travel on its teardown report, so the table is the same when pytest-xdist
runs the tests on several workers (`make test`, `make reliability`: -n auto): the workers
record, and the controller, which sees every report, writes the table.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import astuple, dataclass, field
from pathlib import Path

import pytest

TABLE_ENV = "CHINAFLOWS_RELIABILITY_TABLE"
MESSAGE_PREFIX = "chinaflows: "  # how the command starts its error message (helpers.cli)
_UNNAMED_AREA = "other"


@dataclass(frozen=True)
class Row:
    area: str
    case: str
    tried: str
    happened: str


@dataclass
class _ItemRecord:
    """What one test recorded, and how the test itself ended."""

    rows: list[Row] = field(default_factory=list)
    outcome: str = "passed"
    failure: str = ""


_ITEM_RECORD = pytest.StashKey[_ItemRecord]()
_TEMPORARY_ROOT = pytest.StashKey[Path]()  # pytest's base temporary folder, cut from the text
_REPORT_ATTRIBUTE = "reliability"  # the report's attribute that carries a test's rows


def describe_run(result: subprocess.CompletedProcess) -> str:
    """'exit N: <what the run said>'. For a failed run, the first line of its message (the
    command prints it as 'chinaflows: ...'; a heading ending in ':' is joined to the line after
    it), else its last line on stderr; for a run that succeeded, its last line of output (the
    report's path)."""
    if result.returncode == 0:
        return f"exit 0: {_last_line(result.stdout)}"
    lines = [line.strip() for line in (result.stderr or "").splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if line.startswith(MESSAGE_PREFIX)), None)
    if start is None:
        return f"exit {result.returncode}: {_last_line(result.stderr)}"
    said = lines[start]
    if said.endswith(":") and start + 1 < len(lines):
        said = f"{said} {lines[start + 1]}"
    return f"exit {result.returncode}: {said}"


class Recorder:
    """The `reliability` fixture: collects the rows of one test."""

    def __init__(self, area: str, item_record: _ItemRecord):
        self._area = area
        self._item_record = item_record

    def record(self, case: str, tried: str, happened: str) -> None:
        self._item_record.rows.append(Row(self._area, case, tried, happened))

    def record_run(self, case: str, tried: str, result: subprocess.CompletedProcess) -> None:
        self.record(case, tried, describe_run(result))


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if "reliability" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.reliability)


@pytest.fixture
def reliability(request, tmp_path_factory) -> Recorder:
    request.config.stash[_TEMPORARY_ROOT] = tmp_path_factory.getbasetemp()
    item_record = request.node.stash.setdefault(_ITEM_RECORD, _ItemRecord())
    area = getattr(request.module, "RELIABILITY_AREA", _UNNAMED_AREA)
    return Recorder(area, item_record)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    item_record = item.stash.get(_ITEM_RECORD, None)
    if item_record is None:
        return report
    # A failure in setup, call or teardown fails the row; a skip anywhere marks it skipped.
    if item_record.outcome != "failed":
        if report.failed:
            crash = getattr(report.longrepr, "reprcrash", None)
            item_record.outcome = "failed"
            item_record.failure = _first_line(crash.message if crash else report.longreprtext)
        elif report.skipped:
            item_record.outcome = "skipped"
    if report.when == "teardown":  # the test's last report: its rows are all recorded
        temporary_root = item.config.stash.get(_TEMPORARY_ROOT, None)
        rows = item_record.rows or [
            # A test that failed before it could record still shows up, with its failure.
            Row(
                getattr(item.module, "RELIABILITY_AREA", _UNNAMED_AREA),
                item.name,
                _first_line(item.function.__doc__ or item.name),
                item_record.failure or "(nothing recorded)",
            )
        ]
        # Plain lists of text: what pytest-xdist can send from a worker to the controller.
        setattr(
            report,
            _REPORT_ATTRIBUTE,
            {
                "outcome": item_record.outcome,
                "rows": [[_cell(text, temporary_root) for text in astuple(row)] for row in rows],
            },
        )
    return report


# Node id -> what its teardown report carried, in this process (this session's: the plugin
# module is loaded once per process, and a process runs one session).
_REPORTED: dict[str, dict] = {}


def pytest_runtest_logreport(report) -> None:
    """Every process sees its own reports here; under pytest-xdist the controller sees the
    workers' too."""
    carried = getattr(report, _REPORT_ATTRIBUTE, None)
    if carried is not None:
        _REPORTED[report.nodeid] = carried


def pytest_sessionfinish(session) -> None:
    target = os.environ.get(TABLE_ENV)
    if not target or hasattr(session.config, "workerinput"):  # a worker: the controller writes
        return
    Path(target).write_text(render_table(_REPORTED.values()), encoding="utf-8")


def render_table(reported) -> str:
    """The Markdown page: a count per area, then one row per recorded case. `reported`: what
    each test's teardown report carried ({"outcome": ..., "rows": [[area, case, tried,
    happened], ...]}, each already a table cell: see _cell)."""
    lines = [(Row(*row), carried["outcome"]) for carried in reported for row in carried["rows"]]
    lines.sort(key=lambda line: (line[0].area, line[0].case, line[0].tried))

    areas = sorted({row.area for row, _ in lines})
    out = [
        "# Reliability",
        "",
        "What the pipeline does with bad input, faults and hostile parameters, as the last",
        "`make reliability` observed it. Generated from the test run: do not edit by hand.",
        "",
        "| area | cases | passed |",
        "|---|---:|---:|",
    ]
    for area in areas:
        outcomes = [outcome for row, outcome in lines if row.area == area]
        out.append(f"| {area} | {len(outcomes)} | {outcomes.count('passed')} |")
    out += [
        "",
        "| area | case | what was tried | what happened | test |",
        "|---|---|---|---|---|",
    ]
    for row, outcome in lines:
        cells = [*astuple(row), outcome]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def _last_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[-1].strip() if lines else "(no output)"


def _first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0] if stripped else ""


def _cell(text: str, temporary_root: Path | None) -> str:
    """One table cell: temporary folders cut (a path reads from the test's own temporary
    folder), one line, and no character that would break the Markdown table."""
    if temporary_root is not None:
        text = re.sub(re.escape(str(temporary_root)) + r"/[^/\s]+/", "", text)
    return " ".join(text.split()).replace("|", "\\|")
