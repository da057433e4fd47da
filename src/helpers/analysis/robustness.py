"""A sweep's runs side by side: the sweep's manifest (sweep.json, written by `chinaflows sweep`)
and every succeeded combination's headline.json in one tidy table, and the numbers the
robustness page states: whether the spread keeps its sign in every variant, its range, its size
against the baseline, how far the survey's p-value moves across bases, the figures over time.

The manifest's format is the sweep contract's: `sweep`, `title`, `axes` and `combinations`, each
with its `name`, `folder`, `parameters`, `as_of`, `status` ("succeeded" or "failed"),
`headline` (a path relative to the manifest's folder; null for a failed one) and `error`.
A headline.json is what 04_summary writes for one run.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from helpers.errors import InvalidDataError, InvalidParameterError

SUCCEEDED, FAILED = "succeeded", "failed"
AS_OF_AXIS = "as_of"
SPREAD = "spread_usd"
SHIFT = "survey_shift_pp"
P_VALUE = "survey_p_value"
BASE = "survey_base"
# The columns every combination has, before its axes and cohort totals.
ROW_COLUMNS = ["combination", "folder", "status", "error", "as_of", "flows_source"]
FIGURE_COLUMNS = [SPREAD, BASE, SHIFT, P_VALUE]


def cohort_column(cohort: str) -> str:
    """The column of a cohort's total flow in the combinations table: 'cohort_technology_usd'."""
    return f"cohort_{cohort}_usd"


@dataclass(frozen=True)
class SweepResults:
    """A sweep as its page reads it: its name, title and axes, and one row per combination."""

    name: str
    title: str
    axes: tuple[str, ...]
    cohorts: tuple[str, ...]  # the cohorts the headlines total, in their order
    combinations: pd.DataFrame  # ROW_COLUMNS, the axes, the cohort totals, FIGURE_COLUMNS

    @property
    def is_as_of_sweep(self) -> bool:
        """Whether the sweep varies the as-of date alone (one run per date)."""
        return self.axes == (AS_OF_AXIS,)

    @property
    def succeeded(self) -> pd.DataFrame:
        """The combinations that ran to the end, each with its headline figures."""
        return self.combinations[self.combinations["status"] == SUCCEEDED]

    @property
    def failed(self) -> pd.DataFrame:
        """The combinations that failed, with their error."""
        return self.combinations[self.combinations["status"] == FAILED]

    @property
    def any_sample(self) -> bool:
        """Whether any combination's fund flows are the synthetic sample."""
        return bool((self.combinations["flows_source"] == "sample").any())

    def describe(self, *combinations: str) -> str:
        """One or several combinations in the words of the axes they share: 'nav_basis
        average, shares_lag_days 1' (an axis on which they differ is left out); for an as-of
        sweep 'as of 2025-03-31'."""
        rows = self.combinations.set_index("combination").loc[list(combinations)]
        if self.is_as_of_sweep:
            return ", ".join(f"as of {as_of}" for as_of in rows["as_of"])
        shared = [axis for axis in self.axes if rows[axis].map(_axis_value).nunique() == 1]
        described = (f"{axis} {_axis_value(rows[axis].iloc[0])}" for axis in shared)
        return ", ".join(described) or f"{len(rows)} combinations"


def _axis_value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, list | dict) else str(value)


@dataclass(frozen=True)
class _Place:
    """Where in which file a value is read: what an error names."""

    file: Path
    context: str = ""  # e.g. "combination 2 ('nav_basis-average')"

    def within(self, context: str) -> _Place:
        """A place inside this one."""
        return _Place(self.file, f"{self.context} {context}".strip())

    def refuse(self, problem: str) -> InvalidDataError:
        """The error for `problem` found here."""
        return InvalidDataError(
            self.file, f"{self.context}: {problem}" if self.context else problem
        )


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidDataError(path, f"{what} does not exist") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidDataError(path, f"{what} is not valid JSON: {error}") from None


def _field(record: Any, dotted: str, where: _Place, kind: type | tuple[type, ...]) -> Any:
    """The value at `dotted` ('flows.spread_usd') in `record`, of type `kind`, else
    InvalidDataError naming `where` and the field."""
    value = record
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            raise where.refuse(f"has no '{dotted}'")
        value = value[key]
    if not isinstance(value, kind) or isinstance(value, bool) and bool not in _kinds(kind):
        raise where.refuse(f"'{dotted}' is {value!r}, not {_kind_names(kind)}")
    return value


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_names(kind: type | tuple[type, ...]) -> str:
    names = {str: "text", int: "a number", float: "a number", list: "a list", dict: "a mapping"}
    return " or ".join(dict.fromkeys(names.get(k, "null") for k in _kinds(kind)))


