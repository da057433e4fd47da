"""Measures sweeps against their goals and prints a table (one run each, from a cold cache).

    python benchmarks/sweep.py            (or: make bench, which runs it after bench.py)

- month_ends: `chinaflows sweep month_ends` (12 as-of dates) on the local Dask cluster, against
  a shell loop of `chinaflows run --force --as-of D` over the same dates, each from a fresh copy
  of the project (no data/processed, reports or .chinaflows). Goal: at most 0.6 x the loop.
- methods: `chinaflows sweep methods` from a cold cache: the notebooks it executed against
  combinations x 4 (the saving from shared steps; the goal is 4 + 4 + 2 + 8 = 18 of 32).
- per-task times (from the step store's entries) and the sweep's serial part (publishing and
  its page), from which benchmarks/README.md projects a 1,000-combination sweep.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import clean, machine, runner_command  # noqa: E402

from helpers.paths import ProjectLayout, copy_project_inputs  # noqa: E402
from notebook_pipeline.sweep_spec import load_sweep  # noqa: E402

EXECUTED = re.compile(r"(\d+) notebook\(s\) executed")
PROGRESS_STAMP = re.compile(r"^(\S+) sweep: ", re.MULTILINE)


def sweep_command(project: Path, name: str) -> list[str]:
    return [sys.executable, "-m", "helpers.cli", "sweep", name, "--project-dir", str(project)]


def timed(commands: list[list[str]], cwd: Path) -> tuple[float, str]:
    """Run `commands` one after the other; their wall time and what they printed on stderr."""
    clock = time.perf_counter()
    printed = []
    for command in commands:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
        printed.append(done.stderr)
    return time.perf_counter() - clock, "\n".join(printed)


def task_phase_seconds(printed: str) -> float:
    """From the first to the last progress line of a sweep (one-second stamps)."""
    stamps = [dt.datetime.fromisoformat(s) for s in PROGRESS_STAMP.findall(printed)]
    return (stamps[-1] - stamps[0]).total_seconds() if stamps else 0.0


def step_seconds(project: Path, steps: list[str]) -> dict[str, list[float]]:
    """Each step's execution times, as the step store recorded them."""
    store = ProjectLayout(project).cache_dir / "steps"
    return {
        step: [
            json.loads(entry.read_text())["seconds"]
            for entry in sorted((store / step).glob("*/entry.json"))
        ]
        for step in steps
    }


def main() -> None:
    lines = [f"Machine: {machine()}", ""]
    with tempfile.TemporaryDirectory(prefix="chinaflows-sweep-bench-") as scratch:
        project = copy_project_inputs(Path(scratch) / "project")
        layout = ProjectLayout(project)
        dates = [c.as_of for c in load_sweep(layout, "month_ends").combinations]

        print("sweep month_ends, cold ...", file=sys.stderr)
        clean(project)
        sweep_wall, printed = timed([sweep_command(project, "month_ends")], project)
        month_tasks = task_phase_seconds(printed)
        print(f"shell loop of {len(dates)} runs, cold ...", file=sys.stderr)
        clean(project)
        loop = [[*runner_command(project), "--force", "--as-of", d] for d in dates]
        loop_wall, _ = timed(loop, project)
        ratio = sweep_wall / loop_wall

        print("sweep methods, cold ...", file=sys.stderr)
        clean(project)
        methods = load_sweep(layout, "methods")
        methods_wall, printed = timed([sweep_command(project, "methods")], project)
        executed = int(EXECUTED.search(printed).group(1))
        combinations = len(methods.combinations)
        steps = ["01_clean_data", "02_etf_flows", "03_sovereign_survey", "04_summary"]
        seconds = step_seconds(project, steps)
        methods_tasks = task_phase_seconds(printed)

    lines += [
        "| measurement | wall | result |",
        "|---|---|---|",
        f"| shell loop: {len(dates)} × `chinaflows run --force --as-of D`, cold "
        f"| {loop_wall:.1f} s | |",
        f"| `chinaflows sweep month_ends`, cold (local cluster) | {sweep_wall:.1f} s "
        f"(tasks {month_tasks:.0f} s) | {ratio:.2f} × the loop, goal ≤ 0.6: "
        f"{'met' if ratio <= 0.6 else '**missed**'} |",
        f"| `chinaflows sweep methods`, cold | {methods_wall:.1f} s "
        f"(tasks {methods_tasks:.0f} s) | {executed} notebooks executed of "
        f"{combinations} × 4 = {combinations * 4} |",
        "",
        "Execution time per notebook in the methods sweep (step store entries):",
        "",
    ]
    for step, times in seconds.items():
        mean = sum(times) / len(times) if times else 0.0
        lines.append(f"- {step}: {len(times)} executions, mean {mean:.1f} s")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
