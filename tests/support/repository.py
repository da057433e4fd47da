"""The repository these tests run in: its root, `make` as a researcher runs it, and what its
pipeline.yaml declares for the study (its kernel, the template notebook's inputs)."""

from __future__ import annotations

import sys
from pathlib import Path

from helpers.paths import DEFAULT_LAYOUT
from notebook_pipeline.spec import load_pipeline

ROOT = DEFAULT_LAYOUT.root
# `make` on the environment that runs these tests. A test never reinstalls that environment:
# --old-file takes the Makefile's install stamp as up to date.
MAKE = [
    "make",
    "--no-print-directory",
    "-f",
    str(ROOT / "Makefile"),
    f"VENV={sys.prefix}",
    f"--old-file={Path(sys.prefix) / '.installed'}",
]
STUDY = load_pipeline(DEFAULT_LAYOUT).study
PROJECT_KERNEL = STUDY.kernel  # the kernel every notebook names
TEMPLATE_INPUTS = STUDY.template_inputs  # what notebooks/_template.ipynb reads
