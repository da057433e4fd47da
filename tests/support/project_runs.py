"""Runs of the whole pipeline, as a user runs it, into a temporary copy of the project.

Shared by the pipeline tests (test_end_to_end.py), the site tests and the browser tests; the
session fixture `published_run` in conftest.py runs it once for all of them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "helpers.cli", "run", "--project-dir", str(project), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
