"""`chinaflows status`: which notebooks a run would execute, which pages it would render again,
and why, checked against what the run then does, on the runner tests' diamond project
(source -> left, right -> join)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from diamond_project import (
    AS_OF,
    copy_project,
    engine_copy,
    imported_engine,
    make_diamond_project,
    published,
    run,
    statuses,
    write_notebook,
)

from notebook_pipeline import fingerprint
from notebook_pipeline.failures import ExitCode
from notebook_pipeline.status import (
    MAY_RUN,
    UP_TO_DATE,
    WOULD_RERENDER,
    WOULD_RUN,
    describe,
    pipeline_status,
)
from notebook_pipeline.step_cache import StepCache

pytestmark = pytest.mark.pipeline


@pytest.fixture
def project(tmp_path):
    return make_diamond_project(tmp_path)


@pytest.fixture
def ran(diamond_that_ran, tmp_path):
    """The diamond project after one run (`run(project)`): a copy of the run that the whole test
    run shares (conftest.diamond_that_ran), so that the test starts no kernel for it."""
    return copy_project(diamond_that_ran, tmp_path)


@pytest.fixture(autouse=True)
def fixed_helpers_digest(monkeypatch):
    """The diamond's notebooks do not import helpers: keep their edits elsewhere in the working
    tree (while these tests run) out of its fingerprints. That part of the key is tested in
    test_runner.test_step_key_covers_study_engine_base_and_packages."""
    monkeypatch.setattr(fingerprint, "package_source_sha256", lambda folder: "helpers")


def status_of(project, **options) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {s.name: (s.state, s.reasons) for s in pipeline_status(project, as_of=AS_OF, **options)}


def states(project, **options) -> dict[str, str]:
    return {name: state for name, (state, _) in status_of(project, **options).items()}


def test_before_the_first_run_every_notebook_would_run(project):
    status = status_of(project)
    assert status["source"] == (WOULD_RUN, ("it has not run in this project yet",))
    for name in ("left", "right", "join"):
        assert status[name][0] == WOULD_RUN
        assert status[name][1][0] == "it has not run in this project yet"


def test_after_a_run_everything_is_up_to_date_and_status_changes_nothing(ran):
    project = ran
    before = published(project)
    cache = {p: p.read_bytes() for p in project.cache_dir.rglob("*") if p.is_file()}
    assert set(states(project).values()) == {UP_TO_DATE}
    assert "would execute 0 of 4 notebooks." in describe(pipeline_status(project, as_of=AS_OF))
    assert published(project) == before
    assert {p: p.read_bytes() for p in project.cache_dir.rglob("*") if p.is_file()} == cache


def test_a_changed_input_names_the_file_and_the_run_agrees(ran):
    project = ran
    (project.root / "data/raw/left.txt").write_text("11\n")
    status = status_of(project)
    assert status["left"] == (WOULD_RUN, ("input data/raw/left.txt changed",))
    assert status["join"] == (MAY_RUN, ("reads what left write(s) first",))
    assert status["source"][0] == status["right"][0] == UP_TO_DATE
    # What status says is what the run does: up to date -> cached, would/may run -> executed
    # (join re-runs here because left's output changes).
    ran = statuses(run(project))
    assert ran == {"source": "cached", "left": "executed", "right": "cached", "join": "executed"}


def test_a_changed_parameter_is_named_with_both_values(ran):
    project = ran
    status = status_of(project, overrides={"factor": "3"})
    assert status["source"] == (WOULD_RUN, ("parameter factor: 2 -> 3",))
    assert {status[n][0] for n in ("left", "right", "join")} == {MAY_RUN}


def test_an_edited_notebook_and_a_changed_as_of_date_are_named(ran):
    project = ran
    write_notebook(
        project.notebooks_dir / "right.ipynb",
        'processed_dir = "data/processed"\npause = 0.0  # seconds',
        "from pathlib import Path\n"
        "total = int(Path(processed_dir, 'total.txt').read_text())\n"
        "Path(processed_dir, 'right.txt').write_text(str(total % 3))",
    )
    assert status_of(project)["right"] == (WOULD_RUN, ("the notebook's cells changed",))
    later = {s.name: (s.state, s.reasons) for s in pipeline_status(project, as_of="2025-07-01")}
    # No diamond notebook declares as_of: only the date on its page changes.
    assert later["source"] == (WOULD_RERENDER, ("as-of date: 2025-06-30 -> 2025-07-01",))
    assert later["right"] == (WOULD_RUN, ("the notebook's cells changed",))


def test_show_code_and_a_new_title_re_render_pages_only_and_the_run_agrees(ran):
    project = ran
    shown = status_of(project, show_code=True)
    assert shown == {
        name: (WOULD_RERENDER, ("--show-code differs from its last run",))
        for name in ("source", "left", "right", "join")
    }
    assert describe(pipeline_status(project, as_of=AS_OF, show_code=True)).endswith(
        "would execute 0 of 4 notebooks; it would re-render 4 page(s) without a kernel."
    )
    pipeline = yaml.safe_load((project.root / "pipeline.yaml").read_text())
    pipeline["notebooks"]["left"]["title"] = "Left, retitled"
    (project.root / "pipeline.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    retitled = status_of(project)
    assert retitled["left"] == (WOULD_RERENDER, ("its title in pipeline.yaml changed",))
    # The pages before and after it in reading order (source, right) link to it by its title;
    # a page rendered again changes no data: join, which reads left's output, stays up to date.
    around = (
        WOULD_RERENDER,
        ("pipeline.yaml changed what its header shows or the pages around it",),
    )
    assert retitled["source"] == retitled["right"] == around
    assert retitled["join"][0] == UP_TO_DATE
    assert statuses(run(project)) == {
        "source": "rendered",
        "left": "rendered",
        "right": "rendered",
        "join": "cached",
    }
    assert set(states(project).values()) == {UP_TO_DATE}


def test_a_deleted_saved_output_is_named(ran):
    project = ran
    (project.processed_dir / "join.txt").unlink()  # restored from the step store: no reason
    assert status_of(project)["join"][0] == UP_TO_DATE
    StepCache(project.cache_dir).last("join").saved_output("data/processed/join.txt").unlink()
    assert status_of(project)["join"] == (
        WOULD_RUN,
        ("its saved output data/processed/join.txt is missing or was changed",),
    )


def test_the_command_prints_each_notebook_and_refuses_a_bad_parameter(ran):
    project = ran  # as a user's run left it: the diamond names no study package to digest
    command = [sys.executable, "-m", "helpers.cli", "status", "--project-dir", str(project.root)]
    shown = subprocess.run(
        [*command, "--as-of", AS_OF], capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == ExitCode.OK, shown.stderr
    assert [line.split()[:2] for line in shown.stdout.splitlines()[:4]] == [
        [name, "up"] for name in ("source", "left", "right", "join")
    ]
    refused = subprocess.run(
        [*command, "-p", "no_such_parameter=1"], capture_output=True, text=True, timeout=120
    )
    assert refused.returncode == ExitCode.USAGE
    assert "no_such_parameter" in refused.stderr


def test_an_edited_engine_is_up_to_date_or_would_re_render_as_its_run_would(ran, tmp_path_factory):
    """The engine imported by `status` is a copy: one with its progress display edited (no
    part of any key), one with a page template edited (part of every page key)."""
    project = ran  # as a user's run left it: the diamond names no study package to digest
    command = [sys.executable, "-m", "helpers.cli", "status", "--project-dir", str(project.root)]

    def status_with(edit) -> list[str]:
        copy, env = engine_copy(tmp_path_factory.mktemp("engine"), edit)
        assert imported_engine(env) == copy
        shown = subprocess.run(
            [*command, "--as-of", AS_OF], env=env, capture_output=True, text=True, timeout=120
        )
        assert shown.returncode == ExitCode.OK, shown.stderr
        return shown.stdout.splitlines()

    def append(path, text):
        path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")

    progress = status_with(lambda c: append(c / "progress.py", "\n# a harmless edit\n"))
    assert [line.split()[1:] for line in progress[:4]] == [["up", "to", "date"]] * 4
    assert progress[-1] == "`chinaflows run` would execute 0 of 4 notebooks."

    template = status_with(
        lambda c: append(c / "templates" / "page_header.html.j2", "<p>edited</p>\n")
    )
    for name in ("source", "left", "right", "join"):
        at = template.index(f"{name:<6}  {WOULD_RERENDER}")
        assert template[at + 1].strip() == "- the engine's page templates or renderer changed"
    assert template[-1] == (
        "`chinaflows run` would execute 0 of 4 notebooks; "
        "it would re-render 4 page(s) without a kernel."
    )
