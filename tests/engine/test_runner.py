"""The pipeline engine on a small project of its own: four quick notebooks in a diamond
(source -> left, right -> join), so each property is checked with real kernels in seconds."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import io
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import nbformat
import pytest
from built_once import built_once, process_from_json, process_to_json
from diamond_project import (
    AS_OF,
    CELLS,
    cli,
    cli_in_process,
    copy_project,
    engine_copy,
    imported_engine,
    make_diamond_project,
    published,
    published_run_json,
    refuse_kernels,
    run,
    statuses,
    write_notebook,
)

from helpers.paths import ProjectLayout
from notebook_pipeline import execution, failures, fingerprint, notebook_page, progress, staging
from notebook_pipeline.failures import ExitCode, RunFailed
from notebook_pipeline.run import run_pipeline
from notebook_pipeline.step_cache import StepCache

pytestmark = pytest.mark.pipeline


@pytest.fixture
def project(tmp_path) -> ProjectLayout:
    return make_diamond_project(tmp_path)


@pytest.fixture
def ran(diamond_that_ran, tmp_path) -> ProjectLayout:
    """The diamond project after one run (`run(project)`): a copy of the run that the whole test
    run shares (conftest.diamond_that_ran), so that the test starts no kernel for it."""
    return copy_project(diamond_that_ran, tmp_path)


@pytest.fixture
def first_run_without_a_terminal(tmp_path_factory, tmp_path):
    """`chinaflows run` in a separate process, its stderr not a terminal, on a new diamond
    project: (the project it ran in, which tests only read; a copy of it; the finished
    process). Run once for the tests that read what it printed (built_once.py)."""

    def build(folder: Path) -> dict:
        project = make_diamond_project(folder)
        return {"project": str(folder), "result": process_to_json(cli(project, "--as-of", AS_OF))}

    built = built_once(tmp_path_factory, "diamond_first_run_without_a_terminal", build)
    ran_in = ProjectLayout(Path(built["project"]))
    return ran_in, copy_project(ran_in.root, tmp_path), process_from_json(built["result"])


@pytest.fixture
def no_kernels(monkeypatch):
    """Fail the test if any notebook would be executed."""
    refuse_kernels(monkeypatch)


# --- 1. a graph, not a list ------------------------------------------------------------------


def test_results_follow_the_graph(ran):
    project, record = ran, published_run_json(ran)
    processed = project.processed_dir
    assert (processed / "total.txt").read_text() == "12"  # 2 x (1 + 2 + 3)
    assert (processed / "join.txt").read_text() == "22,0"
    assert [nb["name"] for nb in record["notebooks"]] == ["source", "left", "right", "join"]


@pytest.mark.xdist_group("timing")  # its timings: one worker runs the timed tests in turn
def test_independent_notebooks_run_at_the_same_time(project):
    record = run(project, jobs=2, overrides={"pause": 1.5})
    times = {nb["name"]: (nb["started_at"], nb["executed_at"]) for nb in record["notebooks"]}
    assert times["left"][0] < times["right"][1] and times["right"][0] < times["left"][1]
    assert times["source"][1] <= min(times["left"][0], times["right"][0])
    assert times["join"][0] >= max(times["left"][1], times["right"][1])


def test_jobs_bounds_the_notebooks_running_at_once(project, monkeypatch):
    active, most = [0], [0]
    lock = threading.Lock()

    def counting(step, parameters, staging_project, report_staging, display):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.3)
        shutil.copy2(step.path, report_staging / f"{step.name}.ipynb")
        with lock:
            active[0] -= 1
        return 0.3

    def render(step, parameters, folder, *args):
        (folder / f"{step.name}.html").write_text("page")

    monkeypatch.setattr(execution, "execute_step", counting)
    monkeypatch.setattr(notebook_page, "render_page", render)
    run(project, jobs=1)
    assert most[0] == 1
    most[0] = 0
    run(project, jobs=2, force=True)
    assert most[0] == 2  # left and right


# --- 2. content-hash caching -----------------------------------------------------------------


def test_second_run_reuses_everything(ran, request):
    project, first = ran, published_run_json(ran)
    before = published(project)
    request.getfixturevalue("no_kernels")
    second = run(project)
    assert set(statuses(second).values()) == {"cached"}
    for old, new in zip(first["notebooks"], second["notebooks"], strict=True):
        assert new["executed_seconds"] == old["executed_seconds"]
        assert new["outputs"] == old["outputs"]
    after = published(project)
    assert {k: v for k, v in after.items() if k.startswith("processed/")} == {
        k: v for k, v in before.items() if k.startswith("processed/")
    }
    for page in ["source", "left", "right", "join"]:
        assert after[f"reports/{AS_OF}/{page}.html"] == before[f"reports/{AS_OF}/{page}.html"]


def test_changed_input_reruns_exactly_its_downstream(ran):
    project = ran
    (project.raw_dir / "left.txt").write_text("20\n")
    record = run(project)
    assert statuses(record) == {
        "source": "cached",
        "left": "executed",
        "right": "cached",
        "join": "executed",
    }
    assert (project.processed_dir / "join.txt").read_text() == "32,0"


def test_touching_an_input_without_changing_it_reruns_nothing(ran):
    project = ran
    numbers = project.raw_dir / "numbers.txt"
    os.utime(numbers, (time.time() + 3600, time.time() + 3600))
    assert set(statuses(run(project)).values()) == {"cached"}


def test_upstream_rerun_with_identical_output_keeps_downstream_cached(ran):
    project = ran
    (project.raw_dir / "numbers.txt").write_text("3 2 1\n")  # same sum, other bytes
    assert statuses(run(project)) == {
        "source": "executed",
        "left": "cached",
        "right": "cached",
        "join": "cached",
    }


def test_changed_cell_reruns_the_notebook_but_saved_outputs_do_not(ran):
    project = ran
    path = project.notebooks_dir / "right.ipynb"
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[2].outputs = [nbformat.v4.new_output("stream", text="saved in JupyterLab")]
    notebook.cells[2].execution_count = 7
    nbformat.write(notebook, path)
    assert set(statuses(run(project)).values()) == {"cached"}

    notebook.cells[2].source += "\n# a comment is a change to the code"
    nbformat.write(notebook, path)
    assert statuses(run(project)) == {
        "source": "cached",
        "left": "cached",
        "right": "executed",
        "join": "cached",  # right.txt came out the same
    }


def test_changed_parameter_reruns_the_notebooks_that_declare_it(ran):
    project = ran
    record = run(project, overrides={"factor": 3})
    assert statuses(record)["source"] == "executed"
    assert (project.processed_dir / "total.txt").read_text() == "18"
    assert statuses(record)["join"] == "executed"


def test_force_executes_everything(ran):
    project = ran
    record = run(project, force=True)
    assert set(statuses(record).values()) == {"executed"}
    assert record["forced"] is True


def test_deleted_output_is_restored_from_the_step_store_without_a_kernel(ran, request):
    project = ran
    (project.processed_dir / "right.txt").unlink()
    request.getfixturevalue("no_kernels")
    assert statuses(run(project))["right"] == "cached"
    assert (project.processed_dir / "right.txt").read_text() == "0"


def test_a_changed_saved_output_reruns_its_notebook(ran):
    project = ran
    saved = StepCache(project.cache_dir).last("right").saved_output("data/processed/right.txt")
    saved.unlink()
    saved.write_text("7")
    assert statuses(run(project))["right"] == "executed"
    assert (project.processed_dir / "right.txt").read_text() == "0"


def test_step_key_covers_study_engine_base_and_packages(project):
    from notebook_pipeline.spec import load_pipeline

    step = load_pipeline(project).step("source")
    inputs = {"data/raw/numbers.txt": "c"}

    def step_key(*parts) -> str:  # the execution key: the digest of the step's fingerprint
        return fingerprint.digest(fingerprint.step_fingerprint(*parts))

    context = fingerprint.RunContext("a", "e", "b", False, AS_OF, page_rendering_sha256="r")
    key = step_key(step, {"factor": 2}, inputs, context)
    changed = [
        dataclasses.replace(context, study_sha256="x"),
        dataclasses.replace(context, engine_base_sha256="x"),
        dataclasses.replace(context, environment_sha256="x"),
    ]
    for other in changed:
        assert step_key(step, {"factor": 2}, inputs, other) != key
    assert step_key(step, {"factor": 3}, inputs, context) != key
    assert step_key(step, {"factor": 2}, {"data/raw/numbers.txt": "d"}, context) != key
    moved = dataclasses.replace(step, outputs=("data/processed/other.txt",))
    assert step_key(moved, {"factor": 2}, inputs, context) != key
    assert step_key(step, {"factor": 2}, inputs, context) == key
    # What only changes how its page looks is left to the page key.
    page_only = [
        dataclasses.replace(context, show_code=True),
        dataclasses.replace(context, as_of="2025-07-01"),
        dataclasses.replace(context, page_rendering_sha256="x"),
    ]
    for other in page_only:
        assert step_key(step, {"factor": 2}, inputs, other) == key
    retitled = dataclasses.replace(step, title="Another title")
    assert step_key(retitled, {"factor": 2}, inputs, context) == key
    # A notebook that declares as_of has it among its parameters: it re-executes.
    dated = step_key(step, {"factor": 2, "as_of": AS_OF}, inputs, context)
    assert step_key(step, {"factor": 2, "as_of": "2025-07-01"}, inputs, context) != dated


def test_page_key_covers_rendering_title_show_code_as_of_outline_and_the_execution(project):
    from notebook_pipeline.spec import load_pipeline

    step = load_pipeline(project).step("source")

    outline = {"header_parameters": None, "previous": None, "next": None}

    def page_key(step, execution_key, context, outline=outline) -> str:
        parts = fingerprint.page_fingerprint(step, execution_key, context, outline)
        return fingerprint.digest(parts)

    context = fingerprint.RunContext("a", "e", "b", False, AS_OF, page_rendering_sha256="r")
    key = page_key(step, "k", context)
    changed = [
        (step, "k", dataclasses.replace(context, page_rendering_sha256="x")),
        (step, "k", dataclasses.replace(context, show_code=True)),
        (step, "k", dataclasses.replace(context, as_of="2025-07-01")),
        (dataclasses.replace(step, title="Another title"), "k", context),
        (step, "another execution", context),
        (step, "k", context, outline | {"next": {"name": "b", "title": "B"}}),
        (step, "k", context, outline | {"header_parameters": ["factor"]}),
    ]
    for parts in changed:
        assert page_key(*parts) != key
    # The study, the engine's base and the packages reach a page through its execution key.
    assert page_key(step, "k", dataclasses.replace(context, study_sha256="x")) == key


def test_page_rendering_digest_follows_the_renderer_and_every_template(tmp_path_factory):
    engine = Path(fingerprint.__file__).parent
    assert fingerprint.PAGE_RENDERING == ("notebook_page.py", "site.py", "templates")
    templates = [p for p in (engine / "templates").rglob("*") if p.is_file()]
    assert any(p.parent.name != "templates" for p in templates)  # nbconvert's, one level down
    code = "from notebook_pipeline import fingerprint; print(fingerprint.page_rendering_sha256())"

    def rendering_digest(env=None) -> str:
        command = [sys.executable, "-c", code]
        shown = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        return shown.stdout.strip()

    original = rendering_digest()
    assert original == fingerprint.page_rendering_sha256()
    for edited in [
        "notebook_page.py",
        "site.py",
        "templates/nbconvert/report_page/index.html.j2",
        "progress.py",
    ]:
        folder = tmp_path_factory.mktemp("engine")
        copy, env = engine_copy(folder, lambda c, edited=edited: _append(c / edited, "\n"))
        assert imported_engine(env) == copy
        assert (rendering_digest(env) == original) == (edited == "progress.py"), edited


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


# --- 2b. an engine change re-executes nothing; a page change re-renders pages only ----------


def test_an_engine_change_outside_its_base_and_pages_reuses_every_notebook_and_page(
    ran, tmp_path_factory
):
    project = ran  # run with the engine as it is
    before = published(project)
    copy, env = engine_copy(
        tmp_path_factory.mktemp("engine"),
        lambda c: _append(c / "progress.py", "\n\nPROGRESS_CHANGED = True  # a harmless edit\n"),
    )
    assert imported_engine(env) == copy  # the run below imports the edited copy

    second = cli(project, "--as-of", AS_OF, env=env)

    assert second.returncode == ExitCode.OK, second.stderr
    record = published_run_json(project)
    assert set(statuses(record).values()) == {"cached"}
    after = published(project)
    for name in ["source", "left", "right", "join"]:
        for suffix in (".ipynb", ".html"):
            page = f"reports/{AS_OF}/{name}{suffix}"
            assert after[page] == before[page], page
    assert {k: v for k, v in after.items() if k.startswith("processed/")} == {
        k: v for k, v in before.items() if k.startswith("processed/")
    }


def test_a_changed_page_template_renders_every_page_again_without_a_kernel(ran, tmp_path_factory):
    project = ran  # run with the engine as it is
    before = published(project)
    first = published_run_json(project)
    marker = '<p class="engine-edit">rendered by the edited engine</p>'
    copy, env = engine_copy(
        tmp_path_factory.mktemp("engine"),
        lambda c: _append(c / "templates" / "page_header.html.j2", marker + "\n"),
    )
    assert imported_engine(env) == copy

    second = cli(project, "--as-of", AS_OF, env=env)

    assert second.returncode == ExitCode.OK, second.stderr
    record = published_run_json(project)
    assert set(statuses(record).values()) == {"rendered"}
    after = published(project)
    names = ["source", "left", "right", "join"]
    for name in names:
        assert marker not in before[f"reports/{AS_OF}/{name}.html"].decode()
        assert marker in after[f"reports/{AS_OF}/{name}.html"].decode(), name
        # No kernel ran: the executed notebooks are the first run's, byte for byte.
        notebook = f"reports/{AS_OF}/{name}.ipynb"
        assert after[notebook] == before[notebook], notebook
    for old, new in zip(first["notebooks"], record["notebooks"], strict=True):
        assert (new["executed_at"], new["executed_seconds"]) == (
            old["executed_at"],
            old["executed_seconds"],
        )
        assert new["key"] == old["key"] and new["page_key"] != old["page_key"]
    assert {k: v for k, v in after.items() if k.startswith("processed/")} == {
        k: v for k, v in before.items() if k.startswith("processed/")
    }
    # The cache took the new pages: the same engine again reuses them.
    third = cli(project, "--as-of", AS_OF, env=env)
    assert third.returncode == ExitCode.OK, third.stderr
    assert set(statuses(published_run_json(project)).values()) == {"cached"}
    assert marker in (project.report_dir(AS_OF) / "join.html").read_text()


def test_show_code_and_a_later_as_of_date_render_pages_again(ran, request):
    project, first = ran, published_run_json(ran)
    code = "<span class=\"s1\">'data/raw/numbers.txt'</span>"  # as nbconvert highlights it
    assert code not in (project.report_dir(AS_OF) / "source.html").read_text()
    request.getfixturevalue("no_kernels")
    shown = run(project, show_code=True)
    assert set(statuses(shown).values()) == {"rendered"}
    assert code in (project.report_dir(AS_OF) / "source.html").read_text()
    assert set(statuses(run(project, show_code=True)).values()) == {"cached"}

    later = json.loads((run_pipeline(project, as_of="2025-07-01") / "run.json").read_text())
    # None of the diamond's notebooks declares as_of: their pages state the new date.
    assert set(statuses(later).values()) == {"rendered"}
    assert [nb["executed_at"] for nb in later["notebooks"]] == [
        nb["executed_at"] for nb in first["notebooks"]
    ]
    folder = project.report_dir("2025-07-01")
    assert "2025-07-01" in (folder / "source.html").read_text()
    papermill = nbformat.read(folder / "source.ipynb", as_version=4).metadata.papermill
    assert papermill["output_path"] == "reports/2025-07-01/source.ipynb"


# --- 3. strict parameters, before any kernel -------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "as_of", "message"),
    [
        ({"facter": 3}, AS_OF, "unknown parameter(s) facter; valid names: factor, fail, pause"),
        ({"factor": "three"}, AS_OF, "parameter 'factor': 'three' is not a int"),
        ({"fail": "maybe"}, AS_OF, "parameter 'fail': 'maybe' is not a bool"),
        ({}, "2025-02-30", "parameter 'as_of': '2025-02-30' is not a date"),
        ({}, "../../x", "parameter 'as_of': '../../x' is not a date"),
    ],
)
def test_bad_parameters_are_refused_before_any_kernel(
    project, no_kernels, overrides, as_of, message
):
    with pytest.raises(RunFailed) as refused:
        run_pipeline(project, as_of=as_of, overrides=overrides)
    assert refused.value.exit_code == ExitCode.USAGE
    assert message in str(refused.value)
    assert not project.reports_dir.exists() and not project.processed_dir.exists()


# --- 4 and 5. atomic publishing; failures a researcher can act on ----------------------------


def test_failed_notebook_leaves_report_and_data_byte_identical(ran, capsys):
    project = ran
    before = published(project)

    result = cli_in_process(project, "--as-of", AS_OF, "-p", "fail=true", capsys=capsys)

    assert result.returncode == ExitCode.NOTEBOOK_ERROR
    assert published(project) == before  # nothing of the failed run is under reports/
    failed = project.failed_reports_dir / AS_OF
    assert failed == project.root / ".chinaflows" / "failed" / AS_OF
    assert "join: cell 3 (In [3]) raised ValueError: join was asked to fail" in result.stderr
    assert "failing line: Cell In[3], line 5: raise ValueError('join was asked to fail')" in (
        result.stderr
    )
    assert f"failed notebook: {failed / 'join.ipynb'}" in result.stderr
    assert f"its page: {failed / 'join.html'}" in result.stderr
    page = (failed / "join.html").read_text(encoding="utf-8")
    assert "An Exception was encountered" in page  # papermill's banner
    assert sorted(p.name for p in project.reports_dir.iterdir()) == [AS_OF, "index.html"]
    assert not any(project.staging_dir.iterdir())


def test_failed_first_run_publishes_nothing(project, capsys):
    result = cli_in_process(project, "--as-of", AS_OF, "-p", "fail=true", capsys=capsys)
    assert result.returncode == ExitCode.NOTEBOOK_ERROR
    assert not project.processed_dir.exists()
    assert not (project.reports_dir / AS_OF).exists()


def test_invalid_data_raised_in_a_notebook_has_its_own_code(project, capsys):
    body = (
        "from notebook_pipeline.errors import InvalidDataError\n"
        "raise InvalidDataError('data/raw/x.csv', 'row 3: no date')"
    )
    write_notebook(project.notebooks_dir / "right.ipynb", CELLS["right"][0], body)
    result = cli_in_process(project, "--as-of", AS_OF, capsys=capsys)
    assert result.returncode == ExitCode.INVALID_DATA
    assert "data/raw/x.csv: row 3: no date" in result.stderr


def test_publish_processed_moves_only_new_files(tmp_path):
    published_dir, built = tmp_path / "processed", tmp_path / "built"
    published_dir.mkdir()
    built.mkdir()
    (published_dir / "kept.txt").write_text("old")
    os.link(published_dir / "kept.txt", built / "kept.txt")
    (published_dir / "replaced.txt").write_text("old")
    (built / "replaced.txt").write_text("new")
    assert staging.publish_processed(built, published_dir) == [published_dir / "replaced.txt"]
    assert (published_dir / "replaced.txt").read_text() == "new"
    assert (published_dir / "kept.txt").read_text() == "old"


# --- 6. one run at a time --------------------------------------------------------------------


def hold_lock(lock_file: Path, seconds: float) -> subprocess.Popen:
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import filelock, sys, time; lock = filelock.FileLock(sys.argv[1]); lock.acquire();"
            " print('held', flush=True); time.sleep(float(sys.argv[2]))",
            str(lock_file),
            str(seconds),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_second_run_exits_in_progress_while_the_lock_is_held(project):
    holder = hold_lock(project.lock_file, 60)
    try:
        result = cli(project, "--as-of", AS_OF)
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == ExitCode.IN_PROGRESS
    assert "another run is in progress" in result.stderr and "--wait" in result.stderr
    assert not project.reports_dir.exists()


def test_second_run_waits_for_the_first_with_wait(ran, capsys):
    project = ran
    holder = hold_lock(project.lock_file, 2)
    try:
        result = cli_in_process(project, "--as-of", AS_OF, "--wait", "120", capsys=capsys)
    finally:
        holder.wait()
    assert result.returncode == ExitCode.OK, result.stderr


def test_lock_of_a_killed_run_is_taken_over(ran, capsys):
    project = ran
    holder = hold_lock(project.lock_file, 60)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert project.lock_file.exists()
    result = cli_in_process(project, "--as-of", AS_OF, capsys=capsys)
    assert result.returncode == ExitCode.OK, result.stderr


# --- 7. progress and logs --------------------------------------------------------------------


def test_log_lines_from_notebooks_at_once_stay_whole_lines():
    """Notebooks report from threads of their own: no two events may share a line."""

    class SlowStream(io.StringIO):
        def write(self, text: str) -> int:
            time.sleep(0)  # hands the thread over between a line and its end, as a pipe may
            return super().write(text)

    stream = SlowStream()
    lines = progress.LogLines(stream)
    events = [
        threading.Thread(target=lambda n=n: [lines.running(f"step{n}") for _ in range(50)])
        for n in range(4)
    ]
    for event in events:
        event.start()
    for event in events:
        event.join()
    written = stream.getvalue().splitlines()
    assert len(written) == 200
    assert all(re.fullmatch(r"\S+ step\d: running", line) for line in written), written


def test_without_a_terminal_each_event_is_a_timestamped_line(first_run_without_a_terminal):
    ran_in, project, result = first_run_without_a_terminal
    assert result.returncode == ExitCode.OK, result.stderr
    lines = result.stderr.splitlines()
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 "
    assert all(re.match(stamp, line) for line in lines), lines
    for name in ["source", "left", "right", "join"]:
        assert any(re.search(rf"{name}: running$", line) for line in lines)
        assert any(re.search(rf"{name}: done in \d+\.\d s$", line) for line in lines)
    assert result.stdout.strip() == str(ran_in.report_dir(AS_OF) / "index.html")
    again = cli(project, "--as-of", AS_OF)  # in the copy
    assert sum("cached" in line for line in again.stderr.splitlines()) == 4


def test_quiet_prints_only_the_report_path(project):
    result = cli(project, "--as-of", AS_OF, "--quiet")
    assert result.returncode == ExitCode.OK
    assert result.stderr == ""
    assert result.stdout.strip() == str(project.report_dir(AS_OF) / "index.html")


def test_live_lines_show_each_notebook_state(project):
    from io import StringIO

    from rich.console import Console

    from notebook_pipeline.progress import LiveLines

    screen = StringIO()
    display = LiveLines(Console(file=screen, force_terminal=True, color_system=None, width=120))
    run(project, display=display)
    run(
        project,
        display=LiveLines(Console(file=screen, force_terminal=True, color_system=None, width=120)),
    )
    text = screen.getvalue()
    assert re.search(r"left\s.*3/3 cells.*done in \d+\.\d s", text)
    assert re.search(r"join\s.*3/3 cells.*cached", text)


# --- 8. provenance ---------------------------------------------------------------------------


def test_run_json_records_provenance(project):
    notes = project.root / "NOTES.md"  # tracked, read by no notebook
    notes.write_text("first\n")
    subprocess.run(["git", "init", "-q", str(project.root)], check=True)
    subprocess.run(["git", "-C", str(project.root), "add", "."], check=True)
    subprocess.run(
        ["git", "-C", str(project.root), "-c", "user.name=t", "-c", "user.email=t@t",
         "commit", "-qm", "start"],
        check=True,
    )  # fmt: skip
    commit = subprocess.run(
        ["git", "-C", str(project.root), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()

    record = run(project)

    assert record["git"] == {"commit": commit, "dirty": False}
    assert record["python"] == platform.python_version()
    assert record["packages"]["papermill"] == importlib.metadata.version("papermill")
    assert record["started"] <= record["finished"]
    source = record["notebooks"][0]
    numbers = (project.raw_dir / "numbers.txt").read_bytes()
    assert source["inputs"] == {"data/raw/numbers.txt": hashlib.sha256(numbers).hexdigest()}
    assert source["parameters"] == {"processed_dir": "data/processed", "factor": 2}
    assert source["status"] == "executed" and source["seconds"] > 0
    total = (project.processed_dir / "total.txt").read_bytes()
    assert source["outputs"] == {"data/processed/total.txt": hashlib.sha256(total).hexdigest()}

    notes.write_text("second\n")  # the tree differs from the commit; no input changed
    again = run(project)
    assert again["git"] == {"commit": commit, "dirty": True}
    assert set(statuses(again).values()) == {"cached"}


# --- failure messages ------------------------------------------------------------------------


def test_failing_lines_reads_ipython_tracebacks():
    traceback = [
        "\x1b[31m---------------------------------------------------------------\x1b[39m",
        "\x1b[31mKeyError\x1b[39m                  Traceback (most recent call last)",
        "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[6]\x1b[39m\x1b[32m, line 8\x1b[39m\n"
        "\x1b[32m      7\x1b[39m x = 1\n"
        "\x1b[32m----> \x1b[39m\x1b[32m8\x1b[39m table = lookup(x)\n",
        "\x1b[36mFile \x1b[39m\x1b[32m/src/helpers/flows.py:12\x1b[39m, in \x1b[36mlookup\x1b[39m\n"
        "\x1b[32m---> \x1b[39m\x1b[32m12\x1b[39m     \x1b[38;5;28;01mreturn\x1b[39;00m {}[key]\n",
        "\x1b[31mKeyError\x1b[39m: 'missing'",
    ]
    assert failures.failing_lines(traceback) == [
        "Cell In[6], line 8: table = lookup(x)",
        "File /src/helpers/flows.py:12, in lookup, line 12: return {}[key]",
    ]


def test_code_cell_count_includes_the_injected_parameters_cell(project):
    assert execution.code_cell_count(project.notebooks_dir / "join.ipynb") == 3


def test_staging_project_links_everything_but_processed(project):
    project.processed_dir.mkdir(parents=True)
    (project.processed_dir / "old.txt").write_text("published")
    copy = staging.make_staging_project(project, project.staging_dir / "one")
    assert (copy.raw_dir / "numbers.txt").read_text() == "1 2 3\n"
    assert (copy.notebooks_dir / "join.ipynb").is_file()
    assert os.path.samefile(copy.processed_dir / "old.txt", project.processed_dir / "old.txt")
    assert not copy.processed_dir.is_symlink()
    assert not (copy.root / project.work_dir.name).exists()


def test_kernel_output_stays_out_of_the_terminal(first_run_without_a_terminal):
    _, _, result = first_run_without_a_terminal
    assert result.returncode == ExitCode.OK, result.stderr
    assert "IPKernelApp" not in result.stderr and "WARNING" not in result.stderr


def test_a_second_project_run_in_a_fresh_process_needs_no_papermill(ran):
    """The no-change path imports neither papermill nor nbconvert (each takes ~1.5 s)."""
    project = ran
    code = textwrap.dedent(
        f"""
        import sys
        from helpers.cli import main
        code = main(["run", "--project-dir", {str(project.root)!r}, "--as-of", {AS_OF!r},
                     "--quiet"])
        heavy = sorted(m for m in ("papermill", "nbconvert", "nbformat") if m in sys.modules)
        print(code, heavy)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "0 []", result.stderr
