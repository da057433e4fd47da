"""Sweeps as `chinaflows sweep` publishes them, built in a test's folder with invented figures:
a manifest (sweep.json, the sweep contract's format) and, for each succeeded combination, its
headline.json in exactly the format 04_summary writes (helpers.analysis.summary.build_headline).

    folder = write_sweep(tmp_path, "methods", ["nav_basis"], [
        Run({"nav_basis": "today"}, headline=invented_headline(spread_usd=8.1e9)),
        Run({"nav_basis": "average"}, error="02_etf_flows: cell 6 raised ValueError"),
    ])
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.analysis import proportions, summary

# Invented survey figures: a shift from 40% to 55%, under two bases of different sizes.
SURVEY_SIZES = {"all_respondents": (120, 130), "sovereign_wealth_funds": (70, 70)}


def invented_headline(
    as_of: str = "2025-12-31",
    technology_usd: float | None = 4.0e9,
    broad_usd: float | None = 0.5e9,
    traditional_usd: float | None = -3.0e9,
    survey_base: str = "all_respondents",
    flows_source: str = "sample",
) -> dict[str, Any]:
    """A headline.json of one run, with these cohort totals (None: no data; the spread is then
    null too) and the invented survey under `survey_base`."""
    cohorts = {"technology": technology_usd, "broad": broad_usd, "traditional": traditional_usd}
    spread = (
        None
        if technology_usd is None or traditional_usd is None
        else technology_usd - traditional_usd
    )
    flows_summary = {
        "period": {"start": f"{as_of[:4]}-01-01", "end": as_of},
        "flows_source": flows_source,
        "ytd_usd": {"KWEB": technology_usd, "FXI": traditional_usd, "MCHI": broad_usd},
        "cohorts_usd": cohorts,
        "spread_usd": spread,
        "missing": [name for name, total in cohorts.items() if total is None],
        "sources": {},
    }
    survey = {"base": survey_base, "by_base": copy.deepcopy(invented_survey_by_base())}
    return summary.build_headline(flows_summary, survey)


@functools.cache
def invented_survey_by_base() -> dict[str, dict]:
    """The invented survey's comparison under each base (the same in every headline: worked out
    once, its power analysis being the slow part)."""
    return {
        base: proportions.compare_shares(40.0, before, 55.0, after).to_dict()
        for base, (before, after) in SURVEY_SIZES.items()
    }


@dataclass
class Run:
    """One combination of a sweep: its parameters and either its headline or its error."""

    parameters: dict[str, Any]
    headline: dict[str, Any] | None = None
    error: str = ""
    as_of: str = "2025-12-31"
    extra: dict[str, Any] = field(default_factory=dict)  # manifest fields to add or replace


def combination_name(parameters: dict[str, Any]) -> str:
    """A readable name: 'nav_basis-average_shares_lag_days-1', 'as_of-2025-03-31'."""
    return "_".join(f"{name}-{value}" for name, value in parameters.items())


def write_sweep(
    folder: Path, sweep: str, axes: list[str], runs: list[Run], title: str = ""
) -> Path:
    """Write the sweep's folder under `folder` (sweep.json and each succeeded combination's
    <name>/headline.json); returns the path of sweep.json."""
    sweep_dir = folder / sweep
    sweep_dir.mkdir(parents=True, exist_ok=True)
    combinations = []
    for run in runs:
        name = combination_name(run.parameters)
        entry = {
            "name": name,
            "folder": name,
            "parameters": run.parameters,
            "as_of": run.as_of,
            "status": "failed" if run.headline is None else "succeeded",
            "headline": None if run.headline is None else f"{name}/headline.json",
            "error": run.error,
        }
        if run.headline is not None:
            (sweep_dir / name).mkdir(exist_ok=True)
            (sweep_dir / name / "headline.json").write_text(json.dumps(run.headline, indent=2))
        combinations.append(entry | run.extra)
    manifest = {
        "sweep": sweep,
        "title": title or f"The {sweep} sweep",
        "axes": axes,
        "combinations": combinations,
    }
    path = sweep_dir / "sweep.json"
    path.write_text(json.dumps(manifest, indent=2))
    return path


def methods_sweep(folder: Path, flows_source: str = "sample") -> Path:
    """A parameter sweep of 8 combinations (nav_basis × shares_lag_days × survey_base) whose
    spread stays positive, from +$6.80bn to +$7.30bn; the survey's p-value follows the base."""
    runs = []
    for nav_basis, shift in (("today", 0.0), ("average", -0.2e9)):
        for lag, lag_shift in ((0, 0.0), (1, -0.3e9)):
            for base in SURVEY_SIZES:
                headline = invented_headline(
                    technology_usd=4.0e9 + shift + lag_shift,
                    traditional_usd=-3.0e9 + lag_shift / 3,
                    survey_base=base,
                    flows_source=flows_source,
                )
                parameters = {"nav_basis": nav_basis, "shares_lag_days": lag, "survey_base": base}
                runs.append(Run(parameters, headline))
    return write_sweep(folder, "methods", ["nav_basis", "shares_lag_days", "survey_base"], runs)


MONTH_ENDS = ["2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30", "2025-05-30", "2025-06-30"]


def month_ends_sweep(
    folder: Path, failed: str = "2025-04-30", flows_source: str = "sample"
) -> Path:
    """An as-of sweep over six month ends whose spread grows month by month, with the
    combination of `failed` failed ("" for none)."""
    runs = []
    for number, as_of in enumerate(MONTH_ENDS, start=1):
        if as_of == failed:
            runs.append(Run({"as_of": as_of}, error="01_clean_data: no fund data", as_of=as_of))
            continue
        headline = invented_headline(
            as_of=as_of,
            technology_usd=0.6e9 * number,
            traditional_usd=-0.4e9 * number,
            flows_source=flows_source,
        )
        runs.append(Run({"as_of": as_of}, headline, as_of=as_of))
    return write_sweep(folder, "month_ends", ["as_of"], runs, title="Each month end of 2025")