_NUMBER = (int, float, type(None))  # null: a cohort or a spread without data


def _amount(value: int | float | None) -> float:
    return math.nan if value is None else float(value)


def headline_figures(headline: dict[str, Any], where: _Place) -> dict[str, Any]:
    """The figures of one run's headline.json that the sweep page compares: its as-of date,
    flows source, each cohort's total, the spread, the survey's base, shift and p-value.
    InvalidDataError naming `where` and the field when one is missing or of the wrong type."""
    cohorts = _field(headline, "flows.cohorts_usd", where, dict)
    for cohort, total in cohorts.items():
        if not isinstance(total, _NUMBER) or isinstance(total, bool):
            raise where.refuse(f"'flows.cohorts_usd.{cohort}' is {total!r}, not a number")
    return {
        "as_of": _field(headline, "as_of", where, str),
        "flows_source": _field(headline, "flows_source", where, str),
        **{cohort_column(c): _amount(total) for c, total in cohorts.items()},
        SPREAD: _amount(_field(headline, "flows.spread_usd", where, _NUMBER)),
        BASE: _field(headline, "survey.base", where, str),
        SHIFT: float(_field(headline, "survey.diff_pp", where, (int, float))),
        P_VALUE: float(_field(headline, "survey.p_value", where, (int, float))),
    }


def _headline_path(folder: Path, relative: Any, where: _Place) -> Path:
    """A combination's headline path, which must stay inside the sweep's folder."""
    if not isinstance(relative, str) or not relative:
        raise where.refuse(f"'headline' is {relative!r}, not a path")
    parts = PurePosixPath(relative)
    if parts.is_absolute() or ".." in parts.parts:
        raise where.refuse(f"'headline' {relative!r} leads out of the sweep's folder")
    return folder / parts


def _combination_row(folder: Path, entry: Any, axes: tuple[str, ...], where: _Place) -> dict:
    if not isinstance(entry, dict):
        raise where.refuse(f"is {entry!r}, not a mapping")
    name = _field(entry, "name", where, str)
    where = where.within(f"('{name}')")
    status = _field(entry, "status", where, str)
    if status not in (SUCCEEDED, FAILED):
        raise where.refuse(f"'status' is {status!r}, not '{SUCCEEDED}' or '{FAILED}'")
    parameters = _field(entry, "parameters", where, dict)
    absent = [axis for axis in axes if axis not in parameters and axis != AS_OF_AXIS]
    if absent:
        raise where.refuse(f"'parameters' has no value for {', '.join(absent)}")
    row = {
        "combination": name,
        "folder": _field(entry, "folder", where, str),
        "status": status,
        "error": entry.get("error") or "",
        "as_of": _field(entry, "as_of", where, str),
        "flows_source": "",
        **{axis: parameters.get(axis, entry.get("as_of")) for axis in axes},
    }
    if status == SUCCEEDED:
        path = _headline_path(folder, entry.get("headline"), where)
        row |= headline_figures(_read_json(path, f"the headline of '{name}'"), _Place(path))
    return row


def read_sweep(sweep_file: str | Path) -> SweepResults:
    """The sweep whose manifest is `sweep_file` (sweep.json), with every succeeded combination's
    headline figures (headline_figures) and every failed one's error, one row each, in the
    manifest's order. InvalidDataError naming the file and what is wrong: a manifest or a
    headline that is missing, not JSON, or lacks a field the page needs."""
    path = Path(sweep_file)
    manifest = _read_json(path, "the sweep manifest")
    where = _Place(path)
    axes = tuple(_field(manifest, "axes", where, list))
    if not all(isinstance(axis, str) for axis in axes):
        raise where.refuse(f"'axes' must be a list of parameter names, got {axes!r}")
    entries = _field(manifest, "combinations", where, list)
    if not entries:
        raise where.refuse("'combinations' is empty")
    rows = [
        _combination_row(path.parent, entry, axes, where.within(f"combination {number}"))
        for number, entry in enumerate(entries, start=1)
    ]
    cohorts = tuple(
        dict.fromkeys(
            key.removeprefix("cohort_").removesuffix("_usd")
            for row in rows
            for key in row
            if key.startswith("cohort_")
        )
    )
    # An axis that is also a figure (as_of, survey_base) keeps the axis's place.
    columns = [*ROW_COLUMNS, *axes, *(cohort_column(c) for c in cohorts), *FIGURE_COLUMNS]
    table = pd.DataFrame(rows).reindex(columns=list(dict.fromkeys(columns)))
    return SweepResults(
        name=_field(manifest, "sweep", where, str),
        title=_field(manifest, "title", where, str),
        axes=axes,
        cohorts=cohorts,
        combinations=table,
    )


