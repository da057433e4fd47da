"""Faults during a run: the runner killed mid-notebook or at each moment of publishing, a
kernel that dies, a notebook that hangs past its time limit, a full disk, two runs started at
once. Each leaves the published data and reports whole, nothing but the site under reports/,
and says what happened.

On the diamond project (diamond_project.py) whose `right` notebook can misbehave on demand.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
import yaml
from diamond_project import (
    AS_OF,
    PIPELINE,
    cli_command,
    cli_in_process,
    copy_project,
    make_diamond_project,
    published,
    refuse_kernels,
    run_once_for_all,
    write_notebook,
)
from kill_at import MOMENT_ENV_VAR, MOMENTS
from reliability import describe_run
from waiting import wait_until

from helpers.paths import ProjectLayout
from notebook_pipeline import files
from notebook_pipeline.execution import KERNEL_LOG_SUFFIX
from notebook_pipeline.failures import ExitCode
from notebook_pipeline.staging import INCOMING_PREFIX, publishing_lock, staging_folders

RELIABILITY_AREA = "fault"
pytestmark = [pytest.mark.pipeline, pytest.mark.reliability]

# `right` of the diamond, with switches for each fault. Its kernel writes its process id to
# signals/right.pid; signals/ is the folder where the test and the kernel meet.
FAULTY_RIGHT = (
    'processed_dir = "data/processed"\n'
    'signal_dir = "signals"  # where the kernel and the test signal each other\n'
    "wait_for_release = False  # wait until signal_dir/release exists\n"
    "exit_kernel = False  # end the kernel's process in the middle of the cell\n"
    "filler_mib = 0  # MiB written to processed_dir before the output, to fill a disk\n"
    "remove_filler = False  # on an error while writing it, remove the filler, then raise",
    "import os, time\n"
    "from pathlib import Path\n"
    "Path(signal_dir, 'right.pid').write_text(str(os.getpid()))\n"
    "while wait_for_release and not Path(signal_dir, 'release').exists():\n"
    "    time.sleep(0.05)\n"
    "if exit_kernel:\n"
    "    os._exit(1)\n"
    "if filler_mib:\n"
    "    filler = Path(processed_dir, 'filler.bin')\n"
    "    try:\n"
    "        with open(filler, 'wb') as out:\n"
    "            for _ in range(filler_mib):\n"
    "                out.write(bytes(2**20))\n"
    "    except OSError:\n"
    "        if remove_filler:\n"
    "            filler.unlink()\n"
    "        raise\n"
    "total = int(Path(processed_dir, 'total.txt').read_text())\n"
    "Path(processed_dir, 'right.txt').write_text(str(total % 2))",
)
FAULTY_CELL_NUMBER = 3  # its code cell, after the title and the parameters cell
PAGES = ["source", "left", "right", "join"]
SMALL_DISK_MIB = 16  # holds a few runs of the diamond (about 2.5 MiB each)


def faulty_project(root: Path) -> ProjectLayout:
    project = make_diamond_project(root)
    write_notebook(project.notebooks_dir / "right.ipynb", *FAULTY_RIGHT)
    (root / "signals").mkdir()
    return project


@pytest.fixture
def project(tmp_path) -> ProjectLayout:
    return faulty_project(tmp_path)


@pytest.fixture(scope="session")
def faulty_project_that_ran(tmp_path_factory) -> Path:
    """The faulty project after a run with factor=3 and then one with its switches off, which
    is what it publishes; once for the whole test run. The tests that kill a run with factor=3
    while it publishes find its notebooks' executions in the step store."""
    return run_once_for_all(tmp_path_factory, faulty_project, earlier_overrides=({"factor": 3},))


@pytest.fixture
def ran(faulty_project_that_ran, tmp_path) -> ProjectLayout:
    """The faulty project after its runs with its switches off and with factor=3: a copy of the
    project that the whole test run shares, so that the test starts no kernel for them."""
    return copy_project(faulty_project_that_ran, tmp_path)


@pytest.fixture
def kernels_to_end():
    """Process ids of kernels the test starts; any still running at the end is killed."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if not process_ended(pid):
            os.kill(pid, signal.SIGKILL)


def process_ended(pid: int) -> bool:
    """Gone, or a zombie (ended; its new parent has not collected it yet)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def kernel_pid(project: ProjectLayout) -> int:
    """The process id `right`'s kernel wrote (0 until it has written it)."""
    pid_file = project.root / "signals" / "right.pid"
    return int(pid_file.read_text() or 0) if pid_file.exists() else 0


