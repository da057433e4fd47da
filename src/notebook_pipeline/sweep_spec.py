"""Sweeps as pipeline.yaml declares them: many runs of the pipeline, each a combination of
parameter values and an as-of date, checked before any kernel starts.

    sweeps:
      methods:
        title: "Methods"
        grid: {nav_basis: [today, average], shares_lag_days: [0, 1]}   # every combination
        list: [{nav_basis: average, shares_lag_days: 2}]                # and these
        as_of: ["2025-06-30", "2025-12-31"]   # or {month_ends: {from: ISO, to: ISO}}
    sweep_page: {notebook: sweep_robustness, title: "Robustness across runs"}

A sweep needs `grid`, `list` or `as_of` (any of them, or several). Its combinations are the
grid's (the last axis varying fastest), then the list's not already in the grid; with `as_of`,
each of them once per date (the dates varying fastest); without, once, as of the run's default
date. `month_ends` gives the last day of every calendar month from `from`'s month to `to`'s.

A combination's name is its folder name and part of its page's address, so it is:

- readable: `axis-value` for each axis the combination sets, in the sweep's axis order, joined
  by `_`, then `as_of-YYYY-MM-DD` when the sweep has dates
  (`nav_basis-average_shares_lag_days-1`, `as_of-2025-03-31`); `defaults` for a combination
  that sets nothing;
- safe: only A-Z, a-z, 0-9, `.`, `_` and `-`; a value is written as YAML writes a scalar
  (true, null, 2.5) or as compact JSON (lists and mappings), each run of other characters
  becomes `-` (none at either end), and a value longer than 40 characters keeps its first 31
  and a digest of the whole;
- stable: it depends on the declaration only, never on the data or the order of runs;
- unique: two combinations whose names differ only in letter case or not at all are refused,
  both named (a folder name must also be unique on a case-insensitive disk).

Every combination's parameters are checked exactly as `chinaflows run --as-of A -p name=value`
checks them (preflight.resolve_run_parameters), and an error names the sweep and the
combination.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from notebook_pipeline.errors import InvalidDataError, InvalidParameterError
from notebook_pipeline.layout import ProjectLayout
from notebook_pipeline.preflight import declared_parameters, resolve_run_parameters
from notebook_pipeline.spec import Pipeline, pipeline_declaration, validate_iso_date

AS_OF_AXIS = "as_of"
_SWEEP_KEYS = {"title", "grid", "list", "as_of"}
_SWEEP_PAGE_KEYS = {"notebook", "title", "parameters"}
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9._-]+")
_LONGEST_VALUE = 40  # characters of a value in a name; longer ones are shortened with a digest
_SHORTENED_PREFIX = 31


@dataclass(frozen=True)
class Combination:
    """One run of a sweep."""

    name: str  # unique in the sweep, safe as a folder name and in a URL (module docstring)
    overrides: dict[str, Any]  # axis name -> value, as `-p name=value` would give
    as_of: str  # "" = the run's default as-of date


@dataclass(frozen=True)
class Sweep:
    """A sweep as pipeline.yaml declares it, expanded into its combinations."""

    name: str
    title: str
    axes: tuple[str, ...]  # the parameter axes, in declaration order ("as_of" last if swept)
    combinations: tuple[Combination, ...]


@dataclass(frozen=True)
class SweepPage:
    """The study notebook that makes every sweep's index page (pipeline.yaml: `sweep_page`)."""

    step_name: str
    title: str
    path: Path  # notebooks/<step_name>.ipynb; not required to exist until a sweep runs
    parameters: dict[str, Any] = field(default_factory=dict)  # its own, beside `sweep_file`


def load_sweeps(layout: ProjectLayout) -> dict[str, Sweep]:
    """Every sweep pipeline.yaml declares, by name; InvalidParameterError on a bad declaration."""
    declared = pipeline_declaration(layout).get("sweeps") or {}
    if not isinstance(declared, dict):
        raise InvalidParameterError(
            "pipeline.yaml, sweeps: must map each sweep's name to its declaration"
        )
    return {str(name): _parsed_sweep(str(name), entry) for name, entry in declared.items()}


def load_sweep(layout: ProjectLayout, name: str) -> Sweep:
    """The sweep called `name`; InvalidParameterError naming the known ones if there is none."""
    sweeps = load_sweeps(layout)
    if name not in sweeps:
        known = ", ".join(sorted(sweeps)) or "none"
        raise InvalidParameterError(
            f'unknown sweep "{name}"; pipeline.yaml declares these sweeps: {known}'
        )
    return sweeps[name]


