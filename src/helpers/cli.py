"""The `chinaflows` command."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from helpers.paths import DEFAULT_LAYOUT, ProjectLayout
from helpers.progress import display_for
from helpers.runner import ExitCode, RunFailed, run_pipeline


def _parse_assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected name=value, got {text!r}")
    return name.strip(), value


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chinaflows",
        description="Run the china-tech-flows notebooks and publish their reports.",
        epilog="Exit codes: " + ", ".join(f"{c.value} {c.name.lower()}" for c in ExitCode),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="execute the pipeline and publish reports/<as_of>/")
    run.add_argument(
        "--as-of",
        help="last date of data to use (YYYY-MM-DD); default: the last date in the flow data",
    )
    run.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        type=_parse_assignment,
        metavar="NAME=VALUE",
        help="override a notebook parameter (repeatable)",
    )
    run.add_argument("--show-code", action="store_true", help="keep code cells in the pages")
    run.add_argument(
        "--jobs",
        type=_positive_int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="notebooks run at the same time when independent (default: the number of cores)",
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="execute every notebook, even those whose code, parameters and inputs are unchanged",
    )
    run.add_argument(
        "--wait",
        type=float,
        default=0,
        metavar="SECONDS",
        help="if another run is in progress, wait this long for it before giving up (exit 4)",
    )
    run.add_argument("--quiet", action="store_true", help="print only errors and the report's path")
    run.add_argument(
        "--project-dir",
        type=lambda d: ProjectLayout(Path(d).resolve()),
        default=DEFAULT_LAYOUT,
        metavar="DIR",
        help=argparse.SUPPRESS,
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:
        return ExitCode.USAGE if exit_.code else ExitCode.OK
    if args.command == "run":
        try:
            report_dir = run_pipeline(
                args.project_dir,
                as_of=args.as_of,
                overrides=dict(args.parameter),
                show_code=args.show_code,
                jobs=args.jobs,
                force=args.force,
                display=display_for(args.quiet),
                lock_timeout=args.wait,
            )
        except RunFailed as failure:
            print(f"chinaflows: {failure}", file=sys.stderr)
            return failure.exit_code
        print(report_dir / "index.html")
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