KILL_AT = Path(__file__).parents[1] / "support" / "kill_at.py"
OTHER_AS_OF = "2025-07-31"  # a second run folder, which the site index must come to list


def unpublished_entries(project: ProjectLayout) -> list[str]:
    """What under reports/ is no part of the site: hidden or private entries (staging,
    retired or incoming folders, _failed) and kernel logs, anywhere in it."""
    return sorted(
        str(path.relative_to(project.reports_dir))
        for path in project.reports_dir.rglob("*")
        if path.name.startswith((".", "_")) or path.name.endswith(KERNEL_LOG_SUFFIX)
    )


def site_index_problems(project: ProjectLayout) -> list[str]:
    """Where reports/index.html and the run folders a reader can open disagree (nothing, when
    consistent; a hidden folder is no part of the site)."""
    folders = {
        run.parent.name
        for run in project.reports_dir.glob("*/run.json")
        if not run.parent.name.startswith((".", "_"))
    }
    listed = set(
        re.findall(r'data-run="([^"]+)"', (project.reports_dir / "index.html").read_text())
    )
    return [f"{f} is not listed" for f in sorted(folders - listed)] + [
        f"{f} is listed but not published" for f in sorted(listed - folders)
    ]


def whole_report_problems(project: ProjectLayout, as_of: str = AS_OF) -> list[str]:
    """What is missing or broken in the published report, or left behind by a run (nothing,
    when it is whole and the run done)."""
    problems = report_folder_problems(project, as_of)
    return problems + [f"{path} was left behind" for path in staging_folders(project)]


def report_folder_problems(project: ProjectLayout, as_of: str) -> list[str]:
    """What is missing or broken in reports/<as_of>/ (nothing, when it is whole)."""
    folder = project.report_dir(as_of)
    wanted = ["index.html", "run.json"] + [f"{p}.{ext}" for p in PAGES for ext in ("html", "ipynb")]
    problems = [f"{name} is missing" for name in wanted if not (folder / name).is_file()]
    if not problems:
        run = json.loads((folder / "run.json").read_text())
        if [nb["name"] for nb in run["notebooks"]] != PAGES:
            problems.append(f"run.json lists {[nb['name'] for nb in run['notebooks']]}")
    return problems


# --- the runner killed in the middle of a notebook -------------------------------------------


