"""Fixtures shared by the study's tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_manifests import methods_sweep, month_ends_sweep

from helpers.analysis import robustness


@pytest.fixture
def methods(tmp_path: Path) -> robustness.SweepResults:
    """The read results of an invented `methods` sweep (tests/support/sweep_manifests.py)."""
    return robustness.read_sweep(methods_sweep(tmp_path))


@pytest.fixture
def month_ends(tmp_path: Path) -> robustness.SweepResults:
    """The read results of an invented `month_ends` sweep, one combination failed."""
    return robustness.read_sweep(month_ends_sweep(tmp_path))
