"""Measures `make test` against its goal, at most 5 minutes on the 2-core machine, and how fast
the machine ran meanwhile; prints a table.

    python benchmarks/suite.py [--repeat 2]

The machine's speed is not fixed: on shared cores the same work takes up to half as long again
from one minute to the next. So while the tests run, a speed probe times, every 20 s, a fresh
Python importing pandas: the suite's own kind of work (processes that start and import), most
of its CPU time. The table gives the probe's median beside each run: two runs of the suite
compare only at a similar probe time. The probe takes about 4% of one core.

The suite runs in this checkout as `make test` runs it, with ARGS=-q (a shorter report, the
same tests); the repository's files are not touched (pytest keeps only its own cache).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import machine, met  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 5 * 60
PROBE_EVERY_SECONDS = 20
# A fresh interpreter measures the CPU time of its own `import pandas` and prints it.
PROBE = (
    "import time; started = time.process_time(); import pandas; "
    "print(time.process_time() - started)"
)


def probe_seconds() -> float:
    """The CPU time a new Python process takes to import pandas."""
    shown = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    )
    return float(shown.stdout)


@dataclass
class SuiteRun:
    exit_code: int
    wall: float
    cpu: float  # user + system of every process of the run (make, pytest, kernels, browsers)
    probes: list[float]  # the speed probe's times while it ran

    @property
    def cores_busy(self) -> float:
        return self.cpu / self.wall


def run_suite() -> SuiteRun:
    """`make test` once, with the speed probe on a thread of its own meanwhile (its processes are
    counted in `cpu` too: about 12 s over 5 minutes, some 2% of it)."""
    probes: list[float] = []
    done = threading.Event()

    def probe() -> None:
        while not done.wait(PROBE_EVERY_SECONDS):
            probes.append(probe_seconds())

    prober = threading.Thread(target=probe, name="speed-probe")
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    prober.start()
    try:
        finished = subprocess.run(["make", "test", "ARGS=-q"], cwd=REPOSITORY)
    finally:
        done.set()
        prober.join()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    return SuiteRun(finished.returncode, wall, cpu, probes)


def row(number: int, measured: SuiteRun) -> str:
    minutes, seconds = divmod(round(measured.wall), 60)
    probe = statistics.median(measured.probes) * 1000 if measured.probes else float("nan")
    ratio = measured.wall / GOAL_SECONDS
    verdict = f"{ratio:.2f} × {met(ratio <= 1 and measured.exit_code == 0)}"
    if measured.exit_code:
        verdict += f" (make test exited {measured.exit_code})"
    return (
        f"| {number} | {measured.wall:.1f} s ({minutes} m {seconds:02d} s) | {measured.cpu:.0f} s "
        f"| {measured.cores_busy:.2f} | {probe:.0f} ms | ≤ {GOAL_SECONDS} s | {verdict} |"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of the suite, one by one")
    args = parser.parse_args(argv)
    idle = statistics.median(probe_seconds() for _ in range(5)) * 1000
    runs = []
    for number in range(1, args.repeat + 1):
        print(f"make test, run {number} of {args.repeat} ...", file=sys.stderr)
        runs.append(row(number, run_suite()))
    print(
        "\n".join(
            [
                f"Machine: {machine()}",
                f"Speed probe on the idle machine before the runs: {idle:.0f} ms",
                "",
                "| run | wall | CPU (user + system) | cores busy | speed probe, median "
                "| goal | result |",
                "|---|---|---|---|---|---|---|",
                *runs,
            ]
        )
    )


if __name__ == "__main__":
    main()
