"""The engine's command line: run, status, sweep, cache, serve, check, new, kernel.

A study's command (`chinaflows` for this one) is this parser plus its own verbs: it passes
them to `main` as `StudyCommand`s.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from notebook_pipeline.failures import ExitCode, RunFailed
from notebook_pipeline.layout import ProjectLayout, find_project_root
from notebook_pipeline.progress import display_for
from notebook_pipeline.run import run_pipeline


@dataclass(frozen=True)
class StudyCommand:
    """A study's own verb: its help, its arguments, and what it does (returns an exit code)."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    handle: Callable[[argparse.Namespace], int]


def _parse_assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected name=value, got {text!r}")
    return name.strip(), value


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def _add_project_dir(command: argparse.ArgumentParser) -> None:
    """The project to work on (tests and benchmarks point it at a copy)."""
    command.add_argument(
        "--project-dir",
        type=lambda d: ProjectLayout(Path(d).resolve()),
        default=None,
        metavar="DIR",
        help=argparse.SUPPRESS,
    )


def _add_command(commands, name: str, help: str) -> argparse.ArgumentParser:
    """A subcommand; each works on a project (--project-dir)."""
    command = commands.add_parser(name, help=help)
    _add_project_dir(command)
    return command


def _add_run_settings(command: argparse.ArgumentParser) -> None:
    """What a run is asked for: `run` runs it, `status` says what running it would do."""
    command.add_argument(
        "--as-of",
        help="last date of data to use (YYYY-MM-DD); default: the last date in the flow data",
    )
    command.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        type=_parse_assignment,
        metavar="NAME=VALUE",
        help="override a notebook parameter (repeatable)",
    )
    command.add_argument("--show-code", action="store_true", help="keep code cells in the pages")


def build_parser(
    prog: str, description: str, study_commands: dict[str, StudyCommand]
) -> argparse.ArgumentParser:
    """The command line: the engine's verbs, then the study's."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog="Exit codes: " + ", ".join(f"{c.value} {c.name.lower()}" for c in ExitCode),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = _add_command(commands, "run", help="execute the pipeline and publish reports/<as_of>/")
    _add_run_settings(run)
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
    status = _add_command(
        commands,
        "status",
        help="say which notebooks a run would execute and why, without running anything",
    )
    _add_run_settings(status)
    status.add_argument(
        "--sweep", metavar="NAME", help="say what `sweep NAME` would execute instead"
    )
    sweep = _add_command(
        commands,
        "sweep",
        help="run every combination of a sweep in pipeline.yaml as one graph on Dask and "
        "publish reports/sweeps/NAME/",
    )
    sweep.add_argument("name", metavar="NAME", help="a sweep declared under `sweeps:`")
    sweep.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="an existing Dask cluster's scheduler (address or scheduler file); "
        "default: a local cluster, one worker per core",
    )
    sweep.add_argument(
        "--pages",
        choices=["all", "none"],
        help="publish each combination's notebook pages (default: all up to 50 combinations)",
    )
    sweep.add_argument("--force", action="store_true", help="execute every task again")
    sweep.add_argument("--show-code", action="store_true", help="keep code cells in the pages")
    cache = _add_command(commands, "cache", help="manage the step store in .chinaflows/cache/")
    cache.add_argument("action", choices=["prune"], help="prune: delete unused entries")
    cache.add_argument(
        "--keep-days",
        type=float,
        default=30,
        metavar="N",
        help="keep entries made or reused in the last N days (default 30)",
    )
    serve = _add_command(
        commands,
        "serve",
        help="preview the published reports in a browser at http://127.0.0.1:PORT/",
    )
    serve.add_argument(
        "--port",
        type=int,
        default=8000,
        help="port on 127.0.0.1 (default: 8000; 0 picks a free one)",
    )
    _add_command(
        commands, "check", help="check that pipeline.yaml and the notebooks in notebooks/ agree"
    )
    new = _add_command(
        commands,
        "new",
        help="copy notebooks/_template.ipynb to notebooks/NN_NAME.ipynb and print its "
        "pipeline.yaml entry",
    )
    new.add_argument("name", metavar="NAME", help="lower-case words joined by '_', e.g. fund_sizes")
    _add_command(
        commands,
        "kernel",
        help="register the project's Jupyter kernel in this environment (`make` does it)",
    )
    for name, command in study_commands.items():
        command.add_arguments(_add_command(commands, name, help=command.help))
    return parser


class _QuietRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files; logs only failed requests (the terminal keeps the address readable)."""

    def log_request(self, code="-", size="-"):
        if isinstance(code, int) and code >= 400:
            super().log_request(code, size)


