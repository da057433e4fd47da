"""Executing notebooks: one notebook with papermill in a kernel of its own, and the executor
that runs several at once.

The executor is a seam: the engine submits `run_and_render` calls to any
`concurrent.futures.Executor`. Today that is a local pool of threads, each waiting on its
kernel's process (`local_executor`); a Dask client's executor can take its place. Nothing here
changes the process's working folder: each kernel starts in its own run's staging project, so
two projects, or two runs of one, can execute in one process.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import tempfile
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from notebook_pipeline import kernel, notebook_page
from notebook_pipeline.failures import NotebookStopped
from notebook_pipeline.layout import ProjectLayout
from notebook_pipeline.progress import RunDisplay
from notebook_pipeline.spec import NotebookStep

KERNEL_LOG_SUFFIX = ".kernel.log"
# nbclient reads a cell timeout of 0 as "no limit": a cell started past the deadline gets this.
_NO_TIME_LEFT_SECONDS = 0.001


def local_executor(jobs: int) -> Executor:
    """Up to `jobs` notebooks at a time on this machine: threads, each driving one kernel."""
    return ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="notebook")


def _kernel_manager(log_file: Path, working_dir: Path, sockets_dir: Path):
    """A kernel manager class whose kernels start in `working_dir` (the run's staging project:
    the notebooks' relative paths point from there), write their own stderr and stdout to
    `log_file`, so kernel warnings do not interleave with the run's progress lines, and talk to
    this process over Unix sockets in `sockets_dir` wherever ZeroMQ has them. The kernel runs
    one notebook and ends: it starts without autoreload, debugger or history
    (kernel.for_one_notebook).

    Not over TCP ports: jupyter_client finds a free port by binding and closing it, and the
    kernel binds it a second later, so a kernel started at the same moment by another process
    (another run, a test on another core) can be handed the same port and die at start-up
    (papermill issue 511). A socket file in a folder of the kernel's own cannot be taken."""
    import zmq
    from jupyter_client.manager import AsyncKernelManager

    class KernelManagerWithLog(AsyncKernelManager):
        def __init__(self, **kwargs):
            if zmq.has("ipc"):
                kwargs.update(transport="ipc", ip=str(sockets_dir / "kernel"))
            super().__init__(**kwargs)

        async def start_kernel(self, **kwargs):
            kwargs["cwd"] = str(working_dir)
            with open(log_file, "ab") as log:
                return await super().start_kernel(stdout=log, stderr=log, **kwargs)

        def format_kernel_cmd(self, extra_arguments=None):
            return kernel.for_one_notebook(super().format_kernel_cmd(extra_arguments))

    return KernelManagerWithLog


def code_cell_count(notebook: Path) -> int:
    """The cells papermill will execute: the code cells and its injected parameters cell."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return 1 + sum(cell["cell_type"] == "code" for cell in cells)


@functools.cache
def _papermill_for_threads():
    """papermill, imported on first use (a run with nothing to execute never needs it), with
    a local-file handler that leaves the working folder alone: papermill's own keeps one folder
    for the whole process, which notebooks running in threads would overwrite in turn. Each
    kernel is started in its run's project instead (_kernel_manager); the process's working
    folder is never changed, so runs of several projects can share a process.

    nbclient's own log lines for a dead kernel and a timed-out cell are dropped: the run reports
    both with the notebook, its time limit and the running cell (nbclient's line would give the
    cell's share of the limit as if it were the limit)."""
    import papermill
    from papermill.iorw import LocalHandler, papermill_io

    class LocalHandlerForThreads(LocalHandler):
        def cwd(self, new_path):
            return None

    papermill_io.register("local", LocalHandlerForThreads())
    reported_by_the_run = {"_async_handle_timeout", "_async_check_alive"}
    logging.getLogger("papermill").addFilter(
        lambda record: record.funcName not in reported_by_the_run
    )
    return papermill


class _Execution:
    """What papermill is doing with one notebook, followed through nbclient's hooks: the
    notebook it fills in and the cell it runs. papermill writes the executed notebook only when
    the execution returns; when the kernel dies or time runs out, `stopped` writes it."""

    def __init__(self, output: Path):
        self.output = output
        self.notebook = None
        self.cell_index: int | None = None

    def notebook_started(self, notebook, **_) -> None:
        self.notebook = notebook

    def cell_started(self, cell_index: int, **_) -> None:
        self.cell_index = cell_index

    def stopped(self, reason: str) -> NotebookStopped:
        """Save the notebook as far as it ran, the running cell marked with `reason`."""
        import nbformat

        if self.notebook is not None:
            if self.cell_index is not None:
                self.notebook.cells[self.cell_index].outputs.append(
                    nbformat.v4.new_output(
                        "error", ename=NotebookStopped.__name__, evalue=reason, traceback=[reason]
                    )
                )
            nbformat.write(self.notebook, self.output)
        return NotebookStopped(reason, self.cell_index)


def execute_step(
    step: NotebookStep,
    parameters: dict[str, Any],
    project: ProjectLayout,
    report_staging: Path,
    display: RunDisplay,
) -> float:
    """Execute `step` in the staging project; returns the seconds it took.

    Raises NotebookStopped when its kernel dies or it passes `step.timeout_seconds`; in both
    cases nbclient has stopped the kernel by then."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    papermill = _papermill_for_threads()
    clock = time.perf_counter()
    deadline = time.monotonic() + step.timeout_seconds
    execution = _Execution(report_staging / f"{step.name}.ipynb")
    # A short path of its own: a Unix socket's path may not be much longer than 100 bytes.
    sockets_dir = tempfile.TemporaryDirectory(prefix="kernel-", ignore_cleanup_errors=True)
    try:
        # In an empty context: jupyter_core keeps the event loop nbclient runs on in a context
        # variable, which a context copied from another thread (Dask's in-process workers copy
        # the submitter's) would hand over while that loop runs elsewhere.
        contextvars.Context().run(
            papermill.execute_notebook,
            str(step.path),
            str(execution.output),
            parameters=parameters,
            cwd=None,  # the kernel starts in the staging project (_kernel_manager)
            progress_bar=False,
            request_save_on_cell_execute=False,
            kernel_manager_class=_kernel_manager(
                report_staging / f"{step.name}{KERNEL_LOG_SUFFIX}",
                project.root,
                Path(sockets_dir.name),
            ),
            # nbclient's timeout is per cell; giving each cell what is left of the notebook's
            # time makes it a deadline for the whole notebook.
            timeout_func=lambda cell: max(deadline - time.monotonic(), _NO_TIME_LEFT_SECONDS),
            on_notebook_start=execution.notebook_started,
            on_cell_start=execution.cell_started,
            on_cell_complete=lambda **_: display.cell_done(step.name),
        )
    except CellTimeoutError:
        raise execution.stopped(
            f"stopped at its time limit of {step.timeout_seconds:g} s "
            "(timeout_seconds in pipeline.yaml); its kernel was shut down"
        ) from None
    except DeadKernelError:
        raise execution.stopped(
            "its kernel died: the kernel's process ended (os._exit, a crash, or no memory left)"
        ) from None
    finally:
        sockets_dir.cleanup()
    return time.perf_counter() - clock


def run_and_render(
    step: NotebookStep,
    parameters: dict[str, Any],
    project: ProjectLayout,
    report_staging: Path,
    display: RunDisplay,
    page: notebook_page.PageContext,
) -> float:
    """Execute `step` in the staging project and render its page beside the executed notebook
    in `report_staging`; returns the seconds the execution took."""
    seconds = execute_step(step, parameters, project, report_staging, display)
    notebook_page.render_page(step, parameters, report_staging, page, project)
    return seconds