def load_sweep_page(layout: ProjectLayout) -> SweepPage | None:
    """The notebook pipeline.yaml names as every sweep's page, or None; its notebook file is
    not looked for here (a sweep that runs it checks)."""
    declaration = pipeline_declaration(layout)
    entry = declaration.get("sweep_page")
    if entry is None:
        return None
    where = "pipeline.yaml, sweep_page"
    _refuse_unknown_keys(where, entry, _SWEEP_PAGE_KEYS)
    name = entry.get("notebook")
    if not isinstance(name, str) or not _SAFE_NAME.fullmatch(name):
        raise InvalidParameterError(
            f"{where}.notebook: {name!r} is not a notebook's name (letters, digits, '.', '_' "
            "and '-', as notebooks/<name>.ipynb)"
        )
    if name in (declaration.get("notebooks") or {}):
        raise InvalidParameterError(
            f"{where}.notebook: {name} is a step of the pipeline (under `notebooks:`); the "
            "sweep page is a notebook of its own"
        )
    parameters = entry.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InvalidParameterError(f"{where}.parameters: must map names to values")
    return SweepPage(
        step_name=name,
        title=str(entry.get("title", name)),
        path=layout.notebooks_dir / f"{name}.ipynb",
        parameters=dict(parameters),
    )


def resolve_combinations(
    layout: ProjectLayout, pipeline: Pipeline, sweep: Sweep
) -> list[tuple[Combination, str, dict[str, dict[str, Any]]]]:
    """Each combination with its as-of date and each step's parameters, exactly as
    `chinaflows run --as-of A -p ...` would resolve them, all checked before any kernel starts.

    Raises the error that run would raise (InvalidParameterError, AsOfBeforeDataError,
    InvalidDataError) for the first combination it refuses, its message naming the sweep and
    the combination.
    """
    declared = declared_parameters(layout, pipeline)
    resolved = []
    for combination in sweep.combinations:
        try:
            as_of, parameters = resolve_run_parameters(
                layout, pipeline, combination.as_of, combination.overrides, declared
            )
        except (InvalidParameterError, InvalidDataError) as error:
            # The same error, of the same type, its message saying where: callers map the type
            # to an exit code as they do for a single run.
            error.args = (f'sweep "{sweep.name}", combination {combination.name}: {error}',)
            raise
        resolved.append((combination, as_of, parameters))
    return resolved


def _refuse_unknown_keys(where: str, entry: Any, allowed: set[str]) -> None:
    if not isinstance(entry, dict):
        raise InvalidParameterError(f"{where}: must be a mapping of {', '.join(sorted(allowed))}")
    unknown = sorted(map(str, set(entry) - allowed))
    if unknown:
        raise InvalidParameterError(
            f"{where}: unknown key(s) {', '.join(unknown)}; the keys are "
            f"{', '.join(sorted(allowed))}"
        )


def _parsed_sweep(name: str, entry: Any) -> Sweep:
    where = f"pipeline.yaml, sweeps.{name}"
    if not _SAFE_NAME.fullmatch(name):
        raise InvalidParameterError(
            f"{where}: a sweep's name is a folder name: letters, digits, '.', '_' and '-', "
            "starting with a letter or digit"
        )
    _refuse_unknown_keys(where, entry, _SWEEP_KEYS)
    if not _SWEEP_KEYS.intersection(entry) - {"title"}:
        raise InvalidParameterError(f"{where}: needs at least one of grid, list or as_of")
    grid = _grid_combinations(where, entry.get("grid"))
    listed = _listed_combinations(where, entry.get("list"))
    overrides = grid + [o for o in listed if o not in grid]
    axes = list(dict.fromkeys(axis for o in overrides for axis in o))
    dates = _as_of_dates(f"{where}.as_of", entry["as_of"]) if "as_of" in entry else [""]
    combinations = [
        Combination(_combination_name(axes, o, as_of), o, as_of)
        for o, as_of in itertools.product(overrides or [{}], dates)
    ]
    _refuse_shared_names(where, combinations)
    return Sweep(
        name=name,
        title=str(entry.get("title", name)),
        axes=tuple(axes + ([AS_OF_AXIS] if "as_of" in entry else [])),
        combinations=tuple(combinations),
    )


def _refuse_as_of_axis(where: str, names: Any) -> None:
    if AS_OF_AXIS in names:
        raise InvalidParameterError(
            f"{where}: as_of is not a parameter axis; give the dates in the sweep's own "
            "`as_of:` key"
        )


