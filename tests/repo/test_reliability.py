"""The reliability plugin (tests/support/reliability.py): rows recorded by tests, outcomes
taken from their reports, and the Markdown table written only when asked for."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from reliability import TABLE_ENV, describe_run

SUPPORT_DIR = Path(__file__).parents[1] / "support"  # where the reliability plugin is

# A small test suite that uses the fixture: one passing, one failing after it recorded, one
# failing before it could record, one recording a real process with a temporary path in it.
EXAMPLE_SUITE = '''
import subprocess, sys
RELIABILITY_AREA = "example area"

def test_passes(reliability):
    reliability.record("b case", "tried b | with a pipe", "it worked")

def test_fails_after_recording(reliability):
    reliability.record("a case", "tried a", "it broke")
    assert False, "the check after the record failed"

def test_fails_before_recording(reliability):
    """Open the missing file."""
    raise RuntimeError("no such file")

def test_records_a_process(reliability, tmp_path):
    said = f"01 running\\nchinaflows: invalid data:\\n{tmp_path}/data/raw/x.csv: bad row 3\\n"
    script = f"import sys; sys.stderr.write({said!r}); sys.exit(3)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    reliability.record_run("c case", "run a refusing process", result)

def test_without_the_fixture():
    pass
'''


def _run_example_suite(
    folder: Path, table: Path | None, *options: str
) -> subprocess.CompletedProcess:
    (folder / "conftest.py").write_text('pytest_plugins = ["reliability"]\n')
    (folder / "test_example.py").write_text(textwrap.dedent(EXAMPLE_SUITE))
    env = {k: v for k, v in os.environ.items() if k != TABLE_ENV}
    env["PYTHONPATH"] = os.pathsep.join([str(SUPPORT_DIR), env.get("PYTHONPATH", "")])
    if table is not None:
        env[TABLE_ENV] = str(table)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options, str(folder)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# In one process, and on pytest-xdist's workers (`make test`, `make reliability`), where the
# workers record the rows and the controller writes the table.
@pytest.mark.parametrize("options", [[], ["-n", "2"]], ids=["one-process", "xdist-workers"])
def test_the_table_holds_every_recorded_case_with_its_outcome(tmp_path, options):
    suite, table = tmp_path / "suite", tmp_path / "reliability.md"
    suite.mkdir()
    result = _run_example_suite(suite, table, *options)
    assert "2 failed, 3 passed" in result.stdout, result.stdout

    rows = [line for line in table.read_text().splitlines() if line.startswith("| example area")]
    assert rows == [
        "| example area | 4 | 2 |",
        "| example area | a case | tried a | it broke | failed |",
        "| example area | b case | tried b \\| with a pipe | it worked | passed |",
        "| example area | c case | run a refusing process "
        "| exit 3: chinaflows: invalid data: data/raw/x.csv: bad row 3 | passed |",
        "| example area | test_fails_before_recording | Open the missing file. "
        "| RuntimeError: no such file | failed |",
    ]


def test_the_marker_selects_every_test_using_the_fixture(tmp_path):
    result = _run_example_suite(tmp_path, None, "-m", "reliability")
    assert "2 failed, 2 passed, 1 deselected" in result.stdout, result.stdout


def test_no_table_is_written_unless_asked_for(tmp_path):
    _run_example_suite(tmp_path, table=None)
    assert not list(tmp_path.glob("*.md"))


def process(returncode: int, stdout: str = "", stderr: str = "") -> subprocess.CompletedProcess:
    return subprocess.CompletedProcess([], returncode, stdout=stdout, stderr=stderr)


def test_a_run_is_described_by_its_exit_code_and_message():
    progress = "12:00 01_clean_data: running\n"
    refused = process(3, stderr=progress + "chinaflows: invalid data:\nf.csv: row 2 bad\nmore\n")
    failed = process(1, stderr=progress + "chinaflows: 02_etf_flows: DeadKernelError: gone\n")
    killed = process(-9, stderr=progress + "12:01 01_clean_data: cell 3 of 9\n")
    published = process(0, stdout="reports/2026-01-12/index.html\n", stderr=progress)
    assert describe_run(refused) == "exit 3: chinaflows: invalid data: f.csv: row 2 bad"
    assert describe_run(failed) == "exit 1: chinaflows: 02_etf_flows: DeadKernelError: gone"
    assert describe_run(killed) == "exit -9: 12:01 01_clean_data: cell 3 of 9"
    assert describe_run(published) == "exit 0: reports/2026-01-12/index.html"
    assert describe_run(process(0)) == "exit 0: (no output)"
