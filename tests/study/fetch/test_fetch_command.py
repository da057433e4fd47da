"""`chinaflows fetch` on the command line: what it prints, and its exit codes."""

from __future__ import annotations

import filelock
from source_files import html_page
from source_server import closed_port
from source_world import CORE

from helpers.cli import STUDY_COMMANDS
from helpers.fetch.command import run_fetch
from helpers.fetch.kept_files import fetch_lock
from helpers.fetch.outcomes import FetchExitCode
from notebook_pipeline.cli import build_parser
from notebook_pipeline.failures import ExitCode


def fetch_command(world, capsys, *arguments: str) -> tuple[int, str, str]:
    """`chinaflows fetch ARGUMENTS` on the world's project and sources file: (code, out, err)."""
    parser = build_parser("chinaflows", "", STUDY_COMMANDS)
    args = parser.parse_args(
        [
            "fetch",
            "--project-dir",
            str(world.project.root),
            "--config",
            str(world.config_path),
            *arguments,
        ]
    )
    code = run_fetch(args, clock=world.clock.as_fetch_clock())
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_fetch_exit_codes_mean_what_the_run_codes_mean_or_are_its_own():
    run_codes = {code.value: code.name for code in ExitCode}
    for code in FetchExitCode:
        assert run_codes.get(code.value, code.name) == code.name, code


def test_a_fetch_prints_the_table_and_exits_0_when_every_source_answered(world, capsys):
    code, out, err = fetch_command(world, capsys)

    assert code == FetchExitCode.OK, out + err
    assert out.splitlines()[0].startswith("fund")
    assert len([line for line in out.splitlines() if line.endswith("  kept")]) == 10
    assert err == ""


def test_no_network_at_all_gives_one_line_and_exit_7(world, capsys):
    nowhere = f"127.0.0.1:{closed_port()}"
    text = world.config_path.read_text().replace(f"127.0.0.1:{world.server.port}", nowhere)
    world.config_path.write_text(text)

    code, out, err = fetch_command(world, capsys)

    assert code == FetchExitCode.ALL_FAILED
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("chinaflows fetch: no source could be reached")
    assert "could not connect" in err and "check the network" in err


def test_check_reports_each_source_and_keeps_nothing(world, capsys):
    code, out, _ = fetch_command(world, capsys, "--check")

    assert code == FetchExitCode.OK, out
    lines = out.splitlines()
    for expected in [
        "ishares (MCHI): format ok: 5 row(s), up to 2025-12-29",
        "xtrackers (ASHR): format ok: 5 row(s), up to 2025-12-29",
        "invesco_navs (CQQQ): format ok: 5 row(s), up to 2025-12-29",
        "invesco_prices (CQQQ): format ok: 1 row(s), up to 2025-12-29",
    ]:
        assert expected in lines, out
    assert any(line.startswith("sec_nport (KWEB): format ok: ") for line in lines), out
    assert not world.fetched.exists()
    assert world.staging_folders() == []
    documents = [r for r in world.server.requests if r.path.endswith("primary_doc.xml")]
    assert len(documents) == 1  # one small file per source


def test_check_names_the_source_that_moved(world, capsys):
    world.server.serve(world.xtrackers_path("ASHR"), html_page("Page not found"))

    code, out, _ = fetch_command(world, capsys, "--check")

    assert code == FetchExitCode.SOME_FAILED
    assert "xtrackers (ASHR): failed: " in out and "but it is an HTML page" in out


def test_tickers_limits_the_funds_and_an_unknown_ticker_is_refused(world, capsys):
    code, out, _ = fetch_command(world, capsys, "--tickers", "fxi,KWEB")
    assert code == FetchExitCode.OK
    assert {line.split()[0] for line in out.splitlines()[1:] if line[:1].isupper()} >= {"FXI"}
    assert not any(line.startswith(("MCHI", "ASHR", "CQQQ")) for line in out.splitlines())

    code, _, err = fetch_command(world, capsys, "--tickers", "FXI,ZZZZ")
    assert code == FetchExitCode.USAGE
    assert "ZZZZ not in data/raw/etf_universe.csv" in err and all(t in err for t in CORE)


def test_a_bad_sources_file_is_refused_before_anything_is_fetched(world, capsys):
    world.write_config(**{"sources.xtrackers.url": world.server.url("/dws/Export/ASHR")})
    world.config_path.write_text(world.config_path.read_text() + "proxy: none\n")

    code, _, err = fetch_command(world, capsys)

    assert code == FetchExitCode.USAGE
    assert "sources.xtrackers.url: unknown key" not in err
    assert "proxy: unknown key" in err
    assert world.server.requests == []


def test_another_fetch_in_progress_exits_4(world, capsys):
    with fetch_lock(world.project):
        code, _, err = fetch_command(world, capsys)

    assert code == FetchExitCode.IN_PROGRESS
    assert "another fetch is working in this project" in err


def test_a_run_holding_the_lock_past_the_wait_exits_4_and_keeps_nothing(world, capsys):
    world.project.work_dir.mkdir(exist_ok=True)
    with filelock.FileLock(world.project.lock_file, timeout=0):
        code, _, err = fetch_command(world, capsys, "--wait", "0")

    assert code == FetchExitCode.IN_PROGRESS
    assert "nothing was kept" in err
    assert not world.fetched.exists()
