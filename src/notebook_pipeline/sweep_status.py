"""`chinaflows status --sweep NAME`: what a sweep would execute, without running: its unique
tasks, how many the step store already holds, and which steps would run for how many
combinations and why (each combination asked as `chinaflows status` asks a run)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass

from notebook_pipeline.layout import ProjectLayout
from notebook_pipeline.status import UP_TO_DATE, WOULD_RERENDER, steps_status
from notebook_pipeline.sweep_run import resolve_sweep


@dataclass(frozen=True)
class SweepStatus:
    """What a sweep would do."""

    name: str
    combinations: int
    tasks: int  # unique notebook executions in its plan
    cached_tasks: int  # of those, held by the step store
    would_run: dict[str, int]  # step -> combinations in which it would run
    reasons: dict[str, list[str]]  # step -> why, the distinct reasons


def sweep_status(layout: ProjectLayout, name: str, show_code: bool = False) -> SweepStatus:
    """What `chinaflows sweep NAME` would execute."""
    pipeline, _, context, plan = resolve_sweep(layout, name, show_code)
    would_run: Counter[str] = Counter()
    reasons: dict[str, list[str]] = {}
    running_tasks = set()
    for combination in plan.combinations:
        combination_context = dataclasses.replace(context, as_of=combination.as_of)
        for status in steps_status(layout, pipeline, combination.parameters, combination_context):
            if status.state in (UP_TO_DATE, WOULD_RERENDER):
                continue
            would_run[status.name] += 1
            running_tasks.add(combination.plan_keys[status.name])
            known = reasons.setdefault(status.name, [])
            known += [r for r in status.reasons if r not in known]
    return SweepStatus(
        name,
        len(plan.combinations),
        len(plan.tasks),
        len(plan.tasks) - len(running_tasks),
        dict(would_run),
        reasons,
    )


def describe_sweep(status: SweepStatus) -> str:
    """The sweep's status as a terminal shows it."""
    lines = [
        f"sweep {status.name}: {status.combinations} combinations, {status.tasks} unique "
        f"notebook executions, {status.cached_tasks} of them in the step store"
    ]
    for step, count in status.would_run.items():
        lines.append(f"{step}  would run for {count} of {status.combinations} combinations")
        lines += [f"    - {reason}" for reason in status.reasons[step][:5]]
    lines.append(
        f"`chinaflows sweep {status.name}` would execute at most "
        f"{status.tasks - status.cached_tasks} notebooks."
    )
    return "\n".join(lines)