# --- the page's questions, as numbers ------------------------------------------------------------


@dataclass(frozen=True)
class Extreme:
    """A figure's value in a sweep and the combinations that gave it (several: a tie, such as
    the same spread under both survey bases)."""

    value: float
    combinations: tuple[str, ...]


@dataclass(frozen=True)
class SpreadSign:
    """Whether the spread keeps one sign across the variants that have one."""

    variants: int  # succeeded combinations with a spread (both cohorts had data)
    positive: int
    negative: int
    without_spread: int  # succeeded combinations whose spread has no data

    @property
    def holds(self) -> bool:
        """Whether every variant with a spread has the same sign (and there is one)."""
        return self.variants > 0 and self.variants in (self.positive, self.negative)


def spread_sign(results: SweepResults) -> SpreadSign:
    """How many variants have a positive, a negative (or zero) spread."""
    spreads = results.succeeded[SPREAD]
    known = spreads.dropna()
    return SpreadSign(
        variants=len(known),
        positive=int((known > 0).sum()),
        negative=int((known < 0).sum()),
        without_spread=int(spreads.isna().sum()),
    )


def _reaching(values: pd.Series, value: float) -> Extreme:
    """`value` and the combinations (index of `values`) whose value is it, to rounding."""
    names = values.index[np.isclose(values, value, rtol=1e-12, atol=0.0)]
    return Extreme(float(value), tuple(names))


def extremes(results: SweepResults, column: str = SPREAD) -> tuple[Extreme, Extreme] | None:
    """The lowest and highest value of `column` over the succeeded combinations, each with the
    combinations that reach it; None when none has a value."""
    values = results.succeeded.set_index("combination")[column].dropna()
    if values.empty:
        return None
    return _reaching(values, values.min()), _reaching(values, values.max())


@dataclass(frozen=True)
class AgainstBaseline:
    """The spread of every variant against the baseline's: the largest move and where."""

    baseline: str  # the baseline combination
    baseline_usd: float  # its spread
    largest_change_usd: float  # signed, of the variants that move furthest
    largest_change_pct: float  # that change in % of the baseline's spread (NaN if it is 0)
    furthest: tuple[str, ...]  # the variants that move furthest


def against_baseline(results: SweepResults, baseline: str = "") -> AgainstBaseline | None:
    """The spread of each variant against the spread of `baseline` (a combination's name;
    default the first succeeded combination, which for a grid is the first value of every axis:
    the pipeline's defaults when they are declared first). None when fewer than two variants
    have a spread. InvalidParameterError for an unknown baseline."""
    spreads = results.succeeded.set_index("combination")[SPREAD].dropna()
    if len(spreads) < 2:
        return None
    baseline = baseline or spreads.index[0]
    if baseline not in spreads.index:
        raise InvalidParameterError(
            f"sweep '{results.name}': no succeeded combination '{baseline}' with a spread; "
            f"known: {', '.join(spreads.index)}"
        )
    base_value = float(spreads[baseline])
    changes = spreads.drop(baseline) - base_value
    change = float(changes[changes.abs().idxmax()])
    return AgainstBaseline(
        baseline=baseline,
        baseline_usd=base_value,
        largest_change_usd=change,
        largest_change_pct=100 * change / abs(base_value) if base_value else math.nan,
        furthest=_reaching(changes, change).combinations,
    )


def survey_bases_vary(results: SweepResults) -> bool:
    """Whether the succeeded combinations use more than one survey base."""
    return results.succeeded[BASE].nunique() > 1


def p_values_by_base(results: SweepResults) -> pd.DataFrame:
    """The survey's p-value under each base the combinations used: its lowest and highest
    (equal unless something else changes the survey) and the number of combinations, indexed
    by base in the order first used."""
    chosen = results.succeeded.dropna(subset=[P_VALUE])
    grouped = chosen.groupby(BASE, sort=False)[P_VALUE]
    table = grouped.agg(lowest_p_value="min", highest_p_value="max", combinations="size")
    return table.rename_axis(BASE)


def figures_over_time(results: SweepResults) -> pd.DataFrame:
    """The succeeded combinations' figures by as-of date (a datetime index, in date order):
    each cohort's total, the spread, the survey's shift and p-value."""
    columns = [cohort_column(c) for c in results.cohorts] + [SPREAD, SHIFT, P_VALUE]
    chosen = results.succeeded.assign(as_of=pd.to_datetime(results.succeeded["as_of"]))
    return chosen.set_index("as_of")[columns].sort_index()