def _grid_combinations(where: str, grid: Any) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in declaration order, the last axis fastest."""
    if grid is None:
        return []
    if not isinstance(grid, dict) or not grid:
        raise InvalidParameterError(
            f"{where}.grid: must map each parameter to the list of its values"
        )
    _refuse_as_of_axis(f"{where}.grid", grid)
    for axis, values in grid.items():
        if not isinstance(values, list) or not values:
            raise InvalidParameterError(
                f"{where}.grid.{axis}: {values!r} is not a non-empty list of values"
            )
    axes = [str(axis) for axis in grid]
    return [dict(zip(axes, values, strict=True)) for values in itertools.product(*grid.values())]


def _listed_combinations(where: str, listed: Any) -> list[dict[str, Any]]:
    """The explicit combinations, each once."""
    if listed is None:
        return []
    if not isinstance(listed, list) or not all(isinstance(o, dict) for o in listed) or not listed:
        raise InvalidParameterError(
            f"{where}.list: must be a non-empty list of combinations, each a mapping of "
            "parameter names to values"
        )
    combinations: list[dict[str, Any]] = []
    for number, overrides in enumerate(listed, start=1):
        _refuse_as_of_axis(f"{where}.list[{number}]", overrides)
        overrides = {str(name): value for name, value in overrides.items()}
        if overrides not in combinations:
            combinations.append(overrides)
    return combinations


def _iso_date(where: str, value: Any) -> str:
    # YAML reads an unquoted 2025-01-31 as a date: the same date as the quoted text.
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    try:
        return validate_iso_date(value)
    except InvalidParameterError:
        raise InvalidParameterError(
            f"{where}: {value!r} is not a date in the form YYYY-MM-DD"
        ) from None


def _as_of_dates(where: str, declared: Any) -> list[str]:
    """The sweep's as-of dates: a list of ISO dates, or {month_ends: {from: ISO, to: ISO}}."""
    if isinstance(declared, list) and declared:
        dates = [_iso_date(where, value) for value in declared]
        twice = sorted({d for d in dates if dates.count(d) > 1})
        if twice:
            raise InvalidParameterError(f"{where}: {', '.join(twice)} listed more than once")
        return dates
    rule = declared.get("month_ends") if isinstance(declared, dict) else None
    if not (
        isinstance(declared, dict)
        and set(declared) == {"month_ends"}
        and isinstance(rule, dict)
        and set(rule) == {"from", "to"}
    ):
        raise InvalidParameterError(
            f"{where}: must be a non-empty list of dates (YYYY-MM-DD) or "
            "{month_ends: {from: YYYY-MM-DD, to: YYYY-MM-DD}}"
        )
    first = dt.date.fromisoformat(_iso_date(f"{where}.month_ends.from", rule["from"]))
    last = dt.date.fromisoformat(_iso_date(f"{where}.month_ends.to", rule["to"]))
    if last < first:
        raise InvalidParameterError(f"{where}.month_ends: to ({last}) is before from ({first})")
    months = range(first.year * 12 + first.month - 1, last.year * 12 + last.month)
    return [_month_end(*divmod(month, 12)).isoformat() for month in months]


def _month_end(year: int, month_index: int) -> dt.date:
    """The last day of the month `month_index` (0 = January) of `year`."""
    month = month_index + 1
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _value_in_name(value: Any) -> str:
    """`value` as a combination's name shows it (module docstring)."""
    if isinstance(value, str | dt.date):
        text = str(value)
    else:  # JSON writes scalars as YAML does (true, null, 2.5), lists and mappings compactly
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    safe = _UNSAFE_RUN.sub("-", text).strip("-")
    if len(safe) <= _LONGEST_VALUE:
        return safe
    whole = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return f"{safe[:_SHORTENED_PREFIX]}-{whole}"


def _combination_name(axes: list[str], overrides: dict[str, Any], as_of: str) -> str:
    parts = [f"{axis}-{_value_in_name(overrides[axis])}" for axis in axes if axis in overrides]
    if as_of:
        parts.append(f"{AS_OF_AXIS}-{as_of}")
    return _UNSAFE_RUN.sub("-", "_".join(parts)) or "defaults"


def _refuse_shared_names(where: str, combinations: list[Combination]) -> None:
    seen: dict[str, Combination] = {}
    for combination in combinations:
        other = seen.setdefault(combination.name.lower(), combination)
        if other is not combination:
            raise InvalidParameterError(
                f"{where}: the combinations {_described(other)} and {_described(combination)} "
                f"would share the folder name {combination.name}; make their values differ in "
                "more than punctuation or letter case"
            )


def _described(combination: Combination) -> str:
    shown = ", ".join(f"{k}={v!r}" for k, v in combination.overrides.items()) or "defaults"
    return f"({shown}{', as of ' + combination.as_of if combination.as_of else ''})"