def test_runner_killed_mid_notebook_publishes_nothing_and_the_next_run_recovers(
    ran, reliability, kernels_to_end, capsys
):
    project = ran
    before = published(project)
    pid_file = project.root / "signals" / "right.pid"
    pid_file.unlink()

    # factor=3: source rewrites total.txt (in the staging project) before right hangs
    killed = subprocess.Popen(
        cli_command(project, "--as-of", AS_OF, "-p", "factor=3", "-p", "wait_for_release=true"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until(lambda: kernel_pid(project) > 0), "right's kernel did not start"
        kernel = kernel_pid(project)
        kernels_to_end.append(kernel)
    finally:
        killed.send_signal(signal.SIGKILL)  # the runner only: its kernel is left orphaned
        killed.wait()
    kernel_ended = wait_until(lambda: process_ended(kernel))
    unchanged = published(project) == before
    left_behind = staging_folders(project)
    under_reports = unpublished_entries(project)

    again = cli_in_process(project, "--as-of", AS_OF, "-p", "factor=3", capsys=capsys)
    swept = not any(path.exists() for path in left_behind)
    reliability.record(
        "runner killed mid-notebook",
        "kill -9 the runner (not its kernel) while `right` runs; then run again",
        f"published files {'unchanged' if unchanged else 'CHANGED'}; "
        f"{len(left_behind)} staging folder(s) left; "
        f"orphaned kernel {'exited' if kernel_ended else 'STILL RUNNING'}; "
        f"next run {describe_run(again)}; staging folders {'swept' if swept else 'NOT swept'}",
    )
    assert unchanged
    assert left_behind, "the run was not killed in the middle"
    assert not any(project.reports_dir in path.parents for path in left_behind)
    assert under_reports == []
    assert kernel_ended  # ipykernel exits when the process that started it is gone
    assert again.returncode == ExitCode.OK, again.stderr
    assert swept
    assert (project.processed_dir / "total.txt").read_text() == "18"
    assert whole_report_problems(project) == []
    assert unpublished_entries(project) == []
    assert site_index_problems(project) == []


def test_runner_killed_while_swapping_the_report_in_gets_it_back(ran, reliability):
    """Between replace_folder's two renames the report is moved aside and its place is empty;
    the next publisher puts it back as it takes the publishing lock (and drops an aside copy
    whose place was refilled)."""
    project = ran
    before = published(project)
    report = project.report_dir(AS_OF)
    report.rename(report.with_name(f"{files.RETIRED_PREFIX}{AS_OF}-0123abcd"))
    stale_copy = project.reports_dir / f"{files.RETIRED_PREFIX}index.html-89abcdef"
    stale_copy.mkdir()  # a retired folder whose place is taken: deleted
    with publishing_lock(project):
        pass
    reliability.record(
        "killed between the two renames that swap a report in",
        f"reports/{AS_OF} moved aside as {files.RETIRED_PREFIX}{AS_OF}-…, as a kill leaves it",
        "the next publisher put it back: "
        + ("byte-identical" if published(project) == before else "NOT as it was"),
    )
    assert published(project) == before
    assert whole_report_problems(project) == []


def kill_at(project: ProjectLayout, moment: str, *args: str) -> subprocess.CompletedProcess:
    """`chinaflows run` on `project`, killed with SIGKILL at `moment` (kill_at.MOMENTS)."""
    command = [sys.executable, str(KILL_AT), *cli_command(project, *args)[3:]]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, MOMENT_ENV_VAR: moment},
    )


def reports_part(snapshot: dict[str, bytes], but: str | None = None) -> dict[str, bytes]:
    """The reports/ files of a `published` snapshot, without those of reports/<but>/."""
    return {
        k: v
        for k, v in snapshot.items()
        if k.startswith("reports/") and not (but and k.startswith(f"reports/{but}/"))
    }


