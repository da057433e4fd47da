"""The `chinaflows` command: where the study and the engine meet.

It is the engine's command line (notebook_pipeline.cli: run, status, serve, check, new, kernel)
with the study's own verbs added in STUDY_COMMANDS.
"""

from __future__ import annotations

import sys

from helpers.fetch.command import add_fetch_arguments, run_fetch
from notebook_pipeline import cli
from notebook_pipeline.cli import StudyCommand

# The study's own verbs, by name (each a StudyCommand).
STUDY_COMMANDS: dict[str, StudyCommand] = {
    "fetch": StudyCommand(
        help="download real fund data (issuer histories and snapshots, SEC N-PORT) into"
        " data/raw/fetched/, checked, and kept as it arrived",
        add_arguments=add_fetch_arguments,
        handle=run_fetch,
    ),
}


def main(argv: list[str] | None = None) -> int:
    """`chinaflows ...`; returns the exit code."""
    return cli.main(
        argv,
        prog="chinaflows",
        description="Run the china-tech-flows notebooks and publish their reports.",
        study_commands=STUDY_COMMANDS,
    )


if __name__ == "__main__":
    sys.exit(main())
