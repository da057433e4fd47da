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
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
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
    # A failure in setup, call or teardown fails the row; a skip anywhere marks it skipped.
    if item_record is not None and item_record.outcome != "failed":
        if report.failed:
            crash = getattr(report.longrepr, "reprcrash", None)
            item_record.outcome = "failed"
            item_record.failure = _first_line(crash.message if crash else report.longreprtext)
        elif report.skipped:
            item_record.outcome = "skipped"
    return report


def pytest_sessionfinish(session) -> None:
    target = os.environ.get(TABLE_ENV)
    if not target:
        return
    records = [
        (item, item.stash[_ITEM_RECORD]) for item in session.items if _ITEM_RECORD in item.stash
    ]
    temporary_root = session.config.stash.get(_TEMPORARY_ROOT, None)
    Path(target).write_text(render_table(records, temporary_root), encoding="utf-8")


def render_table(records, temporary_root: Path | None) -> str:
    """The Markdown page: a count per area, then one row per recorded case."""
    lines: list[tuple[Row, str]] = []
    for item, item_record in records:
        rows = item_record.rows or [
            # A test that failed before it could record still shows up, with its failure.
            Row(
                getattr(item.module, "RELIABILITY_AREA", _UNNAMED_AREA),
                item.name,
                _first_line(item.function.__doc__ or item.name),
                item_record.failure or "(nothing recorded)",
            )
        ]
        lines.extend((row, item_record.outcome) for row in rows)
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
        cells = [row.area, row.case, row.tried, row.happened, outcome]
        out.append("| " + " | ".join(_cell(c, temporary_root) for c in cells) + " |")
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
