"""Runs of the whole pipeline, as a user runs it, into a temporary copy of the project.

Shared by the pipeline tests (test_end_to_end.py), the site tests and the browser tests; the
session fixture `published_run` in conftest.py runs it once for all of them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from unittest import mock


def run(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "helpers.cli", "run", "--project-dir", str(project), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def run_in_process(project: Path, *args: str, capsys) -> subprocess.CompletedProcess:
    """`chinaflows run` in this process (no interpreter to start, and a monkeypatched engine
    applies); returns what the command printed and its exit code, as `run` does. Without
    --quiet it shows its progress as a process whose stderr is not a terminal does: log lines,
    here on the stderr that `capsys` captures."""
    from helpers.cli import main
    from notebook_pipeline import cli, progress

    def display_for(quiet: bool) -> progress.RunDisplay:
        return progress.display_for(quiet, sys.stderr)  # the stream of now, captured

    capsys.readouterr()  # start from nothing printed
    with mock.patch.object(cli, "display_for", display_for):
        code = main(["run", "--project-dir", str(project), *args])
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, int(code), out, err)
