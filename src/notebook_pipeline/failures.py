"""Why a run stopped, in words a researcher can act on, and the exit code that says it.

A failed cell is named by its number as the notebook in notebooks/ counts cells, with the line
that raised; a notebook whose kernel died or ran out of time names the running cell; a full disk
names the file system. `notebook_failure` turns any of these into the RunFailed the command
reports.
"""

from __future__ import annotations

import enum
import errno
import json
import re
import textwrap
from pathlib import Path
from typing import Any

_DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


class ExitCode(enum.IntEnum):
    """Exit codes of `chinaflows run` (documented in the README)."""

    OK = 0
    NOTEBOOK_ERROR = 1
    USAGE = 2  # invalid parameters or command-line usage
    INVALID_DATA = 3
    IN_PROGRESS = 4  # another run holds the lock
    DISK_FULL = 5  # no space left on the device while the run was writing


class RunFailed(Exception):
    """A run stopped; `exit_code` says why and the message says what to do."""

    def __init__(self, exit_code: ExitCode, message: str):
        self.exit_code = exit_code
        super().__init__(message)

    def __reduce__(self):
        # Whole across processes: a sweep's task raises it on a Dask worker.
        return type(self), (self.exit_code, str(self))


class NotebookStopped(Exception):
    """A notebook ended before its last cell for a reason outside its code (its kernel died, or
    it ran past its time limit); `cell_index` is the cell that was running."""

    def __init__(self, reason: str, cell_index: int | None):
        self.cell_index = cell_index
        super().__init__(reason)


def _plain(text: str) -> str:
    """Traceback text without the terminal colour codes IPython puts in it."""
    from nbconvert.filters import strip_ansi

    return strip_ansi(text)


def failing_lines(traceback: list[str]) -> list[str]:
    """The lines marked by IPython's arrow in a traceback: the notebook's, then deeper ones."""
    marked = []
    location = ""
    for line in _plain("\n".join(traceback)).splitlines():
        if line.startswith(("Cell In[", "File ")):
            location = line.split(",")[0] if line.startswith("Cell") else line
        match = re.match(r"\s*-+>\s*(\d+)\s?(.*)", line)
        if match:
            marked.append(f"{location}, line {match.group(1)}: {match.group(2).strip()}")
    return marked


def _executed_cells(executed: Path | None) -> list[dict[str, Any]]:
    """The cells of an executed notebook; none if it was not written (whole)."""
    if executed is None:
        return []
    try:
        return json.loads(executed.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return []


def _cell_number_in_notebooks_dir(cells: list[dict[str, Any]], cell_index: int) -> int:
    """Cell `cell_index` of an executed notebook, counted as the notebook in notebooks/ has
    them: without the cells papermill adds (injected parameters, error banner)."""
    added = [
        cell
        for cell in cells[:cell_index]
        if {"injected-parameters", "papermill-error-cell-tag"}
        & set(cell.get("metadata", {}).get("tags", []))
    ]
    return cell_index + 1 - len(added)


def describe_stopped_notebook(step_name: str, executed: Path, error: NotebookStopped) -> str:
    """The terminal's account of a notebook whose kernel died or that ran out of time."""
    lines = [f"{step_name}: {error}"]
    cells = _executed_cells(executed)
    if error.cell_index is not None and error.cell_index < len(cells):
        source = "".join(cells[error.cell_index]["source"]).strip()
        first_line = source.splitlines()[0] if source else ""
        number = _cell_number_in_notebooks_dir(cells, error.cell_index)
        lines.append(f"  running: cell {number}, which begins: {first_line}")
    return "\n".join(lines)


def is_disk_full(error: BaseException) -> bool:
    """Whether `error` is a full disk (or quota): raised here, or in a kernel and passed on by
    papermill as the exception's name and text ("[Errno 28] No space left on device")."""
    if isinstance(error, OSError):
        return error.errno in _DISK_FULL_ERRNOS
    text = getattr(error, "evalue", "")
    return any(text.startswith(f"[Errno {number}]") for number in _DISK_FULL_ERRNOS)


def describe_disk_full(
    error: BaseException, root: Path, step_name: str = "", executed: Path | None = None
) -> str:
    """Which file system filled up, during which notebook, writing what: an OSError raised
    here (papermill's own writes name no file), or papermill's error for a notebook's cell."""
    written = getattr(error, "filename", None) or getattr(error, "filename2", None)
    headline = f"disk full on the file system of {root}"
    if step_name:
        headline += f" while {step_name} ran"
    if written:
        headline += f", writing {written}"
    lines = [f"{headline}; free some space and run again"]
    if not isinstance(error, OSError):
        lines.append(textwrap.indent(describe_notebook_error(step_name, executed, error), "  "))
    return "\n".join(lines)


def describe_notebook_error(step_name: str, executed: Path | None, error) -> str:
    """The terminal's account of a failed cell: where, what, and the line that raised."""
    cell_number = _cell_number_in_notebooks_dir(_executed_cells(executed), error.cell_index)
    lines = [
        f"{step_name}: cell {cell_number} (In [{error.exec_count}]) raised "
        f"{error.ename}: {error.evalue}"
    ]
    marked = failing_lines(error.traceback)
    if marked:
        lines.append(f"  failing line: {marked[0]}")
        lines += [f"  raised from: {line}" for line in marked[1:][-1:]]
    else:
        last = next((ln for ln in reversed(error.source.splitlines()) if ln.strip()), "")
        lines.append(f"  last line of the cell: {last.strip()}")
    return "\n".join(lines)


def notebook_failure(
    step_name: str,
    error: BaseException,
    failed_dir: Path,
    invalid_data_errors: tuple[str, ...],
    kernel_log_suffix: str,
) -> RunFailed:
    """The RunFailed for notebook `step_name` that raised `error`, its executed notebook, page
    and kernel log kept in `failed_dir`: the invalid-data exit code when the notebook raised one
    of `invalid_data_errors` (exception names, from pipeline.yaml), else the notebook-error
    one, with where to look."""
    from papermill.exceptions import PapermillExecutionError

    executed = failed_dir / f"{step_name}.ipynb"
    where = f"\n  failed notebook: {executed}"
    if (failed_dir / f"{step_name}.html").exists():
        where += f"\n  its page: {failed_dir / (step_name + '.html')}"
    if not isinstance(error, PapermillExecutionError):  # the kernel died, a timeout, ...
        kernel_log = failed_dir / f"{step_name}{kernel_log_suffix}"
        if kernel_log.exists():
            where += f"\n  kernel log: {kernel_log}"
        if isinstance(error, NotebookStopped):
            return RunFailed(
                ExitCode.NOTEBOOK_ERROR,
                describe_stopped_notebook(step_name, executed, error) + where,
            )
        return RunFailed(
            ExitCode.NOTEBOOK_ERROR, f"{step_name}: {type(error).__name__}: {error}{where}"
        )
    if error.ename in invalid_data_errors:
        return RunFailed(ExitCode.INVALID_DATA, f"invalid data:\n{error.evalue}{where}")
    return RunFailed(
        ExitCode.NOTEBOOK_ERROR, describe_notebook_error(step_name, executed, error) + where
    )
