"""What a run shows while it works: a live line per notebook in a terminal, plain timestamped
log lines without one (cron, CI), or nothing but errors with --quiet."""

from __future__ import annotations

import datetime as dt
import sys
import threading
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class RunDisplay:
    """The events of a run; this base shows nothing (--quiet)."""

    def note(self, text: str) -> None: ...

    def add(self, step: str, cells: int) -> None: ...

    def running(self, step: str) -> None: ...

    def cell_done(self, step: str) -> None: ...

    def cached(self, step: str) -> None: ...

    def rendered(self, step: str, seconds: float) -> None: ...

    def done(self, step: str, seconds: float) -> None: ...

    def failed(self, step: str) -> None: ...

    def close(self) -> None: ...


class LogLines(RunDisplay):
    """One timestamped line per event, for logs read after the fact."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        # Notebooks report from threads of their own; print() writes a line and its end apart,
        # so two events at once could share a line and leave an empty one.
        self.writing = threading.Lock()

    def note(self, text: str) -> None:
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with self.writing:
            self.stream.write(f"{stamp} {text}\n")
            self.stream.flush()

    def running(self, step: str) -> None:
        self.note(f"{step}: running")

    def cached(self, step: str) -> None:
        self.note(f"{step}: cached (unchanged inputs, code and parameters)")

    def rendered(self, step: str, seconds: float) -> None:
        self.note(f"{step}: page rendered again in {seconds:.1f} s (its execution is unchanged)")

    def done(self, step: str, seconds: float) -> None:
        self.note(f"{step}: done in {seconds:.1f} s")

    def failed(self, step: str) -> None:
        self.note(f"{step}: failed")


class LiveLines(RunDisplay):
    """A line per notebook, redrawn in place: state and a bar over its cells."""

    def __init__(self, console: Console):
        self.progress = Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("cells"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[state]}"),
            console=console,
        )
        self.tasks: dict[str, int] = {}
        self.progress.start()

    def note(self, text: str) -> None:
        self.progress.console.print(text)

    def add(self, step: str, cells: int) -> None:
        self.tasks[step] = self.progress.add_task(step, total=cells, state="waiting", start=False)

    def running(self, step: str) -> None:
        self.progress.start_task(self.tasks[step])
        self.progress.update(self.tasks[step], state="running")

    def cell_done(self, step: str) -> None:
        self.progress.advance(self.tasks[step])

    def cached(self, step: str) -> None:
        task = self.tasks[step]
        self.progress.update(task, completed=self.progress.tasks[task].total, state="cached")

    def rendered(self, step: str, seconds: float) -> None:
        task = self.tasks[step]
        total = self.progress.tasks[task].total
        self.progress.update(task, completed=total, state=f"page rendered in {seconds:.1f} s")

    def done(self, step: str, seconds: float) -> None:
        task = self.tasks[step]
        total = self.progress.tasks[task].total
        self.progress.update(task, completed=total, state=f"done in {seconds:.1f} s")
        self.progress.stop_task(task)

    def failed(self, step: str) -> None:
        self.progress.update(self.tasks[step], state="[bold red]failed")
        self.progress.stop_task(self.tasks[step])

    def close(self) -> None:
        self.progress.stop()


def display_for(quiet: bool, stream: TextIO = sys.stderr) -> RunDisplay:
    """Live lines in a terminal, log lines otherwise, nothing with `quiet`."""
    if quiet:
        return RunDisplay()
    console = Console(file=stream)
    return LiveLines(console) if console.is_terminal else LogLines(stream)


class SweepLine:
    """One line for a whole sweep: tasks done, running, cached and failed out of all. Redrawn
    in place in a terminal, a timestamped line per change otherwise; nothing without `stream`."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream
        self.live = bool(stream) and Console(file=stream).is_terminal
        self.last = ""

    def note(self, text: str) -> None:
        """A line of its own (the dashboard's address)."""
        if self.stream:
            print(text, file=self.stream, flush=True)

    def show(self, done: int, running: int, cached: int, failed: int, total: int) -> None:
        """The counts now."""
        text = (
            f"sweep: {done} done ({cached} cached), {running} running, {failed} failed"
            f" of {total} tasks"
        )
        if not self.stream or text == self.last:
            return
        self.last = text
        if self.live:
            print(f"\r{text}\x1b[K", end="", file=self.stream, flush=True)
        else:
            stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            print(f"{stamp} {text}", file=self.stream, flush=True)

    def close(self) -> None:
        """End the line."""
        if self.live and self.last:
            print(file=self.stream, flush=True)