@pytest.mark.parametrize(
    ("moment", "as_of"),
    [
        # a new as-of date: its folder must not appear, nor the site index change
        pytest.param("before-publishing", OTHER_AS_OF, id="before-publishing"),
        # the same date: the report folder it replaces is moved aside when the kill comes
        pytest.param("between-renames", AS_OF, id="between-renames"),
        # a new as-of date: its folder is in place, the site index does not list it yet
        pytest.param("before-site-index", OTHER_AS_OF, id="before-site-index"),
    ],
)
def test_runner_killed_while_publishing_leaves_the_site_whole(
    ran, reliability, moment, as_of, capsys
):
    project = ran
    before = published(project)

    killed = kill_at(project, moment, "--as-of", as_of, "--quiet", "-p", "factor=3")
    after = published(project)
    under_reports = unpublished_entries(project)
    new_report = report_folder_problems(project, as_of)

    again = cli_in_process(project, "--as-of", AS_OF, "-p", "factor=3", capsys=capsys)
    reliability.record(
        f"runner killed {moment}",
        f"kill -9 the runner {MOMENTS[moment]} (--as-of {as_of}); then run again",
        f"reports/ {'unchanged' if after == before else 'changed'}; "
        f"under reports/ after the kill: {under_reports or 'only the site'}; "
        f"next run {describe_run(again)}; site index: "
        + ("consistent" if again.returncode == 0 and not site_index_problems(project) else "NOT"),
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    if moment == "before-publishing":
        assert after == before  # data/processed and reports/ byte-identical
        assert under_reports == []
    elif moment == "between-renames":
        # The old report folder is whole, moved aside under a hidden name no index links;
        # everything else of reports/ is as it was.
        assert not any(k.startswith(f"reports/{AS_OF}/") for k in after)  # moved aside
        [retired] = under_reports
        assert retired.startswith(f"{files.RETIRED_PREFIX}{AS_OF}-")
        moved_aside = {
            k.replace(f"reports/{retired}/", f"reports/{AS_OF}/"): v
            for k, v in reports_part(after).items()
        }
        assert moved_aside == reports_part(before)
    else:
        # The new run folder is whole; the rest of reports/ is as it was.
        assert new_report == []
        assert under_reports == []
        assert reports_part(after, but=as_of) == reports_part(before)  # index.html too

    assert again.returncode == ExitCode.OK, again.stderr
    assert (project.processed_dir / "total.txt").read_text() == "18"
    assert whole_report_problems(project) == []
    assert unpublished_entries(project) == []
    assert site_index_problems(project) == []
    assert not project.publishing_marker.exists()
    if moment == "before-site-index":
        assert (project.reports_dir / as_of).is_dir()  # listed now: finished by the next run


def test_runner_killed_copying_onto_a_reports_mount_leaves_only_a_hidden_copy(ran, capsys):
    """reports/ on a file system of its own: a kill while the finished report is copied in
    leaves a hidden, unlinked reports/.incoming-* folder, which the next run deletes."""
    project = ran
    before = published(project)

    killed = kill_at(project, "copying-in", "--as-of", AS_OF, "--quiet", "-p", "factor=3")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    [incoming, *_] = unpublished_entries(project)
    assert incoming.startswith(INCOMING_PREFIX)
    assert all(entry.startswith(incoming) for entry in unpublished_entries(project))
    assert reports_part(published(project), but=incoming) == reports_part(before)
    assert site_index_problems(project) == []

    again = cli_in_process(project, "--as-of", AS_OF, "-p", "factor=3", capsys=capsys)
    assert again.returncode == ExitCode.OK, again.stderr
    assert unpublished_entries(project) == []
    assert whole_report_problems(project) == []
    assert site_index_problems(project) == []


def test_reports_on_a_mount_of_its_own_is_published_whole(project, reliability, capsys):
    """reports/ a mount point (a tmpfs here): a rename from .chinaflows/ cannot reach it, so the
    finished report is copied in and renamed; nothing else of the run enters it."""
    project.reports_dir.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command to mount reports/")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(project.reports_dir)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        assert os.path.ismount(project.reports_dir)
        first = cli_in_process(project, "--as-of", AS_OF, capsys=capsys)
        again = cli_in_process(project, "--as-of", AS_OF, "-p", "factor=3", capsys=capsys)
        failed = cli_in_process(project, "--as-of", AS_OF, "-p", "fail=true", capsys=capsys)
        reliability.record(
            "reports/ is a mount point",
            "a tmpfs mounted on reports/; run, run again with a change, then a failing run",
            f"{describe_run(first)}, then {describe_run(again)}, then {describe_run(failed)}; "
            f"under reports/: {unpublished_entries(project) or 'only the site'}",
        )
        assert first.returncode == ExitCode.OK, first.stderr
        assert again.returncode == ExitCode.OK, again.stderr
        assert failed.returncode == ExitCode.NOTEBOOK_ERROR, failed.stderr
        assert f"failed notebook: {project.failed_reports_dir / AS_OF / 'join.ipynb'}" in (
            failed.stderr
        )
        assert (project.processed_dir / "total.txt").read_text() == "18"
        assert whole_report_problems(project) == []
        assert unpublished_entries(project) == []
        assert site_index_problems(project) == []
    finally:
        subprocess.run(["umount", "--lazy", str(project.reports_dir)], check=True)


# --- a kernel that dies, a notebook past its time limit --------------------------------------


def test_kernel_that_dies_fails_the_run_naming_the_notebook(project, reliability, capsys):
    result = cli_in_process(project, "--as-of", AS_OF, "-p", "exit_kernel=true", capsys=capsys)
    reliability.record_run(
        "kernel dies", "`right` calls os._exit(1) in a cell (-p exit_kernel=true)", result
    )
    assert result.returncode == ExitCode.NOTEBOOK_ERROR
    failed = project.failed_reports_dir / AS_OF
    assert project.reports_dir not in failed.parents
    assert (failed / "right.kernel.log").is_file()
    assert unpublished_entries(project) == []
    assert "chinaflows: right: its kernel died" in result.stderr
    assert f"running: cell {FAULTY_CELL_NUMBER}, which begins: import os, time" in result.stderr
    assert f"failed notebook: {failed / 'right.ipynb'}" in result.stderr
    assert f"kernel log: {failed / 'right.kernel.log'}" in result.stderr
    assert not project.report_dir(AS_OF).exists()


def test_notebook_naming_a_kernel_this_environment_lacks_is_refused(project, reliability, capsys):
    notebook = project.notebooks_dir / "right.ipynb"
    record = json.loads(notebook.read_text())
    record["metadata"]["kernelspec"]["name"] = "no-such-kernel"
    notebook.write_text(json.dumps(record))
    before = published(project)
    result = cli_in_process(project, "--as-of", AS_OF, capsys=capsys)
    reliability.record_run(
        "kernel not registered", "`right` names the kernel no-such-kernel", result
    )
    assert result.returncode == ExitCode.USAGE
    assert (
        "right: its notebook names the Jupyter kernel 'no-such-kernel', which is not registered"
        in result.stderr
    )
    assert "`chinaflows kernel`" in result.stderr
    assert published(project) == before


@pytest.mark.xdist_group("timing")  # its timings: one worker runs the timed tests in turn
def test_notebook_past_its_time_limit_is_stopped(tmp_path, reliability, capsys, kernels_to_end):
    # Each cell takes less than the limit, the two together more: the limit is the notebook's.
    limit, seconds_per_cell = 14, 8  # leaves the kernel 6 s to start
    project = make_diamond_project(tmp_path)
    (tmp_path / "signals").mkdir()
    pipeline = yaml.safe_load(yaml.safe_dump(PIPELINE))
    pipeline["notebooks"]["right"]["timeout_seconds"] = limit
    project.pipeline_file.write_text(yaml.safe_dump(pipeline, sort_keys=False))
    write_notebook(
        project.notebooks_dir / "right.ipynb",
        'processed_dir = "data/processed"\nsignal_dir = "signals"  # the kernel writes its pid',
        "import os, time\nfrom pathlib import Path\n"
        "Path(signal_dir, 'right.pid').write_text(str(os.getpid()))\n"
        f"time.sleep({seconds_per_cell})",
        f"time.sleep({seconds_per_cell})  # the second cell",
    )

    result = cli_in_process(project, "--as-of", AS_OF, capsys=capsys)
    kernel = kernel_pid(project)
    kernels_to_end.append(kernel)
    reliability.record_run(
        "notebook past its time limit",
        f"`right` runs two cells of {seconds_per_cell} s with timeout_seconds: {limit}",
        result,
    )
    assert result.returncode == ExitCode.NOTEBOOK_ERROR
    assert (
        f"right: stopped at its time limit of {limit} s (timeout_seconds in pipeline.yaml)"
        in result.stderr
    )
    assert (
        f"running: cell 4, which begins: time.sleep({seconds_per_cell})  # the second cell"
        in result.stderr
    )
    # The kernel is this process's child: it is gone because the runner stopped it.
    assert process_ended(kernel)


def test_time_limit_that_is_not_a_number_is_refused_before_any_kernel(
    project, reliability, capsys, monkeypatch
):
    refuse_kernels(monkeypatch)
    pipeline = yaml.safe_load(project.pipeline_file.read_text())
    pipeline["notebooks"]["right"]["timeout_seconds"] = "30m"
    project.pipeline_file.write_text(yaml.safe_dump(pipeline, sort_keys=False))
    result = cli_in_process(project, "--as-of", AS_OF, capsys=capsys)
    reliability.record_run(
        "time limit not a number", "pipeline.yaml: timeout_seconds: 30m for `right`", result
    )
    assert result.returncode == ExitCode.USAGE
    assert "pipeline.yaml: notebooks.right.timeout_seconds: '30m' is not a number" in (
        result.stderr
    )


# --- a full disk ------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A folder on a tmpfs of SMALL_DISK_MIB, mounted for the test (skipped where mounting is
    not allowed: it needs root or CAP_SYS_ADMIN)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command to make a small disk")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SMALL_DISK_MIB}m", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    yield disk
    subprocess.run(["umount", "--lazy", str(disk)], check=True)