def serve_reports(reports_dir: Path, port: int = 8000, prog: str = "notebook-pipeline") -> int:
    """Serve `reports_dir` on 127.0.0.1 (this machine only) until Ctrl-C."""
    if not (reports_dir / "index.html").is_file():
        print(
            f"{prog}: nothing published yet in {reports_dir}; run `{prog} run` first",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    handler = functools.partial(_QuietRequestHandler, directory=str(reports_dir))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as error:
        print(f"{prog}: cannot listen on 127.0.0.1:{port}: {error}", file=sys.stderr)
        return ExitCode.USAGE
    # Ctrl-C stops the server even where it was started with SIGINT ignored (in the background).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with server:
        print(f"Serving {reports_dir} at http://127.0.0.1:{server.server_port}/", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("Stopped.", flush=True)
    return ExitCode.OK


def check_project(layout: ProjectLayout, prog: str = "notebook-pipeline") -> int:
    """Print whether pipeline.yaml and the notebooks agree; exit code USAGE if not, the code
    `run` gives when it refuses a pipeline.yaml parameter before any kernel starts."""
    from notebook_pipeline.checks import check_pipeline

    check = check_pipeline(layout)
    if check.problems:
        print(
            f"{prog}: pipeline.yaml and notebooks/ disagree, {len(check.problems)} problem(s):",
            *check.problems,
            sep="\n  ",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    print(
        f"ok: pipeline.yaml and notebooks/ agree ({check.notebooks} notebooks, "
        f"{check.parameters} parameter values and {check.inputs} inputs checked)"
    )
    return ExitCode.OK


def new_notebook(layout: ProjectLayout, name: str, prog: str = "notebook-pipeline") -> int:
    """Copy the template to a new numbered notebook; print its pipeline.yaml entry to stdout,
    and to stderr what to do with it (the entry is printed, not written: pipeline.yaml is
    written by hand, with its comments, and the researcher sets the inputs and outputs)."""
    from notebook_pipeline.new_notebook import (
        NotebookNotCreated,
        add_step_notebook,
        template_entry,
    )
    from notebook_pipeline.spec import load_pipeline, project_relative

    try:
        created = add_step_notebook(layout, name)
    except NotebookNotCreated as refusal:
        print(f"{prog}: {refusal}", file=sys.stderr)
        return ExitCode.USAGE
    print(
        f"Created {project_relative(layout, created)}. Fill in its parameters cell, "
        f"add this entry under `notebooks:` in pipeline.yaml and run `{prog} check`:",
        file=sys.stderr,
    )
    # What the template reads, as pipeline.yaml declares it (a project may not have one yet).
    has_pipeline = layout.pipeline_file.is_file()
    inputs = load_pipeline(layout).study.template_inputs if has_pipeline else ()
    print(template_entry(created.stem, inputs), end="")
    return ExitCode.OK


def _sweep(args: argparse.Namespace, prog: str) -> int:
    """`sweep NAME`: run it, print its page and the failures; the exit code of the first."""
    from notebook_pipeline.progress import SweepLine
    from notebook_pipeline.sweep_run import run_sweep

    try:
        outcome = run_sweep(
            args.project_dir,
            args.name,
            scheduler=args.scheduler,
            pages=args.pages,
            force=args.force,
            show_code=args.show_code,
            line=SweepLine(sys.stderr),
        )
    except RunFailed as failure:
        print(f"{prog}: {failure}", file=sys.stderr)
        return failure.exit_code
    print(
        f"{outcome.executed} notebook(s) executed, {outcome.cached} from the step store; "
        f"{len(outcome.published)} combination(s) published",
        file=sys.stderr,
    )
    for failure in outcome.failures:
        print(f"{prog}: {failure.combination} failed at {failure.step}:", file=sys.stderr)
        print(f"  {failure.message}", file=sys.stderr)
    print(outcome.folder / "index.html")
    return outcome.failures[0].exit_code if outcome.failures else ExitCode.OK


def main(
    argv: list[str] | None = None,
    *,
    prog: str = "notebook-pipeline",
    description: str = "Run a pipeline of notebooks and publish their reports.",
    study_commands: dict[str, StudyCommand] | None = None,
) -> int:
    """Parse `argv` and do what it asks; returns the exit code."""
    study_commands = study_commands or {}
    try:
        args = build_parser(prog, description, study_commands).parse_args(argv)
    except SystemExit as exit_:
        return ExitCode.USAGE if exit_.code else ExitCode.OK
    # The project: --project-dir, else the one around the working folder.
    if args.project_dir is None:
        args.project_dir = ProjectLayout(find_project_root())
        if not args.project_dir.pipeline_file.is_file():
            print(
                f"{prog}: no pipeline.yaml in {args.project_dir.root} or any folder above it; "
                "run this inside the project (or set CHINAFLOWS_ROOT to its folder)",
                file=sys.stderr,
            )
            return ExitCode.USAGE
    if args.command in study_commands:
        return study_commands[args.command].handle(args)
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
            print(f"{prog}: {failure}", file=sys.stderr)
            return failure.exit_code
        print(report_dir / "index.html")
    elif args.command == "sweep":
        return _sweep(args, prog)
    elif args.command == "cache":
        from notebook_pipeline.step_cache import StepCache

        pruned = StepCache(args.project_dir.cache_dir).prune(args.keep_days)
        print(f"pruned {len(pruned)} step store entries unused for {args.keep_days:g} days")
    elif args.command == "status" and args.sweep:
        from notebook_pipeline.sweep_status import describe_sweep, sweep_status

        try:
            print(describe_sweep(sweep_status(args.project_dir, args.sweep, args.show_code)))
        except RunFailed as failure:
            print(f"{prog}: {failure}", file=sys.stderr)
            return failure.exit_code
    elif args.command == "status":
        from notebook_pipeline.status import describe, pipeline_status

        try:
            statuses = pipeline_status(
                args.project_dir,
                args.as_of,
                dict(args.parameter),
                show_code=args.show_code,
            )
        except RunFailed as failure:
            print(f"{prog}: {failure}", file=sys.stderr)
            return failure.exit_code
        print(describe(statuses))
    elif args.command == "serve":
        return serve_reports(args.project_dir.reports_dir, args.port, prog)
    elif args.command == "check":
        return check_project(args.project_dir, prog)
    elif args.command == "new":
        return new_notebook(args.project_dir, args.name, prog)
    elif args.command == "kernel":
        from notebook_pipeline.kernel import register_kernel

        name, folder = register_kernel(args.project_dir)
        print(f"{name} registered in {folder}")
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
