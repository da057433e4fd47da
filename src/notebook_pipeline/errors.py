"""The error types the engine maps to exit codes, part of its public base: a study raises them
from its pre-flight check or its notebooks, and each names the file, the row or column, and what
is wrong."""

from __future__ import annotations

from pathlib import Path


class InvalidDataError(ValueError):
    """An input file is unreadable or breaks its declared schema.

    The engine maps it to the invalid-data exit code when the pre-flight check raises it, and
    so it does when a notebook raises it (pipeline.yaml names it in `invalid_data_errors`).
    """

    def __init__(self, file: str | Path, problems: list[str] | str):
        self.file = str(file)
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        shown = self.problems[:10]
        more = len(self.problems) - len(shown)
        lines = [f"{self.file}: {p}" for p in shown]
        if more:
            lines.append(f"{self.file}: ... and {more} more problem(s)")
        super().__init__("\n".join(lines))


class InvalidParameterError(ValueError):
    """A pipeline parameter is unknown, ill-typed or unsafe."""


class AsOfBeforeDataError(InvalidParameterError):
    """The as-of date is before the first date of the fund data: nothing would be left to show.

    Raised by the engine before any kernel starts and by a study's own steps; dates are ISO
    strings (YYYY-MM-DD).
    """

    def __init__(self, as_of: str, first_day: str):
        super().__init__(
            f"the as-of date {as_of} is before the first date in the fund data ({first_day});"
            f" choose {first_day} or later"
        )
