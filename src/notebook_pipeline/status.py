"""`chinaflows status`: which notebooks the next run would execute, and why, without running.

It asks the run's own questions (the same fingerprint, the same cache) and, where the answer
is "execute", compares the fingerprint with the one of the notebook's last execution to name
what changed: its code, a parameter, an input, the study's code, the packages, the as-of date.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from notebook_pipeline import fingerprint
from notebook_pipeline.fingerprint import run_context, step_fingerprint, step_inputs
from notebook_pipeline.layout import ProjectLayout
from notebook_pipeline.preflight import resolve_run
from notebook_pipeline.spec import upstream_steps
from notebook_pipeline.step_cache import StepCache, changed_outputs

UP_TO_DATE = "up to date"
WOULD_RUN = "would run"
MAY_RUN = "may run"  # reads what an earlier notebook rewrites: runs unless the bytes are equal


@dataclass(frozen=True)
class StepStatus:
    """What the next run would do with one notebook, and why."""

    name: str
    state: str
    reasons: tuple[str, ...]  # empty when up to date


# How each part of a fingerprint reads when it changed (see fingerprint.step_fingerprint).
_CHANGED = {
    "notebook": "the notebook's cells changed",
    "title": "its title in pipeline.yaml changed",
    "outputs": "its outputs in pipeline.yaml changed",
    "study": "the study's code or data files changed",
    "engine_base": "the engine's public base (atomic writes, error types) changed",
    "environment": "installed packages changed",
    "show_code": "--show-code differs from its last run",
}


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _named_changes(kind: str, before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    changes = []
    for name in sorted(before.keys() | now.keys()):
        if name not in before:
            changes.append(f"{kind} {name} is new")
        elif name not in now:
            changes.append(f"{kind} {name} was removed")
        elif before[name] != now[name]:
            if kind == "parameter":
                changes.append(f"parameter {name}: {_shown(before[name])} -> {_shown(now[name])}")
            else:
                changes.append(f"input {name} changed")
    return changes


def fingerprint_changes(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What differs between two fingerprints, in words, parameters and inputs by name."""
    if not before:
        return ["its last execution predates this record"]  # cache entries of older versions
    changes = []
    for part in now:
        if before.get(part) == now[part]:
            continue
        if part == "parameters":
            changes += _named_changes("parameter", before.get(part, {}), now[part])
        elif part == "inputs":
            changes += _named_changes("input", before.get(part, {}), now[part])
        elif part == "as_of":
            if "as_of" not in now["parameters"]:  # else the parameter's line says it
                changes.append(f"as-of date: {before.get(part)} -> {now[part]}")
        else:
            changes.append(_CHANGED[part])
    return changes


def pipeline_status(
    layout: ProjectLayout,
    as_of: str | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    show_code: bool = False,
) -> list[StepStatus]:
    """Each notebook in execution order: up to date, would run (and why) or may run.

    Raises failures.RunFailed for bad parameters or unreadable data, as a run would."""
    pipeline, as_of, parameters = resolve_run(layout, as_of, dict(overrides or {}))
    versions = fingerprint.installed_versions()
    context = run_context(pipeline.study.package, show_code, as_of, versions)
    cache = StepCache(layout.cache_dir)
    statuses: dict[str, StepStatus] = {}
    for step in pipeline.steps:  # in execution order
        now = step_fingerprint(step, parameters[step.name], step_inputs(step, layout.root), context)
        reasons = _changes_since_last_run(cache, step.name, now, layout)
        rerun_upstream = [
            name for name in upstream_steps(pipeline, step) if statuses[name].state != UP_TO_DATE
        ]
        if rerun_upstream:
            # Its inputs are not written yet: what they are now says nothing.
            reasons = [r for r in reasons if not r.startswith("input ")]
            upstream = f"reads what {', '.join(rerun_upstream)} write(s) first"
            state = WOULD_RUN if reasons else MAY_RUN
            statuses[step.name] = StepStatus(step.name, state, (*reasons, upstream))
        else:
            state = WOULD_RUN if reasons else UP_TO_DATE
            statuses[step.name] = StepStatus(step.name, state, tuple(reasons))
    return list(statuses.values())


def _changes_since_last_run(
    cache: StepCache, name: str, now: dict[str, Any], layout: ProjectLayout
) -> list[str]:
    last = cache.last(name)
    if last is None:
        return ["it has not run in this project yet"]
    reasons = []
    if last.key != fingerprint.digest(now):
        reasons += fingerprint_changes(last.fingerprint, now)
    reasons += [f"output {o} is missing or was changed" for o in changed_outputs(last, layout.root)]
    if not (last.notebook.is_file() and last.page.is_file()):
        reasons.append("its saved notebook or page is missing")
    return reasons


def describe(statuses: list[StepStatus]) -> str:
    """The status as a terminal shows it: one line per notebook, its reasons indented."""
    width = max(len(s.name) for s in statuses)
    lines = []
    for status in statuses:
        lines.append(f"{status.name:<{width}}  {status.state}")
        lines += [f"{'':<{width}}    - {reason}" for reason in status.reasons]
    would = sum(s.state == WOULD_RUN for s in statuses)
    may = sum(s.state == MAY_RUN for s in statuses)
    lines.append(
        f"`chinaflows run` would execute {would} of {len(statuses)} notebooks"
        + (f" and {may} more unless what they read comes out byte-identical." if may else ".")
    )
    return "\n".join(lines)
