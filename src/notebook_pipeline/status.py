"""`chinaflows status`: which notebooks the next run would execute, and which pages it would
render again, and why, without running.

It asks the run's own questions (the same keys, the same cache) and, where the answer is
"execute", compares the execution fingerprint with the one of the notebook's last execution to
name what changed: its code, a parameter, an input, the study's code, the packages. Where only
the page fingerprint differs the page alone is rendered again (no kernel): the engine's page
rendering, the title, --show-code or the as-of date changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from notebook_pipeline import fingerprint
from notebook_pipeline.fingerprint import (
    RunContext,
    page_fingerprint,
    run_context,
    step_fingerprint,
)
from notebook_pipeline.layout import ProjectLayout
from notebook_pipeline.preflight import resolve_run
from notebook_pipeline.spec import Pipeline, page_outline, upstream_steps
from notebook_pipeline.step_cache import CachedStep, StepCache, changed_outputs

UP_TO_DATE = "up to date"
WOULD_RUN = "would run"
WOULD_RERENDER = "would re-render"  # its page only, from its last execution: no kernel
MAY_RUN = "may run"  # reads what an earlier notebook rewrites: runs unless the bytes are equal


@dataclass(frozen=True)
class StepStatus:
    """What the next run would do with one notebook, and why."""

    name: str
    state: str
    reasons: tuple[str, ...]  # empty when up to date


# How each part of a fingerprint reads when it changed (see fingerprint.step_fingerprint and
# fingerprint.page_fingerprint).
_CHANGED = {
    "notebook": "the notebook's cells changed",
    "outputs": "its outputs in pipeline.yaml changed",
    "study": "the study's code or data files changed",
    "engine_base": "the engine's public base (atomic writes, error types) changed",
    "environment": "installed packages changed",
}
_PAGE_CHANGED = {
    "rendering": "the engine's page templates or renderer changed",
    "title": "its title in pipeline.yaml changed",
    "show_code": "--show-code differs from its last run",
    "execution": "its page shows another execution",
    "outline": "pipeline.yaml changed what its header shows or the pages around it",
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


def _changes(
    before: dict[str, Any], now: dict[str, Any], older: str, said: Callable[[str], list[str]]
) -> list[str]:
    """What `said` says of each part that differs; `older` for a fingerprint of an older version
    (none, or other parts)."""
    if not before or before.keys() != now.keys():
        return [older]  # cache entries of older versions
    return [line for part in now if before[part] != now[part] for line in said(part)]


def fingerprint_changes(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What differs between two execution fingerprints, in words, parameters and inputs by
    name."""

    def said(part: str) -> list[str]:
        if part in ("parameters", "inputs"):
            return _named_changes(part.removesuffix("s"), before[part], now[part])
        return [_CHANGED[part]]

    return _changes(before, now, "its last execution predates this record", said)


def page_fingerprint_changes(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What differs between two page fingerprints, in words."""

    def said(part: str) -> list[str]:
        if part == "as_of":
            return [f"as-of date: {before[part]} -> {now[part]}"]
        return [_PAGE_CHANGED[part]]

    return _changes(before, now, "its page predates this record", said)


def pipeline_status(
    layout: ProjectLayout,
    as_of: str | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    show_code: bool = False,
) -> list[StepStatus]:
    """Each notebook in execution order: up to date, would run (and why), may run, or would
    re-render (its page only, and why).

    Raises failures.RunFailed for bad parameters or unreadable data, as a run would."""
    pipeline, as_of, parameters = resolve_run(layout, as_of, dict(overrides or {}))
    versions = fingerprint.installed_versions(layout.cache_dir)
    context = run_context(pipeline.study.package, show_code, as_of, versions)
    return steps_status(layout, pipeline, parameters, context)


def steps_status(
    layout: ProjectLayout,
    pipeline: Pipeline,
    parameters: dict[str, dict[str, Any]],
    context: RunContext,
) -> list[StepStatus]:
    """Each notebook's status for a run with these resolved `parameters` (pipeline_status;
    a sweep asks it per combination). A notebook's inputs that an up-to-date notebook writes
    are taken as the step store holds them, the others as they are in the project."""
    cache = StepCache(layout.cache_dir)
    statuses: dict[str, StepStatus] = {}
    stored: dict[str, str] = {}  # output -> digest, of the up-to-date notebooks' entries
    for step in pipeline.steps:  # in execution order
        inputs = {
            i: stored[i] if i in stored else fingerprint.path_sha256(layout.root / i)
            for i in step.inputs
        }
        now = step_fingerprint(step, parameters[step.name], inputs, context)
        entry = cache.lookup(step.name, fingerprint.digest(now)) or cache.last(step.name)
        reasons = _changes_since_last_run(entry, now)
        rerun_upstream = [
            name
            for name in upstream_steps(pipeline, step)
            if statuses[name].state in (WOULD_RUN, MAY_RUN)  # a re-rendered page changes no data
        ]
        if rerun_upstream:
            # Its inputs are not written yet: what they are now says nothing.
            reasons = [r for r in reasons if not r.startswith("input ")]
            upstream = f"reads what {', '.join(rerun_upstream)} write(s) first"
            state = WOULD_RUN if reasons else MAY_RUN
            statuses[step.name] = StepStatus(step.name, state, (*reasons, upstream))
        elif reasons:
            statuses[step.name] = StepStatus(step.name, WOULD_RUN, tuple(reasons))
        else:
            stored.update(entry.outputs)
            page = page_fingerprint(
                step, fingerprint.digest(now), context, page_outline(pipeline, step)
            )
            page_reasons = _page_changes_since_last_run(entry, page)
            state = WOULD_RERENDER if page_reasons else UP_TO_DATE
            statuses[step.name] = StepStatus(step.name, state, tuple(page_reasons))
    return list(statuses.values())


def _changes_since_last_run(entry: CachedStep | None, now: dict[str, Any]) -> list[str]:
    """Why the step store's `entry` (of the same key, else the latest) cannot be reused."""
    if entry is None:
        return ["it has not run in this project yet"]
    reasons = []
    if entry.key != fingerprint.digest(now):
        reasons += fingerprint_changes(entry.fingerprint, now)
    reasons += [f"its saved output {o} is missing or was changed" for o in changed_outputs(entry)]
    if not entry.notebook.is_file():
        reasons.append("its saved notebook is missing")
    return reasons


def _page_changes_since_last_run(entry: CachedStep, page: dict[str, Any]) -> list[str]:
    """Why the page of a notebook whose execution is reused would be rendered again."""
    if entry.page_is_current(fingerprint.digest(page)):
        return []
    if entry.page_key == fingerprint.digest(page):
        return ["its saved page is missing"]
    return page_fingerprint_changes(entry.page_fingerprint, page)


def describe(statuses: list[StepStatus]) -> str:
    """The status as a terminal shows it: one line per notebook, its reasons indented."""
    width = max(len(s.name) for s in statuses)
    lines = []
    for status in statuses:
        lines.append(f"{status.name:<{width}}  {status.state}")
        lines += [f"{'':<{width}}    - {reason}" for reason in status.reasons]
    would = sum(s.state == WOULD_RUN for s in statuses)
    may = sum(s.state == MAY_RUN for s in statuses)
    rerender = sum(s.state == WOULD_RERENDER for s in statuses)
    summary = f"`chinaflows run` would execute {would} of {len(statuses)} notebooks"
    if may:
        summary += f" and {may} more unless what they read comes out byte-identical"
    if rerender:
        summary += f"; it would re-render {rerender} page(s) without a kernel"
    lines.append(summary + ".")
    return "\n".join(lines)