@pytest.mark.parametrize(
    ("case", "remove_filler", "message"),
    [
        # papermill cannot even save the executed notebook: the runner names the notebook
        pytest.param(
            "disk full (the notebook's partial file stays)",
            False,
            "while right ran; free some space and run again",
            id="partial-file-stays",
        ),
        # the notebook frees its partial file: papermill saves the kernel's error
        pytest.param(
            "disk full (the notebook removes its partial file)",
            True,
            f"right: cell {FAULTY_CELL_NUMBER} (In [3]) raised OSError: [Errno 28] No space left",
            id="partial-file-removed",
        ),
    ],
)
def test_full_disk_fails_clearly_and_leaves_published_files_whole(
    small_disk, faulty_project_that_ran, reliability, case, remove_filler, message, capsys
):
    project = copy_project(faulty_project_that_ran, small_disk)
    before = published(project)

    filler = 2 * SMALL_DISK_MIB
    full = cli_in_process(
        project,
        "--as-of",
        AS_OF,
        "-p",
        f"filler_mib={filler}",
        "-p",
        f"remove_filler={remove_filler}",
        capsys=capsys,
    )
    reliability.record_run(
        case, f"`right` writes {filler} MiB on a {SMALL_DISK_MIB} MiB disk (tmpfs)", full
    )
    assert full.returncode == ExitCode.DISK_FULL, full.stderr
    assert full.stderr.startswith(f"chinaflows: disk full on the file system of {project.root}")
    assert message in full.stderr
    assert published(project) == before
    assert staging_folders(project) == []

    # The failed run gave its room back: everything executes again and fits.
    again = cli_in_process(project, "--as-of", AS_OF, "--force", capsys=capsys)
    assert again.returncode == ExitCode.OK, again.stderr


