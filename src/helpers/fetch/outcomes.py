"""What a fetch did, per fund and source, and the exit code that says it to a scheduler.

The run ends with a table (fund, source, rows new, rows unchanged, rows restated, status), the
notes that explain each status that is not plain (a failure's address and cause, a skipped
source and how to enable it, restated rows), and one closing line. With no network at all the
whole account is one line.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from helpers.fetch.kept_files import RowCounts
from helpers.fetch.transport import SourceFailure


class FetchExitCode(enum.IntEnum):
    """Exit codes of `chinaflows fetch` (documented in the README). 2 and 4 mean what they mean
    for `chinaflows run`; 6 and 7 are the fetch's own, unused by `run`."""

    OK = 0  # every source that was tried answered (skipped sources aside)
    USAGE = 2  # bad arguments or sources file: nothing was fetched
    IN_PROGRESS = 4  # another fetch works in the project, or a run held the lock too long
    SOME_FAILED = 6  # some sources failed: what the others sent is kept
    ALL_FAILED = 7  # every source tried failed: nothing new was kept


# The statuses of a source for a fund.
KEPT = "kept"  # a new download kept
UNCHANGED = "unchanged"  # byte-identical to the last kept one: not kept again
UP_TO_DATE = "up to date"  # the SEC listed no filing that is not already kept
CHECKED = "format ok"  # --check: the expected format (nothing kept)
FAILED = "failed"
SKIPPED = "skipped"  # not tried: the sources file lacks something (said in the notes)
NOT_FETCHED = "not fetched"  # no source in a documented format (sources file, not_fetched)
_ANSWERED = {KEPT, UNCHANGED, UP_TO_DATE, CHECKED}

SOURCE_ORDER = ("ishares", "xtrackers", "invesco_navs", "invesco_prices", "issuer", "sec_nport")


@dataclass
class SourceOutcome:
    """What one source gave for one fund."""

    ticker: str
    source: str
    status: str
    counts: RowCounts = field(default_factory=RowCounts)
    notes: list[str] = field(default_factory=list)
    failure: SourceFailure | None = None

    @property
    def answered(self) -> bool:
        """Whether the source answered with what it is known to send."""
        return self.status in _ANSWERED

    @property
    def failed(self) -> bool:
        """Whether the source was tried (or should have been) and failed."""
        return self.status == FAILED


@dataclass
class FetchReport:
    """Every outcome of a fetch, in the order of the funds asked for."""

    outcomes: list[SourceOutcome]
    checking: bool = False

    def exit_code(self) -> FetchExitCode:
        """OK when nothing failed, ALL_FAILED when nothing tried answered, else SOME_FAILED."""
        if not any(o.failed for o in self.outcomes):
            return FetchExitCode.OK
        if any(o.answered for o in self.outcomes):
            return FetchExitCode.SOME_FAILED
        return FetchExitCode.ALL_FAILED

    def unreachable(self) -> SourceFailure | None:
        """A failure standing for all when every request made failed to connect (no network):
        nothing answered, and every failure that made a request could not connect."""
        made_requests = [o.failure for o in self.outcomes if o.failure is not None]
        if any(o.answered for o in self.outcomes) or not made_requests:
            return None
        return made_requests[0] if all(f.unreachable for f in made_requests) else None

    def summary(self) -> str:
        """The table, its notes and the closing line."""
        if self.checking:
            return self._check_summary()
        header = ("fund", "source", "rows new", "rows unchanged", "rows restated", "status")
        lines = [header]
        for outcome in self.outcomes:
            tried = outcome.status not in (SKIPPED, NOT_FETCHED)
            counts = outcome.counts
            numbers = (counts.new, counts.unchanged, counts.restated) if tried else ("",) * 3
            lines.append((outcome.ticker, outcome.source, *map(str, numbers), outcome.status))
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        table = [
            "  ".join(
                cell.rjust(width) if 2 <= i <= 4 else cell.ljust(width)
                for i, (cell, width) in enumerate(zip(line, widths, strict=True))
            ).rstrip()
            for line in lines
        ]
        return "\n".join([*table, *self._notes(), self._closing_line()])

    def _notes(self) -> list[str]:
        notes = [f"  {o.ticker} {o.source}: {note}" for o in self.outcomes for note in o.notes]
        return ["", "Notes:", *notes] if notes else []

    def _closing_line(self) -> str:
        answered = sum(o.answered for o in self.outcomes)
        failed = sum(o.failed for o in self.outcomes)
        restated = sum(o.counts.restated for o in self.outcomes)
        line = f"\n{answered} source(s) answered, {failed} failed"
        if restated:
            line += f"; {restated} row(s) restated by their source (earlier files kept)"
        return f"{line} (exit code {self.exit_code().value})"

    def _check_summary(self) -> str:
        lines = [
            f"{o.source} ({o.ticker}): {o.status}" + (f": {'; '.join(o.notes)}" if o.notes else "")
            for o in self.outcomes
            if o.status != NOT_FETCHED
        ]
        return "\n".join([*lines, self._closing_line()])