# --- two runs at once -------------------------------------------------------------------------


def start_two_runs(project: ProjectLayout, *args: str) -> list[subprocess.Popen]:
    """Two runs started together; whichever executes `right` first waits there for a release,
    the other waits for that execution (its key's lock)."""
    command = cli_command(project, "--as-of", AS_OF, "-p", "wait_for_release=true", *args)
    return [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]


def finish(runs: list[subprocess.Popen]) -> list[subprocess.CompletedProcess]:
    finished = []
    for process in runs:
        out, err = process.communicate(timeout=300)
        finished.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return finished


def executions(results: list[subprocess.CompletedProcess]) -> dict[str, int]:
    """How many times the runs executed each notebook (their log lines: "<step>: done in")."""
    lines = [line for result in results for line in result.stderr.splitlines()]
    return {step: sum(f" {step}: done in " in line for line in lines) for step in PAGES}


def test_two_runs_at_once_execute_each_notebook_once_and_both_publish(project, reliability):
    runs = start_two_runs(project, "--wait", "300")
    try:
        assert wait_until((project.root / "signals" / "right.pid").exists)
    finally:
        (project.root / "signals" / "release").touch()
    results = finish(runs)
    reliability.record(
        "two runs at once",
        "two `chinaflows run --wait 300` processes started together, the same parameters",
        " and ".join(describe_run(result) for result in results)
        + f"; notebooks executed: {executions(results)}",
    )
    assert [result.returncode for result in results] == [ExitCode.OK, ExitCode.OK], [
        result.stderr for result in results
    ]
    # Each execution key ran once: the other run waited on its lock, then found it stored.
    assert executions(results) == dict.fromkeys(PAGES, 1)
    assert whole_report_problems(project) == []


def test_a_run_finding_another_publishing_exits_in_progress_or_waits(ran, reliability):
    project = ran
    before = published(project)
    with publishing_lock(project):  # as a publishing run holds it
        refused = subprocess.run(  # another process: the lock is held by this one
            cli_command(project, "--as-of", AS_OF, "--quiet"), capture_output=True, text=True
        )
        unchanged = published(project) == before
        waiting = subprocess.Popen(
            cli_command(project, "--as-of", AS_OF, "--quiet", "--wait", "300"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # its staging folder taken: it is at the lock (or about to be)
        assert wait_until(lambda: any(project.staging_dir.glob("*.owner")))
    [waited] = finish([waiting])
    reliability.record(
        "a run finds another publishing",
        "`chinaflows run` while another holds the run lock to publish; then with --wait 300",
        f"{describe_run(refused)}, published files {'unchanged' if unchanged else 'CHANGED'}; "
        f"with --wait: {describe_run(waited)}",
    )
    assert refused.returncode == ExitCode.IN_PROGRESS, refused.stderr
    assert "another run is in progress" in refused.stderr
    assert unchanged
    assert waited.returncode == ExitCode.OK, waited.stderr
    assert whole_report_problems(project) == []
